/*
 * procfs: what a process reads about itself, its threads and its children in
 * /proc agrees with what the system calls say — stat, status, cmdline,
 * environ, comm, the exe/cwd/root/fd magic links, fdinfo, maps, task/,
 * limits, mounts, the zombie and reaped states of a child, /proc/sys/kernel
 * and the system-wide files.
 *
 * Every check compares /proc against a value the program knows (its pid, a
 * name it set, a file it made), so the output holds no pid, address or time.
 *
 * Checks that moat does not pass yet run only with the argument "gaps": they
 * state what Linux does (a native run passes them all) and are the to-do list
 * of moat's procfs. The tests run the program without it.
 *
 * usage: procfs [gaps]
 *        procfs sleeper ...  (internal: a child that waits for EOF on stdin)
 */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/eventfd.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char self_exe[PATH_MAX]; /* realpath(argv[0]) */
static int gaps;                /* also run the checks moat fails today */
static char scratch[64];        /* a directory of our own under /tmp */

/* ------------------------------------------------------------------------- */
/* Reading /proc. */

/* Reads all of `path` (NUL-terminated) into out: its length, or -1 (errno). */
static long slurp(const char *path, char *out, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, out + len, cap - 1 - len);
    if (n < 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
    }
    if (n == 0)
      break;
    len += (size_t)n;
    if (len == cap - 1)
      break;
  }
  close(fd);
  out[len] = 0;
  return (long)len;
}

/* readlink, NUL-terminated: "" (and errno set) on failure. */
static long link_text(const char *path, char *out, size_t cap) {
  ssize_t n = readlink(path, out, cap - 1);
  out[n < 0 ? 0 : n] = 0;
  return n;
}

/* The value of "Key:\t..." in a status-like text (up to the newline). */
static int field_of(const char *text, const char *key, char *out, size_t cap) {
  size_t klen = strlen(key);
  for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
      const char *v = line + klen + 1;
      while (*v == '\t' || *v == ' ')
        v++;
      size_t n = strcspn(v, "\n");
      if (n >= cap)
        n = cap - 1;
      memcpy(out, v, n);
      out[n] = 0;
      return 1;
    }
  }
  out[0] = 0;
  return 0;
}

/* The whole line (without its newline) that begins with `prefix`. */
static int line_starting(const char *text, const char *prefix, char *out, size_t cap) {
  size_t plen = strlen(prefix);
  for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    if (strncmp(line, prefix, plen) == 0) {
      size_t n = strcspn(line, "\n");
      if (n >= cap)
        n = cap - 1;
      memcpy(out, line, n);
      out[n] = 0;
      return 1;
    }
  }
  out[0] = 0;
  return 0;
}

/* /proc/[pid]/stat, split: f[1] is the pid, f[2] the comm (without its
 * parentheses), f[3].. the rest; the comm may hold spaces and ')', so it
 * ends at the last ')'. */
struct stat_fields {
  int n; /* fields, counting from 1 */
  char comm[64];
  char f[64][32];
};

static int parse_stat(const char *text, struct stat_fields *s) {
  memset(s, 0, sizeof *s);
  const char *open = strchr(text, '(');
  const char *close = strrchr(text, ')');
  if (!open || !close || close < open)
    return 0;
  snprintf(s->f[1], sizeof s->f[1], "%.*s", (int)(open - text - 1), text);
  size_t clen = (size_t)(close - open - 1);
  if (clen >= sizeof s->comm)
    clen = sizeof s->comm - 1;
  memcpy(s->comm, open + 1, clen);
  s->comm[clen] = 0;
  snprintf(s->f[2], sizeof s->f[2], "%.31s", s->comm);
  s->n = 2;
  const char *p = close + 1;
  while (*p && *p != '\n') {
    while (*p == ' ')
      p++;
    if (!*p || *p == '\n')
      break;
    size_t n = strcspn(p, " \n");
    if (s->n + 1 < 64) {
      s->n++;
      snprintf(s->f[s->n], sizeof s->f[s->n], "%.*s", (int)n, p);
    }
    p += n;
  }
  return 1;
}

static int read_stat(const char *path, struct stat_fields *s) {
  static char text[4096];
  if (slurp(path, text, sizeof text) < 0)
    return 0;
  return parse_stat(text, s);
}

static long long num(const char *s) { return strtoll(s, NULL, 10); }
static unsigned long long unum(const char *s) { return strtoull(s, NULL, 10); }

/* The state letter of `path` once it becomes `want` (a task that was just told
 * to block may still be running for a moment), or its last state. */
static char settled_state(const char *path, char want) {
  struct stat_fields s;
  char got = '?';
  for (int i = 0; i < 200000; i++) {
    if (!read_stat(path, &s))
      return '?';
    got = s.f[3][0];
    if (got == want)
      break;
    sched_yield();
  }
  return got;
}

/* Entries of a directory (without . and ..), sorted, joined by ','. */
static int cmp_names(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  char *ex, *ey;
  long nx = strtol(x, &ex, 10), ny = strtol(y, &ey, 10);
  if (!*ex && !*ey && *x && *y)
    return (nx > ny) - (nx < ny);
  return strcmp(x, y);
}

static int list_dir(const char *path, char names[][32], int max) {
  DIR *d = opendir(path);
  if (!d)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    if (n < max)
      snprintf(names[n++], 32, "%.31s", e->d_name);
  }
  closedir(d);
  return n;
}

static int has_name(char names[][32], int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(names[i], name))
      return 1;
  return 0;
}

static void sorted_list(char names[][32], int n, char *out, size_t cap) {
  const char *ptrs[256];
  for (int i = 0; i < n && i < 256; i++)
    ptrs[i] = names[i];
  qsort(ptrs, (size_t)n, sizeof ptrs[0], cmp_names);
  out[0] = 0;
  size_t o = 0;
  for (int i = 0; i < n && o + 1 < cap; i++)
    o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "," : "", ptrs[i]);
}

static const char *pid_text(long pid) {
  static char t[4][32];
  static int next;
  char *s = t[next++ % 4];
  snprintf(s, 32, "%ld", pid);
  return s;
}

/* ------------------------------------------------------------------------- */
/* /proc/self/stat and status. */

static void self_stat(void) {
  struct stat_fields s;
  char name[32] = {0};
  prctl(PR_GET_NAME, name);
  expect_true("stat_parses", read_stat("/proc/self/stat", &s));
  expect_eq("stat_field_count", s.n, 52);
  expect_true("stat_pid_is_getpid", num(s.f[1]) == getpid());
  expect_true("stat_comm_is_pr_get_name", strcmp(s.comm, name) == 0);
  expect_str("stat_state_of_self", s.f[3], "R");
  expect_true("stat_ppid_is_getppid", num(s.f[4]) == getppid());
  expect_true("stat_pgrp_is_getpgrp", num(s.f[5]) == getpgrp());
  expect_true("stat_session_is_getsid", num(s.f[6]) == getsid(0));
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  expect_true("stat_nice_is_getpriority", num(s.f[19]) == nice);
  expect_true("stat_priority_is_20_plus_nice", num(s.f[18]) == 20 + nice);
  expect_str("stat_num_threads", s.f[20], "1");
  expect_str("stat_exit_signal", s.f[38], "17");

  /* The start time, in clock ticks since boot, against CLOCK_BOOTTIME. */
  struct timespec boot;
  clock_gettime(CLOCK_BOOTTIME, &boot);
  double started = (double)unum(s.f[22]) / (double)sysconf(_SC_CLK_TCK);
  double now = (double)boot.tv_sec + boot.tv_nsec / 1e9;
  expect_true("stat_starttime_is_recent_boottime", started <= now + 0.05 && now - started < 30);

  /* vsize (bytes) and statm's size (pages) describe the same address space
   * (read back to back: nothing maps memory in between). */
  static char statm[256];
  read_stat("/proc/self/stat", &s);
  long len = slurp("/proc/self/statm", statm, sizeof statm);
  expect_ok("statm_read", len);
  unsigned long size_pages = 0, rss_pages = 0;
  int got = sscanf(statm, "%lu %lu", &size_pages, &rss_pages);
  int words = 0;
  for (char *p = statm; *p; p++)
    words += (p == statm || p[-1] == ' ') && *p != ' ' && *p != '\n';
  expect_eq("statm_field_count", words, 7);
  expect_true("statm_rss_at_most_size", got == 2 && rss_pages > 0 && rss_pages <= size_pages);
  expect_true("stat_vsize_is_statm_size",
              unum(s.f[23]) == size_pages * (unsigned long long)sysconf(_SC_PAGESIZE));
}

/* Signals as stat (decimal, first 31 only) and status (hex) show them. */
static void on_signal(int sig) { (void)sig; }

