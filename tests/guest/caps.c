/*
 * caps: capabilities as Linux keeps them — capget and capset (header versions,
 * the pid argument, the rules for raising), the bounding set and its effect on
 * execve, the set*id fixups and SECBIT_KEEP_CAPS, ambient capabilities and
 * their survival over execve as a non-root user, securebits and their locks,
 * privileged operations failing once the capability they need is dropped
 * while still uid 0, the Cap lines of /proc/self/status, and execve of files
 * with file capabilities (security.capability) or a set-user-id bit.
 *
 * Natively this runs as root. The program first narrows its own sets to a
 * fixed list, so that what it prints does not depend on the capabilities the
 * host gave it; every change after that happens in a forked child. Scratch
 * files live in a mkdtemp directory under argv[1] (default /tmp).
 * "caps --report LABEL" is the program re-executed: it prints its ids and
 * sets and exits.
 */
#include "check.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define BIT(c) (1ULL << (c))
/* The capabilities the program keeps: everything it exercises. */
#define KNOWN                                                                 \
  (BIT(CAP_CHOWN) | BIT(CAP_DAC_OVERRIDE) | BIT(CAP_DAC_READ_SEARCH) |        \
   BIT(CAP_FOWNER) | BIT(CAP_FSETID) | BIT(CAP_KILL) | BIT(CAP_SETGID) |      \
   BIT(CAP_SETUID) | BIT(CAP_SETPCAP) | BIT(CAP_NET_RAW) |                    \
   BIT(CAP_SYS_CHROOT) | BIT(CAP_SYS_ADMIN) | BIT(CAP_MKNOD) |                \
   BIT(CAP_SETFCAP))

static char dir[512];
static char file[600];

struct sets {
  unsigned long long e, p, i;
};

static long raw_capget(unsigned version, int pid, struct __user_cap_data_struct *d) {
  struct __user_cap_header_struct h = {version, pid};
  return syscall(SYS_capget, &h, d);
}

static long raw_capset(unsigned version, int pid, struct __user_cap_data_struct *d) {
  struct __user_cap_header_struct h = {version, pid};
  return syscall(SYS_capset, &h, d);
}

static struct sets get_sets(int pid) {
  struct __user_cap_data_struct d[2] = {0};
  struct sets s = {0, 0, 0};
  if (raw_capget(_LINUX_CAPABILITY_VERSION_3, pid, d) != 0)
    return s;
  s.e = d[0].effective | (unsigned long long)d[1].effective << 32;
  s.p = d[0].permitted | (unsigned long long)d[1].permitted << 32;
  s.i = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
  return s;
}

static long set_sets(unsigned long long e, unsigned long long p, unsigned long long i) {
  struct __user_cap_data_struct d[2] = {
      {(unsigned)e, (unsigned)p, (unsigned)i},
      {(unsigned)(e >> 32), (unsigned)(p >> 32), (unsigned)(i >> 32)},
  };
  return raw_capset(_LINUX_CAPABILITY_VERSION_3, 0, d);
}

/* Drops `cap` from the effective set only. */
static long drop_effective(int cap) {
  struct sets s = get_sets(0);
  return set_sets(s.e & ~BIT(cap), s.p, s.i);
}

static void say_sets(const char *label, struct sets s) {
  say(label, "eff=%llx prm=%llx inh=%llx", s.e, s.p, s.i);
}

static void status_caps(const char *label) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) {
    check(label, -1);
    return;
  }
  char line[256];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "Cap", 3) == 0) {
      line[strcspn(line, "\n")] = 0;
      char *tab = strchr(line, '\t');
      if (tab)
        *tab = ' ';
      printf("%s %s\n", label, line);
    }
  }
  fclose(f);
}

static void report(const char *label) {
  char name[128];
  snprintf(name, sizeof name, "%s uid", label);
  say(name, "%d/%d", (int)getuid(), (int)geteuid());
  snprintf(name, sizeof name, "%s AT_SECURE", label);
  say(name, "%lu", getauxval(AT_SECURE));
  snprintf(name, sizeof name, "%s bounding has CAP_SYS_ADMIN", label);
  check(name, prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0));
  status_caps(label);
}

/* Re-executes the program to report on itself. */
static void exec_report(const char *label) {
  char *argv[] = {"caps", "--report", (char *)label, NULL};
  execv("/proc/self/exe", argv);
  perror("execv /proc/self/exe");
  exit(3);
}

/* Runs `f` in a child and checks that it exited 0 (its own checks passed). */
static void in_child(const char *name, void (*f)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    f();
    exit(check_finish());
  }
  int st = 0;
  waitpid(pid, &st, 0);
  expect_eq(name, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), 0);
}

