/*
 * sched: nice values and scheduling policies as Linux keeps them — per thread,
 * inherited by fork, with the permission rules for root and for an
 * unprivileged user, and the errors of each call.
 *
 * Real-time policies are only ever set for a moment, in a child that exits
 * right after, and nothing here spins.
 */
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sched_attr_v1 {
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
  uint32_t sched_util_min, sched_util_max;
};

static long getprio(int which, int who) {
  /* The raw call: 20 - nice, never negative. */
  return syscall(SYS_getpriority, which, who);
}

static void *thread_nice(void *arg) {
  (void)arg;
  /* A new thread inherits its creator's nice value; setting its own leaves
   * the other threads alone. */
  long inherited = getprio(PRIO_PROCESS, 0);
  setpriority(PRIO_PROCESS, (id_t)gettid(), 7);
  return (void *)inherited;
}

static void nice_values(void) {
  /* A process group of its own (the sandbox's init already leads one). */
  setpgid(0, 0);
  expect_eq("getpriority_self", getprio(PRIO_PROCESS, 0), 20);
  expect_eq("setpriority", setpriority(PRIO_PROCESS, 0, 3), 0);
  expect_eq("getpriority_after", getprio(PRIO_PROCESS, 0), 17);
  expect_eq("getpriority_by_pid", getprio(PRIO_PROCESS, getpid()), 17);
  expect_eq("getpriority_pgrp", getprio(PRIO_PGRP, 0), 17);
  expect_eq("nice_call", nice(1), 4);
  expect_eq("setpriority_clamps", setpriority(PRIO_PROCESS, 0, 100), 0);
  expect_eq("clamped_to_19", getprio(PRIO_PROCESS, 0), 1);
  setpriority(PRIO_PROCESS, 0, 2);

  pthread_t t;
  void *inherited;
  pthread_create(&t, NULL, thread_nice, NULL);
  pthread_join(t, &inherited);
  expect_eq("thread_inherits_nice", (long)inherited, 18);
  expect_eq("thread_change_is_its_own", getprio(PRIO_PROCESS, 0), 18);

  pid_t child = fork();
  if (child == 0)
    _exit((int)getprio(PRIO_PROCESS, 0));
  int status;
  waitpid(child, &status, 0);
  expect_eq("fork_inherits_nice", WEXITSTATUS(status), 18);

  FILE *f = fopen("/proc/self/stat", "r");
  char buf[1024] = {0};
  fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  long prio = 0, nicev = 0;
  char *p = strrchr(buf, ')');
  /* Fields 18 and 19: 16 spaces on from the end of the comm. */
  for (int i = 0; p && i < 16; i++)
    p = strchr(p + 1, ' ');
  if (p)
    sscanf(p, " %ld %ld", &prio, &nicev);
  say("proc_stat_priority_nice", "%ld %ld", prio, nicev);

  expect_errno("getpriority_bad_which", getprio(7, 0), EINVAL);
  expect_errno("setpriority_bad_which", setpriority(7, 0, 0), EINVAL);
  expect_errno("getpriority_no_process", getprio(PRIO_PROCESS, 99999), ESRCH);
  expect_errno("setpriority_no_process", setpriority(PRIO_PROCESS, 99999, 0), ESRCH);
  expect_errno("getpriority_no_group", getprio(PRIO_PGRP, 99999), ESRCH);
  expect_errno("getpriority_no_user", getprio(PRIO_USER, 4242), ESRCH);
  expect_eq("root_lowers_nice", setpriority(PRIO_PROCESS, 0, -5), 0);
  expect_eq("negative_nice", getprio(PRIO_PROCESS, 0), 25);
  setpriority(PRIO_PROCESS, 0, 0);
}

