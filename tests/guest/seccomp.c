/*
 * seccomp: filters a process attaches to itself — what Linux refuses when a filter
 * is loaded, what each action does to the filtered call (ERRNO, TRAP with its
 * siginfo, KILL_PROCESS, KILL_THREAD, TRACE and USER_NOTIF without a tracer or
 * listener, LOG), which of several stacked filters wins, strict mode, inheritance
 * over fork and execve, TSYNC, the no_new_privs rule, restart_syscall going
 * through the filters, and what prctl and /proc/[pid]/status report.
 *
 * This program runs natively too, so every filter is attached in a forked child
 * (the caller is never filtered); each child reports through its exit status. The
 * filters only act on calls nothing else makes — getpgid(MAGIC), dup with high
 * bits set, close(0xdead) — so the C library keeps working under them.
 */
#include "check.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

/* getpgid's argument that filters pick out: -7, no process (ESRCH unfiltered). */
#define MAGIC (-7L)

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LD_ARG_LO(i) \
  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]))
#define LD_ARG_HI(i) \
  BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[i]) + 4)
#define JEQ(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define RET(k) BPF_STMT(BPF_RET | BPF_K, (k))
#define ALLOW RET(SECCOMP_RET_ALLOW)
#define COUNT(a) (unsigned short)(sizeof(a) / sizeof((a)[0]))

static long install(struct sock_filter *f, unsigned short len, unsigned flags) {
  struct sock_fprog prog = {len, f};
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* A filter whose value for getpgid(MAGIC) is `ret`; everything else is allowed. */
static long install_magic(unsigned ret, unsigned flags) {
  struct sock_filter f[] = {
      LD_ARCH,
      JEQ(AUDIT_ARCH_X86_64, 1, 0),
      RET(SECCOMP_RET_KILL_PROCESS),
      LD_NR,
      JEQ(SYS_getpgid, 0, 5),
      LD_ARG_LO(0),
      JEQ((unsigned)MAGIC, 0, 3),
      LD_ARG_HI(0),
      JEQ((unsigned)(MAGIC >> 32), 0, 1),
      RET(ret),
      ALLOW,
  };
  return install(f, COUNT(f), flags);
}

static long magic(void) { return syscall(SYS_getpgid, MAGIC); }

static void no_new_privs(void) { prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }

static void no_core_dumps(void) {
  struct rlimit none = {0, 0};
  setrlimit(RLIMIT_CORE, &none);
}

/* Runs `fn` in a child (no core files); returns its wait status. */
static int in_child(void (*fn)(void)) {
  pid_t p = fork();
  if (p == 0) {
    check_failures = 0; /* the child reports only its own */
    no_core_dumps();
    fn();
    _exit(check_finish());
  }
  int st = -1;
  waitpid(p, &st, 0);
  return st;
}

/* The child ran its checks and they held. */
static void expect_child_ok(const char *name, void (*fn)(void)) {
  int st = in_child(fn);
  expect_true(name, WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The child was killed by `signo`. */
static void expect_child_killed(const char *name, void (*fn)(void), int signo) {
  int st = in_child(fn);
  expect_true(name, WIFSIGNALED(st) && WTERMSIG(st) == signo);
}

/* A number from a /proc/self/status line ("Seccomp:", ...); -1 if missing. */
static long status_field(const char *field) {
  char buf[8192];
  int fd = open("/proc/self/status", O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = 0;
  size_t len = strlen(field);
  for (char *line = buf; line && *line; line = strchr(line, '\n')) {
    if (*line == '\n')
      line++;
    if (strncmp(line, field, len) == 0 && line[len] == ':')
      return strtol(line + len + 1, NULL, 10);
  }
  return -1;
}

/* What the caller (never filtered itself) started with: the host may already
 * filter the native run, so filter counts are shown relative to this. */
static long base_filters;

/* ---- what the kernel refuses when a filter is loaded ---- */

static long load(struct sock_filter *f, unsigned short len) { return install(f, len, 0); }

static void bad_programs(void) {
  no_new_privs();
  struct sock_filter allow[] = {ALLOW};
  expect_errno("empty_program", load(allow, 0), EINVAL);
  static struct sock_filter long_prog[4097];
  for (int i = 0; i < 4097; i++)
    long_prog[i] = (struct sock_filter)ALLOW;
  expect_errno("program_of_4097_instructions", load(long_prog, 4097), EINVAL);
  struct sock_filter ja_past_end[] = {BPF_STMT(BPF_JMP | BPF_JA, 1), ALLOW};
  expect_errno("ja_past_the_end", load(ja_past_end, 2), EINVAL);
  struct sock_filter backward[] = {ALLOW, BPF_STMT(BPF_JMP | BPF_JA, 0xffffffff), ALLOW};
  expect_errno("backward_jump", load(backward, 3), EINVAL);
  struct sock_filter jeq_past_end[] = {LD_NR, JEQ(0, 0, 1), ALLOW};
  expect_errno("conditional_jump_past_the_end", load(jeq_past_end, 3), EINVAL);
  struct sock_filter unaligned[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), ALLOW};
  expect_errno("unaligned_load", load(unaligned, 2), EINVAL);
  struct sock_filter beyond[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, sizeof(struct seccomp_data)), ALLOW};
  expect_errno("load_beyond_seccomp_data", load(beyond, 2), EINVAL);
  struct sock_filter half[] = {BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0), ALLOW};
  expect_errno("half_word_load", load(half, 2), EINVAL);
  struct sock_filter no_ret[] = {LD_NR};
  expect_errno("no_return_at_the_end", load(no_ret, 1), EINVAL);
  struct sock_filter unwritten[] = {BPF_STMT(BPF_LD | BPF_MEM, 3), ALLOW};
  expect_errno("scratch_read_before_write", load(unwritten, 2), EINVAL);
  struct sock_filter div0[] = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), ALLOW};
  expect_errno("division_by_constant_zero", load(div0, 2), EINVAL);
  struct sock_filter ret_x[] = {BPF_STMT(BPF_RET | BPF_X, 0)};
  expect_errno("ret_x", load(ret_x, 1), EINVAL);
  expect_errno("unknown_flag", install(allow, 1, 1u << 20), EINVAL);
  expect_errno("new_listener_with_tsync_without_esrch",
               install(allow, 1, SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC),
               EINVAL);
  expect_errno("null_fprog", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL), EFAULT);
  struct sock_fprog bad_filter = {1, (struct sock_filter *)8};
  expect_errno("fprog_with_bad_filter_pointer",
               syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &bad_filter), EFAULT);
  expect_errno("prctl_filter_null", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL), EFAULT);
  expect_errno("prctl_unknown_mode", prctl(PR_SET_SECCOMP, 3, 0), EINVAL);
  expect_errno("unknown_operation", syscall(SYS_seccomp, 99, 0, NULL), EINVAL);
  expect_errno("strict_with_flags", syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 1, NULL),
               EINVAL);
  expect_eq("nothing_was_attached", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), base_filters ? 2 : 0);
}

