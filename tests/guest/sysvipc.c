/*
 * sysvipc: System V shared memory, semaphores and message queues.
 *
 * Natively these use the host's IPC namespace, so every object is made with
 * IPC_PRIVATE or a key derived from the pid, and removed again (also when a
 * check fails). Nothing printed depends on ids, keys, pids or addresses.
 * Processes synchronise through pipes and the IPC objects themselves; where a
 * call must be interrupted, a periodic timer keeps signalling until it is.
 */
#include "check.h"

#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

static void die(const char *what) {
  perror(what);
  exit(2);
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

/* Waits for child `p`; returns its wait status. */
static int reap(pid_t p) {
  int st;
  if (waitpid(p, &st, 0) != p)
    die("waitpid");
  return st;
}

static void child_exit(void) {
  fflush(stdout);
  _exit(check_failures ? 1 : 0);
}

static void put_byte(int fd) {
  if (write(fd, "x", 1) != 1)
    die("write pipe");
}

static void get_byte(int fd) {
  char c;
  if (read(fd, &c, 1) != 1)
    die("read pipe");
}

/* A key of this process's own, distinct per use. */
static key_t own_key(int n) {
  return (key_t)(0x5a000000 | ((getpid() & 0xfffff) << 4) | n);
}

static int as_root;

/* --- shared memory --------------------------------------------------- */

static int shm_nattch(int id) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0)
    return -1;
  return (int)ds.shm_nattch;
}

static int file_contains(const char *path, const char *needle) {
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char line[512];
  int found = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, needle))
      found = 1;
  fclose(f);
  return found;
}

/* Whether /proc/sysvipc/shm lists segment `id` with size `size`. */
static int sysvipc_lists(const char *path, int id, long size) {
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  char line[512];
  int found = 0;
  if (!fgets(line, sizeof line, f)) {
    fclose(f);
    return 0;
  }
  while (fgets(line, sizeof line, f)) {
    long key, lid, perms, lsize;
    if (sscanf(line, "%ld %ld %lo %ld", &key, &lid, &perms, &lsize) == 4 && lid == id &&
        (size < 0 || lsize == size))
      found = 1;
  }
  fclose(f);
  return found;
}

