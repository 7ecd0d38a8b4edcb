use super::*;

/// A host whose TSC ticks `ghz` times per nanosecond of CLOCK_MONOTONIC, starting at
/// `mono0` ns; readings are off by `noise_ns` (alternating sign).
struct Host {
    ghz: f64,
    mono0: u64,
}

impl Host {
    fn mono(&self, tsc: u64) -> u64 {
        self.mono0 + (tsc as f64 / self.ghz) as u64
    }

    fn sample(&self, tsc: u64, noise_ns: i64) -> Sample {
        Sample {
            tsc,
            mono: self.mono(tsc).saturating_add_signed(noise_ns),
            realtime_offset: 1_700_000_000_000_000_000,
            boottime_offset: 5_000_000_000,
        }
    }

    fn rate(&self) -> u64 {
        ((1u64 << SHIFT) as f64 / self.ghz) as u64
    }
}

const HOST: Host = Host {
    ghz: 2.1,
    mono0: 1_000_000_000_000,
};

#[test]
fn rate_of_a_2_1_ghz_tsc_is_its_period_in_fixed_point() {
    let mut c = Calibration::default();
    c.add(HOST.sample(1_000, 0)).unwrap();
    c.add(HOST.sample(21_000_000_000, 0)).unwrap();
    let rate = c.rate().unwrap();
    assert!(rate.abs_diff(HOST.rate()) <= 1, "{rate} vs {}", HOST.rate());
}

#[test]
fn reading_that_goes_back_is_refused() {
    let mut c = Calibration::default();
    c.add(HOST.sample(2_000_000, 0)).unwrap();
    assert_eq!(c.add(HOST.sample(1_000_000, 0)), Err(Unusable::WentBack));
}

#[test]
fn rate_that_jumps_by_more_than_a_percent_is_refused() {
    let mut c = Calibration::default();
    c.add(HOST.sample(0, 0)).unwrap();
    c.add(HOST.sample(21_000_000, 0)).unwrap();
    let mut fast = HOST.sample(42_000_000, 0);
    fast.mono += 1_000_000; // 10 ms of TSC, 11 ms of clock
    assert_eq!(c.add(fast), Err(Unusable::RateJumped));
}

#[test]
fn old_readings_leave_the_rate_window() {
    let mut c = Calibration::default();
    for i in 0..100u64 {
        c.add(HOST.sample(i * 2_100_000_000, 0)).unwrap();
    }
    // 100 s of readings, one a second: at most a minute's worth is kept.
    assert!(c.samples.len() <= 62, "{}", c.samples.len());
}

#[test]
fn evaluation_matches_the_vdso_formula() {
    let p = Params {
        tsc_base: 1_000,
        mono_base: (5u128 << SHIFT) + (3 << 30),
        mult: 3 << 31, // 1.5 ns per tick
        realtime_offset: 0,
        boottime_offset: 0,
    };
    assert_eq!((p.mono_ns(), p.mono_frac()), (5, 3 << 30));
    // mono_ns + ((delta * mult + mono_frac) >> 32)
    for tsc in [0u64, 1_000, 1_001, 1_002, 1_000_000] {
        let delta = tsc.saturating_sub(1_000) as u128;
        let vdso = p.mono_ns() + ((delta * p.mult as u128 + p.mono_frac() as u128) >> 32) as u64;
        assert_eq!(p.mono_at(tsc), vdso, "at {tsc}");
    }
    assert_eq!(p.mono_at(1_002), 5 + 3); // 5.75 + 3.0
}

#[test]
fn start_puts_the_line_on_the_host_clock() {
    let p = Params::start(10_500, &HOST.sample(10_000, 0), HOST.rate());
    assert!(p.mono_at(10_500).abs_diff(HOST.mono(10_500)) <= 1);
    assert_eq!(p.realtime_offset, 1_700_000_000_000_000_000);
}

#[test]
fn steering_is_continuous_where_it_happens() {
    let p = Params::start(0, &HOST.sample(0, 0), HOST.rate());
    // The host reading says the line is 300 ns ahead.
    let now = 2_100_000_000;
    let q = p.steer(now, &HOST.sample(now, -300), HOST.rate(), 2_100_000_000);
    assert_eq!(q.mono_fixed(now), p.mono_fixed(now));
    assert!(q.mult < p.mult, "a line ahead of the host slows down");
}

#[test]
fn steering_meets_the_host_clock_at_the_horizon() {
    let p = Params::start(0, &HOST.sample(0, 0), HOST.rate());
    let now = 2_100_000_000;
    let horizon = 2_100_000_000;
    let q = p.steer(now, &HOST.sample(now, 400), HOST.rate(), horizon);
    let at = now + horizon;
    let expected = HOST.mono(at) + 400;
    assert!(
        q.mono_at(at).abs_diff(expected) <= 2,
        "{} vs {expected}",
        q.mono_at(at)
    );
}

