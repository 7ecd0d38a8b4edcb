//! Clocks as the sentry serves them to guests: the host's. Guests mostly read them
//! through moat's vDSO ([`super::vdso`]), which follows these within about a
//! microsecond without a system call.

use crate::abi::Timespec;

fn host_clock(id: nix::time::ClockId) -> Timespec {
    let t = nix::time::clock_gettime(id).unwrap_or_else(|_| nix::sys::time::TimeSpec::new(0, 0));
    Timespec {
        tv_sec: t.tv_sec(),
        tv_nsec: t.tv_nsec(),
    }
}

/// Wall-clock time.
pub fn realtime() -> Timespec {
    host_clock(nix::time::ClockId::CLOCK_REALTIME)
}

/// Monotonic time.
pub fn monotonic() -> Timespec {
    host_clock(nix::time::ClockId::CLOCK_MONOTONIC)
}

/// Time since boot, suspend included: the clock guests read as CLOCK_BOOTTIME (the
/// host's, which clock_gettime and the vDSO serve unchanged), so the sandbox's
/// uptime and start times are on it too.
pub fn boottime() -> Timespec {
    host_clock(nix::time::ClockId::CLOCK_BOOTTIME)
}

/// Nanoseconds of a timespec (saturating).
pub fn to_nanos(t: Timespec) -> i128 {
    t.tv_sec as i128 * 1_000_000_000 + t.tv_nsec as i128
}

/// A timespec from nanoseconds.
pub fn from_nanos(ns: i128) -> Timespec {
    Timespec {
        tv_sec: ns.div_euclid(1_000_000_000) as i64,
        tv_nsec: ns.rem_euclid(1_000_000_000) as i64,
    }
}
