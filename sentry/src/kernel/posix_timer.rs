//! POSIX per-process timers (timer_create and friends).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use super::signal::SigInfo;
use super::timer::{IntervalTimer, TimerClock};
use super::{TaskShared, ThreadGroup};

/// si_code of a timer expiration.
pub const SI_TIMER: i32 = -2;

/// How a timer tells the process it expired.
#[derive(Clone)]
pub enum Notification {
    /// Nothing (SIGEV_NONE): the timer is only read.
    None,
    /// A signal to the process (SIGEV_SIGNAL).
    Process {
        /// The signal.
        signo: i32,
        /// sigev_value, handed back in si_value.
        value: u64,
    },
    /// A signal to one thread (SIGEV_THREAD_ID).
    Thread {
        /// The signal.
        signo: i32,
        /// sigev_value.
        value: u64,
        /// The thread.
        target: Weak<TaskShared>,
    },
}

/// One POSIX timer.
pub struct PosixTimer {
    /// The clock it counts on.
    pub clock: i32,
    /// The underlying timer.
    pub timer: Arc<IntervalTimer>,
    overrun: Arc<AtomicU64>,
}

impl PosixTimer {
    /// A disarmed timer `id` of process `tg` on guest clock `clock` (counted on
    /// `counts_on`) that notifies as `how`.
    pub fn new(
        id: i32,
        clock: i32,
        counts_on: TimerClock,
        how: Notification,
        tg: Weak<ThreadGroup>,
    ) -> PosixTimer {
        let overrun = Arc::new(AtomicU64::new(0));
        let o = overrun.clone();
        let timer = IntervalTimer::on_clock(counts_on, move |expirations| {
            o.store(expirations - 1, Ordering::Release);
            let Some(tg) = tg.upgrade() else { return };
            let info = |signo: i32, value: u64| {
                let mut i = SigInfo::fault(signo, SI_TIMER, 0);
                i.fields[0] = (id as u32 as u64) | ((expirations - 1).min(i32::MAX as u64) << 32);
                i.fields[1] = value;
                i
            };
            match &how {
                Notification::None => {}
                Notification::Process { signo, value } => tg.send_signal(info(*signo, *value)),
                Notification::Thread {
                    signo,
                    value,
                    target,
                } => {
                    if let Some(t) = target.upgrade() {
                        t.send_signal(&tg, info(*signo, *value));
                    }
                }
            }
        });
        PosixTimer {
            clock,
            timer,
            overrun,
        }
    }

    /// Expirations missed at the last notification.
    pub fn overrun(&self) -> u64 {
        self.overrun.load(Ordering::Acquire)
    }
}

impl Drop for PosixTimer {
    fn drop(&mut self) {
        self.timer.disarm();
    }
}
