/*
 * procs: processes as Linux runs them — fork with copy-on-write memory, exit
 * statuses, SIGCHLD, zombies and reaping, orphans adopted by a subreaper, process
 * groups and sessions, stop/continue reports, and fork+exec.
 *
 * pids are printed only as relations (the child's getppid is the parent's pid), so
 * native and sandboxed runs print the same lines.
 */
#include "check.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_of(pid_t pid) {
  int st = -1;
  if (waitpid(pid, &st, 0) != pid)
    return -1;
  return st;
}

static void exit_statuses(void) {
  pid_t p = fork();
  if (p == 0)
    _exit(7);
  int st = status_of(p);
  expect_true("child_exited", WIFEXITED(st));
  expect_eq("child_exit_code", WEXITSTATUS(st), 7);

  p = fork();
  if (p == 0) {
    raise(SIGTERM);
    _exit(0);
  }
  st = status_of(p);
  expect_true("child_killed", WIFSIGNALED(st));
  expect_eq("child_term_signal", WTERMSIG(st), SIGTERM);

  p = fork();
  if (p == 0) {
    *(volatile int *)8 = 1;
    _exit(0);
  }
  st = status_of(p);
  expect_eq("child_segv_signal", WTERMSIG(st), SIGSEGV);

  int fds[2];
  if (pipe(fds) != 0)
    return;
  close(fds[0]); /* no reader anywhere, before the child exists */
  p = fork();
  if (p == 0) {
    (void)!write(fds[1], "x", 1);
    _exit(0);
  }
  close(fds[1]);
  st = status_of(p);
  expect_eq("write_to_closed_pipe_kills_with_sigpipe", WTERMSIG(st), SIGPIPE);
  expect_errno("wait_for_non_child", waitpid(1, &st, WNOHANG), ECHILD);
  expect_errno("wait_with_no_children", wait(&st), ECHILD);
  expect_errno("kill_missing_pid", kill(999999, 0), ESRCH);
}

static void copy_on_write(void) {
  size_t len = 8 << 20;
  unsigned char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  for (size_t i = 0; i < len; i++)
    buf[i] = (unsigned char)(i * 7);
  int fds[2];
  if (pipe(fds) != 0)
    return;
  pid_t p = fork();
  if (p == 0) {
    uint32_t h = fnv1a(2166136261u, buf, len);
    for (size_t i = 0; i < len; i += 4096)
      buf[i] = 0xee;
    shared[0] = 42;
    (void)!write(fds[1], &h, sizeof h);
    _exit(buf[4096] == 0xee ? 0 : 1);
  }
  for (size_t i = 0; i < len; i += 8192)
    buf[i] = 0x11;
  uint32_t child_hash = 0;
  (void)!read(fds[0], &child_hash, sizeof child_hash);
  int st = status_of(p);
  uint32_t before = fnv1a(2166136261u, buf, 0);
  (void)before;
  expect_eq("child_saw_its_own_writes", WEXITSTATUS(st), 0);
  int parent_ok = 1;
  for (size_t i = 0; i < len; i++) {
    unsigned char want = (i % 8192 == 0) ? 0x11 : (unsigned char)(i * 7);
    if (buf[i] != want)
      parent_ok = 0;
  }
  expect_true("parent_unaffected_by_child_writes", parent_ok);
  say("child_hash_of_inherited_memory", "%08x", child_hash);
  expect_eq("shared_mapping_sees_child_write", shared[0], 42);
  close(fds[0]);
  close(fds[1]);
}

static volatile sig_atomic_t chld_code, chld_pid, chld_status;
static void on_chld(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)uc;
  chld_code = si->si_code;
  chld_pid = si->si_pid;
  chld_status = si->si_status;
}

