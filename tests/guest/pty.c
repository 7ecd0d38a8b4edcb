/*
 * pty: pseudo-terminals as Linux has them — /dev/ptmx and /dev/pts/N through
 * glibc (posix_openpt, grantpt, unlockpt, ptsname, openpty), the n_tty line
 * discipline (canonical editing, echo, VMIN/VTIME, output processing), and the
 * job control of a controlling terminal (^C/^Z to the foreground group,
 * SIGWINCH, TIOCSPGRP, /dev/tty, SIGTTIN/SIGTTOU for background groups,
 * hangup when the master closes).
 *
 * Each pair is fresh for what it tests. Job control runs in forked children
 * that make their own session; they tell the parent they are ready through a
 * pipe. Reads of data a pty has yet to pass on simply block until it comes,
 * with a poll guard so that a broken pty fails instead of hanging.
 */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(2);
}

/* A fresh, unlocked pair; the replica opened with O_NOCTTY. */
static void new_pair(int *m, int *s) {
  if (openpty(m, s, NULL, NULL, NULL) != 0)
    die("openpty");
}

/* Reads exactly n bytes (a guard of 5 s per byte turns a hang into a short
 * read). */
static int read_n(int fd, char *buf, int n) {
  int got = 0;
  while (got < n) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1)
      break;
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0)
      break;
    got += r;
  }
  return got;
}

/* Checks that the next `want` bytes the master reads are exactly these. */
static void expect_master(const char *name, int m, const char *want) {
  char buf[256];
  int n = (int)strlen(want);
  int got = read_n(m, buf, n);
  printf("%s: %s\n", name, quoted(buf, got));
  if (got != n || memcmp(buf, want, n) != 0)
    check_fail(name, quoted(buf, got), want);
}

static void put(int fd, const char *s) {
  if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
    die("write");
}

static void set_lflag(int s, tcflag_t on, tcflag_t off) {
  struct termios t;
  if (tcgetattr(s, &t) != 0)
    die("tcgetattr");
  t.c_lflag = (t.c_lflag | on) & ~off;
  if (tcsetattr(s, TCSANOW, &t) != 0)
    die("tcsetattr");
}

static void set_raw(int s, int vmin, int vtime) {
  struct termios t;
  if (tcgetattr(s, &t) != 0)
    die("tcgetattr");
  t.c_lflag &= ~(ICANON | ECHO);
  t.c_cc[VMIN] = vmin;
  t.c_cc[VTIME] = vtime;
  if (tcsetattr(s, TCSANOW, &t) != 0)
    die("tcsetattr");
}

