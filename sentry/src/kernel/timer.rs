//! Interval timers: a deadline and an optional period, firing a callback from a sentry
//! thread. Used by ITIMER_REAL/VIRTUAL/PROF, timerfd and POSIX timers.
//!
//! An armed timer has one thread waiting for its deadline; re-arming or disarming wakes
//! it to re-read the state, and it ends when the timer is disarmed. The callback gets
//! the number of expirations since the last one (more than 1 when a periodic timer fell
//! behind). A timer counts on the monotonic clock or on a CPU-time clock; the thread of
//! a CPU-time timer samples its clock every few milliseconds while armed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::cputime::CpuClock;

/// How often an armed CPU-time timer looks at its clock (wall time): Linux checks at
/// each scheduler tick, every 4 ms at HZ=250.
const CPU_TIMER_TICK: Duration = Duration::from_millis(4);

/// The clock a timer counts on.
pub enum TimerClock {
    /// Wall time (CLOCK_MONOTONIC; realtime deadlines are converted to it).
    Monotonic,
    /// A CPU-time clock.
    Cpu(CpuClock),
}

/// The monotonic timeline timers keep deadlines on: time since the sentry first
/// needed it.
fn base() -> Instant {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

impl TimerClock {
    /// Now on this clock; None once what a CPU clock measures is gone.
    fn now(&self) -> Option<Duration> {
        match self {
            TimerClock::Monotonic => Some(base().elapsed()),
            TimerClock::Cpu(c) => c.now(),
        }
    }
}

#[derive(Default)]
struct State {
    /// When it next expires, on the clock's timeline.
    deadline: Option<Duration>,
    interval: Duration,
    thread_running: bool,
}

/// A timer that calls `fire(expirations)` when it expires.
pub struct IntervalTimer {
    clock: TimerClock,
    state: Mutex<State>,
    changed: Condvar,
    fire: Box<dyn Fn(u64) + Send + Sync>,
}

impl IntervalTimer {
    /// A disarmed timer on the monotonic clock.
    pub fn new(fire: impl Fn(u64) + Send + Sync + 'static) -> Arc<IntervalTimer> {
        IntervalTimer::on_clock(TimerClock::Monotonic, fire)
    }

    /// A disarmed timer on `clock`.
    pub fn on_clock(
        clock: TimerClock,
        fire: impl Fn(u64) + Send + Sync + 'static,
    ) -> Arc<IntervalTimer> {
        Arc::new(IntervalTimer {
            clock,
            state: Mutex::default(),
            changed: Condvar::new(),
            fire: Box::new(fire),
        })
    }

    /// The time left and the interval (zero when disarmed).
    pub fn get(&self) -> (Duration, Duration) {
        let s = self.state.lock();
        let now = self.clock.now().unwrap_or_default();
        let left = s.deadline.map_or(Duration::ZERO, |d| d.saturating_sub(now));
        (left, s.interval)
    }

    /// Arms the timer to expire at `deadline` (None: disarm), then every `interval`
    /// (zero: once). Returns the previous (left, interval). The deadline is a moment
    /// of wall time; on a CPU-time clock it counts as that much time from now.
    pub fn set(
        self: &Arc<Self>,
        deadline: Option<Instant>,
        interval: Duration,
    ) -> (Duration, Duration) {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        self.arm(left.map(|l| (l, false)), interval)
    }

    /// Arms relative to now; a zero `value` disarms.
    pub fn set_relative(
        self: &Arc<Self>,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        self.arm((!value.is_zero()).then_some((value, false)), interval)
    }

    /// Arms to expire when the timer's own clock reads `value` (a CPU-time clock with
    /// TIMER_ABSTIME); a zero `value` disarms.
    pub fn set_absolute(
        self: &Arc<Self>,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        self.arm((!value.is_zero()).then_some((value, true)), interval)
    }

    /// Disarms the timer (its thread ends).
    pub fn disarm(self: &Arc<Self>) {
        self.arm(None, Duration::ZERO);
    }

    /// Arms at (value, absolute) on the clock, or disarms.
    fn arm(
        self: &Arc<Self>,
        at: Option<(Duration, bool)>,
        interval: Duration,
    ) -> (Duration, Duration) {
        let old = self.get();
        let now = self.clock.now();
        let mut s = self.state.lock();
        s.deadline = match (at, now) {
            (Some((v, true)), Some(_)) => Some(v),
            (Some((v, false)), Some(now)) => Some(now + v),
            _ => None,
        };
        s.interval = interval;
        if s.deadline.is_some() && !s.thread_running {
            s.thread_running = true;
            let timer = self.clone();
            let spawned = std::thread::Builder::new()
                .name("timer".to_string())
                .spawn(move || timer.run());
            if spawned.is_err() {
                s.thread_running = false;
                s.deadline = None;
            }
        }
        self.changed.notify_all();
        old
    }

    fn run(self: Arc<Self>) {
        let mut s = self.state.lock();
        while let Some(deadline) = s.deadline {
            let Some(now) = self.clock.now() else {
                s.deadline = None;
                break;
            };
            if now < deadline {
                match self.clock {
                    TimerClock::Monotonic => {
                        self.changed.wait_until(&mut s, base() + deadline);
                    }
                    TimerClock::Cpu(_) => {
                        // A thread's CPU clock never runs faster than wall time.
                        let wait = (deadline - now).min(CPU_TIMER_TICK);
                        self.changed.wait_for(&mut s, wait);
                    }
                }
                continue;
            }
            let mut expirations: u64 = 1;
            s.deadline = if s.interval.is_zero() {
                None
            } else {
                let behind = (now - deadline).as_nanos() / s.interval.as_nanos();
                expirations = expirations.saturating_add(behind.min(u64::MAX as u128) as u64);
                let next = s.interval.as_nanos() * (behind + 1);
                Some(deadline + Duration::from_nanos(next.min(u64::MAX as u128) as u64))
            };
            drop(s);
            (self.fire)(expirations);
            s = self.state.lock();
        }
        s.thread_running = false;
    }
}
