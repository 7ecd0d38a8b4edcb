/*
 * cputime: CPU-time accounting. times, getrusage (self, children, thread),
 * wait4's rusage, the CPU-time clocks (CLOCK_PROCESS/THREAD_CPUTIME_ID,
 * clock_getcpuclockid, pthread_getcpuclockid), CPU-time interval timers
 * (ITIMER_VIRTUAL, ITIMER_PROF), POSIX timers on CPU clocks, and
 * clock_nanosleep on a CPU clock.
 *
 * Times are never printed, only whether they lie in the range Linux
 * guarantees (a burn of 200 ms of CPU shows at least that much, a sleep
 * shows almost none).
 */
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS (1000 * 1000LL)

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }
static long long ns_of_tv(struct timeval t) { return t.tv_sec * 1000000000LL + t.tv_usec * 1000LL; }

static long long clock_ns(clockid_t c) {
  struct timespec t;
  if (clock_gettime(c, &t) != 0)
    return -1;
  return ns_of(t);
}

/* Pure computation, no system calls. */
static void spin(long n) {
  volatile unsigned long x = 0;
  for (long i = 0; i < n; i++)
    x += (unsigned long)i * 2654435761u;
}

/* Burns `ms` of this thread's CPU time, in user mode but for the clock reads. */
static void burn(long ms) {
  long long until = clock_ns(CLOCK_THREAD_CPUTIME_ID) + ms * MS;
  while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < until)
    spin(200000);
}

static volatile sig_atomic_t fired;
static void on_signal(int sig) {
  (void)sig;
  fired++;
}

/* Burns until a signal handler ran `n` times or 3 s of CPU went by. */
static int burn_until_fired(int n) {
  long long limit = clock_ns(CLOCK_THREAD_CPUTIME_ID) + 3000 * MS;
  while (fired < n && clock_ns(CLOCK_THREAD_CPUTIME_ID) < limit)
    spin(100000);
  return fired >= n;
}

static clockid_t encoded_clock(pid_t pid, int thread, int which) {
  return (clockid_t)((~(unsigned)pid << 3) | (thread ? 4 : 0) | which);
}

static void clocks_and_usage(void) {
  struct timespec res;
  expect_eq("clock_getres_process_cputime", clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res), 0);
  expect_eq("clock_getres_process_cputime_ns", res.tv_nsec, 1);
  expect_eq("clock_getres_thread_cputime", clock_getres(CLOCK_THREAD_CPUTIME_ID, &res), 0);
  expect_eq("clock_getres_thread_cputime_ns", res.tv_nsec, 1);

  struct rusage ru;
  expect_eq("getrusage_children_at_start", getrusage(RUSAGE_CHILDREN, &ru), 0);
  expect_true("children_time_zero_at_start",
              ru.ru_utime.tv_sec == 0 && ru.ru_utime.tv_usec == 0 && ru.ru_stime.tv_sec == 0 &&
                  ru.ru_stime.tv_usec == 0);

  long long p0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  long long t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  getrusage(RUSAGE_SELF, &ru);
  long minflt0 = ru.ru_minflt;
  burn(200);
  expect_true("process_clock_counts_burn", clock_ns(CLOCK_PROCESS_CPUTIME_ID) - p0 >= 200 * MS);
  expect_true("thread_clock_counts_burn", clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0 >= 200 * MS);

  expect_eq("getrusage_self", getrusage(RUSAGE_SELF, &ru), 0);
  expect_true("rusage_user_time_dominates", ns_of_tv(ru.ru_utime) >= 100 * MS);
  expect_true("rusage_total_counts_burn", ns_of_tv(ru.ru_utime) + ns_of_tv(ru.ru_stime) >= 150 * MS);
  expect_eq("getrusage_thread", getrusage(RUSAGE_THREAD, &ru), 0);
  expect_true("rusage_thread_counts_burn", ns_of_tv(ru.ru_utime) + ns_of_tv(ru.ru_stime) >= 150 * MS);
  expect_errno("getrusage_bad_who", getrusage(7, &ru), EINVAL);
  expect_errno("getrusage_bad_pointer", getrusage(RUSAGE_SELF, (struct rusage *)8), EFAULT);

  struct tms tm;
  expect_true("times_returns_ticks", times(&tm) != (clock_t)-1);
  expect_true("times_counts_burn", tm.tms_utime + tm.tms_stime >= 15);

  long long before = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  usleep(200 * 1000);
  expect_true("sleeping_costs_no_cpu", clock_ns(CLOCK_PROCESS_CPUTIME_ID) - before < 50 * MS);

  /* Touching 64 MiB raises the peak resident set and counts page faults. */
  size_t len = 64 << 20;
  char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < len; i += 4096)
    p[i] = 1;
  getrusage(RUSAGE_SELF, &ru);
  expect_true("maxrss_counts_touched_memory", ru.ru_maxrss >= 64 * 1024);
  expect_true("minflt_counts_faults", ru.ru_minflt > minflt0);
  munmap(p, len);
}