static void policies(void) {
  expect_eq("max_fifo", sched_get_priority_max(SCHED_FIFO), 99);
  expect_eq("min_fifo", sched_get_priority_min(SCHED_FIFO), 1);
  expect_eq("max_rr", sched_get_priority_max(SCHED_RR), 99);
  expect_eq("max_other", sched_get_priority_max(SCHED_OTHER), 0);
  expect_eq("min_batch", sched_get_priority_min(SCHED_BATCH), 0);
  expect_eq("max_idle", sched_get_priority_max(SCHED_IDLE), 0);
  expect_errno("max_bad", sched_get_priority_max(42), EINVAL);
  expect_errno("min_bad", sched_get_priority_min(-1), EINVAL);

  expect_eq("getscheduler", sched_getscheduler(0), SCHED_OTHER);
  struct sched_param sp = {.sched_priority = 5};
  expect_eq("getparam", sched_getparam(0, &sp), 0);
  expect_eq("getparam_priority", sp.sched_priority, 0);
  sp.sched_priority = 0;
  expect_eq("set_batch", sched_setscheduler(0, SCHED_BATCH, &sp), 0);
  expect_eq("is_batch", sched_getscheduler(0), SCHED_BATCH);
  expect_eq("batch_keeps_nice", getprio(PRIO_PROCESS, 0), 20);
  expect_eq("set_other", sched_setscheduler(0, SCHED_OTHER, &sp), 0);
  sp.sched_priority = 1;
  expect_errno("other_with_priority", sched_setscheduler(0, SCHED_OTHER, &sp), EINVAL);
  sp.sched_priority = 0;
  expect_errno("fifo_without_priority", sched_setscheduler(0, SCHED_FIFO, &sp), EINVAL);
  sp.sched_priority = 100;
  expect_errno("fifo_priority_100", sched_setscheduler(0, SCHED_FIFO, &sp), EINVAL);
  sp.sched_priority = 0;
  expect_errno("bad_policy", sched_setscheduler(0, 42, &sp), EINVAL);
  expect_errno("negative_policy", sched_setscheduler(0, -1, &sp), EINVAL);
  expect_errno("null_param", sched_setscheduler(0, SCHED_OTHER, NULL), EINVAL);
  expect_errno("bad_param", sched_setscheduler(0, SCHED_OTHER, (void *)1), EFAULT);
  expect_errno("negative_pid", sched_setscheduler(-1, SCHED_OTHER, &sp), EINVAL);
  expect_errno("no_such_pid", sched_setscheduler(99999, SCHED_OTHER, &sp), ESRCH);
  expect_errno("getscheduler_no_pid", sched_getscheduler(99999), ESRCH);
  expect_errno("getscheduler_negative", sched_getscheduler(-1), EINVAL);
  expect_errno("getparam_null", sched_getparam(0, NULL), EINVAL);
  expect_errno("getparam_fault", sched_getparam(0, (void *)1), EFAULT);
  expect_errno("setparam_other_prio", sched_setparam(0, &(struct sched_param){.sched_priority = 3}),
               EINVAL);
  struct timespec ts;
  expect_errno("rr_interval_negative", sched_rr_get_interval(-1, &ts), EINVAL);
  expect_errno("rr_interval_no_pid", sched_rr_get_interval(99999, &ts), ESRCH);

  /* Real time, briefly, in a child: root may. */
  pid_t child = fork();
  if (child == 0) {
    struct sched_param rt = {.sched_priority = 10};
    int ok = sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &rt) == 0;
    int policy = sched_getscheduler(0);
    struct sched_param got;
    sched_getparam(0, &got);
    struct timespec slice;
    sched_rr_get_interval(0, &slice);
    pid_t grandchild = fork();
    if (grandchild == 0)
      _exit(sched_getscheduler(0));
    int st;
    waitpid(grandchild, &st, 0);
    rt.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &rt);
    printf("rt_set: %d\nrt_policy: %#x\nrt_priority: %d\nrr_slice_ms: %ld\n"
           "reset_on_fork_child_policy: %d\n",
           ok, policy, got.sched_priority, slice.tv_sec * 1000 + slice.tv_nsec / 1000000,
           WEXITSTATUS(st));
    fflush(stdout);
    _exit(0);
  }
  waitpid(child, NULL, 0);
}

