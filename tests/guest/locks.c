/*
 * locks: advisory file locks as Linux keeps them — flock(2) locks owned by the
 * open file description, POSIX record locks (fcntl F_SETLK/F_SETLKW/F_GETLK)
 * owned by the process, and OFD locks (F_OFD_*) owned by the description.
 *
 * Everything happens on one scratch file made with mkstemp in argv[1]
 * (default /tmp), removed at the end. A process never sees its own POSIX
 * locks through F_GETLK, so the parent's locks are looked at from forked
 * children (probe). Processes synchronise through pipes only; where a call
 * must be interrupted, a periodic timer keeps signalling until it is, so the
 * outcome never depends on timing.
 */
#include "check.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[512];

static void die(const char *what) {
  perror(what);
  exit(2);
}

static int open_rw(void) {
  int fd = open(path, O_RDWR);
  if (fd < 0)
    die("open scratch file");
  return fd;
}

static void make_pipe(int p[2]) {
  if (pipe(p) != 0)
    die("pipe");
}

static void put_byte(int fd) {
  if (write(fd, "x", 1) != 1)
    die("write pipe");
}

static void get_byte(int fd) {
  char c;
  if (read(fd, &c, 1) != 1)
    die("read pipe");
}

/* fork, where the child starts with no failures of its own (the parent's
 * are the parent's to report). */
static pid_t spawn(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p < 0)
    die("fork");
  if (p == 0)
    check_failures = 0;
  return p;
}

/* A child's exit: 0 when all of its expectations held. */
static void child_done(void) {
  fflush(stdout);
  _exit(check_finish());
}

