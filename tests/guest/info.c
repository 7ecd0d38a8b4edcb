/*
 * info: identity, limits, clocks, randomness, affinity, thread pointer and
 * signal dispositions and masks of one process (delivery: signals.c).
 *
 * Values that differ between the host and the sandbox by design (kernel
 * release, hostname, pids, times) are reduced to properties ("yes" when a
 * pid is positive, when a clock does not go backwards).
 */
#include "check.h"

#include <asm/prctl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* The kernel's sigset_t is 64 bits; glibc's is 1024. */
#define KERNEL_SIGSET_SIZE 8

static long long ns_of(struct timespec t) {
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static long long now_ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return ns_of(t);
}

static void identity(void) {
  struct utsname u;
  expect_eq("uname", uname(&u), 0);
  expect_str("uname_sysname", u.sysname, "Linux");
  expect_str("uname_machine", u.machine, "x86_64");
  expect_true("uname_release_nonempty", u.release[0] != 0);

  struct sysinfo si;
  expect_eq("sysinfo", sysinfo(&si), 0);
  expect_true("sysinfo_mem_unit_positive", si.mem_unit > 0);
  expect_true("sysinfo_totalram_positive", si.totalram > 0);
  expect_true("sysinfo_freeram_at_most_total", si.freeram <= si.totalram);
  expect_true("sysinfo_procs_positive", si.procs > 0);

  pid_t pid = getpid();
  expect_true("getpid_positive", pid > 0);
  expect_true("getppid_not_negative", getppid() >= 0);
  expect_true("gettid_equals_getpid_in_main_thread", gettid() == pid);
  expect_true("raw_getpid_equals_libc", syscall(SYS_getpid) == pid);

  check("getuid", getuid());
  check("geteuid", geteuid());
  check("getgid", getgid());
  check("getegid", getegid());
  gid_t groups[64];
  int n = (int)check("getgroups_count", getgroups(0, NULL));
  expect_eq("getgroups", getgroups(64, groups), n);
  printf("getgroups_list:");
  for (int i = 0; i < n && i < 64; i++)
    printf(" %u", (unsigned)groups[i]);
  putchar('\n');
  if (n >= 2) /* a size of 0 asks for the count, so this needs two groups */
    expect_errno("getgroups_buffer_too_small", getgroups(n - 1, groups), EINVAL);

  char name[32] = {0};
  expect_eq("prctl_set_name", prctl(PR_SET_NAME, "moat-guest"), 0);
  expect_eq("prctl_get_name", prctl(PR_GET_NAME, name), 0);
  expect_str("prctl_name_read_back", name, "moat-guest");

  mode_t old = umask(027);
  say("umask_inherited", "%04o", (unsigned)old);
  expect_true("umask_returns_previous", umask(old) == 027);
}

static void limits(void) {
  struct rlimit r;
  expect_eq("prlimit64_get_stack", syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, &r), 0);
  expect_true("rlimit_stack_cur_le_max", r.rlim_cur <= r.rlim_max);
  expect_eq("getrlimit_nofile", getrlimit(RLIMIT_NOFILE, &r), 0);
  expect_true("rlimit_nofile_cur_le_max", r.rlim_cur <= r.rlim_max);
  expect_errno("getrlimit_bad_resource", syscall(SYS_getrlimit, 999, &r), EINVAL);
  expect_errno("prlimit64_no_such_process", syscall(SYS_prlimit64, 0x3ffffff0, RLIMIT_STACK, NULL, &r), ESRCH);

  /* The soft fd limit bounds new descriptor numbers. */
  struct rlimit saved, lowered;
  getrlimit(RLIMIT_NOFILE, &saved);
  lowered = saved;
  lowered.rlim_cur = 64;
  expect_eq("setrlimit_nofile_lower_soft", setrlimit(RLIMIT_NOFILE, &lowered), 0);
  expect_eq("dup2_below_nofile_limit", dup2(0, 63), 63);
  expect_errno("dup2_at_nofile_limit", dup2(0, 64), EBADF);
  close(63);
  lowered.rlim_cur = saved.rlim_max == RLIM_INFINITY ? RLIM_INFINITY : saved.rlim_max + 1;
  lowered.rlim_max = saved.rlim_max;
  if (saved.rlim_max != RLIM_INFINITY)
    expect_errno("setrlimit_soft_above_hard", setrlimit(RLIMIT_NOFILE, &lowered), EINVAL);
  expect_eq("setrlimit_nofile_restore", setrlimit(RLIMIT_NOFILE, &saved), 0);
}

