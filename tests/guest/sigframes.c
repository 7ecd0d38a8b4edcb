/*
 * sigframes: signal handlers as Linux runs them — faults fixed by the handler, stack
 * overflow handled on an alternate stack, FPU state preserved across a handler,
 * EINTR versus SA_RESTART on a blocking read, interrupted sleeps, sigsuspend,
 * sigtimedwait, the siginfo of SIGFPE/SIGILL/SIGTRAP, queued values, and the
 * SA_RESETHAND / SA_NODEFER / sa_mask rules.
 */
#include "check.h"

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits, last_code, last_signo, mask_had_self, mask_had_usr2;
static void *volatile last_addr;
static sigjmp_buf jump;
static char *page;

static void install(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

static void fix_fault(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  hits++;
  last_signo = sig;
  last_code = si->si_code;
  last_addr = si->si_addr;
  mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

static void segv_fixed_by_handler(void) {
  page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  install(SIGSEGV, fix_fault, 0);
  hits = 0;
  page[10] = 42; /* faults, the handler makes it writable, the store is retried */
  expect_eq("segv_handler_ran_once", hits, 1);
  expect_eq("segv_si_code_accerr", last_code, SEGV_ACCERR);
  expect_true("segv_si_addr_is_the_byte", last_addr == page + 10);
  expect_eq("store_retried_after_handler", page[10], 42);
  munmap(page, 4096);
  signal(SIGSEGV, SIG_DFL);
}

static char *altstack;
static volatile uintptr_t handler_sp;

static void on_overflow(int sig, siginfo_t *si, void *uc) {
  (void)si;
  (void)uc;
  int local;
  handler_sp = (uintptr_t)&local;
  last_signo = sig;
  siglongjmp(jump, 1);
}

static volatile int depth_limit = 1 << 30;
static int recurse(volatile char *prev, int depth) {
  volatile char buf[1024];
  buf[0] = prev ? prev[0] + 1 : 0;
  if (depth >= depth_limit) /* never true: keeps the compiler from calling this infinite */
    return 0;
  return recurse(buf, depth + 1) + buf[1];
}

static void overflow_on_altstack(void) {
  altstack = malloc(SIGSTKSZ * 4);
  stack_t ss = {.ss_sp = altstack, .ss_size = SIGSTKSZ * 4, .ss_flags = 0};
  expect_eq("sigaltstack_set", sigaltstack(&ss, NULL), 0);
  stack_t cur;
  sigaltstack(NULL, &cur);
  expect_true("sigaltstack_read_back", cur.ss_sp == altstack && cur.ss_flags == 0);
  install(SIGSEGV, on_overflow, SA_ONSTACK);
  if (sigsetjmp(jump, 1) == 0) {
    recurse(NULL, 0);
  }
  expect_eq("overflow_signal", last_signo, SIGSEGV);
  expect_true("handler_ran_on_altstack", handler_sp > (uintptr_t)altstack && handler_sp < (uintptr_t)altstack + SIGSTKSZ * 4);
  ss.ss_flags = SS_DISABLE;
  sigaltstack(&ss, NULL);
  signal(SIGSEGV, SIG_DFL);
}

static void clobber_fpu(int sig) {
  (void)sig;
  volatile double x = 1.0;
  for (int i = 0; i < 10; i++)
    x = x * 3.7 + 1.1;
  __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm7, %%xmm7" ::: "xmm0", "xmm7");
}

static void fpu_preserved_across_handler(void) {
  signal(SIGUSR2, clobber_fpu);
  double before = 3.25;
  double after;
  __asm__ volatile("movsd %1, %%xmm7\n\t"
                   "mov $" "62" ", %%eax\n\t" /* kill(getpid(), SIGUSR2) by hand keeps xmm7 live */
                   "mov %2, %%edi\n\t"
                   "mov $12, %%esi\n\t"
                   "syscall\n\t"
                   "movsd %%xmm7, %0"
                   : "=x"(after)
                   : "m"(before), "r"(getpid())
                   : "rax", "rdi", "rsi", "rcx", "r11", "xmm7", "memory");
  expect_true("xmm7_survives_handler", after == before);
  signal(SIGUSR2, SIG_DFL);
}

static int pipefd[2];
static void write_to_pipe(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  (void)uc;
  hits++;
  if (write(pipefd[1], "x", 1) != 1)
    _exit(99);
}

static void arm_timer_ms(int ms) {
  struct itimerval it = {.it_value = {.tv_sec = 0, .tv_usec = ms * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void eintr_versus_restart(void) {
  char c;
  if (pipe(pipefd) != 0)
    return;
  install(SIGALRM, write_to_pipe, 0);
  hits = 0;
  arm_timer_ms(50);
  expect_errno("read_interrupted_without_sa_restart", read(pipefd[0], &c, 1), EINTR);
  expect_eq("handler_ran_before_eintr", hits, 1);
  expect_eq("byte_left_by_handler_is_read", read(pipefd[0], &c, 1), 1);

  install(SIGALRM, write_to_pipe, SA_RESTART);
  arm_timer_ms(50);
  expect_eq("read_restarted_with_sa_restart", read(pipefd[0], &c, 1), 1);
  expect_eq("restarted_read_got_handler_byte", c, 'x');
  close(pipefd[0]);
  close(pipefd[1]);
}

static void just_count(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  hits++;
  last_signo = sig;
  last_code = si->si_code;
  last_addr = si->si_value.sival_ptr;
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  mask_had_self = sigismember(&now, sig);
  mask_had_usr2 = sigismember(&now, SIGUSR2);
}

static void sleeps_and_waits(void) {
  install(SIGALRM, just_count, 0);
  hits = 0;
  arm_timer_ms(50);
  struct timespec req = {.tv_sec = 5}, rem = {0};
  expect_errno("nanosleep_interrupted", nanosleep(&req, &rem), EINTR);
  expect_true("nanosleep_rem_reported", rem.tv_sec >= 3 && rem.tv_sec <= 5);

  sigset_t block, old, wait_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGALRM);
  sigprocmask(SIG_BLOCK, &block, &old);
  arm_timer_ms(30);
  sigemptyset(&wait_mask);
  hits = 0;
  expect_errno("sigsuspend_returns_eintr", sigsuspend(&wait_mask), EINTR);
  expect_eq("sigsuspend_ran_handler", hits, 1);
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  expect_true("sigsuspend_restored_mask", sigismember(&now, SIGALRM) == 1);

  arm_timer_ms(30);
  siginfo_t si;
  struct timespec timeout = {.tv_sec = 5};
  expect_eq("sigtimedwait_takes_blocked_signal", sigtimedwait(&block, &si, &timeout), SIGALRM);
  expect_eq("sigtimedwait_si_code_kernel", si.si_code, SI_KERNEL);
  struct timespec short_wait = {.tv_nsec = 20 * 1000 * 1000};
  expect_errno("sigtimedwait_times_out", sigtimedwait(&block, &si, &short_wait), EAGAIN);
  sigprocmask(SIG_SETMASK, &old, NULL);
  expect_eq("alarm_none_pending", alarm(0), 0);
  expect_eq("alarm_arm", alarm(100), 0);
  expect_eq("alarm_rearm_returns_left", alarm(0), 100);
}

static void long_jump_back(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  last_signo = sig;
  last_code = si->si_code;
  last_addr = si->si_addr;
  siglongjmp(jump, 1);
}

static volatile int zero = 0;
static void traps(void) {
  install(SIGFPE, long_jump_back, SA_NODEFER);
  if (sigsetjmp(jump, 1) == 0) {
    volatile int r = 10 / zero;
    (void)r;
  }
  expect_eq("sigfpe_signo", last_signo, SIGFPE);
  expect_eq("sigfpe_code_intdiv", last_code, FPE_INTDIV);
  install(SIGILL, long_jump_back, SA_NODEFER);
  if (sigsetjmp(jump, 1) == 0)
    __asm__ volatile("ud2");
  expect_eq("sigill_signo", last_signo, SIGILL);
  expect_eq("sigill_code_illopn", last_code, ILL_ILLOPN);
  install(SIGTRAP, long_jump_back, SA_NODEFER);
  if (sigsetjmp(jump, 1) == 0)
    __asm__ volatile("int3");
  expect_eq("sigtrap_signo", last_signo, SIGTRAP);
  expect_eq("sigtrap_code_kernel", last_code, SI_KERNEL);
}

static void flags_and_masks(void) {
  struct sigaction sa, cur;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = just_count;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGUSR2);
  sigaction(SIGUSR1, &sa, NULL);
  hits = 0;
  raise(SIGUSR1);
  expect_eq("resethand_ran", hits, 1);
  expect_eq("handler_blocks_its_own_signal", mask_had_self, 1);
  expect_eq("handler_blocks_sa_mask", mask_had_usr2, 1);
  sigaction(SIGUSR1, NULL, &cur);
  expect_true("resethand_reset_to_default", cur.sa_handler == SIG_DFL);

  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  raise(SIGUSR1);
  expect_eq("nodefer_leaves_signal_unblocked", mask_had_self, 0);

  union sigval v = {.sival_ptr = (void *)0x1234};
  expect_eq("sigqueue", sigqueue(getpid(), SIGUSR1, v), 0);
  expect_eq("sigqueue_code", last_code, SI_QUEUE);
  expect_true("sigqueue_value", last_addr == (void *)0x1234);

  /* Real-time signals queue; standard ones coalesce. */
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGRTMIN + 1);
  sigaddset(&block, SIGUSR2);
  sigprocmask(SIG_BLOCK, &block, NULL);
  install(SIGRTMIN + 1, just_count, 0);
  install(SIGUSR2, just_count, 0);
  hits = 0;
  raise(SIGRTMIN + 1);
  raise(SIGRTMIN + 1);
  raise(SIGUSR2);
  raise(SIGUSR2);
  sigprocmask(SIG_UNBLOCK, &block, NULL);
  expect_eq("rt_queued_std_coalesced", hits, 3);
  signal(SIGUSR1, SIG_DFL);
  signal(SIGUSR2, SIG_DFL);
}

int main(void) {
  segv_fixed_by_handler();
  overflow_on_altstack();
  fpu_preserved_across_handler();
  eintr_versus_restart();
  sleeps_and_waits();
  traps();
  flags_and_masks();
  return check_finish();
}