static void capget_cases(void) {
  struct __user_cap_header_struct h = {0, 0};
  expect_eq("capget version probe", syscall(SYS_capget, &h, NULL), 0);
  say("capget version probe answer", "%x", h.version);
  struct __user_cap_data_struct d[2] = {0};
  h.version = 0x12345678;
  expect_errno("capget bad version", syscall(SYS_capget, &h, d), EINVAL);
  say_sets("capget self", get_sets(0));
  say_sets("capget own pid", get_sets(getpid()));
  memset(d, 0, sizeof d);
  expect_eq("capget v1", raw_capget(_LINUX_CAPABILITY_VERSION_1, 0, d), 0);
  say("capget v1 words", "%x %x %x / %x", d[0].effective, d[0].permitted,
      d[0].inheritable, d[1].effective);
  expect_errno("capget pid -1", raw_capget(_LINUX_CAPABILITY_VERSION_3, -1, d), EINVAL);
  expect_errno("capget missing pid", raw_capget(_LINUX_CAPABILITY_VERSION_3, 0x3ffffff0, d),
               ESRCH);

  /* Another process: a child that lowered its effective set, then waits. */
  int ready[2], done[2];
  if (pipe(ready) || pipe(done))
    exit(2);
  pid_t pid = fork();
  if (pid == 0) {
    drop_effective(CAP_SYS_ADMIN);
    char c = 0;
    write(ready[1], &c, 1);
    read(done[0], &c, 1);
    _exit(0);
  }
  char c;
  read(ready[0], &c, 1);
  say_sets("capget of a child", get_sets(pid));
  write(done[1], &c, 1);
  waitpid(pid, NULL, 0);
}

static void capset_rules(void) {
  struct sets s = get_sets(0);
  struct __user_cap_data_struct d[2] = {{(unsigned)s.e, (unsigned)s.p, 0}, {0, 0, 0}};
  expect_errno("capset of another pid", raw_capset(_LINUX_CAPABILITY_VERSION_3, getppid(), d),
               EPERM);
  expect_errno("capset bad version", raw_capset(0x12345678, 0, d), EINVAL);
  expect_eq("capset lowers permitted", set_sets(s.e & ~BIT(CAP_KILL), s.p & ~BIT(CAP_KILL), 0),
            0);
  expect_errno("capset raises permitted again", set_sets(s.e, s.p, 0), EPERM);
  expect_errno("capset effective beyond permitted",
               set_sets(s.e, s.p & ~BIT(CAP_KILL), 0), EPERM);
  expect_eq("capset inheritable within permitted",
            set_sets(s.e & ~BIT(CAP_KILL), s.p & ~BIT(CAP_KILL), BIT(CAP_CHOWN)), 0);
  expect_eq("drop CAP_NET_RAW from bounding", prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0), 0);
  expect_errno("capset inheritable beyond bounding",
               set_sets(s.e & ~BIT(CAP_KILL), s.p & ~BIT(CAP_KILL), BIT(CAP_NET_RAW)), EPERM);
  expect_eq("capset drops CAP_SETPCAP",
            set_sets(BIT(CAP_CHOWN), BIT(CAP_CHOWN) | BIT(CAP_FOWNER), BIT(CAP_CHOWN)), 0);
  expect_errno("capset inheritable beyond permitted without CAP_SETPCAP",
               set_sets(BIT(CAP_CHOWN), BIT(CAP_CHOWN), BIT(CAP_CHOWN) | BIT(CAP_KILL)), EPERM);
  expect_eq("capset v1 clears the upper half",
            raw_capset(_LINUX_CAPABILITY_VERSION_1, 0,
                       (struct __user_cap_data_struct[1]){{1, 1, 1}}),
            0);
  say_sets("after capset", get_sets(0));
  status_caps("after capset");
}

static void bounding_and_exec(void) {
  expect_eq("bounding has CAP_SYS_ADMIN", prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0), 1);
  expect_eq("bounding lacks CAP_SYS_RESOURCE", prctl(PR_CAPBSET_READ, CAP_SYS_RESOURCE, 0, 0, 0),
            0);
  expect_errno("PR_CAPBSET_READ 64", prctl(PR_CAPBSET_READ, 64, 0, 0, 0), EINVAL);
  expect_errno("PR_CAPBSET_DROP 64", prctl(PR_CAPBSET_DROP, 64, 0, 0, 0), EINVAL);
  expect_eq("PR_CAPBSET_DROP CAP_SYS_ADMIN", prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0), 0);
  expect_eq("bounding after the drop", prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0), 0);
  say_sets("sets after the bounding drop", get_sets(0));
  exec_report("root exec after bounding drop");
}

