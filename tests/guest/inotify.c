/*
 * inotify: watches on a directory and on files in it, the events file
 * operations produce (open, read, write, close, chmod, utimes, truncate,
 * create, link, unlink, mkdir, rmdir, rename with a cookie shared by its two
 * halves), IN_DELETE_SELF delayed to a removed file's last close, coalescing
 * of identical consecutive events, inotify_add_watch's flags (IN_MASK_ADD,
 * IN_MASK_CREATE, IN_ONLYDIR, IN_DONT_FOLLOW, IN_ONESHOT, IN_EXCL_UNLINK),
 * inotify_rm_watch and IN_IGNORED, read(2)'s rules (EAGAIN, EINVAL for a
 * buffer too small for the next event, name padding), FIONREAD, poll, a
 * blocking read woken by another process and one interrupted by a signal, and
 * queue overflow.
 *
 * Everything runs in a fresh directory made with mkdtemp under each argument
 * (default /tmp). Every event is printed as it is read, so the native run and
 * the run under moat must report the same events in the same order.
 */
#include "check.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[512];

static void die(const char *what) {
  perror(what);
  exit(2);
}

static const char *at(const char *name) {
  static char buf[4][600];
  static int i;
  i = (i + 1) % 4;
  snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
  return buf[i];
}

static void mask_text(uint32_t m, char *out, size_t n) {
  static const struct {
    uint32_t bit;
    const char *name;
  } names[] = {
      {IN_ACCESS, "ACCESS"},       {IN_MODIFY, "MODIFY"},         {IN_ATTRIB, "ATTRIB"},
      {IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"}, {IN_OPEN, "OPEN"},
      {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},   {IN_CREATE, "CREATE"},
      {IN_DELETE, "DELETE"},       {IN_DELETE_SELF, "DELETE_SELF"}, {IN_MOVE_SELF, "MOVE_SELF"},
      {IN_UNMOUNT, "UNMOUNT"},     {IN_Q_OVERFLOW, "Q_OVERFLOW"}, {IN_IGNORED, "IGNORED"},
      {IN_ISDIR, "ISDIR"},
  };
  out[0] = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (m & names[i].bit) {
      if (out[0])
        strncat(out, "|", n - strlen(out) - 1);
      strncat(out, names[i].name, n - strlen(out) - 1);
      m &= ~names[i].bit;
    }
  }
  if (m) {
    char rest[32];
    snprintf(rest, sizeof rest, "%s0x%x", out[0] ? "|" : "", m);
    strncat(out, rest, n - strlen(out) - 1);
  }
}

/* Cookies are numbered in the order they are first seen, so that the two
 * halves of a rename print the same number. */
static uint32_t cookies[64];
static int ncookies;

static int cookie_no(uint32_t c) {
  if (c == 0)
    return 0;
  for (int i = 0; i < ncookies; i++)
    if (cookies[i] == c)
      return i + 1;
  if (ncookies < 64)
    cookies[ncookies++] = c;
  return ncookies;
}

/* Prints the events in `buf` (n bytes), one line each. */
static void print_events(const char *label, const char *buf, ssize_t n) {
  for (ssize_t off = 0; off < n;) {
    const struct inotify_event *e = (const void *)(buf + off);
    char m[200];
    mask_text(e->mask, m, sizeof m);
    int padded = e->len == 0 || (e->len % 16 == 0 && strlen(e->name) < e->len);
    printf("%s: wd=%d %s cookie=%d name=%s%s\n", label, e->wd, m, cookie_no(e->cookie),
           e->len ? e->name : "-", padded ? "" : " (BAD PADDING)");
    if (!padded)
      check_fail(label, "unpadded name", "padded to 16");
    off += sizeof *e + e->len;
  }
}

/* Reads and prints everything queued on the nonblocking instance `fd`, then
 * states that the queue is empty. */
static void drain(int fd, const char *label) {
  char buf[4096] __attribute__((aligned(8)));
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno != EAGAIN)
        check(label, n);
      break;
    }
    print_events(label, buf, n);
  }
  printf("%s: end\n", label);
}