#[test]
fn steering_never_slews_more_than_500_ppm() {
    let p = Params::start(0, &HOST.sample(0, 0), HOST.rate());
    let now = 2_100_000_000;
    // 900 µs behind: too much to catch up in 1 ms at 500 ppm, too little to jump.
    let q = p.steer(now, &HOST.sample(now, 900_000), HOST.rate(), 2_100_000);
    assert_eq!(q.mult, HOST.rate() + HOST.rate() / 2000);
    let r = p.steer(now, &HOST.sample(now, -900_000), HOST.rate(), 2_100_000);
    assert_eq!(r.mult, HOST.rate() - HOST.rate() / 2000);
}

#[test]
fn far_behind_the_line_jumps_forward() {
    let p = Params::start(0, &HOST.sample(0, 0), HOST.rate());
    let now = 2_100_000_000;
    let q = p.steer(
        now,
        &HOST.sample(now, 5_000_000),
        HOST.rate(),
        2_100_000_000,
    );
    assert!(q.mono_at(now).abs_diff(HOST.mono(now) + 5_000_000) <= 1);
}

#[test]
fn far_ahead_the_line_does_not_go_back() {
    let p = Params::start(0, &HOST.sample(0, 0), HOST.rate());
    let now = 2_100_000_000;
    let q = p.steer(
        now,
        &HOST.sample(now, -5_000_000),
        HOST.rate(),
        2_100_000_000,
    );
    assert_eq!(q.mono_at(now), p.mono_at(now));
    assert!(q.mult > 0);
}

#[test]
fn offsets_move_only_by_real_steps_and_boottime_only_forward() {
    let p = Params::start(0, &HOST.sample(0, 0), HOST.rate());
    let mut s = HOST.sample(1_000_000, 0);
    s.realtime_offset -= 500; // noise
    s.boottime_offset -= 500;
    let q = p.steer(1_000_000, &s, HOST.rate(), 1_000);
    assert_eq!(
        (q.realtime_offset, q.boottime_offset),
        (p.realtime_offset, p.boottime_offset)
    );
    s.realtime_offset -= 3_600_000_000_000; // settimeofday an hour back
    s.boottime_offset -= 3_600_000_000_000; // cannot happen: ignored
    let r = q.steer(2_000_000, &s, HOST.rate(), 1_000);
    assert_eq!(r.realtime_offset, p.realtime_offset - 3_600_000_000_500);
    assert_eq!(r.boottime_offset, p.boottime_offset);
    s.boottime_offset += 7_200_000_000_000; // a suspend
    let b = r.steer(3_000_000, &s, HOST.rate(), 1_000);
    assert_eq!(b.boottime_offset, s.boottime_offset);
}

/// The timekeeper's loop against a host whose TSC runs at no round rate and whose
/// readings are noisy: the line never goes back, at any TSC value,
/// and stays within a microsecond of the host's clock.
#[test]
fn simulated_updates_stay_monotonic_and_close_to_the_host() {
    let host = Host {
        ghz: 2.1 * (1.0 + 37e-6),
        mono0: 7_000_000_000,
    };
    let mut cal = Calibration::default();
    let mut tsc = 123_456u64;
    cal.add(host.sample(tsc, 40)).unwrap();
    let mut interval_ns = 10_000_000u64;
    let ticks = |ns: u64| (ns as f64 * host.ghz) as u64;
    tsc += ticks(interval_ns);
    cal.add(host.sample(tsc, -40)).unwrap();
    let mut p = Params::start(tsc + 100, cal.samples.back().unwrap(), cal.rate().unwrap());
    let mut worst = 0u64;
    for i in 0..200 {
        let next_interval = (interval_ns * 2).min(1_000_000_000);
        // Check the line between updates, densely near the start.
        let end = tsc + ticks(interval_ns);
        let mut last = p.mono_at(tsc);
        let mut t = tsc;
        while t < end {
            let v = p.mono_at(t);
            assert!(v >= last, "went back at update {i}");
            worst = worst.max(v.abs_diff(host.mono(t)));
            last = v;
            t += ticks(interval_ns) / 97 + 1;
        }
        tsc = end;
        let noise = if i % 2 == 0 { 60 } else { -60 };
        cal.add(host.sample(tsc, noise)).unwrap();
        let now = tsc + 500;
        let q = p.steer(
            now,
            cal.samples.back().unwrap(),
            cal.rate().unwrap(),
            ticks(next_interval),
        );
        assert_eq!(q.mono_fixed(now), p.mono_fixed(now), "update {i} jumped");
        p = q;
        interval_ns = next_interval;
    }
    assert!(worst < 1_000, "drifted {worst} ns from the host clock");
}