static void signal_sets(void) {
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGRTMIN + 5, &sa, NULL);
  signal(SIGUSR2, SIG_IGN);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &old);
  kill(getpid(), SIGHUP);                            /* pending for the process */
  syscall(SYS_tgkill, getpid(), gettid(), SIGTERM);  /* pending for this thread */

  struct stat_fields s;
  read_stat("/proc/self/stat", &s);
  unsigned long long pending = unum(s.f[31]), blocked = unum(s.f[32]);
  unsigned long long ignored = unum(s.f[33]), caught = unum(s.f[34]);
  const unsigned long long bit = 1;
  expect_true("stat_sigignore_has_sigusr2", (ignored >> (SIGUSR2 - 1)) & bit);
  expect_true("stat_sigcatch_has_sigusr1", (caught >> (SIGUSR1 - 1)) & bit);
  /* Field 31 is the thread's own pending set (not the process's). */
  expect_true("stat_signal_has_thread_pending", (pending >> (SIGTERM - 1)) & bit);
  expect_true("stat_signal_lacks_process_pending", !((pending >> (SIGHUP - 1)) & bit));
  expect_true("stat_blocked_has_sighup", (blocked >> (SIGHUP - 1)) & bit);
  expect_true("stat_blocked_has_sigterm", (blocked >> (SIGTERM - 1)) & bit);
  /* Only signals 1-31 are shown (SIGRTMIN+5 is caught but not listed). */
  expect_true("stat_signal_sets_are_31_bits",
              pending <= 0x7fffffff && blocked <= 0x7fffffff && ignored <= 0x7fffffff &&
                  caught <= 0x7fffffff);

  static char status[8192];
  char v[128];
  slurp("/proc/self/status", status, sizeof status);
  field_of(status, "SigPnd", v, sizeof v);
  unsigned long long sigpnd = strtoull(v, NULL, 16);
  field_of(status, "ShdPnd", v, sizeof v);
  unsigned long long shdpnd = strtoull(v, NULL, 16);
  field_of(status, "SigBlk", v, sizeof v);
  unsigned long long sigblk = strtoull(v, NULL, 16);
  field_of(status, "SigIgn", v, sizeof v);
  unsigned long long sigign = strtoull(v, NULL, 16);
  field_of(status, "SigCgt", v, sizeof v);
  unsigned long long sigcgt = strtoull(v, NULL, 16);
  expect_true("status_sigpnd_is_thread_pending",
              ((sigpnd >> (SIGTERM - 1)) & bit) && !((sigpnd >> (SIGHUP - 1)) & bit));
  expect_true("status_shdpnd_is_process_pending",
              ((shdpnd >> (SIGHUP - 1)) & bit) && !((shdpnd >> (SIGTERM - 1)) & bit));
  expect_true("status_sigblk", ((sigblk >> (SIGHUP - 1)) & bit) && ((sigblk >> (SIGTERM - 1)) & bit));
  expect_true("status_sigign_has_sigusr2", (sigign >> (SIGUSR2 - 1)) & bit);
  expect_true("status_sigcgt_has_sigusr1_and_rt", ((sigcgt >> (SIGUSR1 - 1)) & bit) &&
                                                      ((sigcgt >> (SIGRTMIN + 5 - 1)) & bit));

  /* Take both signals back and restore the dispositions. */
  struct timespec zero = {0, 0};
  int taken = 0;
  while (sigtimedwait(&block, NULL, &zero) > 0)
    taken++;
  expect_eq("pending_signals_taken", taken, 2);

  /* A blocked signal whose default action is to ignore it still waits: the
   * handler may change before it is unblocked. */
  sigset_t winch, pend;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  sigprocmask(SIG_BLOCK, &winch, NULL);
  syscall(SYS_tgkill, getpid(), gettid(), SIGWINCH);
  sigpending(&pend);
  expect_true("blocked_default_ignored_signal_stays_pending", sigismember(&pend, SIGWINCH));
  slurp("/proc/self/status", status, sizeof status);
  field_of(status, "SigPnd", v, sizeof v);
  expect_true("status_sigpnd_has_blocked_sigwinch", (strtoull(v, NULL, 16) >> (SIGWINCH - 1)) & bit);
  sigtimedwait(&winch, NULL, &zero);
  sigprocmask(SIG_SETMASK, &old, NULL);
  signal(SIGUSR1, SIG_DFL);
  signal(SIGRTMIN + 5, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
}

static void self_status(void) {
  static char status[8192];
  char v[256], want[256];
  umask(027);
  expect_ok("status_read", slurp("/proc/self/status", status, sizeof status));

  /* The first lines, in Linux's order (later kernels add lines further down). */
  const char *keys[] = {"Name",  "Umask", "State",     "Tgid", "Ngid", "Pid",
                        "PPid",  "TracerPid", "Uid",   "Gid",  "FDSize", "Groups"};
  const char *line = status;
  int in_order = 1;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    size_t k = strlen(keys[i]);
    if (!line || strncmp(line, keys[i], k) != 0 || line[k] != ':')
      in_order = 0;
    line = line ? strchr(line, '\n') : NULL;
    line = line ? line + 1 : NULL;
  }
  expect_true("status_first_lines_in_order", in_order);

  char name[32] = {0};
  prctl(PR_GET_NAME, name);
  field_of(status, "Name", v, sizeof v);
  expect_true("status_name_is_comm", strcmp(v, name) == 0);
  field_of(status, "Umask", v, sizeof v);
  expect_str("status_umask", v, "0027");
  field_of(status, "State", v, sizeof v);
  expect_str("status_state", v, "R (running)");
  field_of(status, "Tgid", v, sizeof v);
  expect_true("status_tgid_is_getpid", num(v) == getpid());
  field_of(status, "Pid", v, sizeof v);
  expect_true("status_pid_is_gettid", num(v) == gettid());
  field_of(status, "PPid", v, sizeof v);
  expect_true("status_ppid_is_getppid", num(v) == getppid());
  field_of(status, "TracerPid", v, sizeof v);
  expect_str("status_tracerpid", v, "0");

  uid_t ru, eu, su;
  gid_t rg, eg, sg;
  getresuid(&ru, &eu, &su);
  getresgid(&rg, &eg, &sg);
  snprintf(want, sizeof want, "%u\t%u\t%u\t%u", ru, eu, su, (unsigned)setfsuid(-1));
  field_of(status, "Uid", v, sizeof v);
  expect_true("status_uid_is_getresuid_and_fsuid", strcmp(v, want) == 0);
  snprintf(want, sizeof want, "%u\t%u\t%u\t%u", rg, eg, sg, (unsigned)setfsgid(-1));
  field_of(status, "Gid", v, sizeof v);
  expect_true("status_gid_is_getresgid_and_fsgid", strcmp(v, want) == 0);

  /* "Groups:\t" then each group and a space after the last (Linux keeps a
   * trailing space, even with no groups). */
  gid_t groups[256];
  int ng = getgroups(256, groups);
  size_t o = (size_t)snprintf(want, sizeof want, "Groups:\t");
  for (int i = 0; i < ng && o < sizeof want; i++)
    o += (size_t)snprintf(want + o, sizeof want - o, "%s%u", i ? " " : "", groups[i]);
  snprintf(want + o, sizeof want - o, " ");
  line_starting(status, "Groups:", v, sizeof v);
  expect_true("status_groups_line_is_getgroups", strcmp(v, want) == 0);

  /* NS*: the last value is the pid in the process's own namespace. */
  const char *ns_keys[][2] = {{"NStgid", "tgid"}, {"NSpid", "pid"}, {"NSpgid", "pgid"}, {"NSsid", "sid"}};
  long ns_want[] = {getpid(), gettid(), getpgrp(), getsid(0)};
  for (int i = 0; i < 4; i++) {
    char label[64];
    field_of(status, ns_keys[i][0], v, sizeof v);
    const char *last = strrchr(v, '\t');
    last = last ? last + 1 : v;
    snprintf(label, sizeof label, "status_%s_last_is_%s", ns_keys[i][0], ns_keys[i][1]);
    expect_true(label, *v && num(last) == ns_want[i]);
  }
  field_of(status, "Threads", v, sizeof v);
  expect_str("status_threads", v, "1");

  /* VmSize (kB) and statm's size (pages) agree when read back to back. */
  static char statm[256];
  slurp("/proc/self/status", status, sizeof status);
  slurp("/proc/self/statm", statm, sizeof statm);
  field_of(status, "VmSize", v, sizeof v);
  expect_true("status_vmsize_is_statm_size",
              unum(v) * 1024 == unum(statm) * (unsigned long long)sysconf(_SC_PAGESIZE));

  /* Cpus_allowed_list names as many CPUs as sched_getaffinity. */
  cpu_set_t set;
  sched_getaffinity(0, sizeof set, &set);
  field_of(status, "Cpus_allowed_list", v, sizeof v);
  int cpus = 0;
  for (char *p = v; *p;) {
    char *end;
    long a = strtol(p, &end, 10), b = a;
    if (*end == '-')
      b = strtol(end + 1, &end, 10);
    cpus += (int)(b - a + 1);
    p = *end == ',' ? end + 1 : end;
    if (end == p && *p)
      break;
  }
  expect_true("status_cpus_allowed_list_is_affinity", cpus == CPU_COUNT(&set));
  umask(022);
}

/* ------------------------------------------------------------------------- */
/* cmdline, environ, comm. */

static void cmdline_environ(int argc, char **argv) {
  static char text[65536], want[65536];
  long len = slurp("/proc/self/cmdline", text, sizeof text);
  size_t o = 0;
  for (int i = 0; i < argc; i++) {
    size_t n = strlen(argv[i]) + 1;
    memcpy(want + o, argv[i], n);
    o += n;
  }
  expect_true("cmdline_is_argv_joined_by_nuls", len == (long)o && memcmp(text, want, o) == 0);

  /* Read back a byte at a time, it is the same. */
  int fd = open("/proc/self/cmdline", O_RDONLY);
  size_t got = 0;
  char c;
  while (got < sizeof text && read(fd, &c, 1) == 1)
    text[got++] = c;
  close(fd);
  expect_true("cmdline_read_bytewise", got == o && memcmp(text, want, o) == 0);

  /* The kernel reads the arguments from memory: an edit in place shows. */
  char *last = argv[0] + strlen(argv[0]) - 1, saved = *last;
  *last = '#';
  slurp("/proc/self/cmdline", text, sizeof text);
  expect_true("cmdline_shows_argv_edited_in_place", text[strlen(argv[0]) - 1] == '#');
  *last = saved;

  len = slurp("/proc/self/environ", text, sizeof text);
  o = 0;
  for (char **e = environ; *e; e++) {
    size_t n = strlen(*e) + 1;
    memcpy(want + o, *e, n);
    o += n;
  }
  expect_true("environ_begins_with_environ0",
              environ[0] && len > 0 && strcmp(text, environ[0]) == 0);
  expect_true("environ_is_environment_joined_by_nuls", len == (long)o && memcmp(text, want, o) == 0);
  setenv("PROCFS_ADDED", "1", 1);
  long after = slurp("/proc/self/environ", text, sizeof text);
  expect_true("environ_ignores_setenv", after == len && !memmem(text, (size_t)after, "PROCFS_ADDED", 12));
  unsetenv("PROCFS_ADDED");
}

