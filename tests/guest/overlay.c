/*
 * overlay: changing files that existed before the program started, as a
 * container does to its image. Natively this runs on a fresh copy of a fixture
 * tree; under moat it runs on the fixture itself, which the sandbox sees
 * through its overlay root: every change must look exactly as it does natively
 * (copy-up keeps data, inode numbers and hard links; removed names stay gone;
 * renamed directories keep their contents) while the host's copy stays as it
 * was (the test harness checks that).
 *
 * argv[1] is the fixture directory, laid out by tests/tests/overlay.rs:
 *   file        "lower data\n", mode 0644
 *   big         1 MiB: byte i is (i % 251), except a zero hole at [256K, 512K)
 *   ro          "read only\n", mode 0444
 *   dir/a dir/b "a\n" "b\n"; dir/sub/c "c\n"
 *   empty/      an empty directory
 *   link        symlink to "file"
 *   hard1 hard2 two names of one file, "shared\n"
 *   deep/x/y/z  "z\n"
 */
#include "check.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static struct stat st_;
#define LST(path, field) (lstat(path, &st_) == 0 ? (long)st_.field : -1)

/* The content of path (at most 255 bytes), or the error. */
static const char *text(const char *path) {
  static char bufs[4][256];
  static int next;
  char *b = bufs[next++ % 4];
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return result_text(-1, errno);
  ssize_t n = read(fd, b, 255);
  close(fd);
  if (n < 0)
    return result_text(-1, errno);
  b[n] = 0;
  return b;
}

static const char *fd_text(int fd) {
  static char b[256];
  ssize_t n = pread(fd, b, 255, 0);
  if (n < 0)
    return result_text(-1, errno);
  b[n] = 0;
  return b;
}

static void put(const char *path, const char *s, int flags) {
  int fd = open(path, O_WRONLY | flags, 0644);
  if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
    perror(path);
    exit(2);
  }
  close(fd);
}

/* The sorted names of a directory, space-separated, or the error. */
static const char *names(const char *path) {
  static char out[1024];
  char list[64][64];
  int n = 0;
  DIR *d = opendir(path);
  if (!d)
    return result_text(-1, errno);
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(list[n++], 64, "%.63s", e->d_name);
  }
  closedir(d);
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (strcmp(list[i], list[j]) > 0) {
        char t[64];
        memcpy(t, list[i], 64);
        memcpy(list[i], list[j], 64);
        memcpy(list[j], t, 64);
      }
  out[0] = 0;
  for (int i = 0; i < n; i++) {
    strcat(out, i ? " " : "");
    strcat(out, list[i]);
  }
  return out;
}

/* Whether readdir's d_ino for name in dir matches lstat's st_ino. */
static int dirent_ino_matches(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  long ino = LST(path, st_ino);
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *e;
  int ok = 0;
  while ((e = readdir(d)))
    if (!strcmp(e->d_name, name))
      ok = (long)e->d_ino == ino;
  closedir(d);
  return ok;
}

static uint32_t hash_file(const char *path) {
  static char buf[65536];
  uint32_t h = FNV1A_INIT;
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    h = fnv1a(h, buf, n);
  close(fd);
  return h;
}

