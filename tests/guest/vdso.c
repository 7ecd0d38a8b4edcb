/*
 * vdso: the vDSO the kernel maps into every program (AT_SYSINFO_EHDR), found and
 * called by hand: its dynamic symbol table is parsed here, not by the C library.
 * Its clocks must agree with the clock_gettime system call (made with syscall(2),
 * so it really traps), never go back — in one thread, across threads, across fork —
 * and the vDSO must be there again after fork and after exec.
 *
 *     vdso              the checks
 *     vdso exec-child   what the program exec'd by the checks prints
 *     vdso loop N       N clock_gettime(CLOCK_MONOTONIC) calls through the C library,
 *                       then one raw clock_gettime system call (for strace)
 */
#include "check.h"

#include <elf.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How far a vDSO clock may be from the system call's, beyond the order of the calls:
 * the sentry's vDSO follows the host's clock within about a microsecond. */
#define TOLERANCE_NS 1000000LL
#define CALLS 100000
#define THREAD_CALLS 20000

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
typedef int (*clock_getres_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);

static clock_gettime_fn vdso_clock_gettime;

/* The vDSO's image: its dynamic section's tables, with the load bias applied. */
struct image {
  uintptr_t bias;
  const Elf64_Sym *symtab;
  const char *strtab;
  const Elf64_Half *versym;
  const Elf64_Verdef *verdef;
  size_t nsyms;
};

static int parse_image(uintptr_t base, struct image *im) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
  const Elf64_Dyn *dyn = NULL;
  memset(im, 0, sizeof *im);
  int have_load = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && !have_load) {
      im->bias = base + ph[i].p_offset - ph[i].p_vaddr;
      have_load = 1;
    }
  }
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_DYNAMIC)
      dyn = (const Elf64_Dyn *)(im->bias + ph[i].p_vaddr);
  if (!have_load || !dyn)
    return 0;
  const Elf32_Word *hash = NULL;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    uintptr_t p = im->bias + dyn->d_un.d_ptr;
    switch (dyn->d_tag) {
    case DT_SYMTAB:
      im->symtab = (const Elf64_Sym *)p;
      break;
    case DT_STRTAB:
      im->strtab = (const char *)p;
      break;
    case DT_HASH:
      hash = (const Elf32_Word *)p;
      break;
    case DT_VERSYM:
      im->versym = (const Elf64_Half *)p;
      break;
    case DT_VERDEF:
      im->verdef = (const Elf64_Verdef *)p;
      break;
    }
  }
  if (!im->symtab || !im->strtab)
    return 0;
  /* nchain of DT_HASH is the symbol count; without it, .dynstr follows .dynsym. */
  im->nsyms = hash ? hash[1] : (size_t)((const char *)im->strtab - (const char *)im->symtab) / sizeof(Elf64_Sym);
  return 1;
}

static const char *version_name(const struct image *im, size_t sym) {
  if (!im->versym || !im->verdef)
    return "(none)";
  Elf64_Half want = im->versym[sym] & 0x7fff;
  const Elf64_Verdef *vd = im->verdef;
  for (;;) {
    if (vd->vd_ndx == want) {
      const Elf64_Verdaux *aux = (const Elf64_Verdaux *)((const char *)vd + vd->vd_aux);
      return im->strtab + aux->vda_name;
    }
    if (!vd->vd_next)
      return "(unknown)";
    vd = (const Elf64_Verdef *)((const char *)vd + vd->vd_next);
  }
}

/* The address of an exported function, and its version's name. */
static void *lookup(const struct image *im, const char *name, const char **version) {
  for (size_t i = 1; i < im->nsyms; i++) {
    const Elf64_Sym *s = &im->symtab[i];
    if (ELF64_ST_TYPE(s->st_info) != STT_FUNC || s->st_shndx == SHN_UNDEF)
      continue;
    if (strcmp(im->strtab + s->st_name, name) == 0) {
      if (version)
        *version = version_name(im, i);
      return (void *)(im->bias + s->st_value);
    }
  }
  return NULL;
}

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static long long sys_ns(clockid_t c) {
  struct timespec t;
  if (syscall(SYS_clock_gettime, c, &t) != 0)
    return -1;
  return ns_of(t);
}

static long long vdso_ns(clockid_t c) {
  struct timespec t;
  if (vdso_clock_gettime(c, &t) != 0)
    return -1;
  return ns_of(t);
}

/* vDSO, system call, vDSO: the system call's reading lies between the two others,
 * give or take `slack` ns. */
static int agrees_with_syscall(clockid_t c, long long slack) {
  long long before = vdso_ns(c), sys = sys_ns(c), after = vdso_ns(c);
  return before >= 0 && sys >= 0 && before <= after && sys >= before - slack &&
         sys <= after + slack;
}

static int monotonic_in_one_thread(int calls) {
  long long last = vdso_ns(CLOCK_MONOTONIC);
  for (int i = 0; i < calls; i++) {
    long long now = vdso_ns(CLOCK_MONOTONIC);
    if (now < last)
      return 0;
    last = now;
  }
  return 1;
}