static pthread_barrier_t barrier;
static void *burner(void *arg) {
  (void)arg;
  burn(100);
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  expect_true("thread_rusage_is_its_own",
              ns_of_tv(ru.ru_utime) + ns_of_tv(ru.ru_stime) >= 80 * MS &&
                  ns_of_tv(ru.ru_utime) + ns_of_tv(ru.ru_stime) < 150 * MS);
  pthread_barrier_wait(&barrier); /* the main thread reads our clock */
  pthread_barrier_wait(&barrier);
  return NULL;
}

static void threads(void) {
  pthread_barrier_init(&barrier, NULL, 2);
  pthread_t t;
  long long main0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  long long proc0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  pthread_create(&t, NULL, burner, NULL);
  pthread_barrier_wait(&barrier);
  clockid_t c;
  expect_eq("pthread_getcpuclockid", pthread_getcpuclockid(t, &c), 0);
  expect_true("other_thread_clock_counts_its_burn", clock_ns(c) >= 80 * MS);
  expect_true("main_thread_clock_excludes_it", clock_ns(CLOCK_THREAD_CPUTIME_ID) - main0 < 50 * MS);
  expect_true("process_clock_includes_it", clock_ns(CLOCK_PROCESS_CPUTIME_ID) - proc0 >= 80 * MS);
  pthread_barrier_wait(&barrier);
  pthread_join(t, NULL);
  struct timespec ts;
  expect_errno("clock_bad_which", clock_gettime(encoded_clock(0, 0, 3), &ts), EINVAL);
  expect_eq("clock_encoded_self_process", clock_gettime(encoded_clock(0, 0, 2), &ts), 0);
  expect_eq("clock_encoded_self_thread_virt", clock_gettime(encoded_clock(0, 1, 1), &ts), 0);
  expect_errno("clock_of_missing_process", clock_gettime(encoded_clock(99999, 0, 2), &ts), EINVAL);
  struct timespec res;
  expect_eq("clock_getres_prof", clock_getres(encoded_clock(0, 0, 0), &res), 0);
  expect_true("clock_getres_prof_is_a_tick", res.tv_nsec > 1);
}

static void children(void) {
  int go[2], ready[2];
  if (pipe(go) || pipe(ready))
    exit(2);
  pid_t c = fork();
  if (c == 0) {
    char b = 0;
    burn(100);
    /* 32 MiB touched by the child. */
    size_t len = 32 << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len; i += 4096)
      p[i] = 1;
    (void)!write(ready[1], &b, 1);
    (void)!read(go[0], &b, 1);
    _exit(0);
  }
  char b;
  (void)!read(ready[0], &b, 1);
  clockid_t cc;
  expect_eq("clock_getcpuclockid_child", clock_getcpuclockid(c, &cc), 0);
  expect_true("child_process_clock_counts_its_burn", clock_ns(cc) >= 80 * MS);
  struct timespec ts;
  expect_errno("thread_clock_of_other_process", clock_gettime(encoded_clock(c, 1, 2), &ts), EINVAL);
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  expect_true("unwaited_child_not_in_children_usage",
              ns_of_tv(ru.ru_utime) + ns_of_tv(ru.ru_stime) < 50 * MS);
  (void)!write(go[1], &b, 1);
  int st;
  expect_true("wait4_child", wait4(c, &st, 0, &ru) == c);
  expect_true("wait4_rusage_counts_child_burn", ns_of_tv(ru.ru_utime) + ns_of_tv(ru.ru_stime) >= 80 * MS);
  expect_true("wait4_rusage_maxrss", ru.ru_maxrss >= 32 * 1024);
  getrusage(RUSAGE_CHILDREN, &ru);
  expect_true("children_usage_counts_waited_child", ns_of_tv(ru.ru_utime) + ns_of_tv(ru.ru_stime) >= 80 * MS);
  expect_true("children_maxrss", ru.ru_maxrss >= 32 * 1024);
  struct tms tm;
  times(&tm);
  expect_true("times_children_ticks", tm.tms_cutime + tm.tms_cstime >= 8);

  /* A grandchild's time reaches the grandparent through the waiting child. */
  long long before = ns_of_tv(ru.ru_utime) + ns_of_tv(ru.ru_stime);
  c = fork();
  if (c == 0) {
    pid_t g = fork();
    if (g == 0) {
      burn(100);
      _exit(0);
    }
    waitpid(g, NULL, 0);
    _exit(0);
  }
  waitpid(c, NULL, 0);
  getrusage(RUSAGE_CHILDREN, &ru);
  expect_true("grandchild_time_reaches_grandparent",
              ns_of_tv(ru.ru_utime) + ns_of_tv(ru.ru_stime) - before >= 80 * MS);
  close(go[0]);
  close(go[1]);
  close(ready[0]);
  close(ready[1]);
}