static void clocks(void) {
  struct timespec t, res;
  long long mono1 = now_ns(CLOCK_MONOTONIC);
  long long mono2 = now_ns(CLOCK_MONOTONIC);
  long long boot = now_ns(CLOCK_BOOTTIME);
  expect_true("clock_monotonic_non_decreasing", mono2 >= mono1);
  expect_true("clock_boottime_at_least_monotonic", boot >= mono2);
  expect_eq("clock_gettime_realtime", clock_gettime(CLOCK_REALTIME, &t), 0);
  expect_true("clock_realtime_after_2020", t.tv_sec > 1577836800);
  expect_true("clock_realtime_nsec_in_range", t.tv_nsec >= 0 && t.tv_nsec < 1000000000);
  expect_eq("clock_gettime_process_cputime", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t), 0);
  expect_true("clock_process_cputime_not_negative", ns_of(t) >= 0);
  expect_eq("clock_gettime_thread_cputime", clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t), 0);
  expect_eq("clock_gettime_monotonic_raw", clock_gettime(CLOCK_MONOTONIC_RAW, &t), 0);
  expect_eq("clock_gettime_monotonic_coarse", clock_gettime(CLOCK_MONOTONIC_COARSE, &t), 0);
  expect_errno("clock_gettime_bad_clock", clock_gettime(12345, &t), EINVAL);
  expect_errno("raw_clock_gettime_bad_clock", syscall(SYS_clock_gettime, 12345, &t), EINVAL);

  expect_eq("clock_getres_monotonic", clock_getres(CLOCK_MONOTONIC, &res), 0);
  expect_true("clock_getres_monotonic_sub_second", res.tv_sec == 0 && res.tv_nsec > 0);
  expect_eq("clock_getres_realtime", clock_getres(CLOCK_REALTIME, &res), 0);
  expect_true("clock_getres_realtime_sub_second", res.tv_sec == 0 && res.tv_nsec > 0);
  expect_errno("clock_getres_bad_clock", syscall(SYS_clock_getres, 12345, &res), EINVAL);

  struct timeval tv;
  expect_eq("gettimeofday", gettimeofday(&tv, NULL), 0);
  time_t now = time(NULL);
  expect_true("gettimeofday_agrees_with_time", now - tv.tv_sec >= 0 && now - tv.tv_sec <= 2);
  expect_true("gettimeofday_usec_in_range", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
  expect_eq("raw_gettimeofday", syscall(SYS_gettimeofday, &tv, NULL), 0);
  time_t raw_now = (time_t)syscall(SYS_time, NULL);
  expect_true("raw_time_agrees_with_time", raw_now - now >= 0 && raw_now - now <= 2);

  struct timespec ms = {0, 1000000};
  long long before = now_ns(CLOCK_MONOTONIC);
  expect_eq("nanosleep_1ms", nanosleep(&ms, NULL), 0);
  expect_true("nanosleep_sleeps_at_least_1ms", now_ns(CLOCK_MONOTONIC) - before >= 1000000);
  before = now_ns(CLOCK_MONOTONIC);
  expect_eq("clock_nanosleep_relative_1ms", clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL), 0);
  expect_true("clock_nanosleep_sleeps_at_least_1ms", now_ns(CLOCK_MONOTONIC) - before >= 1000000);
  clock_gettime(CLOCK_MONOTONIC, &t);
  t.tv_sec -= 1;
  expect_eq("clock_nanosleep_absolute_in_past", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL), 0);
  struct timespec bad = {0, 1000000000};
  expect_errno("nanosleep_nsec_out_of_range", nanosleep(&bad, NULL), EINVAL);
  /* clock_nanosleep returns the error number instead of setting errno. */
  expect_eq("clock_nanosleep_bad_clock", clock_nanosleep(12345, 0, &ms, NULL), EINVAL);
  expect_eq("clock_nanosleep_thread_cputime", clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &ms, NULL), EINVAL);
}

static void randomness_and_cpus(void) {
  unsigned char buf[16] = {0};
  expect_eq("getrandom_16", getrandom(buf, sizeof buf, 0), 16);
  int nonzero = 0;
  for (size_t i = 0; i < sizeof buf; i++)
    nonzero |= buf[i];
  expect_true("getrandom_fills_buffer", nonzero != 0);
  expect_eq("getrandom_nonblock", getrandom(buf, sizeof buf, GRND_NONBLOCK), 16);
  expect_errno("getrandom_bad_flags", getrandom(buf, sizeof buf, 0x100), EINVAL);

  cpu_set_t set;
  CPU_ZERO(&set);
  expect_eq("sched_getaffinity", sched_getaffinity(0, sizeof set, &set), 0);
  expect_true("sched_getaffinity_count_positive", CPU_COUNT(&set) > 0);
  expect_errno("sched_getaffinity_size_not_multiple_of_long", syscall(SYS_sched_getaffinity, 0, 3, &set), EINVAL);
  expect_true("sched_getcpu_not_negative", sched_getcpu() >= 0);
  expect_eq("sched_yield", sched_yield(), 0);
}

