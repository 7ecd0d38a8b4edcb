/*
 * readiness: waiting on file descriptors as Linux does it — poll/ppoll,
 * select/pselect6, eventfd, epoll (level, edge, one-shot, nested, exclusive),
 * timerfd, POSIX timers and pidfds, with the errors each call gives.
 *
 * Every wake-up that depends on another process or thread comes 50 ms late and
 * is waited for with a timeout of seconds; elapsed times are only ever checked
 * as "at least", and counts of timer expirations only as lower bounds.
 */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define MS (1000 * 1000L)

static volatile sig_atomic_t hits, last_code, last_value;

static void on_usr1(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)uc;
  hits++;
  last_code = si->si_code;
  last_value = si->si_value.sival_int;
}

static sigset_t saved_mask, no_signals;

/* Blocks SIGUSR1 and forks a child that sends it 50 ms later: a wait that
 * installs an empty sigmask then fails with EINTR whether the signal arrives
 * before the wait starts (it stays pending) or during it. */
static pid_t usr1_later(void) {
  sigset_t b;
  sigemptyset(&b);
  sigaddset(&b, SIGUSR1);
  sigprocmask(SIG_BLOCK, &b, &saved_mask);
  hits = 0;
  pid_t me = getpid(), p = fork();
  if (p == 0) {
    usleep(50 * 1000);
    kill(me, SIGUSR1);
    _exit(0);
  }
  return p;
}

static void reap(pid_t p) { waitpid(p, NULL, 0); }

/* The mask the wait restored must still block SIGUSR1. */
static void usr1_done(const char *name, pid_t p) {
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  expect_true(name, sigismember(&now, SIGUSR1) == 1);
  reap(p);
  sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

/* Forks a child that writes one byte to fd 50 ms later. */
static pid_t write_later(int fd) {
  pid_t p = fork();
  if (p == 0) {
    usleep(50 * 1000);
    _exit(write(fd, "w", 1) == 1 ? 0 : 1);
  }
  return p;
}

static int revents1(int fd, short events, int timeout) {
  struct pollfd p = {.fd = fd, .events = events};
  return poll(&p, 1, timeout) < 0 ? -1 : p.revents;
}

static void must_pipe(int p[2]) {
  if (pipe(p) != 0)
    exit(2);
}
static void close_pair(int p[2]) {
  close(p[0]);
  close(p[1]);
}
static void put(int fd, const char *s) { (void)!write(fd, s, strlen(s)); }
/* An 8-byte counter read (eventfd, timerfd): the value, or -1 with errno. */
static long get64(int fd) {
  uint64_t v = 0;
  return read(fd, &v, 8) == 8 ? (long)v : -1;
}
static long put64(int fd, uint64_t v) { return write(fd, &v, 8); }
static void drain(int fd) {
  char buf[64];
  (void)!read(fd, buf, sizeof buf);
}
static void closed_pair(int q[2]) { /* two fd numbers that are no longer open */
  must_pipe(q);
  close_pair(q);
}
static long ns_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}
static int its_zero(const struct itimerspec *t) {
  return t->it_value.tv_sec == 0 && t->it_value.tv_nsec == 0 && t->it_interval.tv_sec == 0 &&
         t->it_interval.tv_nsec == 0;
}

