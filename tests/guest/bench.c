/*
 * bench: guest micro-benchmarks, run natively, under moat and under runsc by
 * the moat-bench runner (tests/src/bin/moat-bench.rs).
 *
 *     bench NAME ITERATIONS
 *
 * prints one line "NAME ns_per_op" (the mean over ITERATIONS, set-up not
 * timed). `bench exit` exits at once (the exec target of fork_exec_wait).
 * Unlike the other guests this one prints timings: it is never compared
 * byte for byte, and no test gates on what it prints.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIG (512UL << 20)

static const char *self;
static char *big, *copy;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

static void wait_ok(pid_t p) {
  int st;
  if (p < 0)
    die("fork");
  if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    die("child");
}

static void op_getppid(void) { syscall(SYS_getppid); }

/* Through the C library, hence the vDSO where there is one. */
static void op_clock_gettime(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
}

static void op_gettimeofday(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
}

static void op_fork_exit_wait(void) {
  pid_t p = fork();
  if (p == 0)
    _exit(0);
  wait_ok(p);
}

static void op_fork_exec_wait(void) {
  pid_t p = fork();
  if (p == 0) {
    execl(self, "bench", "exit", (char *)NULL);
    _exit(127);
  }
  wait_ok(p);
}

static void *nothing(void *arg) { return arg; }

static void op_thread_create_join(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, nothing, NULL) != 0)
    die("pthread_create");
  pthread_join(t, NULL);
}

/* 512 MiB, every page written, allocated once (not timed). */
static void touch_big(void) {
  if (big)
    return;
  big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (big == MAP_FAILED)
    die("mmap");
  for (size_t i = 0; i < BIG; i += 4096)
    big[i] = (char)i;
}

/* fork of a process with 512 MiB resident; the child exits at once. */
static void op_fork_512mib(void) {
  touch_big();
  op_fork_exit_wait();
}

/* fork of a process with 512 MiB resident; the child writes one byte in each of its
 * pages, so every page is copied. */
static void op_fork_512mib_child_writes_all(void) {
  touch_big();
  pid_t p = fork();
  if (p == 0) {
    for (size_t i = 0; i < BIG; i += 4096)
      big[i]++;
    _exit(0);
  }
  wait_ok(p);
}

/* What an eager fork would at least cost: copying the 512 MiB. */
static void op_copy_512mib(void) {
  touch_big();
  if (!copy) {
    copy = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (copy == MAP_FAILED)
      die("mmap");
    memset(copy, 1, BIG);
  }
  memcpy(copy, big, BIG);
}

/* File benchmarks. "root" files are the root filesystem's (the gofer's lower
 * layer under moat); "tmp" files are made in /tmp (the overlay's upper layer
 * under moat, the host's /tmp natively); "shm" files live in /dev/shm (tmpfs
 * everywhere). Set-up happens in the untimed first call. */
static void op_open_close_root(void) {
  int fd = open("/etc/passwd", O_RDONLY);
  if (fd < 0)
    die("open /etc/passwd");
  close(fd);
}

static void op_stat_root(void) {
  struct stat st;
  if (stat("/usr/bin/env", &st) != 0)
    die("stat /usr/bin/env");
}

static int open_scratch(const char *dir, size_t size) {
  char path[256];
  snprintf(path, sizeof path, "%s/moat-bench-%d", dir, getpid());
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    die(path);
  unlink(path);
  char buf[4096];
  memset(buf, 'x', sizeof buf);
  for (size_t off = 0; off < size; off += sizeof buf)
    if (pwrite(fd, buf, sizeof buf, off) != sizeof buf)
      die("fill");
  return fd;
}

static char page[4096];
static int root_fd = -1, tmp_fd = -1, shm_fd = -1;

static void op_pread_4k_root(void) {
  if (root_fd < 0 && (root_fd = open(self, O_RDONLY)) < 0)
    die("open self");
  if (pread(root_fd, page, sizeof page, 0) != sizeof page)
    die("pread root");
}

static void op_pread_4k_tmp(void) {
  if (tmp_fd < 0)
    tmp_fd = open_scratch("/tmp", 1 << 20);
  if (pread(tmp_fd, page, sizeof page, 4096) != sizeof page)
    die("pread tmp");
}

static void op_pwrite_4k_tmp(void) {
  if (tmp_fd < 0)
    tmp_fd = open_scratch("/tmp", 1 << 20);
  if (pwrite(tmp_fd, page, sizeof page, 8192) != sizeof page)
    die("pwrite tmp");
}