static void allocation(void) {
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  expect_ok("posix_openpt", m);
  expect_eq("grantpt", grantpt(m), 0);
  int n = -1;
  expect_eq("TIOCGPTN", ioctl(m, TIOCGPTN, &n), 0);
  char *name = ptsname(m);
  char want[64];
  snprintf(want, sizeof want, "/dev/pts/%d", n);
  expect_true("ptsname is /dev/pts/TIOCGPTN", name && strcmp(name, want) == 0);
  expect_errno("open locked replica", open(want, O_RDWR | O_NOCTTY), EIO);
  int lock = 0;
  expect_eq("TIOCGPTLCK locked", (ioctl(m, TIOCGPTLCK, &lock), lock), 1);
  expect_eq("unlockpt", unlockpt(m), 0);
  int s = open(want, O_RDWR | O_NOCTTY);
  expect_ok("open unlocked replica", s);
  struct stat st;
  expect_eq("stat replica", stat(want, &st), 0);
  expect_true("replica is a char device", S_ISCHR(st.st_mode));
  expect_eq("replica major", major(st.st_rdev), 136);
  expect_true("replica minor is its number", (int)minor(st.st_rdev) == n);
  expect_true("replica owned by opener", st.st_uid == geteuid());
  expect_true("replica rw for owner, not for others", (st.st_mode & 0606) == 0600);
  struct stat fst;
  expect_eq("fstat replica", fstat(s, &fst), 0);
  expect_true("fstat matches stat", fst.st_ino == st.st_ino && fst.st_rdev == st.st_rdev);
  expect_true("isatty(replica)", isatty(s));
  expect_true("isatty(master)", isatty(m));
  char tn[64];
  expect_eq("ttyname_r", ttyname_r(s, tn, sizeof tn), 0);
  expect_true("ttyname is ptsname", strcmp(tn, want) == 0);
  int peer = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  expect_ok("TIOCGPTPEER", peer);
  expect_eq("ttyname_r(peer)", ttyname_r(peer, tn, sizeof tn), 0);
  expect_true("peer's ttyname", strcmp(tn, want) == 0);
  expect_errno("TIOCGPTPEER on replica", ioctl(s, TIOCGPTPEER, O_RDWR), EIO);
  expect_errno("TIOCGPTN on replica", ioctl(s, TIOCGPTN, &n), ENOTTY);
  close(peer);
  /* The number stays taken while the replica is open, but the name goes with
   * the master. */
  close(m);
  expect_errno("replica gone with its master", stat(want, &st), ENOENT);
  close(s);
  struct stat ptmx;
  expect_eq("stat /dev/ptmx", stat("/dev/ptmx", &ptmx), 0);
  expect_true("/dev/ptmx is 5,2",
              S_ISCHR(ptmx.st_mode) && major(ptmx.st_rdev) == 5 && minor(ptmx.st_rdev) == 2);
  int fd = open("/dev/pts/ptmx", O_RDWR);
  expect_true("/dev/pts/ptmx is there", fd >= 0 || errno == EACCES);
  if (fd >= 0)
    close(fd);
}

static void canonical(void) {
  int m, s;
  new_pair(&m, &s);
  char buf[64];
  put(m, "hello\r");
  int n = read(s, buf, sizeof buf);
  printf("canonical read: %s\n", quoted(buf, n > 0 ? n : 0));
  expect_master("echo with ICRNL and ONLCR", m, "hello\r\n");
  put(m, "abx\x7f" "c\n");
  n = read(s, buf, sizeof buf);
  printf("after erase: %s\n", quoted(buf, n > 0 ? n : 0));
  expect_master("erase echo", m, "abx\b \bc\r\n");
  put(m, "junk\x15ok\n");
  n = read(s, buf, sizeof buf);
  printf("after kill: %s\n", quoted(buf, n > 0 ? n : 0));
  expect_master("kill echo", m, "junk\b \b\b \b\b \b\b \bok\r\n");
  put(m, "one two\x17three\n");
  n = read(s, buf, sizeof buf);
  printf("after werase: %s\n", quoted(buf, n > 0 ? n : 0));
  expect_master("werase echo", m, "one two\b \b\b \b\b \bthree\r\n");
  put(m, "a\x01z\n");
  n = read(s, buf, sizeof buf);
  printf("control char read: %s\n", quoted(buf, n > 0 ? n : 0));
  expect_master("control char echoed as ^A", m, "a^Az\r\n");
  /* A line longer than the buffer comes in pieces; one read never crosses a line. */
  put(m, "abcdef\nxy\n");
  expect_eq("partial line read", read(s, buf, 4), 4);
  expect_eq("rest of the line", read(s, buf, sizeof buf), 3);
  expect_eq("next line", read(s, buf, sizeof buf), 3);
  expect_master("echo of two lines", m, "abcdef\r\nxy\r\n");
  put(m, "\x04");
  expect_eq("VEOF on an empty line reads 0", read(s, buf, sizeof buf), 0);
  put(m, "ab\x04");
  expect_eq("VEOF ends a line without itself", read(s, buf, sizeof buf), 2);
  expect_master("VEOF is not echoed", m, "ab");
  put(m, "ab\ncd");
  int avail = -1;
  /* The second line is incomplete: FIONREAD counts the complete one. */
  expect_eq("read line before FIONREAD", read(s, buf, 1), 1);
  expect_eq("FIONREAD canonical", (ioctl(s, FIONREAD, &avail), avail), 2);
  expect_master("echo so far", m, "ab\r\ncd");
  expect_eq("TCFLSH input", tcflush(s, TCIFLUSH), 0);
  expect_eq("FIONREAD after flush", (ioctl(s, FIONREAD, &avail), avail), 0);
  int outq = -1;
  expect_eq("TIOCOUTQ", (ioctl(s, TIOCOUTQ, &outq), outq), 0);
  /* Echo off: the next byte the master sees is what the replica writes. */
  set_lflag(s, 0, ECHO);
  put(m, "quiet\n");
  n = read(s, buf, sizeof buf);
  printf("echo off read: %s\n", quoted(buf, n > 0 ? n : 0));
  put(s, "Z");
  expect_master("no echo", m, "Z");
  set_lflag(s, ECHONL, 0);
  put(m, "nl\n");
  n = read(s, buf, sizeof buf);
  expect_master("ECHONL echoes only the newline", m, "\r\n");
  close(s);
  close(m);
}

