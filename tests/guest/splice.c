/*
 * splice: the calls that move data between files inside the kernel —
 * sendfile, splice, tee, copy_file_range and vmsplice — as Linux does them:
 * the data, offsets given by pointer or taken from the file, end of file,
 * partial transfers into full nonblocking pipes, the errnos of bad
 * arguments, and 1 MiB transfers through pipes drained or filled by a child.
 *
 * Transfers into a pipe are page-aligned and page-sized where the count can
 * be partial: Linux gives each spliced piece a whole page slot of the pipe.
 * Nothing waits on time: blocking calls are released by a child's reads or
 * writes, or interrupted by an interval timer when nothing else can happen.
 *
 * usage: splice [DIR]   (scratch directory made under DIR, default /tmp)
 */
#include "check.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1 << 20)
#define PAGE 4096
#define PIPE_SIZE 65536

static char base[PATH_MAX];
/* The bytes every file and pipe of the test is filled from. */
static unsigned char pattern[2 * MIB];
static unsigned char buf[2 * MIB];

static void die(const char *what) {
  perror(what);
  exit(2);
}

static void make_pattern(void) {
  uint32_t x = 12345;
  for (size_t i = 0; i < sizeof pattern; i++) {
    x = x * 1103515245u + 12345u;
    pattern[i] = (unsigned char)(x >> 16);
  }
}

static uint32_t hash(const void *p, size_t n) { return fnv1a(FNV1A_INIT, p, n); }

static uint32_t pattern_hash(size_t off, size_t n) { return hash(pattern + off, n); }

/* Creates `name` in the scratch directory holding pattern[0, size): an O_RDWR
 * descriptor at offset 0. */
static int file_of(const char *name, size_t size) {
  int fd = open(name, O_CREAT | O_TRUNC | O_RDWR, 0644);
  if (fd < 0 || pwrite(fd, pattern, size, 0) != (ssize_t)size)
    die(name);
  return fd;
}

static int open_or_die(const char *name, int flags) {
  int fd = open(name, flags, 0644);
  if (fd < 0)
    die(name);
  return fd;
}

/* The hash of `n` bytes of fd from `off` (fewer at end of file). */
static uint32_t file_hash(int fd, off_t off, size_t n) {
  ssize_t got = pread(fd, buf, n, off);
  return hash(buf, got < 0 ? 0 : (size_t)got);
}

static long file_size(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? (long)st.st_size : -1;
}

static long offset_of(int fd) { return (long)lseek(fd, 0, SEEK_CUR); }

static void make_pipe(int p[2], int flags) {
  if (pipe2(p, flags) != 0)
    die("pipe2");
}

static int queued(int fd) {
  int n = -1;
  ioctl(fd, FIONREAD, &n);
  return n;
}

/* Reads exactly n bytes of a pipe holding at least that many; their hash. A
 * pipe holding fewer is a failed expectation, not a wait: 0. */
static uint32_t pipe_hash(int fd, size_t n) {
  if (queued(fd) < (int)n)
    return 0;
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0)
      die("read pipe");
    got += (size_t)r;
  }
  return hash(buf, n);
}

/* Writes n pattern bytes from `off` into a pipe with room for them. */
static void fill_pipe(int fd, size_t off, size_t n) {
  if (write(fd, pattern + off, n) != (ssize_t)n)
    die("fill pipe");
}

static void close_pipe(int p[2]) {
  close(p[0]);
  close(p[1]);
}

/* What a child read from a pipe until end of file. */
struct report {
  long count;
  uint32_t hash;
};

/* Forks a child that reads `data[0]` to end of file and reports what it read
 * on a pipe whose read end is returned; the parent keeps only data[1]. */
static int spawn_reader(int data[2], pid_t *pid) {
  int rep[2];
  make_pipe(rep, 0);
  fflush(stdout);
  *pid = fork();
  if (*pid < 0)
    die("fork");
  if (*pid == 0) {
    close(data[1]);
    close(rep[0]);
    struct report r = {0, FNV1A_INIT};
    static unsigned char chunk[PIPE_SIZE];
    ssize_t n;
    while ((n = read(data[0], chunk, sizeof chunk)) > 0) {
      r.hash = fnv1a(r.hash, chunk, (size_t)n);
      r.count += n;
    }
    _exit(write(rep[1], &r, sizeof r) == sizeof r ? 0 : 1);
  }
  close(data[0]);
  close(rep[1]);
  return rep[0];
}