static void poll_pipes(void) {
  int p[2], q[2];
  must_pipe(p);
  struct pollfd f[2] = {{.fd = p[0], .events = POLLIN}, {.fd = p[1], .events = POLLOUT}};
  expect_eq("poll_empty_pipe_count", poll(f, 2, 0), 1);
  expect_eq("poll_empty_read_end_revents", f[0].revents, 0);
  expect_eq("poll_write_end_pollout", f[1].revents, POLLOUT);
  expect_eq("poll_timeout_zero_returns_0", poll(f, 1, 0), 0);
  put(p[1], "x");
  expect_eq("poll_read_end_pollin", revents1(p[0], POLLIN | POLLOUT, 0), POLLIN);
  close(p[1]);
  expect_eq("poll_writer_closed_with_data", revents1(p[0], POLLIN, 0), POLLIN | POLLHUP);
  drain(p[0]);
  expect_eq("poll_writer_closed_pollhup", revents1(p[0], POLLIN, 0), POLLHUP);
  expect_eq("poll_pollhup_not_requested", revents1(p[0], 0, 0), POLLHUP);
  close(p[0]);
  must_pipe(p);
  close(p[0]);
  expect_eq("poll_reader_closed_pollerr", revents1(p[1], POLLOUT, 0), POLLOUT | POLLERR);
  close(p[1]);
  closed_pair(q);
  struct pollfd bad[2] = {{.fd = q[0], .events = POLLIN}, {.fd = -1, .events = POLLIN, .revents = 7}};
  expect_eq("poll_closed_fd_counts", poll(bad, 2, 0), 1);
  expect_eq("poll_closed_fd_pollnval", bad[0].revents, POLLNVAL);
  expect_eq("poll_negative_fd_revents_zeroed", bad[1].revents, 0);
  expect_eq("poll_only_negative_fd", poll(&bad[1], 1, 0), 0);
  volatile nfds_t huge = 0xffffffffu; /* volatile: gcc would reject the size */
  expect_errno("poll_nfds_over_rlimit", poll(bad, huge, 0), EINVAL);
  struct timespec bad_ts = {.tv_sec = 0, .tv_nsec = -1}, zero = {0, 0}, five = {5, 0};
  expect_errno("ppoll_bad_timespec", ppoll(bad, 1, &bad_ts, NULL), EINVAL);

  must_pipe(p);
  f[0].fd = p[0];
  expect_eq("ppoll_zero_timespec", ppoll(f, 1, &zero, NULL), 0);
  pid_t w = write_later(p[1]);
  expect_eq("poll_woken_by_child_write", poll(f, 1, 5000), 1);
  expect_eq("poll_woken_revents", f[0].revents, POLLIN);
  reap(w);
  drain(p[0]);
  pid_t k = usr1_later();
  expect_errno("ppoll_sigmask_eintr", ppoll(f, 1, &five, &no_signals), EINTR);
  expect_eq("ppoll_handler_ran", hits, 1);
  usr1_done("ppoll_restored_mask", k);
  close_pair(p);
}