static void drop_setpcap_then_bounding(void) {
  drop_effective(CAP_SETPCAP);
  expect_errno("PR_CAPBSET_DROP without CAP_SETPCAP",
               prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0), EPERM);
  expect_errno("PR_SET_SECUREBITS without CAP_SETPCAP",
               prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0), EPERM);
}

static void setuid_drops(void) {
  expect_eq("setuid 1000", setuid(1000), 0);
  say_sets("sets after setuid", get_sets(0));
  expect_errno("setuid 0 again", setuid(0), EPERM);
}

static void setuid_keepcaps(void) {
  expect_eq("PR_GET_KEEPCAPS", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 0);
  expect_errno("PR_SET_KEEPCAPS 2", prctl(PR_SET_KEEPCAPS, 2, 0, 0, 0), EINVAL);
  expect_eq("PR_SET_KEEPCAPS 1", prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0), 0);
  expect_eq("PR_GET_KEEPCAPS after", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 1);
  expect_eq("setresuid 1000 with keepcaps", setresuid(1000, 1000, 1000), 0);
  struct sets s = get_sets(0);
  say_sets("sets kept", s);
  expect_eq("capset raises effective from permitted", set_sets(s.p, s.p, 0), 0);
  expect_eq("setuid back to 0 with CAP_SETUID", setuid(0), 0);
  say_sets("sets back at uid 0", get_sets(0));
}

static void seteuid_and_fsuid(void) {
  expect_eq("seteuid 1000", seteuid(1000), 0);
  say_sets("sets at euid 1000", get_sets(0));
  expect_eq("seteuid 0", seteuid(0), 0);
  say_sets("sets at euid 0 again", get_sets(0));
  check("setfsuid 1000 (old)", setfsuid(1000));
  say_sets("sets at fsuid 1000", get_sets(0));
  check("setfsuid 0 (old)", setfsuid(0));
  say_sets("sets at fsuid 0 again", get_sets(0));
}

static void ambient_rules(void) {
  expect_errno("ambient raise without inheritable",
               prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0), EPERM);
  struct sets s = get_sets(0);
  expect_eq("inheritable CAP_KILL|CAP_CHOWN", set_sets(s.e, s.p, BIT(CAP_KILL) | BIT(CAP_CHOWN)),
            0);
  expect_eq("ambient raise", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0), 0);
  expect_eq("ambient is set", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0), 1);
  expect_eq("ambient lower", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_KILL, 0, 0), 0);
  expect_eq("ambient is set after lower",
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0), 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0);
  expect_eq("ambient clear all", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), 0);
  expect_eq("ambient is set after clear",
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0), 0);
  expect_errno("ambient clear all with a cap",
               prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 1, 0, 0), EINVAL);
  expect_errno("ambient bad op", prctl(PR_CAP_AMBIENT, 99, CAP_KILL, 0, 0), EINVAL);
  expect_errno("ambient bad cap", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 64, 0, 0), EINVAL);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0);
  expect_eq("capset dropping inheritable", set_sets(s.e, s.p, BIT(CAP_CHOWN)), 0);
  expect_eq("ambient follows inheritable",
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0), 0);

  /* Non-root: keep the permitted set over setuid, raise ambient, exec. */
  expect_eq("inheritable CAP_KILL again", set_sets(s.e, s.p, BIT(CAP_KILL)), 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0);
  prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  expect_eq("setresuid 1000 with ambient", setresuid(1000, 1000, 1000), 0);
  expect_eq("ambient cleared by leaving uid 0",
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, CAP_KILL, 0, 0), 0);
  expect_eq("ambient raise as uid 1000",
            prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_KILL, 0, 0), 0);
  exec_report("non-root exec with ambient");
}

static void non_root_exec_without_ambient(void) {
  prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  setresuid(1000, 1000, 1000);
  exec_report("non-root exec without ambient");
}

