/*
 * mount: a privileged guest building its own sandbox — tmpfs mounts with
 * options, bind mounts and read-only remounts, noexec, MS_MOVE, umount2 (busy,
 * lazy, not a mount point), chroot and the ways out of it that must not work,
 * pivot_root, and what /proc/self/mountinfo shows of all this.
 *
 * Natively this needs root; the program first moves into a private mount
 * namespace (unshare(CLONE_NEWNS), then makes every mount private) so the
 * host's mounts are never touched. Under moat the same calls must work. The
 * parts that change the root run in forked children that unshare again, so
 * the parent's view stays as it was. Work happens on a tmpfs mounted over a
 * mkdtemp directory under argv[1] (default /tmp), so that what mountinfo shows
 * does not depend on the host's filesystems.
 */
#include "check.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[512];

static void die(const char *what) {
  perror(what);
  exit(2);
}

static const char *at(const char *name) {
  static char buf[4][600];
  static int i;
  i = (i + 1) % 4;
  snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
  return buf[i];
}

static int write_file(const char *path, const char *data) {
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0755);
  if (fd < 0)
    return -1;
  ssize_t n = write(fd, data, strlen(data));
  close(fd);
  return n == (ssize_t)strlen(data) ? 0 : -1;
}

static void read_file(const char *name, const char *path) {
  char buf[64] = {0};
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    check(name, -1);
    return;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  printf("%s: %s\n", name, n >= 0 ? buf : "(read failed)");
}

/* The mounts under dir, as mountinfo shows them: mount point (relative to
 * dir), root within the filesystem, type, and the per-mount options that
 * matter here. */
static void show_mounts(const char *label) {
  FILE *f = fopen("/proc/self/mountinfo", "r");
  if (!f) {
    check(label, -1);
    return;
  }
  char line[2048];
  size_t dlen = strlen(dir);
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    char root[512], point[512], opts[512], type[64];
    if (sscanf(line, "%*d %*d %*s %511s %511s %511s", root, point, opts) != 3)
      continue;
    char *dash = strstr(line, " - ");
    if (!dash || sscanf(dash + 3, "%63s", type) != 1)
      continue;
    if (strncmp(point, dir, dlen) != 0 || (point[dlen] != '/' && point[dlen] != 0))
      continue;
    printf("%s: %s root=%s %s %s%s%s%s\n", label, point[dlen] ? point + dlen + 1 : ".", root,
           strcmp(root, "/") == 0 ? type : "(bind)", strncmp(opts, "ro", 2) == 0 && (opts[2] == ',' || !opts[2]) ? "ro" : "rw",
           strstr(opts, "nosuid") ? ",nosuid" : "", strstr(opts, "nodev") ? ",nodev" : "",
           strstr(opts, "noexec") ? ",noexec" : "");
    n++;
  }
  fclose(f);
  printf("%s: %d mounts\n", label, n);
}

/* fork, where the child starts with no failures of its own. */
static pid_t spawn(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p < 0)
    die("fork");
  if (p == 0)
    check_failures = 0;
  return p;
}