/* The latest CLOCK_MONOTONIC any thread has seen: a thread that saw it must read a
 * time at least as late. */
static _Atomic long long latest;
static atomic_int went_back;

static void *race(void *arg) {
  (void)arg;
  for (int i = 0; i < THREAD_CALLS; i++) {
    long long seen = atomic_load(&latest);
    long long now = vdso_ns(CLOCK_MONOTONIC);
    if (now < seen)
      atomic_store(&went_back, 1);
    while (seen < now && !atomic_compare_exchange_weak(&latest, &seen, now)) {
    }
  }
  return NULL;
}

/* Where /proc/self/maps says the vDSO and its data page are. */
static unsigned long vdso_lo, vdso_hi, vvar_lo, vvar_hi;

/* The [vdso] and [vvar] lines of /proc/self/maps: their permissions, and whether
 * the vDSO's range holds `ehdr`. */
static void check_maps(uintptr_t ehdr) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512], vdso_perms[8] = "", vvar_perms[8] = "";
  int holds = 0;
  while (f && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3)
      continue;
    if (strstr(line, "[vdso]\n")) {
      strcpy(vdso_perms, perms);
      holds = ehdr >= lo && ehdr < hi;
      vdso_lo = lo;
      vdso_hi = hi;
    } else if (strstr(line, "[vvar]\n")) {
      strcpy(vvar_perms, perms);
      vvar_lo = lo;
      vvar_hi = hi;
    }
  }
  if (f)
    fclose(f);
  expect_str("maps_vdso_perms", vdso_perms, "r-xp");
  expect_true("maps_vdso_holds_at_sysinfo_ehdr", holds);
  expect_str("maps_vvar_perms", vvar_perms, "r--p");
}

static int exec_child(void) {
  uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  struct image im;
  expect_true("exec_child_has_vdso", base != 0 && parse_image(base, &im));
  vdso_clock_gettime = (clock_gettime_fn)lookup(&im, "__vdso_clock_gettime", NULL);
  expect_true("exec_child_vdso_clock_agrees", vdso_clock_gettime &&
                                                  agrees_with_syscall(CLOCK_MONOTONIC, TOLERANCE_NS));
  check_maps(base);
  return check_finish();
}

