//! The CPU's time-stamp counter, as the vDSO's clock reads it (see `kernel::vdso`).

use std::arch::asm;

/// The TSC, read after every earlier instruction and before any later one (the same
/// fenced read the vDSO makes).
pub fn read() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: lfence and rdtsc touch no memory and only the named registers; user space
    // may execute rdtsc (neither the host kernel nor the sentry sets CR4.TSD). Without
    // `nomem` the block is also a compiler barrier, like the fences themselves.
    unsafe {
        asm!("lfence", "rdtsc", "lfence", out("eax") lo, out("edx") hi, options(nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// The TSC, read only once every earlier store is globally visible: a seqlock writer
/// reads it right after marking the parameter page as being updated, so that any
/// reader that still sees the old parameters read an earlier TSC value.
pub fn read_after_stores() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: as in `read`; mfence only orders this thread's memory accesses.
    unsafe {
        asm!("mfence", "lfence", "rdtsc", "lfence", out("eax") lo, out("edx") hi, options(nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}
