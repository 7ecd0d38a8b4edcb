//! The arithmetic of the vDSO's clock: the parameter page's layout, the line
//! CLOCK_MONOTONIC follows as a function of the TSC, the estimate of the TSC's rate
//! from paired readings of the TSC and the host's clock, and how each update steers
//! the line toward the host's clock without ever going back.
//!
//! Times are nanoseconds; "fixed" values are nanoseconds times 2^32 (the fraction keeps
//! updates exactly continuous). A rate (`mult`) is nanoseconds per TSC tick times 2^32.

use std::collections::VecDeque;

/// Fraction bits of fixed-point nanoseconds and of `mult`.
pub const SHIFT: u32 = 32;

/// Byte offsets of the parameter page's 64-bit words (`struct moat_vvar` in
/// sentry/vdso/vvar.h, whose static assertions state the same numbers).
pub mod offset {
    /// Seqlock counter, odd while an update is under way.
    pub const SEQ: u64 = 0;
    /// 1 once the rest is valid.
    pub const READY: u64 = 8;
    /// TSC value the line starts at.
    pub const TSC_BASE: u64 = 16;
    /// CLOCK_MONOTONIC at `TSC_BASE`, whole nanoseconds.
    pub const MONO_NS: u64 = 24;
    /// ... and the fraction, in 2^-32 ns.
    pub const MONO_FRAC: u64 = 32;
    /// Nanoseconds per tick times 2^32.
    pub const MULT: u64 = 40;
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, ns.
    pub const REALTIME_OFFSET: u64 = 48;
    /// CLOCK_BOOTTIME minus CLOCK_MONOTONIC, ns.
    pub const BOOTTIME_OFFSET: u64 = 56;
    /// clock_getres of the fine clocks, ns.
    pub const HRES_RES_NS: u64 = 64;
    /// clock_getres of the coarse clocks, ns.
    pub const COARSE_RES_NS: u64 = 72;
}

/// How far the line's rate may differ from the estimated TSC rate while it catches up
/// with the host's clock: 1/2000 (500 ppm, the most NTP slews a Linux clock).
const MAX_SLEW_DIVISOR: u128 = 2000;
/// Behind the host by more than this, the line jumps forward instead of slewing.
const MAX_LAG_NS: u128 = 1_000_000;
/// A change of CLOCK_REALTIME or CLOCK_BOOTTIME relative to CLOCK_MONOTONIC smaller than
/// this is measurement noise (the host moves them only by steps: settimeofday, suspend).
pub const OFFSET_NOISE_NS: i64 = 10_000;
/// Rate estimates use readings at most this far apart (older ones are dropped), so the
/// estimate follows the host's NTP adjustments.
const RATE_WINDOW_NS: u64 = 60_000_000_000;

/// One reading of the host's clocks, paired with the TSC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The TSC when CLOCK_MONOTONIC was read.
    pub tsc: u64,
    /// CLOCK_MONOTONIC, ns.
    pub mono: u64,
    /// CLOCK_REALTIME - CLOCK_MONOTONIC, ns.
    pub realtime_offset: i64,
    /// CLOCK_BOOTTIME - CLOCK_MONOTONIC, ns.
    pub boottime_offset: i64,
}

/// What the parameter page tells the vDSO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Params {
    /// The TSC value the line starts at.
    pub tsc_base: u64,
    /// CLOCK_MONOTONIC at `tsc_base`, fixed point.
    pub mono_base: u128,
    /// Nanoseconds per tick times 2^32.
    pub mult: u64,
    /// CLOCK_REALTIME - CLOCK_MONOTONIC, ns.
    pub realtime_offset: i64,
    /// CLOCK_BOOTTIME - CLOCK_MONOTONIC, ns.
    pub boottime_offset: i64,
}

impl Params {
    /// CLOCK_MONOTONIC at `tsc`, fixed point (the base itself for a TSC before it).
    pub fn mono_fixed(&self, tsc: u64) -> u128 {
        let delta = tsc.saturating_sub(self.tsc_base);
        self.mono_base + u128::from(delta) * u128::from(self.mult)
    }

    /// CLOCK_MONOTONIC at `tsc`, ns, exactly as the vDSO computes it.
    #[cfg(test)]
    pub fn mono_at(&self, tsc: u64) -> u64 {
        (self.mono_fixed(tsc) >> SHIFT) as u64
    }

    /// Whole nanoseconds of the base (the page's `mono_ns`).
    pub fn mono_ns(&self) -> u64 {
        (self.mono_base >> SHIFT) as u64
    }

    /// The fraction of the base (the page's `mono_frac`).
    pub fn mono_frac(&self) -> u64 {
        (self.mono_base & ((1 << SHIFT) - 1)) as u64
    }

