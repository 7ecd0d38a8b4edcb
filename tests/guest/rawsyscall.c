/*
 * rawsyscall: system calls issued with the `syscall` instruction directly,
 * not through the C library, with numbers Linux does not implement.
 */
#include "check.h"

#include <sys/syscall.h>
#include <unistd.h>

/* The x86-64 syscall instruction: number in rax, result (or -errno) in rax;
 * the CPU clobbers rcx and r11. */
static long raw_syscall0(long nr) {
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr) : "rcx", "r11", "memory");
  return ret;
}

/* Prints a raw result the way check() prints a libc one. */
static void expect_raw_errno(const char *name, long ret, int want) {
  if (ret < 0 && ret > -4096) {
    errno = (int)-ret;
    ret = -1;
  }
  expect_errno(name, ret, want);
}

int main(void) {
  /* Beyond the end of the table. */
  expect_raw_errno("syscall_1000", raw_syscall0(1000), ENOSYS);
  /* (The gap after 334 is being filled: 335 is uretprobe since Linux 6.11,
   * which raises SIGILL when called from outside a uretprobe trampoline.) */
  /* The x32 numbers (512..547) are not reachable from the 64-bit ABI. */
  expect_raw_errno("syscall_512", raw_syscall0(512), ENOSYS);
  /* -1, the number a tracer writes to skip a call. */
  expect_raw_errno("syscall_minus_1", raw_syscall0(-1), ENOSYS);
  /* A raw call the kernel does implement returns its value in rax. */
  expect_true("raw_getpid_equals_libc_getpid", raw_syscall0(SYS_getpid) == getpid());
  expect_true("raw_gettid_equals_getpid", raw_syscall0(SYS_gettid) == getpid());
  return check_finish();
}