static void queries(void) {
  unsigned avail[] = {SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP,
                      SECCOMP_RET_ERRNO,        SECCOMP_RET_TRACE,       SECCOMP_RET_LOG,
                      SECCOMP_RET_ALLOW};
  const char *names[] = {"kill_process", "kill_thread", "trap", "errno",
                         "trace",        "log",         "allow"};
  for (int i = 0; i < 7; i++) {
    char name[64];
    snprintf(name, sizeof name, "action_avail_%s", names[i]);
    expect_eq(name, syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &avail[i]), 0);
  }
  unsigned bogus = 0x12340000;
  expect_errno("action_avail_unknown", syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &bogus),
               EOPNOTSUPP);
  expect_errno("action_avail_null", syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, NULL),
               EFAULT);
  expect_errno("action_avail_flags", syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 1, &bogus),
               EINVAL);
  struct seccomp_notif_sizes sizes;
  expect_eq("notif_sizes", syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes), 0);
  expect_eq("notif_sizes_seccomp_data", sizes.seccomp_data, sizeof(struct seccomp_data));
  say("notif_sizes_notif_resp", "%u %u", sizes.seccomp_notif, sizes.seccomp_notif_resp);
  expect_errno("notif_sizes_null", syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, NULL),
               EFAULT);
}

/* ---- privileges ---- */

