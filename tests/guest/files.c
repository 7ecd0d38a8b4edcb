/*
 * files: path walk, open, read, seek, stat, access, readlink, getdents64 and
 * the working directory, against the fixture tree built by build.rs.
 *
 * usage: files FIXTURES_DIR   (the harness runs it with cwd = FIXTURES_DIR)
 */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *fix;

/* FIXTURES_DIR/rel, in one of a few rotating buffers. */
static const char *at(const char *rel) {
  static char bufs[4][PATH_MAX];
  static int next;
  char *buf = bufs[next++ % 4];
  snprintf(buf, PATH_MAX, "%s/%s", fix, rel);
  return buf;
}

/* A path with the fixture root replaced by "$FIX", so output is the same
 * wherever the tree was built. */
static const char *shown(const char *path) {
  static char buf[PATH_MAX + 8];
  size_t n = strlen(fix);
  if (strncmp(path, fix, n) == 0 && (path[n] == 0 || path[n] == '/'))
    snprintf(buf, sizeof buf, "$FIX%s", path + n);
  else
    snprintf(buf, sizeof buf, "%s", path);
  return buf;
}

static const char *type_name(mode_t mode) {
  switch (mode & S_IFMT) {
  case S_IFREG:
    return "reg";
  case S_IFDIR:
    return "dir";
  case S_IFLNK:
    return "lnk";
  case S_IFCHR:
    return "chr";
  case S_IFBLK:
    return "blk";
  case S_IFIFO:
    return "fifo";
  case S_IFSOCK:
    return "sock";
  }
  return "?";
}

/* The fields of a stat that do not depend on where the file lives: type and
 * permission bits always; size and link count for regular files and links;
 * the device number for device files. */
static void print_stat(const char *name, long ret, const struct stat *st) {
  if (ret != 0) {
    check(name, ret);
    return;
  }
  printf("%s: type=%s mode=%04o", name, type_name(st->st_mode),
         (unsigned)(st->st_mode & 07777));
  if (S_ISREG(st->st_mode))
    printf(" size=%lld nlink=%lu", (long long)st->st_size,
           (unsigned long)st->st_nlink);
  if (S_ISLNK(st->st_mode))
    printf(" size=%lld", (long long)st->st_size);
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode))
    printf(" rdev=%u:%u", major(st->st_rdev), minor(st->st_rdev));
  putchar('\n');
}