static void thread_pointer(void) {
  unsigned long fs = 0;
  void *self;
  /* glibc keeps a pointer to the thread control block at %fs:0. */
  __asm__ volatile("mov %%fs:0, %0" : "=r"(self));
  expect_eq("arch_prctl_get_fs", syscall(SYS_arch_prctl, ARCH_GET_FS, &fs), 0);
  expect_true("arch_prctl_fs_is_thread_pointer", fs == (unsigned long)self);
  expect_errno("arch_prctl_bad_code", syscall(SYS_arch_prctl, 0x9999, &fs), EINVAL);
  static int clear_tid;
  expect_true("set_tid_address_returns_tid", syscall(SYS_set_tid_address, &clear_tid) == gettid());
}

static void on_signal(int signo) { (void)signo; }

/* Dispositions and masks as bookkeeping; delivering signals is in signals.c. */
static void signals(void) {
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  expect_eq("rt_sigaction_set", sigaction(SIGUSR1, &sa, NULL), 0);
  memset(&old, 0, sizeof old);
  expect_eq("rt_sigaction_get", sigaction(SIGUSR1, NULL, &old), 0);
  expect_true("rt_sigaction_handler_read_back", old.sa_handler == on_signal);
  expect_true("rt_sigaction_flags_read_back", (old.sa_flags & SA_RESTART) == SA_RESTART);
  expect_true("rt_sigaction_mask_read_back", sigismember(&old.sa_mask, SIGUSR2) == 1);
  expect_eq("rt_sigaction_get_sigkill", sigaction(SIGKILL, NULL, &old), 0);
  expect_true("sigkill_default_disposition", old.sa_handler == SIG_DFL);
  expect_errno("rt_sigaction_set_sigkill", syscall(SYS_rt_sigaction, SIGKILL, &sa, NULL, KERNEL_SIGSET_SIZE), EINVAL);
  expect_errno("rt_sigaction_set_sigstop", syscall(SYS_rt_sigaction, SIGSTOP, &sa, NULL, KERNEL_SIGSET_SIZE), EINVAL);
  expect_errno("rt_sigaction_signal_0", syscall(SYS_rt_sigaction, 0, NULL, &old, KERNEL_SIGSET_SIZE), EINVAL);
  expect_errno("rt_sigaction_signal_65", syscall(SYS_rt_sigaction, 65, NULL, &old, KERNEL_SIGSET_SIZE), EINVAL);
  expect_errno("rt_sigaction_bad_sigsetsize", syscall(SYS_rt_sigaction, SIGUSR1, NULL, &old, 4), EINVAL);

  sigset_t set, cur;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGKILL);
  sigaddset(&set, SIGSTOP);
  expect_eq("rt_sigprocmask_block", sigprocmask(SIG_BLOCK, &set, NULL), 0);
  sigprocmask(SIG_BLOCK, NULL, &cur);
  expect_true("rt_sigprocmask_blocked_read_back", sigismember(&cur, SIGUSR1) == 1);
  expect_true("rt_sigprocmask_cannot_block_sigkill", sigismember(&cur, SIGKILL) == 0);
  expect_true("rt_sigprocmask_cannot_block_sigstop", sigismember(&cur, SIGSTOP) == 0);
  expect_eq("rt_sigprocmask_unblock", sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
  sigprocmask(SIG_BLOCK, NULL, &cur);
  expect_true("rt_sigprocmask_unblocked_read_back", sigismember(&cur, SIGUSR1) == 0);
  expect_errno("rt_sigprocmask_bad_how", syscall(SYS_rt_sigprocmask, 99, &set, NULL, KERNEL_SIGSET_SIZE), EINVAL);
  expect_errno("rt_sigprocmask_bad_sigsetsize", syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4), EINVAL);
  sigpending(&cur);
  expect_true("nothing_pending", sigismember(&cur, SIGUSR1) == 0);
}

int main(void) {
  identity();
  limits();
  clocks();
  randomness_and_cpus();
  thread_pointer();
  signals();
  return check_finish();
}