static void securebits(void) {
  expect_eq("PR_GET_SECUREBITS", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0), 0);
  expect_errno("PR_SET_SECUREBITS unknown bit", prctl(PR_SET_SECUREBITS, 1 << 20, 0, 0, 0),
               EPERM);
  expect_eq("PR_SET_SECUREBITS keep caps", prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0),
            0);
  expect_eq("PR_GET_KEEPCAPS follows", prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0), 1);
  expect_eq("PR_SET_SECUREBITS lock keep caps",
            prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0), 0);
  expect_errno("PR_SET_KEEPCAPS when locked", prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0), EPERM);
  expect_errno("PR_SET_SECUREBITS locked bit",
               prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0), EPERM);
  expect_errno("PR_SET_SECUREBITS unlock", prctl(PR_SET_SECUREBITS, SECBIT_KEEP_CAPS, 0, 0, 0),
               EPERM);
  expect_eq("PR_SET_SECUREBITS noroot",
            prctl(PR_SET_SECUREBITS,
                  SECBIT_KEEP_CAPS | SECBIT_KEEP_CAPS_LOCKED | SECBIT_NOROOT, 0, 0, 0),
            0);
  check("PR_GET_SECUREBITS after", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
  exec_report("root exec under SECBIT_NOROOT");
}

static void no_setuid_fixup(void) {
  expect_eq("PR_SET_SECUREBITS no setuid fixup",
            prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0), 0);
  expect_eq("setresuid 1000 without fixup", setresuid(1000, 1000, 1000), 0);
  say_sets("sets without fixup", get_sets(0));
}

static void dropped_caps_fail(void) {
  expect_eq("drop CAP_CHOWN", drop_effective(CAP_CHOWN), 0);
  expect_errno("chown without CAP_CHOWN", chown(file, 1000, -1), EPERM);
  expect_eq("drop CAP_SYS_ADMIN", drop_effective(CAP_SYS_ADMIN), 0);
  expect_errno("mount without CAP_SYS_ADMIN", mount("none", dir, "tmpfs", 0, NULL), EPERM);
  expect_errno("sethostname without CAP_SYS_ADMIN", sethostname("x", 1), EPERM);
  expect_errno("umount without CAP_SYS_ADMIN", umount2(dir, 0), EPERM);
  expect_eq("drop CAP_SYS_CHROOT", drop_effective(CAP_SYS_CHROOT), 0);
  expect_errno("chroot without CAP_SYS_CHROOT", chroot(dir), EPERM);
  expect_eq("drop CAP_MKNOD", drop_effective(CAP_MKNOD), 0);
  char node[700];
  snprintf(node, sizeof node, "%s/null", dir);
  expect_errno("mknod without CAP_MKNOD", mknod(node, S_IFCHR | 0600, makedev(1, 3)), EPERM);
  expect_eq("drop CAP_FOWNER", drop_effective(CAP_FOWNER), 0);
  expect_errno("chmod of another's file without CAP_FOWNER", chmod(file, 0644), EPERM);
  struct rlimit rl;
  getrlimit(RLIMIT_CORE, &rl);
  rl.rlim_max = rl.rlim_cur = 4096;
  expect_eq("lower RLIMIT_CORE", setrlimit(RLIMIT_CORE, &rl), 0);
  rl.rlim_max = 8192;
  expect_errno("raise hard RLIMIT_CORE without CAP_SYS_RESOURCE", setrlimit(RLIMIT_CORE, &rl),
               EPERM);

  /* DAC: another user's 000 file. */
  expect_eq("drop CAP_DAC_OVERRIDE", drop_effective(CAP_DAC_OVERRIDE), 0);
  expect_errno("open 000 for writing without CAP_DAC_OVERRIDE", open(file, O_RDWR), EACCES);
  int fd = expect_ok("open 000 for reading with CAP_DAC_READ_SEARCH", open(file, O_RDONLY));
  if (fd >= 0)
    close(fd);
  expect_eq("drop CAP_DAC_READ_SEARCH", drop_effective(CAP_DAC_READ_SEARCH), 0);
  expect_errno("open 000 for reading without either", open(file, O_RDONLY), EACCES);
  expect_eq("access uses root's permitted set", access(file, R_OK | W_OK), 0);
}

static void kill_across_users(void) {
  int ready[2], done[2];
  if (pipe(ready) || pipe(done))
    exit(2);
  pid_t other = fork();
  if (other == 0) {
    setresuid(1000, 1000, 1000);
    char c = 0;
    write(ready[1], &c, 1);
    read(done[0], &c, 1);
    _exit(0);
  }
  char c;
  read(ready[0], &c, 1);
  expect_eq("kill another user with CAP_KILL", kill(other, 0), 0);
  drop_effective(CAP_KILL);
  expect_errno("kill another user without CAP_KILL", kill(other, SIGTERM), EPERM);
  expect_eq("SIGCONT within the session without CAP_KILL", kill(other, SIGCONT), 0);
  expect_eq("kill oneself without CAP_KILL", kill(getpid(), 0), 0);
  write(done[1], &c, 1);
  waitpid(other, NULL, 0);
}

