/*
 * signals: delivering signals to a process's own handlers: raise() runs an
 * SA_SIGINFO handler with the right siginfo, a blocked signal stays pending
 * until unblocked, an ignored one is dropped.
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
  return check_finish();
}