static void unprivileged_needs_no_new_privs(void) {
  if (setgid(65534) != 0 || setuid(65534) != 0)
    _exit(90);
  struct sock_filter allow[] = {ALLOW};
  expect_errno("unprivileged_without_no_new_privs", install(allow, 1, 0), EACCES);
  struct sock_fprog prog = {1, allow};
  expect_errno("unprivileged_prctl_without_no_new_privs",
               prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), EACCES);
  no_new_privs();
  expect_eq("unprivileged_with_no_new_privs", install(allow, 1, 0), 0);
  expect_eq("prctl_with_no_new_privs", prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
  expect_eq("get_seccomp_in_filter_mode", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 2);
  expect_eq("status_seccomp", status_field("Seccomp"), 2);
  expect_eq("status_filters_added", status_field("Seccomp_filters") - base_filters, 2);
  expect_eq("status_no_new_privs", status_field("NoNewPrivs"), 1);
}

static void root_without_no_new_privs(void) {
  struct sock_filter allow[] = {ALLOW};
  /* CAP_SYS_ADMIN suffices: root natively, root in the sandbox. */
  check("caller_with_cap_sys_admin_without_no_new_privs", install(allow, 1, 0));
}

/* ---- actions ---- */

static void errno_action_and_argument_checks(void) {
  no_new_privs();
  struct sock_filter f[] = {
      LD_NR,
      JEQ(SYS_getpid, 0, 1),
      RET(SECCOMP_RET_ERRNO | EPERM),
      JEQ(SYS_uname, 0, 3),
      LD_ARG_LO(0),
      JEQ(0, 0, 15),
      RET(SECCOMP_RET_ERRNO | ENOENT),
      JEQ(SYS_dup, 0, 3),
      LD_ARG_HI(0),
      JEQ(1, 0, 11),
      RET(SECCOMP_RET_ERRNO | E2BIG),
      JEQ(SYS_close, 0, 3),
      LD_ARG_LO(0),
      JEQ(0xdead, 0, 7),
      RET(SECCOMP_RET_ERRNO | 0),
      JEQ(SYS_getppid, 0, 1),
      RET(SECCOMP_RET_ERRNO | 5000),
      JEQ(SYS_getuid, 0, 1),
      RET(SECCOMP_RET_TRACE | 1),
      JEQ(SYS_getgid, 0, 1),
      RET(SECCOMP_RET_LOG),
      ALLOW,
  };
  expect_eq("install_errno_filter", install(f, COUNT(f), 0), 0);
  expect_errno("getpid_errno_eperm", syscall(SYS_getpid), EPERM);
  expect_errno("uname_null_errno_enoent", syscall(SYS_uname, NULL), ENOENT);
  struct utsname u;
  expect_eq("uname_with_buffer_allowed", syscall(SYS_uname, &u), 0);
  expect_errno("dup_with_high_bits_errno_e2big", syscall(SYS_dup, 0x100000001L), E2BIG);
  expect_ok("dup_allowed", syscall(SYS_dup, 1L));
  expect_eq("close_errno_0_returns_0_without_closing", syscall(SYS_close, 0xdead), 0);
  expect_errno("errno_above_4095_is_4095", syscall(SYS_getppid), 4095);
  expect_errno("trace_without_tracer_is_enosys", syscall(SYS_getuid), ENOSYS);
  expect_ok("log_allows", syscall(SYS_getgid));
}

static void unusual_programs(void) {
  no_new_privs();
  /* Scratch memory, X, the length of seccomp_data and arithmetic: ERRNO | 8. */
  struct sock_filter f[] = {
      LD_NR,
      JEQ(SYS_getpgid, 0, 10),
      BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
      BPF_STMT(BPF_ST, 0),
      BPF_STMT(BPF_LDX | BPF_MEM, 0),
      BPF_STMT(BPF_MISC | BPF_TXA, 0),
      BPF_STMT(BPF_ALU | BPF_ADD | BPF_K, 1),
      BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0),
      BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 3),
      BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
      BPF_STMT(BPF_MISC | BPF_TAX, 0),
      BPF_STMT(BPF_RET | BPF_A, 0),
      ALLOW,
  };
  expect_eq("install_arithmetic_filter", install(f, COUNT(f), 0), 0);
  expect_errno("arithmetic_filter_returns_errno_8", magic(), ENOEXEC);
}

static void division_by_zero_x(void) {
  no_new_privs();
  struct sock_filter f[] = {
      LD_NR,
      JEQ(SYS_getpgid, 0, 3),
      BPF_STMT(BPF_LDX | BPF_IMM, 0),
      BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
      ALLOW,
      ALLOW,
  };
  if (install(f, COUNT(f), 0) != 0)
    _exit(91);
  magic();
  _exit(92);
}

