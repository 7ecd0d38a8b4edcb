//! ITIMER_REAL (alarm, setitimer): a per-process timer that sends SIGALRM.
//!
//! An armed timer has a sentry thread sleeping until its deadline; re-arming or
//! disarming wakes that thread, which re-reads the state. The thread ends when the timer
//! is disarmed or the process is gone.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::signal::SigInfo;
use super::ThreadGroup;

#[derive(Default)]
struct State {
    deadline: Option<Instant>,
    interval: Duration,
    thread_running: bool,
}

/// A process's real-time interval timer.
#[derive(Default)]
pub struct RealTimer {
    state: Mutex<State>,
    changed: Condvar,
}

impl RealTimer {
    /// The time left and the interval (zero durations when disarmed).
    pub fn get(&self) -> (Duration, Duration) {
        let s = self.state.lock();
        let left = s.deadline.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        });
        (left, s.interval)
    }

    /// Arms (`value` non-zero) or disarms the timer; returns the previous (left, interval).
    pub fn set(
        self: &Arc<Self>,
        tg: &Arc<ThreadGroup>,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        let old = self.get();
        let mut s = self.state.lock();
        s.deadline = (!value.is_zero()).then(|| Instant::now() + value);
        s.interval = interval;
        if s.deadline.is_some() && !s.thread_running {
            s.thread_running = true;
            let timer = self.clone();
            let tg = Arc::downgrade(tg);
            let spawned = std::thread::Builder::new()
                .name("itimer".to_string())
                .spawn(move || timer.run(tg));
            if spawned.is_err() {
                s.thread_running = false;
                s.deadline = None;
            }
        }
        self.changed.notify_all();
        old
    }

    fn run(&self, tg: Weak<ThreadGroup>) {
        let mut s = self.state.lock();
        while let Some(deadline) = s.deadline {
            if Instant::now() < deadline {
                self.changed.wait_until(&mut s, deadline);
                continue;
            }
            s.deadline = (!s.interval.is_zero()).then(|| deadline + s.interval);
            drop(s);
            match tg.upgrade() {
                Some(tg) if tg.exit_status.lock().is_none() => {
                    tg.send_signal(SigInfo::kernel(libc::SIGALRM))
                }
                _ => {
                    s = self.state.lock();
                    break;
                }
            }
            s = self.state.lock();
        }
        s.thread_running = false;
        s.deadline = None;
    }
}