    /// The parameters to publish at TSC value `now`: the line goes on from where `self`
    /// is at `now` (so no reader ever sees time go back), at a rate chosen to meet the
    /// host's clock (`host`, extrapolated from its reading `reference` at the estimated
    /// rate `rate`) `horizon` ticks later, within the slew limit. Lagging the host by
    /// more than [`MAX_LAG_NS`], it jumps forward to it instead.
    pub fn steer(&self, now: u64, reference: &Sample, rate: u64, horizon: u64) -> Params {
        let host_now = host_fixed(reference, rate, now);
        let here = self.mono_fixed(now);
        let offsets = (
            settle_offset(self.realtime_offset, reference.realtime_offset, true),
            settle_offset(self.boottime_offset, reference.boottime_offset, false),
        );
        if host_now > here + (MAX_LAG_NS << SHIFT) {
            return Params {
                tsc_base: now,
                mono_base: host_now,
                mult: rate,
                realtime_offset: offsets.0,
                boottime_offset: offsets.1,
            };
        }
        let horizon = horizon.max(1);
        let target = host_fixed(reference, rate, now.saturating_add(horizon)) as i128;
        let wanted = (target - here as i128) / i128::from(horizon);
        let rate128 = i128::from(rate);
        let slew = (rate as u128 / MAX_SLEW_DIVISOR) as i128;
        let mult = wanted.clamp(rate128 - slew, rate128 + slew).max(0) as u64;
        Params {
            tsc_base: now,
            mono_base: here,
            mult,
            realtime_offset: offsets.0,
            boottime_offset: offsets.1,
        }
    }

    /// The first parameters: the host's clock as `reference` and `rate` predict it at
    /// `now`.
    pub fn start(now: u64, reference: &Sample, rate: u64) -> Params {
        Params {
            tsc_base: now,
            mono_base: host_fixed(reference, rate, now),
            mult: rate,
            realtime_offset: reference.realtime_offset,
            boottime_offset: reference.boottime_offset,
        }
    }
}

/// The host's CLOCK_MONOTONIC at `tsc`, fixed point, extrapolated from `reference` at
/// `rate` (backwards too, for a TSC before the reading).
fn host_fixed(reference: &Sample, rate: u64, tsc: u64) -> u128 {
    let base = u128::from(reference.mono) << SHIFT;
    if tsc >= reference.tsc {
        base + u128::from(tsc - reference.tsc) * u128::from(rate)
    } else {
        base.saturating_sub(u128::from(reference.tsc - tsc) * u128::from(rate))
    }
}

/// The offset to publish given the current one and a new measurement: unchanged unless
/// the host's clock really moved (by more than [`OFFSET_NOISE_NS`]); CLOCK_BOOTTIME's
/// offset (`may_decrease` false) only ever grows, so that clock never goes back.
fn settle_offset(current: i64, measured: i64, may_decrease: bool) -> i64 {
    let moved = measured.saturating_sub(current);
    if moved > OFFSET_NOISE_NS || (may_decrease && moved < -OFFSET_NOISE_NS) {
        measured
    } else {
        current
    }
}

/// Readings of the host's clocks over the last minute, from which the TSC's rate is
/// estimated.
#[derive(Default)]
pub struct Calibration {
    samples: VecDeque<Sample>,
}

/// Why a reading cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unusable {
    /// The TSC or the host's monotonic clock went back between readings.
    WentBack,
    /// The TSC's rate moved by more than 1% between estimates.
    RateJumped,
}

impl Calibration {
    /// Adds a reading. An inconsistent one means the TSC cannot be trusted.
    pub fn add(&mut self, s: Sample) -> Result<(), Unusable> {
        if let Some(last) = self.samples.back() {
            if s.tsc <= last.tsc || s.mono < last.mono {
                return Err(Unusable::WentBack);
            }
        }
        let before = self.rate();
        self.samples.push_back(s);
        while self.samples.len() > 2
            && s.mono - self.samples.front().map_or(s.mono, |f| f.mono) > RATE_WINDOW_NS
        {
            self.samples.pop_front();
        }
        if let (Some(before), Some(after)) = (before, self.rate()) {
            if before.abs_diff(after) > before / 100 {
                return Err(Unusable::RateJumped);
            }
        }
        Ok(())
    }

    /// The TSC's rate (ns per tick times 2^32) from the oldest to the newest reading.
    pub fn rate(&self) -> Option<u64> {
        let (first, last) = (self.samples.front()?, self.samples.back()?);
        let ticks = last.tsc - first.tsc;
        if ticks == 0 {
            return None;
        }
        let ns = u128::from(last.mono - first.mono);
        u64::try_from((ns << SHIFT) / u128::from(ticks)).ok()
    }
}

#[cfg(test)]
mod tests;