/* Waits for a child and states that its own expectations held. */
static void reap(const char *name, pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid)
    die("waitpid");
  expect_true(name, WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* fcntl with a struct flock built from the arguments. */
static int lk(int fd, int cmd, int type, int whence, off_t start, off_t len) {
  struct flock fl = {0};
  fl.l_type = (short)type;
  fl.l_whence = (short)whence;
  fl.l_start = start;
  fl.l_len = len;
  return fcntl(fd, cmd, &fl);
}

static int setlk(int fd, int type, off_t start, off_t len) {
  return lk(fd, F_SETLK, type, SEEK_SET, start, len);
}

static pid_t known_child;

static const char *type_name(int t) {
  switch (t) {
  case F_RDLCK:
    return "F_RDLCK";
  case F_WRLCK:
    return "F_WRLCK";
  case F_UNLCK:
    return "F_UNLCK";
  }
  return "F_???";
}

/* Whose lock l_pid names, without printing a pid. */
static const char *owner_name(pid_t pid) {
  if (pid == -1)
    return "-1";
  if (pid == getpid())
    return "self";
  if (pid == getppid())
    return "parent";
  if (known_child && pid == known_child)
    return "child";
  return "other";
}

/* The result of an F_GETLK-style query, on one line. */
static void expect_getlk(const char *name, int fd, int cmd, int type, off_t start, off_t len,
                         const char *want) {
  struct flock fl = {0};
  fl.l_type = (short)type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  char got[160];
  if (fcntl(fd, cmd, &fl) != 0)
    snprintf(got, sizeof got, "%s", result_text(-1, errno));
  else if (fl.l_type == F_UNLCK)
    snprintf(got, sizeof got, "F_UNLCK");
  else
    snprintf(got, sizeof got, "%s whence=%d start=%lld len=%lld pid=%s", type_name(fl.l_type),
             fl.l_whence, (long long)fl.l_start, (long long)fl.l_len, owner_name(fl.l_pid));
  expect_str(name, got, want);
}

/* F_GETLK from a forked child (which owns none of the parent's locks). */
static void probe(const char *name, int fd, int type, off_t start, off_t len, const char *want) {
  pid_t p = spawn();
  if (p == 0) {
    expect_getlk(name, fd, F_GETLK, type, start, len, want);
    child_done();
  }
  int st;
  if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
    check_fail(name, "probe child failed", "ok");
}

/* --- flock(2) ----------------------------------------------------------- */

static void flock_basics(void) {
  int a = open_rw(), b = open_rw(), c = open_rw();
  expect_eq("flock_shared", flock(a, LOCK_SH), 0);
  expect_eq("flock_shared_by_another_open_file", flock(b, LOCK_SH | LOCK_NB), 0);
  expect_errno("flock_exclusive_while_shared_ewouldblock", flock(b, LOCK_EX | LOCK_NB),
               EWOULDBLOCK);
  expect_errno("flock_exclusive_third_file_ewouldblock", flock(c, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  expect_eq("flock_unlock", flock(a, LOCK_UN), 0);
  /* A conversion removes the old lock first: b's failed upgrade lost its lock. */
  expect_eq("flock_failed_conversion_dropped_the_shared_lock", flock(c, LOCK_EX | LOCK_NB), 0);
  expect_errno("flock_shared_while_exclusive_ewouldblock", flock(a, LOCK_SH | LOCK_NB),
               EWOULDBLOCK);
  expect_eq("flock_relock_same_type", flock(c, LOCK_EX), 0);
  expect_eq("flock_downgrade", flock(c, LOCK_SH), 0);
  expect_eq("flock_shared_after_downgrade", flock(a, LOCK_SH | LOCK_NB), 0);
  expect_eq("flock_unlock_not_held", flock(b, LOCK_UN), 0);
  flock(a, LOCK_UN);
  expect_eq("flock_upgrade", flock(c, LOCK_EX | LOCK_NB), 0);
  flock(c, LOCK_UN);

  /* dup'd fds share the description and so its lock. */
  expect_eq("flock_exclusive", flock(a, LOCK_EX), 0);
  int d = dup(a);
  expect_eq("flock_dup_shares_lock", flock(d, LOCK_EX | LOCK_NB), 0);
  expect_eq("flock_unlock_through_dup", flock(d, LOCK_UN), 0);
  expect_eq("flock_unlock_through_dup_released", flock(b, LOCK_EX | LOCK_NB), 0);
  flock(b, LOCK_UN);

  /* Closing one fd keeps the lock; closing the description's last one drops it. */
  flock(a, LOCK_EX);
  close(a);
  expect_errno("flock_kept_while_a_dup_is_open", flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  close(d);
  expect_eq("flock_released_by_last_close", flock(b, LOCK_EX | LOCK_NB), 0);
  flock(b, LOCK_UN);

  /* Any access mode may take either lock. */
  int ro = open(path, O_RDONLY);
  expect_eq("flock_exclusive_on_read_only_fd", flock(ro, LOCK_EX | LOCK_NB), 0);
  expect_errno("flock_read_only_holder_excludes", flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  close(ro);

  expect_errno("flock_sh_and_ex_einval", flock(b, LOCK_SH | LOCK_EX), EINVAL);
  expect_errno("flock_no_operation_einval", flock(b, 0), EINVAL);
  expect_errno("flock_only_nb_einval", flock(b, LOCK_NB), EINVAL);
  expect_errno("flock_unknown_operation_einval", flock(b, 16), EINVAL);
  expect_errno("flock_bad_operation_checked_before_fd", flock(999, 16), EINVAL);
  expect_errno("flock_bad_fd_ebadf", flock(999, LOCK_SH), EBADF);
  expect_errno("flock_negative_fd_ebadf", flock(-1, LOCK_UN), EBADF);
  expect_eq("flock_lock_mand_ignored", flock(b, LOCK_MAND | LOCK_READ), 0);
  expect_eq("flock_lock_mand_ignored_before_fd_check", flock(-1, LOCK_MAND), 0);
  /* Locks belong to the file, whatever name it was opened by. */
  char other_name[600];
  snprintf(other_name, sizeof other_name, "%s.link", path);
  expect_eq("hard_link", link(path, other_name), 0);
  int l = open(other_name, O_RDWR);
  flock(b, LOCK_EX);
  expect_errno("flock_through_a_hard_link_ewouldblock", flock(l, LOCK_SH | LOCK_NB), EWOULDBLOCK);
  flock(b, LOCK_UN);
  close(l);
  unlink(other_name);

  int op = open(path, O_PATH);
  expect_errno("flock_o_path_ebadf", flock(op, LOCK_SH), EBADF);
  expect_errno("flock_o_path_unlock_ebadf", flock(op, LOCK_UN), EBADF);
  close(op);
  close(b);
  close(c);
}

static void flock_fork(void) {
  int a = open_rw(), b = open_rw();
  flock(a, LOCK_EX);
  pid_t p = spawn();
  if (p == 0) {
    expect_eq("flock_inherited_description_shares_lock", flock(a, LOCK_EX | LOCK_NB), 0);
    int own = open_rw();
    expect_errno("flock_child_own_open_ewouldblock", flock(own, LOCK_SH | LOCK_NB), EWOULDBLOCK);
    expect_eq("flock_child_unlocks_shared_description", flock(a, LOCK_UN), 0);
    child_done();
  }
  reap("flock_fork_child", p);
  expect_eq("flock_child_unlock_released_parents_lock", flock(b, LOCK_EX | LOCK_NB), 0);
  flock(b, LOCK_UN);

  flock(a, LOCK_EX);
  p = spawn();
  if (p == 0)
    child_done();
  reap("flock_child_exits", p);
  expect_errno("flock_kept_after_child_exit", flock(b, LOCK_EX | LOCK_NB), EWOULDBLOCK);
  flock(a, LOCK_UN);

  /* A blocked flock waits for the holder. */
  int ready[2];
  make_pipe(ready);
  flock(a, LOCK_EX);
  p = spawn();
  if (p == 0) {
    int own = open_rw();
    put_byte(ready[1]);
    expect_eq("flock_blocks_until_holder_unlocks", flock(own, LOCK_EX), 0);
    child_done();
  }
  get_byte(ready[0]);
  flock(a, LOCK_UN);
  reap("flock_waiter_child", p);
  close(ready[0]);
  close(ready[1]);
  close(a);
  close(b);
}

/* --- interrupting a blocked lock call ----------------------------------- */

static volatile sig_atomic_t ticks, counting;
static int tick_pipe = -1;

static void on_tick(int sig) {
  (void)sig;
  if (counting && ++ticks == 3 && tick_pipe >= 0)
    (void)!write(tick_pipe, "t", 1);
}

static void ticker(int flags) {
  struct sigaction sa = {0};
  sa.sa_handler = on_tick;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 10000}, {0, 10000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void ticker_off(void) {
  struct itimerval it = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
  counting = 0;
}

/* The call `op` on a fresh open of the file blocks behind the parent's lock,
 * and a periodic SIGALRM arrives: without SA_RESTART the call fails with
 * EINTR; with it, the call goes on and takes the lock once the parent lets
 * go (after the handler ran three times while the child was in the call). */
enum lock_call { CALL_FLOCK, CALL_SETLKW, CALL_OFD_SETLKW };

static int blocking_call(enum lock_call op, int fd) {
  switch (op) {
  case CALL_FLOCK:
    return flock(fd, LOCK_EX);
  case CALL_SETLKW:
    return lk(fd, F_SETLKW, F_WRLCK, SEEK_SET, 0, 0);
  case CALL_OFD_SETLKW:
    return lk(fd, F_OFD_SETLKW, F_WRLCK, SEEK_SET, 0, 0);
  }
  return -1;
}

static void interrupted(const char *what, enum lock_call op, int holder) {
  char name[96];
  pid_t p = spawn();
  if (p == 0) {
    int own = open_rw();
    ticker(0);
    counting = 1;
    snprintf(name, sizeof name, "%s_interrupted_eintr", what);
    expect_errno(name, blocking_call(op, own), EINTR);
    ticker_off();
    child_done();
  }
  snprintf(name, sizeof name, "%s_eintr_child", what);
  reap(name, p);

  int told[2];
  make_pipe(told);
  p = spawn();
  if (p == 0) {
    int own = open_rw();
    tick_pipe = told[1];
    ticks = 0;
    ticker(SA_RESTART);
    counting = 1;
    snprintf(name, sizeof name, "%s_with_sa_restart_restarts", what);
    expect_eq(name, blocking_call(op, own), 0);
    ticker_off();
    snprintf(name, sizeof name, "%s_handler_ran_during_wait", what);
    expect_true(name, ticks >= 3);
    child_done();
  }
  get_byte(told[0]);
  if (op == CALL_FLOCK)
    flock(holder, LOCK_UN);
  else
    setlk(holder, F_UNLCK, 0, 0);
  snprintf(name, sizeof name, "%s_restart_child", what);
  reap(name, p);
  close(told[0]);
  close(told[1]);
}

static void interruptions(void) {
  int a = open_rw();
  flock(a, LOCK_EX);
  interrupted("flock", CALL_FLOCK, a);
  setlk(a, F_WRLCK, 0, 0);
  interrupted("f_setlkw", CALL_SETLKW, a);
  setlk(a, F_WRLCK, 0, 0);
  interrupted("f_ofd_setlkw", CALL_OFD_SETLKW, a);
  close(a);
}

/* --- POSIX record locks ------------------------------------------------- */

static void posix_ranges(void) {
  int a = open_rw();
  expect_eq("setlk_write_0_100", setlk(a, F_WRLCK, 0, 100), 0);
  expect_getlk("getlk_own_lock_never_conflicts", a, F_GETLK, F_WRLCK, 0, 0, "F_UNLCK");
  probe("probe_whole_file", a, F_WRLCK, 0, 0, "F_WRLCK whence=0 start=0 len=100 pid=parent");
  probe("probe_past_the_lock", a, F_WRLCK, 100, 10, "F_UNLCK");

  pid_t p = spawn();
  if (p == 0) {
    expect_errno("setlk_conflict_eagain", setlk(a, F_RDLCK, 50, 10), EAGAIN);
    expect_eq("setlk_adjacent_range_granted", setlk(a, F_WRLCK, 100, 10), 0);
    child_done();
  }
  reap("posix_child_locks", p);
  probe("child_lock_released_at_exit", a, F_WRLCK, 100, 10, "F_UNLCK");

  expect_eq("unlock_40_60", setlk(a, F_UNLCK, 40, 20), 0);
  probe("split_first_piece", a, F_WRLCK, 0, 0, "F_WRLCK whence=0 start=0 len=40 pid=parent");
  probe("split_hole", a, F_WRLCK, 40, 20, "F_UNLCK");
  probe("split_second_piece", a, F_WRLCK, 50, 100, "F_WRLCK whence=0 start=60 len=40 pid=parent");

  expect_eq("relock_40_60", setlk(a, F_WRLCK, 40, 20), 0);
  probe("adjacent_locks_merge", a, F_WRLCK, 0, 0, "F_WRLCK whence=0 start=0 len=100 pid=parent");

  expect_eq("downgrade_40_60", setlk(a, F_RDLCK, 40, 20), 0);
  probe("downgrade_first_conflict", a, F_WRLCK, 0, 0,
        "F_WRLCK whence=0 start=0 len=40 pid=parent");
  probe("downgrade_read_probe_of_read_range", a, F_RDLCK, 40, 20, "F_UNLCK");
  probe("downgrade_write_probe_of_read_range", a, F_WRLCK, 45, 5,
        "F_RDLCK whence=0 start=40 len=20 pid=parent");
  probe("downgrade_read_probe_spanning", a, F_RDLCK, 50, 20,
        "F_WRLCK whence=0 start=60 len=40 pid=parent");

  expect_eq("upgrade_to_eof", setlk(a, F_WRLCK, 0, 0), 0);
  probe("upgrade_covers_everything", a, F_RDLCK, 1000000, 1,
        "F_WRLCK whence=0 start=0 len=0 pid=parent");
  expect_eq("unlock_everything", setlk(a, F_UNLCK, 0, 0), 0);
  probe("nothing_locked", a, F_WRLCK, 0, 0, "F_UNLCK");
  expect_eq("unlock_when_nothing_is_locked", setlk(a, F_UNLCK, 0, 0), 0);

  expect_eq("read_locks_share", setlk(a, F_RDLCK, 0, 10), 0);
  probe("read_probe_of_read_lock", a, F_RDLCK, 0, 10, "F_UNLCK");
  setlk(a, F_UNLCK, 0, 0);

  expect_eq("negative_len", setlk(a, F_WRLCK, 100, -50), 0);
  probe("negative_len_covers_before_start", a, F_WRLCK, 0, 0,
        "F_WRLCK whence=0 start=50 len=50 pid=parent");
  setlk(a, F_UNLCK, 0, 0);

  lseek(a, 200, SEEK_SET);
  expect_eq("seek_cur_relative", lk(a, F_SETLK, F_WRLCK, SEEK_CUR, -10, 5), 0);
  probe("seek_cur_range", a, F_WRLCK, 0, 0, "F_WRLCK whence=0 start=190 len=5 pid=parent");
  setlk(a, F_UNLCK, 0, 0);

  if (ftruncate(a, 1000) != 0)
    die("ftruncate");
  expect_eq("seek_end_relative", lk(a, F_SETLK, F_WRLCK, SEEK_END, -100, 0), 0);
  probe("seek_end_range", a, F_WRLCK, 0, 0, "F_WRLCK whence=0 start=900 len=0 pid=parent");
  expect_eq("seek_end_unlock", lk(a, F_SETLK, F_UNLCK, SEEK_END, -100, 0), 0);
  probe("seek_end_unlocked", a, F_WRLCK, 0, 0, "F_UNLCK");

  expect_eq("lock_last_byte", setlk(a, F_WRLCK, LLONG_MAX, 1), 0);
  probe("lock_to_offset_max_reports_len_0", a, F_WRLCK, 0, 0,
        "F_WRLCK whence=0 start=9223372036854775807 len=0 pid=parent");
  setlk(a, F_UNLCK, 0, 0);

  /* A lock in the middle of a held range splits it in three. */
  setlk(a, F_RDLCK, 0, 30);
  expect_eq("write_inside_read", setlk(a, F_WRLCK, 10, 10), 0);
  probe("three_pieces_first", a, F_WRLCK, 0, 0, "F_RDLCK whence=0 start=0 len=10 pid=parent");
  probe("three_pieces_middle", a, F_RDLCK, 0, 0, "F_WRLCK whence=0 start=10 len=10 pid=parent");
  probe("three_pieces_last", a, F_WRLCK, 20, 0, "F_RDLCK whence=0 start=20 len=10 pid=parent");
  setlk(a, F_UNLCK, 0, 0);
  close(a);
}

static void posix_errors(void) {
  int a = open_rw();
  int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
  expect_errno("setlk_bad_type_einval", setlk(a, 7, 0, 1), EINVAL);
  expect_errno("setlk_bad_whence_einval", lk(a, F_SETLK, F_WRLCK, 5, 0, 1), EINVAL);
  expect_errno("setlk_negative_start_einval", setlk(a, F_WRLCK, -1, 1), EINVAL);
  expect_errno("setlk_negative_len_before_zero_einval", setlk(a, F_WRLCK, 10, -20), EINVAL);
  expect_errno("setlk_end_overflow_eoverflow", setlk(a, F_WRLCK, LLONG_MAX, 2), EOVERFLOW);
  lseek(a, 200, SEEK_SET);
  expect_errno("setlk_start_overflow_eoverflow", lk(a, F_SETLK, F_WRLCK, SEEK_CUR, LLONG_MAX, 1),
               EOVERFLOW);
  expect_errno("setlk_seek_cur_before_zero_einval", lk(a, F_SETLK, F_WRLCK, SEEK_CUR, -300, 1),
               EINVAL);
  expect_errno("getlk_unlock_type_einval", lk(a, F_GETLK, F_UNLCK, SEEK_SET, 0, 0), EINVAL);
  expect_errno("getlk_bad_type_einval", lk(a, F_GETLK, 9, SEEK_SET, 0, 0), EINVAL);
  expect_errno("getlk_bad_whence_einval", lk(a, F_GETLK, F_RDLCK, 3, 0, 0), EINVAL);
  expect_errno("read_lock_on_write_only_fd_ebadf", setlk(wo, F_RDLCK, 0, 1), EBADF);
  expect_errno("write_lock_on_read_only_fd_ebadf", setlk(ro, F_WRLCK, 0, 1), EBADF);
  expect_errno("bad_whence_checked_before_mode", lk(wo, F_SETLK, F_RDLCK, 9, 0, 1), EINVAL);
  expect_eq("read_lock_on_read_only_fd", setlk(ro, F_RDLCK, 0, 1), 0);
  expect_eq("write_lock_on_write_only_fd", setlk(wo, F_WRLCK, 5, 1), 0);
  expect_eq("unlock_on_read_only_fd", setlk(ro, F_UNLCK, 0, 0), 0);
  expect_getlk("getlk_on_write_only_fd", wo, F_GETLK, F_RDLCK, 0, 0, "F_UNLCK");
  expect_errno("setlk_bad_fd_ebadf", setlk(999, F_WRLCK, 0, 1), EBADF);
  expect_errno("getlk_bad_fd_ebadf", lk(-1, F_GETLK, F_WRLCK, SEEK_SET, 0, 1), EBADF);
  int op = open(path, O_PATH);
  expect_errno("setlk_o_path_ebadf", setlk(op, F_RDLCK, 0, 1), EBADF);
  expect_errno("getlk_o_path_ebadf", lk(op, F_GETLK, F_RDLCK, SEEK_SET, 0, 1), EBADF);
  close(op);
  expect_errno("setlk_bad_pointer_efault", fcntl(a, F_SETLK, (struct flock *)8), EFAULT);
  expect_errno("getlk_bad_pointer_efault", fcntl(a, F_GETLK, (struct flock *)8), EFAULT);
  close(ro);
  close(wo);
  close(a);
}

static void posix_close_rule(void) {
  int a = open_rw();
  setlk(a, F_WRLCK, 0, 10);
  int other = open_rw();
  close(other);
  probe("closing_another_open_file_releases", a, F_WRLCK, 0, 0, "F_UNLCK");

  setlk(a, F_WRLCK, 0, 10);
  int d = dup(a);
  close(d);
  probe("closing_a_dup_releases", a, F_WRLCK, 0, 0, "F_UNLCK");

  setlk(a, F_WRLCK, 0, 10);
  d = dup(a);
  expect_eq("unlock_through_dup", setlk(d, F_UNLCK, 0, 0), 0);
  probe("unlock_through_dup_released", a, F_WRLCK, 0, 0, "F_UNLCK");
  close(d);

  setlk(a, F_WRLCK, 0, 10);
  pid_t p = spawn();
  if (p == 0) {
    close(a);
    child_done();
  }
  reap("child_closes_inherited_fd", p);
  probe("child_close_keeps_parents_lock", a, F_WRLCK, 0, 0,
        "F_WRLCK whence=0 start=0 len=10 pid=parent");

  /* dup2 over an fd of the file closes it, and so releases too. */
  int e = open_rw();
  expect_eq("dup2_over_fd_of_file", dup2(e, open_rw()) >= 0, 1);
  probe("dup2_released", a, F_WRLCK, 0, 0, "F_UNLCK");
  close(e);
  close(a);
}

static void posix_exit_and_wait(void) {
  int a = open_rw();
  int ready[2], go[2];
  make_pipe(ready);
  make_pipe(go);
  pid_t p = spawn();
  if (p == 0) {
    setlk(a, F_WRLCK, 0, 10);
    put_byte(ready[1]);
    get_byte(go[0]);
    _exit(0); /* no unlock: exit releases */
  }
  known_child = p;
  get_byte(ready[0]);
  expect_getlk("getlk_sees_childs_lock", a, F_GETLK, F_RDLCK, 0, 0,
               "F_WRLCK whence=0 start=0 len=10 pid=child");
  put_byte(go[1]);
  reap("locking_child_exits", p);
  expect_getlk("exit_released_childs_lock", a, F_GETLK, F_RDLCK, 0, 0, "F_UNLCK");

  /* F_SETLKW waits for the holder. */
  setlk(a, F_WRLCK, 0, 10);
  p = spawn();
  if (p == 0) {
    int own = open_rw();
    expect_errno("setlk_before_wait_eagain", setlk(own, F_WRLCK, 5, 1), EAGAIN);
    put_byte(ready[1]);
    expect_eq("setlkw_granted_after_unlock", lk(own, F_SETLKW, F_WRLCK, SEEK_SET, 5, 1), 0);
    put_byte(ready[1]);
    get_byte(go[0]);
    child_done();
  }
  known_child = p;
  get_byte(ready[0]);
  setlk(a, F_UNLCK, 0, 0);
  get_byte(ready[0]);
  expect_getlk("waiter_holds_the_lock", a, F_GETLK, F_WRLCK, 0, 0,
               "F_WRLCK whence=0 start=5 len=1 pid=child");
  put_byte(go[1]);
  reap("setlkw_child", p);
  known_child = 0;
  close(ready[0]);
  close(ready[1]);
  close(go[0]);
  close(go[1]);
  close(a);
}

/* Parent holds byte 0, the child byte 1; each then waits for the other's
 * byte. Whichever waits second closes the cycle and gets EDEADLK; it then
 * gives its byte up so the other one is granted. */
static void posix_deadlock(void) {
  int a = open_rw();
  int ready[2], result[2];
  make_pipe(ready);
  make_pipe(result);
  setlk(a, F_WRLCK, 0, 1);
  pid_t p = spawn();
  if (p == 0) {
    int own = open_rw();
    setlk(own, F_WRLCK, 1, 1);
    put_byte(ready[1]);
    int r = lk(own, F_SETLKW, F_WRLCK, SEEK_SET, 0, 1);
    char c = r == 0 ? 'g' : errno == EDEADLK ? 'd' : 'e';
    if (c == 'd')
      setlk(own, F_UNLCK, 1, 1);
    if (write(result[1], &c, 1) != 1)
      die("write");
    _exit(0);
  }
  get_byte(ready[0]);
  int r = lk(a, F_SETLKW, F_WRLCK, SEEK_SET, 1, 1);
  char mine = r == 0 ? 'g' : errno == EDEADLK ? 'd' : 'e';
  if (mine == 'd')
    setlk(a, F_UNLCK, 0, 1);
  char theirs = 0;
  if (read(result[0], &theirs, 1) != 1)
    die("read");
  reap("deadlock_child", p);
  expect_true("edeadlk_for_exactly_one_waiter",
              (mine == 'd' && theirs == 'g') || (mine == 'g' && theirs == 'd'));
  setlk(a, F_UNLCK, 0, 0);
  close(ready[0]);
  close(ready[1]);
  close(result[0]);
  close(result[1]);
  close(a);
}

/* --- OFD locks ---------------------------------------------------------- */

static int ofd(int fd, int cmd, int type, off_t start, off_t len, pid_t pid) {
  struct flock fl = {0};
  fl.l_type = (short)type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  fl.l_pid = pid;
  return fcntl(fd, cmd, &fl);
}

static void ofd_locks(void) {
  int a = open_rw(), b = open_rw();
  expect_eq("ofd_setlk", ofd(a, F_OFD_SETLK, F_WRLCK, 0, 10, 0), 0);
  expect_errno("posix_lock_conflicts_with_own_ofd_lock", setlk(b, F_WRLCK, 5, 1), EAGAIN);
  expect_getlk("getlk_reports_ofd_lock_pid_minus_one", b, F_GETLK, F_WRLCK, 0, 0,
               "F_WRLCK whence=0 start=0 len=10 pid=-1");
  expect_errno("ofd_locks_of_two_opens_conflict", ofd(b, F_OFD_SETLK, F_RDLCK, 5, 1, 0), EAGAIN);
  expect_getlk("ofd_getlk_other_open", b, F_OFD_GETLK, F_WRLCK, 0, 0,
               "F_WRLCK whence=0 start=0 len=10 pid=-1");
  expect_getlk("ofd_getlk_own_lock_never_conflicts", a, F_OFD_GETLK, F_WRLCK, 0, 0, "F_UNLCK");
  expect_getlk("ofd_getlk_unlck_reports_own_lock", a, F_OFD_GETLK, F_UNLCK, 0, 0,
               "F_WRLCK whence=0 start=0 len=10 pid=-1");
  expect_getlk("ofd_getlk_unlck_other_open", b, F_OFD_GETLK, F_UNLCK, 0, 0, "F_UNLCK");
  expect_errno("ofd_setlk_nonzero_pid_einval", ofd(b, F_OFD_SETLK, F_RDLCK, 20, 1, 1), EINVAL);
  expect_errno("ofd_getlk_nonzero_pid_einval", ofd(b, F_OFD_GETLK, F_RDLCK, 20, 1, 1), EINVAL);

  int d = dup(a);
  close(d);
  int other = open_rw();
  close(other);
  expect_getlk("ofd_lock_survives_closing_other_fds", b, F_GETLK, F_WRLCK, 0, 0,
               "F_WRLCK whence=0 start=0 len=10 pid=-1");

  expect_eq("posix_lock_beside_ofd_lock", setlk(b, F_WRLCK, 20, 10), 0);
  expect_errno("ofd_lock_conflicts_with_own_posix_lock", ofd(a, F_OFD_SETLK, F_WRLCK, 25, 1, 0),
               EAGAIN);
  expect_getlk("ofd_getlk_reports_posix_owner", a, F_OFD_GETLK, F_WRLCK, 20, 0,
               "F_WRLCK whence=0 start=20 len=10 pid=self");
  setlk(b, F_UNLCK, 0, 0);

  /* A forked child shares the description, so it owns the OFD lock too. */
  pid_t p = spawn();
  if (p == 0) {
    expect_eq("ofd_child_shares_description_lock", ofd(a, F_OFD_SETLK, F_WRLCK, 0, 10, 0), 0);
    expect_eq("ofd_child_unlocks", ofd(a, F_OFD_SETLK, F_UNLCK, 0, 0, 0), 0);
    child_done();
  }
  reap("ofd_child", p);
  expect_getlk("ofd_child_unlock_released", b, F_GETLK, F_WRLCK, 0, 0, "F_UNLCK");

  ofd(a, F_OFD_SETLK, F_RDLCK, 0, 10, 0);
  expect_eq("ofd_read_locks_share", ofd(b, F_OFD_SETLK, F_RDLCK, 5, 10, 0), 0);
  ofd(b, F_OFD_SETLK, F_UNLCK, 0, 0, 0);
  close(a);
  expect_getlk("ofd_released_by_last_close", b, F_GETLK, F_WRLCK, 0, 0, "F_UNLCK");
  close(b);
}

/* flock locks and record locks do not see each other. */
static void flock_and_posix_are_separate(void) {
  int a = open_rw();
  flock(a, LOCK_EX);
  pid_t p = spawn();
  if (p == 0) {
    int own = open_rw();
    expect_eq("posix_lock_beside_flock", setlk(own, F_WRLCK, 0, 0), 0);
    expect_errno("flock_still_excludes", flock(own, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    child_done();
  }
  reap("separate_child", p);
  expect_eq("ofd_lock_beside_flock", ofd(a, F_OFD_SETLK, F_WRLCK, 0, 0, 0), 0);
  close(a);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/tmp";
  snprintf(path, sizeof path, "%s/moat-locks-XXXXXX", dir);
  int fd = mkstemp(path);
  if (fd < 0)
    die("mkstemp");
  close(fd);

  flock_basics();
  flock_fork();
  posix_ranges();
  posix_errors();
  posix_close_rule();
  posix_exit_and_wait();
  posix_deadlock();
  ofd_locks();
  flock_and_posix_are_separate();
  interruptions();

  unlink(path);
  return check_finish();
}