static void attrs(void) {
  struct sched_attr_v1 a;
  memset(&a, 0, sizeof a);
  expect_eq("getattr", syscall(SYS_sched_getattr, 0, &a, sizeof a, 0), 0);
  expect_eq("getattr_size", a.size, sizeof a);
  expect_eq("getattr_policy", a.sched_policy, SCHED_OTHER);
  expect_eq("getattr_nice", a.sched_nice, 0);
  memset(&a, 0, sizeof a);
  expect_eq("getattr_v0", syscall(SYS_sched_getattr, 0, &a, 48, 0), 0);
  expect_eq("getattr_v0_size", a.size, 48);
  expect_errno("getattr_small", syscall(SYS_sched_getattr, 0, &a, 40, 0), EINVAL);
  expect_errno("getattr_flags", syscall(SYS_sched_getattr, 0, &a, sizeof a, 1), EINVAL);
  expect_errno("getattr_null", syscall(SYS_sched_getattr, 0, NULL, sizeof a, 0), EINVAL);

  memset(&a, 0, sizeof a);
  a.size = 48;
  a.sched_policy = SCHED_OTHER;
  a.sched_nice = 6;
  expect_eq("setattr_nice", syscall(SYS_sched_setattr, 0, &a, 0), 0);
  expect_eq("setattr_nice_seen", getprio(PRIO_PROCESS, 0), 14);
  a.sched_policy = SCHED_IDLE;
  expect_eq("setattr_idle", syscall(SYS_sched_setattr, 0, &a, 0), 0);
  expect_eq("idle_policy", sched_getscheduler(0), SCHED_IDLE);
  a.sched_policy = SCHED_OTHER;
  a.sched_nice = 0;
  expect_eq("setattr_back", syscall(SYS_sched_setattr, 0, &a, 0), 0);
  a.size = 20;
  expect_errno("setattr_too_small", syscall(SYS_sched_setattr, 0, &a, 0), E2BIG);
  expect_eq("setattr_size_written_back", a.size, sizeof a);
  char big[128];
  memset(big, 0, sizeof big);
  memcpy(big, &a, sizeof a);
  ((struct sched_attr_v1 *)big)->size = sizeof big;
  big[100] = 1;
  expect_errno("setattr_nonzero_tail", syscall(SYS_sched_setattr, 0, big, 0), E2BIG);
  big[100] = 0;
  expect_eq("setattr_zero_tail", syscall(SYS_sched_setattr, 0, big, 0), 0);
  a.size = 48;
  expect_errno("setattr_flags_arg", syscall(SYS_sched_setattr, 0, &a, 1), EINVAL);
  a.sched_flags = 0x1000;
  expect_errno("setattr_unknown_flag", syscall(SYS_sched_setattr, 0, &a, 0), EINVAL);
  a.sched_flags = 0;
  expect_errno("setattr_null", syscall(SYS_sched_setattr, 0, NULL, 0), EINVAL);
}

/* As an unprivileged user: raising nice is fine, lowering it is not. */
static void unprivileged(void) {
  int failures = check_failures;
  pid_t child = fork();
  if (child == 0) {
    if (setuid(65534) != 0)
      _exit(1);
    expect_eq("user_raise_nice", setpriority(PRIO_PROCESS, 0, 5), 0);
    expect_errno("user_lower_nice", setpriority(PRIO_PROCESS, 0, 4), EACCES);
    expect_errno("user_other_process", setpriority(PRIO_PROCESS, getppid(), 5), EPERM);
    struct sched_param sp = {.sched_priority = 1};
    expect_errno("user_fifo", sched_setscheduler(0, SCHED_FIFO, &sp), EPERM);
    sp.sched_priority = 0;
    expect_eq("user_batch", sched_setscheduler(0, SCHED_BATCH, &sp), 0);
    struct sched_attr_v1 a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.sched_policy = SCHED_OTHER;
    a.sched_nice = 2;
    expect_errno("user_setattr_lower_nice", syscall(SYS_sched_setattr, 0, &a, 0), EPERM);
    a.sched_nice = 10;
    expect_eq("user_setattr_raise_nice", syscall(SYS_sched_setattr, 0, &a, 0), 0);
    fflush(stdout);
    _exit(check_failures != failures);
  }
  int status;
  waitpid(child, &status, 0);
  expect_eq("unprivileged_child", WEXITSTATUS(status), 0);
}

int main(void) {
  nice_values();
  policies();
  attrs();
  if (geteuid() == 0)
    unprivileged();
  return check_finish();
}
