/*
 * mqueue: POSIX message queues — priorities, blocking and non-blocking sends and
 * receives between processes, timeouts, poll readiness, mq_notify and the errno
 * cases. Natively the queues are the host's, so names carry the pid and every
 * queue is unlinked again.
 */
#include "check.h"

#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char qname[64];

static pid_t spawn(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p < 0) {
    perror("fork");
    exit(2);
  }
  if (p == 0)
    check_failures = 0;
  return p;
}

static int reap(pid_t p) {
  int st;
  if (waitpid(p, &st, 0) != p) {
    perror("waitpid");
    exit(2);
  }
  return st;
}

static void receive(const char *name, mqd_t q, size_t len) {
  char buf[9000];
  unsigned prio = 0;
  ssize_t n = mq_receive(q, buf, len, &prio);
  if (n < 0)
    check(name, n);
  else
    say(name, "%zd bytes, prio %u, %s", n, prio, quoted(buf, (size_t)n));
}

static volatile sig_atomic_t notified;
static volatile int notified_code, notified_value;

static void on_notify(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  notified = 1;
  notified_code = si->si_code;
  notified_value = si->si_value.sival_int;
}

static struct timespec in_ms(long ms) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  t.tv_nsec += ms * 1000000;
  t.tv_sec += t.tv_nsec / 1000000000;
  t.tv_nsec %= 1000000000;
  return t;
}

static void run(void) {
  expect_errno("mq_open absent", mq_open(qname, O_RDWR), ENOENT);
  struct mq_attr attr = {0, 4, 64, 0, {0}};
  mqd_t q = mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
  if (expect_ok("mq_open O_CREAT|O_EXCL", q) < 0)
    return;
  expect_errno("mq_open O_EXCL again", mq_open(qname, O_RDWR | O_CREAT | O_EXCL, 0600, &attr),
               EEXIST);
  struct mq_attr bad = {0, 0, 64, 0, {0}};
  char other[80];
  snprintf(other, sizeof other, "%s-bad", qname);
  expect_errno("mq_open maxmsg 0", mq_open(other, O_RDWR | O_CREAT, 0600, &bad), EINVAL);
  expect_errno("mq_open name with slash", mq_open("/a/b", O_RDWR | O_CREAT, 0600, NULL), EACCES);
  struct mq_attr got;
  expect_eq("mq_getattr", mq_getattr(q, &got), 0);
  say("attributes", "maxmsg %ld msgsize %ld curmsgs %ld flags %ld", got.mq_maxmsg, got.mq_msgsize,
      got.mq_curmsgs, got.mq_flags);
  struct stat st;
  expect_eq("fstat", fstat(q, &st), 0);
  expect_eq("fstat mode", st.st_mode & 0777, 0600);

  expect_eq("send prio 1", mq_send(q, "one", 3, 1), 0);
  expect_eq("send prio 5", mq_send(q, "five", 4, 5), 0);
  expect_eq("send prio 1 again", mq_send(q, "uno", 3, 1), 0);
  expect_errno("send too long", mq_send(q, "0123456789012345678901234567890123456789012345678901234567890123456789", 70, 0), EMSGSIZE);
  expect_errno("send prio too high", mq_send(q, "x", 1, 32768), EINVAL);
  mq_getattr(q, &got);
  expect_eq("curmsgs", got.mq_curmsgs, 3);
  struct pollfd pfd = {q, POLLIN | POLLOUT, 0};
  expect_eq("poll with messages and room", poll(&pfd, 1, 0), 1);
  expect_eq("revents", pfd.revents, POLLIN | POLLOUT);
  receive("receive buffer too small", q, 10);
  receive("highest priority first", q, 64);
  receive("then the oldest of prio 1", q, 64);
  receive("then the other", q, 64);

  /* Non-blocking and timed operations. */
  struct mq_attr nb = {O_NONBLOCK, 0, 0, 0, {0}};
  expect_eq("mq_setattr O_NONBLOCK", mq_setattr(q, &nb, NULL), 0);
  receive("receive empty, O_NONBLOCK", q, 64);
  for (int i = 0; i < 4; i++)
    mq_send(q, "fill", 4, 0);
  expect_errno("send full, O_NONBLOCK", mq_send(q, "x", 1, 0), EAGAIN);
  pfd.revents = 0;
  poll(&pfd, 1, 0);
  expect_eq("revents when full", pfd.revents, POLLIN);
  nb.mq_flags = 0;
  mq_setattr(q, &nb, NULL);
  struct timespec t = in_ms(20);
  expect_errno("timed send on a full queue", mq_timedsend(q, "x", 1, 0, &t), ETIMEDOUT);
  t.tv_nsec = 2000000000;
  expect_errno("timed send, bad timeout", mq_timedsend(q, "x", 1, 0, &t), EINVAL);
  for (int i = 0; i < 4; i++)
    mq_receive(q, (char[64]){0}, 64, NULL);
  t = in_ms(20);
  char buf[64];
  expect_errno("timed receive on an empty queue", mq_timedreceive(q, buf, 64, NULL, &t), ETIMEDOUT);

  /* A receiver in another process blocks until a message comes. */
  pid_t c = spawn();
  if (c == 0) {
    mqd_t cq = mq_open(qname, O_RDONLY);
    receive("child's blocking receive", cq, 64);
    fflush(stdout);
    _exit(check_failures ? 1 : 0);
  }
  /* The child reports before it exits; the parent only after reaping it. */
  long r = mq_send(q, "hi child", 8, 3);
  int status = reap(c);
  expect_eq("send to the child", r, 0);
  expect_eq("child ok", status, 0);

  /* mq_notify: a signal for the first message on an empty queue. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_notify;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR1;
  ev.sigev_value.sival_int = 42;
  expect_eq("mq_notify", mq_notify(q, &ev), 0);
  expect_errno("mq_notify twice", mq_notify(q, &ev), EBUSY);
  c = spawn();
  if (c == 0) {
    mqd_t cq = mq_open(qname, O_WRONLY);
    mq_send(cq, "ping", 4, 0);
    _exit(0);
  }
  reap(c);
  sigset_t none;
  sigemptyset(&none);
  while (!notified)
    sigsuspend(&none);
  expect_true("notified", notified);
  expect_eq("si_code SI_MESGQ", notified_code, SI_MESGQ);
  expect_eq("si_value", notified_value, 42);
  expect_eq("registration is used up", mq_notify(q, &ev), 0);
  expect_eq("mq_notify NULL unregisters", mq_notify(q, NULL), 0);
  receive("the ping", q, 64);

  expect_errno("mq_send on a read-only descriptor", mq_send(mq_open(qname, O_RDONLY), "x", 1, 0),
               EBADF);
  expect_errno("mq_send on a non-queue fd", mq_send(1, "x", 1, 0), EBADF);
  expect_eq("mq_unlink", mq_unlink(qname), 0);
  expect_errno("mq_unlink again", mq_unlink(qname), ENOENT);
  expect_eq("descriptor still works after unlink", mq_send(q, "still", 5, 0), 0);
  receive("and receives", q, 64);
  expect_errno("mq_open after unlink", mq_open(qname, O_RDWR), ENOENT);
  mq_close(q);
}

int main(void) {
  snprintf(qname, sizeof qname, "/moat-mqueue-test-%d", getpid());
  run();
  mq_unlink(qname);
  return check_finish();
}