static void open_and_walk(void) {
  char long_path[PATH_MAX + 64];
  char long_name[300];
  int fd;

  fd = expect_ok("open_file_rdonly", open(at("file.txt"), O_RDONLY));
  close(fd);
  expect_errno("open_file_with_o_directory", open(at("file.txt"), O_RDONLY | O_DIRECTORY), ENOTDIR);
  expect_errno("open_nonexistent", open(at("missing"), O_RDONLY), ENOENT);
  expect_errno("open_empty_path", open("", O_RDONLY), ENOENT);
  expect_errno("open_file_as_middle_component", open(at("file.txt/x"), O_RDONLY), ENOTDIR);
  expect_errno("open_missing_middle_component", open(at("missing/x"), O_RDONLY), ENOENT);
  fd = expect_ok("open_relative_symlink", open(at("links/rel"), O_RDONLY));
  close(fd);
  fd = expect_ok("open_absolute_symlink", open(at("links/abs"), O_RDONLY));
  close(fd);
  fd = expect_ok("open_through_dir_symlink", open(at("links/dirlink/a.txt"), O_RDONLY));
  close(fd);
  expect_errno("open_symlink_with_o_nofollow", open(at("links/abs"), O_RDONLY | O_NOFOLLOW), ELOOP);
  expect_errno("open_dangling_symlink", open(at("links/dangling"), O_RDONLY), ENOENT);
  expect_errno("open_two_link_loop", open(at("links/loop_a"), O_RDONLY), ELOOP);
  expect_errno("open_chain_of_41_links", open(at("links/chain_00"), O_RDONLY), ELOOP);
  fd = expect_ok("open_chain_of_40_links", open(at("links/chain_01"), O_RDONLY));
  close(fd);
  fd = expect_ok("open_dir_o_directory", open(at("dir"), O_RDONLY | O_DIRECTORY));
  close(fd);
  expect_errno("open_dir_for_writing", open(at("dir"), O_WRONLY), EISDIR);
  expect_errno("open_existing_o_creat_o_excl", open(at("file.txt"), O_WRONLY | O_CREAT | O_EXCL, 0644), EEXIST);
  fd = expect_ok("open_dot_dot_walk", open(at("dir/sub/../../file.txt"), O_RDONLY));
  close(fd);

  /* PATH_MAX counts the terminating NUL: a longer path is refused before
   * any component is looked up. */
  memset(long_path, 0, sizeof long_path);
  for (size_t i = 0; i + 2 < PATH_MAX + 16; i += 2)
    memcpy(long_path + i, "a/", 2);
  expect_errno("open_path_longer_than_path_max", open(long_path, O_RDONLY), ENAMETOOLONG);
  memset(long_name, 'x', sizeof long_name);
  long_name[256] = 0;
  expect_errno("open_component_of_256_bytes", open(at(long_name), O_RDONLY), ENAMETOOLONG);
  long_name[255] = 0;
  expect_errno("open_component_of_255_bytes", open(at(long_name), O_RDONLY), ENOENT);

  int dirfd = open(at("dir"), O_RDONLY | O_DIRECTORY);
  int filefd = open(at("file.txt"), O_RDONLY);
  fd = expect_ok("openat_relative_to_dirfd", openat(dirfd, "a.txt", O_RDONLY));
  close(fd);
  fd = expect_ok("openat_dot_dot_from_dirfd", openat(dirfd, "../file.txt", O_RDONLY));
  close(fd);
  expect_errno("openat_relative_to_file_fd", openat(filefd, "a.txt", O_RDONLY), ENOTDIR);
  expect_errno("openat_relative_to_bad_fd", openat(999, "a.txt", O_RDONLY), EBADF);
  fd = expect_ok("openat_absolute_ignores_bad_fd", openat(999, at("file.txt"), O_RDONLY));
  close(fd);
  fd = expect_ok("openat_o_path", openat(dirfd, "a.txt", O_PATH));
  char c;
  expect_errno("read_o_path_fd", read(fd, &c, 1), EBADF);
  close(fd);
  close(filefd);
  close(dirfd);
}

static void reading(void) {
  char buf[128];
  int fd = open(at("file.txt"), O_RDONLY);

  long n = expect_eq("read_file", read(fd, buf, sizeof buf), 15);
  say("read_file_content", "%s", quoted(buf, n > 0 ? (size_t)n : 0));
  expect_eq("read_at_eof", read(fd, buf, sizeof buf), 0);
  expect_eq("read_zero_bytes", read(fd, buf, 0), 0);
  n = expect_eq("pread64_middle", pread(fd, buf, 5, 7), 5);
  say("pread64_middle_content", "%s", quoted(buf, n > 0 ? (size_t)n : 0));
  expect_eq("pread64_past_eof", pread(fd, buf, 5, 100), 0);
  expect_errno("pread64_negative_offset", pread(fd, buf, 5, -1), EINVAL);
  expect_eq("pread64_leaves_offset", lseek(fd, 0, SEEK_CUR), 15);

  char first[4], second[100];
  struct iovec iov[2] = {{first, sizeof first}, {second, sizeof second}};
  lseek(fd, 0, SEEK_SET);
  expect_eq("readv_two_buffers", readv(fd, iov, 2), 15);
  say("readv_first_buffer", "%s", quoted(first, sizeof first));
  say("readv_second_buffer", "%s", quoted(second, 11));
  expect_errno("readv_negative_count", syscall(SYS_readv, fd, iov, -1), EINVAL);
  close(fd);

  int dirfd = open(at("dir"), O_RDONLY | O_DIRECTORY);
  expect_errno("read_directory", read(dirfd, buf, sizeof buf), EISDIR);
  close(dirfd);

  /* A host file of the read-only root, reached through a symlink on Debian. */
  fd = open("/etc/os-release", O_RDONLY);
  static char text[65536];
  size_t total = 0;
  for (;;) {
    long r = read(fd, text + total, 7); /* odd-sized reads on purpose */
    if (r <= 0)
      break;
    total += (size_t)r;
  }
  say("read_os_release_size", "%zu", total);
  say("read_os_release_checksum", "%08x", fnv1a(FNV1A_INIT, text, total));
  char a[10], b[1000];
  struct iovec host_iov[2] = {{a, sizeof a}, {b, sizeof b}};
  check("readv_os_release", preadv(fd, host_iov, 2, 0));
  say("readv_os_release_checksum", "%08x",
      fnv1a(fnv1a(FNV1A_INIT, a, sizeof a), b, total - sizeof a < sizeof b ? total - sizeof a : sizeof b));
  n = check("pread64_os_release", pread(fd, buf, 20, 10));
  say("pread64_os_release_content", "%s", quoted(buf, n > 0 ? (size_t)n : 0));
  close(fd);

  /* 5 MiB in 64 KiB reads. */
  fd = open(at("big.bin"), O_RDONLY);
  static char chunk[65536];
  uint32_t h = FNV1A_INIT;
  total = 0;
  for (;;) {
    long r = read(fd, chunk, sizeof chunk);
    if (r <= 0)
      break;
    h = fnv1a(h, chunk, (size_t)r);
    total += (size_t)r;
  }
  expect_eq("read_big_file_size", (long)total, 5 * 1024 * 1024);
  say("read_big_file_checksum", "%08x", h);
  close(fd);
}