static volatile sig_atomic_t trap_count, trap_code, trap_syscall, trap_errno, trap_addr_ok,
    trap_rax_was_nr;
static volatile unsigned trap_arch;

static void on_sigsys(int signo, siginfo_t *si, void *ucontext) {
  (void)signo;
  ucontext_t *uc = ucontext;
  unsigned char *ip = si->si_call_addr;
  trap_count++;
  trap_code = si->si_code;
  trap_syscall = si->si_syscall;
  trap_arch = si->si_arch;
  trap_errno = si->si_errno;
  trap_addr_ok = ip && ip[-2] == 0x0f && ip[-1] == 0x05 &&
                 (greg_t)ip == uc->uc_mcontext.gregs[REG_RIP];
  trap_rax_was_nr = uc->uc_mcontext.gregs[REG_RAX] == si->si_syscall;
  /* What the trapped call appears to return. */
  uc->uc_mcontext.gregs[REG_RAX] = 4242;
}

static void catch_sigsys(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSYS, &sa, NULL);
}

static void trap_action(void) {
  no_new_privs();
  catch_sigsys();
  expect_eq("install_trap_filter", install_magic(SECCOMP_RET_TRAP | 0x42, 0), 0);
  expect_eq("trapped_call_returns_what_the_handler_set", magic(), 4242);
  expect_eq("trap_handler_ran_once", trap_count, 1);
  expect_eq("trap_si_code_is_sys_seccomp", trap_code, 1 /* SYS_SECCOMP */);
  expect_eq("trap_si_syscall", trap_syscall, SYS_getpgid);
  expect_true("trap_si_arch_is_x86_64", trap_arch == AUDIT_ARCH_X86_64);
  expect_eq("trap_si_errno_is_the_filter_data", trap_errno, 0x42);
  expect_true("trap_si_call_addr_follows_the_syscall_instruction", trap_addr_ok);
  expect_true("trap_handler_sees_rax_as_the_syscall_number", trap_rax_was_nr);
}

static void trap_with_sigsys_blocked(void) {
  no_new_privs();
  catch_sigsys();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGSYS);
  sigprocmask(SIG_BLOCK, &set, NULL);
  if (install_magic(SECCOMP_RET_TRAP, 0) != 0)
    _exit(91);
  magic();
  _exit(92);
}

static void kill_process_action(void) {
  no_new_privs();
  if (install_magic(SECCOMP_RET_KILL_PROCESS, 0) != 0)
    _exit(91);
  magic();
  _exit(92);
}

static int block_pipe[2];

static void *block_forever(void *arg) {
  (void)arg;
  char c;
  (void)!read(block_pipe[0], &c, 1);
  return NULL;
}

static void kill_process_with_threads(void) {
  no_new_privs();
  if (pipe(block_pipe) != 0)
    _exit(93);
  pthread_t t;
  pthread_create(&t, NULL, block_forever, NULL);
  if (install_magic(SECCOMP_RET_KILL_PROCESS, SECCOMP_FILTER_FLAG_TSYNC) != 0)
    _exit(91);
  magic();
  _exit(92);
}

static void kill_thread_single(void) {
  no_new_privs();
  if (install_magic(SECCOMP_RET_KILL_THREAD, 0) != 0)
    _exit(91);
  magic();
  _exit(92);
}

static void *call_magic(void *arg) {
  (void)arg;
  magic();
  return (void *)1;
}

static void kill_thread_of_many(void) {
  no_new_privs();
  expect_eq("install_kill_thread_filter", install_magic(SECCOMP_RET_KILL_THREAD, 0), 0);
  pthread_t t;
  void *ret = NULL;
  pthread_create(&t, NULL, call_magic, NULL);
  expect_eq("killed_thread_is_joined", pthread_join(t, &ret), 0);
  expect_true("killed_thread_never_returned", ret == NULL);
}

static void user_notif_without_listener(void) {
  no_new_privs();
  expect_eq("install_user_notif_filter", install_magic(SECCOMP_RET_USER_NOTIF, 0), 0);
  expect_errno("user_notif_without_listener_is_enosys", magic(), ENOSYS);
}