static void select_sets(void) {
  int p[2], q[2];
  must_pipe(p);
  int n = (p[0] > p[1] ? p[0] : p[1]) + 1;
  fd_set r, w;
  struct timeval tv = {0, 0};
  FD_ZERO(&r);
  FD_ZERO(&w);
  FD_SET(p[0], &r);
  FD_SET(p[1], &w);
  expect_eq("select_empty_pipe_count", select(n, &r, &w, NULL, &tv), 1);
  expect_true("select_not_ready_fd_cleared", !FD_ISSET(p[0], &r));
  expect_true("select_write_end_set", FD_ISSET(p[1], &w));
  put(p[1], "x");
  FD_SET(p[0], &r);
  FD_SET(p[1], &w);
  expect_eq("select_readable_and_writable", select(n, &r, &w, NULL, &tv), 2);
  expect_true("select_both_set", FD_ISSET(p[0], &r) && FD_ISSET(p[1], &w));
  drain(p[0]);
  closed_pair(q);
  FD_ZERO(&r);
  FD_SET(q[0], &r);
  expect_errno("select_closed_fd", select(q[0] + 1, &r, NULL, NULL, &tv), EBADF);
  expect_errno("select_negative_nfds", select(-1, NULL, NULL, NULL, &tv), EINVAL);
  tv.tv_usec = -1;
  expect_errno("select_bad_timeval", select(0, NULL, NULL, NULL, &tv), EINVAL);

  FD_ZERO(&r);
  FD_SET(p[0], &r);
  tv = (struct timeval){0, 150 * 1000};
  expect_eq("select_times_out", select(n, &r, NULL, NULL, &tv), 0);
  expect_true("select_timeout_decreased_to_zero", tv.tv_sec == 0 && tv.tv_usec == 0);
  tv = (struct timeval){5, 0};
  FD_SET(p[0], &r); /* the timed-out select cleared it */
  pid_t c = write_later(p[1]);
  expect_eq("select_woken_by_child_write", select(n, &r, NULL, NULL, &tv), 1);
  expect_true("select_timeout_decreased", tv.tv_sec < 5 && tv.tv_sec >= 0 && tv.tv_usec >= 0);
  reap(c);

  struct timespec ts = {0, 0}, five = {5, 0}, bad = {0, 1000 * MS};
  FD_SET(p[1], &w);
  expect_eq("pselect_readable_and_writable", pselect(n, &r, &w, NULL, &ts, NULL), 2);
  drain(p[0]);
  expect_eq("pselect_drained", pselect(n, &r, NULL, NULL, &ts, NULL), 0);
  expect_true("pselect_cleared_set", !FD_ISSET(p[0], &r));
  expect_errno("pselect_bad_timespec", pselect(n, &r, NULL, NULL, &bad, NULL), EINVAL);
  expect_errno("pselect_negative_nfds", pselect(-1, NULL, NULL, NULL, &ts, NULL), EINVAL);
  FD_SET(p[0], &r);
  pid_t k = usr1_later();
  expect_errno("pselect_sigmask_eintr", pselect(n, &r, NULL, NULL, &five, &no_signals), EINTR);
  expect_eq("pselect_handler_ran", hits, 1);
  usr1_done("pselect_restored_mask", k);
  close_pair(p);
}

static void *post_later(void *arg) {
  uint64_t v = 42;
  usleep(50 * 1000);
  (void)!write(*(int *)arg, &v, sizeof v);
  return NULL;
}

static void eventfds(void) {
  uint64_t v = 0;
  int e = eventfd(5, EFD_CLOEXEC);
  expect_ok("eventfd_create", e);
  expect_eq("eventfd_cloexec", fcntl(e, F_GETFD), FD_CLOEXEC);
  expect_eq("eventfd_read_initial", get64(e), 5);
  expect_eq("eventfd_write_3", put64(e, 3), 8);
  expect_eq("eventfd_write_4", put64(e, 4), 8);
  expect_eq("eventfd_read_sum", get64(e), 7);
  expect_errno("eventfd_write_all_ones", put64(e, UINT64_MAX), EINVAL);
  expect_errno("eventfd_read_short_buffer", read(e, &v, 4), EINVAL);
  expect_eq("eventfd_lseek_is_a_noop", lseek(e, 5, SEEK_SET), 0);
  expect_errno("eventfd_write_short_buffer", write(e, &v, 4), EINVAL);
  expect_errno("eventfd_bad_flags", syscall(SYS_eventfd2, 0, 2), EINVAL);

  int n = eventfd(0, EFD_NONBLOCK);
  expect_errno("eventfd_nonblock_read_zero", get64(n), EAGAIN);
  expect_eq("eventfd_poll_zero", revents1(n, POLLIN | POLLOUT, 0), POLLOUT);
  put64(n, 2);
  expect_eq("eventfd_poll_nonzero", revents1(n, POLLIN | POLLOUT, 0), POLLIN | POLLOUT);
  /* The counter's max is 0xfffffffffffffffe. */
  expect_eq("eventfd_write_to_max", put64(n, UINT64_MAX - 3), 8);
  expect_eq("eventfd_poll_at_max", revents1(n, POLLIN | POLLOUT, 0), POLLIN);
  expect_errno("eventfd_write_past_max", put64(n, 1), EAGAIN);
  expect_true("eventfd_read_max", get64(n) == (long)(UINT64_MAX - 1));
  close(n);

  int s = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  expect_eq("eventfd_semaphore_read_1", get64(s), 1);
  expect_eq("eventfd_semaphore_read_2", get64(s), 1);
  expect_eq("eventfd_semaphore_read_3", get64(s), 1);
  expect_errno("eventfd_semaphore_exhausted", get64(s), EAGAIN);
  close(s);

  pthread_t t;
  pthread_create(&t, NULL, post_later, &e);
  expect_eq("eventfd_read_woken_by_thread", get64(e), 42);
  pthread_join(t, NULL);
  close(e);
}