static int make_file(const char *name, const char *data) {
  int fd = open(at(name), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0)
    die("create");
  if (data && write(fd, data, strlen(data)) != (ssize_t)strlen(data))
    die("write");
  return fd;
}

static void watch_errors(int in) {
  expect_errno("add_watch_mask_0", inotify_add_watch(in, dir, 0), EINVAL);
  expect_errno("add_watch_add_and_create",
               inotify_add_watch(in, dir, IN_OPEN | IN_MASK_ADD | IN_MASK_CREATE), EINVAL);
  expect_errno("add_watch_bad_fd", inotify_add_watch(99, dir, IN_OPEN), EBADF);
  int pfd[2];
  if (pipe(pfd) != 0)
    die("pipe");
  expect_errno("add_watch_not_inotify", inotify_add_watch(pfd[0], dir, IN_OPEN), EINVAL);
  expect_errno("rm_watch_not_inotify", inotify_rm_watch(pfd[0], 1), EINVAL);
  close(pfd[0]);
  close(pfd[1]);
  expect_errno("add_watch_missing", inotify_add_watch(in, at("missing"), IN_OPEN), ENOENT);
  expect_errno("add_watch_efault", inotify_add_watch(in, (const char *)8, IN_OPEN), EFAULT);
  expect_errno("rm_watch_unknown", inotify_rm_watch(in, 12345), EINVAL);
  expect_errno("write_to_inotify", write(in, "x", 1), EBADF);
  check("lseek_inotify", lseek(in, 0, SEEK_SET));
  expect_errno("init1_bad_flags", inotify_init1(1), EINVAL);
}

static void file_events(int in) {
  expect_eq("watch_dir", inotify_add_watch(in, dir, IN_ALL_EVENTS), 1);
  expect_eq("watch_dir_again", inotify_add_watch(in, dir, IN_ALL_EVENTS), 1);
  expect_errno("watch_dir_mask_create", inotify_add_watch(in, dir, IN_OPEN | IN_MASK_CREATE),
               EEXIST);

  /* Three writes in a row coalesce into one IN_MODIFY. */
  int fd = make_file("a", "one");
  if (write(fd, "two", 3) != 3 || write(fd, "six", 3) != 3)
    die("write");
  close(fd);
  drain(in, "create_write_close");

  expect_eq("watch_file", inotify_add_watch(in, at("a"), IN_ALL_EVENTS), 2);
  expect_errno("watch_file_onlydir", inotify_add_watch(in, at("a"), IN_OPEN | IN_ONLYDIR),
               ENOTDIR);
  fd = open(at("a"), O_RDONLY);
  char b[16];
  check("read_a", read(fd, b, sizeof b));
  check("read_a_eof", read(fd, b, sizeof b));
  close(fd);
  drain(in, "open_read_close");

  check("chmod", chmod(at("a"), 0600));
  struct timespec both[2] = {{1, 0}, {2, 0}};
  check("utimens_both", utimensat(AT_FDCWD, at("a"), both, 0));
  struct timespec atime_only[2] = {{3, 0}, {0, UTIME_OMIT}};
  check("utimens_atime", utimensat(AT_FDCWD, at("a"), atime_only, 0));
  struct timespec mtime_only[2] = {{0, UTIME_OMIT}, {4, 0}};
  check("utimens_mtime", utimensat(AT_FDCWD, at("a"), mtime_only, 0));
  check("truncate", truncate(at("a"), 1));
  drain(in, "attributes");

  fd = open(at("a"), O_WRONLY | O_TRUNC);
  close(fd);
  drain(in, "open_trunc");

  check("link", link(at("a"), at("hard")));
  check("unlink_hard", unlink(at("hard")));
  drain(in, "link_unlink");

  check("rename", rename(at("a"), at("b")));
  drain(in, "rename");

  /* Renaming over a watched file: it loses its last name. */
  close(make_file("victim", NULL));
  expect_eq("watch_victim", inotify_add_watch(in, at("victim"), IN_ALL_EVENTS), 3);
  drain(in, "victim_made");
  check("rename_over", rename(at("b"), at("victim")));
  drain(in, "rename_over");

  check("mkdir", mkdir(at("sub"), 0755));
  expect_eq("watch_sub", inotify_add_watch(in, at("sub"), IN_ALL_EVENTS), 4);
  int dfd = open(at("sub"), O_RDONLY | O_DIRECTORY);
  char dents[1024];
  check("getdents_sub", syscall(SYS_getdents64, dfd, dents, sizeof dents) > 0);
  close(dfd);
  check("rename_sub", rename(at("sub"), at("sub2")));
  check("rmdir", rmdir(at("sub2")));
  drain(in, "directories");

  /* A removed file that is still open is deleted at its last close. */
  fd = open(at("victim"), O_RDONLY);
  check("unlink_victim", unlink(at("victim")));
  drain(in, "unlinked_while_open");
  close(fd);
  drain(in, "closed_after_unlink");

  check("rm_watch_dir", inotify_rm_watch(in, 1));
  expect_errno("rm_watch_dir_again", inotify_rm_watch(in, 1), EINVAL);
  drain(in, "rm_watch");
  close(make_file("quiet", NULL));
  drain(in, "unwatched");
}