static void op_pread_4k_shm(void) {
  if (shm_fd < 0)
    shm_fd = open_scratch("/dev/shm", 1 << 20);
  if (pread(shm_fd, page, sizeof page, 4096) != sizeof page)
    die("pread shm");
}

static void op_pwrite_4k_shm(void) {
  if (shm_fd < 0)
    shm_fd = open_scratch("/dev/shm", 1 << 20);
  if (pwrite(shm_fd, page, sizeof page, 8192) != sizeof page)
    die("pwrite shm");
}

static char dir_1000[256];

static void remove_dir_1000(void) {
  char path[300];
  for (int i = 0; i < 1000; i++) {
    snprintf(path, sizeof path, "%s/f%04d", dir_1000, i);
    unlink(path);
  }
  rmdir(dir_1000);
}

static void op_readdir_1000(void) {
  if (!dir_1000[0]) {
    snprintf(dir_1000, sizeof dir_1000, "/tmp/moat-bench-dir-%d", getpid());
    if (mkdir(dir_1000, 0700) != 0)
      die("mkdir");
    atexit(remove_dir_1000);
    char path[300];
    for (int i = 0; i < 1000; i++) {
      snprintf(path, sizeof path, "%s/f%04d", dir_1000, i);
      int fd = open(path, O_CREAT | O_WRONLY, 0600);
      if (fd < 0)
        die("create");
      close(fd);
    }
  }
  DIR *d = opendir(dir_1000);
  if (!d)
    die("opendir");
  int n = 0;
  while (readdir(d))
    n++;
  closedir(d);
  if (n != 1002)
    die("readdir count");
}

/* Extracts a tar of /usr/lib/python3* (made in the set-up call) into /tmp, removes
 * the tree again, with the host's tar and rm. */
static char tar_path[256];

static void remove_tar(void) { unlink(tar_path); }

static void sh(const char *cmd) {
  pid_t p = fork();
  if (p == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  wait_ok(p);
}

static void op_tar_extract_rm(void) {
  char cmd[600];
  if (!tar_path[0]) {
    snprintf(tar_path, sizeof tar_path, "/tmp/moat-bench-%d.tar", getpid());
    atexit(remove_tar);
    snprintf(cmd, sizeof cmd, "cd /usr/lib && tar -cf %s python3*", tar_path);
    sh(cmd);
  }
  snprintf(cmd, sizeof cmd,
           "d=/tmp/moat-bench-x-%d && mkdir $d && tar -xf %s -C $d && rm -rf $d",
           getpid(), tar_path);
  sh(cmd);
}

static const struct {
  const char *name;
  void (*op)(void);
} benches[] = {
    {"tar_extract_rm", op_tar_extract_rm},
    {"open_close_root", op_open_close_root},
    {"stat_root", op_stat_root},
    {"pread_4k_root", op_pread_4k_root},
    {"pread_4k_tmp", op_pread_4k_tmp},
    {"pwrite_4k_tmp", op_pwrite_4k_tmp},
    {"pread_4k_shm", op_pread_4k_shm},
    {"pwrite_4k_shm", op_pwrite_4k_shm},
    {"readdir_1000", op_readdir_1000},
    {"getppid", op_getppid},
    {"clock_gettime", op_clock_gettime},
    {"gettimeofday", op_gettimeofday},
    {"fork_exit_wait", op_fork_exit_wait},
    {"fork_exec_wait", op_fork_exec_wait},
    {"thread_create_join", op_thread_create_join},
    {"fork_512mib", op_fork_512mib},
    {"fork_512mib_child_writes_all", op_fork_512mib_child_writes_all},
    {"copy_512mib", op_copy_512mib},
};

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "exit") == 0)
    return 0;
  if (argc != 3) {
    fprintf(stderr, "usage: bench NAME ITERATIONS | bench exit\n");
    return 2;
  }
  self = argv[0];
  long n = atol(argv[2]);
  for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
    if (strcmp(argv[1], benches[i].name) != 0)
      continue;
    benches[i].op(); /* warm-up, and set-up such as touch_big */
    long long start = now_ns();
    for (long k = 0; k < n; k++)
      benches[i].op();
    long long elapsed = now_ns() - start;
    printf("%s %lld\n", benches[i].name, n > 0 ? elapsed / n : 0);
    return 0;
  }
  fprintf(stderr, "bench: no benchmark %s\n", argv[1]);
  return 2;
}