/* A copy of this program at `path` with `mode`, owned by root. */
static int copy_self(const char *path, mode_t mode) {
  int in = open("/proc/self/exe", O_RDONLY);
  int out = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0700);
  if (in < 0 || out < 0)
    return -1;
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, n) != n)
      return -1;
  close(in);
  close(out);
  return chmod(path, mode);
}

/* security.capability, revision 2: permitted `p`, no inheritable, the
 * effective bit. */
static long set_file_caps(const char *path, unsigned long long p) {
  uint32_t v[5] = {0x02000001, (uint32_t)p, 0, (uint32_t)(p >> 32), 0};
  return setxattr(path, "security.capability", v, sizeof v, 0);
}

static char fcap_file[700], suid_file[700], fcap_bad_file[700];

static void exec_as_1000(const char *path, const char *label) {
  setresuid(1000, 1000, 1000);
  char *argv[] = {"caps", "--report", (char *)label, NULL};
  execv(path, argv);
  check(label, -1);
  exit(check_finish());
}

static void file_caps_exec(void) {
  exec_as_1000(fcap_file, "exec of a file with CAP_KILL as file capability");
}

static void file_caps_beyond_bounding(void) {
  exec_as_1000(fcap_bad_file, "exec of a file whose capabilities exceed the bounding set");
}

static void setuid_root_exec(void) {
  exec_as_1000(suid_file, "exec of a set-user-id root file");
}

static void file_capabilities(void) {
  chmod(dir, 0755);
  snprintf(fcap_file, sizeof fcap_file, "%s/fcap", dir);
  snprintf(fcap_bad_file, sizeof fcap_bad_file, "%s/fcap-bad", dir);
  snprintf(suid_file, sizeof suid_file, "%s/suid", dir);
  if (copy_self(fcap_file, 0755) || copy_self(fcap_bad_file, 0755) ||
      copy_self(suid_file, 04755)) {
    perror("copy");
    exit(2);
  }
  expect_eq("set file capabilities", set_file_caps(fcap_file, BIT(CAP_KILL)), 0);
  expect_eq("set file capabilities beyond bounding",
            set_file_caps(fcap_bad_file, BIT(CAP_KILL) | BIT(CAP_SYS_RESOURCE)), 0);
  in_child("file capabilities", file_caps_exec);
  in_child("file capabilities beyond bounding", file_caps_beyond_bounding);
  in_child("set-user-id root", setuid_root_exec);
  unlink(fcap_file);
  unlink(fcap_bad_file);
  unlink(suid_file);
}

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--report") == 0) {
    report(argv[2]);
    return check_finish();
  }
  const char *base = argc > 1 ? argv[1] : "/tmp";
  snprintf(dir, sizeof dir, "%s/moat-caps-XXXXXX", base);
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 2;
  }
  snprintf(file, sizeof file, "%s/file", dir);
  int fd = open(file, O_CREAT | O_WRONLY, 0);
  if (fd < 0) {
    perror("create");
    return 2;
  }
  close(fd);
  /* Another user's file, mode 000. */
  if (chown(file, 1000, 1000) != 0) {
    perror("chown");
    return 2;
  }

  /* Narrow everything to KNOWN. */
  int last = 40;
  FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
  if (f) {
    if (fscanf(f, "%d", &last) != 1)
      last = 40;
    fclose(f);
  }
  check("cap_last_cap", last);
  for (int c = 0; c <= last; c++)
    if (!(KNOWN & BIT(c)))
      prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
  expect_eq("narrow to the known capabilities", set_sets(KNOWN, KNOWN, 0), 0);
  status_caps("start");

  capget_cases();
  in_child("capset rules", capset_rules);
  in_child("bounding set and execve", bounding_and_exec);
  in_child("CAP_SETPCAP needed", drop_setpcap_then_bounding);
  in_child("setuid drops capabilities", setuid_drops);
  in_child("setuid with keepcaps", setuid_keepcaps);
  in_child("seteuid and setfsuid", seteuid_and_fsuid);
  in_child("ambient", ambient_rules);
  in_child("non-root execve", non_root_exec_without_ambient);
  in_child("securebits", securebits);
  in_child("SECBIT_NO_SETUID_FIXUP", no_setuid_fixup);
  in_child("privileged calls without their capability", dropped_caps_fail);
  in_child("kill across users", kill_across_users);
  file_capabilities();

  unlink(file);
  rmdir(dir);
  return check_finish();
}