static int ep_ctl(int ep, int op, int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  return epoll_ctl(ep, op, fd, &ev);
}
static int ep_wait0(int ep) {
  struct epoll_event out[4];
  return epoll_wait(ep, out, 4, 0);
}

static void epoll_basics(void) {
  struct epoll_event out[4];
  int p[2], q[2];
  int ep = epoll_create1(0);
  expect_ok("epoll_create1", ep);
  expect_eq("epoll_create1_no_cloexec", fcntl(ep, F_GETFD), 0);
  expect_eq("epoll_lseek_is_a_noop", lseek(ep, 3, SEEK_SET), 0);
  int c = epoll_create1(EPOLL_CLOEXEC);
  expect_eq("epoll_create1_cloexec", fcntl(c, F_GETFD), FD_CLOEXEC);
  close(c);
  expect_errno("epoll_create1_bad_flags", epoll_create1(1), EINVAL);
  expect_errno("epoll_create_zero", epoll_create(0), EINVAL);
  close(expect_ok("epoll_create_one", epoll_create(1)));
  must_pipe(p);
  const uint64_t tag = 0x1122334455667788ULL;
  expect_eq("epoll_ctl_add", ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, tag), 0);
  expect_errno("epoll_ctl_add_twice", ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 0), EEXIST);
  expect_errno("epoll_ctl_mod_not_added", ep_ctl(ep, EPOLL_CTL_MOD, p[1], EPOLLOUT, 0), ENOENT);
  expect_errno("epoll_ctl_del_not_added", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL), ENOENT);
  closed_pair(q);
  expect_errno("epoll_ctl_closed_fd", ep_ctl(ep, EPOLL_CTL_ADD, q[0], EPOLLIN, 0), EBADF);
  expect_errno("epoll_ctl_closed_epfd", ep_ctl(q[0], EPOLL_CTL_ADD, p[0], EPOLLIN, 0), EBADF);
  expect_errno("epoll_ctl_epfd_not_epoll", ep_ctl(p[1], EPOLL_CTL_ADD, p[0], EPOLLIN, 0), EINVAL);
  expect_errno("epoll_ctl_add_self", ep_ctl(ep, EPOLL_CTL_ADD, ep, EPOLLIN, 0), EINVAL);
  expect_errno("epoll_ctl_bad_op", ep_ctl(ep, 99, p[0], EPOLLIN, 0), EINVAL);
  int file = open("/etc/os-release", O_RDONLY);
  expect_errno("epoll_ctl_regular_file", ep_ctl(ep, EPOLL_CTL_ADD, file, EPOLLIN, 0), EPERM);
  close(file);

  expect_eq("epoll_wait_timeout_zero", ep_wait0(ep), 0);
  put(p[1], "x");
  memset(out, 0, sizeof out);
  expect_eq("epoll_level_reported", epoll_wait(ep, out, 4, 0), 1);
  expect_eq("epoll_level_events", out[0].events, EPOLLIN);
  expect_true("epoll_data_u64_round_trip", out[0].data.u64 == tag);
  expect_eq("epoll_level_reported_again", ep_wait0(ep), 1);
  drain(p[0]);
  expect_eq("epoll_level_drained", ep_wait0(ep), 0);

  expect_eq("epoll_ctl_mod_edge", ep_ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLET, 7), 0);
  put(p[1], "x");
  expect_eq("epoll_edge_reported", epoll_wait(ep, out, 4, 0), 1);
  expect_eq("epoll_edge_data_after_mod", (long)out[0].data.u64, 7);
  expect_eq("epoll_edge_not_repeated", ep_wait0(ep), 0);
  put(p[1], "x");
  expect_eq("epoll_edge_new_write", ep_wait0(ep), 1);
  expect_eq("epoll_edge_once_per_write", ep_wait0(ep), 0);
  drain(p[0]);

  expect_eq("epoll_ctl_mod_oneshot", ep_ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 8), 0);
  put(p[1], "x");
  expect_eq("epoll_oneshot_reported", ep_wait0(ep), 1);
  expect_eq("epoll_oneshot_disarmed", ep_wait0(ep), 0);
  expect_eq("epoll_oneshot_rearm", ep_ctl(ep, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLONESHOT, 8), 0);
  expect_eq("epoll_oneshot_rearmed_reported", ep_wait0(ep), 1);
  expect_eq("epoll_ctl_del", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
  expect_errno("epoll_ctl_del_twice", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT);
  expect_eq("epoll_deleted_not_reported", ep_wait0(ep), 0);
  drain(p[0]);

  expect_errno("epoll_wait_maxevents_zero", epoll_wait(ep, out, 0, 0), EINVAL);
  volatile int negative = -1;
  expect_errno("epoll_wait_maxevents_negative", epoll_wait(ep, out, negative, 0), EINVAL);
  expect_errno("epoll_wait_not_epoll", epoll_wait(p[0], out, 4, 0), EINVAL);
  expect_errno("epoll_wait_closed_fd", epoll_wait(q[0], out, 4, 0), EBADF);

  ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 9);
  pid_t w = write_later(p[1]);
  expect_eq("epoll_wait_woken_by_child_write", epoll_wait(ep, out, 4, 5000), 1);
  expect_eq("epoll_woken_data", (long)out[0].data.u64, 9);
  reap(w);
  drain(p[0]);
  pid_t k = usr1_later();
  expect_errno("epoll_pwait_sigmask_eintr", epoll_pwait(ep, out, 4, 5000, &no_signals), EINTR);
  expect_eq("epoll_pwait_handler_ran", hits, 1);
  usr1_done("epoll_pwait_restored_mask", k);

  struct timespec t0, ts = {0, 100 * MS}, bad = {0, -1}, five = {5, 0};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  expect_eq("epoll_pwait2_times_out", epoll_pwait2(ep, out, 4, &ts, NULL), 0);
  expect_true("epoll_pwait2_waited_at_least_100ms", ns_since(&t0) >= 100 * MS);
  put(p[1], "x");
  expect_eq("epoll_pwait2_ready", epoll_pwait2(ep, out, 4, &five, NULL), 1);
  expect_errno("epoll_pwait2_bad_timespec", epoll_pwait2(ep, out, 4, &bad, NULL), EINVAL);
  close_pair(p);
  close(ep);
}