static void shm_basics(void) {
  expect_errno("shmget size 0", shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);
  expect_errno("shmget huge", shmget(IPC_PRIVATE, (size_t)-1, IPC_CREAT | 0600), EINVAL);
  int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
  if (expect_ok("shmget private", id) < 0)
    return;
  struct shmid_ds ds;
  expect_eq("IPC_STAT", shmctl(id, IPC_STAT, &ds), 0);
  expect_eq("segsz", (long)ds.shm_segsz, 10000);
  expect_eq("mode", ds.shm_perm.mode & 0777, 0600);
  expect_eq("nattch before shmat", (long)ds.shm_nattch, 0);
  expect_true("cpid is the creator", ds.shm_cpid == getpid());
  expect_eq("lpid before shmat", ds.shm_lpid, 0);
  expect_eq("atime before shmat", (long)ds.shm_atime, 0);
  expect_true("ctime set", ds.shm_ctime != 0);
  expect_true("uid and cuid", ds.shm_perm.uid == geteuid() && ds.shm_perm.cuid == geteuid());

  char *p = shmat(id, NULL, 0);
  if (!expect_ptr("shmat", p, (void *)-1)) {
    shmctl(id, IPC_RMID, NULL);
    return;
  }
  expect_true("shmat page aligned", ((unsigned long)p & (PAGE - 1)) == 0);
  expect_eq("nattch after shmat", shm_nattch(id), 1);
  shmctl(id, IPC_STAT, &ds);
  expect_true("lpid after shmat", ds.shm_lpid == getpid());
  expect_true("atime after shmat", ds.shm_atime != 0);
  expect_true("fresh segment is zero", p[0] == 0 && p[9999] == 0 && p[12287] == 0);
  char sysv[64];
  snprintf(sysv, sizeof sysv, "/SYSV%08x (deleted)", 0);
  expect_true("maps names the segment", file_contains("/proc/self/maps", sysv));
  expect_true("/proc/sysvipc/shm lists it", sysvipc_lists("/proc/sysvipc/shm", id, 10000));

  strcpy(p, "parent");
  /* fork inherits the attachment, and both see each other's writes. */
  int to_child[2], to_parent[2];
  if (pipe(to_child) || pipe(to_parent))
    die("pipe");
  pid_t c = spawn();
  if (c == 0) {
    expect_str("child sees parent's write", p, "parent");
    expect_eq("nattch in child", shm_nattch(id), 2);
    strcpy(p, "child");
    put_byte(to_parent[1]);
    get_byte(to_child[0]);
    expect_str("child sees parent's second write", p, "parent again");
    child_exit();
  }
  get_byte(to_parent[0]);
  expect_str("parent sees child's write", p, "child");
  strcpy(p, "parent again");
  put_byte(to_child[1]);
  expect_eq("child ok", reap(c), 0);
  expect_eq("nattch after child exit", shm_nattch(id), 1);
  close(to_child[0]);
  close(to_child[1]);
  close(to_parent[0]);
  close(to_parent[1]);

  /* An unrelated process attaching by id shares the same pages. */
  c = spawn();
  if (c == 0) {
    shmdt(p);
    expect_eq("nattch after child's shmdt", shm_nattch(id), 1);
    char *q = shmat(id, NULL, 0);
    expect_ptr("child shmat", q, (void *)-1);
    expect_str("child's own attachment", q, "parent again");
    strcpy(q, "via child attach");
    child_exit();
  }
  expect_eq("child attach ok", reap(c), 0);
  expect_str("parent sees write through child's attachment", p, "via child attach");

  /* A second, read-only attachment in the same process. */
  char *r = shmat(id, NULL, SHM_RDONLY);
  if (expect_ptr("shmat SHM_RDONLY", r, (void *)-1)) {
    expect_eq("nattch with two attachments", shm_nattch(id), 2);
    expect_true("read-only attachment sees the data", strcmp(r, "via child attach") == 0);
    p[1] = 'I';
    expect_true("writes show through the other attachment", r[1] == 'I');
    expect_errno("mprotect read-only attachment writable", mprotect(r, PAGE, PROT_READ | PROT_WRITE),
                 EACCES);
    c = spawn();
    if (c == 0) {
      r[0] = 1;
      _exit(0);
    }
    int st = reap(c);
    expect_true("write to SHM_RDONLY attachment: SIGSEGV", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
    expect_eq("shmdt read-only", shmdt(r), 0);
    expect_errno("shmdt again", shmdt(r), EINVAL);
  }
  expect_errno("shmdt unaligned", shmdt(p + 1), EINVAL);
  expect_errno("shmdt not an attachment", shmdt(sysv), EINVAL);

  /* Beyond the size, up to the end of its last page, is mapped too. */
  c = spawn();
  if (c == 0) {
    p[12287] = 1;
    _exit(0);
  }
  expect_eq("rest of the last page is writable", reap(c), 0);

  /* Address choice. */
  char *area = mmap(NULL, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED)
    die("mmap");
  munmap(area, 4 * PAGE);
  expect_errno("shmat unaligned address", (long)shmat(id, area + 100, 0), EINVAL);
  char *at = shmat(id, area + 100, SHM_RND);
  expect_true("SHM_RND rounds down", at == area);
  expect_errno("shmat over an attachment", (long)shmat(id, area, 0), EINVAL);
  char *again = shmat(id, area, SHM_REMAP);
  expect_true("SHM_REMAP replaces it", again == area);
  expect_eq("nattch after remap", shm_nattch(id), 2);
  expect_eq("shmdt remapped", shmdt(area), 0);
  expect_errno("SHM_REMAP without address", (long)shmat(id, NULL, SHM_REMAP), EINVAL);
  /* Unmapping part of an attachment with munmap leaves the rest attached. */
  at = shmat(id, NULL, 0);
  expect_eq("munmap first page of attachment", munmap(at, PAGE), 0);
  expect_eq("nattch after partial munmap", shm_nattch(id), 2);
  expect_eq("shmdt of partly unmapped attachment", shmdt(at), 0);
  expect_eq("nattch after its shmdt", shm_nattch(id), 1);
  at = shmat(id, NULL, 0);
  expect_eq("munmap whole attachment", munmap(at, 3 * PAGE), 0);
  expect_eq("nattch after munmap", shm_nattch(id), 1);

  /* IPC_RMID while attached: the segment lives on, key private, SHM_DEST. */
  expect_eq("IPC_RMID while attached", shmctl(id, IPC_RMID, NULL), 0);
  expect_eq("IPC_STAT after IPC_RMID", shmctl(id, IPC_STAT, &ds), 0);
  expect_true("SHM_DEST set", (ds.shm_perm.mode & SHM_DEST) != 0);
  expect_eq("nattch after IPC_RMID", (long)ds.shm_nattch, 1);
  strcpy(p, "still here");
  char *late = shmat(id, NULL, 0);
  if (expect_ptr("shmat of a removed but attached segment", late, (void *)-1)) {
    expect_str("late attachment sees the data", late, "still here");
    shmdt(late);
  }
  expect_eq("last shmdt", shmdt(p), 0);
  expect_errno("IPC_STAT after last detach", shmctl(id, IPC_STAT, &ds), EINVAL);
  expect_errno("shmat after destruction", (long)shmat(id, NULL, 0), EINVAL);
  expect_true("/proc/sysvipc/shm no longer lists it", !sysvipc_lists("/proc/sysvipc/shm", id, -1));
}

static void shm_keys_and_ctl(void) {
  key_t key = own_key(1);
  expect_errno("shmget absent key", shmget(key, PAGE, 0600), ENOENT);
  int id = shmget(key, PAGE, IPC_CREAT | IPC_EXCL | 0640);
  if (expect_ok("shmget IPC_CREAT|IPC_EXCL", id) < 0)
    return;
  expect_errno("shmget IPC_EXCL again", shmget(key, PAGE, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
  expect_true("shmget existing key", shmget(key, 0, 0) == id);
  expect_true("shmget IPC_CREAT of existing key", shmget(key, 100, IPC_CREAT | 0600) == id);
  expect_errno("shmget existing key, larger size", shmget(key, 2 * PAGE, 0), EINVAL);
  expect_errno("shmctl bad id", shmctl(-1, IPC_STAT, NULL), EINVAL);
  expect_errno("shmctl bad cmd", shmctl(id, 12345, NULL), EINVAL);
  expect_errno("shmctl IPC_STAT to bad address", shmctl(id, IPC_STAT, (void *)8), EFAULT);
  expect_errno("shmat bad id", (long)shmat(id + 1, NULL, 0), EINVAL);

  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  ds.shm_perm.mode = 0604;
  expect_eq("IPC_SET", shmctl(id, IPC_SET, &ds), 0);
  shmctl(id, IPC_STAT, &ds);
  expect_eq("mode after IPC_SET", ds.shm_perm.mode & 0777, 0604);
  expect_eq("SHM_LOCK", shmctl(id, SHM_LOCK, NULL), 0);
  shmctl(id, IPC_STAT, &ds);
  expect_true("SHM_LOCKED set", (ds.shm_perm.mode & SHM_LOCKED) != 0);
  expect_eq("SHM_UNLOCK", shmctl(id, SHM_UNLOCK, NULL), 0);
  shmctl(id, IPC_STAT, &ds);
  expect_true("SHM_LOCKED cleared", (ds.shm_perm.mode & SHM_LOCKED) == 0);

  struct shminfo info;
  expect_ok("IPC_INFO", shmctl(0, IPC_INFO, (struct shmid_ds *)&info));
  expect_eq("shmmin", (long)info.shmmin, 1);
  struct shm_info usage;
  expect_ok("SHM_INFO", shmctl(0, SHM_INFO, (struct shmid_ds *)&usage));
  expect_true("SHM_INFO counts it", usage.used_ids >= 1);
  expect_true("SHM_STAT by index gives the id", shmctl(id % 32768, SHM_STAT, &ds) == id);
  expect_true("SHM_STAT_ANY by index gives the id", shmctl(id % 32768, SHM_STAT_ANY, &ds) == id);

  char name[64];
  snprintf(name, sizeof name, "/SYSV%08x (deleted)", (unsigned)key);
  char *p = shmat(id, NULL, 0);
  expect_true("maps names a keyed segment by its key", file_contains("/proc/self/maps", name));
  shmdt(p);

  if (as_root) {
    /* Someone else: other bits r--, no write, no removal. */
    pid_t c = spawn();
    if (c == 0) {
      if (setgid(65534) || setuid(65534))
        die("setuid");
      expect_ok("shmget existing key as other", shmget(key, 0, 0));
      expect_errno("shmget asking for write as other", shmget(key, 0, 0600), EACCES);
      expect_errno("shmat read-write as other", (long)shmat(id, NULL, 0), EACCES);
      char *ro = shmat(id, NULL, SHM_RDONLY);
      expect_ptr("shmat read-only as other", ro, (void *)-1);
      expect_eq("IPC_STAT as other", shmctl(id, IPC_STAT, &ds), 0);
      expect_errno("IPC_SET as other", shmctl(id, IPC_SET, &ds), EPERM);
      expect_errno("IPC_RMID as other", shmctl(id, IPC_RMID, NULL), EPERM);
      child_exit();
    }
    expect_eq("other-user child ok", reap(c), 0);
  }

  expect_eq("IPC_RMID", shmctl(id, IPC_RMID, NULL), 0);
  expect_errno("key gone after IPC_RMID", shmget(key, 0, 0), ENOENT);
  expect_errno("IPC_RMID again", shmctl(id, IPC_RMID, NULL), EINVAL);
}

int main(void) {
  as_root = geteuid() == 0;
  shm_basics();
  shm_keys_and_ctl();
  return check_finish();
}