static void comm(const char *argv0) {
  static char text[256];
  char name[32] = {0}, want[64];
  prctl(PR_GET_NAME, name);
  const char *base = strrchr(argv0, '/');
  base = base ? base + 1 : argv0;
  expect_true("comm_is_exe_basename", strncmp(name, base, 15) == 0);
  snprintf(want, sizeof want, "%s\n", name);
  slurp("/proc/self/comm", text, sizeof text);
  expect_true("comm_is_name_newline", strcmp(text, want) == 0);

  /* A file opened before the rename is generated when read, not when opened. */
  int early = open("/proc/self/comm", O_RDONLY);
  expect_eq("pr_set_name", prctl(PR_SET_NAME, "renamed"), 0);
  slurp("/proc/self/comm", text, sizeof text);
  expect_str("comm_after_rename", quoted(text, strlen(text)), "\"renamed\\n\"");
  ssize_t n = read(early, text, sizeof text - 1);
  text[n < 0 ? 0 : n] = 0;
  expect_str("comm_opened_before_rename", quoted(text, strlen(text)), "\"renamed\\n\"");
  close(early);
  struct stat_fields s;
  read_stat("/proc/self/stat", &s);
  expect_str("stat_comm_after_rename", s.comm, "renamed");
  static char status[8192];
  char v[64];
  slurp("/proc/self/status", status, sizeof status);
  field_of(status, "Name", v, sizeof v);
  expect_str("status_name_after_rename", v, "renamed");

  /* Spaces and parentheses in the name: the comm ends at the last ')'. */
  prctl(PR_SET_NAME, "a) b (c)");
  read_stat("/proc/self/stat", &s);
  expect_str("stat_comm_with_parens", s.comm, "a) b (c)");
  expect_true("stat_pid_after_odd_comm", num(s.f[1]) == getpid());
  expect_str("stat_state_after_odd_comm", s.f[3], "R");

  prctl(PR_SET_NAME, "abcdefghijklmnopqrstuvwxyz");
  slurp("/proc/self/comm", text, sizeof text);
  expect_str("comm_truncated_to_15", quoted(text, strlen(text)), "\"abcdefghijklmno\\n\"");

  /* Writing comm renames the task, as PR_SET_NAME does: at most 15 bytes are
   * kept, the whole write counts, and a newline is part of the name. */
  int fd = open("/proc/self/comm", O_WRONLY);
  expect_ok("comm_open_for_write", fd);
  expect_eq("comm_write", write(fd, "written", 7), 7);
  memset(name, 0, sizeof name);
  prctl(PR_GET_NAME, name);
  expect_str("comm_written_is_pr_get_name", name, "written");
  expect_eq("comm_write_long", write(fd, "0123456789abcdefghij", 20), 20);
  slurp("/proc/self/comm", text, sizeof text);
  expect_str("comm_written_truncated_to_15", quoted(text, strlen(text)), "\"0123456789abcde\\n\"");
  expect_eq("comm_write_with_newline", write(fd, "nl\n", 3), 3);
  slurp("/proc/self/comm", text, sizeof text);
  expect_str("comm_written_keeps_newline", quoted(text, strlen(text)), "\"nl\\n\\n\"");
  close(fd);

  prctl(PR_SET_NAME, base);
}

/* ------------------------------------------------------------------------- */
/* The magic links: exe, cwd, root, self, thread-self. */

static void links(const char *argv0) {
  char text[PATH_MAX], want[PATH_MAX];
  link_text("/proc/self/exe", text, sizeof text);
  expect_true("exe_is_realpath_argv0", strcmp(text, self_exe) == 0);
  struct stat a, b;
  stat(argv0, &a);
  expect_eq("stat_through_exe", stat("/proc/self/exe", &b), 0);
  expect_true("exe_is_the_program_file", a.st_ino == b.st_ino && a.st_dev == b.st_dev);
  int fd = open("/proc/self/exe", O_RDONLY);
  char magic[4] = {0};
  expect_eq("exe_read_elf_magic", read(fd, magic, 4), 4);
  expect_true("exe_starts_with_elf_magic", memcmp(magic, "\x7f" "ELF", 4) == 0);
  close(fd);
  expect_eq("lstat_exe", lstat("/proc/self/exe", &b), 0);
  expect_true("exe_is_symlink", S_ISLNK(b.st_mode));
  /* magic links have no size */
  expect_eq("exe_link_size", b.st_size, 0);

  char cwd[PATH_MAX];
  getcwd(cwd, sizeof cwd);
  link_text("/proc/self/cwd", text, sizeof text);
  expect_true("cwd_is_getcwd", strcmp(text, cwd) == 0);
  chdir("/tmp");
  link_text("/proc/self/cwd", text, sizeof text);
  expect_str("cwd_after_chdir_tmp", text, "/tmp");
  expect_eq("stat_through_cwd", stat("/proc/self/cwd", &b), 0);
  stat("/tmp", &a);
  expect_true("cwd_is_tmp_dir", a.st_ino == b.st_ino && S_ISDIR(b.st_mode));

  /* A removed working directory: " (deleted)" after its last path. */
  char gone[96];
  snprintf(gone, sizeof gone, "%s/gone", scratch);
  mkdir(gone, 0755);
  chdir(gone);
  rmdir(gone);
  link_text("/proc/self/cwd", text, sizeof text);
  snprintf(want, sizeof want, "%s (deleted)", gone);
  expect_true("cwd_removed_shows_deleted", strcmp(text, want) == 0);
  chdir(cwd);

  link_text("/proc/self/root", text, sizeof text);
  expect_str("root_link", text, "/");
  static char rooted[PATH_MAX + 32];
  snprintf(rooted, sizeof rooted, "/proc/self/root%s", self_exe);
  expect_eq("stat_through_root", stat(rooted, &b), 0);

  link_text("/proc/self", text, sizeof text);
  expect_true("self_is_getpid", strcmp(text, pid_text(getpid())) == 0);
  link_text("/proc/thread-self", text, sizeof text);
  snprintf(want, sizeof want, "%d/task/%d", getpid(), gettid());
  expect_true("thread_self_is_pid_task_tid", strcmp(text, want) == 0);
  expect_eq("lstat_self", lstat("/proc/self", &b), 0);
  expect_true("self_is_symlink", S_ISLNK(b.st_mode));
  expect_eq("stat_self", stat("/proc/self", &b), 0);
  expect_true("self_is_dir_owned_by_euid", S_ISDIR(b.st_mode) && b.st_uid == geteuid());
  snprintf(want, sizeof want, "/proc/%d", getpid());
  stat(want, &a);
  expect_true("self_is_proc_pid", a.st_ino == b.st_ino);

  /* /proc/self and /proc/<pid> read the same files. */
  snprintf(want, sizeof want, "/proc/%d/cmdline", getpid());
  static char t1[4096], t2[4096];
  long n1 = slurp(want, t1, sizeof t1), n2 = slurp("/proc/self/cmdline", t2, sizeof t2);
  expect_true("proc_pid_cmdline_is_self_cmdline", n1 > 0 && n1 == n2 && memcmp(t1, t2, (size_t)n1) == 0);

  /* ns links name a namespace; following one reaches it. */
  link_text("/proc/self/ns/pid", text, sizeof text);
  unsigned long long ino = 0;
  expect_true("ns_pid_link_format", sscanf(text, "pid:[%llu]", &ino) == 1);
  int r = stat("/proc/self/ns/pid", &b);
  expect_eq("stat_through_ns_pid", r, 0);
  expect_true("ns_pid_inode_is_link_number", r == 0 && b.st_ino == ino);
  int nsfd = open("/proc/self/ns/pid", O_RDONLY);
  expect_ok("open_ns_pid", nsfd);
  char nsbuf[8];
  expect_errno("read_ns_file", read(nsfd, nsbuf, sizeof nsbuf), EINVAL);
  struct statfs nsfs;
  expect_true("ns_file_is_on_nsfs", fstatfs(nsfd, &nsfs) == 0 && nsfs.f_type == 0x6e736673);
  close(nsfd);
  char ns[16][32];
  char list[512];
  int nn = list_dir("/proc/self/ns", ns, 16);
  sorted_list(ns, nn, list, sizeof list);
  expect_str("ns_entries", list,
             "cgroup,ipc,mnt,net,pid,pid_for_children,time,time_for_children,user,uts");
}

/* ------------------------------------------------------------------------- */
/* fd/ and fdinfo/. */

static const char *mode_text(mode_t mode) {
  static char t[16];
  snprintf(t, sizeof t, "%o", (unsigned)(mode & 07777));
  return t;
}