int main(int argc, char **argv) {
  if (argc < 2 || chdir(argv[1]) != 0) {
    fprintf(stderr, "usage: overlay FIXTURE_DIR\n");
    return 2;
  }

  /* Reading the lower layer. */
  expect_str("file content", text("file"), "lower data\n");
  expect_eq("file nlink", LST("file", st_nlink), 1);
  expect_str("root names", names("."),
             "big deep dir empty file hard1 hard2 link ro");
  expect_true("d_ino of file is its st_ino", dirent_ino_matches(".", "file"));

  /* Copy-up on write: same inode number, readers opened before see the data. */
  long ino = LST("file", st_ino);
  long dev = LST("file", st_dev);
  int reader = open("file", O_RDONLY);
  put("file", "more\n", O_APPEND);
  expect_str("file after append", text("file"), "lower data\nmore\n");
  expect_str("reader opened before copy-up sees the append", fd_text(reader),
             "lower data\nmore\n");
  close(reader);
  expect_true("st_ino kept across copy-up", LST("file", st_ino) == ino);
  expect_true("st_dev kept across copy-up", LST("file", st_dev) == dev);
  expect_true("d_ino after copy-up is st_ino", dirent_ino_matches(".", "file"));
  expect_eq("size after append", LST("file", st_size), 16);
  expect_eq("mode kept", LST("file", st_mode) & 07777, 0644);

  /* A large file with a hole, changed in the middle. */
  uint32_t before = hash_file("big");
  check("big hash", before);
  int fd = open("big", O_RDWR);
  expect_eq("pwrite into big", pwrite(fd, "XYZ", 3, 300000), 3);
  char buf[8] = {0};
  expect_eq("pread back", pread(fd, buf, 4, 299999), 4);
  expect_eq("byte before the write is still a hole", buf[0], 0);
  expect_str("written bytes", buf + 1, "XYZ");
  expect_eq("pread of unchanged data", pread(fd, buf, 1, 1000), 1);
  expect_eq("byte 1000", (unsigned char)buf[0], 1000 % 251);
  close(fd);
  expect_eq("big size", LST("big", st_size), 1 << 20);
  check("big hash after write", hash_file("big"));

  /* Truncating open of a lower file. */
  put("ro", "", O_TRUNC);
  expect_eq("ro truncated", LST("ro", st_size), 0);
  expect_eq("chmod ro", chmod("ro", 0600), 0);
  expect_eq("ro mode", LST("ro", st_mode) & 07777, 0600);
  expect_eq("truncate ro up", truncate("ro", 5), 0);
  expect_eq("ro size", LST("ro", st_size), 5);

  /* Timestamps and attributes of a file never written. */
  struct timespec times[2] = {{1000000000, 5}, {1200000000, 7}};
  expect_eq("utimensat on a lower file", utimensat(AT_FDCWD, "dir/b", times, 0), 0);
  expect_eq("its mtime", LST("dir/b", st_mtim.tv_sec), 1200000000);
  expect_eq("its atime nsec", LST("dir/b", st_atim.tv_nsec), 5);
  expect_str("its data", text("dir/b"), "b\n");

  /* Removing lower names: they stay gone; a new file can take the name. */
  expect_eq("unlink dir/a", unlink("dir/a"), 0);
  expect_errno("dir/a gone", LST("dir/a", st_ino), ENOENT);
  expect_str("dir names", names("dir"), "b sub");
  expect_errno("rmdir non-empty dir/sub", rmdir("dir/sub"), ENOTEMPTY);
  expect_eq("unlink dir/sub/c", unlink("dir/sub/c"), 0);
  expect_eq("dir nlink with sub", LST("dir", st_nlink), 3);
  expect_eq("rmdir dir/sub", rmdir("dir/sub"), 0);
  expect_eq("dir nlink without sub", LST("dir", st_nlink), 2);
  expect_str("dir names after rmdir", names("dir"), "b");
  put("dir/a", "new a\n", O_CREAT | O_EXCL);
  expect_str("recreated dir/a", text("dir/a"), "new a\n");
  expect_eq("mkdir dir/sub again", mkdir("dir/sub", 0755), 0);
  expect_str("recreated dir/sub is empty", names("dir/sub"), "");
  expect_eq("dir nlink with new sub", LST("dir", st_nlink), 3);
  expect_eq("mkdir dir/sub/s2", mkdir("dir/sub/s2", 0755), 0);
  expect_eq("rename dir/sub/s2 -> s2", rename("dir/sub/s2", "s2"), 0);
  expect_eq("root nlink with s2", LST(".", st_nlink), 6);
  expect_eq("rmdir s2", rmdir("s2"), 0);
  expect_eq("root nlink without s2", LST(".", st_nlink), 5);
  expect_errno("old dir/sub/c stays gone", LST("dir/sub/c", st_ino), ENOENT);
  expect_str("dir names at the end", names("dir"), "a b sub");

  /* Renaming a directory that exists below keeps its contents. */
  expect_eq("rename deep -> deeper", rename("deep", "deeper"), 0);
  expect_errno("deep gone", LST("deep", st_ino), ENOENT);
  expect_str("deeper/x/y names", names("deeper/x/y"), "z");
  expect_str("deeper/x/y/z", text("deeper/x/y/z"), "z\n");
  put("deeper/x/y/new", "n\n", O_CREAT | O_EXCL);
  expect_str("deeper/x/y names after create", names("deeper/x/y"), "new z");
  expect_eq("rename it back", rename("deeper", "deep"), 0);
  expect_str("deep/x/y names", names("deep/x/y"), "new z");

  /* Rename over a lower file, and RENAME_EXCHANGE of a file and a directory. */
  expect_eq("rename file over dir/b", rename("file", "dir/b"), 0);
  expect_str("dir/b now", text("dir/b"), "lower data\nmore\n");
  expect_true("dir/b has file's inode", LST("dir/b", st_ino) == ino);
  expect_errno("file gone", LST("file", st_ino), ENOENT);
  expect_eq("renameat2 exchange link <-> empty",
            renameat2(AT_FDCWD, "link", AT_FDCWD, "empty", RENAME_EXCHANGE), 0);
  expect_true("empty is the symlink now", S_ISLNK(LST("empty", st_mode)));
  expect_eq("root nlink after exchange", LST(".", st_nlink), 5);
  expect_true("link is the directory now", S_ISDIR(LST("link", st_mode)));
  char target[64] = {0};
  expect_eq("readlink empty", readlink("empty", target, sizeof target - 1), 4);
  expect_str("its target", target, "file");

  /* Hard links below stay one file. */
  long hino = LST("hard1", st_ino);
  expect_true("hard links share an inode", LST("hard2", st_ino) == hino);
  expect_eq("hard1 nlink", LST("hard1", st_nlink), 2);
  put("hard1", "changed\n", O_TRUNC);
  expect_str("hard2 sees the write through hard1", text("hard2"), "changed\n");
  expect_eq("hard2 nlink after copy-up", LST("hard2", st_nlink), 2);
  expect_eq("link hard3", link("hard2", "hard3"), 0);
  expect_eq("hard1 nlink with hard3", LST("hard1", st_nlink), 3);
  expect_eq("unlink hard2", unlink("hard2"), 0);
  expect_eq("hard1 nlink after unlink", LST("hard1", st_nlink), 2);
  expect_str("hard3 content", text("hard3"), "changed\n");
  expect_true("hard3 is hard1", LST("hard3", st_ino) == hino);

  expect_str("root names at the end", names("."),
             "big deep dir empty hard1 hard3 link ro");
  return check_finish();
}
