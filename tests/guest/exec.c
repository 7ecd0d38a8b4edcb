/*
 * exec: execve's errors as Linux reports them, then one successful exec through a
 * chain of five #! scripts (the most Linux follows), which replaces this program.
 *
 * usage: exec FIXTURES_DIR
 */
#include "check.h"

#include <limits.h>
#include <sys/syscall.h>
#include <unistd.h>

static char path[PATH_MAX];
static char *const no_env[] = {NULL};

static const char *fx(const char *dir, const char *rel) {
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  return path;
}

static void fails(const char *name, const char *file, int want) {
  char *const argv[] = {(char *)file, NULL};
  expect_errno(name, execve(file, argv, no_env), want);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
    return 2;
  }
  const char *d = argv[1];
  fails("execve_missing_file", "/nonexistent/program", ENOENT);
  fails("execve_directory", fx(d, "dir"), EACCES);
  fails("execve_without_x_bit", fx(d, "file.txt"), EACCES);
  fails("execve_file_as_directory", fx(d, "file.txt/x"), ENOTDIR);
  fails("execve_text_file", fx(d, "exec/text"), ENOEXEC);
  fails("execve_truncated_elf", fx(d, "exec/bad_elf"), ENOEXEC);
  fails("execve_missing_interpreter", fx(d, "exec/missing_interp"), ENOENT);
  fails("execve_directory_interpreter", fx(d, "exec/dir_interp"), EACCES);
  fails("execve_six_scripts_deep", fx(d, "exec/chain_0"), ELOOP);
  fails("execve_symlink_loop", fx(d, "links/loop_a"), ELOOP);
  /* Raw calls: glibc's prototype would object to the bad pointers at compile time. */
  expect_errno("execve_bad_path_pointer", syscall(SYS_execve, 1L, argv, no_env), EFAULT);
  expect_errno("execve_bad_argv_pointer", syscall(SYS_execve, "/bin/true", 1L, no_env), EFAULT);
  expect_errno("execve_bad_envp_pointer", syscall(SYS_execve, "/bin/true", argv, 1L), EFAULT);
  if (check_finish() != 0)
    return 1;
  fflush(stdout);
  char *const run[] = {"chain_1", "one", "two", NULL};
  execve(fx(d, "exec/chain_1"), run, no_env);
  perror("execve chain_1");
  return 1;
}