static void itimers(void) {
  signal(SIGPROF, on_signal);
  signal(SIGVTALRM, on_signal);
  struct itimerval v = {.it_value = {0, 50 * 1000}}, cur;
  fired = 0;
  expect_eq("setitimer_prof", setitimer(ITIMER_PROF, &v, NULL), 0);
  expect_eq("getitimer_prof", getitimer(ITIMER_PROF, &cur), 0);
  /* Linux adds a tick (4 ms at HZ=250) to a CPU timer's first expiry. */
  expect_true("getitimer_prof_running", cur.it_value.tv_usec > 0 && cur.it_value.tv_usec <= 54 * 1000 &&
                                            cur.it_value.tv_sec == 0);
  expect_true("itimer_prof_fires_after_cpu_use", burn_until_fired(1));
  getitimer(ITIMER_PROF, &cur);
  expect_true("itimer_prof_one_shot_disarmed", cur.it_value.tv_sec == 0 && cur.it_value.tv_usec == 0);

  /* A sleeping process uses no CPU: the timer does not fire. */
  fired = 0;
  setitimer(ITIMER_VIRTUAL, &v, NULL);
  usleep(150 * 1000);
  expect_eq("itimer_virtual_not_fired_while_sleeping", fired, 0);
  expect_true("itimer_virtual_fires_after_user_time", burn_until_fired(1));

  struct itimerval periodic = {.it_value = {0, 20 * 1000}, .it_interval = {0, 20 * 1000}}, old;
  fired = 0;
  setitimer(ITIMER_PROF, &periodic, NULL);
  expect_true("itimer_prof_periodic", burn_until_fired(4));
  struct itimerval off = {0};
  expect_eq("setitimer_prof_off", setitimer(ITIMER_PROF, &off, &old), 0);
  expect_true("setitimer_old_interval", old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 20 * 1000);
  signal(SIGPROF, SIG_DFL);
  signal(SIGVTALRM, SIG_DFL);
}

static void posix_cpu_timers(void) {
  signal(SIGUSR1, on_signal);
  struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
  timer_t t;
  expect_eq("timer_create_process_cputime", timer_create(CLOCK_PROCESS_CPUTIME_ID, &sev, &t), 0);
  struct itimerspec its = {.it_value = {0, 50 * MS}}, cur;
  fired = 0;
  expect_eq("timer_settime_process_cputime", timer_settime(t, 0, &its, NULL), 0);
  expect_eq("timer_gettime_process_cputime", timer_gettime(t, &cur), 0);
  expect_true("timer_gettime_within_setting",
              cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 50 * MS);
  expect_true("process_cputime_timer_fires", burn_until_fired(1));
  timer_delete(t);

  expect_eq("timer_create_thread_cputime", timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t), 0);
  /* Absolute: fires once the thread clock reads 30 ms more than now. */
  long long now = clock_ns(CLOCK_THREAD_CPUTIME_ID) + 30 * MS;
  struct itimerspec abs = {.it_value = {now / 1000000000LL, now % 1000000000LL}};
  fired = 0;
  expect_eq("timer_settime_thread_cputime_abstime", timer_settime(t, TIMER_ABSTIME, &abs, NULL), 0);
  expect_true("thread_cputime_timer_fires", burn_until_fired(1));
  timer_delete(t);
  signal(SIGUSR1, SIG_DFL);
}

static void *spinner(void *arg) {
  burn((long)arg);
  return NULL;
}

static void cpu_sleeps(void) {
  struct timespec ts = {0, 10 * MS};
  /* Raw syscalls: glibc rejects the thread clock itself. The thread clock has no
   * sleep at all; an encoded per-thread clock is refused as invalid. */
  expect_errno("clock_nanosleep_thread_cputime",
               syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &ts, NULL), EOPNOTSUPP);
  expect_errno("clock_nanosleep_encoded_thread_clock",
               syscall(SYS_clock_nanosleep, encoded_clock(0, 1, 2), 0, &ts, NULL), EINVAL);
  pthread_t t;
  pthread_create(&t, NULL, spinner, (void *)300L);
  ts.tv_nsec = 30 * MS;
  long long before = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  expect_eq("clock_nanosleep_process_cputime",
            syscall(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, 0, &ts, NULL), 0);
  expect_true("slept_until_process_used_the_time", clock_ns(CLOCK_PROCESS_CPUTIME_ID) - before >= 30 * MS);
  pthread_join(t, NULL);
}

int main(void) {
  clocks_and_usage();
  threads();
  children();
  itimers();
  posix_cpu_timers();
  cpu_sleeps();
  return check_finish();
}