static void raw_modes(void) {
  int m, s;
  new_pair(&m, &s);
  char buf[64];
  set_raw(s, 0, 0);
  expect_eq("VMIN 0 VTIME 0, nothing there", read(s, buf, sizeof buf), 0);
  set_raw(s, 3, 0);
  put(m, "xyz");
  expect_eq("VMIN 3 waits for 3", read(s, buf, sizeof buf), 3);
  set_raw(s, 0, 1);
  expect_eq("VMIN 0 VTIME 1 times out with 0", read(s, buf, sizeof buf), 0);
  set_raw(s, 5, 1);
  put(m, "ab");
  expect_eq("VMIN 5 VTIME 1 returns what came", read(s, buf, sizeof buf), 2);
  set_raw(s, 1, 0);
  put(m, "\rq");
  expect_eq("raw read gets 2 bytes", read_n(s, buf, 2), 2);
  printf("raw input (ICRNL on): %s\n", quoted(buf, 2));
  /* Output processing: ONLCR turns \n into \r\n; without OPOST bytes pass as-is. */
  put(s, "a\nb\n");
  expect_master("ONLCR", m, "a\r\nb\r\n");
  struct termios t;
  tcgetattr(s, &t);
  t.c_oflag &= ~OPOST;
  tcsetattr(s, TCSANOW, &t);
  put(s, "c\nd\n");
  expect_master("no OPOST", m, "c\nd\n");
  /* poll: the replica is readable once bytes are there; both ends writable. */
  struct pollfd p[2] = {{s, POLLIN | POLLOUT, 0}, {m, POLLIN | POLLOUT, 0}};
  expect_eq("poll both", poll(p, 2, 0), 2);
  printf("replica revents: %#x master revents: %#x\n", p[0].revents, p[1].revents);
  put(m, "k");
  p[0].events = POLLIN;
  expect_eq("replica readable", poll(p, 1, 5000), 1);
  printf("replica revents: %#x\n", p[0].revents);
  int avail = -1;
  expect_eq("FIONREAD raw", (ioctl(s, FIONREAD, &avail), avail), 1);
  close(s);
  /* The replica closed: the master sees hangup and reads EIO. */
  struct pollfd pm = {m, POLLIN, 0};
  expect_eq("master poll after replica close", poll(&pm, 1, 5000), 1);
  printf("master revents: %#x\n", pm.revents);
  expect_errno("master read after replica close", read(m, buf, sizeof buf), EIO);
  close(m);
}

/* A child in its own session with the pty as controlling terminal (acquired
 * by opening the replica without O_NOCTTY). It writes a byte to `ready`
 * when set up. */