static int child_status(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid)
    die("waitpid");
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void tmpfs_mounts(void) {
  mkdir(at("t"), 0755);
  expect_errno("mount_unknown_type", mount("none", at("t"), "nosuchfs", 0, NULL), ENODEV);
  expect_errno("mount_no_type", mount("none", at("t"), NULL, 0, NULL), EINVAL);
  expect_errno("mount_missing_target", mount("none", at("missing"), "tmpfs", 0, NULL), ENOENT);
  expect_errno("mount_bad_option", mount("none", at("t"), "tmpfs", 0, "bogus=1"), EINVAL);
  expect_errno("mount_bad_size", mount("none", at("t"), "tmpfs", 0, "size=12q"), EINVAL);
  expect_errno("mount_efault_type", mount("none", at("t"), (const char *)8, 0, NULL), EFAULT);
  expect_errno("mount_efault_target", mount("none", (const char *)8, "tmpfs", 0, NULL), EFAULT);
  write_file(at("afile"), "x");
  expect_errno("mount_on_file", mount("none", at("afile"), "tmpfs", 0, NULL), ENOTDIR);

  expect_eq("mount_tmpfs",
            mount("scratch", at("t"), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0710,uid=7"),
            0);
  struct stat st;
  stat(at("t"), &st);
  printf("tmpfs_root: mode=%o uid=%d\n", st.st_mode & 07777, (int)st.st_uid);
  struct statfs sf;
  statfs(at("t"), &sf);
  printf("tmpfs_statfs: type=%lx bytes=%ld\n", (long)sf.f_type, (long)(sf.f_blocks * sf.f_bsize));
  /* f_flags are the mount's (with ST_VALID): nosuid, nodev, relatime. */
  printf("tmpfs_statfs_flags: %#lx\n", (long)sf.f_flags);
  expect_eq("write_in_tmpfs", write_file(at("t/hello"), "in tmpfs"), 0);
  read_file("read_in_tmpfs", at("t/hello"));
  /* A write beyond the size fills what is left, then ENOSPC. */
  int fd = open(at("t/big"), O_CREAT | O_WRONLY, 0644);
  static char big[100000];
  check("write_past_size", write(fd, big, sizeof big));
  expect_errno("write_when_full", write(fd, big, 4096), ENOSPC);
  close(fd);
  unlink(at("t/big"));
  show_mounts("after_mount");

  /* Busy while a file in it is open; then unmounted, the directory below shows. */
  fd = open(at("t/hello"), O_RDONLY);
  expect_errno("umount_busy", umount2(at("t"), 0), EBUSY);
  close(fd);
  expect_errno("umount_not_mountpoint", umount2(at("afile"), 0), EINVAL);
  expect_errno("umount_bad_flags", umount2(at("t"), 0x100), EINVAL);
  expect_errno("umount_missing", umount2(at("missing"), 0), ENOENT);
  expect_eq("umount", umount2(at("t"), 0), 0);
  /* devpts: its ptmx node is there; unknown options are EINVAL. */
  mkdir(at("pts"), 0755);
  expect_eq("mount_devpts", mount("devpts", at("pts"), "devpts", 0, "newinstance,ptmxmode=0666"), 0);
  struct stat ptmx;
  expect_eq("devpts_has_ptmx", stat(at("pts/ptmx"), &ptmx), 0);
  expect_true("devpts_ptmx_is_5_2", S_ISCHR(ptmx.st_mode) && ptmx.st_rdev == makedev(5, 2));
  expect_eq("umount_devpts", umount2(at("pts"), 0), 0);
  expect_errno("devpts_bad_option", mount("devpts", at("pts"), "devpts", 0, "bogus=1"), EINVAL);
  expect_errno("gone_after_umount", access(at("t/hello"), F_OK), ENOENT);
  expect_errno("umount_again", umount2(at("t"), 0), EINVAL);

  /* Stacked mounts: the upper one hides the lower one until it goes. */
  mount("one", at("t"), "tmpfs", 0, NULL);
  write_file(at("t/which"), "lower");
  mount("two", at("t"), "tmpfs", 0, NULL);
  expect_errno("upper_hides_lower", access(at("t/which"), F_OK), ENOENT);
  umount2(at("t"), 0);
  read_file("lower_again", at("t/which"));

  /* A mount with a mount inside is busy; MNT_DETACH takes both away, and a
   * directory held open inside still works. */
  mkdir(at("t/inner"), 0755);
  mount("inner", at("t/inner"), "tmpfs", 0, NULL);
  expect_errno("umount_with_submount", umount2(at("t"), 0), EBUSY);
  int dfd = open(at("t/inner"), O_RDONLY | O_DIRECTORY);
  expect_eq("umount_detach", umount2(at("t"), MNT_DETACH), 0);
  expect_errno("detached_gone", access(at("t/which"), F_OK), ENOENT);
  expect_eq("detached_still_usable", mkdirat(dfd, "made-after", 0755), 0);
  close(dfd);
  show_mounts("after_detach");
}

static void binds(void) {
  mkdir(at("src"), 0755);
  mkdir(at("src/sub"), 0755);
  write_file(at("src/sub/f"), "from src");
  mkdir(at("b"), 0755);
  expect_errno("bind_missing_source", mount(at("nope"), at("b"), NULL, MS_BIND, NULL), ENOENT);
  expect_errno("bind_dir_on_file", mount(at("src"), at("afile"), NULL, MS_BIND, NULL), ENOTDIR);
  expect_eq("bind", mount(at("src/sub"), at("b"), NULL, MS_BIND, NULL), 0);
  read_file("read_through_bind", at("b/f"));
  write_file(at("b/g"), "via bind");
  read_file("seen_in_source", at("src/sub/g"));
  show_mounts("after_bind");

  /* A read-only remount makes writes through the bind fail, not through the source. */
  expect_errno("remount_not_root", mount(NULL, at("b/f"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), EINVAL);
  expect_eq("remount_ro", mount(NULL, at("b"), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0);
  expect_errno("write_ro", open(at("b/f"), O_WRONLY), EROFS);
  struct statfs rosf;
  statfs(at("b"), &rosf);
  printf("ro_bind_statfs_rdonly: %d\n", (int)(rosf.f_flags & ST_RDONLY));
  expect_errno("create_ro", open(at("b/new"), O_CREAT | O_WRONLY, 0644), EROFS);
  expect_errno("mkdir_ro", mkdir(at("b/d"), 0755), EROFS);
  expect_errno("unlink_ro", unlink(at("b/g")), EROFS);
  expect_errno("chmod_ro", chmod(at("b/f"), 0600), EROFS);
  expect_eq("write_source_still", write_file(at("src/sub/f"), "changed"), 0);
  read_file("change_seen_ro", at("b/f"));
  show_mounts("after_remount_ro");
  expect_eq("remount_rw", mount(NULL, at("b"), NULL, MS_REMOUNT | MS_BIND, NULL), 0);
  expect_eq("write_rw_again", write_file(at("b/g"), "again"), 0);

  /* A file bind-mounted over a file. */
  write_file(at("other"), "other file");
  expect_eq("bind_file", mount(at("other"), at("afile"), NULL, MS_BIND, NULL), 0);
  read_file("file_bind", at("afile"));
  expect_eq("umount_file_bind", umount2(at("afile"), 0), 0);
  read_file("file_unbound", at("afile"));

  /* MS_REC carries the mounts below the source; without it they stay behind. */
  mkdir(at("src/sub/m"), 0755);
  mount("deep", at("src/sub/m"), "tmpfs", 0, NULL);
  write_file(at("src/sub/m/deep"), "deep");
  mkdir(at("r"), 0755);
  mkdir(at("nr"), 0755);
  expect_eq("bind_rec", mount(at("src"), at("r"), NULL, MS_BIND | MS_REC, NULL), 0);
  expect_eq("bind_norec", mount(at("src"), at("nr"), NULL, MS_BIND, NULL), 0);
  read_file("rec_sees_submount", at("r/sub/m/deep"));
  expect_errno("norec_does_not", access(at("nr/sub/m/deep"), F_OK), ENOENT);
  show_mounts("after_rec");

  /* Propagation flags need a mount's root and exactly one type. */
  expect_eq("make_private", mount(NULL, at("r"), NULL, MS_PRIVATE, NULL), 0);
  expect_eq("make_rprivate", mount(NULL, at("r"), NULL, MS_PRIVATE | MS_REC, NULL), 0);
  expect_errno("private_not_root", mount(NULL, at("r/sub"), NULL, MS_PRIVATE, NULL), EINVAL);
  expect_errno("two_types", mount(NULL, at("r"), NULL, MS_PRIVATE | MS_SLAVE, NULL), EINVAL);

  /* MS_MOVE moves a mount (and its submounts) elsewhere. */
  mkdir(at("moved"), 0755);
  expect_eq("move", mount(at("r"), at("moved"), NULL, MS_MOVE, NULL), 0);
  read_file("moved_sees_submount", at("moved/sub/m/deep"));
  expect_errno("move_not_mount", mount(at("src"), at("moved"), NULL, MS_MOVE, NULL), EINVAL);
  show_mounts("after_move");

  expect_eq("umount_moved", umount2(at("moved"), MNT_DETACH), 0);
  expect_eq("umount_norec", umount2(at("nr"), 0), 0);
  expect_eq("umount_deep", umount2(at("src/sub/m"), 0), 0);
  expect_eq("umount_bind", umount2(at("b"), 0), 0);
  show_mounts("after_unbind");
}

static void noexec(void) {
  mkdir(at("x"), 0755);
  mount("exec", at("x"), "tmpfs", MS_NOEXEC, NULL);
  write_file(at("x/prog"), "#!/bin/sh\nexit 0\n");
  char *argv[] = {"prog", NULL};
  expect_errno("exec_noexec", execve(at("x/prog"), argv, NULL), EACCES);
  int fd = open(at("x/prog"), O_RDONLY);
  expect_true("mmap_exec_noexec_fails",
              syscall(SYS_mmap, 0, 4096, 1 | 4, 2, fd, 0) == -1 && errno == EPERM);
  close(fd);
  umount2(at("x"), 0);
}

static void unprivileged(void) {
  pid_t pid = spawn();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0)
      die("setuid");
    expect_errno("user_mount", mount("none", dir, "tmpfs", 0, NULL), EPERM);
    expect_errno("user_umount", umount2(dir, 0), EPERM);
    expect_errno("user_chroot", chroot(dir), EPERM);
    expect_errno("user_pivot_root", syscall(SYS_pivot_root, dir, dir), EPERM);
    expect_errno("user_unshare_ns", unshare(CLONE_NEWNS), EPERM);
    fflush(stdout);
    _exit(check_finish());
  }
  expect_eq("unprivileged_child", child_status(pid), 0);
}

static void chroot_jail(void) {
  mkdir(at("jail"), 0755);
  mkdir(at("jail/inner"), 0755);
  write_file(at("jail/inside"), "inside");
  write_file(at("outside"), "outside");
  symlink("/../../..", at("jail/up"));
  pid_t pid = spawn();
  if (pid == 0) {
    expect_errno("chroot_file", chroot(at("outside")), ENOTDIR);
    expect_errno("chroot_missing", chroot(at("nope")), ENOENT);
    if (chdir(at("jail")) != 0)
      die("chdir");
    expect_eq("chroot", chroot("."), 0);
    char cwd[512];
    expect_str("getcwd_after_chroot", getcwd(cwd, sizeof cwd) ? cwd : "(failed)", "/");
    read_file("absolute_inside", "/inside");
    read_file("dotdot_stays", "/../../inside");
    read_file("symlink_stays", "/up/inside");
    expect_errno("outside_unreachable", access("/outside", F_OK), ENOENT);
    chdir("/inner");
    chdir("../../..");
    expect_str("chdir_up_stops", getcwd(cwd, sizeof cwd) ? cwd : "(failed)", "/");
    /* mountinfo shows no mount outside the new root. */
    fflush(stdout);
    _exit(check_finish());
  }
  expect_eq("chroot_child", child_status(pid), 0);
}

static void pivot(void) {
  pid_t pid = spawn();
  if (pid == 0) {
    expect_eq("child_unshare", unshare(CLONE_NEWNS), 0);
    mkdir(at("newroot"), 0755);
    expect_errno("pivot_not_mountpoint", syscall(SYS_pivot_root, at("newroot"), at("newroot")), EINVAL);
    mount("newroot", at("newroot"), "tmpfs", 0, NULL);
    mkdir(at("newroot/old"), 0755);
    write_file(at("newroot/marker"), "new root");
    expect_errno("pivot_put_old_outside", syscall(SYS_pivot_root, at("newroot"), dir), EINVAL);
    expect_errno("pivot_put_old_missing", syscall(SYS_pivot_root, at("newroot"), at("newroot/none")), ENOENT);
    expect_errno("pivot_put_old_file", syscall(SYS_pivot_root, at("newroot"), at("newroot/marker")), ENOTDIR);
    if (chdir(at("newroot")) != 0)
      die("chdir");
    expect_eq("pivot_root", syscall(SYS_pivot_root, ".", "old"), 0);
    char cwd[512];
    check("getcwd_after_pivot", getcwd(cwd, sizeof cwd) != NULL);
    read_file("new_root_marker", "/marker");
    /* The old root is reachable under /old until it is detached. */
    char old_dir[600];
    snprintf(old_dir, sizeof old_dir, "/old%s/outside", dir);
    write_file(at("outside"), "outside");
    read_file("old_root_under_put_old", old_dir);
    if (chdir("/") != 0)
      die("chdir /");
    expect_eq("umount_old_root", umount2("/old", MNT_DETACH), 0);
    expect_errno("old_root_gone", access(old_dir, F_OK), ENOENT);
    fflush(stdout);
    _exit(check_finish());
  }
  expect_eq("pivot_child", child_status(pid), 0);
  expect_errno("parent_root_unchanged", access("/marker", F_OK), ENOENT);
  show_mounts("parent_after_pivot_child");
}

static void namespaces(void) {
  /* A child in its own namespace mounts; the parent does not see it. */
  mkdir(at("ns"), 0755);
  pid_t pid = spawn();
  if (pid == 0) {
    expect_eq("ns_unshare", unshare(CLONE_NEWNS), 0);
    expect_eq("ns_mount", mount("private", at("ns"), "tmpfs", 0, NULL), 0);
    write_file(at("ns/only-child"), "x");
    show_mounts("child_ns");
    fflush(stdout);
    _exit(check_finish());
  }
  expect_eq("ns_child", child_status(pid), 0);
  expect_errno("parent_does_not_see", access(at("ns/only-child"), F_OK), ENOENT);
  expect_errno("unshare_bad_flag", unshare(0x1), EINVAL);
}

int main(int argc, char **argv) {
  const char *base = argc > 1 ? argv[1] : "/tmp";
  if (unshare(CLONE_NEWNS) != 0)
    die("unshare(CLONE_NEWNS)");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    die("make / private");
  snprintf(dir, sizeof dir, "%s/mount-XXXXXX", base);
  if (!mkdtemp(dir))
    die("mkdtemp");
  if (mount("base", dir, "tmpfs", 0, "mode=0755") != 0)
    die("mount base tmpfs");
  tmpfs_mounts();
  binds();
  noexec();
  unprivileged();
  chroot_jail();
  pivot();
  namespaces();
  if (umount2(dir, MNT_DETACH) != 0 || rmdir(dir) != 0)
    die("cleanup");
  return check_finish();
}
