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

/* --- semaphores ------------------------------------------------------ */

union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
  struct seminfo *__buf;
};

static int semval(int id, int num) {
  return semctl(id, num, GETVAL);
}

static long semop1(int id, int num, int op, int flg) {
  struct sembuf b = {(unsigned short)num, (short)op, (short)flg};
  return semop(id, &b, 1);
}

/* Waits (polling, not sleeping a fixed time) until `cmd` (GETNCNT or GETZCNT)
 * of semaphore `num` reaches `want`. */
static void await_count(int id, int num, int cmd, int want) {
  for (int i = 0; i < 100000; i++) {
    if (semctl(id, num, cmd) == want)
      return;
    usleep(200);
  }
  fprintf(stderr, "semaphore count never reached %d\n", want);
}

static void on_alarm(int sig) {
  (void)sig;
}

/* A periodic SIGALRM with an SA_RESTART handler: System V IPC waits still end
 * with EINTR. */
static void start_ticking(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

static void sem_tests(void) {
  expect_errno("semget nsems 0", semget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL);
  expect_errno("semget nsems -1", semget(IPC_PRIVATE, -1, IPC_CREAT | 0600), EINVAL);
  int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
  if (expect_ok("semget private", id) < 0)
    return;
  struct semid_ds ds;
  union semun arg = {.buf = &ds};
  expect_eq("semctl IPC_STAT", semctl(id, 0, IPC_STAT, arg), 0);
  expect_eq("sem_nsems", (long)ds.sem_nsems, 3);
  expect_eq("sem_otime before semop", (long)ds.sem_otime, 0);
  expect_eq("sem mode", ds.sem_perm.mode & 0777, 0600);
  expect_eq("new semaphore is 0", semval(id, 2), 0);

  arg.val = 5;
  expect_eq("SETVAL", semctl(id, 0, SETVAL, arg), 0);
  expect_eq("GETVAL", semval(id, 0), 5);
  expect_true("GETPID after SETVAL", semctl(id, 0, GETPID) == getpid());
  arg.val = -1;
  expect_errno("SETVAL -1", semctl(id, 0, SETVAL, arg), ERANGE);
  arg.val = 32768;
  expect_errno("SETVAL past SEMVMX", semctl(id, 0, SETVAL, arg), ERANGE);
  arg.val = 1;
  expect_errno("SETVAL bad semnum", semctl(id, 3, SETVAL, arg), EINVAL);
  expect_errno("GETVAL bad semnum", semctl(id, 3, GETVAL), EINVAL);
  unsigned short all[3] = {1, 2, 3};
  arg.array = all;
  expect_eq("SETALL", semctl(id, 0, SETALL, arg), 0);
  unsigned short got[3] = {0};
  arg.array = got;
  expect_eq("GETALL", semctl(id, 0, GETALL, arg), 0);
  say("GETALL values", "%d %d %d", got[0], got[1], got[2]);
  expect_errno("GETALL to bad address", semctl(id, 0, GETALL, (void *)8), EFAULT);
  expect_errno("semctl bad cmd", semctl(id, 0, 12345), EINVAL);
  expect_errno("semctl bad id", semctl(-1, 0, GETVAL), EINVAL);

  /* The whole array or nothing. */
  struct sembuf two[2] = {{0, -1, 0}, {1, -5, IPC_NOWAIT}};
  expect_errno("semop partly impossible, IPC_NOWAIT", semop(id, two, 2), EAGAIN);
  expect_eq("first op not applied", semval(id, 0), 1);
  struct sembuf ok2[2] = {{0, -1, 0}, {1, 3, 0}};
  expect_eq("semop two ops", semop(id, ok2, 2), 0);
  say("values after semop", "%d %d %d", semval(id, 0), semval(id, 1), semval(id, 2));
  expect_true("GETPID after semop", semctl(id, 1, GETPID) == getpid());
  semctl(id, 0, IPC_STAT, (union semun){.buf = &ds});
  expect_true("sem_otime after semop", ds.sem_otime != 0);
  expect_errno("semop sem_num out of range", semop1(id, 3, 1, 0), EFBIG);
  expect_errno("semop nsops 0", semop(id, two, 0), EINVAL);
  static struct sembuf many[501];
  expect_errno("semop nsops > SEMOPM", semop(id, many, 501), E2BIG);
  expect_errno("semop past SEMVMX", semop1(id, 1, 32767, 0), ERANGE);
  expect_errno("semop bad sops", semop(id, (struct sembuf *)8, 1), EFAULT);
  expect_errno("semop bad id", semop1(id + 1, 0, 1, 0), EINVAL);
  expect_errno("semop zero-wait IPC_NOWAIT", semop1(id, 2, 0, IPC_NOWAIT), EAGAIN);
  struct timespec ts = {0, 10 * 1000 * 1000};
  struct sembuf dec = {0, -1, 0};
  expect_errno("semtimedop times out", semtimedop(id, &dec, 1, &ts), EAGAIN);
  ts.tv_nsec = 2000000000;
  expect_errno("semtimedop bad timeout", semtimedop(id, &dec, 1, &ts), EINVAL);

  /* A decrement blocks until another process increments. */
  pid_t c = spawn();
  if (c == 0) {
    expect_eq("child's blocking decrement", semop1(id, 0, -2, 0), 0);
    child_exit();
  }
  await_count(id, 0, GETNCNT, 1);
  expect_eq("GETNCNT with a blocked child", semctl(id, 0, GETNCNT), 1);
  expect_eq("GETZCNT with a decrementer", semctl(id, 0, GETZCNT), 0);
  /* The child reports before it exits; the parent only after reaping it. */
  long r = semop1(id, 0, 2, 0);
  int st = reap(c);
  expect_eq("increment", r, 0);
  expect_eq("decrementing child ok", st, 0);
  expect_eq("GETNCNT after", semctl(id, 0, GETNCNT), 0);
  expect_eq("value after the child took it", semval(id, 0), 0);

  /* A wait for zero. */
  c = spawn();
  if (c == 0) {
    expect_eq("child's wait for zero", semop1(id, 2, 0, 0), 0);
    child_exit();
  }
  await_count(id, 2, GETZCNT, 1);
  expect_eq("GETZCNT with a waiting child", semctl(id, 2, GETZCNT), 1);
  arg.val = 0;
  r = semctl(id, 2, SETVAL, arg);
  st = reap(c);
  expect_eq("SETVAL 0 wakes it", r, 0);
  expect_eq("zero-waiting child ok", st, 0);

  /* SEM_UNDO: what an exiting process did is undone. */
  arg.val = 1;
  semctl(id, 0, SETVAL, arg);
  c = spawn();
  if (c == 0) {
    semop1(id, 0, 4, SEM_UNDO);
    semop1(id, 0, -1, SEM_UNDO);
    expect_eq("child sees its own changes", semval(id, 0), 4);
    child_exit();
  }
  expect_eq("SEM_UNDO child ok", reap(c), 0);
  expect_eq("SEM_UNDO undone at exit", semval(id, 0), 1);
  c = spawn();
  if (c == 0) {
    semop1(id, 0, -1, SEM_UNDO);
    _exit(0);
  }
  reap(c);
  expect_eq("SEM_UNDO decrement given back", semval(id, 0), 1);
  c = spawn();
  if (c == 0) {
    semop1(id, 0, 2, SEM_UNDO);
    arg.val = 7;
    semctl(id, 0, SETVAL, arg);
    _exit(0);
  }
  reap(c);
  expect_eq("SETVAL clears the undo", semval(id, 0), 7);

  /* A signal ends the wait with EINTR, even with SA_RESTART. */
  c = spawn();
  if (c == 0) {
    start_ticking();
    expect_errno("semop interrupted", semop1(id, 1, -100, 0), EINTR);
    child_exit();
  }
  expect_eq("interrupted child ok", reap(c), 0);

  /* Keys. */
  key_t key = own_key(2);
  int kid = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
  expect_ok("semget IPC_CREAT|IPC_EXCL", kid);
  expect_errno("semget IPC_EXCL again", semget(key, 2, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
  expect_true("semget existing key", semget(key, 0, 0) == kid);
  expect_errno("semget existing key, more nsems", semget(key, 3, 0), EINVAL);
  expect_true("SEM_STAT by index", semctl(kid % 32768, 0, SEM_STAT, (union semun){.buf = &ds}) == kid);
  expect_true("/proc/sysvipc/sem lists it", sysvipc_lists("/proc/sysvipc/sem", kid, -1));
  ds.sem_perm.mode = 0640;
  expect_eq("semctl IPC_SET", semctl(kid, 0, IPC_SET, (union semun){.buf = &ds}), 0);
  semctl(kid, 0, IPC_STAT, (union semun){.buf = &ds});
  expect_eq("sem mode after IPC_SET", ds.sem_perm.mode & 0777, 0640);
  if (as_root) {
    c = spawn();
    if (c == 0) {
      if (setgid(65534) || setuid(65534))
        die("setuid");
      expect_errno("semop as other", semop1(kid, 0, 1, 0), EACCES);
      expect_errno("GETVAL as other", semctl(kid, 0, GETVAL), EACCES);
      expect_errno("IPC_RMID as other", semctl(kid, 0, IPC_RMID), EPERM);
      child_exit();
    }
    expect_eq("other-user sem child ok", reap(c), 0);
  }
  expect_eq("semctl IPC_RMID keyed", semctl(kid, 0, IPC_RMID), 0);
  expect_errno("semget after IPC_RMID", semget(key, 0, 0), ENOENT);

  struct seminfo si;
  expect_ok("semctl IPC_INFO", semctl(0, 0, IPC_INFO, (union semun){.__buf = &si}));
  say("seminfo", "semmsl %d semopm %d semvmx %d", si.semmsl, si.semopm, si.semvmx);
  expect_ok("semctl SEM_INFO", semctl(0, 0, SEM_INFO, (union semun){.__buf = &si}));
  expect_true("SEM_INFO counts the set", si.semusz >= 1 && si.semaem >= 3);

  /* IPC_RMID wakes waiters with EIDRM. */
  c = spawn();
  if (c == 0) {
    expect_errno("semop on a removed set", semop1(id, 1, -100, 0), EIDRM);
    child_exit();
  }
  await_count(id, 1, GETNCNT, 1);
  r = semctl(id, 0, IPC_RMID);
  st = reap(c);
  expect_eq("semctl IPC_RMID", r, 0);
  expect_eq("EIDRM child ok", st, 0);
  expect_errno("GETVAL after IPC_RMID", semctl(id, 0, GETVAL), EINVAL);
}

/* --- message queues -------------------------------------------------- */

struct msg {
  long mtype;
  char mtext[64];
};

static long send_msg(int id, long type, const char *text, int flags) {
  struct msg m;
  m.mtype = type;
  strcpy(m.mtext, text);
  return msgsnd(id, &m, strlen(text), flags);
}

/* Receives into a buffer of `size`; prints "type text" or the error. */
static void recv_msg(const char *name, int id, long size, long type, int flags) {
  struct msg m;
  memset(&m, 0, sizeof m);
  long n = msgrcv(id, &m, size, type, flags);
  if (n < 0)
    check(name, n);
  else
    say(name, "%ld bytes, type %ld, %s", n, m.mtype, quoted(m.mtext, n));
}

static long msg_qnum(int id) {
  struct msqid_ds ds;
  if (msgctl(id, IPC_STAT, &ds) != 0)
    return -1;
  return (long)ds.msg_qnum;
}

/* The state letter of process `pid` (polling until it is 'S': blocked). */
static void await_blocked(pid_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  for (int i = 0; i < 100000; i++) {
    FILE *f = fopen(path, "r");
    if (f) {
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[n] = 0;
      char *p = strrchr(buf, ')');
      if (p && p[1] == ' ' && p[2] == 'S')
        return;
    }
    usleep(200);
  }
  fprintf(stderr, "process never blocked\n");
}

static void msg_tests(void) {
  int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (expect_ok("msgget private", id) < 0)
    return;
  struct msqid_ds ds;
  expect_eq("msgctl IPC_STAT", msgctl(id, IPC_STAT, &ds), 0);
  expect_eq("msg_qnum empty", (long)ds.msg_qnum, 0);
  expect_eq("msg_qbytes is MSGMNB", (long)ds.msg_qbytes, 16384);
  expect_eq("msg_lspid before send", ds.msg_lspid, 0);
  expect_errno("msgsnd mtype 0", send_msg(id, 0, "x", 0), EINVAL);
  static struct {
    long mtype;
    char text[9000];
  } big = {1, {0}};
  expect_errno("msgsnd past MSGMAX", msgsnd(id, &big, 8193, 0), EINVAL);
  expect_eq("msgsnd MSGMAX", msgsnd(id, &big, 8192, 0), 0);
  expect_eq("msgrcv MSGMAX", msgrcv(id, &big, 8192, 0, 0), 8192);
  expect_errno("msgsnd bad buffer", msgsnd(id, (void *)8, 1, 0), EFAULT);
  expect_errno("msgsnd bad id", send_msg(-1, 1, "x", 0), EINVAL);

  send_msg(id, 3, "c", 0);
  send_msg(id, 1, "a1", 0);
  send_msg(id, 2, "b", 0);
  send_msg(id, 1, "a2", 0);
  msgctl(id, IPC_STAT, &ds);
  expect_eq("msg_qnum", (long)ds.msg_qnum, 4);
  expect_eq("msg_cbytes", (long)ds.__msg_cbytes, 6);
  expect_true("msg_lspid", ds.msg_lspid == getpid());
  expect_true("/proc/sysvipc/msg lists it", sysvipc_lists("/proc/sysvipc/msg", id, -1));
  recv_msg("MSG_COPY of message 2", id, 64, 2, MSG_COPY | IPC_NOWAIT);
  expect_errno("MSG_COPY without IPC_NOWAIT", msgrcv(id, &big, 64, 2, MSG_COPY), EINVAL);
  expect_errno("MSG_COPY past the end", msgrcv(id, &big, 64, 9, MSG_COPY | IPC_NOWAIT), ENOMSG);
  expect_eq("MSG_COPY leaves it queued", msg_qnum(id), 4);
  recv_msg("msgrcv type 1", id, 64, 1, 0);
  recv_msg("msgrcv type <= 2", id, 64, -2, 0);
  recv_msg("msgrcv not type 2", id, 64, 2, MSG_EXCEPT);
  recv_msg("msgrcv any", id, 64, 0, 0);
  expect_errno("msgrcv empty, IPC_NOWAIT", msgrcv(id, &big, 64, 0, IPC_NOWAIT), ENOMSG);
  msgctl(id, IPC_STAT, &ds);
  expect_true("msg_lrpid", ds.msg_lrpid == getpid());

  send_msg(id, 5, "hello world", 0);
  expect_errno("msgrcv too small", msgrcv(id, &big, 5, 0, 0), E2BIG);
  expect_eq("too-long message stays", msg_qnum(id), 1);
  recv_msg("msgrcv MSG_NOERROR", id, 5, 0, MSG_NOERROR);
  expect_errno("msgrcv negative size", msgrcv(id, &big, -1, 0, 0), EINVAL);

  /* A receiver blocks until a matching message comes. */
  pid_t c = spawn();
  if (c == 0) {
    recv_msg("child receives type 7", id, 64, 7, 0);
    child_exit();
  }
  send_msg(id, 6, "not this", 0);
  send_msg(id, 7, "this", 0);
  expect_eq("receiving child ok", reap(c), 0);
  recv_msg("type 6 still queued", id, 64, 0, IPC_NOWAIT);

  /* A sender blocks while the queue is full. */
  msgctl(id, IPC_STAT, &ds);
  ds.msg_qbytes = 10;
  expect_eq("msgctl IPC_SET qbytes", msgctl(id, IPC_SET, &ds), 0);
  expect_eq("send into small queue", send_msg(id, 1, "12345678", 0), 0);
  expect_errno("send into full queue, IPC_NOWAIT", send_msg(id, 1, "abcdefgh", IPC_NOWAIT), EAGAIN);
  c = spawn();
  if (c == 0) {
    expect_eq("child's blocking send", send_msg(id, 1, "abcdefgh", 0), 0);
    child_exit();
  }
  await_blocked(c);
  struct msg room;
  memset(&room, 0, sizeof room);
  long n = msgrcv(id, &room, 64, 0, 0);
  int st = reap(c);
  say("receive makes room", "%ld bytes, %s", n, quoted(room.mtext, n < 0 ? 0 : n));
  expect_eq("sending child ok", st, 0);
  recv_msg("child's message arrived", id, 64, 0, IPC_NOWAIT);

  /* Signals end waits with EINTR; removal with EIDRM. */
  c = spawn();
  if (c == 0) {
    start_ticking();
    struct msg m;
    expect_errno("msgrcv interrupted", msgrcv(id, &m, 64, 0, 0), EINTR);
    child_exit();
  }
  expect_eq("interrupted receiver ok", reap(c), 0);
  expect_errno("msgctl bad cmd", msgctl(id, 12345, &ds), EINVAL);
  expect_true("MSG_STAT by index", msgctl(id % 32768, MSG_STAT, &ds) == id);
  struct msginfo mi;
  expect_ok("msgctl IPC_INFO", msgctl(0, IPC_INFO, (struct msqid_ds *)&mi));
  say("msginfo", "msgmax %d msgmnb %d", mi.msgmax, mi.msgmnb);
  c = spawn();
  if (c == 0) {
    struct msg m;
    expect_errno("msgrcv on a removed queue", msgrcv(id, &m, 64, 0, 0), EIDRM);
    child_exit();
  }
  await_blocked(c);
  long r = msgctl(id, IPC_RMID, NULL);
  st = reap(c);
  expect_eq("msgctl IPC_RMID", r, 0);
  expect_eq("EIDRM receiver ok", st, 0);
  expect_errno("msgsnd after IPC_RMID", send_msg(id, 1, "x", 0), EINVAL);

  key_t key = own_key(3);
  expect_errno("msgget absent key", msgget(key, 0600), ENOENT);
  int kid = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  expect_ok("msgget IPC_CREAT|IPC_EXCL", kid);
  expect_errno("msgget IPC_EXCL again", msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
  expect_true("msgget existing key", msgget(key, 0) == kid);
  expect_eq("msgctl IPC_RMID keyed", msgctl(kid, IPC_RMID, NULL), 0);
}

static void sysctls(void) {
  const char *names[] = {"shmmni", "sem", "msgmax", "msgmnb", "msgmni"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[64], buf[128] = {0};
    snprintf(path, sizeof path, "/proc/sys/kernel/%s", names[i]);
    FILE *f = fopen(path, "r");
    if (!f || !fgets(buf, sizeof buf, f)) {
      say(path, "unreadable");
    } else {
      buf[strcspn(buf, "\n")] = 0;
      say(path, "%s", buf);
    }
    if (f)
      fclose(f);
  }
}

int main(void) {
  as_root = geteuid() == 0;
  shm_basics();
  shm_keys_and_ctl();
  sem_tests();
  msg_tests();
  sysctls();
  return check_finish();
}
