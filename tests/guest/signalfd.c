/*
 * signalfd: reading blocked signals through a signalfd(2) as Linux does —
 * the record each kind of signal gives, dequeuing, several records per read,
 * changing the set, readiness for poll and epoll, blocking until a signal
 * comes, fork and exec, and the errors of signalfd and signalfd4.
 *
 * Signals another process sends come 50 ms late and are waited for without a
 * timeout (or with one of seconds); nothing depends on timing.
 */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static sigset_t set_of(int a, int b) {
  sigset_t s;
  sigemptyset(&s);
  if (a)
    sigaddset(&s, a);
  if (b)
    sigaddset(&s, b);
  return s;
}

static struct signalfd_siginfo info;

static long read_one(int fd) {
  memset(&info, 0, sizeof info);
  return read(fd, &info, sizeof info);
}

static void records(void) {
  sigset_t s = set_of(SIGUSR1, SIGUSR2);
  sigaddset(&s, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &s, NULL);
  int fd = signalfd(-1, &s, 0);
  expect_ok("signalfd", fd);
  expect_eq("not_cloexec", fcntl(fd, F_GETFD), 0);
  char link[64], path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, link, sizeof link - 1);
  link[n < 0 ? 0 : n] = 0;
  expect_str("fd_link", link, "anon_inode:[signalfd]");

  kill(getpid(), SIGUSR1);
  expect_eq("read_kill", read_one(fd), sizeof info);
  expect_eq("kill_signo", info.ssi_signo, SIGUSR1);
  expect_eq("kill_code", info.ssi_code, SI_USER);
  expect_true("kill_pid", info.ssi_pid == (uint32_t)getpid());
  expect_true("kill_uid", info.ssi_uid == getuid());
  sigset_t pending;
  sigpending(&pending);
  expect_eq("dequeued", sigismember(&pending, SIGUSR1), 0);

  union sigval v = {.sival_int = 42};
  sigqueue(getpid(), SIGRTMIN, v);
  v.sival_int = 43;
  sigqueue(getpid(), SIGRTMIN, v);
  syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
  struct signalfd_siginfo three[3];
  expect_eq("read_three", read(fd, three, sizeof three), 3 * sizeof info);
  expect_eq("first_is_lowest", three[0].ssi_signo, SIGUSR2);
  expect_eq("tkill_code", three[0].ssi_code, SI_TKILL);
  expect_true("tkill_pid", three[0].ssi_pid == (uint32_t)getpid());
  expect_true("rt_signo", three[1].ssi_signo == (uint32_t)SIGRTMIN);
  expect_eq("rt_code", three[1].ssi_code, SI_QUEUE);
  expect_eq("rt_int", three[1].ssi_int, 42);
  expect_eq("rt_second_int", three[2].ssi_int, 43);

  /* More room than signals: what there is, at once. */
  kill(getpid(), SIGUSR1);
  expect_eq("read_fewer_than_room", read(fd, three, sizeof three), sizeof info);
  expect_errno("read_too_small", read(fd, &info, sizeof info - 1), EINVAL);
  expect_errno("write", write(fd, &info, sizeof info), EINVAL);

  /* Only the set is read: SIGUSR2 is left pending when the set changes. */
  sigset_t only1 = set_of(SIGUSR1, 0);
  expect_eq("update_mask_same_fd", signalfd(fd, &only1, 0), fd);
  kill(getpid(), SIGUSR2);
  int nb = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, nb | O_NONBLOCK);
  expect_errno("other_signal_not_read", read_one(fd), EAGAIN);
  sigset_t only2 = set_of(SIGUSR2, 0);
  signalfd(fd, &only2, 0);
  expect_eq("read_after_update", read_one(fd), sizeof info);
  expect_eq("updated_signo", info.ssi_signo, SIGUSR2);
  close(fd);
}

