/*
 * moat's vDSO: clock_gettime, gettimeofday, time and clock_getres computed in
 * the guest from the TSC and the sentry's parameter page (vvar.h), so that
 * reading the clock does not trap into the sentry. Whatever cannot be answered
 * here (clocks other than REALTIME, MONOTONIC, BOOTTIME and their coarse
 * variants; any clock before the sentry has calibrated the TSC, or on a host
 * whose TSC is unusable; getcpu) makes the real system call, which the sentry
 * serves.
 *
 * Built by sentry/build.rs with vdso.lds: position independent, no
 * relocations, no data, no libc. Like Linux's vDSO, the functions return 0 or
 * a negative errno (the C library turns that into errno).
 */
#include <stdint.h>

#include "vvar.h"

#define SYS_gettimeofday 96
#define SYS_time 201
#define SYS_clock_gettime 228
#define SYS_clock_getres 229
#define SYS_getcpu 309

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7

#define NSEC_PER_SEC 1000000000LL

struct vdso_timespec {
  int64_t tv_sec;
  int64_t tv_nsec;
};

struct vdso_timeval {
  int64_t tv_sec;
  int64_t tv_usec;
};

struct vdso_timezone {
  int tz_minuteswest;
  int tz_dsttime;
};

/* The parameter page, one page below the ELF header (vdso.lds defines the
 * symbol). Reached PC-relative, so the image needs no relocation. */
static inline const volatile struct moat_vvar *vvar(void) {
  const volatile struct moat_vvar *p;
  __asm__("leaq moat_vvar_page(%%rip), %0" : "=r"(p));
  return p;
}

static inline long raw_syscall(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c)
                   : "rcx", "r11", "memory");
  return ret;
}

/* The TSC, read after every earlier load and before any later one: the
 * seqlock check that follows must not be satisfied by a load performed before
 * the counter was read. */
static inline uint64_t read_tsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
  return ((uint64_t)hi << 32) | lo;
}

/* Reads attempted while the sentry is updating the page before giving up and
 * asking the sentry instead (its updating thread may have been preempted). */
#define MAX_SPINS 1000

/* A consistent reading: CLOCK_MONOTONIC now, and the offsets of the other
 * clocks. Returns 0 when the page is not ready or busy (use the system call). */
static inline int read_clock(uint64_t *mono, int64_t *realtime_offset,
                             int64_t *boottime_offset) {
  const volatile struct moat_vvar *v = vvar();
  uint64_t seq, ready, tsc_base, mono_ns, mono_frac, mult, tsc;
  int64_t rt, bt;
  for (int spins = 0;; spins++) {
    if (spins == MAX_SPINS)
      return 0;
    seq = __atomic_load_n(&v->seq, __ATOMIC_ACQUIRE);
    if (seq & 1) {
      __asm__ volatile("pause" ::: "memory");
      continue;
    }
    ready = v->ready;
    tsc_base = v->tsc_base;
    mono_ns = v->mono_ns;
    mono_frac = v->mono_frac;
    mult = v->mult;
    rt = v->realtime_offset;
    bt = v->boottime_offset;
    tsc = read_tsc();
    if (__atomic_load_n(&v->seq, __ATOMIC_ACQUIRE) == seq)
      break;
  }
  if (!ready)
    return 0;
  /* A reader whose TSC lags the sentry's by a few ticks (another core) sees
   * the base itself, never an earlier time. */
  uint64_t delta = tsc > tsc_base ? tsc - tsc_base : 0;
  unsigned __int128 scaled = (unsigned __int128)delta * mult + mono_frac;
  *mono = mono_ns + (uint64_t)(scaled >> 32);
  *realtime_offset = rt;
  *boottime_offset = bt;
  return 1;
}

static inline void to_timespec(int64_t ns, struct vdso_timespec *ts) {
  int64_t sec = ns / NSEC_PER_SEC, nsec = ns % NSEC_PER_SEC;
  if (nsec < 0) {
    nsec += NSEC_PER_SEC;
    sec--;
  }
  ts->tv_sec = sec;
  ts->tv_nsec = nsec;
}

/* Nanoseconds of `clock` now; 0 if it must be asked of the sentry. */
static inline int clock_ns(int clock, int64_t *ns) {
  uint64_t mono;
  int64_t rt, bt;
  switch (clock) {
  case CLOCK_REALTIME:
  case CLOCK_REALTIME_COARSE:
    if (!read_clock(&mono, &rt, &bt))
      return 0;
    *ns = (int64_t)mono + rt;
    return 1;
  case CLOCK_MONOTONIC:
  case CLOCK_MONOTONIC_COARSE:
    if (!read_clock(&mono, &rt, &bt))
      return 0;
    *ns = (int64_t)mono;
    return 1;
  case CLOCK_BOOTTIME:
    if (!read_clock(&mono, &rt, &bt))
      return 0;
    *ns = (int64_t)mono + bt;
    return 1;
  default:
    return 0;
  }
}

int __vdso_clock_gettime(int clock, struct vdso_timespec *ts) {
  int64_t ns;
  if (!clock_ns(clock, &ns))
    return (int)raw_syscall(SYS_clock_gettime, clock, (long)ts, 0);
  to_timespec(ns, ts);
  return 0;
}

int __vdso_gettimeofday(struct vdso_timeval *tv, struct vdso_timezone *tz) {
  int64_t ns;
  if (tv) {
    if (!clock_ns(CLOCK_REALTIME, &ns))
      return (int)raw_syscall(SYS_gettimeofday, (long)tv, (long)tz, 0);
    struct vdso_timespec ts;
    to_timespec(ns, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  if (tz) {
    /* The sentry keeps no timezone: UTC, as its gettimeofday answers. */
    tz->tz_minuteswest = 0;
    tz->tz_dsttime = 0;
  }
  return 0;
}

int64_t __vdso_time(int64_t *t) {
  int64_t ns;
  if (!clock_ns(CLOCK_REALTIME, &ns))
    return raw_syscall(SYS_time, (long)t, 0, 0);
  struct vdso_timespec ts;
  to_timespec(ns, &ts);
  if (t)
    *t = ts.tv_sec;
  return ts.tv_sec;
}

int __vdso_clock_getres(int clock, struct vdso_timespec *res) {
  const volatile struct moat_vvar *v = vvar();
  uint64_t ns;
  switch (clock) {
  case CLOCK_REALTIME:
  case CLOCK_MONOTONIC:
  case CLOCK_BOOTTIME:
    ns = v->hres_res_ns;
    break;
  case CLOCK_REALTIME_COARSE:
  case CLOCK_MONOTONIC_COARSE:
    ns = v->coarse_res_ns;
    break;
  default:
    ns = 0;
  }
  /* Resolutions are written once, before the page becomes ready. */
  if (!__atomic_load_n(&v->ready, __ATOMIC_ACQUIRE) || ns == 0)
    return (int)raw_syscall(SYS_clock_getres, clock, (long)res, 0);
  if (res)
    to_timespec((int64_t)ns, res);
  return 0;
}

/* The sentry decides which CPU a task is on. */
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache) {
  return raw_syscall(SYS_getcpu, (long)cpu, (long)node, (long)cache);
}

int clock_gettime(int, struct vdso_timespec *)
    __attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct vdso_timeval *, struct vdso_timezone *)
    __attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct vdso_timespec *)
    __attribute__((weak, alias("__vdso_clock_getres")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
