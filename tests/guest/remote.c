/*
 * remote: calls that reach into another process — process_vm_readv/writev,
 * kcmp, pidfd_getfd — with ptrace's permission rules, and the advisory calls
 * fadvise64, readahead, mlock2 and membarrier, each with the errors Linux
 * gives.
 */
#include "check.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#define KCMP_FILE 0
#define KCMP_VM 1
#define KCMP_FILES 2
#define KCMP_FS 3
#define MEMBARRIER_CMD_QUERY 0
#define MEMBARRIER_CMD_GLOBAL 1
#define MEMBARRIER_CMD_PRIVATE_EXPEDITED 8
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED 16

static char secret[64] = "the child's secret";

static long kcmp(pid_t a, pid_t b, int type, unsigned long i1, unsigned long i2) {
  return syscall(SYS_kcmp, a, b, type, i1, i2);
}

/* Open in the parent and in the child alike (the child never closes it). */
static int inherited;

/* A child that waits (on a pipe) until the parent is done with it. */
static pid_t stopped_child(int *release) {
  int p[2];
  inherited = open("/dev/null", O_RDONLY);
  pipe(p);
  pid_t c = fork();
  if (c == 0) {
    close(p[1]);
    /* Touch the secret first: the parent's write must replace what this
     * process already mapped, not only what it has yet to. */
    volatile char first = secret[0];
    (void)first;
    char b;
    read(p[0], &b, 1);
    _exit(secret[0] == 'T' ? 3 : 0);
  }
  close(p[0]);
  *release = p[1];
  return c;
}

static void process_vm(void) {
  int release;
  pid_t child = stopped_child(&release);
  char a[8] = {0}, b[16] = {0};
  struct iovec local[2] = {{a, 7}, {b, 11}};
  struct iovec remote = {secret, 18};
  expect_eq("readv_child", process_vm_readv(child, local, 2, &remote, 1, 0), 18);
  expect_str("readv_first", a, "the chi");
  expect_str("readv_second", b, "ld's secret");

  char word[] = "The";
  struct iovec wl = {word, 3}, wr = {secret, 3};
  expect_eq("writev_child", process_vm_writev(child, &wl, 1, &wr, 1, 0), 3);
  expect_str("own_copy_unchanged", secret, "the child's secret");

  struct iovec bad = {(void *)8, 4};
  expect_errno("readv_bad_remote", process_vm_readv(child, local, 1, &bad, 1, 0), EFAULT);
  struct iovec badl = {(void *)8, 4};
  expect_errno("readv_bad_local", process_vm_readv(child, &badl, 1, &remote, 1, 0), EFAULT);
  expect_errno("readv_flags", process_vm_readv(child, local, 1, &remote, 1, 1), EINVAL);
  expect_errno("readv_no_process", process_vm_readv(99999, local, 1, &remote, 1, 0), ESRCH);
  expect_errno("readv_too_many", process_vm_readv(child, local, 2000, &remote, 1, 0), EINVAL);
  expect_eq("readv_empty_local", process_vm_readv(99999, local, 0, &remote, 1, 0), 0);
  /* Partial: the second remote range faults after the first was copied. */
  struct iovec two[2] = {{secret, 4}, {(void *)8, 4}};
  expect_eq("readv_partial", process_vm_readv(child, local, 2, two, 2, 0), 4);
  expect_eq("readv_self", process_vm_readv(getpid(), local, 1, &remote, 1, 0), 7);

  expect_eq("kcmp_vm_self", kcmp(getpid(), getpid(), KCMP_VM, 0, 0), 0);
  expect_true("kcmp_vm_child_differs", kcmp(getpid(), child, KCMP_VM, 0, 0) > 0);
  expect_true("kcmp_files_child_differs", kcmp(getpid(), child, KCMP_FILES, 0, 0) > 0);
  expect_true("kcmp_fs_child_differs", kcmp(getpid(), child, KCMP_FS, 0, 0) > 0);
  /* The child's copy of an fd is the same open file description as ours. */
  expect_eq("kcmp_file_inherited", kcmp(getpid(), child, KCMP_FILE, inherited, inherited), 0);
  int dup_fd = dup(release);
  expect_eq("kcmp_file_dup", kcmp(getpid(), getpid(), KCMP_FILE, release, dup_fd), 0);
  int other = open("/dev/null", O_RDONLY);
  expect_true("kcmp_file_other", kcmp(getpid(), getpid(), KCMP_FILE, release, other) > 0);
  expect_errno("kcmp_bad_fd", kcmp(getpid(), getpid(), KCMP_FILE, 999, 0), EBADF);
  expect_errno("kcmp_bad_type", kcmp(getpid(), getpid(), 99, 0, 0), EINVAL);
  expect_errno("kcmp_no_process", kcmp(getpid(), 99999, KCMP_VM, 0, 0), ESRCH);

  int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
  int got = (int)syscall(SYS_pidfd_getfd, pidfd, inherited, 0);
  expect_ok("pidfd_getfd", got);
  expect_eq("pidfd_getfd_cloexec", fcntl(got, F_GETFD), FD_CLOEXEC);
  expect_eq("pidfd_getfd_same_file", kcmp(getpid(), getpid(), KCMP_FILE, inherited, got), 0);
  expect_errno("pidfd_getfd_flags", syscall(SYS_pidfd_getfd, pidfd, release, 1), EINVAL);
  expect_errno("pidfd_getfd_bad_target", syscall(SYS_pidfd_getfd, pidfd, 999, 0), EBADF);
  expect_errno("pidfd_getfd_not_pidfd", syscall(SYS_pidfd_getfd, other, 0, 0), EBADF);
  expect_errno("pidfd_getfd_bad_pidfd", syscall(SYS_pidfd_getfd, 999, 0, 0), EBADF);
  close(got);
  close(dup_fd);
  close(other);
  close(release);
  int status;
  waitpid(child, &status, 0);
  expect_eq("child_saw_parent_write", WEXITSTATUS(status), 3);
  close(pidfd);
}