static void fd_links(void) {
  char path[128], lnk[64], text[PATH_MAX], want[PATH_MAX];
  struct stat st, lst;
  snprintf(path, sizeof path, "%s/file", scratch);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  write(fd, "deleted but open", 16);
  snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", fd);
  link_text(lnk, text, sizeof text);
  expect_true("fd_link_is_path", strcmp(text, path) == 0);
  expect_eq("lstat_fd_link", lstat(lnk, &lst), 0);
  expect_true("fd_link_is_symlink", S_ISLNK(lst.st_mode));
  expect_eq("fd_link_size", lst.st_size, 64);
  expect_str("fd_link_mode_rdwr", mode_text(lst.st_mode), "700");
  expect_eq("stat_through_fd_link", stat(lnk, &st), 0);
  struct stat fst;
  fstat(fd, &fst);
  expect_true("fd_link_is_the_file", st.st_ino == fst.st_ino && st.st_dev == fst.st_dev);

  unlink(path);
  link_text(lnk, text, sizeof text);
  snprintf(want, sizeof want, "%s (deleted)", path);
  expect_true("fd_link_of_unlinked_file", strcmp(text, want) == 0);
  int again = open(lnk, O_RDONLY);
  expect_ok("open_fd_link_of_unlinked_file", again);
  char data[32] = {0};
  expect_eq("read_reopened_unlinked_file", read(again, data, sizeof data - 1), 16);
  expect_str("reopened_unlinked_file_data", data, "deleted but open");
  fstat(again, &st);
  expect_true("reopened_is_same_inode", st.st_ino == fst.st_ino);
  expect_eq("reopened_has_own_offset", lseek(fd, 0, SEEK_CUR), 16);
  close(again);

  /* Pipes: "pipe:[inode]"; opening the link opens the same pipe. */
  int p[2];
  pipe(p);
  fstat(p[0], &st);
  snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)st.st_ino);
  snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", p[0]);
  link_text(lnk, text, sizeof text);
  expect_true("pipe_link_has_pipe_prefix", strncmp(text, "pipe:[", 6) == 0);
  expect_true("pipe_link_is_pipe_inode", strcmp(text, want) == 0);
  lstat(lnk, &lst);
  expect_str("fd_link_mode_read_end", mode_text(lst.st_mode), "500");
  snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", p[1]);
  link_text(lnk, text, sizeof text);
  expect_true("pipe_write_end_same_inode", strcmp(text, want) == 0);
  lstat(lnk, &lst);
  expect_str("fd_link_mode_write_end", mode_text(lst.st_mode), "300");
  expect_eq("stat_through_pipe_link", stat(lnk, &st), 0);
  expect_true("pipe_link_stats_as_fifo", S_ISFIFO(st.st_mode));

  snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", p[0]);
  int r2 = open(lnk, O_RDONLY);
  expect_ok("open_pipe_read_end_link", r2);
  write(p[1], "through proc", 12);
  memset(data, 0, sizeof data);
  expect_eq("read_pipe_through_proc", read(r2, data, sizeof data - 1), 12);
  expect_str("pipe_data_through_proc", data, "through proc");
  snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", p[1]);
  int w2 = open(lnk, O_WRONLY);
  expect_ok("open_pipe_write_end_link", w2);
  write(w2, "back", 4);
  memset(data, 0, sizeof data);
  expect_eq("read_pipe_written_through_proc", read(p[0], data, sizeof data - 1), 4);
  expect_str("pipe_data_written_through_proc", data, "back");
  close(w2);
  close(r2);

  /* Other nameless files. (Sockets and memfds: moat has neither yet.) */
  int efd = eventfd(0, EFD_CLOEXEC);
  snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", efd);
  link_text(lnk, text, sizeof text);
  expect_str("eventfd_link", text, "anon_inode:[eventfd]");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", ep);
  link_text(lnk, text, sizeof text);
  expect_str("epoll_link", text, "anon_inode:[eventpoll]");

  /* Inherited descriptors (stdin is /dev/null under the tests) name what
   * fstat describes. */
  if (gaps) {
    fstat(0, &fst);
    link_text("/proc/self/fd/0", text, sizeof text);
    int same = stat("/proc/self/fd/0", &st) == 0 && st.st_ino == fst.st_ino && st.st_dev == fst.st_dev;
    if (S_ISCHR(fst.st_mode) && fst.st_rdev == makedev(1, 3))
      same &= strcmp(text, "/dev/null") == 0;
    else if (S_ISFIFO(fst.st_mode))
      same &= strncmp(text, "pipe:[", 6) == 0;
    else
      same &= text[0] == '/';
    expect_true("stdin_link_is_what_fstat_says", same);
  }

  /* The listing names exactly the open descriptors. */
  DIR *d = opendir("/proc/self/fd");
  char listed[1024] = {0};
  struct dirent *e;
  int other = 0;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long n = strtol(e->d_name, &end, 10);
    if (e->d_name[0] == '.')
      continue;
    if (*end || n < 0 || n >= 1024)
      other++;
    else
      listed[n] = 1;
    if (e->d_type != DT_LNK)
      other++;
  }
  int mismatched = 0;
  for (int i = 0; i < 1024; i++)
    mismatched += listed[i] != (fcntl(i, F_GETFD) != -1);
  closedir(d);
  expect_true("fd_list_has_0_1_2", listed[0] && listed[1] && listed[2]);
  expect_true("fd_list_has_our_fds", listed[fd] && listed[p[0]] && listed[p[1]] && listed[ep]);
  expect_eq("fd_list_is_open_fds", mismatched, 0);
  expect_eq("fd_list_only_numeric_links", other, 0);

  /* Gone once closed, also through a directory opened before. */
  int dirfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY);
  close(efd);
  snprintf(lnk, sizeof lnk, "/proc/self/fd/%d", efd);
  expect_errno("readlink_closed_fd", readlink(lnk, text, sizeof text), ENOENT);
  snprintf(lnk, sizeof lnk, "%d", efd);
  expect_errno("readlinkat_closed_fd", readlinkat(dirfd, lnk, text, sizeof text), ENOENT);
  expect_errno("open_closed_fd_link", open("/proc/self/fd/999", O_RDONLY), ENOENT);
  close(dirfd);

  /* fdinfo: position and flags. */
  char info[512], v[64];
  snprintf(lnk, sizeof lnk, "/proc/self/fdinfo/%d", fd);
  lseek(fd, 5, SEEK_SET);
  slurp(lnk, info, sizeof info);
  field_of(info, "pos", v, sizeof v);
  expect_str("fdinfo_pos_after_lseek", v, "5");
  field_of(info, "flags", v, sizeof v);
  unsigned long flags = strtoul(v, NULL, 8);
  expect_true("fdinfo_flags_octal_with_leading_0", v[0] == '0');
  expect_eq("fdinfo_flags_accmode", (long)(flags & O_ACCMODE), O_RDWR);
  expect_true("fdinfo_flags_has_cloexec", (flags & O_CLOEXEC) != 0);
  expect_str("fdinfo_flags_rdwr_cloexec", v, "02100002");
  expect_true("fdinfo_has_mnt_id", field_of(info, "mnt_id", v, sizeof v));
  fcntl(fd, F_SETFD, 0);
  fcntl(fd, F_SETFL, O_APPEND);
  slurp(lnk, info, sizeof info);
  field_of(info, "flags", v, sizeof v);
  flags = strtoul(v, NULL, 8);
  expect_true("fdinfo_flags_without_cloexec", (flags & O_CLOEXEC) == 0);
  expect_true("fdinfo_flags_has_append", (flags & O_APPEND) != 0);
  snprintf(lnk, sizeof lnk, "/proc/self/fdinfo/%d", p[1]);
  slurp(lnk, info, sizeof info);
  field_of(info, "flags", v, sizeof v);
  expect_str("fdinfo_pipe_write_end_flags", v, "01");
  snprintf(lnk, sizeof lnk, "/proc/self/fdinfo/%d", efd);
  expect_errno("fdinfo_closed_fd", open(lnk, O_RDONLY), ENOENT);

  close(fd);
  close(p[0]);
  close(p[1]);
  close(ep);
}

/* ------------------------------------------------------------------------- */
/* maps. */

static char maps[1 << 18];

/* One line of /proc/self/maps. The device and inode are not compared: on an
 * overlay filesystem (moat's root) Linux shows the underlying file's, which
 * stat does not. */
struct map_entry {
  unsigned long lo, hi;
  char perms[8];
  unsigned long long off;
  char rest[256]; /* what follows "lo-hi " */
  char name[256];
  int name_col; /* where the name starts in the line (Linux pads to 73) */
};

static int parse_map_line(const char *line, size_t len, struct map_entry *e) {
  char l[512];
  snprintf(l, sizeof l, "%.*s", (int)len, line);
  int range = 0, name = 0;
  memset(e, 0, sizeof *e);
  if (sscanf(l, "%lx-%lx %n%7s %llx %*x:%*x %*u %n", &e->lo, &e->hi, &range, e->perms, &e->off,
             &name) != 4 || !name)
    return 0;
  snprintf(e->rest, sizeof e->rest, "%s", l + range);
  while (l[name] == ' ')
    name++;
  snprintf(e->name, sizeof e->name, "%s", l + name);
  e->name_col = l[name] ? name : 0;
  return 1;
}

/* The line of /proc/self/maps whose range holds addr. */
static int map_at(unsigned long addr, struct map_entry *e) {
  slurp("/proc/self/maps", maps, sizeof maps);
  for (char *line = maps; *line;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    if (parse_map_line(line, len, e) && e->lo <= addr && addr < e->hi)
      return 1;
    line += len + (nl != NULL);
  }
  memset(e, 0, sizeof *e);
  return 0;
}

