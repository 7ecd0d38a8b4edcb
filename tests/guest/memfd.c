/*
 * memfd: memfd_create(2) files and their seals (fcntl F_ADD_SEALS and
 * F_GET_SEALS) as Linux gives them — names in /proc, shared mappings seen by
 * a child process, what each seal forbids and the errors of both calls.
 */
#include "check.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

static int mfd(const char *name, unsigned flags) {
  return (int)syscall(SYS_memfd_create, name, flags);
}

static void fd_link(const char *label, int fd) {
  char path[64], target[256];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, target, sizeof target - 1);
  target[n < 0 ? 0 : n] = 0;
  expect_str(label, target, "/memfd:demo (deleted)");
}

/* The /proc/self/maps line of the mapping at `addr`, from its name on. */
static void maps_name(const char *label, void *addr, const char *want) {
  char line[512], start[32];
  snprintf(start, sizeof start, "%lx-", (unsigned long)addr);
  FILE *f = fopen("/proc/self/maps", "r");
  const char *name = "(not found)";
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, start, strlen(start)) == 0) {
      line[strcspn(line, "\n")] = 0;
      char *slash = strchr(line, '/');
      name = slash ? slash : "(no name)";
      break;
    }
  }
  expect_str(label, name, want);
  if (f)
    fclose(f);
}

static void basics(void) {
  int fd = mfd("demo", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  expect_ok("memfd_create", fd);
  expect_eq("cloexec", fcntl(fd, F_GETFD), FD_CLOEXEC);
  expect_eq("access_mode", fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
  fd_link("fd_link", fd);
  struct stat st;
  fstat(fd, &st);
  expect_eq("mode", st.st_mode, S_IFREG | 0777);
  expect_eq("nlink", st.st_nlink, 0);
  expect_eq("size", st.st_size, 0);
  expect_eq("seals", fcntl(fd, F_GET_SEALS), 0);

  expect_eq("write", write(fd, "hello", 5), 5);
  char buf[16] = {0};
  expect_eq("pread", pread(fd, buf, sizeof buf, 0), 5);
  expect_str("pread_data", buf, "hello");
  expect_eq("ftruncate", ftruncate(fd, 8192), 0);

  char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  expect_ptr("mmap_shared", p, MAP_FAILED);
  maps_name("maps_name", p, "/memfd:demo (deleted)");
  expect_str("map_sees_write", p, "hello");
  pid_t child = fork();
  if (child == 0) {
    /* The child writes through its own shared mapping of the same file. */
    char *q = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    memcpy(q + 4096, "from child", 11);
    memcpy(p, "HELLO", 5);
    _exit(0);
  }
  int status;
  waitpid(child, &status, 0);
  expect_str("parent_sees_child_write", p + 4096, "from child");
  memset(buf, 0, sizeof buf);
  pread(fd, buf, 5, 0);
  expect_str("read_sees_child_write", buf, "HELLO");

  /* A shared writable mapping blocks F_SEAL_WRITE. */
  expect_errno("seal_write_while_mapped", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), EBUSY);
  munmap(p, 8192);
  char *priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  expect_eq("seal_write", fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
  expect_eq("seals_after", fcntl(fd, F_GET_SEALS), F_SEAL_WRITE);
  expect_errno("write_sealed", write(fd, "x", 1), EPERM);
  expect_errno("pwrite_sealed", pwrite(fd, "x", 1, 0), EPERM);
  expect_errno("mmap_shared_write_sealed",
               mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0,
               EPERM);
  char *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  expect_ptr("mmap_shared_read_sealed", ro, MAP_FAILED);
  expect_errno("mprotect_write_sealed", mprotect(ro, 4096, PROT_READ | PROT_WRITE), EACCES);
  expect_ptr("mmap_private_write_sealed",
             mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), MAP_FAILED);
  priv[0] = 'h';
  expect_str("private_copy_unchanged_file", ro, "HELLO");
  expect_errno("punch_sealed",
               fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), EPERM);
  expect_eq("truncate_write_sealed", ftruncate(fd, 4096), 0);

  expect_eq("seal_seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL), 0);
  expect_errno("add_after_seal_seal", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW), EPERM);
  expect_eq("seals_final", fcntl(fd, F_GET_SEALS), F_SEAL_WRITE | F_SEAL_SEAL);
  close(fd);
}