static void flags(int in) {
  /* IN_MASK_ADD keeps the events already asked for; without it they go. */
  int fd = make_file("f", NULL);
  close(fd);
  int wd = inotify_add_watch(in, at("f"), IN_OPEN);
  expect_true("watch_f", wd > 0);
  expect_eq("mask_add_same_wd", inotify_add_watch(in, at("f"), IN_CLOSE_NOWRITE | IN_MASK_ADD), wd);
  close(open(at("f"), O_RDONLY));
  drain(in, "mask_add");
  expect_eq("mask_replace", inotify_add_watch(in, at("f"), IN_ATTRIB), wd);
  close(open(at("f"), O_RDONLY));
  check("chmod_f", chmod(at("f"), 0640));
  drain(in, "mask_replaced");

  /* IN_ONESHOT: one event, then IN_IGNORED. */
  int one = inotify_add_watch(in, at("f"), IN_OPEN | IN_ONESHOT);
  expect_eq("oneshot_same_wd", one, wd);
  close(open(at("f"), O_RDONLY));
  close(open(at("f"), O_RDONLY));
  drain(in, "oneshot");
  expect_errno("rm_oneshot", inotify_rm_watch(in, one), EINVAL);

  /* IN_DONT_FOLLOW watches the symlink itself. */
  check("symlink", symlink("f", at("lnk")));
  int lw = inotify_add_watch(in, at("lnk"), IN_ATTRIB | IN_DONT_FOLLOW);
  int fw = inotify_add_watch(in, at("lnk"), IN_ATTRIB);
  expect_true("dont_follow_other_wd", lw > 0 && fw > 0 && lw != fw);
  check("chmod_through_link", chmod(at("lnk"), 0600));
  drain(in, "dont_follow");
  inotify_rm_watch(in, lw);
  inotify_rm_watch(in, fw);
  drain(in, "dont_follow_removed");

  /* IN_EXCL_UNLINK: no events for a child after it was unlinked. */
  int dw = inotify_add_watch(in, dir, IN_CLOSE | IN_EXCL_UNLINK);
  fd = open(at("f"), O_RDONLY);
  unlink(at("f"));
  close(fd);
  /* lnk now dangles: O_CREAT through it makes f again. */
  close(open(at("lnk"), O_RDONLY | O_CREAT, 0600));
  drain(in, "excl_unlink");
  inotify_rm_watch(in, dw);
  drain(in, "excl_unlink_removed");
  unlink(at("lnk"));
  unlink(at("f"));
  unlink(at("quiet"));
}

