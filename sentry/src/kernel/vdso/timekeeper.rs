//! The sentry's side of the vDSO clock: a thread that reads the host's clocks against
//! the TSC and publishes the line of [`Params`] in the parameter page.

use std::sync::atomic::{fence, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use nix::time::{clock_getres, clock_gettime, ClockId};
use tracing::warn;

use super::params::{offset, Calibration, Params, Sample, OFFSET_NOISE_NS, SHIFT};
use crate::errno::{Errno, Result};
use crate::mm::KernelPages;
use crate::platform::tsc;

/// The first update comes this long after the first reading (the sentry waits for it
/// while it boots); each interval after is twice the one before, up to
/// [`MAX_INTERVAL`]. The first rate estimate is good to a few tens of ppm, a tenth of a
/// microsecond before the next update corrects it.
const FIRST_INTERVAL: Duration = Duration::from_millis(2);
/// The longest time between updates.
const MAX_INTERVAL: Duration = Duration::from_secs(1);
/// Readings taken for one sample (see [`read_host`]), and at most.
const TRIES: usize = 5;
const MAX_TRIES: usize = 50;

fn ns(id: ClockId) -> i128 {
    clock_gettime(id).map_or(0, |t| {
        i128::from(t.tv_sec()) * 1_000_000_000 + i128::from(t.tv_nsec())
    })
}

/// One reading of the host's clocks against the TSC: CLOCK_MONOTONIC paired with the
/// TSC from the try with the fewest ticks around the read, the other clocks' offsets
/// from the try with the least time between the two monotonic reads around them (a
/// try that an interrupt or preemption disturbed loses; more are made, up to
/// [`MAX_TRIES`], until that time is within half of [`OFFSET_NOISE_NS`]).
fn read_host() -> Sample {
    let mut best_pair: Option<(u64, u64, u64)> = None; // (ticks, tsc, mono)
    let mut best_offsets: Option<(i128, i64, i64)> = None; // (ns, realtime, boottime)
    for i in 0..MAX_TRIES {
        let before = tsc::read();
        let mono = ns(ClockId::CLOCK_MONOTONIC);
        let after = tsc::read();
        let realtime = ns(ClockId::CLOCK_REALTIME);
        let boottime = ns(ClockId::CLOCK_BOOTTIME);
        let mono_again = ns(ClockId::CLOCK_MONOTONIC);
        let width = after.wrapping_sub(before);
        if best_pair.is_none_or(|(w, _, _)| width < w) {
            best_pair = Some((width, before + width / 2, mono as u64));
        }
        let mid = (mono + mono_again) / 2;
        let spread = mono_again - mono;
        if best_offsets.is_none_or(|(s, _, _)| spread < s) {
            best_offsets = Some((spread, (realtime - mid) as i64, (boottime - mid) as i64));
        }
        let offsets_good =
            best_offsets.is_some_and(|(s, _, _)| s < i128::from(OFFSET_NOISE_NS / 2));
        if i + 1 >= TRIES && offsets_good {
            break;
        }
    }
    let (_, tsc, mono) = best_pair.expect("MAX_TRIES > 0");
    let (_, realtime_offset, boottime_offset) = best_offsets.expect("MAX_TRIES > 0");
    Sample {
        tsc,
        mono,
        realtime_offset,
        boottime_offset,
    }
}

/// Ticks of the TSC in `d` at `rate`.
fn ticks(d: Duration, rate: u64) -> u64 {
    ((d.as_nanos() << SHIFT) / u128::from(rate.max(1))) as u64
}

/// One seqlock write of the parameter page (whose count is `seq`; only the timekeeper
/// writes): `make` gets the TSC read after the page is marked as being updated (so
/// every reader that still gets the old parameters read an earlier TSC value) and
/// returns what to publish, or None to stop serving the clock.
fn publish(
    vvar: &KernelPages,
    seq: &mut u64,
    make: impl FnOnce(u64) -> Option<Params>,
) -> Option<Params> {
    *seq += 1;
    vvar.store_u64(offset::SEQ, *seq, Ordering::Relaxed);
    // The field stores below stay after the odd count (read_after_stores also waits
    // for it to be globally visible before reading the TSC).
    fence(Ordering::Release);
    let now = tsc::read_after_stores();
    let params = make(now);
    let store = |at, v| vvar.store_u64(at, v, Ordering::Relaxed);
    match &params {
        Some(p) => {
            store(offset::TSC_BASE, p.tsc_base);
            store(offset::MONO_NS, p.mono_ns());
            store(offset::MONO_FRAC, p.mono_frac());
            store(offset::MULT, p.mult);
            store(offset::REALTIME_OFFSET, p.realtime_offset as u64);
            store(offset::BOOTTIME_OFFSET, p.boottime_offset as u64);
            store(offset::READY, 1);
        }
        None => store(offset::READY, 0),
    }
    *seq += 1;
    vvar.store_u64(offset::SEQ, *seq, Ordering::Release);
    params
}

/// Starts keeping the vDSO's clock in `vvar`: writes the clocks' resolutions, reads
/// the host's clocks twice [`FIRST_INTERVAL`] apart (so the clock is in service before
/// any guest runs) and publishes the first parameters, then starts the thread that
/// refreshes them. The thread ends when the page is dropped, or when the TSC proves
/// unusable (the vDSO then makes system calls).
pub(super) fn start(vvar: &Arc<KernelPages>) -> Result<()> {
    let res =
        |id| clock_getres(id).map_or(0, |t| (t.tv_sec() * 1_000_000_000 + t.tv_nsec()) as u64);
    vvar.store_u64(
        offset::HRES_RES_NS,
        res(ClockId::CLOCK_MONOTONIC),
        Ordering::Relaxed,
    );
    vvar.store_u64(
        offset::COARSE_RES_NS,
        res(ClockId::CLOCK_MONOTONIC_COARSE),
        Ordering::Relaxed,
    );
    let mut keeper = Timekeeper {
        calibration: Calibration::default(),
        current: None,
        interval: FIRST_INTERVAL,
        vvar: Arc::downgrade(vvar),
        seq: 0,
    };
    keeper
        .calibration
        .add(read_host())
        .expect("the first reading is always consistent");
    std::thread::sleep(FIRST_INTERVAL);
    if !keeper.update() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("vdso-clock".to_string())
        .spawn(move || keeper.run())
        .map_err(|e| Errno::new(e.raw_os_error().unwrap_or(libc::EAGAIN)))?;
    Ok(())
}

/// The timekeeper's state between updates.
struct Timekeeper {
    calibration: Calibration,
    current: Option<Params>,
    interval: Duration,
    /// The parameter page: weak, so that dropping the kernel ends the thread.
    vvar: Weak<KernelPages>,
    /// Its seqlock count.
    seq: u64,
}

impl Timekeeper {
    /// Reads the host's clocks and publishes the next parameters; false if the page is
    /// gone or the TSC proved unusable (the page is then marked not ready for good).
    fn update(&mut self) -> bool {
        let Some(vvar) = self.vvar.upgrade() else {
            return false;
        };
        let sample = read_host();
        if let Err(why) = self.calibration.add(sample) {
            warn!(
                ?why,
                "the TSC is unusable: guests' clock reads trap from now on"
            );
            publish(&vvar, &mut self.seq, |_| None);
            return false;
        }
        let rate = self.calibration.rate().expect("two readings");
        let next = (self.interval * 2).min(MAX_INTERVAL);
        let horizon = ticks(next, rate);
        let current = self.current;
        self.current = publish(&vvar, &mut self.seq, |now| {
            Some(match &current {
                None => Params::start(now, &sample, rate),
                Some(p) => p.steer(now, &sample, rate, horizon),
            })
        });
        self.interval = next;
        true
    }

    /// Updates at every interval while the page lives and the TSC can be trusted.
    fn run(mut self) {
        loop {
            std::thread::sleep(self.interval);
            if !self.update() {
                return;
            }
        }
    }
}
