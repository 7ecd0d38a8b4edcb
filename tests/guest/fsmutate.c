/*
 * fsmutate: changing a writable filesystem as Linux does it on a tmpfs or an
 * ext4 /tmp — open flags, read/write/seek with holes, truncate, mkdir/rmdir,
 * link, symlink, rename/renameat2, chmod/chown/utimensat, fifos, O_TMPFILE,
 * getdents, user.* xattrs, fsync/fallocate, statfs, and the permission checks
 * an unprivileged process meets (in a forked child that drops to 65534).
 *
 * Everything happens inside a fresh mkdtemp directory, through relative paths
 * after chdir into it; only what is the same on ext4 and tmpfs is checked.
 * The directory is removed at the end.
 */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* The scratch directory: made under argv[1] (default /tmp). */
static char base[256];
static struct stat st_;

/* A stat field of path (lstat), or -1 with errno when lstat fails. */
#define LST(path, field) (lstat(path, &st_) == 0 ? (long)st_.field : -1)
#define FST(fd, field) (fstat(fd, &st_) == 0 ? (long)st_.field : -1)

static void die(const char *what) {
  perror(what);
  exit(2);
}

/* Creates (or truncates) path with content s. */
static void put(const char *path, const char *s) {
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
    die(path);
  close(fd);
}

/* The content of fd from offset 0 (at most 255 bytes), or the error. */
static const char *fd_text(int fd) {
  static char bufs[4][256];
  static int next;
  char *b = bufs[next++ % 4];
  ssize_t n = pread(fd, b, 255, 0);
  if (n < 0)
    return result_text(-1, errno);
  b[n] = 0;
  return b;
}

static const char *text(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return result_text(-1, errno);
  const char *t = fd_text(fd);
  close(fd);
  return t;
}

/* Permission bits as "0640", or the error of lstat. */
static void expect_mode(const char *name, const char *path, unsigned want) {
  char got[64], w[16];
  if (lstat(path, &st_) != 0)
    snprintf(got, sizeof got, "%s", result_text(-1, errno));
  else
    snprintf(got, sizeof got, "%04o", (unsigned)(st_.st_mode & 07777));
  snprintf(w, sizeof w, "%04o", want);
  expect_str(name, got, w);
}

static void expect_type(const char *name, const char *path, mode_t type) {
  expect_true(name, lstat(path, &st_) == 0 && (st_.st_mode & S_IFMT) == type);
}