static void reading(int in) {
  int wd = inotify_add_watch(in, dir, IN_CREATE);
  close(make_file("name-of-seventeen", NULL));
  int n = -1;
  check("fionread", ioctl(in, FIONREAD, &n));
  check("fionread_bytes", n);
  char small[sizeof(struct inotify_event) + 16] __attribute__((aligned(8)));
  expect_errno("read_too_small", read(in, small, sizeof small), EINVAL);
  expect_errno("read_header_only", read(in, small, sizeof(struct inotify_event)), EINVAL);
  char big[sizeof(struct inotify_event) + 32] __attribute__((aligned(8)));
  ssize_t r = check("read_exact", read(in, big, sizeof big));
  print_events("read_exact", big, r);

  /* A buffer holding one event and a half gets the whole one. */
  close(make_file("x1", NULL));
  close(make_file("x2", NULL));
  char one_and_half[sizeof(struct inotify_event) * 2 + 24] __attribute__((aligned(8)));
  r = check("read_partial", read(in, one_and_half, sizeof one_and_half));
  print_events("read_partial", one_and_half, r);
  drain(in, "read_rest");

  struct pollfd p = {in, POLLIN, 0};
  check("poll_empty", poll(&p, 1, 0));
  close(make_file("x3", NULL));
  check("poll_ready", poll(&p, 1, 0));
  check("poll_revents", p.revents);
  drain(in, "poll");
  inotify_rm_watch(in, wd);
  drain(in, "reading_done");
  unlink(at("name-of-seventeen"));
  unlink(at("x1"));
  unlink(at("x2"));
  unlink(at("x3"));
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

static void blocking(void) {
  int in = inotify_init();
  check("init_flags", fcntl(in, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
  check("init_cloexec", fcntl(in, F_GETFD));
  inotify_add_watch(in, dir, IN_CREATE);

  /* A blocked read is woken by an event from another process. */
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    close(make_file("from-child", NULL));
    _exit(0);
  }
  char buf[256] __attribute__((aligned(8)));
  ssize_t r = check("blocking_read", read(in, buf, sizeof buf));
  print_events("blocking_read", buf, r);
  waitpid(child, NULL, 0);
  unlink(at("from-child"));

  /* A blocked read with nothing coming is interrupted by a signal (the timer
   * keeps firing until it is). */
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 5000}, {0, 5000}};
  setitimer(ITIMER_REAL, &it, NULL);
  int fresh = inotify_init();
  expect_errno("interrupted_read", read(fresh, buf, sizeof buf), EINTR);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  close(fresh);
  close(in);
}

static void overflow(void) {
  int in = inotify_init1(IN_NONBLOCK);
  close(make_file("o", NULL));
  inotify_add_watch(in, at("o"), IN_OPEN | IN_CLOSE);
  for (int i = 0; i < 8200; i++)
    close(open(at("o"), O_RDONLY));
  static char buf[65536] __attribute__((aligned(8)));
  long events = 0;
  uint32_t last = 0;
  int last_wd = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n <= 0)
      break;
    for (ssize_t off = 0; off < n;) {
      struct inotify_event *e = (void *)(buf + off);
      events++;
      last = e->mask;
      last_wd = e->wd;
      off += sizeof *e + e->len;
    }
  }
  check("overflow_events", events);
  expect_true("overflow_last_is_q_overflow", last == IN_Q_OVERFLOW && last_wd == -1);
  close(in);
  unlink(at("o"));
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc || i == 1; i++) {
    const char *base = argc > 1 ? argv[i] : "/tmp";
    snprintf(dir, sizeof dir, "%s/inotify-XXXXXX", base);
    if (!mkdtemp(dir))
      die("mkdtemp");
    printf("== %s\n", base);
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    check("init1_flags", fcntl(in, F_GETFL) & (O_ACCMODE | O_NONBLOCK));
    check("init1_cloexec", fcntl(in, F_GETFD));
    char b[64];
    expect_errno("read_empty", read(in, b, sizeof b), EAGAIN);
    watch_errors(in);
    file_events(in);
    flags(in);
    reading(in);
    close(in);
    blocking();
    overflow();
    if (rmdir(dir) != 0)
      die("rmdir");
  }
  return check_finish();
}
