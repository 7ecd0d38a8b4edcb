//! setitimer(2)'s per-process timers: ITIMER_REAL (also alarm) sends SIGALRM,
//! ITIMER_VIRTUAL counts the process's user time and sends SIGVTALRM, ITIMER_PROF
//! counts user and system time and sends SIGPROF.

use std::sync::{Arc, Weak};

use super::cputime::{CpuClock, CpuClockKind, CpuClockOf};
use super::signal::SigInfo;
use super::timer::{IntervalTimer, TimerClock};
use super::ThreadGroup;

fn signal_process(tg: &Weak<ThreadGroup>, signo: i32) {
    if let Some(tg) = tg.upgrade() {
        if tg.exit_status.lock().is_none() {
            tg.send_signal(SigInfo::kernel(signo));
        }
    }
}

/// A process's ITIMER_REAL.
pub fn real_timer(tg: Weak<ThreadGroup>) -> Arc<IntervalTimer> {
    IntervalTimer::new(move |_| signal_process(&tg, libc::SIGALRM))
}

/// A process's ITIMER_VIRTUAL (`Virt`) or ITIMER_PROF (`Prof`).
pub fn cpu_timer(tg: Weak<ThreadGroup>, kind: CpuClockKind) -> Arc<IntervalTimer> {
    let clock = CpuClock {
        of: CpuClockOf::Process(tg.clone()),
        kind,
    };
    let signo = if kind == CpuClockKind::Virt {
        libc::SIGVTALRM
    } else {
        libc::SIGPROF
    };
    IntervalTimer::on_clock(TimerClock::Cpu(clock), move |_| signal_process(&tg, signo))
}