static void memory_maps(void) {
  struct map_entry e;
  long page = sysconf(_SC_PAGESIZE);

  /* The program's own mappings: one executable; their perms and offsets. */
  slurp("/proc/self/maps", maps, sizeof maps);
  int exe_lines = 0, exe_exec = 0, column_73 = 1, stack = 0, parsed = 1;
  char layout[512] = "";
  int local;
  unsigned long here = (unsigned long)&local;
  for (char *line = maps; *line;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    parsed &= parse_map_line(line, len, &e);
    if (!strcmp(e.name, self_exe)) {
      exe_lines++;
      exe_exec += e.perms[2] == 'x';
      column_73 &= e.name_col == 73;
      size_t o = strlen(layout);
      snprintf(layout + o, sizeof layout - o, "%s%s@%08llx", o ? " " : "", e.perms, e.off);
    }
    if (!strcmp(e.name, "[stack]"))
      stack += e.lo <= here && here < e.hi;
    line += len + (nl != NULL);
  }
  expect_true("maps_lines_parse", parsed);
  expect_true("maps_has_exe_lines", exe_lines > 0);
  expect_eq("maps_exe_executable_lines", exe_exec, 1);
  expect_true("maps_exe_name_at_column_73", column_73);
  say("maps_exe_layout", "%s", layout);
  expect_eq("maps_stack_holds_a_local", stack, 1);
  unsigned long vdso = getauxval(AT_SYSINFO_EHDR);
  int has_vdso = vdso && map_at(vdso, &e) && !strcmp(e.name, "[vdso]");
  expect_true("maps_vdso_iff_auxv_has_it", vdso ? has_vdso : strstr(maps, "[vdso]") == NULL);

  /* A file mapped at an offset, then shared, then unlinked. */
  char path[128], deleted[160];
  snprintf(path, sizeof path, "%s/mapped", scratch);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  ftruncate(fd, 3 * page);
  char *m = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE, fd, page);
  expect_ptr("mmap_file_at_offset", m, MAP_FAILED);
  map_at((unsigned long)m, &e);
  expect_true("maps_file_range", e.lo == (unsigned long)m && e.hi == (unsigned long)m + (unsigned long)page);
  expect_str("maps_file_perms", e.perms, "r--p");
  expect_true("maps_file_offset", e.off == (unsigned long long)page);
  expect_true("maps_file_name_is_path", !strcmp(e.name, path));
  expect_eq("maps_file_name_column", e.name_col, 73);
  char *sh = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  map_at((unsigned long)sh, &e);
  expect_str("maps_shared_file_perms", e.perms, "rw-s");
  expect_true("maps_shared_file_range_and_name",
              e.lo == (unsigned long)sh && e.hi == (unsigned long)sh + 2 * (unsigned long)page &&
                  !strcmp(e.name, path) && e.off == 0);
  unlink(path);
  map_at((unsigned long)sh, &e);
  snprintf(deleted, sizeof deleted, "%s (deleted)", path);
  expect_true("maps_unlinked_file_shows_deleted", !strcmp(e.name, deleted));
  munmap(sh, 2 * (size_t)page);
  munmap(m, (size_t)page);
  close(fd);
  expect_true("maps_line_gone_after_munmap", !map_at((unsigned long)m, &e));

  /* Anonymous memory: three pages, the middle one made readable. */
  char *a = mmap(NULL, 3 * (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  mprotect(a + page, (size_t)page, PROT_READ);
  map_at((unsigned long)(a + page), &e);
  expect_str("maps_anon_readonly_line", e.rest, "r--p 00000000 00:00 0 ");
  expect_true("maps_anon_split_range", e.lo == (unsigned long)(a + page) && e.hi == (unsigned long)(a + 2 * page));
  map_at((unsigned long)a, &e);
  expect_str("maps_anon_none_line", e.rest, "---p 00000000 00:00 0 ");
  munmap(a + page, (size_t)page);
  expect_true("maps_anon_gone_after_munmap", !map_at((unsigned long)(a + page), &e));
  expect_true("maps_anon_neighbour_stays",
              map_at((unsigned long)(a + 2 * page), &e) && e.lo == (unsigned long)(a + 2 * page));
  munmap(a, 3 * (size_t)page);

  char *shared = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  map_at((unsigned long)shared, &e);
  expect_str("maps_shared_anon_name", e.name, "/dev/zero (deleted)");
  expect_str("maps_shared_anon_perms", e.perms, "rw-s");
  munmap(shared, (size_t)page);
}

/* ------------------------------------------------------------------------- */
/* smaps and smaps_rollup. */

static char smaps_text[1 << 20];

/* The block of smaps for the VMA starting at addr (up to the next VMA line),
 * copied into out. */
static int smaps_block(unsigned long addr, char *out, size_t cap) {
  slurp("/proc/self/smaps", smaps_text, sizeof smaps_text);
  char key[32];
  snprintf(key, sizeof key, "%08lx-", addr);
  char *p = strstr(smaps_text, key);
  if (!p || (p != smaps_text && p[-1] != '\n'))
    return 0;
  char *end = strstr(p, "VmFlags:");
  end = end ? strchr(end, '\n') : NULL;
  size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
  if (n >= cap)
    n = cap - 1;
  memcpy(out, p, n);
  out[n] = 0;
  return 1;
}

/* A "Key:   N kB" value of an smaps block, in kB (-1 if missing). */
static long kb_of(const char *block, const char *key) {
  char v[64];
  if (!field_of(block, key, v, sizeof v) || !strstr(v, " kB"))
    return -1;
  return atol(v);
}

/* Whether the VmFlags line has the two-letter flag. */
static int has_flag(const char *block, const char *flag) {
  char v[256], f[8];
  field_of(block, "VmFlags", v, sizeof v);
  snprintf(f, sizeof f, "%s ", flag);
  for (char *p = v; (p = strstr(p, f)) != NULL; p += 3)
    if (p == v || p[-1] == ' ')
      return 1;
  return 0;
}

static void smaps(void) {
  static char block[4096], text[8192];
  long page = sysconf(_SC_PAGESIZE);
  const char *keys[] = {"Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Shared_Clean",
                        "Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced",
                        "Anonymous", "Swap", "SwapPss", "Locked"};

  /* Sixteen private pages, five written; inaccessible pages on both sides keep
   * Linux from merging them with a neighbour. */
  char *r = mmap(NULL, 18 * (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *a = r + page;
  mprotect(a, 16 * (size_t)page, PROT_READ | PROT_WRITE);
  memset(a, 1, 5 * (size_t)page);
  expect_true("smaps_has_anon_vma", smaps_block((unsigned long)a, block, sizeof block));
  char first[128], want[128];
  line_starting(block, "", first, sizeof first);
  snprintf(want, sizeof want, "%08lx-%08lx rw-p 00000000 00:00 0 ", (unsigned long)a,
           (unsigned long)a + 16 * (unsigned long)page);
  expect_true("smaps_line_is_maps_line", strcmp(first, want) == 0);
  int all = 1;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    all &= kb_of(block, keys[i]) >= 0;
  expect_true("smaps_has_the_usual_keys", all);
  expect_eq("smaps_size_kb", kb_of(block, "Size"), 16 * page / 1024);
  expect_eq("smaps_kernel_page_size", kb_of(block, "KernelPageSize"), page / 1024);
  expect_eq("smaps_mmu_page_size", kb_of(block, "MMUPageSize"), page / 1024);
  long rss = kb_of(block, "Rss");
  expect_true("smaps_rss_covers_written_pages", rss >= 5 * page / 1024 && rss <= 16 * page / 1024);
  expect_true("smaps_private_dirty_is_rss", kb_of(block, "Private_Dirty") == rss);
  expect_true("smaps_anonymous_is_rss", kb_of(block, "Anonymous") == rss);
  expect_true("smaps_pss_is_rss_when_unshared", kb_of(block, "Pss") == rss);
  expect_true("smaps_nothing_shared",
              kb_of(block, "Shared_Clean") == 0 && kb_of(block, "Shared_Dirty") == 0);
  expect_true("smaps_no_swap_no_locked", kb_of(block, "Swap") == 0 && kb_of(block, "Locked") == 0);
  expect_true("smaps_vmflags_private_rw",
              has_flag(block, "rd") && has_flag(block, "wr") && has_flag(block, "mr") &&
                  has_flag(block, "mw") && has_flag(block, "me") && has_flag(block, "ac") &&
                  !has_flag(block, "ex") && !has_flag(block, "sh"));

  /* After fork, the child maps the same pages: shared, half of each counts. */
  int hold[2];
  pipe(hold);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(hold[1]);
    read(hold[0], &c, 1);
    _exit(0);
  }
  close(hold[0]);
  smaps_block((unsigned long)a, block, sizeof block);
  rss = kb_of(block, "Rss");
  expect_true("smaps_after_fork_shared_dirty_is_rss", rss > 0 && kb_of(block, "Shared_Dirty") == rss);
  expect_true("smaps_after_fork_private_none",
              kb_of(block, "Private_Dirty") == 0 && kb_of(block, "Private_Clean") == 0);
  expect_true("smaps_after_fork_pss_is_half", kb_of(block, "Pss") * 2 == rss);
  close(hold[1]);
  waitpid(pid, NULL, 0);

  /* A shared mapping. */
  char *sh = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  sh[0] = 1;
  smaps_block((unsigned long)sh, block, sizeof block);
  expect_true("smaps_vmflags_shared", has_flag(block, "sh") && has_flag(block, "ms"));
  expect_eq("smaps_shared_rss", kb_of(block, "Rss"), page / 1024);

  /* The rollup: one line spanning the address space, then the sums. */
  expect_ok("smaps_rollup_read", slurp("/proc/self/smaps_rollup", text, sizeof text));
  line_starting(text, "", first, sizeof first);
  size_t fl = strlen(first);
  expect_true("smaps_rollup_first_line",
              fl > 8 && strcmp(first + fl - 8, "[rollup]") == 0 && strstr(first, " ---p 00000000 00:00 0 "));
  all = 1;
  for (size_t i = 3; i < sizeof keys / sizeof keys[0]; i++)
    all &= kb_of(text, keys[i]) >= 0;
  expect_true("smaps_rollup_has_the_usual_keys", all);
  expect_true("smaps_rollup_has_no_vmflags", strstr(text, "VmFlags") == NULL);
  expect_true("smaps_rollup_rss_holds_ours", kb_of(text, "Rss") >= rss + page / 1024);
  expect_true("smaps_rollup_anonymous_at_most_rss", kb_of(text, "Anonymous") <= kb_of(text, "Rss"));
  munmap(sh, (size_t)page);
  munmap(r, 18 * (size_t)page);
}

/* ------------------------------------------------------------------------- */
/* Threads: task/, thread-self, num_threads. */

static int thr_go[2], thr_ready[2];
static pid_t thr_tid;
static char thr_self_link[64], thr_stat_comm[64];

static void *worker(void *arg) {
  prctl(PR_SET_NAME, "worker");
  thr_tid = gettid();
  link_text("/proc/thread-self", thr_self_link, sizeof thr_self_link);
  struct stat_fields s;
  read_stat("/proc/thread-self/stat", &s);
  snprintf(thr_stat_comm, sizeof thr_stat_comm, "%s", s.comm);
  write(thr_ready[1], "r", 1);
  char c;
  read(thr_go[0], &c, 1);
  return arg;
}

static void threads(void) {
  char path[128], text[256], want[256];
  static char status[8192];
  struct stat_fields s;
  pipe(thr_go);
  pipe(thr_ready);
  /* Opened before the thread exists, read while it does. */
  int early = open("/proc/self/stat", O_RDONLY);
  pthread_t t;
  expect_eq("pthread_create", pthread_create(&t, NULL, worker, NULL), 0);
  char c;
  read(thr_ready[0], &c, 1);

  snprintf(want, sizeof want, "%d/task/%d", getpid(), thr_tid);
  expect_true("thread_self_in_thread", strcmp(thr_self_link, want) == 0);
  expect_str("thread_self_stat_comm", thr_stat_comm, "worker");

  read_stat("/proc/self/stat", &s);
  expect_str("stat_num_threads_with_pthread", s.f[20], "2");
  char early_text[1024];
  ssize_t n = read(early, early_text, sizeof early_text - 1);
  early_text[n < 0 ? 0 : n] = 0;
  parse_stat(early_text, &s);
  /* generated when read, not when opened */
  expect_str("stat_opened_before_pthread", s.f[20], "2");
  close(early);
  slurp("/proc/self/status", status, sizeof status);
  char v[64];
  field_of(status, "Threads", v, sizeof v);
  expect_str("status_threads_with_pthread", v, "2");

  char names[64][32];
  int count = list_dir("/proc/self/task", names, 64);
  expect_eq("task_entries_with_pthread", count, 2);
  expect_true("task_lists_both_tids",
              has_name(names, count, pid_text(getpid())) && has_name(names, count, pid_text(thr_tid)));

  snprintf(path, sizeof path, "/proc/self/task/%d/stat", thr_tid);
  read_stat(path, &s);
  expect_true("task_stat_pid_is_tid", num(s.f[1]) == thr_tid);
  expect_str("task_stat_comm", s.comm, "worker");
  expect_true("task_stat_ppid_is_getppid", num(s.f[4]) == getppid());
  expect_str("task_stat_num_threads", s.f[20], "2");
  expect_str("task_stat_exit_signal", s.f[38], "-1");
  char st = settled_state(path, 'S');
  expect_true("task_state_blocked_thread", st == 'S');
  snprintf(path, sizeof path, "/proc/self/task/%d/comm", thr_tid);
  slurp(path, text, sizeof text);
  expect_str("task_comm", quoted(text, strlen(text)), "\"worker\\n\"");
  /* Naming another thread writes its /proc/self/task/<tid>/comm. */
  expect_eq("pthread_setname_np_other_thread", pthread_setname_np(t, "renamed-worker"), 0);
  slurp(path, text, sizeof text);
  expect_str("task_comm_after_setname", quoted(text, strlen(text)), "\"renamed-worker\\n\"");
  char tname[32] = {0};
  pthread_getname_np(t, tname, sizeof tname);
  expect_str("pthread_getname_np_other_thread", tname, "renamed-worker");
  snprintf(path, sizeof path, "/proc/self/task/%d/status", thr_tid);
  slurp(path, status, sizeof status);
  field_of(status, "Pid", v, sizeof v);
  expect_true("task_status_pid_is_tid", num(v) == thr_tid);
  field_of(status, "Tgid", v, sizeof v);
  expect_true("task_status_tgid_is_getpid", num(v) == getpid());
  field_of(status, "Name", v, sizeof v);
  expect_str("task_status_name", v, "renamed-worker");
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", getpid());
  read_stat(path, &s);
  expect_true("task_leader_stat_pid", num(s.f[1]) == getpid());
  expect_str("task_leader_state", s.f[3], "R");

  /* A thread's /proc/<tid> is reachable, but not listed. */
  snprintf(path, sizeof path, "/proc/%d/stat", thr_tid);
  int ok = read_stat(path, &s);
  expect_true("proc_tid_stat_readable", ok);
  expect_true("proc_tid_stat_pid_is_tid", ok && num(s.f[1]) == thr_tid);
  snprintf(path, sizeof path, "/proc/%d/status", thr_tid);
  slurp(path, status, sizeof status);
  field_of(status, "Tgid", v, sizeof v);
  expect_true("proc_tid_status_tgid_is_getpid", num(v) == getpid());
  DIR *d = opendir("/proc");
  struct dirent *e;
  int tid_listed = 0, pid_listed = 0;
  while ((e = readdir(d)) != NULL) {
    tid_listed |= strcmp(e->d_name, pid_text(thr_tid)) == 0;
    pid_listed |= strcmp(e->d_name, pid_text(getpid())) == 0 && e->d_type == DT_DIR;
  }
  closedir(d);
  expect_true("proc_lists_pid", pid_listed);
  expect_true("proc_does_not_list_tid", !tid_listed);
  snprintf(path, sizeof path, "/proc/self/task/%d", getpid() + 1000000);
  struct stat sb;
  expect_errno("task_unknown_tid", stat(path, &sb), ENOENT);

  write(thr_go[1], "g", 1);
  pthread_join(t, NULL);
  /* The kernel may still be tearing the thread down when join returns. */
  for (int i = 0; i < 200000 && list_dir("/proc/self/task", names, 64) != 1; i++)
    sched_yield();
  count = list_dir("/proc/self/task", names, 64);
  expect_eq("task_entries_after_join", count, 1);
  expect_true("task_entry_is_pid", count == 1 && strcmp(names[0], pid_text(getpid())) == 0);
  read_stat("/proc/self/stat", &s);
  expect_str("stat_num_threads_after_join", s.f[20], "1");
  snprintf(path, sizeof path, "/proc/self/task/%d", thr_tid);
  expect_errno("task_dir_gone_after_join", stat(path, &sb), ENOENT);
  close(thr_go[0]);
  close(thr_go[1]);
  close(thr_ready[0]);
  close(thr_ready[1]);
}

/* ------------------------------------------------------------------------- */
/* oom_score_adj and the legacy oom_adj. Only raised here: lowering needs
 * CAP_SYS_RESOURCE, which a native root may lack. */

static long write_text(const char *path, const char *text) {
  int fd = open(path, O_WRONLY);
  if (fd < 0)
    return -1;
  long n = write(fd, text, strlen(text));
  int saved = errno;
  close(fd);
  errno = saved;
  return n;
}

static void oom_adjust(void) {
  char text[64];
  expect_eq("oom_score_adj_write_500", write_text("/proc/self/oom_score_adj", "500\n"), 4);
  slurp("/proc/self/oom_score_adj", text, sizeof text);
  expect_str("oom_score_adj_after_500", quoted(text, strlen(text)), "\"500\\n\"");
  slurp("/proc/self/oom_adj", text, sizeof text);
  expect_str("oom_adj_from_500", quoted(text, strlen(text)), "\"8\\n\"");
  expect_eq("oom_score_adj_write_spaces", write_text("/proc/self/oom_score_adj", " 600 "), 5);
  slurp("/proc/self/oom_score_adj", text, sizeof text);
  expect_str("oom_score_adj_after_spaces", quoted(text, strlen(text)), "\"600\\n\"");
  expect_errno("oom_score_adj_above_1000", write_text("/proc/self/oom_score_adj", "1001"), EINVAL);
  expect_errno("oom_score_adj_not_a_number", write_text("/proc/self/oom_score_adj", "lots"), EINVAL);
  expect_errno("oom_adj_above_15", write_text("/proc/self/oom_adj", "16"), EINVAL);
  expect_eq("oom_adj_write_15", write_text("/proc/self/oom_adj", "15"), 2);
  slurp("/proc/self/oom_score_adj", text, sizeof text);
  expect_str("oom_adj_15_is_score_adj_1000", quoted(text, strlen(text)), "\"1000\\n\"");
  slurp("/proc/self/oom_adj", text, sizeof text);
  expect_str("oom_adj_after_15", quoted(text, strlen(text)), "\"15\\n\"");
}

/* ------------------------------------------------------------------------- */
/* A child: running, exec'd, zombie, reaped. */

static void child(const char *argv0) {
  char path[128], text[PATH_MAX], want[512];
  static char buf[8192];
  int go[2], execd[2];
  pipe(go);
  pipe2(execd, O_CLOEXEC);
  pid_t pid = fork();
  if (pid > 0) {
    /* The child's memory and descriptors exist as soon as fork returns. */
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    link_text(path, text, sizeof text);
    expect_true("child_exe_right_after_fork", strcmp(text, self_exe) == 0);
    snprintf(path, sizeof path, "/proc/%d/fd/1", pid); /* one it keeps */
    expect_true("child_fd_right_after_fork", link_text(path, text, sizeof text) > 0);
  }
  if (pid == 0) {
    dup2(go[0], 0);
    close(go[0]);
    close(go[1]);
    close(execd[0]);
    char *args[] = {(char *)argv0, "sleeper", "a b", "", "c", NULL};
    execv(argv0, args);
    _exit(127);
  }
  close(go[0]);
  close(execd[1]);
  char c;
  expect_eq("child_exec_done", read(execd[0], &c, 1), 0); /* EOF: exec closed it */
  close(execd[0]);

  struct stat_fields s;
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  expect_true("child_stat_readable", read_stat(path, &s));
  expect_true("child_stat_pid", num(s.f[1]) == pid);
  expect_true("child_stat_ppid_is_parent", num(s.f[4]) == getpid());
  const char *base = strrchr(argv0, '/');
  base = base ? base + 1 : argv0;
  snprintf(want, sizeof want, "%.15s", base);
  expect_true("child_stat_comm_is_exe_basename", strcmp(s.comm, want) == 0);
  expect_true("child_state_sleeping", settled_state(path, 'S') == 'S');
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  long len = slurp(path, buf, sizeof buf);
  size_t o = (size_t)snprintf(want, sizeof want, "%s", argv0) + 1;
  memcpy(want + o, "sleeper\0a b\0\0c\0", 15);
  o += 15;
  expect_true("child_cmdline_is_exec_args", len == (long)o && memcmp(buf, want, o) == 0);
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  link_text(path, text, sizeof text);
  expect_true("child_exe_is_program", strcmp(text, self_exe) == 0);
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  slurp(path, buf, sizeof buf);
  char v[64];
  field_of(buf, "PPid", v, sizeof v);
  expect_true("child_status_ppid", num(v) == getpid());
  field_of(buf, "State", v, sizeof v);
  expect_str("child_status_state", v, "S (sleeping)");
  field_of(buf, "voluntary_ctxt_switches", v, sizeof v);
  expect_true("child_blocked_voluntarily", num(v) > 0);

  /* Stopped by a signal: T, from the moment the parent can see the stop. */
  int wst = 0;
  kill(pid, SIGSTOP);
  expect_true("waitpid_sees_stop", waitpid(pid, &wst, WUNTRACED) == pid && WIFSTOPPED(wst));
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  read_stat(path, &s);
  expect_str("stopped_child_state", s.f[3], "T");
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  slurp(path, buf, sizeof buf);
  field_of(buf, "State", v, sizeof v);
  expect_str("stopped_child_status_state", v, "T (stopped)");
  kill(pid, SIGCONT);
  expect_true("waitpid_sees_continue", waitpid(pid, &wst, WCONTINUED) == pid && WIFCONTINUED(wst));
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  expect_true("continued_child_sleeps_again", settled_state(path, 'S') == 'S');

  snprintf(path, sizeof path, "/proc/%d/oom_score_adj", pid);
  slurp(path, buf, sizeof buf);
  expect_str("child_inherits_oom_score_adj", quoted(buf, strlen(buf)), "\"1000\\n\"");
  snprintf(path, sizeof path, "/proc/%d/comm", pid);
  expect_errno("comm_of_other_process_write", write_text(path, "other"), EINVAL);
  snprintf(path, sizeof path, "/proc/%d/fd/0", pid);
  link_text(path, text, sizeof text);
  struct stat st;
  fstat(go[1], &st);
  snprintf(want, sizeof want, "pipe:[%lu]", (unsigned long)st.st_ino);
  expect_true("child_fd0_is_our_pipe", strcmp(text, want) == 0);

  /* Exited, not yet waited for: a zombie. */
  snprintf(path, sizeof path, "/proc/%d", pid);
  int dirfd = open(path, O_RDONLY | O_DIRECTORY);
  int statfd = openat(dirfd, "stat", O_RDONLY);
  close(go[1]);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  expect_eq("waitid_nowait", waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
  expect_eq("waitid_nowait_status", si.si_status, 3);
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  expect_true("zombie_stat_readable", read_stat(path, &s));
  expect_str("zombie_state", s.f[3], "Z");
  snprintf(want, sizeof want, "%.15s", base);
  expect_true("zombie_keeps_comm", strcmp(s.comm, want) == 0);
  expect_true("zombie_ppid", num(s.f[4]) == getpid());
  expect_str("zombie_num_threads", s.f[20], "1");
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  slurp(path, buf, sizeof buf);
  field_of(buf, "State", v, sizeof v);
  expect_str("zombie_status_state", v, "Z (zombie)");
  expect_true("zombie_status_keeps_name", field_of(buf, "Name", v, sizeof v) && strcmp(v, want) == 0);
  expect_true("zombie_status_keeps_uid", field_of(buf, "Uid", v, sizeof v));
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  expect_eq("zombie_cmdline_empty", slurp(path, buf, sizeof buf), 0);
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  expect_errno("zombie_exe", readlink(path, text, sizeof text), ENOENT);
  struct stat sb;
  snprintf(path, sizeof path, "/proc/%d", pid);
  expect_eq("zombie_dir_exists", stat(path, &sb), 0);

  /* Reaped: gone. */
  int status = 0;
  expect_true("waitpid_reaps_child", waitpid(pid, &status, 0) == pid);
  expect_eq("child_exit_status", WEXITSTATUS(status), 3);
  expect_errno("reaped_dir", stat(path, &sb), ENOENT);
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  expect_errno("reaped_stat", open(path, O_RDONLY), ENOENT);
  expect_errno("reaped_stat_through_old_dirfd", openat(dirfd, "stat", O_RDONLY), ESRCH);
  expect_errno("reaped_stat_read_through_old_fd", read(statfd, buf, sizeof buf), ESRCH);
  close(statfd);
  close(dirfd);
  DIR *d = opendir("/proc");
  struct dirent *e;
  int listed = 0;
  while ((e = readdir(d)) != NULL)
    listed |= strcmp(e->d_name, pid_text(pid)) == 0;
  closedir(d);
  expect_true("reaped_not_listed", !listed);
}

/* ------------------------------------------------------------------------- */
/* limits, mounts. */

static void limit_value(char *out, size_t cap, rlim_t v) {
  if (v == RLIM_INFINITY)
    snprintf(out, cap, "unlimited");
  else
    snprintf(out, cap, "%lu", (unsigned long)v);
}

static void limit_row(char *out, size_t cap, const char *name, int res, const char *unit) {
  struct rlimit rl;
  getrlimit(res, &rl);
  char soft[32], hard[32];
  limit_value(soft, sizeof soft, rl.rlim_cur);
  limit_value(hard, sizeof hard, rl.rlim_max);
  if (*unit)
    snprintf(out, cap, "%-25s %-20s %-20s %-10s", name, soft, hard, unit);
  else
    snprintf(out, cap, "%-25s %-20s %-20s ", name, soft, hard);
}

static void limits(void) {
  static char text[4096];
  char line[256], want[256];
  slurp("/proc/self/limits", text, sizeof text);
  line_starting(text, "Limit ", line, sizeof line);
  snprintf(want, sizeof want, "%-25s %-20s %-20s %-10s", "Limit", "Soft Limit", "Hard Limit", "Units");
  expect_true("limits_header", strcmp(line, want) == 0);
  limit_row(want, sizeof want, "Max open files", RLIMIT_NOFILE, "files");
  line_starting(text, "Max open files", line, sizeof line);
  expect_true("limits_open_files_is_getrlimit", strcmp(line, want) == 0);
  limit_row(want, sizeof want, "Max stack size", RLIMIT_STACK, "bytes");
  line_starting(text, "Max stack size", line, sizeof line);
  expect_true("limits_stack_is_getrlimit", strcmp(line, want) == 0);
  limit_row(want, sizeof want, "Max nice priority", RLIMIT_NICE, "");
  line_starting(text, "Max nice priority", line, sizeof line);
  expect_true("limits_nice_row_has_no_units_column", strcmp(line, want) == 0);
  int rows = 0;
  for (char *p = text; (p = strchr(p, '\n')) != NULL; p++)
    rows++;
  expect_eq("limits_rows", rows, 17);

  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  struct rlimit lowered = {64, rl.rlim_max};
  setrlimit(RLIMIT_NOFILE, &lowered);
  slurp("/proc/self/limits", text, sizeof text);
  limit_row(want, sizeof want, "Max open files", RLIMIT_NOFILE, "files");
  line_starting(text, "Max open files", line, sizeof line);
  expect_true("limits_open_files_after_setrlimit", strcmp(line, want) == 0 && strstr(line, " 64 "));
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_CORE, &rl);
  struct rlimit core = {0, rl.rlim_max};
  setrlimit(RLIMIT_CORE, &core);
  slurp("/proc/self/limits", text, sizeof text);
  limit_row(want, sizeof want, "Max core file size", RLIMIT_CORE, "bytes");
  line_starting(text, "Max core file size", line, sizeof line);
  expect_true("limits_core_after_setrlimit", strcmp(line, want) == 0);
  setrlimit(RLIMIT_CORE, &rl);
}

/* Whether a mounts-format text has a line with fields 2 and 3 `at type`. */
static int mounts_has(const char *text, const char *at, const char *type) {
  for (const char *line = text; line && *line;) {
    char src[256], mp[256], fs[64];
    if (sscanf(line, "%255s %255s %63s", src, mp, fs) == 3 && !strcmp(mp, at) && !strcmp(fs, type))
      return 1;
    line = strchr(line, '\n');
    line = line ? line + 1 : NULL;
  }
  return 0;
}

static void mounts(void) {
  static char text[65536];
  char lnk[64];
  expect_ok("self_mounts_read", slurp("/proc/self/mounts", text, sizeof text));
  expect_true("self_mounts_has_proc", mounts_has(text, "/proc", "proc"));
  expect_ok("proc_mounts_read", slurp("/proc/mounts", text, sizeof text));
  expect_true("proc_mounts_has_proc", mounts_has(text, "/proc", "proc"));
  expect_true("proc_mounts_has_root", strstr(text, " / ") != NULL);
  link_text("/proc/mounts", lnk, sizeof lnk);
  expect_str("proc_mounts_link", lnk, "self/mounts");

  /* mountinfo: "id parent maj:min root mountpoint opts ... - type source opts". */
  expect_ok("mountinfo_read", slurp("/proc/self/mountinfo", text, sizeof text));
  int found = 0, well_formed = 1;
  for (const char *line = text; line && *line;) {
    int id, parent;
    unsigned maj, min;
    char root[256], mp[256];
    if (sscanf(line, "%d %d %u:%u %255s %255s", &id, &parent, &maj, &min, root, mp) != 6)
      well_formed = 0;
    const char *dash = strstr(line, " - ");
    const char *nl = strchr(line, '\n');
    if (!dash || (nl && dash > nl))
      well_formed = 0;
    else if (!strcmp(mp, "/proc") && !strncmp(dash, " - proc ", 8))
      found = 1;
    line = nl ? nl + 1 : NULL;
  }
  expect_true("mountinfo_well_formed", well_formed);
  expect_true("mountinfo_has_proc", found);

  struct statfs sf;
  expect_eq("statfs_proc", statfs("/proc", &sf), 0);
  expect_eq("statfs_proc_type", sf.f_type, 0x9fa0);
  statfs("/proc/self/stat", &sf);
  expect_eq("statfs_proc_file_type", sf.f_type, 0x9fa0);
  statfs("/proc/sys/kernel/ostype", &sf);
  expect_eq("statfs_proc_sys_type", sf.f_type, 0x9fa0);
}

/* ------------------------------------------------------------------------- */
/* /proc/sys/kernel and the system-wide files. */

static int is_uuid(const char *s) {
  if (strlen(s) != 37 || s[36] != '\n')
    return 0;
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return 0;
    } else if (!strchr("0123456789abcdef", s[i])) {
      return 0;
    }
  }
  return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static void sysctl(void) {
  static char text[4096], other[4096];
  char want[512];
  struct utsname u;
  uname(&u);
  slurp("/proc/sys/kernel/ostype", text, sizeof text);
  expect_str("ostype", quoted(text, strlen(text)), "\"Linux\\n\"");
  slurp("/proc/sys/kernel/osrelease", text, sizeof text);
  snprintf(want, sizeof want, "%s\n", u.release);
  expect_true("osrelease_is_uname_release", strcmp(text, want) == 0);
  slurp("/proc/sys/kernel/hostname", text, sizeof text);
  snprintf(want, sizeof want, "%s\n", u.nodename);
  expect_true("hostname_is_uname_nodename", strcmp(text, want) == 0);
  slurp("/proc/sys/kernel/domainname", text, sizeof text);
  snprintf(want, sizeof want, "%s\n", u.domainname);
  expect_true("domainname_is_uname_domainname", strcmp(text, want) == 0);
  slurp("/proc/sys/kernel/version", text, sizeof text);
  snprintf(want, sizeof want, "%s\n", u.version);
  expect_true("kernel_version_is_uname_version", strcmp(text, want) == 0);

  slurp("/proc/sys/kernel/random/uuid", text, sizeof text);
  slurp("/proc/sys/kernel/random/uuid", other, sizeof other);
  expect_true("uuid_format", is_uuid(text) && is_uuid(other));
  expect_true("uuid_differs_per_read", strcmp(text, other) != 0);
  slurp("/proc/sys/kernel/random/boot_id", text, sizeof text);
  slurp("/proc/sys/kernel/random/boot_id", other, sizeof other);
  expect_true("boot_id_format", is_uuid(text));
  expect_true("boot_id_stable", strcmp(text, other) == 0);

  slurp("/proc/sys/kernel/pid_max", text, sizeof text);
  expect_true("pid_max_above_our_pid", atol(text) > getpid());
  slurp("/proc/sys/kernel/ngroups_max", text, sizeof text);
  expect_true("ngroups_max_is_sysconf", atol(text) == sysconf(_SC_NGROUPS_MAX));

  /* What sysctl files say to writers. */
  int fd = open("/proc/sys/kernel/ostype", O_WRONLY);
  expect_errno("ostype_open_for_write", fd, EACCES);
}

static void system_files(void) {
  static char text[1 << 16];
  struct utsname u;
  uname(&u);

  slurp("/proc/uptime", text, sizeof text);
  unsigned long up_s = 0, idle_s = 0;
  unsigned up_c = 0, idle_c = 0;
  char nl = 0;
  int n = sscanf(text, "%lu.%2u %lu.%2u%c", &up_s, &up_c, &idle_s, &idle_c, &nl);
  expect_true("uptime_two_numbers", n == 5 && nl == '\n');
  expect_true("uptime_positive", up_s > 0 || up_c > 0);
  struct timespec boot;
  clock_gettime(CLOCK_BOOTTIME, &boot);
  double up = (double)up_s + up_c / 100.0, now = (double)boot.tv_sec + boot.tv_nsec / 1e9;
  expect_true("uptime_is_boottime", up <= now + 0.02 && now - up < 2);

  slurp("/proc/meminfo", text, sizeof text);
  expect_true("meminfo_first_line_memtotal", strncmp(text, "MemTotal:", 9) == 0);
  struct sysinfo si;
  sysinfo(&si);
  unsigned long long kb = strtoull(text + 9, NULL, 10);
  expect_true("meminfo_memtotal_is_sysinfo",
              kb * 1024 == (unsigned long long)si.totalram * si.mem_unit);
  expect_true("meminfo_has_memavailable", strstr(text, "\nMemAvailable:") != NULL);

  slurp("/proc/cpuinfo", text, sizeof text);
  expect_true("cpuinfo_has_processor", strncmp(text, "processor", 9) == 0);

  slurp("/proc/stat", text, sizeof text);
  expect_true("stat_starts_with_cpu", strncmp(text, "cpu ", 4) == 0);
  const char *keys[] = {"\nintr ", "\nctxt ", "\nbtime ", "\nprocesses ", "\nprocs_running ",
                        "\nprocs_blocked "};
  int has = 1;
  for (int i = 0; i < 6; i++)
    has &= strstr(text, keys[i]) != NULL;
  expect_true("stat_has_system_lines", has);
  const char *pr = strstr(text, "\nprocs_running ");
  expect_true("stat_procs_running_counts_us", pr && atol(pr + 15) >= 1);
  const char *bt = strstr(text, "\nbtime ");
  long btime = bt ? atol(bt + 7) : 0;
  struct timespec real;
  clock_gettime(CLOCK_REALTIME, &real);
  expect_true("stat_btime_plus_boottime_is_now",
                labs((long)(btime + boot.tv_sec) - (long)real.tv_sec) <= 2);

  slurp("/proc/loadavg", text, sizeof text);
  double l1, l5, l15;
  int running, total, last;
  n = sscanf(text, "%lf %lf %lf %d/%d %d%c", &l1, &l5, &l15, &running, &total, &last, &nl);
  expect_true("loadavg_five_fields", n == 7 && nl == '\n');
  expect_true("loadavg_running_of_total", running >= 1 && total >= running);

  slurp("/proc/version", text, sizeof text);
  char want[512];
  snprintf(want, sizeof want, "Linux version %s ", u.release);
  expect_true("version_is_linux_and_release", strncmp(text, want, strlen(want)) == 0);

  slurp("/proc/filesystems", text, sizeof text);
  expect_true("filesystems_has_proc", strstr(text, "nodev\tproc\n") != NULL);

  /* The root directory: "self", "thread-self" links, our own pid. */
  DIR *d = opendir("/proc");
  struct dirent *e;
  int self_lnk = 0, thread_self_lnk = 0, ours = 0;
  while ((e = readdir(d)) != NULL) {
    self_lnk |= !strcmp(e->d_name, "self") && e->d_type == DT_LNK;
    thread_self_lnk |= !strcmp(e->d_name, "thread-self") && e->d_type == DT_LNK;
    ours |= !strcmp(e->d_name, pid_text(getpid())) && e->d_type == DT_DIR;
  }
  closedir(d);
  expect_true("proc_lists_self_link", self_lnk);
  expect_true("proc_lists_thread_self_link", thread_self_lnk);
  expect_true("proc_lists_own_pid", ours);

  char names[128][32];
  int count = list_dir("/proc/self", names, 128);
  const char *expected[] = {"cmdline", "comm", "cwd", "environ", "exe", "fd", "fdinfo", "limits",
                            "maps", "mountinfo", "mounts", "ns", "root", "stat", "statm", "status",
                            "task"};
  int all = 1;
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
    all &= has_name(names, count, expected[i]);
  expect_true("self_dir_has_the_usual_files", all);
}

/* ------------------------------------------------------------------------- */
/* /proc/locks. */

/* The line of /proc/locks about file `st` (without its "N: " number), or "". */
static void lock_line(const struct stat *st, char *out, size_t cap) {
  static char text[1 << 16];
  char id[64];
  snprintf(id, sizeof id, " %02x:%02x:%lu ", major(st->st_dev), minor(st->st_dev),
           (unsigned long)st->st_ino);
  slurp("/proc/locks", text, sizeof text);
  out[0] = 0;
  for (char *line = text; line && *line;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    char *hit = strstr(line, id);
    if (hit && hit < line + len) {
      char *body = strstr(line, ": ");
      body = body ? body + 2 : line;
      snprintf(out, cap, "%.*s", (int)(line + len - body), body);
      return;
    }
    line = nl ? nl + 1 : NULL;
  }
}

static void proc_locks(void) {
  char path[128], line[256], want[256];
  struct stat st[3];
  int fd[3];
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/lock%d", scratch, i);
    fd[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    fstat(fd[i], &st[i]);
  }
  struct flock posix = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10};
  expect_eq("posix_lock", fcntl(fd[0], F_SETLK, &posix), 0);
  expect_eq("flock_shared", flock(fd[1], LOCK_SH), 0);
  struct flock ofd = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 5, .l_len = 0};
  expect_eq("ofd_lock", fcntl(fd[2], F_OFD_SETLK, &ofd), 0);

  lock_line(&st[0], line, sizeof line);
  snprintf(want, sizeof want, "POSIX  ADVISORY  WRITE %d %02x:%02x:%lu 10 19", getpid(),
           major(st[0].st_dev), minor(st[0].st_dev), (unsigned long)st[0].st_ino);
  expect_true("proc_locks_posix_line", strcmp(line, want) == 0);
  lock_line(&st[1], line, sizeof line);
  snprintf(want, sizeof want, "FLOCK  ADVISORY  READ %d %02x:%02x:%lu 0 EOF", getpid(),
           major(st[1].st_dev), minor(st[1].st_dev), (unsigned long)st[1].st_ino);
  expect_true("proc_locks_flock_line", strcmp(line, want) == 0);
  lock_line(&st[2], line, sizeof line);
  snprintf(want, sizeof want, "OFDLCK ADVISORY  READ -1 %02x:%02x:%lu 5 EOF",
           major(st[2].st_dev), minor(st[2].st_dev), (unsigned long)st[2].st_ino);
  expect_true("proc_locks_ofd_line", strcmp(line, want) == 0);

  /* Gone when released. */
  posix.l_type = F_UNLCK;
  fcntl(fd[0], F_SETLK, &posix);
  flock(fd[1], LOCK_UN);
  close(fd[2]);
  int gone = 1;
  for (int i = 0; i < 3; i++) {
    lock_line(&st[i], line, sizeof line);
    gone &= line[0] == 0;
  }
  expect_true("proc_locks_released_not_listed", gone);
  for (int i = 0; i < 3; i++) {
    if (i < 2)
      close(fd[i]);
    snprintf(path, sizeof path, "%s/lock%d", scratch, i);
    unlink(path);
  }
}

