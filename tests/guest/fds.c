/*
 * fds: the file descriptor table (dup family, fcntl, close_range) and pipes
 * used within one process.
 *
 * The guest starts with exactly fds 0, 1 and 2 open, so descriptor numbers
 * are deterministic and printed: a new descriptor is always the lowest free.
 */
#include "check.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* The status flags a program can see and set, without access-mode extras
 * such as O_LARGEFILE whose presence depends on how the file was opened. */
#define VISIBLE_FLAGS (O_ACCMODE | O_NONBLOCK | O_APPEND)

static void dup_family(void) {
  int p[2];
  expect_eq("pipe2_returns_zero", pipe2(p, 0), 0);
  expect_eq("pipe2_read_end_is_lowest_free", p[0], 3);
  expect_eq("pipe2_write_end_is_next", p[1], 4);

  expect_eq("dup_returns_lowest_free", dup(p[0]), 5);
  expect_eq("dup_does_not_copy_cloexec", fcntl(5, F_GETFD), 0);
  expect_errno("dup_bad_fd", dup(999), EBADF);
  expect_eq("dup2_to_chosen_fd", dup2(p[0], 10), 10);
  expect_eq("dup2_onto_itself", dup2(10, 10), 10);
  expect_errno("dup2_onto_itself_bad_fd", dup2(999, 999), EBADF);
  expect_errno("dup2_beyond_fd_limit", dup2(p[0], 1 << 30), EBADF);
  expect_eq("dup2_replaces_open_fd", dup2(p[1], 10), 10);
  expect_eq("dup2_replaced_fd_is_write_end", fcntl(10, F_GETFL) & O_ACCMODE, O_WRONLY);
  expect_errno("dup3_onto_itself", dup3(10, 10, 0), EINVAL);
  expect_eq("dup3_with_o_cloexec", dup3(p[0], 11, O_CLOEXEC), 11);
  expect_eq("dup3_sets_fd_cloexec", fcntl(11, F_GETFD), FD_CLOEXEC);
  expect_errno("dup3_bad_flags", dup3(p[0], 12, O_NONBLOCK), EINVAL);
  expect_errno("dup3_bad_fd", dup3(999, 12, 0), EBADF);

  close(5);
  expect_eq("closed_fd_is_reused_first", dup(p[0]), 5);

  expect_eq("close_range", syscall(SYS_close_range, 5, 11, 0), 0);
  expect_errno("fd_closed_by_close_range", fcntl(10, F_GETFD), EBADF);
  expect_eq("close_range_spares_lower_fds", fcntl(p[1], F_GETFD), 0);
  expect_errno("close_range_reversed", syscall(SYS_close_range, 11, 5, 0), EINVAL);
  close(p[0]);
  close(p[1]);
}

