/*
 * efault: every pointer argument the other guests exercise, given an address
 * the guest cannot access, makes the system call fail with EFAULT: the kernel
 * must neither crash the guest nor touch memory on its behalf.
 *
 * Each case runs with two bad pointers: "low" ((void *)1, in the never-mapped
 * first page) and "kernel" (0xffff800000000000, above the user address
 * space). All calls are raw syscall()s so the C library cannot dereference a
 * pointer first. The program must run to the end and exit 0.
 *
 * usage: efault FIXTURES_DIR
 */
#include "check.h"

#include <asm/prctl.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define KERNEL_SIGSET_SIZE 8

static void *const bad_pointers[] = {(void *)1, (void *)0xffff800000000000UL};
static const char *const bad_names[] = {"low", "kernel"};

/* Runs `call` once per bad pointer, with BAD bound to it, expecting EFAULT. */
#define EFAULT_CASE(name, call)                                              \
  for (int bad_i = 0; bad_i < 2; bad_i++) {                                  \
    void *BAD = bad_pointers[bad_i];                                         \
    char label[128];                                                         \
    snprintf(label, sizeof label, "%s_%s", name, bad_names[bad_i]);          \
    expect_errno(label, (call), EFAULT);                                     \
  }

static char path_buf[4096];
static const char *fixture(const char *fix, const char *rel) {
  snprintf(path_buf, sizeof path_buf, "%s/%s", fix, rel);
  return path_buf;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
    return 2;
  }
  const char *fix = argv[1];
  char file[4096], link[4096], buf[256];
  snprintf(file, sizeof file, "%s", fixture(fix, "file.txt"));
  snprintf(link, sizeof link, "%s", fixture(fix, "links/rel"));
  int fd = open(file, O_RDONLY);
  int dirfd = open(fix, O_RDONLY | O_DIRECTORY);
  int p[2];
  pipe(p);
  struct stat st;
  struct timespec ts = {0, 1};
  struct rlimit rl;
  sigset_t set;
  sigemptyset(&set);

  /* I/O buffers */
  EFAULT_CASE("read", syscall(SYS_read, fd, BAD, 10));
  EFAULT_CASE("pread64", syscall(SYS_pread64, fd, BAD, 10, 0));
  EFAULT_CASE("write", syscall(SYS_write, p[1], BAD, 10));
  EFAULT_CASE("readv_iovec_array", syscall(SYS_readv, fd, BAD, 1));
  EFAULT_CASE("writev_iovec_array", syscall(SYS_writev, p[1], BAD, 1));
  EFAULT_CASE("readv_iovec_base", ({
                struct iovec iov = {BAD, 10};
                syscall(SYS_readv, fd, &iov, 1);
              }));
  EFAULT_CASE("writev_iovec_base", ({
                struct iovec iov = {BAD, 10};
                syscall(SYS_writev, p[1], &iov, 1);
              }));

  /* Paths */
  EFAULT_CASE("open_path", syscall(SYS_open, BAD, O_RDONLY));
  EFAULT_CASE("openat_path", syscall(SYS_openat, AT_FDCWD, BAD, O_RDONLY));
  EFAULT_CASE("stat_path", syscall(SYS_stat, BAD, &st));
  EFAULT_CASE("lstat_path", syscall(SYS_lstat, BAD, &st));
  EFAULT_CASE("newfstatat_path", syscall(SYS_newfstatat, AT_FDCWD, BAD, &st, 0));
  EFAULT_CASE("statx_path", syscall(SYS_statx, AT_FDCWD, BAD, 0, STATX_BASIC_STATS, buf));
  EFAULT_CASE("access_path", syscall(SYS_access, BAD, F_OK));
  EFAULT_CASE("faccessat_path", syscall(SYS_faccessat, AT_FDCWD, BAD, F_OK));
  EFAULT_CASE("faccessat2_path", syscall(SYS_faccessat2, AT_FDCWD, BAD, F_OK, 0));
  EFAULT_CASE("readlink_path", syscall(SYS_readlink, BAD, buf, sizeof buf));
  EFAULT_CASE("readlinkat_path", syscall(SYS_readlinkat, AT_FDCWD, BAD, buf, sizeof buf));
  EFAULT_CASE("chdir_path", syscall(SYS_chdir, BAD));
  EFAULT_CASE("execve_path", syscall(SYS_execve, BAD, argv, NULL));
  EFAULT_CASE("execve_argv", syscall(SYS_execve, "/bin/true", BAD, NULL));

  /* Result buffers */
  EFAULT_CASE("stat_buf", syscall(SYS_stat, file, BAD));
  EFAULT_CASE("fstat_buf", syscall(SYS_fstat, fd, BAD));
  EFAULT_CASE("lstat_buf", syscall(SYS_lstat, link, BAD));
  EFAULT_CASE("newfstatat_buf", syscall(SYS_newfstatat, AT_FDCWD, file, BAD, 0));
  EFAULT_CASE("statx_buf", syscall(SYS_statx, AT_FDCWD, file, 0, STATX_BASIC_STATS, BAD));
  EFAULT_CASE("readlink_buf", syscall(SYS_readlink, link, BAD, sizeof buf));
  EFAULT_CASE("getdents64_buf", syscall(SYS_getdents64, dirfd, BAD, 4096));
  EFAULT_CASE("getcwd_buf", syscall(SYS_getcwd, BAD, 4096));
  EFAULT_CASE("pipe2_fds", syscall(SYS_pipe2, BAD, 0));
  EFAULT_CASE("ioctl_fionread", syscall(SYS_ioctl, p[0], FIONREAD, BAD));
  EFAULT_CASE("fcntl_getlk", syscall(SYS_fcntl, fd, F_GETLK, BAD));
  EFAULT_CASE("uname", syscall(SYS_uname, BAD));
  EFAULT_CASE("sysinfo", syscall(SYS_sysinfo, BAD));
  EFAULT_CASE("getrlimit", syscall(SYS_getrlimit, RLIMIT_STACK, BAD));
  EFAULT_CASE("setrlimit", syscall(SYS_setrlimit, RLIMIT_STACK, BAD));
  EFAULT_CASE("prlimit64_new", syscall(SYS_prlimit64, 0, RLIMIT_STACK, BAD, NULL));
  EFAULT_CASE("prlimit64_old", syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, BAD));
  EFAULT_CASE("getrusage", syscall(SYS_getrusage, RUSAGE_SELF, BAD));
  EFAULT_CASE("times", syscall(SYS_times, BAD));
  EFAULT_CASE("prctl_get_name", syscall(SYS_prctl, PR_GET_NAME, BAD, 0, 0, 0));
  EFAULT_CASE("prctl_set_name", syscall(SYS_prctl, PR_SET_NAME, BAD, 0, 0, 0));
  /* Without supplementary groups there is nothing to copy: a fact, not an
   * expectation. */
  check("getgroups_low", syscall(SYS_getgroups, 64, bad_pointers[0]));
  check("getgroups_kernel", syscall(SYS_getgroups, 64, bad_pointers[1]));

  /* Time */
  EFAULT_CASE("clock_gettime", syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD));
  EFAULT_CASE("clock_getres", syscall(SYS_clock_getres, CLOCK_MONOTONIC, BAD));
  EFAULT_CASE("gettimeofday_tv", syscall(SYS_gettimeofday, BAD, NULL));
  EFAULT_CASE("gettimeofday_tz", ({
                struct timeval tv;
                syscall(SYS_gettimeofday, &tv, BAD);
              }));
  EFAULT_CASE("time", syscall(SYS_time, BAD));
  EFAULT_CASE("nanosleep_request", syscall(SYS_nanosleep, BAD, NULL));
  EFAULT_CASE("clock_nanosleep_request", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, BAD, NULL));
  EFAULT_CASE("poll_fds", syscall(SYS_poll, BAD, 1, 0));

  /* Process and CPU */
  EFAULT_CASE("getrandom", syscall(SYS_getrandom, BAD, 16, 0));
  EFAULT_CASE("sched_getaffinity", syscall(SYS_sched_getaffinity, 0, 128, BAD));
  EFAULT_CASE("arch_prctl_get_fs", syscall(SYS_arch_prctl, ARCH_GET_FS, BAD));
  /* futex checks alignment first: (void *)1 is EINVAL, an aligned bad
   * address is EFAULT. */
  expect_errno("futex_wait_unaligned", syscall(SYS_futex, bad_pointers[0], FUTEX_WAIT, 0, NULL), EINVAL);
  expect_errno("futex_wait_kernel", syscall(SYS_futex, bad_pointers[1], FUTEX_WAIT, 0, NULL), EFAULT);
  expect_errno("futex_wait_first_page", syscall(SYS_futex, (void *)4, FUTEX_WAIT, 0, NULL), EFAULT);

  /* Signals */
  EFAULT_CASE("rt_sigaction_new", syscall(SYS_rt_sigaction, SIGUSR1, BAD, NULL, KERNEL_SIGSET_SIZE));
  EFAULT_CASE("rt_sigaction_old", syscall(SYS_rt_sigaction, SIGUSR1, NULL, BAD, KERNEL_SIGSET_SIZE));
  EFAULT_CASE("rt_sigprocmask_new", syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD, NULL, KERNEL_SIGSET_SIZE));
  EFAULT_CASE("rt_sigprocmask_old", syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, BAD, KERNEL_SIGSET_SIZE));
  EFAULT_CASE("rt_sigpending", syscall(SYS_rt_sigpending, BAD, KERNEL_SIGSET_SIZE));
  EFAULT_CASE("sigaltstack_new", syscall(SYS_sigaltstack, BAD, NULL));

  /* Memory */
  long page = sysconf(_SC_PAGESIZE);
  char *two = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EFAULT_CASE("mincore_vec", syscall(SYS_mincore, two, page, BAD));

  /* A buffer whose first byte is mapped and whose rest is not. A read from
   * a file reports the bytes it copied before the fault; structures and
   * paths are all or nothing. */
  munmap(two + page, page);
  char *edge = two + page - 1;
  expect_eq("read_into_buffer_crossing_into_unmapped", syscall(SYS_read, fd, edge, 10), 1);
  expect_true("read_partial_byte_landed", *edge == 'h');
  /* A pipe write that cannot copy its first chunk whole stores nothing. */
  expect_errno("write_to_pipe_from_buffer_crossing_into_unmapped", syscall(SYS_write, p[1], edge, 10), EFAULT);
  expect_errno("fstat_into_buffer_crossing_into_unmapped", syscall(SYS_fstat, fd, edge), EFAULT);
  expect_errno("clock_gettime_into_buffer_crossing_into_unmapped",
               syscall(SYS_clock_gettime, CLOCK_MONOTONIC, edge), EFAULT);
  expect_errno("open_path_running_into_unmapped", ({
                 *edge = 'x'; /* no NUL before the unmapped page */
                 syscall(SYS_open, edge, O_RDONLY);
               }),
               EFAULT);

  /* Still alive, and the good pointers still work. */
  expect_eq("nanosleep_after_faults", syscall(SYS_nanosleep, &ts, NULL), 0);
  expect_eq("getrlimit_after_faults", syscall(SYS_getrlimit, RLIMIT_STACK, &rl), 0);
  expect_eq("rt_sigprocmask_after_faults", syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &set, KERNEL_SIGSET_SIZE), 0);
  return check_finish();
}