static void seeking(void) {
  char c;
  int fd = open(at("file.txt"), O_RDONLY);
  expect_eq("lseek_set", lseek(fd, 5, SEEK_SET), 5);
  expect_eq("lseek_cur", lseek(fd, 3, SEEK_CUR), 8);
  expect_eq("read_after_lseek", read(fd, &c, 1), 1);
  say("read_after_lseek_content", "%s", quoted(&c, 1));
  expect_eq("lseek_end", lseek(fd, 0, SEEK_END), 15);
  expect_eq("lseek_end_backwards", lseek(fd, -5, SEEK_END), 10);
  expect_errno("lseek_before_start", lseek(fd, -20, SEEK_END), EINVAL);
  expect_errno("lseek_set_negative", lseek(fd, -1, SEEK_SET), EINVAL);
  expect_errno("lseek_bad_whence", lseek(fd, 0, 42), EINVAL);
  expect_eq("lseek_past_end", lseek(fd, 100, SEEK_SET), 100);
  expect_eq("read_past_end", read(fd, &c, 1), 0);
  expect_errno("lseek_bad_fd", lseek(999, 0, SEEK_SET), EBADF);
  close(fd);

  int p[2];
  pipe(p);
  expect_errno("lseek_pipe", lseek(p[0], 0, SEEK_CUR), ESPIPE);
  expect_errno("pread64_pipe", pread(p[0], &c, 1, 0), ESPIPE);
  close(p[0]);
  close(p[1]);
}

static void bad_fds(void) {
  char c;
  struct stat st;
  expect_errno("close_bad_fd", close(999), EBADF);
  expect_errno("close_negative_fd", close(-1), EBADF);
  expect_errno("read_bad_fd", read(999, &c, 1), EBADF);
  expect_errno("write_bad_fd", write(999, &c, 1), EBADF);
  expect_errno("fstat_bad_fd", fstat(999, &st), EBADF);
  int fd = open(at("file.txt"), O_RDONLY);
  expect_errno("write_read_only_fd", write(fd, "x", 1), EBADF);
  close(fd);
  expect_errno("read_closed_fd", read(fd, &c, 1), EBADF);
}