static pid_t spawn_leader(int m, int s0, const char *replica, int ready,
                          void (*body)(int s, int ready)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    check_failures = 0;
    /* Only the parent holds the pair's first fds (the master must be able to close). */
    close(m);
    close(s0);
    if (setsid() < 0)
      die("setsid");
    int s = open(replica, O_RDWR);
    if (s < 0)
      die("open replica");
    body(s, ready);
    exit(check_finish());
  }
  return pid;
}

static void wait_ready(int fd) {
  char c;
  if (read(fd, &c, 1) != 1)
    die("ready");
}

static void signal_ready(int fd) {
  if (write(fd, "r", 1) != 1)
    die("ready");
}

static void wait_forever(int s, int ready) {
  (void)s;
  signal_ready(ready);
  for (;;)
    pause();
}

static void report_status(const char *name, int status) {
  if (WIFEXITED(status))
    printf("%s: exited %d\n", name, WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    printf("%s: killed by %s\n", name, strsignal(WTERMSIG(status)));
  else if (WIFSTOPPED(status))
    printf("%s: stopped by %s\n", name, strsignal(WSTOPSIG(status)));
}

static volatile sig_atomic_t got_winch;
static void on_winch(int sig) {
  (void)sig;
  got_winch = 1;
}

static void winch_body(int s, int ready) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGWINCH);
  sigprocmask(SIG_BLOCK, &block, &old);
  struct sigaction sa = {.sa_handler = on_winch};
  sigaction(SIGWINCH, &sa, NULL);
  (void)s;
  signal_ready(ready);
  while (!got_winch)
    sigsuspend(&old);
  exit(got_winch ? 7 : 1);
}

static void ctty_body(int s, int ready) {
  expect_eq("child: tcgetpgrp is own group", tcgetpgrp(s) == getpgrp(), 1);
  expect_eq("child: TIOCGSID is own session", tcgetsid(s) == getsid(0), 1);
  int tty = open("/dev/tty", O_RDWR);
  expect_ok("child: open /dev/tty with a ctty", tty);
  put(tty, "via /dev/tty\n");
  struct stat a, b;
  fstat(tty, &a);
  fstat(s, &b);
  expect_true("child: /dev/tty is 5,0", a.st_rdev == makedev(5, 0));
  expect_true("child: the replica is not", b.st_rdev != makedev(5, 0));
  close(tty);
  expect_errno("child: TIOCSPGRP negative", tcsetpgrp(s, -5), EINVAL);
  expect_errno("child: TIOCSPGRP other session's group", tcsetpgrp(s, getppid()), EPERM);
  expect_eq("child: TIOCSCTTY again is a no-op", ioctl(s, TIOCSCTTY, 0), 0);
  /* A background group reading the terminal is stopped by SIGTTIN. */
  int gready[2];
  if (pipe(gready) != 0)
    die("pipe");
  fflush(stdout);
  pid_t g = fork();
  if (g == 0) {
    setpgid(0, 0);
    signal_ready(gready[1]);
    char c;
    ssize_t r = read(s, &c, 1);
    _exit(r < 0 ? 50 + errno : 3);
  }
  wait_ready(gready[0]);
  int st;
  waitpid(g, &st, WUNTRACED);
  report_status("child: background reader", st);
  /* Brought to the foreground and continued, it reads. */
  expect_eq("child: tcsetpgrp to the reader's group", tcsetpgrp(s, g), 0);
  expect_eq("child: tcgetpgrp follows", tcgetpgrp(s) == g, 1);
  kill(g, SIGCONT);
  signal_ready(ready); /* the parent now types a line */
  waitpid(g, &st, 0);
  report_status("child: reader in foreground", st);
  /* We are in the background now: tcsetpgrp back would stop us with SIGTTOU
   * unless it is ignored, as shells do. */
  signal(SIGTTOU, SIG_IGN);
  expect_eq("child: tcsetpgrp back with SIGTTOU ignored", tcsetpgrp(s, getpgrp()), 0);
  signal(SIGTTOU, SIG_DFL);
  /* A background reader that ignores SIGTTIN gets EIO. */
  fflush(stdout);
  g = fork();
  if (g == 0) {
    setpgid(0, 0);
    signal(SIGTTIN, SIG_IGN);
    char c;
    ssize_t r = read(s, &c, 1);
    _exit(r < 0 ? 50 + errno : 3);
  }
  waitpid(g, &st, 0);
  expect_eq("child: ignored SIGTTIN read fails with EIO", WEXITSTATUS(st), 50 + EIO);
  /* With TOSTOP a background writer is stopped by SIGTTOU. */
  struct termios t;
  tcgetattr(s, &t);
  t.c_lflag |= TOSTOP;
  tcsetattr(s, TCSANOW, &t);
  fflush(stdout);
  g = fork();
  if (g == 0) {
    setpgid(0, 0);
    ssize_t r = write(s, "bg", 2);
    _exit(r < 0 ? 50 + errno : 3);
  }
  waitpid(g, &st, WUNTRACED);
  report_status("child: background writer with TOSTOP", st);
  kill(g, SIGKILL);
  waitpid(g, &st, 0);
  t.c_lflag &= ~TOSTOP;
  tcsetattr(s, TCSANOW, &t);
  /* The leader giving up the terminal sends SIGHUP to the foreground group: us. */
  signal(SIGHUP, SIG_IGN);
  expect_eq("child: TIOCNOTTY", ioctl(s, TIOCNOTTY), 0);
  expect_errno("child: /dev/tty after TIOCNOTTY", open("/dev/tty", O_RDWR), ENXIO);
  expect_errno("child: tcgetpgrp without ctty", tcgetpgrp(s), ENOTTY);
}