static void size_seals(void) {
  int fd = mfd("sizes", MFD_ALLOW_SEALING);
  ftruncate(fd, 5000);
  expect_eq("seal_shrink_grow", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  expect_errno("grow_sealed", ftruncate(fd, 6000), EPERM);
  expect_errno("shrink_sealed", ftruncate(fd, 4000), EPERM);
  expect_eq("same_size", ftruncate(fd, 5000), 0);
  expect_eq("write_inside", pwrite(fd, "abc", 3, 10), 3);
  expect_errno("write_past_end", pwrite(fd, "abc", 3, 5000), EPERM);
  static char big[5000];
  expect_eq("write_crossing_end_is_short", pwrite(fd, big, sizeof big, 100), 4096 - 100);
  expect_errno("fallocate_grow_sealed", fallocate(fd, 0, 0, 8192), EPERM);
  expect_errno("fallocate_keep_size_grow_sealed",
               fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 8192), EPERM);
  struct stat st;
  fstat(fd, &st);
  expect_eq("size_unchanged", st.st_size, 5000);
  close(fd);
}

static void future_write(void) {
  int fd = mfd("future", MFD_ALLOW_SEALING);
  ftruncate(fd, 4096);
  char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  expect_eq("seal_future_write_while_mapped", fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), 0);
  memcpy(p, "still", 6);
  char buf[8] = {0};
  pread(fd, buf, 6, 0);
  expect_str("old_mapping_still_writes", buf, "still");
  expect_errno("write_future_sealed", write(fd, "x", 1), EPERM);
  expect_errno("mmap_shared_write_future_sealed",
               mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0,
               EPERM);
  munmap(p, 4096);
  close(fd);
}

static void errors(void) {
  int plain = mfd("plain", 0);
  expect_eq("no_sealing_seals", fcntl(plain, F_GET_SEALS), F_SEAL_SEAL);
  expect_errno("no_sealing_add", fcntl(plain, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  expect_eq("no_cloexec", fcntl(plain, F_GETFD), 0);

  int sealable = mfd("sealable", MFD_ALLOW_SEALING);
  expect_errno("add_unknown_seal", fcntl(sealable, F_ADD_SEALS, 0x100), EINVAL);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", sealable);
  int ro = open(path, O_RDONLY);
  expect_ok("reopen_read_only", ro);
  expect_errno("add_through_read_only_fd", fcntl(ro, F_ADD_SEALS, F_SEAL_WRITE), EPERM);
  expect_eq("get_through_read_only_fd", fcntl(ro, F_GET_SEALS), 0);

  int pipefd[2];
  pipe(pipefd);
  expect_errno("get_seals_pipe", fcntl(pipefd[0], F_GET_SEALS), EINVAL);
  expect_errno("add_seals_pipe", fcntl(pipefd[1], F_ADD_SEALS, F_SEAL_WRITE), EINVAL);
  expect_errno("get_seals_bad_fd", fcntl(999, F_GET_SEALS), EBADF);

  expect_errno("unknown_flag", mfd("x", 0x100), EINVAL);
  expect_errno("exec_and_noexec", mfd("x", MFD_NOEXEC_SEAL | 0x10), EINVAL);
  expect_errno("null_name", syscall(SYS_memfd_create, NULL, 0), EFAULT);
  expect_errno("bad_name", syscall(SYS_memfd_create, (char *)1, 0), EFAULT);
  char name[300];
  memset(name, 'n', sizeof name);
  name[250] = 0;
  expect_errno("name_250", mfd(name, 0), EINVAL);
  name[249] = 0;
  int longest = mfd(name, 0);
  expect_ok("name_249", longest);
  close(longest);

  int noexec = mfd("noexec", MFD_NOEXEC_SEAL);
  struct stat st;
  fstat(noexec, &st);
  expect_eq("noexec_mode", st.st_mode, S_IFREG | 0666);
  expect_eq("noexec_seals", fcntl(noexec, F_GET_SEALS), F_SEAL_EXEC);
  expect_errno("noexec_chmod_x", fchmod(noexec, 0755), EPERM);
  expect_eq("noexec_chmod_rw", fchmod(noexec, 0600), 0);
  expect_eq("noexec_write", write(noexec, "ok", 2), 2);
}

int main(void) {
  basics();
  size_seals();
  future_write();
  errors();
  return check_finish();
}