static void fcntl_commands(void) {
  int p[2];
  pipe2(p, 0);
  expect_eq("f_dupfd_at_least_arg", fcntl(p[0], F_DUPFD, 20), 20);
  expect_eq("f_dupfd_skips_used", fcntl(p[0], F_DUPFD, 20), 21);
  expect_eq("f_dupfd_clears_cloexec", fcntl(20, F_GETFD), 0);
  expect_eq("f_dupfd_cloexec", fcntl(p[0], F_DUPFD_CLOEXEC, 20), 22);
  expect_eq("f_dupfd_cloexec_sets_flag", fcntl(22, F_GETFD), FD_CLOEXEC);
  expect_eq("f_setfd_clear", fcntl(22, F_SETFD, 0), 0);
  expect_eq("f_getfd_after_clear", fcntl(22, F_GETFD), 0);
  expect_eq("f_setfd_set", fcntl(22, F_SETFD, FD_CLOEXEC), 0);
  expect_eq("f_getfd_after_set", fcntl(22, F_GETFD), FD_CLOEXEC);
  expect_errno("f_dupfd_negative_arg", fcntl(p[0], F_DUPFD, -1), EINVAL);
  expect_errno("f_dupfd_beyond_fd_limit", fcntl(p[0], F_DUPFD, 1 << 30), EINVAL);

  expect_eq("f_getfl_read_end", fcntl(p[0], F_GETFL) & VISIBLE_FLAGS, O_RDONLY);
  expect_eq("f_getfl_write_end", fcntl(p[1], F_GETFL) & VISIBLE_FLAGS, O_WRONLY);
  expect_eq("f_setfl_nonblock", fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
  expect_eq("f_getfl_after_nonblock", fcntl(p[0], F_GETFL) & VISIBLE_FLAGS, O_RDONLY | O_NONBLOCK);
  expect_eq("f_getfl_shared_by_dup", fcntl(20, F_GETFL) & VISIBLE_FLAGS, O_RDONLY | O_NONBLOCK);
  expect_eq("f_setfl_append_on_pipe", fcntl(p[1], F_SETFL, O_APPEND), 0);
  expect_eq("f_getfl_after_append", fcntl(p[1], F_GETFL) & VISIBLE_FLAGS, O_WRONLY | O_APPEND);
  expect_eq("f_setfl_ignores_access_mode", fcntl(p[1], F_SETFL, O_RDWR), 0);
  expect_eq("f_getfl_access_mode_unchanged", fcntl(p[1], F_GETFL) & VISIBLE_FLAGS, O_WRONLY);

  int file = open("/etc/os-release", O_RDONLY);
  /* The kernel opens every file O_LARGEFILE on 64-bit (0100000 on x86-64,
   * where the C library's O_LARGEFILE is 0). */
  expect_eq("f_getfl_regular_file_has_o_largefile", fcntl(file, F_GETFL), 0100000);
  close(file);

  expect_errno("f_getfl_bad_fd", fcntl(999, F_GETFL), EBADF);
  expect_errno("f_getfd_bad_fd", fcntl(999, F_GETFD), EBADF);
  expect_errno("fcntl_unknown_command", fcntl(p[0], 9999), EINVAL);
  expect_eq("f_getpipe_sz_default", fcntl(p[0], F_GETPIPE_SZ), 65536);
  expect_eq("f_setpipe_sz_one_page", fcntl(p[0], F_SETPIPE_SZ, 4096), 4096);
  expect_eq("f_getpipe_sz_after_set", fcntl(p[1], F_GETPIPE_SZ), 4096);
  expect_eq("f_setpipe_sz_rounds_up", fcntl(p[0], F_SETPIPE_SZ, 5000), 8192);
  for (int fd = 20; fd <= 22; fd++)
    close(fd);
  close(p[0]);
  close(p[1]);
}

static void pipes(void) {
  int p[2];
  char buf[16];
  int avail = -1;

  pipe2(p, 0);
  expect_eq("pipe_write", write(p[1], "abc", 3), 3);
  expect_eq("fionread_after_write", ioctl(p[0], FIONREAD, &avail), 0);
  expect_eq("fionread_count", avail, 3);
  long n = expect_eq("pipe_read", read(p[0], buf, sizeof buf), 3);
  say("pipe_read_content", "%s", quoted(buf, n > 0 ? (size_t)n : 0));
  expect_eq("pipe_write_zero_bytes", write(p[1], buf, 0), 0);
  expect_eq("pipe_write_two_messages", write(p[1], "de", 2) + write(p[1], "f", 1), 3);
  n = expect_eq("pipe_read_joins_messages", read(p[0], buf, sizeof buf), 3);
  say("pipe_read_joined_content", "%s", quoted(buf, n > 0 ? (size_t)n : 0));
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  expect_errno("nonblocking_read_on_empty_pipe", read(p[0], buf, sizeof buf), EAGAIN);

  /* Fill the pipe: its default capacity is 16 pages. */
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  static char block[4096];
  long total = 0;
  for (;;) {
    long w = write(p[1], block, sizeof block);
    if (w < 0)
      break;
    total += w;
  }
  expect_errno("nonblocking_write_on_full_pipe", write(p[1], block, 1), EAGAIN);
  expect_eq("pipe_capacity", total, 65536);
  expect_eq("fionread_full_pipe", ioctl(p[0], FIONREAD, &avail), 0);
  expect_eq("fionread_full_count", avail, 65536);

  signal(SIGPIPE, SIG_IGN);
  close(p[0]);
  expect_errno("write_without_reader", write(p[1], "x", 1), EPIPE);
  close(p[1]);

  pipe2(p, O_NONBLOCK);
  close(p[1]);
  expect_eq("read_without_writer_is_eof", read(p[0], buf, sizeof buf), 0);
  close(p[0]);

  expect_eq("pipe2_cloexec", pipe2(p, O_CLOEXEC), 0);
  expect_eq("pipe2_cloexec_read_end", fcntl(p[0], F_GETFD), FD_CLOEXEC);
  expect_eq("pipe2_cloexec_write_end", fcntl(p[1], F_GETFD), FD_CLOEXEC);
  expect_eq("pipe2_nonblock_not_set", fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
  expect_errno("pipe_read_from_write_end", read(p[1], buf, 1), EBADF);
  expect_errno("pipe_write_to_read_end", write(p[0], buf, 1), EBADF);

  struct termios t;
  expect_errno("ioctl_tcgets_on_pipe", ioctl(p[0], TCGETS, &t), ENOTTY);
  expect_errno("ioctl_on_bad_fd", ioctl(999, FIONREAD, &avail), EBADF);
  close(p[0]);
  close(p[1]);
  expect_errno("pipe2_bad_flags", pipe2(p, O_RDWR), EINVAL);
}

int main(void) {
  dup_family();
  fcntl_commands();
  pipes();
  return check_finish();
}
