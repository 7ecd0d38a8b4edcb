//! ITIMER_REAL (alarm, setitimer): a per-process timer that sends SIGALRM.

use std::sync::{Arc, Weak};

use super::signal::SigInfo;
use super::timer::IntervalTimer;
use super::ThreadGroup;

/// A process's ITIMER_REAL.
pub fn real_timer(tg: Weak<ThreadGroup>) -> Arc<IntervalTimer> {
    IntervalTimer::new(move |_| {
        if let Some(tg) = tg.upgrade() {
            if tg.exit_status.lock().is_none() {
                tg.send_signal(SigInfo::kernel(libc::SIGALRM));
            }
        }
    })
}