static void sigchld(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGCHLD, &sa, NULL);
  pid_t p = fork();
  if (p == 0)
    _exit(5);
  int st = status_of(p);
  (void)st;
  expect_eq("sigchld_code_exited", chld_code, CLD_EXITED);
  expect_true("sigchld_pid_is_child", chld_pid == p);
  expect_eq("sigchld_status", chld_status, 5);

  signal(SIGCHLD, SIG_IGN);
  p = fork();
  if (p == 0)
    _exit(0);
  expect_errno("ignored_sigchld_auto_reaps", waitpid(p, &st, 0), ECHILD);
  signal(SIGCHLD, SIG_DFL);

  p = fork();
  if (p == 0)
    _exit(9);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  expect_eq("waitid_nowait", waitid(P_PID, p, &si, WEXITED | WNOWAIT), 0);
  expect_eq("waitid_nowait_status", si.si_status, 9);
  memset(&si, 0, sizeof si);
  expect_eq("waitid_reaps", waitid(P_PID, p, &si, WEXITED), 0);
  expect_eq("waitid_code", si.si_code, CLD_EXITED);
  expect_errno("waitid_after_reap", waitid(P_PID, p, &si, WEXITED), ECHILD);
}

static void orphans_and_groups(void) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int fds[2];
  if (pipe(fds) != 0)
    return;
  pid_t me = getpid();
  pid_t child = fork();
  if (child == 0) {
    expect_true("child_ppid_is_parent", getppid() == me);
    pid_t grandchild = fork();
    if (grandchild == 0) {
      close(fds[0]);
      /* Wait until our parent is gone, then report who adopted us. */
      while (getppid() != me)
        usleep(1000);
      char ok = 'y';
      (void)!write(fds[1], &ok, 1);
      _exit(3);
    }
    _exit(0);
  }
  close(fds[1]);
  status_of(child);
  char c = 0;
  (void)!read(fds[0], &c, 1);
  expect_eq("orphan_adopted_by_subreaper", c, 'y');
  int st;
  pid_t reaped = wait(&st);
  expect_true("subreaper_reaps_orphan", reaped > 0 && WEXITSTATUS(st) == 3);
  close(fds[0]);

  int ready[2];
  if (pipe(ready) != 0)
    return;
  pid_t g = fork();
  if (g == 0) {
    setpgid(0, 0);
    expect_true("setpgid_made_group", getpgid(0) == getpid());
    expect_true("setsid_fails_for_group_leader", setsid() == -1 && errno == EPERM);
    fflush(stdout);
    (void)!write(ready[1], "r", 1);
    pause();
    _exit(0);
  }
  setpgid(g, g);
  char r;
  (void)!read(ready[0], &r, 1);
  close(ready[0]);
  close(ready[1]);
  expect_true("parent_sees_child_group", getpgid(g) == g);
  expect_eq("kill_process_group", kill(-g, SIGTERM), 0);
  st = status_of(g);
  expect_eq("group_member_killed", WTERMSIG(st), SIGTERM);

  pid_t s = fork();
  if (s == 0) {
    pid_t sid = setsid();
    _exit(sid == getpid() && getsid(0) == getpid() ? 0 : 1);
  }
  expect_eq("setsid_in_child", WEXITSTATUS(status_of(s)), 0);
}

static void stop_and_continue(void) {
  /* After SIGCONT the child waits until the parent has seen it continue: had it
   * exited first, waitpid would rightly report the exit instead. */
  int go[2];
  if (pipe(go) != 0)
    return;
  pid_t p = fork();
  if (p == 0) {
    close(go[1]);
    raise(SIGSTOP);
    char c;
    (void)!read(go[0], &c, 1);
    _exit(4);
  }
  close(go[0]);
  int st;
  expect_true("wuntraced_reports_stop", waitpid(p, &st, WUNTRACED) == p && WIFSTOPPED(st));
  expect_eq("stop_signal", WSTOPSIG(st), SIGSTOP);
  expect_eq("wnohang_running_child", waitpid(p, &st, WNOHANG), 0);
  kill(p, SIGCONT);
  expect_true("wcontinued_reports_continue", waitpid(p, &st, WCONTINUED) == p && WIFCONTINUED(st));
  close(go[1]);
  st = status_of(p);
  expect_eq("continued_child_exits", WEXITSTATUS(st), 4);
}

static void fork_and_exec(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    char *argv[] = {"/bin/echo", "exec in child ok", NULL};
    execv(argv[0], argv);
    _exit(127);
  }
  expect_eq("exec_child_status", WEXITSTATUS(status_of(p)), 0);
}

int main(void) {
  exit_statuses();
  copy_on_write();
  sigchld();
  orphans_and_groups();
  stop_and_continue();
  fork_and_exec();
  return check_finish();
}