/* ---- several filters ---- */

static void stacked_filters(void) {
  no_new_privs();
  catch_sigsys();
  install_magic(SECCOMP_RET_ERRNO | EXDEV, 0);
  install_magic(SECCOMP_RET_ERRNO | ENOTDIR, 0);
  expect_errno("equal_actions_newest_filter_data_wins", magic(), ENOTDIR);
  struct sock_filter allow[] = {ALLOW};
  install(allow, 1, 0);
  install_magic(SECCOMP_RET_LOG, 0);
  expect_errno("errno_beats_allow_and_log", magic(), ENOTDIR);
  install_magic(SECCOMP_RET_TRAP | 7, 0);
  expect_eq("trap_beats_errno", magic(), 4242);
  expect_eq("trap_data_of_the_trap_filter", trap_errno, 7);
  expect_eq("stacked_filters_added", status_field("Seccomp_filters") - base_filters, 5);
  install_magic(SECCOMP_RET_KILL_PROCESS, 0);
  magic();
  _exit(92);
}

/* ---- strict mode ---- */

static void strict_allows_read_write_exit(void) {
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
    _exit(91);
  static const char line[] = "strict_write_allowed: yes\n";
  (void)!write(1, line, sizeof line - 1);
  syscall(SYS_exit, 3);
}

static void strict_kills_getpid(void) {
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, NULL) != 0)
    _exit(91);
  syscall(SYS_getpid);
  syscall(SYS_exit, 92);
}

static void strict_kills_exit_group(void) {
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
    _exit(91);
  syscall(SYS_exit_group, 0);
  syscall(SYS_exit, 92);
}

static void strict_over_filters(void) {
  no_new_privs();
  struct sock_filter allow[] = {ALLOW};
  install(allow, 1, 0);
  expect_errno("strict_over_filters", prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT), EINVAL);
}

/* ---- inheritance ---- */

static void fork_and_exec_inherit(void) {
  no_new_privs();
  expect_eq("install_before_fork", install_magic(SECCOMP_RET_ERRNO | EXDEV, 0), 0);
  pid_t p = fork();
  if (p == 0) {
    check_failures = 0;
    expect_errno("forked_child_is_filtered", magic(), EXDEV);
    _exit(check_finish());
  }
  int st = -1;
  waitpid(p, &st, 0);
  expect_true("forked_child_ok", WIFEXITED(st) && WEXITSTATUS(st) == 0);
  char base[32];
  snprintf(base, sizeof base, "%ld", base_filters);
  char *argv[] = {"seccomp", "exec-child", base, NULL};
  execv("/proc/self/exe", argv);
  _exit(94);
}

static int exec_child(void) {
  expect_errno("exec_keeps_the_filter", magic(), EXDEV);
  expect_eq("exec_keeps_filter_mode", prctl(PR_GET_SECCOMP, 0, 0, 0, 0), 2);
  expect_eq("exec_keeps_filter_count", status_field("Seccomp_filters") - base_filters, 1);
  expect_eq("exec_keeps_no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 1);
  return check_finish();
}

/* ---- TSYNC ---- */

static int cmd_pipe[2], ack_pipe[2];
static volatile pid_t worker_tid;

static void *worker(void *arg) {
  (void)arg;
  worker_tid = gettid();
  char c;
  while (read(cmd_pipe[0], &c, 1) == 1 && c != 'q') {
    if (c == 'c')
      check("worker_magic", magic());
    else if (c == 'i')
      expect_eq("worker_installs_its_own", install_magic(SECCOMP_RET_ERRNO | ENOTTY, 0), 0);
    (void)!write(ack_pipe[1], "k", 1);
  }
  return NULL;
}

static void tell_worker(char c) {
  (void)!write(cmd_pipe[1], &c, 1);
  if (c != 'q')
    (void)!read(ack_pipe[0], &c, 1);
}

static void tsync(void) {
  no_new_privs();
  if (pipe(cmd_pipe) != 0 || pipe(ack_pipe) != 0)
    _exit(93);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  tell_worker('c'); /* unfiltered: ESRCH */
  expect_eq("tsync_to_unfiltered_thread",
            install_magic(SECCOMP_RET_ERRNO | EXDEV, SECCOMP_FILTER_FLAG_TSYNC), 0);
  tell_worker('c'); /* EXDEV */
  expect_eq("install_without_tsync", install_magic(SECCOMP_RET_ERRNO | ENOTDIR, 0), 0);
  expect_errno("caller_has_both", magic(), ENOTDIR);
  tell_worker('c'); /* still EXDEV */
  tell_worker('i');
  tell_worker('c'); /* ENOTTY */
  struct sock_filter allow[] = {ALLOW};
  expect_true("tsync_with_diverged_thread_returns_its_tid",
              install(allow, 1, SECCOMP_FILTER_FLAG_TSYNC) == worker_tid);
  expect_errno("tsync_esrch",
               install(allow, 1, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH),
               ESRCH);
  expect_eq("failed_tsync_attached_nothing",
            status_field("Seccomp_filters") - base_filters, 2);
  tell_worker('q');
  pthread_join(t, NULL);
}

/* ---- restart_syscall ---- */

static int ready_pipe[2];

static void sleep_through_stop(void) {
  no_new_privs();
  struct sock_filter f[] = {
      LD_NR,
      JEQ(SYS_restart_syscall, 0, 1),
      RET(SECCOMP_RET_ERRNO | EXDEV),
      ALLOW,
  };
  if (install(f, COUNT(f), 0) != 0)
    _exit(91);
  (void)!write(ready_pipe[1], "r", 1);
  struct timespec ts = {5, 0};
  expect_errno("nanosleep_restart_goes_through_the_filter", syscall(SYS_nanosleep, &ts, NULL),
               EXDEV);
}

static char state_of(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return '?';
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0)
    return '?';
  buf[n] = 0;
  char *paren = strrchr(buf, ')');
  return paren && paren[1] && paren[2] ? paren[2] : '?';
}