static void readiness(void) {
  sigset_t s = set_of(SIGUSR1, 0);
  int fd = signalfd(-1, &s, SFD_NONBLOCK | SFD_CLOEXEC);
  expect_eq("sfd_cloexec", fcntl(fd, F_GETFD), FD_CLOEXEC);
  expect_eq("sfd_nonblock", fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
  expect_errno("empty_nonblocking", read_one(fd), EAGAIN);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  expect_eq("poll_nothing", poll(&p, 1, 0), 0);
  kill(getpid(), SIGUSR1);
  expect_eq("poll_pending", poll(&p, 1, 0), 1);
  expect_eq("poll_revents", p.revents, POLLIN);
  read_one(fd);

  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
  expect_eq("epoll_add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
  pid_t me = getpid(), child = fork();
  if (child == 0) {
    usleep(50 * 1000);
    kill(me, SIGUSR1);
    _exit(0);
  }
  struct epoll_event got = {0};
  expect_eq("epoll_wakes", epoll_wait(ep, &got, 1, 10000), 1);
  expect_eq("epoll_data", got.data.u32, 7);
  expect_eq("read_after_epoll", read_one(fd), sizeof info);
  waitpid(child, NULL, 0);
  close(ep);

  /* A blocking read sleeps until the signal comes. */
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  child = fork();
  if (child == 0) {
    usleep(50 * 1000);
    kill(me, SIGUSR1);
    _exit(0);
  }
  expect_eq("blocking_read", read_one(fd), sizeof info);
  expect_true("blocking_read_sender", info.ssi_pid == (uint32_t)child);
  waitpid(child, NULL, 0);
  close(fd);
}

static void children(const char *self) {
  /* SIGCHLD, blocked, read as a record with the child's status. */
  sigset_t s = set_of(SIGCHLD, 0);
  sigprocmask(SIG_BLOCK, &s, NULL);
  int fd = signalfd(-1, &s, 0);
  pid_t child = fork();
  if (child == 0)
    _exit(7);
  expect_eq("sigchld_read", read_one(fd), sizeof info);
  expect_eq("sigchld_code", info.ssi_code, CLD_EXITED);
  expect_eq("sigchld_status", info.ssi_status, 7);
  expect_true("sigchld_pid", info.ssi_pid == (uint32_t)child);
  waitpid(child, NULL, 0);
  close(fd);

  /* An inherited signalfd reads the child's own signals. */
  sigset_t u1 = set_of(SIGUSR1, 0);
  fd = signalfd(-1, &u1, 0);
  pid_t parent = getpid();
  kill(parent, SIGUSR1); /* pending in the parent only */
  child = fork();
  if (child == 0) {
    struct signalfd_siginfo i;
    kill(getpid(), SIGUSR1);
    ssize_t n = read(fd, &i, sizeof i);
    _exit(n == sizeof i && i.ssi_pid == (uint32_t)getpid() ? 0 : 1);
  }
  int status;
  waitpid(child, &status, 0);
  expect_eq("fork_child_reads_own", WEXITSTATUS(status), 0);
  expect_eq("parent_still_has_its_own", read_one(fd), sizeof info);
  expect_true("parent_own_pid", info.ssi_pid == (uint32_t)parent);

  /* Across exec, the fd, the blocked mask and the pending signal stay. */
  child = fork();
  if (child == 0) {
    kill(getpid(), SIGUSR1);
    char fdarg[16];
    snprintf(fdarg, sizeof fdarg, "%d", fd);
    execl(self, self, "after-exec", fdarg, (char *)NULL);
    _exit(99);
  }
  waitpid(child, &status, 0);
  expect_eq("exec_child_reads", WEXITSTATUS(status), 0);
  close(fd);
}

static void errors(void) {
  sigset_t s = set_of(SIGUSR1, 0);
  expect_errno("bad_size", syscall(SYS_signalfd4, -1, &s, 4, 0), EINVAL);
  expect_errno("bad_flags", syscall(SYS_signalfd4, -1, &s, 8, 0x1), EINVAL);
  expect_errno("bad_mask_pointer", syscall(SYS_signalfd4, -1, NULL, 8, 0), EFAULT);
  expect_errno("bad_fd", syscall(SYS_signalfd4, 999, &s, 8, 0), EBADF);
  int pipefd[2];
  pipe(pipefd);
  expect_errno("not_a_signalfd", syscall(SYS_signalfd4, pipefd[0], &s, 8, 0), EINVAL);
  int fd = (int)syscall(SYS_signalfd, -1, &s, 8);
  expect_ok("old_signalfd", fd);
  expect_errno("old_signalfd_bad_size", syscall(SYS_signalfd, -1, &s, 16), EINVAL);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "after-exec") == 0) {
    struct signalfd_siginfo i;
    ssize_t n = read(atoi(argv[2]), &i, sizeof i);
    return n == sizeof i && i.ssi_signo == SIGUSR1 ? 0 : 1;
  }
  records();
  readiness();
  children(argv[0]);
  errors();
  return check_finish();
}