static void stats(void) {
  struct stat st;
  print_stat("stat_file", stat(at("file.txt"), &st), &st);
  print_stat("stat_private_file", stat(at("private.txt"), &st), &st);
  print_stat("stat_script", stat(at("script.sh"), &st), &st);
  print_stat("stat_big_file", stat(at("big.bin"), &st), &st);
  print_stat("stat_dir", stat(at("dir"), &st), &st);
  print_stat("stat_follows_symlink", stat(at("links/rel"), &st), &st);
  print_stat("lstat_symlink", lstat(at("links/rel"), &st), &st);
  print_stat("lstat_file", lstat(at("file.txt"), &st), &st);
  print_stat("stat_dev_null", stat("/dev/null", &st), &st);
  print_stat("stat_host_os_release", stat("/etc/os-release", &st), &st);
  expect_errno("stat_nonexistent", stat(at("missing"), &st), ENOENT);
  expect_errno("stat_file_as_middle_component", stat(at("file.txt/x"), &st), ENOTDIR);
  expect_errno("stat_dangling_symlink", stat(at("links/dangling"), &st), ENOENT);
  expect_errno("stat_symlink_loop", stat(at("links/loop_a"), &st), ELOOP);

  int fd = open(at("file.txt"), O_RDONLY);
  print_stat("fstat_file", fstat(fd, &st), &st);
  print_stat("newfstatat_empty_path", fstatat(fd, "", &st, AT_EMPTY_PATH), &st);
  expect_errno("newfstatat_empty_path_without_flag", fstatat(fd, "", &st, 0), ENOENT);
  close(fd);
  print_stat("newfstatat_symlink_nofollow",
             fstatat(AT_FDCWD, at("links/rel"), &st, AT_SYMLINK_NOFOLLOW), &st);
  print_stat("newfstatat_symlink_follow", fstatat(AT_FDCWD, at("links/abs"), &st, 0), &st);
  int dirfd = open(at("dir"), O_RDONLY | O_DIRECTORY);
  print_stat("newfstatat_relative_to_dirfd", fstatat(dirfd, "a.txt", &st, 0), &st);
  print_stat("newfstatat_dir_by_empty_path", fstatat(dirfd, "", &st, AT_EMPTY_PATH), &st);
  close(dirfd);
  expect_errno("newfstatat_bad_flags", syscall(SYS_newfstatat, AT_FDCWD, at("file.txt"), &st, 0x80000000), EINVAL);

  struct statx stx;
  unsigned basic = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_SIZE;
  if (expect_eq("statx_file", statx(AT_FDCWD, at("file.txt"), 0, STATX_BASIC_STATS, &stx), 0) == 0) {
    expect_true("statx_file_has_basic_mask", (stx.stx_mask & basic) == basic);
    say("statx_file_fields", "type=%s mode=%04o size=%llu nlink=%u",
        type_name(stx.stx_mode), stx.stx_mode & 07777,
        (unsigned long long)stx.stx_size, stx.stx_nlink);
  }
  if (expect_eq("statx_symlink_nofollow",
                statx(AT_FDCWD, at("links/rel"), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx), 0) == 0)
    say("statx_symlink_fields", "type=%s size=%llu", type_name(stx.stx_mode),
        (unsigned long long)stx.stx_size);
  fd = open(at("private.txt"), O_RDONLY);
  if (expect_eq("statx_empty_path", statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx), 0) == 0)
    say("statx_empty_path_fields", "type=%s mode=%04o size=%llu",
        type_name(stx.stx_mode), stx.stx_mode & 07777,
        (unsigned long long)stx.stx_size);
  close(fd);
  expect_errno("statx_nonexistent", statx(AT_FDCWD, at("missing"), 0, STATX_BASIC_STATS, &stx), ENOENT);
  expect_errno("statx_reserved_mask_bit", statx(AT_FDCWD, at("file.txt"), 0, STATX__RESERVED, &stx), EINVAL);
  expect_errno("statx_both_sync_flags",
               statx(AT_FDCWD, at("file.txt"), AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &stx),
               EINVAL);
}

