//! Interval timers: a deadline and an optional period, firing a callback from a sentry
//! thread. Used by ITIMER_REAL, timerfd and POSIX timers.
//!
//! An armed timer has one thread sleeping until its deadline; re-arming or disarming
//! wakes it to re-read the state, and it ends when the timer is disarmed. The callback
//! gets the number of expirations since the last one (more than 1 when a periodic
//! timer fell behind).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

#[derive(Default)]
struct State {
    deadline: Option<Instant>,
    interval: Duration,
    thread_running: bool,
}

/// A timer that calls `fire(expirations)` when it expires.
pub struct IntervalTimer {
    state: Mutex<State>,
    changed: Condvar,
    fire: Box<dyn Fn(u64) + Send + Sync>,
}

impl IntervalTimer {
    /// A disarmed timer.
    pub fn new(fire: impl Fn(u64) + Send + Sync + 'static) -> Arc<IntervalTimer> {
        Arc::new(IntervalTimer {
            state: Mutex::default(),
            changed: Condvar::new(),
            fire: Box::new(fire),
        })
    }

    /// The time left and the interval (zero when disarmed).
    pub fn get(&self) -> (Duration, Duration) {
        let s = self.state.lock();
        let left = s.deadline.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        });
        (left, s.interval)
    }

    /// Arms the timer to expire at `deadline` (None: disarm), then every `interval`
    /// (zero: once). Returns the previous (left, interval).
    pub fn set(
        self: &Arc<Self>,
        deadline: Option<Instant>,
        interval: Duration,
    ) -> (Duration, Duration) {
        let old = self.get();
        let mut s = self.state.lock();
        s.deadline = deadline;
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

    /// Arms relative to now; a zero `value` disarms.
    pub fn set_relative(
        self: &Arc<Self>,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        let deadline = (!value.is_zero()).then(|| Instant::now() + value);
        self.set(deadline, interval)
    }

    /// Disarms the timer (its thread ends).
    pub fn disarm(self: &Arc<Self>) {
        self.set(None, Duration::ZERO);
    }

    fn run(self: Arc<Self>) {
        let mut s = self.state.lock();
        while let Some(deadline) = s.deadline {
            let now = Instant::now();
            if now < deadline {
                self.changed.wait_until(&mut s, deadline);
                continue;
            }
            let mut expirations = 1;
            s.deadline = if s.interval.is_zero() {
                None
            } else {
                let behind = (now - deadline).as_nanos() / s.interval.as_nanos();
                expirations += behind as u64;
                Some(deadline + s.interval * (behind as u32 + 1))
            };
            drop(s);
            (self.fire)(expirations);
            s = self.state.lock();
        }
        s.thread_running = false;
    }
}