static void epoll_lifetimes(void) {
  struct epoll_event out[4];
  int p[2];
  int ep = epoll_create1(0);
  must_pipe(p);
  put(p[1], "x");
  ep_ctl(ep, EPOLL_CTL_ADD, p[0], EPOLLIN, 1);
  int d = dup(p[0]);
  close(p[0]);
  expect_eq("epoll_reports_while_dup_open", ep_wait0(ep), 1);
  expect_errno("epoll_ctl_del_closed_number", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), EBADF);
  close(d);
  expect_eq("epoll_last_close_removes_fd", ep_wait0(ep), 0);
  close(p[1]);
  close(ep);

  int inner = epoll_create1(0), outer = epoll_create1(0);
  must_pipe(p);
  ep_ctl(inner, EPOLL_CTL_ADD, p[0], EPOLLIN, 1);
  expect_eq("epoll_nested_add", ep_ctl(outer, EPOLL_CTL_ADD, inner, EPOLLIN, 5), 0);
  expect_errno("epoll_nested_loop", ep_ctl(inner, EPOLL_CTL_ADD, outer, EPOLLIN, 0), ELOOP);
  expect_eq("epoll_nested_idle", ep_wait0(outer), 0);
  expect_eq("epoll_nested_poll_idle", revents1(inner, POLLIN, 0), 0);
  put(p[1], "x");
  memset(out, 0, sizeof out);
  expect_eq("epoll_nested_ready", epoll_wait(outer, out, 4, 0), 1);
  expect_eq("epoll_nested_events", out[0].events, EPOLLIN);
  expect_eq("epoll_nested_data", (long)out[0].data.u64, 5);
  expect_eq("epoll_nested_poll_pollin", revents1(inner, POLLIN, 0), POLLIN);
  drain(p[0]);
  expect_eq("epoll_nested_idle_after_drain", ep_wait0(outer), 0);

  int ex = epoll_create1(0);
  expect_eq("epollexclusive_add", ep_ctl(ex, EPOLL_CTL_ADD, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0), 0);
  expect_errno("epollexclusive_mod", ep_ctl(ex, EPOLL_CTL_MOD, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0), EINVAL);
  expect_errno("epollexclusive_entry_mod", ep_ctl(ex, EPOLL_CTL_MOD, p[0], EPOLLIN, 0), EINVAL);
  expect_errno("epollexclusive_with_oneshot",
               ep_ctl(ex, EPOLL_CTL_ADD, p[1], EPOLLOUT | EPOLLEXCLUSIVE | EPOLLONESHOT, 0), EINVAL);
  expect_errno("epollexclusive_epoll_target", ep_ctl(ex, EPOLL_CTL_ADD, inner, EPOLLIN | EPOLLEXCLUSIVE, 0),
               EINVAL);
  put(p[1], "x");
  expect_eq("epollexclusive_reported", ep_wait0(ex), 1);
  close(ex);
  close(inner);
  close(outer);
  close_pair(p);
}