/* ------------------------------------------------------------------------- */
/* Errors. */

static void errors(void) {
  struct stat st;
  char text[64];
  expect_errno("proc_unknown_pid", stat("/proc/999999999", &st), ENOENT);
  expect_errno("proc_pid_0", stat("/proc/0", &st), ENOENT);
  char path[64];
  snprintf(path, sizeof path, "/proc/0%d", getpid());
  expect_errno("proc_pid_with_leading_zero", stat(path, &st), ENOENT);
  expect_errno("proc_unknown_name", stat("/proc/self/nonexistent", &st), ENOENT);
  expect_errno("opendir_stat_file", open("/proc/self/stat", O_RDONLY | O_DIRECTORY), ENOTDIR);
  expect_errno("readlink_regular_proc_file", readlink("/proc/self/stat", text, sizeof text), EINVAL);

  /* Writing a read-only generated file: root may open it (and the write is
   * refused); others may not open it. */
  int fd = open("/proc/self/stat", O_WRONLY);
  if (geteuid() != 0) {
    expect_errno("open_stat_for_write", fd, EACCES);
  } else {
    expect_ok("open_stat_for_write_as_root", fd);
    expect_errno("write_stat", write(fd, "x", 1), EINVAL);
  }
  if (fd >= 0)
    close(fd);
  expect_errno("create_in_proc", open("/proc/procfs-new", O_WRONLY | O_CREAT, 0644), ENOENT);
  expect_errno("mkdir_in_proc", mkdir("/proc/procfs-new", 0755), ENOENT);
  expect_errno("create_in_proc_pid_dir", open("/proc/self/procfs-new", O_WRONLY | O_CREAT, 0644), ENOENT);
  expect_errno("unlink_proc_file", unlink("/proc/self/stat"), EPERM);

  /* seq_file offsets: SEEK_SET and SEEK_CUR work, SEEK_END does not. */
  fd = open("/proc/self/status", O_RDONLY);
  expect_eq("lseek_set_proc_file", lseek(fd, 3, SEEK_SET), 3);
  expect_eq("lseek_cur_proc_file", lseek(fd, 2, SEEK_CUR), 5);
  expect_errno("lseek_end_proc_file", lseek(fd, 0, SEEK_END), EINVAL);
  char a[8] = {0}, b[8] = {0};
  expect_eq("pread_proc_file", pread(fd, a, 4, 1), 4);
  pread(fd, b, 5, 0);
  expect_true("pread_proc_file_offsets", memcmp(a, b + 1, 4) == 0);
  close(fd);
}

/* ------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "sleeper") == 0) {
    char c;
    while (read(0, &c, 1) > 0)
      ;
    _exit(3);
  }
  gaps = argc > 1 && strcmp(argv[1], "gaps") == 0;
  if (!realpath(argv[0], self_exe)) {
    perror("realpath");
    return 2;
  }
  snprintf(scratch, sizeof scratch, "/tmp/moat-procfs-XXXXXX");
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 2;
  }
  cmdline_environ(argc, argv);
  self_stat();
  signal_sets();
  self_status();
  comm(argv[0]);
  links(argv[0]);
  fd_links();
  memory_maps();
  smaps();
  threads();
  oom_adjust();
  child(argv[0]);
  limits();
  mounts();
  sysctl();
  system_files();
  proc_locks();
  errors();
  rmdir(scratch);
  return check_finish();
}