static int loop(long n) {
  struct timespec t;
  for (long i = 0; i < n; i++)
    clock_gettime(CLOCK_MONOTONIC, &t);
  syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "exec-child") == 0)
    return exec_child();
  if (argc == 3 && strcmp(argv[1], "loop") == 0)
    return loop(atol(argv[2]));

  uintptr_t base = getauxval(AT_SYSINFO_EHDR);
  expect_true("at_sysinfo_ehdr_present", base != 0);
  if (!base)
    return check_finish();
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
  expect_true("vdso_is_elf", memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0);
  expect_eq("vdso_elf_class", eh->e_ident[EI_CLASS], ELFCLASS64);
  expect_eq("vdso_elf_type", eh->e_type, ET_DYN);
  struct image im;
  expect_true("vdso_dynamic_section_parsed", parse_image(base, &im));

  const char *version = "";
  vdso_clock_gettime = (clock_gettime_fn)lookup(&im, "__vdso_clock_gettime", &version);
  expect_true("vdso_clock_gettime_found", vdso_clock_gettime != NULL);
  expect_str("vdso_clock_gettime_version", version, "LINUX_2.6");
  gettimeofday_fn vdso_gettimeofday = (gettimeofday_fn)lookup(&im, "__vdso_gettimeofday", NULL);
  time_fn vdso_time = (time_fn)lookup(&im, "__vdso_time", NULL);
  clock_getres_fn vdso_clock_getres = (clock_getres_fn)lookup(&im, "__vdso_clock_getres", NULL);
  expect_true("vdso_gettimeofday_found", vdso_gettimeofday != NULL);
  expect_true("vdso_time_found", vdso_time != NULL);
  expect_true("vdso_getcpu_found", lookup(&im, "__vdso_getcpu", NULL) != NULL);
  if (!vdso_clock_gettime || !vdso_gettimeofday || !vdso_time)
    return check_finish();

  /* Each clock agrees with the system call. A coarse clock lags the time by up to a
   * few ticks (more than one where ticks are skipped while idle), and the sentry's vDSO
   * answers it with the fine one. */
  struct timespec res;
  long long coarse_res = clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 ? ns_of(res) : 0;
  expect_true("realtime_agrees_with_syscall", agrees_with_syscall(CLOCK_REALTIME, TOLERANCE_NS));
  expect_true("monotonic_agrees_with_syscall", agrees_with_syscall(CLOCK_MONOTONIC, TOLERANCE_NS));
  expect_true("boottime_agrees_with_syscall", agrees_with_syscall(CLOCK_BOOTTIME, TOLERANCE_NS));
  expect_true("realtime_coarse_agrees_with_syscall",
              agrees_with_syscall(CLOCK_REALTIME_COARSE, TOLERANCE_NS + 5 * coarse_res));
  expect_true("monotonic_coarse_agrees_with_syscall",
              agrees_with_syscall(CLOCK_MONOTONIC_COARSE, TOLERANCE_NS + 5 * coarse_res));
  /* Clocks the vDSO does not compute itself still work (through the system call). */
  expect_true("process_cputime_through_vdso", vdso_ns(CLOCK_PROCESS_CPUTIME_ID) >= 0);
  expect_true("monotonic_raw_through_vdso", vdso_ns(CLOCK_MONOTONIC_RAW) > 0);
  struct timespec t;
  expect_eq("bad_clock_through_vdso", vdso_clock_gettime(12345, &t), -EINVAL);

  /* clock_getres answers as the system call does. */
  if (vdso_clock_getres) {
    clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE};
    int same = 1;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
      struct timespec a = {0}, b = {0};
      same &= vdso_clock_getres(ids[i], &a) == 0 && syscall(SYS_clock_getres, ids[i], &b) == 0 &&
              a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
    }
    expect_true("clock_getres_agrees_with_syscall", same);
  }

  /* gettimeofday and time agree with CLOCK_REALTIME, through the vDSO and libc. */
  struct timeval tv;
  long long rt_before = vdso_ns(CLOCK_REALTIME);
  expect_eq("vdso_gettimeofday", vdso_gettimeofday(&tv, NULL), 0);
  long long rt_after = vdso_ns(CLOCK_REALTIME);
  long long tv_ns = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
  expect_true("gettimeofday_agrees_with_realtime",
              tv_ns >= rt_before / 1000 * 1000 && tv_ns <= rt_after);
  time_t stored = 0;
  time_t now = vdso_time(&stored);
  long long rt_sec = vdso_ns(CLOCK_REALTIME) / 1000000000LL;
  /* time() may be a tick behind (Linux's reads the coarse clock). */
  expect_true("time_agrees_with_realtime", now == stored && now <= rt_sec && now >= rt_sec - 1);
  struct timeval libc_tv;
  gettimeofday(&libc_tv, NULL);
  expect_true("libc_gettimeofday_agrees_with_time",
              libc_tv.tv_sec >= now && libc_tv.tv_sec <= time(NULL) + 1);

  /* Never back: in one thread, across threads, across fork. */
  expect_true("monotonic_never_goes_back_in_100000_calls", monotonic_in_one_thread(CALLS));
  pthread_t threads[4];
  atomic_store(&latest, vdso_ns(CLOCK_MONOTONIC));
  for (int i = 0; i < 4; i++)
    pthread_create(&threads[i], NULL, race, NULL);
  for (int i = 0; i < 4; i++)
    pthread_join(threads[i], NULL);
  expect_true("monotonic_never_goes_back_across_threads", !atomic_load(&went_back));

  int pipefd[2];
  if (pipe(pipefd) != 0)
    return check_finish();
  long long before_fork = vdso_ns(CLOCK_MONOTONIC);
  pid_t child = fork();
  if (child == 0) {
    /* The same vDSO, at the same address, still works in the child. */
    long long first = vdso_ns(CLOCK_MONOTONIC);
    int ok = first >= before_fork && monotonic_in_one_thread(10000) &&
             agrees_with_syscall(CLOCK_MONOTONIC, TOLERANCE_NS) &&
             getauxval(AT_SYSINFO_EHDR) == base;
    long long last = vdso_ns(CLOCK_MONOTONIC);
    if (write(pipefd[1], &last, sizeof last) != sizeof last)
      ok = 0;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  long long child_last = 0;
  expect_eq("child_read_pipe", read(pipefd[0], &child_last, sizeof child_last), sizeof child_last);
  waitpid(child, &status, 0);
  long long after_child = vdso_ns(CLOCK_MONOTONIC);
  expect_true("forked_child_has_a_working_vdso", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  expect_true("monotonic_never_goes_back_across_fork", after_child >= child_last);

  check_maps(base);

  /* The vDSO is the program's own memory: it may move it or unmap it (and then dies
   * if it calls into it). */
  fflush(stdout);
  child = fork();
  if (child == 0) {
    void *moved = mmap(NULL, vdso_hi - vdso_lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (moved == MAP_FAILED ||
        mremap((void *)vdso_lo, vdso_hi - vdso_lo, vdso_hi - vdso_lo, MREMAP_MAYMOVE | MREMAP_FIXED,
               moved) != moved)
      _exit(1);
    if (munmap(moved, vdso_hi - vdso_lo) != 0 || munmap((void *)vvar_lo, vvar_hi - vvar_lo) != 0)
      _exit(2);
    vdso_ns(CLOCK_MONOTONIC);
    _exit(3);
  }
  waitpid(child, &status, 0);
  expect_true("vdso_moved_then_unmapped_then_called_dies_of_sigsegv",
              WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);

  /* After exec the new program has its own vDSO. */
  fflush(stdout);
  child = fork();
  if (child == 0) {
    execl("/proc/self/exe", argv[0], "exec-child", (char *)NULL);
    _exit(127);
  }
  waitpid(child, &status, 0);
  expect_true("exec_child_succeeded", WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return check_finish();
}