/* An unprivileged process may not reach a root one. */
static void unprivileged(void) {
  pid_t root_pid = getpid();
  int failures = check_failures;
  pid_t c = fork();
  if (c == 0) {
    setuid(65534);
    char a[8];
    struct iovec l = {a, 4}, r = {secret, 4};
    expect_errno("user_readv_root", process_vm_readv(root_pid, &l, 1, &r, 1, 0), EPERM);
    expect_errno("user_kcmp_root", kcmp(getpid(), root_pid, KCMP_VM, 0, 0), EPERM);
    int pidfd = (int)syscall(SYS_pidfd_open, root_pid, 0);
    expect_errno("user_pidfd_getfd_root", syscall(SYS_pidfd_getfd, pidfd, 0, 0), EPERM);
    expect_eq("user_readv_self", process_vm_readv(getpid(), &l, 1, &r, 1, 0), 4);
    fflush(stdout);
    _exit(check_failures != failures);
  }
  int status;
  waitpid(c, &status, 0);
  expect_eq("unprivileged_child", WEXITSTATUS(status), 0);
}

static void *idle_thread(void *arg) {
  (void)arg;
  return NULL;
}

static void advice(void) {
  int fd = open("/proc/self/exe", O_RDONLY);
  expect_eq("fadvise_willneed", posix_fadvise(fd, 0, 4096, POSIX_FADV_WILLNEED), 0);
  expect_eq("fadvise_dontneed", posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  /* posix_fadvise returns the error instead of setting errno: use the raw call. */
  expect_errno("fadvise_bad_advice", syscall(SYS_fadvise64, fd, 0, 0, 42), EINVAL);
  expect_errno("fadvise_bad_fd", syscall(SYS_fadvise64, 999, 0, 0, 0), EBADF);
  int p[2];
  pipe(p);
  expect_errno("fadvise_pipe", syscall(SYS_fadvise64, p[0], 0, 0, 0), ESPIPE);
  expect_eq("readahead", readahead(fd, 0, 4096), 0);
  expect_errno("readahead_pipe", readahead(p[0], 0, 10), EINVAL);
  expect_errno("readahead_write_only", readahead(p[1], 0, 10), EBADF);
  expect_errno("readahead_bad_fd", readahead(999, 0, 10), EBADF);
  int dir = open("/", O_RDONLY | O_DIRECTORY);
  expect_errno("readahead_dir", readahead(dir, 0, 10), EINVAL);
  close(dir);
  close(p[0]);
  close(p[1]);
  close(fd);

  char *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  expect_eq("mlock2", syscall(SYS_mlock2, m, 8192, 0), 0);
  expect_eq("mlock2_onfault", syscall(SYS_mlock2, m, 4096, 1), 0);
  expect_errno("mlock2_bad_flags", syscall(SYS_mlock2, m, 4096, 2), EINVAL);
  munlock(m, 8192);
  munmap(m, 8192);
  expect_errno("mlock2_unmapped", syscall(SYS_mlock2, m, 4096, 0), ENOMEM);

  long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  expect_true("membarrier_query_global", q > 0 && (q & MEMBARRIER_CMD_GLOBAL));
  expect_true("membarrier_query_private", (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0);
  expect_errno("membarrier_private_unregistered",
               syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), EPERM);
  expect_eq("membarrier_register",
            syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0), 0);
  expect_eq("membarrier_private", syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0),
            0);
  pthread_t t;
  pthread_create(&t, NULL, idle_thread, NULL);
  expect_eq("membarrier_private_threads",
            syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0), 0);
  pthread_join(t, NULL);
  expect_eq("membarrier_global", syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0), 0);
  expect_errno("membarrier_flags", syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 1, 0), EINVAL);
  expect_errno("membarrier_bad_cmd", syscall(SYS_membarrier, 3, 0, 0), EINVAL);
  pid_t c = fork();
  if (c == 0)
    _exit(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0);
  int status;
  waitpid(c, &status, 0);
  expect_eq("membarrier_registration_inherited_by_fork", WEXITSTATUS(status), 1);
  c = fork();
  if (c == 0) {
    execl("/proc/self/exe", "remote", "membarrier-after-exec", (char *)NULL);
    _exit(99);
  }
  waitpid(c, &status, 0);
  expect_eq("membarrier_registration_dropped_by_exec", WEXITSTATUS(status), 1);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "membarrier-after-exec") == 0)
    return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == -1 && errno == EPERM;
  process_vm();
  if (geteuid() == 0)
    unprivileged();
  advice();
  return check_finish();
}