static void stop_body(int s, int ready) {
  fflush(stdout);
  pid_t g = fork();
  if (g == 0) {
    setpgid(0, 0);
    for (;;)
      pause();
  }
  setpgid(g, g);
  expect_eq("child: foreground to its child's group", tcsetpgrp(s, g), 0);
  signal_ready(ready);
  int st;
  waitpid(g, &st, WUNTRACED);
  report_status("child: ^Z", st);
  kill(g, SIGCONT);
  signal_ready(ready);
  waitpid(g, &st, 0);
  report_status("child: ^\\", st);
}

static void no_ctty_body(int s, int ready) {
  (void)ready;
  expect_errno("no ctty: open /dev/tty", open("/dev/tty", O_RDWR), ENXIO);
  expect_errno("no ctty: tcgetpgrp", tcgetpgrp(s), ENOTTY);
  expect_eq("no ctty: TIOCSCTTY", ioctl(s, TIOCSCTTY, 0), 0);
  expect_eq("no ctty: now the foreground group", tcgetpgrp(s) == getpgrp(), 1);
}

static void hangup_body(int s, int ready) {
  signal(SIGHUP, SIG_IGN);
  signal_ready(ready);
  char buf[8];
  /* Blocks until the master goes away; then the terminal is hung up. */
  ssize_t r = read(s, buf, sizeof buf);
  /* 0 once hung up; a read caught while Linux is hanging up sees EIO. */
  expect_true("hung up: read ends", r == 0 || (r == -1 && errno == EIO));
  expect_eq("hung up: read again", read(s, buf, sizeof buf), 0);
  expect_errno("hung up: write", write(s, "x", 1), EIO);
  struct pollfd p = {s, POLLIN | POLLOUT, 0};
  expect_eq("hung up: poll", poll(&p, 1, 0), 1);
  printf("hung up: revents %#x\n", p.revents);
  expect_errno("hung up: /dev/tty", open("/dev/tty", O_RDWR), ENXIO);
}