static void restart_syscall_is_filtered(void) {
  if (pipe(ready_pipe) != 0)
    return;
  pid_t p = fork();
  if (p == 0) {
    check_failures = 0;
    sleep_through_stop();
    _exit(check_finish());
  }
  char c;
  (void)!read(ready_pipe[0], &c, 1);
  while (state_of(p) != 'S')
    sched_yield();
  int st = -1;
  kill(p, SIGSTOP);
  waitpid(p, &st, WUNTRACED);
  kill(p, SIGCONT);
  waitpid(p, &st, 0);
  expect_true("restart_syscall_child_ok", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "exec-child") == 0) {
    /* Run by fork_and_exec_inherit, with the count its caller started with. */
    base_filters = atol(argv[2]);
    return exec_child();
  }
  base_filters = status_field("Seccomp_filters");

  queries();
  expect_child_ok("bad_programs", bad_programs);
  expect_child_ok("unprivileged", unprivileged_needs_no_new_privs);
  expect_child_ok("root", root_without_no_new_privs);
  expect_child_ok("errno_action", errno_action_and_argument_checks);
  expect_child_ok("unusual_programs", unusual_programs);
  expect_child_killed("division_by_zero_x_returns_kill_thread", division_by_zero_x, SIGSYS);
  expect_child_ok("trap_action", trap_action);
  expect_child_killed("trap_with_sigsys_blocked_kills", trap_with_sigsys_blocked, SIGSYS);
  expect_child_killed("kill_process", kill_process_action, SIGSYS);
  expect_child_killed("kill_process_with_threads", kill_process_with_threads, SIGSYS);
  expect_child_killed("kill_thread_of_a_single_thread", kill_thread_single, SIGSYS);
  expect_child_ok("kill_thread_of_many", kill_thread_of_many);
  expect_child_ok("user_notif", user_notif_without_listener);
  expect_child_killed("stacked_filters_end_killed", stacked_filters, SIGSYS);
  int st = in_child(strict_allows_read_write_exit);
  expect_true("strict_exit_status_3", WIFEXITED(st) && WEXITSTATUS(st) == 3);
  expect_child_killed("strict_getpid_sigkill", strict_kills_getpid, SIGKILL);
  expect_child_killed("strict_exit_group_sigkill", strict_kills_exit_group, SIGKILL);
  expect_child_ok("strict_over_filters", strict_over_filters);
  expect_child_ok("fork_and_exec", fork_and_exec_inherit);
  expect_child_ok("tsync", tsync);
  restart_syscall_is_filtered();
  expect_eq("caller_never_filtered", status_field("Seccomp_filters"), base_filters);
  return check_finish();
}
