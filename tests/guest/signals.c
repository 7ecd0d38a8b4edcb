/*
 * signals: delivering signals to a process's own handlers: raise() runs an
 * SA_SIGINFO handler with the right siginfo, a blocked signal stays pending
 * until unblocked, an ignored one is dropped — unless it is blocked: a blocked
 * signal whose action is to ignore it (SIG_IGN, or SIG_DFL of SIGWINCH, SIGURG,
 * SIGCHLD) stays pending, since the action may change before it is unblocked.
 */
#include "check.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t handled_signo;
static volatile sig_atomic_t handled_code;
static volatile sig_atomic_t handled_count;

static void on_signal(int signo, siginfo_t *info, void *ucontext) {
  (void)ucontext;
  handled_signo = signo;
  handled_code = info->si_code;
  handled_count++;
}

static int is_pending(int signo) {
  sigset_t cur;
  sigpending(&cur);
  return sigismember(&cur, signo) == 1;
}

static void blocked_ignored_signals(struct sigaction *sa) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGWINCH);
  sigaddset(&set, SIGURG);
  sigaddset(&set, SIGUSR2);

  /* Unblocked and ignored by default: dropped on arrival. */
  syscall(SYS_tgkill, getpid(), gettid(), SIGWINCH);
  expect_true("unblocked_default_ignored_not_pending", !is_pending(SIGWINCH));

  sigprocmask(SIG_BLOCK, &set, NULL);
  syscall(SYS_tgkill, getpid(), gettid(), SIGWINCH); /* to the thread */
  kill(getpid(), SIGURG);                             /* to the process */
  signal(SIGUSR2, SIG_IGN);
  raise(SIGUSR2);
  expect_true("blocked_default_ignored_tgkill_pending", is_pending(SIGWINCH));
  expect_true("blocked_default_ignored_kill_pending", is_pending(SIGURG));
  expect_true("blocked_sig_ign_pending", is_pending(SIGUSR2));

  /* Setting SIG_IGN discards what is pending, blocked or not. */
  signal(SIGUSR2, SIG_IGN);
  expect_true("sigaction_sig_ign_discards_pending", !is_pending(SIGUSR2));

  /* A handler installed while it waits runs once it is unblocked. */
  sa->sa_sigaction = on_signal;
  sa->sa_flags = SA_SIGINFO;
  sigaction(SIGWINCH, sa, NULL);
  handled_count = 0;
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  sigprocmask(SIG_UNBLOCK, &winch, NULL);
  expect_eq("unblocked_waiting_signal_runs_new_handler", handled_count, 1);
  expect_eq("new_handler_saw_sigwinch", handled_signo, SIGWINCH);

  /* Still ignored by default when unblocked: taken off and dropped. */
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  expect_true("unblocked_default_ignored_discarded", !is_pending(SIGURG));
  expect_eq("default_ignored_ran_no_handler", handled_count, 1);
  signal(SIGWINCH, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  expect_eq("rt_sigaction_set", sigaction(SIGUSR1, &sa, NULL), 0);

  expect_eq("raise_sigusr1", raise(SIGUSR1), 0);
  expect_eq("handler_ran_once", handled_count, 1);
  expect_eq("handler_saw_signo", handled_signo, SIGUSR1);
  expect_eq("handler_saw_si_tkill", handled_code, SI_TKILL);

  sigset_t set, cur;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  expect_eq("rt_sigprocmask_block", sigprocmask(SIG_BLOCK, &set, NULL), 0);
  raise(SIGUSR1);
  expect_eq("blocked_signal_not_delivered", handled_count, 1);
  sigpending(&cur);
  expect_true("blocked_signal_is_pending", sigismember(&cur, SIGUSR1) == 1);
  expect_eq("rt_sigprocmask_unblock", sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
  expect_eq("unblocked_signal_delivered", handled_count, 2);

  sa.sa_handler = SIG_IGN;
  sa.sa_flags = 0;
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  expect_eq("ignored_signal_not_delivered", handled_count, 2);
  sigpending(&cur);
  expect_true("ignored_unblocked_signal_not_pending", !sigismember(&cur, SIGUSR1));

  blocked_ignored_signals(&sa);
  return check_finish();
}