/* Waits for a reader child; what it read (count -1 if it failed). */
static struct report reap_reader(int rep, pid_t pid) {
  struct report r = {-1, 0};
  if (read(rep, &r, sizeof r) != sizeof r)
    r.count = -1;
  close(rep);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    r.count = -1;
  return r;
}

/* Forks a child that writes pattern[0, n) into data[1] and exits; the parent
 * keeps only data[0]. */
static pid_t spawn_writer(int data[2], size_t n) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    close(data[0]);
    size_t done = 0;
    while (done < n) {
      ssize_t w = write(data[1], pattern + done, n - done);
      if (w <= 0)
        _exit(1);
      done += (size_t)w;
    }
    _exit(0);
  }
  close(data[1]);
  return pid;
}

static int reap(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A pipe already holding `n` bytes, for partial and EAGAIN transfers. */
static void pipe_holding(int p[2], size_t n, int flags) {
  make_pipe(p, flags);
  if (n)
    fill_pipe(p[1], 0, n);
}

static loff_t off_;

static void sendfile_calls(void) {
  int in = file_of("sf_in", 100000);
  int out = file_of("sf_out", 0);

  /* Without an offset: from in's file offset, which advances; out's too. */
  lseek(in, 100, SEEK_SET);
  expect_eq("sendfile_file_to_file", sendfile(out, in, NULL, 1000), 1000);
  expect_eq("sendfile_in_offset_advanced", offset_of(in), 1100);
  expect_eq("sendfile_out_offset_advanced", offset_of(out), 1000);
  expect_true("sendfile_file_data", file_hash(out, 0, 1000) == pattern_hash(100, 1000));

  /* With an offset: *offset moves, in's file offset does not. */
  off_ = 5000;
  expect_eq("sendfile_at_offset", sendfile(out, in, &off_, 3000), 3000);
  expect_eq("sendfile_offset_updated", off_, 8000);
  expect_eq("sendfile_in_offset_unchanged", offset_of(in), 1100);
  expect_true("sendfile_offset_data", file_hash(out, 1000, 3000) == pattern_hash(5000, 3000));
  off_ = 99990;
  expect_eq("sendfile_short_at_eof", sendfile(out, in, &off_, 100), 10);
  expect_eq("sendfile_short_offset", off_, 100000);
  expect_eq("sendfile_at_eof", sendfile(out, in, &off_, 100), 0);
  expect_eq("sendfile_eof_offset", off_, 100000);
  /* The count is cut to MAX_RW_COUNT, not refused, while offset + count fits. */
  off_ = 0;
  expect_eq("sendfile_huge_count", sendfile(out, in, &off_, SSIZE_MAX), 100000);
  off_ = 1;
  expect_errno("sendfile_offset_plus_count_overflows", sendfile(out, in, &off_, SSIZE_MAX), EINVAL);
  expect_errno("sendfile_count_over_ssize_max", sendfile(out, in, NULL, (size_t)SSIZE_MAX + 1), EINVAL);
  off_ = -1;
  expect_errno("sendfile_negative_offset", sendfile(out, in, &off_, 10), EINVAL);
  expect_errno("sendfile_bad_offset_pointer", sendfile(out, in, (off_t *)8, 10), EFAULT);

  /* To a pipe, from an offset of a file. */
  int p[2];
  make_pipe(p, 0);
  off_ = 4096;
  expect_eq("sendfile_to_pipe", sendfile(p[1], in, &off_, 8192), 8192);
  expect_eq("sendfile_to_pipe_offset", off_, 12288);
  expect_eq("sendfile_to_pipe_queued", queued(p[0]), 8192);
  expect_true("sendfile_to_pipe_data", pipe_hash(p[0], 8192) == pattern_hash(4096, 8192));
  /* A blocking pipe takes what fits in one go: a pipeful. */
  off_ = 0;
  expect_eq("sendfile_to_pipe_pipeful", sendfile(p[1], in, &off_, 100000), PIPE_SIZE);
  expect_true("sendfile_pipeful_data", pipe_hash(p[0], PIPE_SIZE) == pattern_hash(0, PIPE_SIZE));
  close_pipe(p);

  /* A nonblocking pipe with one page free takes one page, then none. */
  pipe_holding(p, PIPE_SIZE - PAGE, O_NONBLOCK);
  off_ = 0;
  expect_eq("sendfile_partial_into_nonblocking_pipe", sendfile(p[1], in, &off_, 4 * PAGE), PAGE);
  expect_eq("sendfile_partial_offset", off_, PAGE);
  expect_errno("sendfile_full_nonblocking_pipe", sendfile(p[1], in, &off_, PAGE), EAGAIN);
  expect_eq("sendfile_eagain_offset_kept", off_, PAGE);
  close(p[0]);
  expect_errno("sendfile_pipe_without_reader", sendfile(p[1], in, NULL, 10), EPIPE);
  close(p[1]);

  /* Descriptors of the wrong kind or mode. */
  int wronly = open_or_die("sf_in", O_WRONLY);
  int rdonly = open_or_die("sf_out", O_RDONLY);
  int append = open_or_die("sf_out", O_WRONLY | O_APPEND);
  expect_errno("sendfile_write_only_in", sendfile(out, wronly, NULL, 10), EBADF);
  expect_errno("sendfile_read_only_out", sendfile(rdonly, in, NULL, 10), EBADF);
  expect_errno("sendfile_bad_in_fd", sendfile(out, 999, NULL, 10), EBADF);
  expect_errno("sendfile_bad_out_fd", sendfile(999, in, NULL, 10), EBADF);
  expect_errno("sendfile_append_out", sendfile(append, in, NULL, 10), EINVAL);
  make_pipe(p, 0);
  fill_pipe(p[1], 0, 100);
  expect_errno("sendfile_from_pipe", sendfile(out, p[0], NULL, 10), EINVAL);
  off_ = 0;
  expect_errno("sendfile_from_pipe_with_offset", sendfile(out, p[0], &off_, 10), ESPIPE);
  int q[2];
  make_pipe(q, 0);
  expect_errno("sendfile_pipe_to_pipe", sendfile(q[1], p[0], NULL, 10), EINVAL);
  expect_eq("sendfile_pipe_to_pipe_count_0", sendfile(q[1], p[0], NULL, 0), 0);
  close_pipe(q);
  close_pipe(p);
  int devnull = open_or_die("/dev/null", O_WRONLY);
  expect_eq("sendfile_to_dev_null", sendfile(devnull, in, NULL, 500), 500);
  close(devnull);
  close(wronly);
  close(rdonly);
  close(append);
  close(in);
  close(out);
}

static void splice_calls(void) {
  int in = file_of("sp_in", 100000);
  int out = file_of("sp_out", 0);
  int p[2], q[2];

  /* File to pipe: from the file offset, or from *off_in. */
  make_pipe(p, 0);
  expect_eq("splice_file_to_pipe", splice(in, NULL, p[1], NULL, 10000, 0), 10000);
  expect_eq("splice_file_offset_advanced", offset_of(in), 10000);
  expect_true("splice_file_to_pipe_data", pipe_hash(p[0], 10000) == pattern_hash(0, 10000));
  off_ = 20000;
  expect_eq("splice_file_at_offset_to_pipe", splice(in, &off_, p[1], NULL, 5000, SPLICE_F_MORE | SPLICE_F_MOVE), 5000);
  expect_eq("splice_off_in_updated", off_, 25000);
  expect_eq("splice_file_offset_unchanged", offset_of(in), 10000);
  expect_true("splice_off_in_data", pipe_hash(p[0], 5000) == pattern_hash(20000, 5000));
  off_ = 100000;
  expect_eq("splice_file_at_eof", splice(in, &off_, p[1], NULL, 5000, 0), 0);

  /* Pipe to file: what the pipe holds, without waiting for more. */
  fill_pipe(p[1], 30000, 3000);
  expect_eq("splice_pipe_to_file", splice(p[0], NULL, out, NULL, 10000, 0), 3000);
  expect_eq("splice_out_offset_advanced", offset_of(out), 3000);
  expect_true("splice_pipe_to_file_data", file_hash(out, 0, 3000) == pattern_hash(30000, 3000));
  fill_pipe(p[1], 40000, 100);
  off_ = MIB;
  expect_eq("splice_pipe_to_file_at_offset", splice(p[0], NULL, out, &off_, 100, 0), 100);
  expect_eq("splice_off_out_updated", off_, MIB + 100);
  expect_eq("splice_out_offset_unchanged", offset_of(out), 3000);
  expect_eq("splice_out_size_past_hole", file_size(out), MIB + 100);
  expect_true("splice_off_out_data", file_hash(out, MIB, 100) == pattern_hash(40000, 100));
  fill_pipe(p[1], 0, 500);
  expect_eq("splice_pipe_to_file_part", splice(p[0], NULL, out, NULL, 200, 0), 200);
  expect_eq("splice_pipe_keeps_the_rest", queued(p[0]), 300);
  expect_true("splice_rest_data", pipe_hash(p[0], 300) == pattern_hash(200, 300));

  /* Pipe to pipe. */
  make_pipe(q, 0);
  fill_pipe(p[1], 0, 5000);
  expect_eq("splice_pipe_to_pipe_part", splice(p[0], NULL, q[1], NULL, 1000, 0), 1000);
  expect_eq("splice_pipe_to_pipe", splice(p[0], NULL, q[1], NULL, 100000, 0), 4000);
  expect_eq("splice_source_pipe_empty", queued(p[0]), 0);
  expect_eq("splice_dest_pipe_queued", queued(q[0]), 5000);
  expect_true("splice_pipe_to_pipe_data", pipe_hash(q[0], 5000) == pattern_hash(0, 5000));

  /* Nonblocking: by flag, or by O_NONBLOCK on the pipe. */
  expect_errno("splice_nonblock_flag_empty_pipe", splice(p[0], NULL, out, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
  expect_errno("splice_nonblock_flag_empty_pipe_to_pipe", splice(p[0], NULL, q[1], NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  expect_errno("splice_o_nonblock_empty_pipe", splice(p[0], NULL, out, NULL, 10, 0), EAGAIN);
  close_pipe(q);

  /* End of file: an empty pipe without writers. */
  close(p[1]);
  expect_eq("splice_pipe_eof", splice(p[0], NULL, out, NULL, 10, 0), 0);
  close(p[0]);

  /* Into a nonblocking pipe with one page free: one page, then EAGAIN. */
  pipe_holding(p, PIPE_SIZE - PAGE, 0);
  off_ = 0;
  expect_eq("splice_partial_into_pipe", splice(in, &off_, p[1], NULL, 4 * PAGE, SPLICE_F_NONBLOCK), PAGE);
  expect_errno("splice_full_pipe_nonblock", splice(in, &off_, p[1], NULL, PAGE, SPLICE_F_NONBLOCK), EAGAIN);
  make_pipe(q, O_NONBLOCK);
  fill_pipe(q[1], 0, 100);
  expect_errno("splice_pipe_to_full_pipe", splice(q[0], NULL, p[1], NULL, 100, 0), EAGAIN);
  expect_eq("splice_pipe_to_full_pipe_kept", queued(q[0]), 100);
  close_pipe(q);
  close(p[0]);
  expect_errno("splice_to_pipe_without_reader", splice(in, NULL, p[1], NULL, 10, 0), EPIPE);
  make_pipe(q, 0);
  fill_pipe(q[1], 0, 10);
  expect_errno("splice_pipe_to_pipe_without_reader", splice(q[0], NULL, p[1], NULL, 10, 0), EPIPE);
  close(p[1]);

  /* Argument errors, in Linux's order. */
  expect_eq("splice_len_0", splice(999, NULL, 998, NULL, 0, 0), 0);
  expect_errno("splice_bad_flags", splice(q[0], NULL, out, NULL, 10, 0x10), EINVAL);
  expect_errno("splice_bad_fd", splice(999, NULL, q[1], NULL, 10, 0), EBADF);
  expect_errno("splice_no_pipe", splice(in, NULL, out, NULL, 10, 0), EINVAL);
  off_ = 0;
  expect_errno("splice_offset_for_pipe_in", splice(q[0], &off_, out, NULL, 10, 0), ESPIPE);
  expect_errno("splice_offset_for_pipe_out", splice(in, NULL, q[1], &off_, 10, 0), ESPIPE);
  expect_errno("splice_bad_offset_pointer", splice(in, (loff_t *)8, q[1], NULL, 10, 0), EFAULT);
  off_ = -1;
  expect_errno("splice_negative_offset", splice(in, &off_, q[1], NULL, 10, 0), EINVAL);
  expect_errno("splice_same_pipe", splice(q[0], NULL, q[1], NULL, 10, 0), EINVAL);
  int wronly = open_or_die("sp_in", O_WRONLY);
  int rdonly = open_or_die("sp_out", O_RDONLY);
  int append = open_or_die("sp_out", O_WRONLY | O_APPEND);
  expect_errno("splice_write_only_in", splice(wronly, NULL, q[1], NULL, 10, 0), EBADF);
  expect_errno("splice_read_only_out", splice(q[0], NULL, rdonly, NULL, 10, 0), EBADF);
  expect_errno("splice_pipe_ends_swapped", splice(q[1], NULL, q[0], NULL, 10, 0), EBADF);
  expect_errno("splice_append_out", splice(q[0], NULL, append, NULL, 10, 0), EINVAL);
  expect_eq("splice_errors_left_pipe_alone", queued(q[0]), 10);
  close(wronly);
  close(rdonly);
  close(append);
  close_pipe(q);
  close(in);
  close(out);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

/* A splice waiting on an empty pipe that only a signal can end. */
static void splice_interrupted(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  int p[2], q[2];
  make_pipe(p, 0);
  make_pipe(q, 0);
  struct itimerval it = {{0, 0}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  expect_errno("splice_empty_pipe_interrupted", splice(p[0], NULL, q[1], NULL, 10, 0), EINTR);
  expect_eq("splice_interrupted_by_the_alarm", alarms, 1);
  setitimer(ITIMER_REAL, &it, NULL);
  expect_errno("tee_empty_pipe_interrupted", tee(p[0], q[1], 10, 0), EINTR);
  close_pipe(p);
  close_pipe(q);
  signal(SIGALRM, SIG_DFL);
}

static void tee_calls(void) {
  int p[2], q[2];
  make_pipe(p, 0);
  make_pipe(q, 0);
  fill_pipe(p[1], 0, 5000);
  expect_eq("tee_part", tee(p[0], q[1], 1000, 0), 1000);
  expect_eq("tee_source_untouched", queued(p[0]), 5000);
  expect_true("tee_part_data", pipe_hash(q[0], 1000) == pattern_hash(0, 1000));
  expect_eq("tee_all", tee(p[0], q[1], 100000, 0), 5000);
  expect_eq("tee_source_still_full", queued(p[0]), 5000);
  expect_eq("tee_dest_queued", queued(q[0]), 5000);
  expect_true("tee_copy_data", pipe_hash(q[0], 5000) == pattern_hash(0, 5000));
  expect_true("tee_source_data", pipe_hash(p[0], 5000) == pattern_hash(0, 5000));

  expect_errno("tee_empty_nonblock", tee(p[0], q[1], 10, SPLICE_F_NONBLOCK), EAGAIN);
  int f = file_of("tee_file", 10);
  expect_errno("tee_from_file", tee(f, q[1], 10, 0), EINVAL);
  expect_errno("tee_to_file", tee(p[0], f, 10, 0), EINVAL);
  expect_errno("tee_same_pipe", tee(p[0], p[1], 10, 0), EINVAL);
  expect_errno("tee_bad_flags", tee(p[0], q[1], 10, 0x40), EINVAL);
  expect_eq("tee_len_0", tee(999, 998, 0, 0), 0);
  expect_errno("tee_bad_fd", tee(999, q[1], 10, 0), EBADF);
  expect_errno("tee_ends_swapped", tee(q[1], p[0], 10, 0), EBADF);
  close(f);

  /* Into a full pipe; out of a pipe at end of file. */
  int full[2];
  pipe_holding(full, PIPE_SIZE, O_NONBLOCK);
  fill_pipe(p[1], 0, 10);
  expect_errno("tee_into_full_pipe", tee(p[0], full[1], 10, 0), EAGAIN);
  close(full[0]);
  expect_errno("tee_into_pipe_without_reader", tee(p[0], full[1], 10, 0), EPIPE);
  close(full[1]);
  close(p[1]);
  expect_eq("tee_leaves_data_at_eof", tee(p[0], q[1], 100, 0), 10);
  expect_eq("tee_leaves_data_at_eof_queued", queued(p[0]), 10);
  pipe_hash(p[0], 10);
  expect_eq("tee_eof", tee(p[0], q[1], 100, 0), 0);
  close_pipe(q);
  close(p[0]);
}

static void copy_file_range_calls(void) {
  int a = file_of("cfr_a", 100000);
  int b = file_of("cfr_b", 0);

  expect_eq("cfr_between_files", copy_file_range(a, NULL, b, NULL, 50000, 0), 50000);
  expect_eq("cfr_in_offset_advanced", offset_of(a), 50000);
  expect_eq("cfr_out_offset_advanced", offset_of(b), 50000);
  expect_true("cfr_between_files_data", file_hash(b, 0, 50000) == pattern_hash(0, 50000));
  loff_t oi = 1000, oo = 200000;
  expect_eq("cfr_at_offsets", copy_file_range(a, &oi, b, &oo, 3000, 0), 3000);
  expect_eq("cfr_off_in_updated", oi, 4000);
  expect_eq("cfr_off_out_updated", oo, 203000);
  expect_eq("cfr_in_offset_unchanged", offset_of(a), 50000);
  expect_eq("cfr_out_offset_unchanged", offset_of(b), 50000);
  expect_eq("cfr_out_size", file_size(b), 203000);
  expect_true("cfr_at_offsets_data", file_hash(b, 200000, 3000) == pattern_hash(1000, 3000));
  expect_true("cfr_hole_reads_zero", file_hash(b, 60000, 1) == hash("", 1));
  oi = 99000;
  expect_eq("cfr_short_at_eof", copy_file_range(a, &oi, b, NULL, 5000, 0), 1000);
  expect_eq("cfr_short_offset", oi, 100000);
  expect_eq("cfr_at_eof", copy_file_range(a, &oi, b, NULL, 5000, 0), 0);

  /* Within one file: apart is fine, overlapping is not. */
  oi = 0, oo = 60000;
  expect_eq("cfr_same_file", copy_file_range(a, &oi, a, &oo, 1000, 0), 1000);
  expect_true("cfr_same_file_data", file_hash(a, 60000, 1000) == pattern_hash(0, 1000));
  oi = 0, oo = 500;
  expect_errno("cfr_same_file_overlap", copy_file_range(a, &oi, a, &oo, 1000, 0), EINVAL);
  oi = 1000, oo = 500;
  expect_errno("cfr_same_file_overlap_below", copy_file_range(a, &oi, a, &oo, 1000, 0), EINVAL);
  oi = 1000, oo = 0;
  expect_eq("cfr_same_file_adjacent", copy_file_range(a, &oi, a, &oo, 1000, 0), 1000);
  int a2 = open_or_die("cfr_a", O_RDWR);
  oi = 0, oo = 100;
  expect_errno("cfr_same_inode_other_description", copy_file_range(a, &oi, a2, &oo, 1000, 0), EINVAL);
  close(a2);

  /* Errors. */
  oi = 0;
  expect_errno("cfr_flags", copy_file_range(a, &oi, b, NULL, 10, 1), EINVAL);
  expect_errno("cfr_bad_pointer", copy_file_range(a, (loff_t *)8, b, NULL, 10, 0), EFAULT);
  oi = 1;
  expect_errno("cfr_range_wraps", copy_file_range(a, &oi, b, NULL, SIZE_MAX, 0), EOVERFLOW);
  oi = -100;
  expect_errno("cfr_negative_offset", copy_file_range(a, &oi, b, NULL, 10, 0), EINVAL);
  expect_errno("cfr_bad_fd", copy_file_range(999, NULL, b, NULL, 10, 0), EBADF);
  int wronly = open_or_die("cfr_a", O_WRONLY);
  int rdonly = open_or_die("cfr_b", O_RDONLY);
  int append = open_or_die("cfr_b", O_WRONLY | O_APPEND);
  expect_errno("cfr_write_only_in", copy_file_range(wronly, NULL, b, NULL, 10, 0), EBADF);
  expect_errno("cfr_read_only_out", copy_file_range(a, NULL, rdonly, NULL, 10, 0), EBADF);
  expect_errno("cfr_append_out", copy_file_range(a, NULL, append, NULL, 10, 0), EBADF);
  close(wronly);
  close(rdonly);
  close(append);
  int p[2];
  make_pipe(p, 0);
  fill_pipe(p[1], 0, 10);
  expect_errno("cfr_from_pipe", copy_file_range(p[0], NULL, b, NULL, 10, 0), EINVAL);
  expect_errno("cfr_to_pipe", copy_file_range(a, NULL, p[1], NULL, 10, 0), EINVAL);
  close_pipe(p);
  int dir = open_or_die(".", O_RDONLY | O_DIRECTORY);
  expect_errno("cfr_from_directory", copy_file_range(dir, NULL, b, NULL, 10, 0), EISDIR);
  close(dir);
  /* /dev/shm is a tmpfs of its own, natively and under moat. */
  int shm = open("/dev/shm/moat-splice-cfr", O_CREAT | O_TRUNC | O_RDWR, 0600);
  expect_ok("cfr_shm_file", shm);
  unlink("/dev/shm/moat-splice-cfr");
  expect_errno("cfr_across_filesystems", copy_file_range(a, NULL, shm, NULL, 10, 0), EXDEV);
  close(shm);
  close(a);
  close(b);
}

static struct iovec iov_[2];

static void vmsplice_calls(void) {
  int p[2];
  make_pipe(p, 0);
  unsigned char *page = aligned_alloc(PAGE, 4 * PAGE);
  memcpy(page, pattern, 4 * PAGE);
  iov_[0] = (struct iovec){page, PAGE};
  iov_[1] = (struct iovec){page + 2 * PAGE, PAGE};
  expect_eq("vmsplice_to_pipe", vmsplice(p[1], iov_, 2, 0), 2 * PAGE);
  expect_true("vmsplice_to_pipe_data", pipe_hash(p[0], PAGE) == pattern_hash(0, PAGE) &&
                                           pipe_hash(p[0], PAGE) == pattern_hash(2 * PAGE, PAGE));

  fill_pipe(p[1], 0, 5000);
  unsigned char *back = aligned_alloc(PAGE, 4 * PAGE);
  iov_[0] = (struct iovec){back, 1000};
  iov_[1] = (struct iovec){back + PAGE, 3 * PAGE};
  expect_eq("vmsplice_from_pipe", vmsplice(p[0], iov_, 2, 0), 5000);
  expect_true("vmsplice_from_pipe_data",
              hash(back, 1000) == pattern_hash(0, 1000) && hash(back + PAGE, 4000) == pattern_hash(1000, 4000));
  expect_errno("vmsplice_from_empty_pipe_nonblock", vmsplice(p[0], iov_, 2, SPLICE_F_NONBLOCK), EAGAIN);
  /* The pipe's O_NONBLOCK does not count, only the flag. */
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  fill_pipe(p[1], 0, PIPE_SIZE - PAGE);
  iov_[0] = (struct iovec){page, 4 * PAGE};
  expect_eq("vmsplice_partial_into_pipe", vmsplice(p[1], iov_, 1, SPLICE_F_NONBLOCK), PAGE);
  expect_errno("vmsplice_full_pipe_nonblock", vmsplice(p[1], iov_, 1, SPLICE_F_NONBLOCK), EAGAIN);
  pipe_hash(p[0], PIPE_SIZE);

  /* Errors. */
  expect_errno("vmsplice_bad_flags", vmsplice(p[1], iov_, 1, 0x10), EINVAL);
  expect_errno("vmsplice_too_many_segments", vmsplice(p[1], iov_, 1025, 0), EINVAL);
  expect_errno("vmsplice_bad_iovec_pointer", vmsplice(p[1], (struct iovec *)8, 1, 0), EFAULT);
  expect_eq("vmsplice_no_segments", vmsplice(p[1], iov_, 0, 0), 0);
  expect_errno("vmsplice_bad_fd", vmsplice(999, iov_, 1, 0), EBADF);
  int f = file_of("vms_file", 10);
  expect_errno("vmsplice_not_a_pipe", vmsplice(f, iov_, 1, 0), EBADF);
  close(f);
  iov_[0] = (struct iovec){(void *)8, 10};
  expect_errno("vmsplice_unmapped_buffer", vmsplice(p[1], iov_, 1, 0), EFAULT);
  close(p[1]);
  iov_[0] = (struct iovec){back, 10};
  expect_eq("vmsplice_from_pipe_eof", vmsplice(p[0], iov_, 1, 0), 0);
  close(p[0]);
  make_pipe(p, 0);
  close(p[0]);
  iov_[0] = (struct iovec){page, 10};
  expect_errno("vmsplice_pipe_without_reader", vmsplice(p[1], iov_, 1, 0), EPIPE);
  close(p[1]);
  free(page);
  free(back);
}

/* 1 MiB through pipes, with a child on the other end so that every call can
 * block; the counts of the single calls depend on scheduling and are not shown. */
static void large_transfers(void) {
  int f = file_of("big", MIB);
  int p[2], q[2];
  pid_t pid;

  /* sendfile from a file into a pipe a child drains. */
  make_pipe(p, 0);
  int rep = spawn_reader(p, &pid);
  size_t done = 0;
  ssize_t n = 0;
  while (done < MIB && (n = sendfile(p[1], f, NULL, MIB - done)) > 0)
    done += (size_t)n;
  expect_eq("big_sendfile_to_pipe", (long)done, MIB);
  expect_eq("big_sendfile_in_offset", offset_of(f), MIB);
  close(p[1]);
  struct report r = reap_reader(rep, pid);
  expect_eq("big_sendfile_reader_count", r.count, MIB);
  expect_true("big_sendfile_reader_data", r.hash == pattern_hash(0, MIB));

  /* splice from a file at an offset into a pipe a child drains. */
  make_pipe(p, 0);
  rep = spawn_reader(p, &pid);
  off_ = 0;
  while (off_ < MIB && splice(f, &off_, p[1], NULL, MIB, 0) > 0)
    ;
  expect_eq("big_splice_file_to_pipe", off_, MIB);
  close(p[1]);
  r = reap_reader(rep, pid);
  expect_eq("big_splice_reader_count", r.count, MIB);
  expect_true("big_splice_reader_data", r.hash == pattern_hash(0, MIB));

  /* A writer child, pipe to pipe, a reader child; 0 at end of file. */
  make_pipe(p, 0);
  pid_t writer = spawn_writer(p, MIB);
  make_pipe(q, 0);
  rep = spawn_reader(q, &pid);
  done = 0;
  while ((n = splice(p[0], NULL, q[1], NULL, MIB, 0)) > 0)
    done += (size_t)n;
  expect_eq("big_splice_pipe_to_pipe", (long)done, MIB);
  expect_eq("big_splice_pipe_to_pipe_ends_with_0", n, 0);
  close(p[0]);
  close(q[1]);
  expect_eq("big_writer_exit", reap(writer), 0);
  r = reap_reader(rep, pid);
  expect_eq("big_pipe_to_pipe_reader_count", r.count, MIB);
  expect_true("big_pipe_to_pipe_reader_data", r.hash == pattern_hash(0, MIB));

  /* A writer child, pipe to file until end of file. */
  int out = file_of("big_out", 0);
  make_pipe(p, 0);
  writer = spawn_writer(p, MIB);
  done = 0;
  while ((n = splice(p[0], NULL, out, NULL, MIB, 0)) > 0)
    done += (size_t)n;
  expect_eq("big_splice_pipe_to_file", (long)done, MIB);
  close(p[0]);
  expect_eq("big_writer_exit_2", reap(writer), 0);
  expect_eq("big_pipe_to_file_size", file_size(out), MIB);
  expect_true("big_pipe_to_file_data", file_hash(out, 0, MIB) == pattern_hash(0, MIB));

  /* File to file in one call each. */
  int copy = file_of("big_copy", 0);
  expect_eq("big_sendfile_file_to_file", sendfile(copy, f, (off_t[]){0}, MIB), MIB);
  expect_true("big_sendfile_file_data", file_hash(copy, 0, MIB) == pattern_hash(0, MIB));
  expect_eq("big_copy_file_range", copy_file_range(f, (loff_t[]){0}, copy, (loff_t[]){MIB}, MIB, 0), MIB);
  expect_eq("big_copy_file_range_size", file_size(copy), 2 * MIB);
  expect_true("big_copy_file_range_data", file_hash(copy, MIB, MIB) == pattern_hash(0, MIB));
  close(copy);
  close(out);
  close(f);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int main(int argc, char **argv) {
  snprintf(base, sizeof base, "%s/moat-splice-XXXXXX", argc > 1 ? argv[1] : "/tmp");
  if (mkdtemp(base) == NULL || chdir(base) != 0)
    die("mkdtemp");
  /* EPIPE is the result to see, not a death by SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  make_pattern();
  sendfile_calls();
  splice_calls();
  splice_interrupted();
  tee_calls();
  copy_file_range_calls();
  vmsplice_calls();
  large_transfers();
  expect_eq("chdir_out", chdir("/"), 0);
  expect_eq("remove_tree", nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
  return check_finish();
}