static void accessing(void) {
  expect_eq("access_file_f_ok", access(at("file.txt"), F_OK), 0);
  expect_eq("access_file_r_ok", access(at("file.txt"), R_OK), 0);
  /* Even root needs one execute bit. */
  expect_errno("access_file_x_ok_without_x_bits", access(at("file.txt"), X_OK), EACCES);
  expect_eq("access_script_x_ok", access(at("script.sh"), X_OK), 0);
  expect_eq("access_private_file_r_ok_as_owner", access(at("private.txt"), R_OK), 0);
  expect_eq("access_dir_x_ok", access(at("dir"), X_OK), 0);
  expect_errno("access_nonexistent", access(at("missing"), F_OK), ENOENT);
  expect_errno("access_file_as_middle_component", access(at("file.txt/x"), F_OK), ENOTDIR);
  expect_errno("access_bad_mode", access(at("file.txt"), 8), EINVAL);
  int dirfd = open(at("dir"), O_RDONLY | O_DIRECTORY);
  expect_eq("faccessat_relative_to_dirfd", syscall(SYS_faccessat, dirfd, "a.txt", R_OK), 0);
  expect_errno("faccessat_nonexistent", syscall(SYS_faccessat, dirfd, "missing", F_OK), ENOENT);
  expect_eq("faccessat2_eaccess", syscall(SYS_faccessat2, dirfd, "a.txt", R_OK, AT_EACCESS), 0);
  close(dirfd);
  expect_eq("faccessat2_dangling_symlink_nofollow",
            syscall(SYS_faccessat2, AT_FDCWD, at("links/dangling"), F_OK, AT_SYMLINK_NOFOLLOW), 0);
  expect_errno("faccessat2_dangling_symlink_follow",
               syscall(SYS_faccessat2, AT_FDCWD, at("links/dangling"), F_OK, 0), ENOENT);
  expect_errno("faccessat2_bad_flags", syscall(SYS_faccessat2, AT_FDCWD, at("file.txt"), F_OK, 0x1), EINVAL);
}

static void readlinks(void) {
  char buf[PATH_MAX];
  long n;

  n = expect_eq("readlink_relative", readlink(at("links/rel"), buf, sizeof buf), 11);
  say("readlink_relative_target", "%.*s", (int)(n > 0 ? n : 0), buf);
  n = readlink(at("links/abs"), buf, sizeof buf);
  expect_true("readlink_absolute_returns_target_length", n == (long)strlen(at("file.txt")));
  buf[n > 0 ? n : 0] = 0;
  say("readlink_absolute_target", "%s", shown(buf));
  n = expect_eq("readlink_truncates_to_buffer", readlink(at("links/rel"), buf, 3), 3);
  say("readlink_truncated_target", "%.*s", (int)(n > 0 ? n : 0), buf);
  expect_errno("readlink_regular_file", readlink(at("file.txt"), buf, sizeof buf), EINVAL);
  expect_errno("readlink_nonexistent", readlink(at("missing"), buf, sizeof buf), ENOENT);
  expect_errno("readlink_zero_size", syscall(SYS_readlink, at("links/rel"), buf, 0), EINVAL);
  int dirfd = open(at("links"), O_RDONLY | O_DIRECTORY);
  n = expect_eq("readlinkat_relative_to_dirfd", readlinkat(dirfd, "dangling", buf, sizeof buf), 11);
  say("readlinkat_dangling_target", "%.*s", (int)(n > 0 ? n : 0), buf);
  int linkfd = open(at("links/rel"), O_PATH | O_NOFOLLOW);
  n = expect_eq("readlinkat_empty_path_on_o_path_fd", readlinkat(linkfd, "", buf, sizeof buf), 11);
  say("readlinkat_empty_path_target", "%.*s", (int)(n > 0 ? n : 0), buf);
  close(linkfd);
  close(dirfd);
  /* Host symlinks of the read-only root. */
  n = check("readlink_host_os_release", readlink("/etc/os-release", buf, sizeof buf));
  say("readlink_host_os_release_target", "%.*s", (int)(n > 0 ? n : 0), buf);
  n = check("readlink_host_bin", readlink("/bin", buf, sizeof buf));
  say("readlink_host_bin_target", "%.*s", (int)(n > 0 ? n : 0), buf);
}

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char dtype_letter(unsigned char t) {
  switch (t) {
  case DT_REG:
    return 'f';
  case DT_DIR:
    return 'd';
  case DT_LNK:
    return 'l';
  case DT_CHR:
    return 'c';
  case DT_UNKNOWN:
    return '?';
  }
  return 'o';
}

