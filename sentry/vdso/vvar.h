/*
 * vvar.h: the parameter page the sentry keeps for moat's vDSO.
 *
 * The page is mapped read-only one page below the vDSO's ELF header in every
 * guest; the sentry writes it through its own mapping of the memory file. The
 * layout must match `VvarLayout` in sentry/src/kernel/vdso/params.rs (the
 * offsets are checked on both sides).
 *
 * Every field is a 64-bit word. The sentry updates them as a seqlock: `seq` is
 * odd while an update is under way; a reader that saw the same even `seq`
 * before and after reading the fields (and the TSC) read a consistent set.
 *
 * CLOCK_MONOTONIC at TSC value t (t >= tsc_base) is
 *
 *     mono_ns + ((t - tsc_base) * mult + mono_frac) >> 32
 *
 * in nanoseconds (mult is nanoseconds per TSC tick times 2^32, mono_frac the
 * fraction of a nanosecond of the base, in 2^-32 ns). CLOCK_REALTIME and
 * CLOCK_BOOTTIME are CLOCK_MONOTONIC plus realtime_offset and boottime_offset.
 */
#ifndef MOAT_VVAR_H
#define MOAT_VVAR_H

#include <stdint.h>

/* `ready`: the fields below are valid and the TSC may be used. When 0 (not yet
 * calibrated, or the host's TSC is unusable) every call makes the real system
 * call, which the sentry serves. */
struct moat_vvar {
  uint64_t seq;
  uint64_t ready;
  uint64_t tsc_base;
  uint64_t mono_ns;
  uint64_t mono_frac;
  uint64_t mult;
  int64_t realtime_offset;
  int64_t boottime_offset;
  /* clock_getres of the fine clocks (REALTIME, MONOTONIC, BOOTTIME) and of the
   * coarse ones, in ns, as the sentry's clock_getres answers. */
  uint64_t hres_res_ns;
  uint64_t coarse_res_ns;
};

_Static_assert(__builtin_offsetof(struct moat_vvar, seq) == 0, "vvar layout");
_Static_assert(__builtin_offsetof(struct moat_vvar, ready) == 8, "vvar layout");
_Static_assert(__builtin_offsetof(struct moat_vvar, tsc_base) == 16, "vvar layout");
_Static_assert(__builtin_offsetof(struct moat_vvar, mono_ns) == 24, "vvar layout");
_Static_assert(__builtin_offsetof(struct moat_vvar, mono_frac) == 32, "vvar layout");
_Static_assert(__builtin_offsetof(struct moat_vvar, mult) == 40, "vvar layout");
_Static_assert(__builtin_offsetof(struct moat_vvar, realtime_offset) == 48, "vvar layout");
_Static_assert(__builtin_offsetof(struct moat_vvar, boottime_offset) == 56, "vvar layout");
_Static_assert(__builtin_offsetof(struct moat_vvar, hres_res_ns) == 64, "vvar layout");
_Static_assert(__builtin_offsetof(struct moat_vvar, coarse_res_ns) == 72, "vvar layout");

#endif