static void job_control(void) {
  int m, s;
  char name[64], buf[128];
  int ready[2];
  int st;
  if (pipe(ready) != 0)
    die("pipe");

  /* ^C kills the foreground group with SIGINT and echoes ^C. */
  new_pair(&m, &s);
  ptsname_r(m, name, sizeof name);
  pid_t c = spawn_leader(m, s, name, ready[1], wait_forever);
  wait_ready(ready[0]);
  put(m, "\x03");
  waitpid(c, &st, 0);
  report_status("^C", st);
  expect_master("^C echo", m, "^C");
  int pg = -1, sid = -1;
  expect_eq("TIOCGPGRP on master after the session ended", ioctl(m, TIOCGPGRP, &pg), 0);
  printf("foreground group left: %d\n", pg);
  close(s);
  close(m);

  /* ^Z stops the foreground group with SIGTSTP; ^\ kills it with SIGQUIT. The
   * leader's own group is orphaned (its parent is in another session), where
   * Linux discards stop signals, so the foreground is a group of its child. */
  new_pair(&m, &s);
  ptsname_r(m, name, sizeof name);
  c = spawn_leader(m, s, name, ready[1], stop_body);
  wait_ready(ready[0]);
  expect_eq("TIOCGSID on master is the child's session", (ioctl(m, TIOCGSID, &sid), sid) == c, 1);
  expect_eq("TIOCGPGRP on master is not the leader's group", (ioctl(m, TIOCGPGRP, &pg), pg) != c, 1);
  expect_errno("TIOCGPGRP on a replica that is not our ctty", ioctl(s, TIOCGPGRP, &pg), ENOTTY);
  put(m, "\x1a");
  wait_ready(ready[0]);
  put(m, "\x1c");
  waitpid(c, &st, 0);
  report_status("stop child", st);
  expect_master("^Z and ^\\ echo", m, "^Z^\\");
  close(s);
  close(m);

  /* TIOCSWINSZ sends SIGWINCH to the foreground group. */
  new_pair(&m, &s);
  ptsname_r(m, name, sizeof name);
  c = spawn_leader(m, s, name, ready[1], winch_body);
  wait_ready(ready[0]);
  struct winsize ws = {.ws_row = 33, .ws_col = 101};
  expect_eq("TIOCSWINSZ on master", ioctl(m, TIOCSWINSZ, &ws), 0);
  waitpid(c, &st, 0);
  report_status("SIGWINCH", st);
  struct winsize got = {0};
  expect_eq("TIOCGWINSZ on replica", ioctl(s, TIOCGWINSZ, &got), 0);
  printf("winsize: %d x %d\n", got.ws_row, got.ws_col);
  close(s);
  close(m);

  /* Foreground and background groups, /dev/tty, TIOCNOTTY. */
  new_pair(&m, &s);
  ptsname_r(m, name, sizeof name);
  c = spawn_leader(m, s, name, ready[1], ctty_body);
  wait_ready(ready[0]);
  put(m, "L\n");
  waitpid(c, &st, 0);
  report_status("job control child", st);
  expect_master("written via /dev/tty", m, "via /dev/tty\r\nL\r\n");
  close(s);
  close(m);

  /* Without a controlling terminal. */
  new_pair(&m, &s);
  ptsname_r(m, name, sizeof name);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    check_failures = 0;
    close(m);
    close(s);
    setsid();
    int r = open(name, O_RDWR | O_NOCTTY);
    no_ctty_body(r, -1);
    exit(check_finish());
  }
  waitpid(c, &st, 0);
  report_status("no ctty child", st);
  close(s);
  close(m);

  /* Closing the master hangs the terminal up. */
  new_pair(&m, &s);
  ptsname_r(m, name, sizeof name);
  c = spawn_leader(m, s, name, ready[1], hangup_body);
  wait_ready(ready[0]);
  close(s);
  close(m);
  waitpid(c, &st, 0);
  report_status("hangup child", st);
  (void)buf;
}

int main(void) {
  /* ^\ dumps core: not here. */
  struct rlimit nocore = {0, 0};
  setrlimit(RLIMIT_CORE, &nocore);
  allocation();
  canonical();
  raw_modes();
  job_control();
  return check_finish();
}
