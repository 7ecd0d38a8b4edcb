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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

static const struct {
  const char *name;
  void (*op)(void);
} benches[] = {
    {"getppid", op_getppid},
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
