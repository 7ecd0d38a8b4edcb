/*
 * openat2: opening with a struct open_how — the size rules (EINVAL below the
 * first version, E2BIG for non-zero bytes past what the kernel knows or more
 * than a page), flag and mode checks, RESOLVE_CACHED with creating flags.
 */
#include "check.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct how {
  uint64_t flags, mode, resolve;
};
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20

static long openat2(int dirfd, const char *path, void *how, size_t size) {
  return syscall(SYS_openat2, dirfd, path, how, size);
}

int main(void) {
  struct how h = {.flags = O_RDONLY | O_CLOEXEC};
  int fd = (int)openat2(AT_FDCWD, "/proc/self/exe", &h, sizeof h);
  expect_ok("open", fd);
  expect_eq("cloexec", fcntl(fd, F_GETFD), FD_CLOEXEC);
  expect_eq("largefile", fcntl(fd, F_GETFL) & 0100000, 0100000);
  close(fd);

  char big[64] = {0};
  memcpy(big, &h, sizeof h);
  fd = (int)openat2(AT_FDCWD, "/proc/self/exe", big, sizeof big);
  expect_ok("larger_struct_zero_tail", fd);
  close(fd);
  big[40] = 1;
  expect_errno("larger_struct_nonzero_tail", openat2(AT_FDCWD, "/", big, sizeof big), E2BIG);
  expect_errno("too_small", openat2(AT_FDCWD, "/", &h, 16), EINVAL);
  expect_errno("over_a_page", openat2(AT_FDCWD, "/", &h, 8192), E2BIG);
  expect_errno("bad_how", openat2(AT_FDCWD, "/", (void *)8, sizeof h), EFAULT);
  expect_errno("bad_path", openat2(AT_FDCWD, (char *)8, &h, sizeof h), EFAULT);
  expect_errno("missing", openat2(AT_FDCWD, "/no/such/file", &h, sizeof h), ENOENT);

  struct how bad = {.flags = 1ULL << 40};
  expect_errno("upper_flag_bits", openat2(AT_FDCWD, "/", &bad, sizeof bad), EINVAL);
  bad = (struct how){.flags = O_RDONLY, .mode = 0644};
  expect_errno("mode_without_create", openat2(AT_FDCWD, "/", &bad, sizeof bad), EINVAL);
  bad = (struct how){.flags = O_RDONLY | O_CREAT, .mode = 010000};
  expect_errno("mode_bad_bits", openat2(AT_FDCWD, "/tmp/x", &bad, sizeof bad), EINVAL);
  bad = (struct how){.flags = O_RDONLY, .resolve = 0x40};
  expect_errno("unknown_resolve", openat2(AT_FDCWD, "/", &bad, sizeof bad), EINVAL);
  bad = (struct how){.flags = O_RDONLY, .resolve = RESOLVE_BENEATH | RESOLVE_IN_ROOT};
  expect_errno("beneath_and_in_root", openat2(AT_FDCWD, "/", &bad, sizeof bad), EINVAL);
  bad = (struct how){.flags = O_PATH | O_RDWR};
  expect_errno("path_with_rdwr", openat2(AT_FDCWD, "/", &bad, sizeof bad), EINVAL);
  bad = (struct how){.flags = O_WRONLY | O_CREAT, .mode = 0600, .resolve = RESOLVE_CACHED};
  expect_errno("cached_create", openat2(AT_FDCWD, "/tmp/x", &bad, sizeof bad), EAGAIN);

  struct how path = {.flags = O_PATH | O_DIRECTORY};
  fd = (int)openat2(AT_FDCWD, "/proc", &path, sizeof path);
  expect_ok("o_path", fd);
  expect_eq("o_path_no_largefile", fcntl(fd, F_GETFL) & 0100000, 0);
  close(fd);
  return check_finish();
}
