/*
 * unimplemented: raw calls to system calls the host kernel implements but moat
 * deliberately does not (yet). Prints the errno each call returns; natively
 * the host answers (EFAULT/EINVAL/EBADF...), under moat each must be ENOSYS,
 * which proves the host kernel never saw the call.
 */
#include "check.h"

#include <sys/syscall.h>
#include <unistd.h>

static long raw_syscall2(long nr, long a, long b) {
  long ret;
  register long r_a __asm__("rdi") = a;
  register long r_b __asm__("rsi") = b;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "r"(r_a), "r"(r_b) : "rcx", "r11", "memory");
  return ret;
}

static void print_raw(const char *name, long ret) {
  if (ret < 0 && ret > -4096) {
    errno = (int)-ret;
    ret = -1;
  }
  check(name, ret);
}

int main(void) {
  /* io_uring_setup(1, NULL): the host says EFAULT. */
  print_raw("io_uring_setup", raw_syscall2(425, 1, 0));
  /* bpf(BPF_MAP_CREATE, NULL): the host says EFAULT or EPERM. */
  print_raw("bpf", raw_syscall2(321, 0, 0));
  /* userfaultfd with invalid flags: the host says EINVAL. */
  print_raw("userfaultfd", raw_syscall2(323, -1, 0));
  return 0;
}