static void timerfds(void) {
  struct itimerspec cur, off = {{0, 0}, {0, 0}};
  int p[2];
  int t = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  expect_ok("timerfd_create", t);
  expect_eq("timerfd_cloexec", fcntl(t, F_GETFD), FD_CLOEXEC);
  expect_eq("timerfd_lseek_is_a_noop", lseek(t, 7, SEEK_SET), 0);
  expect_true("timerfd_nonblock", (fcntl(t, F_GETFL) & O_NONBLOCK) != 0);
  expect_errno("timerfd_read_disarmed", get64(t), EAGAIN);
  expect_eq("timerfd_gettime_disarmed", timerfd_gettime(t, &cur), 0);
  expect_true("timerfd_disarmed_is_zero", its_zero(&cur));

  struct itimerspec it = {.it_value = {10, 0}};
  expect_eq("timerfd_settime_10s", timerfd_settime(t, 0, &it, NULL), 0);
  expect_errno("timerfd_read_unexpired", get64(t), EAGAIN);
  expect_eq("timerfd_poll_unexpired", revents1(t, POLLIN, 0), 0);
  timerfd_gettime(t, &cur);
  expect_true("timerfd_gettime_running", cur.it_value.tv_sec >= 9 && cur.it_value.tv_sec <= 10);
  expect_errno("timerfd_read_short_buffer", read(t, &cur, 4), EINVAL);

  it.it_value = (struct timespec){0, 50 * MS};
  expect_eq("timerfd_settime_50ms", timerfd_settime(t, 0, &it, &cur), 0);
  expect_true("timerfd_settime_old_value", cur.it_value.tv_sec >= 9);
  usleep(200 * 1000);
  expect_eq("timerfd_poll_expired", revents1(t, POLLIN, 2000), POLLIN);
  expect_eq("timerfd_one_expiration", get64(t), 1);
  expect_errno("timerfd_read_again", get64(t), EAGAIN);
  timerfd_gettime(t, &cur);
  expect_true("timerfd_one_shot_disarmed_after", its_zero(&cur));

  it = (struct itimerspec){{0, 20 * MS}, {0, 20 * MS}};
  timerfd_settime(t, 0, &it, NULL);
  usleep(300 * 1000);
  expect_true("timerfd_interval_at_least_5", get64(t) >= 5);
  timerfd_gettime(t, &cur);
  expect_true("timerfd_interval_reported", cur.it_interval.tv_nsec == 20 * MS);
  expect_eq("timerfd_disarm", timerfd_settime(t, 0, &off, NULL), 0);
  timerfd_gettime(t, &cur);
  expect_true("timerfd_disarmed_again_zero", its_zero(&cur));

  it = (struct itimerspec){{0, 0}, {0, 0}};
  clock_gettime(CLOCK_MONOTONIC, &it.it_value); /* already past when the call runs */
  expect_eq("timerfd_abstime_past", timerfd_settime(t, TFD_TIMER_ABSTIME, &it, NULL), 0);
  expect_eq("timerfd_abstime_poll", revents1(t, POLLIN, 2000), POLLIN);
  expect_eq("timerfd_abstime_expirations", get64(t), 1);

  expect_errno("timerfd_bad_clock", timerfd_create(12345, 0), EINVAL);
  expect_errno("timerfd_cputime_clock", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
  expect_errno("timerfd_bad_flags", timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
  expect_errno("timerfd_settime_bad_flags", timerfd_settime(t, 4, &it, NULL), EINVAL);
  it.it_value.tv_nsec = 1000 * MS;
  expect_errno("timerfd_settime_bad_nsec", timerfd_settime(t, 0, &it, NULL), EINVAL);
  must_pipe(p);
  expect_errno("timerfd_settime_not_timerfd", timerfd_settime(p[0], 0, &off, NULL), EINVAL);
  close_pair(p);
  close(t);
}

static void posix_timers(void) {
  struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1, .sigev_value.sival_int = 4242};
  timer_t tm;
  struct itimerspec cur, it = {.it_value = {0, 50 * MS}};
  expect_eq("timer_create_sigev_signal", timer_create(CLOCK_MONOTONIC, &sev, &tm), 0);
  hits = last_code = last_value = 0;
  expect_eq("timer_settime_50ms", timer_settime(tm, 0, &it, NULL), 0);
  for (int i = 0; i < 100 && !hits; i++)
    usleep(10 * 1000);
  expect_eq("timer_handler_ran_once", hits, 1);
  expect_eq("timer_si_code_si_timer", last_code, SI_TIMER);
  expect_eq("timer_si_value", last_value, 4242);
  expect_eq("timer_gettime_after_expiry", timer_gettime(tm, &cur), 0);
  expect_true("timer_gettime_after_expiry_zero", its_zero(&cur));
  expect_eq("timer_getoverrun", timer_getoverrun(tm), 0);
  it.it_value.tv_nsec = 1000 * MS;
  expect_errno("timer_settime_bad_nsec", timer_settime(tm, 0, &it, NULL), EINVAL);
  expect_eq("timer_delete", timer_delete(tm), 0);
  it.it_value = (struct timespec){1, 0};
  expect_errno("timer_settime_deleted", timer_settime(tm, 0, &it, NULL), EINVAL);
  expect_errno("timer_delete_twice", timer_delete(tm), EINVAL);

  sev.sigev_notify = SIGEV_NONE;
  expect_errno("timer_create_bad_clock", timer_create(12345, &sev, &tm), EINVAL);
  expect_eq("timer_create_sigev_none", timer_create(CLOCK_MONOTONIC, &sev, &tm), 0);
  it.it_value = (struct timespec){10, 0};
  timer_settime(tm, 0, &it, NULL);
  timer_gettime(tm, &cur);
  expect_true("timer_sigev_none_running", cur.it_value.tv_sec >= 9 && cur.it_value.tv_sec <= 10);
  expect_eq("timer_sigev_none_delete", timer_delete(tm), 0);
}

static void pidfds(void) {
  int go[2];
  siginfo_t si;
  must_pipe(go);
  pid_t c = fork();
  if (c == 0) {
    char b;
    close(go[1]);
    (void)!read(go[0], &b, 1);
    _exit(3);
  }
  close(go[0]);
  int pf = syscall(SYS_pidfd_open, c, 0);
  expect_ok("pidfd_open_child", pf);
  expect_eq("pidfd_cloexec", fcntl(pf, F_GETFD), FD_CLOEXEC);
  expect_eq("pidfd_poll_running", revents1(pf, POLLIN, 0), 0);
  int nb = syscall(SYS_pidfd_open, c, O_NONBLOCK);
  expect_errno("waitid_pidfd_nonblock_running", waitid(P_PIDFD, nb, &si, WEXITED), EAGAIN);
  close(nb);
  expect_eq("pidfd_send_signal_zero", syscall(SYS_pidfd_send_signal, pf, 0, NULL, 0), 0);
  close(go[1]); /* the child reads EOF and exits 3 */
  expect_eq("pidfd_poll_readable_on_exit", revents1(pf, POLLIN, 5000), POLLIN);
  memset(&si, 0, sizeof si);
  expect_eq("waitid_pidfd_reaps", waitid(P_PIDFD, pf, &si, WEXITED), 0);
  expect_eq("waitid_pidfd_code", si.si_code, CLD_EXITED);
  expect_eq("waitid_pidfd_status", si.si_status, 3);
  expect_true("waitid_pidfd_pid_is_child", si.si_pid == c);
  expect_errno("waitid_pidfd_after_reap", waitid(P_PIDFD, pf, &si, WEXITED), ECHILD);
  expect_errno("pidfd_send_signal_reaped", syscall(SYS_pidfd_send_signal, pf, SIGTERM, NULL, 0), ESRCH);
  close(pf);
  expect_errno("pidfd_open_reaped_pid", syscall(SYS_pidfd_open, c, 0), ESRCH);

  c = fork();
  if (c == 0)
    for (;;)
      pause();
  pf = syscall(SYS_pidfd_open, c, 0);
  expect_eq("pidfd_send_signal_sigterm", syscall(SYS_pidfd_send_signal, pf, SIGTERM, NULL, 0), 0);
  memset(&si, 0, sizeof si);
  expect_eq("waitid_pidfd_killed", waitid(P_PIDFD, pf, &si, WEXITED), 0);
  expect_eq("waitid_pidfd_killed_code", si.si_code, CLD_KILLED);
  expect_eq("waitid_pidfd_killed_signal", si.si_status, SIGTERM);
  close(pf);

  pf = syscall(SYS_pidfd_open, getpid(), 0);
  expect_ok("pidfd_open_self", pf);
  expect_errno("pidfd_send_signal_bad_flags", syscall(SYS_pidfd_send_signal, pf, 0, NULL, 0x100), EINVAL);
  expect_errno("waitid_pidfd_of_self", waitid(P_PIDFD, pf, &si, WEXITED | WNOHANG), ECHILD);
  close(pf);
  expect_errno("pidfd_open_bad_flags", syscall(SYS_pidfd_open, getpid(), 1), EINVAL);
  expect_errno("pidfd_open_pid_zero", syscall(SYS_pidfd_open, 0, 0), EINVAL);
  must_pipe(go);
  expect_errno("pidfd_send_signal_not_pidfd", syscall(SYS_pidfd_send_signal, go[0], 0, NULL, 0), EBADF);
  expect_errno("waitid_pidfd_not_pidfd", waitid(P_PIDFD, go[0], &si, WEXITED), EBADF);
  close_pair(go);
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO}; /* no SA_RESTART */
  sigaction(SIGUSR1, &sa, NULL);
  sigemptyset(&no_signals);
  poll_pipes();
  select_sets();
  eventfds();
  epoll_basics();
  epoll_lifetimes();
  timerfds();
  posix_timers();
  pidfds();
  return check_finish();
}