static void open_flags(void) {
  umask(022);
  int fd = expect_ok("open_creat_new", open("f1", O_CREAT | O_WRONLY, 0640));
  close(fd);
  expect_mode("open_creat_mode_0640", "f1", 0640);
  expect_errno("open_creat_excl_existing", open("f1", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
  expect_errno("open_creat_missing_parent", open("nodir/x", O_CREAT | O_WRONLY, 0644), ENOENT);
  expect_errno("open_creat_trailing_slash", open("newf/", O_CREAT | O_WRONLY, 0644), EISDIR);
  expect_errno("open_creat_under_file", open("f1/x", O_CREAT | O_WRONLY, 0644), ENOTDIR);
  put("f1", "hello");
  fd = open("f1", O_WRONLY | O_TRUNC);
  expect_eq("open_trunc_size", FST(fd, st_size), 0);
  close(fd);
  put("f1", "abc");
  fd = open("f1", O_WRONLY | O_APPEND);
  lseek(fd, 0, SEEK_SET);
  expect_eq("append_write", write(fd, "def", 3), 3);
  expect_eq("append_offset_after", lseek(fd, 0, SEEK_CUR), 6);
  close(fd);
  expect_str("append_content", text("f1"), "abcdef");
  expect_errno("open_file_o_directory", open("f1", O_RDONLY | O_DIRECTORY), ENOTDIR);
  symlink("f1", "l1");
  expect_errno("open_symlink_o_nofollow", open("l1", O_RDONLY | O_NOFOLLOW), ELOOP);
  fd = expect_ok("open_symlink_o_path_nofollow", open("l1", O_PATH | O_NOFOLLOW));
  close(fd);
  expect_errno("open_dir_wronly", open(".", O_WRONLY), EISDIR);
  expect_errno("open_dir_rdwr", open(".", O_RDWR), EISDIR);
  expect_errno("open_dir_creat", open(".", O_CREAT | O_RDONLY, 0644), EISDIR);
  expect_eq("umask_077_returns_old", umask(077), 022);
  fd = open("f_umask", O_CREAT | O_WRONLY, 0666);
  close(fd);
  expect_mode("open_creat_umask_077", "f_umask", 0600);
  mkdir("d_umask", 0777);
  expect_mode("mkdir_umask_077", "d_umask", 0700);
  expect_eq("umask_restore", umask(022), 077);
}

static void io(void) {
  char buf[4096];
  int fd = open("io", O_CREAT | O_RDWR, 0644);
  expect_eq("write", write(fd, "0123456789", 10), 10);
  expect_eq("pread", pread(fd, buf, 4, 3), 4);
  expect_str("pread_content", quoted(buf, 4), "\"3456\"");
  expect_eq("pwrite", pwrite(fd, "XY", 2, 8), 2);
  expect_eq("pwrite_leaves_offset", lseek(fd, 0, SEEK_CUR), 10);
  expect_str("pwrite_content", fd_text(fd), "01234567XY");
  expect_eq("lseek_end", lseek(fd, -3, SEEK_END), 7);
  expect_eq("read_after_seek_end", read(fd, buf, sizeof buf), 3);
  expect_eq("read_at_eof", read(fd, buf, sizeof buf), 0);
  expect_eq("lseek_data_0", lseek(fd, 0, SEEK_DATA), 0);
  expect_eq("lseek_hole_0", lseek(fd, 0, SEEK_HOLE), 10);
  expect_errno("lseek_data_at_eof", lseek(fd, 10, SEEK_DATA), ENXIO);
  expect_errno("lseek_negative", lseek(fd, -1, SEEK_SET), EINVAL);
  expect_eq("lseek_past_eof", lseek(fd, 20, SEEK_SET), 20);
  expect_eq("write_past_eof", write(fd, "Z", 1), 1);
  expect_eq("write_past_eof_size", FST(fd, st_size), 21);
  expect_eq("write_past_eof_gap", pread(fd, buf, 10, 10), 10);
  expect_true("write_past_eof_gap_zeros", memcmp(buf, "\0\0\0\0\0\0\0\0\0\0", 10) == 0);
  close(fd);

  fd = open("sparse", O_CREAT | O_RDWR, 0644);
  expect_eq("sparse_pwrite_1mib", pwrite(fd, "end", 3, 1 << 20), 3);
  expect_eq("sparse_size", FST(fd, st_size), (1 << 20) + 3);
  memset(buf, 'x', sizeof buf);
  expect_eq("sparse_read_hole", pread(fd, buf, sizeof buf, 512 * 1024), (long)sizeof buf);
  int zeros = 1;
  for (size_t i = 0; i < sizeof buf; i++)
    zeros &= buf[i] == 0;
  expect_true("sparse_hole_zeros", zeros);
  expect_eq("sparse_read_tail", pread(fd, buf, 100, 1 << 20), 3);
  expect_str("sparse_tail_content", quoted(buf, 3), "\"end\"");
  expect_eq("sparse_seek_hole_0", lseek(fd, 0, SEEK_HOLE), 0);
  expect_eq("sparse_seek_data_0", lseek(fd, 0, SEEK_DATA), 1 << 20);
  close(fd);
}

static void truncation(void) {
  char buf[16];
  put("tr", "0123456789");
  int fd = open("tr", O_RDWR);
  expect_eq("ftruncate_shrink", ftruncate(fd, 4), 0);
  expect_str("ftruncate_shrink_content", fd_text(fd), "0123");
  expect_eq("read_past_new_end", pread(fd, buf, 4, 4), 0);
  expect_eq("ftruncate_grow", ftruncate(fd, 8), 0);
  expect_eq("read_grown", pread(fd, buf, 16, 0), 8);
  expect_str("read_grown_content", quoted(buf, 8), "\"0123\\x00\\x00\\x00\\x00\"");
  expect_errno("ftruncate_negative", ftruncate(fd, -1), EINVAL);
  close(fd);
  expect_eq("truncate_path", truncate("tr", 2), 0);
  expect_eq("truncate_path_size", LST("tr", st_size), 2);
  expect_errno("truncate_negative", truncate("tr", -1), EINVAL);
  expect_errno("truncate_directory", truncate(".", 0), EISDIR);
  expect_errno("truncate_missing", truncate("nothere", 0), ENOENT);
  fd = open("tr", O_RDONLY);
  expect_errno("ftruncate_rdonly_fd", ftruncate(fd, 0), EINVAL);
  close(fd);
}

static void directories(void) {
  expect_eq("mkdir", mkdir("d", 0750), 0);
  expect_mode("mkdir_mode", "d", 0750);
  expect_eq("mkdir_0777_umask_022", mkdir("d2", 0777), 0);
  expect_mode("mkdir_0777_mode", "d2", 0755);
  expect_errno("mkdir_existing", mkdir("d", 0755), EEXIST);
  expect_errno("mkdir_over_file", mkdir("f1", 0755), EEXIST);
  expect_errno("mkdir_missing_parent", mkdir("nodir/x", 0755), ENOENT);
  expect_errno("mkdir_under_file", mkdir("f1/x", 0755), ENOTDIR);
  expect_eq("mkdir_trailing_slash", mkdir("d3/", 0755), 0);
  expect_eq("dir_nlink_empty", LST("d", st_nlink), 2);
  mkdir("d/sub", 0755);
  expect_eq("dir_nlink_one_subdir", LST("d", st_nlink), 3);
  put("d/file", "x");
  expect_eq("dir_nlink_file_not_counted", LST("d", st_nlink), 3);
  expect_errno("rmdir_nonempty", rmdir("d"), ENOTEMPTY);
  expect_errno("rmdir_file", rmdir("f1"), ENOTDIR);
  expect_errno("unlink_directory", unlink("d"), EISDIR);
  expect_errno("rmdir_dot", rmdir("."), EINVAL);
  expect_errno("rmdir_trailing_dot", rmdir("d/sub/."), EINVAL);
  expect_errno("rmdir_dotdot", rmdir("d/sub/.."), ENOTEMPTY);
  expect_errno("rmdir_missing", rmdir("nothere"), ENOENT);
  expect_errno("unlink_missing", unlink("nothere"), ENOENT);
  expect_eq("rmdir_empty", rmdir("d/sub"), 0);
  expect_eq("dir_nlink_after_rmdir", LST("d", st_nlink), 2);
  expect_eq("file_nlink", LST("d/file", st_nlink), 1);
  expect_eq("link_for_nlink", link("d/file", "d/file2"), 0);
  expect_eq("file_nlink_after_link", LST("d/file", st_nlink), 2);
  expect_eq("unlink_second_name", unlink("d/file2"), 0);
  expect_eq("file_nlink_after_unlink", LST("d/file", st_nlink), 1);
  int dfd = open("d", O_RDONLY | O_DIRECTORY);
  expect_errno("unlinkat_removedir_dot", unlinkat(dfd, ".", AT_REMOVEDIR), EINVAL);
  expect_eq("unlinkat_file", unlinkat(dfd, "file", 0), 0);
  close(dfd);
  expect_eq("rmdir_now_empty", rmdir("d"), 0);
  expect_errno("stat_removed_dir", lstat("d", &st_), ENOENT);
}

static void links(void) {
  put("la", "one");
  expect_eq("link", link("la", "lb"), 0);
  int fd = open("la", O_WRONLY | O_APPEND);
  (void)!write(fd, "+two", 4);
  close(fd);
  expect_str("link_shares_data", text("lb"), "one+two");
  expect_true("link_same_inode", LST("la", st_ino) == LST("lb", st_ino));
  expect_errno("link_directory", link("d2", "d2link"), EPERM);
  expect_errno("link_to_existing", link("la", "f1"), EEXIST);
  expect_errno("link_missing_source", link("nothere", "x"), ENOENT);
  symlink("la", "lsym");
  expect_eq("linkat_symlink_nofollow", linkat(AT_FDCWD, "lsym", AT_FDCWD, "lnf", 0), 0);
  expect_type("linkat_nofollow_is_symlink", "lnf", S_IFLNK);
  expect_eq("linkat_symlink_follow", linkat(AT_FDCWD, "lsym", AT_FDCWD, "lf", AT_SYMLINK_FOLLOW), 0);
  expect_type("linkat_follow_is_regular", "lf", S_IFREG);
  expect_eq("linkat_follow_nlink", LST("la", st_nlink), 3);
}

static void symlinks(void) {
  char buf[PATH_MAX], abs[PATH_MAX];
  put("target.txt", "T");
  expect_eq("symlink_relative", symlink("target.txt", "rel"), 0);
  long n = expect_eq("readlink_relative", readlink("rel", buf, sizeof buf), 10);
  expect_str("readlink_relative_text", quoted(buf, n > 0 ? (size_t)n : 0), "\"target.txt\"");
  expect_eq("symlink_lstat_size", LST("rel", st_size), 10);
  expect_mode("symlink_mode", "rel", 0777);
  snprintf(abs, sizeof abs, "%s/target.txt", base);
  expect_eq("symlink_absolute", symlink(abs, "abs"), 0);
  n = readlink("abs", buf, sizeof buf);
  expect_true("readlink_absolute_matches", n == (long)strlen(abs) && memcmp(buf, abs, n) == 0);
  expect_str("open_via_absolute", text("abs"), "T");
  expect_str("open_via_relative", text("rel"), "T");
  expect_errno("symlink_existing", symlink("x", "rel"), EEXIST);
  symlink("nowhere", "dang");
  expect_errno("stat_dangling", stat("dang", &st_), ENOENT);
  expect_eq("lstat_dangling", lstat("dang", &st_), 0);
  expect_errno("open_dangling", open("dang", O_RDONLY), ENOENT);
  int fd = expect_ok("open_creat_through_dangling", open("dang", O_CREAT | O_WRONLY, 0644));
  close(fd);
  expect_type("dangling_target_created", "nowhere", S_IFREG);
  expect_errno("open_creat_excl_dangling", open("dang", O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);
  symlink("loopb", "loopa");
  symlink("loopa", "loopb");
  expect_errno("open_loop", open("loopa", O_RDONLY), ELOOP);
  expect_errno("stat_loop", stat("loopa", &st_), ELOOP);
  expect_errno("readlink_regular_file", readlink("target.txt", buf, sizeof buf), EINVAL);
  expect_errno("readlink_directory", readlink("d2", buf, sizeof buf), EINVAL);
  expect_errno("readlink_missing", readlink("nothere", buf, sizeof buf), ENOENT);
  memset(buf, 0, sizeof buf);
  n = expect_eq("readlink_small_buffer", readlink("rel", buf, 4), 4);
  expect_str("readlink_small_buffer_text", buf, "targ");
  symlink("d2", "dirlink");
  put("d2/in", "inside");
  expect_str("open_through_dir_symlink", text("dirlink/in"), "inside");
  expect_errno("rmdir_symlink_to_dir", rmdir("dirlink"), ENOTDIR);
  expect_eq("unlink_symlink_to_dir", unlink("dirlink"), 0);
  expect_type("unlink_symlink_keeps_dir", "d2", S_IFDIR);
}

static void renames(void) {
  put("r1", "first");
  put("r2", "second");
  expect_eq("rename_file_over_file", rename("r1", "r2"), 0);
  expect_errno("rename_old_gone", access("r1", F_OK), ENOENT);
  expect_str("rename_new_content", text("r2"), "first");
  mkdir("rd", 0755);
  mkdir("rd/sub", 0755);
  mkdir("re", 0755);
  mkdir("rf", 0755);
  put("rf/x", "x");
  expect_errno("rename_file_over_dir", rename("r2", "re"), EISDIR);
  expect_errno("rename_dir_over_file", rename("re", "r2"), ENOTDIR);
  expect_errno("rename_dir_over_nonempty", rename("rd", "rf"), ENOTEMPTY);
  expect_eq("rename_dir_over_empty", rename("rd", "re"), 0);
  expect_type("rename_dir_moved", "re/sub", S_IFDIR);
  expect_errno("rename_dir_source_gone", access("rd", F_OK), ENOENT);
  expect_errno("rename_into_own_subdir", rename("re", "re/sub/x"), EINVAL);
  expect_errno("rename_dot", rename(".", "x"), EBUSY);
  expect_errno("rename_missing", rename("nothere", "x"), ENOENT);
  expect_eq("rename_to_itself", rename("r2", "r2"), 0);
  expect_str("rename_to_itself_content", text("r2"), "first");
  expect_eq("rename_hardlink_onto_other_name", rename("la", "lb"), 0);
  expect_true("rename_hardlink_both_stay", access("la", F_OK) == 0 && access("lb", F_OK) == 0);
  mkdir("rp", 0755);
  expect_eq("rename_dir_across_parents", rename("re/sub", "rp/sub"), 0);
  expect_true("rename_dir_nlinks", LST("re", st_nlink) == 2 && LST("rp", st_nlink) == 3);
  put("r3", "third");
  expect_errno("renameat2_noreplace_existing",
               renameat2(AT_FDCWD, "r3", AT_FDCWD, "r2", RENAME_NOREPLACE), EEXIST);
  expect_eq("renameat2_noreplace_new", renameat2(AT_FDCWD, "r3", AT_FDCWD, "r4", RENAME_NOREPLACE), 0);
  expect_eq("renameat2_exchange", renameat2(AT_FDCWD, "r2", AT_FDCWD, "r4", RENAME_EXCHANGE), 0);
  expect_str("exchange_r2", text("r2"), "third");
  expect_str("exchange_r4", text("r4"), "first");
  expect_errno("renameat2_exchange_missing",
               renameat2(AT_FDCWD, "r2", AT_FDCWD, "nothere", RENAME_EXCHANGE), ENOENT);
  expect_errno("renameat2_both_flags",
               renameat2(AT_FDCWD, "r2", AT_FDCWD, "r4", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
  expect_eq("renameat2_exchange_file_dir", renameat2(AT_FDCWD, "r2", AT_FDCWD, "rf", RENAME_EXCHANGE), 0);
  expect_true("exchange_file_dir_types", LST("r2", st_mode) != -1 && S_ISDIR(st_.st_mode) &&
                                             LST("rf", st_mode) != -1 && S_ISREG(st_.st_mode));

  put("of", "kept");
  int fd = open("of", O_RDWR);
  expect_eq("rename_open_file", rename("of", "of2"), 0);
  expect_eq("write_after_rename", pwrite(fd, "K", 1, 0), 1);
  expect_str("read_new_name_after_rename", text("of2"), "Kept");
  expect_eq("unlink_open_file", unlink("of2"), 0);
  expect_eq("fstat_nlink_after_unlink", FST(fd, st_nlink), 0);
  expect_str("read_after_unlink", fd_text(fd), "Kept");
  expect_eq("write_after_unlink", pwrite(fd, "!", 1, 4), 1);
  expect_str("read_after_unlink_write", fd_text(fd), "Kept!");
  close(fd);
}

static void attributes(void) {
  put("ch", "c");
  expect_eq("chmod", chmod("ch", 0604), 0);
  expect_mode("chmod_mode", "ch", 0604);
  int fd = open("ch", O_RDWR);
  expect_eq("fchmod", fchmod(fd, 0640), 0);
  expect_mode("fchmod_mode", "ch", 0640);
  expect_eq("fchmodat", fchmodat(AT_FDCWD, "ch", 0600, 0), 0);
  expect_mode("fchmodat_mode", "ch", 0600);
  symlink("ch", "chl");
  expect_errno("fchmodat_nofollow_symlink", fchmodat(AT_FDCWD, "chl", 0644, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
  expect_eq("chmod_through_symlink", chmod("chl", 0611), 0);
  expect_mode("chmod_through_symlink_target", "ch", 0611);
  expect_mode("chmod_through_symlink_link", "chl", 0777);
  expect_errno("chmod_missing", chmod("nothere", 0644), ENOENT);
  expect_eq("chown_root", chown("ch", 0, 0), 0);
  say("chown_root_uid_gid", "%ld %ld", LST("ch", st_uid), LST("ch", st_gid));
  expect_eq("chown_to_other", chown("ch", 1234, 5678), 0);
  say("chown_other_uid_gid", "%ld %ld", LST("ch", st_uid), LST("ch", st_gid));
  expect_eq("chown_minus_one_keeps", chown("ch", -1, -1), 0);
  say("chown_minus_one_uid_gid", "%ld %ld", LST("ch", st_uid), LST("ch", st_gid));
  expect_eq("lchown_symlink", lchown("chl", 42, 43), 0);
  say("lchown_symlink_uid_gid", "%ld %ld", LST("chl", st_uid), LST("chl", st_gid));
  say("lchown_target_uid_gid", "%ld %ld", LST("ch", st_uid), LST("ch", st_gid));
  chmod("ch", 04755);
  expect_mode("chmod_setuid", "ch", 04755);
  expect_eq("fchown_root", fchown(fd, 0, 0), 0);
  expect_mode("chown_clears_setuid", "ch", 0755);

  struct timespec ts[2] = {{1000000000, 0}, {1234567890, 0}};
  expect_eq("utimensat", utimensat(AT_FDCWD, "ch", ts, 0), 0);
  say("utimensat_atime_mtime", "%ld %ld", LST("ch", st_atim.tv_sec), LST("ch", st_mtim.tv_sec));
  struct timespec omit[2] = {{1500000000, 0}, {0, UTIME_OMIT}};
  expect_eq("utimensat_omit_mtime", utimensat(AT_FDCWD, "ch", omit, 0), 0);
  say("utimensat_omit_atime_mtime", "%ld %ld", LST("ch", st_atim.tv_sec), LST("ch", st_mtim.tv_sec));
  struct timespec fts[2] = {{0, UTIME_OMIT}, {1111111111, 500}};
  expect_eq("futimens", futimens(fd, fts), 0);
  say("futimens_atime_mtime", "%ld %ld.%09ld", FST(fd, st_atim.tv_sec), FST(fd, st_mtim.tv_sec),
      FST(fd, st_mtim.tv_nsec));
  struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
  expect_errno("utimensat_bad_nsec", utimensat(AT_FDCWD, "ch", bad, 0), EINVAL);
  struct timespec lts[2] = {{1200000000, 0}, {1300000000, 0}};
  expect_eq("utimensat_nofollow", utimensat(AT_FDCWD, "chl", lts, AT_SYMLINK_NOFOLLOW), 0);
  say("utimensat_nofollow_link_mtime", "%ld", LST("chl", st_mtim.tv_sec));
  say("utimensat_nofollow_target_mtime", "%ld", LST("ch", st_mtim.tv_sec));
  time_t before = time(NULL);
  expect_eq("utimensat_now", utimensat(AT_FDCWD, "ch", NULL, 0), 0);
  expect_true("utimensat_now_is_recent", LST("ch", st_mtim.tv_sec) >= before - 1);
  close(fd);
}

static void fifos(void) {
  expect_eq("mkfifo", mkfifo("fifo", 0644), 0);
  expect_type("mkfifo_is_fifo", "fifo", S_IFIFO);
  expect_mode("mkfifo_mode", "fifo", 0644);
  expect_errno("mkfifo_existing", mkfifo("fifo", 0644), EEXIST);
  expect_errno("fifo_open_writer_no_reader", open("fifo", O_WRONLY | O_NONBLOCK), ENXIO);
  int r = expect_ok("fifo_open_reader_nonblock", open("fifo", O_RDONLY | O_NONBLOCK));
  int w = expect_ok("fifo_open_writer_with_reader", open("fifo", O_WRONLY | O_NONBLOCK));
  char buf[8] = {0};
  expect_errno("fifo_read_empty", read(r, buf, sizeof buf), EAGAIN);
  expect_eq("fifo_write", write(w, "ping", 4), 4);
  expect_eq("fifo_read", read(r, buf, sizeof buf), 4);
  expect_str("fifo_read_content", buf, "ping");
  expect_errno("fifo_lseek", lseek(r, 0, SEEK_SET), ESPIPE);
  close(w);
  expect_eq("fifo_read_after_writer_closed", read(r, buf, sizeof buf), 0);
  close(r);
  expect_eq("fifo_size", LST("fifo", st_size), 0);
  expect_eq("mknod_regular", mknod("mreg", S_IFREG | 0600, 0), 0);
  expect_type("mknod_regular_type", "mreg", S_IFREG);
  expect_mode("mknod_regular_mode", "mreg", 0600);
  expect_eq("mknod_fifo", mknod("mfifo", S_IFIFO | 0600, 0), 0);
  expect_type("mknod_fifo_type", "mfifo", S_IFIFO);
  expect_errno("mknod_directory", mknod("mdir", S_IFDIR | 0755, 0), EPERM);
}

static void tmpfiles(void) {
  int fd = expect_ok("o_tmpfile", open(".", O_TMPFILE | O_RDWR, 0600));
  expect_eq("o_tmpfile_write", write(fd, "tmpdata", 7), 7);
  expect_eq("o_tmpfile_nlink", FST(fd, st_nlink), 0);
  expect_true("o_tmpfile_is_regular", FST(fd, st_mode) != -1 && S_ISREG(st_.st_mode));
  expect_eq("o_tmpfile_linkat", linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH), 0);
  expect_eq("o_tmpfile_nlink_after_link", FST(fd, st_nlink), 1);
  expect_str("o_tmpfile_named_content", text("named"), "tmpdata");
  expect_mode("o_tmpfile_mode", "named", 0600);
  close(fd);
  expect_errno("o_tmpfile_rdonly", open(".", O_TMPFILE | O_RDONLY, 0600), EINVAL);
  expect_errno("o_tmpfile_on_file", open("named", O_TMPFILE | O_RDWR, 0600), ENOTDIR);
  fd = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
  expect_errno("o_tmpfile_excl_linkat", linkat(fd, "", AT_FDCWD, "named2", AT_EMPTY_PATH), ENOENT);
  close(fd);
  fd = open("named", O_RDONLY);
  expect_errno("linkat_empty_path_existing", linkat(fd, "", AT_FDCWD, "named", AT_EMPTY_PATH), EEXIST);
  expect_eq("linkat_empty_path_linked_file", linkat(fd, "", AT_FDCWD, "named3", AT_EMPTY_PATH), 0);
  expect_eq("linkat_empty_path_nlink", FST(fd, st_nlink), 2);
  close(fd);
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void listing(void) {
  char name[32];
  mkdir("many", 0755);
  for (int i = 0; i < 50; i++) {
    snprintf(name, sizeof name, "many/f%02d", i);
    put(name, "");
  }
  for (int i = 0; i < 3; i++) {
    snprintf(name, sizeof name, "many/s%d", i);
    mkdir(name, 0755);
  }
  DIR *d = opendir("many");
  static char *names[128];
  int n = 0, dot = 0, dotdot = 0, dirs = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < 128) {
    dot += strcmp(e->d_name, ".") == 0;
    dotdot += strcmp(e->d_name, "..") == 0;
    dirs += e->d_type == DT_DIR;
    names[n++] = strdup(e->d_name);
  }
  expect_eq("readdir_count", n, 55);
  expect_true("readdir_has_dot_and_dotdot", dot == 1 && dotdot == 1);
  expect_true("readdir_d_type_dirs", dirs == 5);
  qsort(names, n, sizeof *names, cmp_names);
  uint32_t h = FNV1A_INIT;
  for (int i = 0; i < n; i++) {
    if (i)
      h = fnv1a(h, "\n", 1);
    h = fnv1a(h, names[i], strlen(names[i]));
    free(names[i]);
  }
  say("readdir_sorted_checksum", "%08x", h);
  rewinddir(d);
  int again = 0;
  while (readdir(d) != NULL)
    again++;
  expect_eq("readdir_after_rewind", again, 55);
  closedir(d);
  expect_eq("many_nlink", LST("many", st_nlink), 5);
  unlink("many/f00");
  d = opendir("many");
  again = 0;
  while (readdir(d) != NULL)
    again++;
  closedir(d);
  expect_eq("readdir_after_unlink", again, 54);
}

static void xattrs(void) {
  char buf[256];
  put("xf", "x");
  expect_eq("setxattr", setxattr("xf", "user.moat", "v1", 2, 0), 0);
  long n = expect_eq("getxattr", getxattr("xf", "user.moat", buf, sizeof buf), 2);
  expect_str("getxattr_value", quoted(buf, n > 0 ? (size_t)n : 0), "\"v1\"");
  expect_eq("getxattr_size_query", getxattr("xf", "user.moat", NULL, 0), 2);
  expect_errno("getxattr_small_buffer", getxattr("xf", "user.moat", buf, 1), ERANGE);
  n = listxattr("xf", buf, sizeof buf);
  expect_true("listxattr_has_user_moat", n > 0 && memmem(buf, n, "user.moat", 10) != NULL);
  expect_true("listxattr_size_query", listxattr("xf", NULL, 0) == n);
  expect_errno("setxattr_create_existing", setxattr("xf", "user.moat", "v2", 2, XATTR_CREATE), EEXIST);
  expect_errno("setxattr_replace_missing", setxattr("xf", "user.other", "v", 1, XATTR_REPLACE), ENODATA);
  expect_eq("setxattr_replace", setxattr("xf", "user.moat", "v22", 3, XATTR_REPLACE), 0);
  expect_eq("getxattr_replaced", getxattr("xf", "user.moat", buf, sizeof buf), 3);
  int fd = open("xf", O_RDONLY);
  expect_eq("fsetxattr", fsetxattr(fd, "user.empty", "", 0, 0), 0);
  expect_eq("fgetxattr_empty", fgetxattr(fd, "user.empty", buf, sizeof buf), 0);
  close(fd);
  expect_eq("removexattr", removexattr("xf", "user.moat"), 0);
  expect_errno("getxattr_removed", getxattr("xf", "user.moat", buf, sizeof buf), ENODATA);
  expect_errno("removexattr_missing", removexattr("xf", "user.moat"), ENODATA);
  expect_errno("setxattr_no_namespace", setxattr("xf", "moat", "v", 1, 0), EOPNOTSUPP);
  expect_errno("getxattr_no_namespace", getxattr("xf", "moat", buf, sizeof buf), EOPNOTSUPP);
  expect_errno("setxattr_bad_flags", setxattr("xf", "user.a", "v", 1, 4), EINVAL);
  symlink("xf", "xl");
  expect_errno("lsetxattr_user_on_symlink", lsetxattr("xl", "user.moat", "v", 1, 0), EPERM);
  expect_eq("setxattr_dir", setxattr("d2", "user.dir", "dv", 2, 0), 0);
  expect_eq("getxattr_dir", getxattr("d2", "user.dir", buf, sizeof buf), 2);
}

static void syncing(void) {
  int fd = open("sy", O_CREAT | O_RDWR, 0644);
  (void)!write(fd, "data", 4);
  expect_eq("fsync", fsync(fd), 0);
  expect_eq("fdatasync", fdatasync(fd), 0);
  expect_eq("syncfs", syncfs(fd), 0);
  sync();
  expect_true("sync_returns", 1);
  int dfd = open(".", O_RDONLY | O_DIRECTORY);
  expect_eq("fsync_directory", fsync(dfd), 0);
  close(dfd);
  expect_eq("fallocate", fallocate(fd, 0, 0, 8192), 0);
  expect_eq("fallocate_size", FST(fd, st_size), 8192);
  expect_str("fallocate_keeps_data", quoted(fd_text(fd), 4), "\"data\"");
  expect_eq("fallocate_keep_size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192), 0);
  expect_eq("fallocate_keep_size_size", FST(fd, st_size), 8192);
  expect_eq("fallocate_punch_hole", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), 0);
  char c = 'x';
  expect_true("punched_reads_zero", pread(fd, &c, 1, 0) == 1 && c == 0);
  expect_eq("punch_hole_size", FST(fd, st_size), 8192);
  expect_errno("fallocate_zero_len", fallocate(fd, 0, 0, 0), EINVAL);
  expect_errno("fallocate_punch_without_keep_size", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
  close(fd);
  fd = open("sy", O_RDONLY);
  expect_errno("fallocate_rdonly", fallocate(fd, 0, 0, 4096), EBADF);
  close(fd);

  struct statfs sf;
  expect_ok("statfs", statfs(".", &sf));
  expect_true("statfs_namelen_255", sf.f_namelen == 255);
  fd = open(".", O_RDONLY | O_DIRECTORY);
  expect_ok("fstatfs", fstatfs(fd, &sf));
  close(fd);
  expect_errno("statfs_missing", statfs("nothere", &sf), ENOENT);
}

/* Runs in the child after it dropped to 65534:65534; its lines go out in order
 * before the parent's next ones. */
static void unprivileged(void) {
  expect_eq("child_setgroups", setgroups(0, NULL), 0);
  expect_eq("child_setgid", setgid(65534), 0);
  expect_eq("child_setuid", setuid(65534), 0);
  int fd = expect_ok("child_create_in_sticky", open("sticky/mine", O_CREAT | O_WRONLY, 0644));
  close(fd);
  say("child_file_uid_gid", "%ld %ld", LST("sticky/mine", st_uid), LST("sticky/mine", st_gid));
  expect_errno("child_unlink_root_file_in_sticky", unlink("sticky/rootf"), EPERM);
  expect_errno("child_rename_root_file_in_sticky", rename("sticky/rootf", "sticky/moved"), EPERM);
  expect_eq("child_rename_own_file_in_sticky", rename("sticky/mine", "sticky/mine2"), 0);
  expect_errno("child_create_in_0755_dir", open("closed/new", O_CREAT | O_WRONLY, 0644), EACCES);
  expect_errno("child_mkdir_in_0755_dir", mkdir("closed/newdir", 0755), EACCES);
  expect_errno("child_unlink_in_0755_dir", unlink("closed/rf"), EACCES);
  expect_errno("child_write_root_0644_file", open("closed/rf", O_WRONLY), EACCES);
  fd = expect_ok("child_read_root_0644_file", open("closed/rf", O_RDONLY));
  close(fd);
  expect_errno("child_open_root_0600_file", open("secret", O_RDONLY), EACCES);
  expect_errno("child_access_root_0600_file", access("secret", R_OK), EACCES);
  expect_errno("child_chmod_root_file", chmod("secret", 0777), EPERM);
  expect_errno("child_chown_own_file_to_root", chown("sticky/mine2", 0, 0), EPERM);
  expect_eq("child_chown_own_file_to_self", chown("sticky/mine2", 65534, 65534), 0);
  expect_eq("child_chmod_own_file", chmod("sticky/mine2", 0600), 0);
  struct timespec ts[2] = {{1000000000, 0}, {1234567890, 0}};
  expect_errno("child_utimensat_times_root_0600", utimensat(AT_FDCWD, "secret", ts, 0), EPERM);
  expect_errno("child_utimensat_now_root_0600", utimensat(AT_FDCWD, "secret", NULL, 0), EACCES);
  expect_eq("child_utimensat_now_root_0666", utimensat(AT_FDCWD, "sticky/ww", NULL, 0), 0);
  expect_errno("child_utimensat_times_root_0666", utimensat(AT_FDCWD, "sticky/ww", ts, 0), EPERM);
  expect_errno("child_truncate_root_0600", truncate("secret", 0), EACCES);
  expect_errno("child_setxattr_root_file", setxattr("closed/rf", "user.x", "v", 1, 0), EACCES);
  expect_errno("child_link_into_0755_dir", link("sticky/mine2", "closed/l"), EACCES);
  expect_errno("child_mknod_fifo_in_0755_dir", mkfifo("closed/ff", 0644), EACCES);
  expect_errno("child_rmdir_root_dir_in_sticky", rmdir("sticky/rootdir"), EPERM);
  expect_eq("child_unlink_own_file_in_sticky", unlink("sticky/mine2"), 0);
  fd = expect_ok("child_create_in_setgid_dir", open("sg/cf", O_CREAT | O_WRONLY, 02755));
  close(fd);
  say("child_setgid_dir_file_gid", "%ld", LST("sg/cf", st_gid));
  expect_mode("child_setgid_dir_file_mode", "sg/cf", 0755);
}

static void permissions(void) {
  chmod(".", 0755);
  mkdir("sticky", 0777);
  expect_eq("chmod_sticky_dir", chmod("sticky", 01777), 0);
  expect_mode("sticky_dir_mode", "sticky", 01777);
  put("sticky/rootf", "r");
  put("sticky/ww", "w");
  chmod("sticky/ww", 0666);
  mkdir("sticky/rootdir", 0755);
  mkdir("closed", 0755);
  put("closed/rf", "r");
  put("secret", "s");
  chmod("secret", 0600);
  mkdir("sg", 0777);
  expect_eq("chown_setgid_dir", chown("sg", 0, 12345), 0);
  expect_eq("chmod_setgid_dir", chmod("sg", 02777), 0);
  expect_mode("setgid_dir_mode", "sg", 02777);
  put("sg/rootfile", "g");
  say("setgid_dir_file_gid", "%ld", LST("sg/rootfile", st_gid));
  mkdir("sg/sub", 0755);
  say("setgid_dir_subdir_gid", "%ld", LST("sg/sub", st_gid));
  expect_true("setgid_dir_subdir_inherits_bit", LST("sg/sub", st_mode) != -1 && (st_.st_mode & 02000) != 0);
  expect_mode("setgid_dir_subdir_mode", "sg/sub", 02755);

  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    unprivileged();
    fflush(stdout);
    _exit(check_failures ? 1 : 0);
  }
  int status = -1;
  expect_eq("child_waited", waitpid(p, &status, 0) == p, 1);
  expect_true("child_exit_0", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  expect_eq("root_unlink_in_sticky", unlink("sticky/rootf"), 0);
  int fd = expect_ok("root_open_0600", open("secret", O_RDONLY));
  close(fd);
  chmod("secret", 0);
  fd = expect_ok("root_open_0000", open("secret", O_RDWR));
  close(fd);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)ftw;
  return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int main(int argc, char **argv) {
  snprintf(base, sizeof base, "%s/moat-fsmutate-XXXXXX", argc > 1 ? argv[1] : "/tmp");
  if (mkdtemp(base) == NULL || chdir(base) != 0)
    die("mkdtemp");
  open_flags();
  io();
  truncation();
  directories();
  links();
  symlinks();
  renames();
  attributes();
  fifos();
  tmpfiles();
  listing();
  xattrs();
  syncing();
  permissions();
  expect_eq("chdir_out", chdir("/"), 0);
  expect_eq("remove_tree", nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
  expect_errno("base_gone", lstat(base, &st_), ENOENT);
  return check_finish();
}
