/*
 * threads: guest threads as Linux runs them — many threads contending on one futex,
 * joins through CLONE_CHILD_CLEARTID, per-thread TLS, thread- and process-directed
 * signals, exit versus exit_group, robust mutexes, condition variables and barriers,
 * vfork and posix_spawn sharing memory with the parent, and execve from a thread.
 *
 * usage: threads [exec-from-thread]
 */
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static long counter;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static void *contend(void *arg) {
  for (int i = 0; i < 200; i++) {
    pthread_mutex_lock(&mu);
    counter++;
    pthread_mutex_unlock(&mu);
  }
  return arg;
}

static void many_threads(void) {
  enum { N = 200 };
  static pthread_t t[N];
  int created = 0;
  for (long i = 0; i < N; i++)
    created += pthread_create(&t[i], NULL, contend, (void *)i) == 0;
  long sum = 0;
  for (int i = 0; i < created; i++) {
    void *r;
    pthread_join(t[i], &r);
    sum += (long)r;
  }
  expect_eq("threads_created", created, N);
  expect_eq("counter_under_contention", counter, N * 200);
  expect_eq("join_returns_values", sum, (long)N * (N - 1) / 2);
}

static __thread int tls_value = 7;
static void *tls_thread(void *arg) {
  tls_value = (int)(long)arg;
  return (void *)(long)(tls_value * 10 + (gettid() != getpid()));
}

static void thread_local_storage(void) {
  pthread_t t;
  pthread_create(&t, NULL, tls_thread, (void *)3);
  void *r;
  pthread_join(t, &r);
  expect_eq("thread_saw_own_tls_and_own_tid", (long)r, 31);
  expect_eq("main_tls_untouched", tls_value, 7);
}

static volatile pid_t handled_tid;
static void note_tid(int sig) {
  (void)sig;
  handled_tid = gettid();
}

static pid_t target_tid;
static pthread_barrier_t barrier;
static void *wait_for_signal(void *arg) {
  (void)arg;
  target_tid = gettid();
  pthread_barrier_wait(&barrier);
  pthread_barrier_wait(&barrier); /* until main has signalled us */
  return NULL;
}

static void thread_signals(void) {
  signal(SIGUSR1, note_tid);
  pthread_barrier_init(&barrier, NULL, 2);
  pthread_t t;
  pthread_create(&t, NULL, wait_for_signal, NULL);
  pthread_barrier_wait(&barrier);
  handled_tid = 0;
  pthread_kill(t, SIGUSR1);
  while (handled_tid == 0)
    usleep(1000);
  expect_true("pthread_kill_runs_handler_in_target", handled_tid == target_tid);
  /* A process-directed signal goes to a thread that does not block it. */
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, NULL);
  handled_tid = 0;
  kill(getpid(), SIGUSR1);
  while (handled_tid == 0)
    usleep(1000);
  expect_true("process_signal_goes_to_unblocked_thread", handled_tid == target_tid);
  pthread_sigmask(SIG_UNBLOCK, &block, NULL);
  pthread_barrier_wait(&barrier);
  pthread_join(t, NULL);
  signal(SIGUSR1, SIG_DFL);
}

static void *exit_thread_only(void *arg) {
  (void)arg;
  syscall(SYS_exit, 0);
  return NULL;
}

static void *exit_whole_group(void *arg) {
  (void)arg;
  usleep(20 * 1000);
  syscall(SYS_exit_group, 9);
  return NULL;
}

static void exits(void) {
  pthread_t t;
  pthread_create(&t, NULL, exit_thread_only, NULL);
  pthread_join(t, NULL);
  expect_true("thread_exit_leaves_process_running", 1);
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    pthread_create(&t, NULL, exit_whole_group, NULL);
    for (;;)
      pause();
  }
  int st;
  waitpid(p, &st, 0);
  expect_true("exit_group_from_thread_ends_process", WIFEXITED(st) && WEXITSTATUS(st) == 9);
}

static pthread_mutex_t robust;
static void *die_holding_lock(void *arg) {
  (void)arg;
  pthread_mutex_lock(&robust);
  return NULL; /* exits still holding it */
}

static void robust_mutex(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&robust, &a);
  pthread_t t;
  pthread_create(&t, NULL, die_holding_lock, NULL);
  pthread_join(t, NULL);
  expect_eq("robust_lock_after_owner_died", pthread_mutex_lock(&robust), EOWNERDEAD);
  expect_eq("robust_consistent", pthread_mutex_consistent(&robust), 0);
  expect_eq("robust_unlock", pthread_mutex_unlock(&robust), 0);
}

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int ready;
static void *signal_ready(void *arg) {
  (void)arg;
  usleep(10 * 1000);
  pthread_mutex_lock(&mu);
  ready = 1;
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&mu);
  return NULL;
}

static void condition_variable(void) {
  pthread_t t;
  pthread_create(&t, NULL, signal_ready, NULL);
  pthread_mutex_lock(&mu);
  while (!ready)
    pthread_cond_wait(&cond, &mu);
  pthread_mutex_unlock(&mu);
  pthread_join(t, NULL);
  expect_eq("cond_wait_woken", ready, 1);
}

static volatile int shared_with_vfork;
static void vfork_and_spawn(void) {
  pid_t p = vfork();
  if (p == 0) {
    shared_with_vfork = 42; /* the parent sees it: same memory */
    _exit(3);
  }
  int st;
  waitpid(p, &st, 0);
  expect_eq("vfork_child_wrote_parent_memory", shared_with_vfork, 42);
  expect_eq("vfork_child_status", WEXITSTATUS(st), 3);
  pid_t sp;
  char *argv[] = {"true", NULL};
  expect_eq("posix_spawn_missing_program", posix_spawn(&sp, "/nonexistent/prog", NULL, NULL, argv, environ), ENOENT);
  expect_eq("posix_spawn_true", posix_spawn(&sp, "/bin/true", NULL, NULL, argv, environ), 0);
  waitpid(sp, &st, 0);
  expect_true("posix_spawn_child_exited_0", WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static char self_path[256];
static void *exec_from_thread(void *arg) {
  (void)arg;
  char pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  char *argv[] = {self_path, "after-exec", pid, NULL};
  execv(self_path, argv);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "after-exec") == 0) {
    expect_true("exec_from_thread_keeps_pid", atoi(argv[2]) == getpid());
    expect_true("exec_from_thread_leader_tid", gettid() == getpid());
    return check_finish();
  }
  snprintf(self_path, sizeof self_path, "%s", argv[0]);
  many_threads();
  thread_local_storage();
  thread_signals();
  exits();
  robust_mutex();
  condition_variable();
  vfork_and_spawn();
  if (check_finish() != 0)
    return 1;
  fflush(stdout);
  pthread_t t;
  pthread_create(&t, NULL, exec_from_thread, NULL);
  pthread_join(t, NULL);
  return 1; /* not reached: the thread's execve replaced us */
}
