/*
 * fuzz: calls every system call number with adversarial arguments — bad, kernel,
 * unaligned and dangling pointers, buffers that run into an unmapped page, huge
 * sizes, garbage flags — and must survive to exit 0. Run only under moat: the test
 * is that the sentry answers every call with an errno instead of crashing.
 *
 * Calls that would end, replace, block, rearrange or filter this program itself
 * (exit, execve, signals to self, mmap/munmap/mprotect, arch_prctl, waits and
 * sleeps, seccomp, System V IPC and message queue operations, which block as
 * Linux's do) are skipped; they have their own tests.
 */
#include "check.h"

#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

static const int skipped[] = {
    SYS_exit, SYS_exit_group, SYS_execve, SYS_execveat, SYS_rt_sigreturn,
    SYS_kill, SYS_tkill, SYS_tgkill, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo,
    SYS_pidfd_send_signal, SYS_rt_sigaction,
    SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_brk, SYS_madvise,
    SYS_pkey_mprotect, SYS_remap_file_pages, SYS_shmat, SYS_arch_prctl,
    SYS_clone, SYS_fork, SYS_vfork, SYS_clone3,
    SYS_pipe, SYS_pipe2, SYS_futex, SYS_futex_waitv, SYS_nanosleep,
    SYS_clock_nanosleep, SYS_poll, SYS_ppoll, SYS_select, SYS_pselect6, SYS_pause,
    SYS_rt_sigsuspend, SYS_rt_sigtimedwait, SYS_epoll_wait, SYS_epoll_pwait,
    SYS_epoll_pwait2, SYS_wait4, SYS_waitid, SYS_reboot, SYS_close_range,
    SYS_dup2, SYS_dup3, SYS_seccomp, SYS_semop, SYS_semtimedop, SYS_msgsnd, SYS_msgrcv,
    SYS_mq_timedsend, SYS_mq_timedreceive,
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

int main(void) {
  struct utsname u;
  if (uname(&u) != 0 || !strstr(u.release, "moat")) {
    fprintf(stderr, "fuzz: refusing to run outside moat\n");
    return 2;
  }
  /* Random writes must not spray the caller's terminal: the guest's stdio go. */
  close(0);
  close(1);
  close(2);
  /* 64 KiB of scratch followed by an unmapped page. */
  char *buf = mmap(NULL, 17 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (buf == MAP_FAILED)
    return 3;
  munmap(buf + 16 * 4096, 4096);
  strcpy(buf, "/etc/passwd");
  static const char ro_path[] = "/etc/os-release";
  const uint64_t pool[] = {
      0, 1, 2, 3, (uint64_t)-1, (uint64_t)-100 /* AT_FDCWD */, 4096, 0x7fffffff,
      0x80000000, 0xffffffff, 0x10000, 0x7fffffffffffULL, 0xffff800000000000ULL,
      (uint64_t)buf, (uint64_t)buf + 1, (uint64_t)buf + 16 * 4096 - 3,
      (uint64_t)buf + 16 * 4096, (uint64_t)ro_path, (uint64_t)ro_path + 7,
      (uint64_t)&main, 0x4000000000000000ULL,
  };
  const size_t npool = sizeof pool / sizeof pool[0];
  for (long nr = 0; nr < 470; nr++) {
    int skip = 0;
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++)
      skip |= skipped[i] == nr;
    if (skip)
      continue;
    for (int round = 0; round < 40; round++) {
      uint64_t a[6];
      for (int i = 0; i < 6; i++)
        a[i] = (next() & 7) == 0 ? next() : pool[next() % npool];
      syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
    }
  }
  return 0;
}