/* Prints the sorted entries of an open directory as "name(type) ...". */
static int list_dir(const char *name, int fd, int with_types) {
  static char buf[4096];
  static char names[256][300];
  static char *sorted[256];
  int count = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) {
      if (n < 0)
        check(name, n);
      break;
    }
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
      if (count < 256) {
        if (with_types)
          snprintf(names[count], sizeof names[count], "%s(%c)", d->d_name, dtype_letter(d->d_type));
        else
          snprintf(names[count], sizeof names[count], "%s", d->d_name);
        sorted[count] = names[count];
        count++;
      }
      off += d->d_reclen;
    }
  }
  qsort(sorted, (size_t)count, sizeof sorted[0], compare_names);
  printf("%s:", name);
  for (int i = 0; i < count; i++)
    printf(" %s", sorted[i]);
  putchar('\n');
  return count;
}

static void directories(void) {
  char buf[4096];
  int fd = open(at("dir"), O_RDONLY | O_DIRECTORY);
  int count = list_dir("getdents64_fixture_dir", fd, 1);
  expect_eq("getdents64_at_end", syscall(SYS_getdents64, fd, buf, sizeof buf), 0);
  expect_eq("lseek_dir_rewind", lseek(fd, 0, SEEK_SET), 0);
  expect_eq("getdents64_after_rewind_count", list_dir("getdents64_after_rewind", fd, 1), count);
  lseek(fd, 0, SEEK_SET);
  expect_errno("getdents64_buffer_too_small", syscall(SYS_getdents64, fd, buf, 1), EINVAL);
  close(fd);
  fd = open(at("empty"), O_RDONLY | O_DIRECTORY);
  list_dir("getdents64_empty_dir", fd, 1);
  close(fd);
  fd = open("/etc/apt", O_RDONLY | O_DIRECTORY);
  list_dir("getdents64_host_etc_apt", fd, 0);
  close(fd);
  fd = open(at("file.txt"), O_RDONLY);
  expect_errno("getdents64_on_file", syscall(SYS_getdents64, fd, buf, sizeof buf), ENOTDIR);
  close(fd);
  expect_errno("getdents64_bad_fd", syscall(SYS_getdents64, 999, buf, sizeof buf), EBADF);
}

static void print_cwd(const char *name) {
  char buf[PATH_MAX];
  if (getcwd(buf, sizeof buf))
    say(name, "%s", shown(buf));
  else
    check(name, -1);
}

static void working_directory(void) {
  char buf[PATH_MAX];
  print_cwd("getcwd_initial");
  expect_eq("chdir_absolute", chdir(at("dir")), 0);
  print_cwd("getcwd_after_chdir");
  expect_eq("chdir_relative", chdir("sub"), 0);
  print_cwd("getcwd_after_relative_chdir");
  expect_eq("chdir_dot_dot", chdir(".."), 0);
  print_cwd("getcwd_after_dot_dot");
  int fd = expect_ok("open_relative_to_cwd", open("a.txt", O_RDONLY));
  close(fd);
  int subfd = open(at("dir/sub/deeper"), O_RDONLY | O_DIRECTORY);
  expect_eq("fchdir", fchdir(subfd), 0);
  print_cwd("getcwd_after_fchdir");
  close(subfd);
  expect_eq("chdir_through_symlink", chdir(at("links/dirlink")), 0);
  print_cwd("getcwd_after_symlink_chdir");
  expect_errno("chdir_to_file", chdir(at("file.txt")), ENOTDIR);
  expect_errno("chdir_nonexistent", chdir(at("missing")), ENOENT);
  int filefd = open(at("file.txt"), O_RDONLY);
  expect_errno("fchdir_to_file", fchdir(filefd), ENOTDIR);
  close(filefd);
  expect_errno("fchdir_bad_fd", fchdir(999), EBADF);
  print_cwd("getcwd_after_failed_chdirs");
  long n = syscall(SYS_getcwd, buf, sizeof buf);
  expect_true("getcwd_syscall_returns_length_with_nul", n == (long)strlen(buf) + 1);
  expect_errno("getcwd_buffer_too_small", syscall(SYS_getcwd, buf, 1), ERANGE);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FIXTURES_DIR\n", argv[0]);
    return 2;
  }
  fix = argv[1];
  open_and_walk();
  reading();
  seeking();
  bad_fds();
  stats();
  accessing();
  readlinks();
  directories();
  working_directory();
  return check_finish();
}
