//! Clocks and sleeping.

use std::time::{Duration, Instant};

use sentry::abi::{Timespec, Timeval};
use sentry::errno::Result;
use sentry::errno::{ERESTARTNOHAND, ERESTART_RESTARTBLOCK};
use sentry::kernel::cputime::{CpuClock, CpuClockKind, CpuClockOf};
use sentry::kernel::time::{from_nanos, to_nanos};
use sentry::kernel::timer::IntervalTimer;
use sentry::kernel::Task;
use sentry::{bail, errno};
use std::sync::Arc;

/// The host clock that serves a guest clock id; EINVAL for ids Linux rejects.
fn host_clock(id: i32) -> Result<nix::time::ClockId> {
    use nix::time::ClockId;
    Ok(match id {
        libc::CLOCK_REALTIME => ClockId::CLOCK_REALTIME,
        libc::CLOCK_MONOTONIC => ClockId::CLOCK_MONOTONIC,
        libc::CLOCK_MONOTONIC_RAW => ClockId::CLOCK_MONOTONIC_RAW,
        libc::CLOCK_REALTIME_COARSE => ClockId::CLOCK_REALTIME_COARSE,
        libc::CLOCK_MONOTONIC_COARSE => ClockId::CLOCK_MONOTONIC_COARSE,
        libc::CLOCK_BOOTTIME => ClockId::CLOCK_BOOTTIME,
        libc::CLOCK_TAI => ClockId::CLOCK_TAI,
        libc::CLOCK_REALTIME_ALARM => ClockId::CLOCK_REALTIME,
        libc::CLOCK_BOOTTIME_ALARM => ClockId::CLOCK_BOOTTIME,
        _ => bail!(EINVAL),
    })
}

/// Whether a clock id names a CPU-time clock (the sentry keeps those itself).
pub(crate) fn is_cpu_clock(id: i32) -> bool {
    id < 0 || id == libc::CLOCK_PROCESS_CPUTIME_ID || id == libc::CLOCK_THREAD_CPUTIME_ID
}

/// The CPU-time clock `id` names: the caller's process or thread, or one encoded as
/// clock_getcpuclockid(3)/pthread_getcpuclockid(3) do (~pid << 3 | per-thread << 2 |
/// kind). EINVAL if it is not a CPU clock or names no live process, or a thread of
/// another process.
pub(crate) fn cpu_clock(task: &Task, id: i32) -> Result<CpuClock> {
    let me = || CpuClockOf::Thread(Arc::downgrade(&task.shared));
    let my_process = || CpuClockOf::Process(Arc::downgrade(&task.tg));
    let (of, kind) = match id {
        libc::CLOCK_PROCESS_CPUTIME_ID => (my_process(), CpuClockKind::Sched),
        libc::CLOCK_THREAD_CPUTIME_ID => (me(), CpuClockKind::Sched),
        id if id >= 0 => bail!(EINVAL),
        id => {
            let pid = !(id >> 3);
            let kind = match id & 3 {
                0 => CpuClockKind::Prof,
                1 => CpuClockKind::Virt,
                2 => CpuClockKind::Sched,
                _ => bail!(EINVAL),
            };
            let tree = task.kernel.tree.lock();
            let of = match (id & 4 != 0, pid) {
                (true, 0) => me(),
                (true, tid) => match tree.thread(tid) {
                    Some((t, tg)) if Arc::ptr_eq(&tg, &task.tg) => {
                        CpuClockOf::Thread(Arc::downgrade(&t))
                    }
                    _ => bail!(EINVAL),
                },
                (false, 0) => my_process(),
                (false, pid) => {
                    let tg = tree.process(pid).ok_or_else(|| errno!(EINVAL))?;
                    CpuClockOf::Process(Arc::downgrade(&tg))
                }
            };
            (of, kind)
        }
    };
    Ok(CpuClock { of, kind })
}

fn cpu_now(task: &Task, id: i32) -> Result<Timespec> {
    let t = cpu_clock(task, id)?.now().ok_or_else(|| errno!(EINVAL))?;
    Ok(from_nanos(t.as_nanos() as i128))
}

fn now(id: i32) -> Result<Timespec> {
    let t = nix::time::clock_gettime(host_clock(id)?)?;
    Ok(Timespec {
        tv_sec: t.tv_sec(),
        tv_nsec: t.tv_nsec(),
    })
}

pub fn clock_gettime(task: &mut Task, id: i32, tp: u64) -> Result<u64> {
    let t = if is_cpu_clock(id) {
        cpu_now(task, id)?
    } else {
        now(id)?
    };
    task.mm.write_obj(tp, &t)?;
    Ok(0)
}

pub fn clock_getres(task: &mut Task, id: i32, tp: u64) -> Result<u64> {
    let r = if is_cpu_clock(id) {
        // As Linux: nanoseconds for the scheduler clocks, a tick (HZ=250) for the
        // PROF and VIRT ones.
        let tick = cpu_clock(task, id)?.kind != CpuClockKind::Sched;
        Timespec {
            tv_sec: 0,
            tv_nsec: if tick { 4_000_000 } else { 1 },
        }
    } else {
        let r = nix::time::clock_getres(host_clock(id)?)?;
        Timespec {
            tv_sec: r.tv_sec(),
            tv_nsec: r.tv_nsec(),
        }
    };
    if tp != 0 {
        task.mm.write_obj(tp, &r)?;
    }
    Ok(0)
}

pub fn gettimeofday(task: &mut Task, tv: u64, tz: u64) -> Result<u64> {
    if tv != 0 {
        let t = now(libc::CLOCK_REALTIME)?;
        task.mm.write_obj(
            tv,
            &Timeval {
                tv_sec: t.tv_sec,
                tv_usec: t.tv_nsec / 1000,
            },
        )?;
    }
    if tz != 0 {
        task.mm.write_obj(tz, &[0i32; 2])?;
    }
    Ok(0)
}

pub fn time(task: &mut Task, tloc: u64) -> Result<u64> {
    let t = now(libc::CLOCK_REALTIME)?;
    if tloc != 0 {
        task.mm.write_obj(tloc, &t.tv_sec)?;
    }
    Ok(t.tv_sec as u64)
}

/// Reads a `struct timespec` the guest passes in; EINVAL if it is negative or its
/// nanoseconds are out of range.
pub(crate) fn read_timespec(task: &Task, addr: u64) -> Result<Timespec> {
    let t: Timespec = task.mm.read_obj(addr)?;
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        bail!(EINVAL);
    }
    Ok(t)
}

/// A (validated) timespec as a duration; negative values count as zero.
pub(crate) fn timespec_duration(t: Timespec) -> Duration {
    Duration::from_nanos(to_nanos(t).clamp(0, u64::MAX as i128) as u64)
}

/// The deadline of a relative timeout the guest passes by address; none when the
/// address is null (wait forever).
pub(crate) fn timeout_deadline(task: &Task, addr: u64) -> Result<Option<Instant>> {
    if addr == 0 {
        return Ok(None);
    }
    Ok(Some(after(to_nanos(read_timespec(task, addr)?))))
}

/// Sleeps until `deadline`; interrupted by a signal, writes the time left to `rem`
/// (when given) and returns the restart errno the call uses.
fn interruptible_sleep(task: &mut Task, deadline: Instant, rem: u64, restart: i32) -> Result<u64> {
    match sentry::kernel::wait::sleep_until(deadline) {
        Ok(()) => Ok(0),
        Err(e) if e.is_restart() => {
            if rem != 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                let ts = Timespec {
                    tv_sec: left.as_secs() as i64,
                    tv_nsec: left.subsec_nanos() as i64,
                };
                task.mm.write_obj(rem, &ts)?;
            }
            task.restart_deadline = Some(deadline);
            Err(sentry::errno::Errno::new(restart))
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn after(ns: i128) -> Instant {
    Instant::now() + Duration::from_nanos(ns.clamp(0, u64::MAX as i128) as u64)
}

pub fn nanosleep(task: &mut Task, req: u64, rem: u64) -> Result<u64> {
    let t = read_timespec(task, req)?;
    interruptible_sleep(task, after(to_nanos(t)), rem, ERESTART_RESTARTBLOCK)
}

/// restart_syscall(2): continues a sleep a signal interrupted (no handler ran).
pub fn restart_syscall(task: &mut Task) -> Result<u64> {
    match task.restart_deadline.take() {
        Some(deadline) => interruptible_sleep(task, deadline, 0, ERESTART_RESTARTBLOCK),
        None => Err(errno!(EINTR)),
    }
}

pub fn clock_nanosleep(task: &mut Task, id: i32, flags: i32, req: u64, rem: u64) -> Result<u64> {
    if is_cpu_clock(id) {
        return cpu_clock_nanosleep(task, id, flags, req, rem);
    }
    if !matches!(
        id,
        libc::CLOCK_REALTIME
            | libc::CLOCK_MONOTONIC
            | libc::CLOCK_BOOTTIME
            | libc::CLOCK_TAI
            | libc::CLOCK_PROCESS_CPUTIME_ID
    ) {
        return Err(sentry::errno::Errno::new(if host_clock(id).is_ok() {
            libc::ENOTSUP
        } else {
            libc::EINVAL
        }));
    }
    let t = read_timespec(task, req)?;
    if flags & libc::TIMER_ABSTIME != 0 {
        // An absolute sleep restarts with the same target: no time left to report.
        let left = to_nanos(t) - to_nanos(now(id)?);
        return interruptible_sleep(task, after(left), 0, ERESTARTNOHAND);
    }
    interruptible_sleep(task, after(to_nanos(t)), rem, ERESTART_RESTARTBLOCK)
}

/// clock_nanosleep on a process's CPU clock: sleeps until the process's other threads
/// have used the time (a thread's own clock would never advance while it sleeps:
/// EINVAL, as Linux).
fn cpu_clock_nanosleep(task: &mut Task, id: i32, flags: i32, req: u64, rem: u64) -> Result<u64> {
    let clock = cpu_clock(task, id)?;
    if id == libc::CLOCK_THREAD_CPUTIME_ID {
        bail!(EOPNOTSUPP);
    }
    if matches!(clock.of, CpuClockOf::Thread(_)) {
        bail!(EINVAL);
    }
    let t = timespec_duration(read_timespec(task, req)?);
    let absolute = flags & libc::TIMER_ABSTIME != 0;
    let start = clock.now().ok_or_else(|| errno!(EINVAL))?;
    let target = if absolute { t } else { start + t };
    loop {
        let now = clock.now().ok_or_else(|| errno!(EINVAL))?;
        if now >= target {
            return Ok(0);
        }
        // The clock can run faster than wall time (several threads): look often.
        let nap = (target - now).min(Duration::from_millis(4));
        match sentry::kernel::wait::sleep_until(Instant::now() + nap) {
            Ok(()) => {}
            Err(e) if e.is_restart() => {
                if !absolute && rem != 0 {
                    let left = target.saturating_sub(clock.now().unwrap_or(now));
                    task.mm
                        .write_obj(rem, &from_nanos(left.as_nanos() as i128))?;
                }
                // A restart without a handler sleeps the requested time again.
                return Err(sentry::errno::Errno::new(ERESTARTNOHAND));
            }
            Err(e) => return Err(e),
        }
    }
}

/// `struct itimerval`.
#[derive(
    Clone,
    Copy,
    Default,
    zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::Immutable,
    zerocopy::KnownLayout,
)]
#[repr(C)]
struct ItimerVal {
    interval: Timeval,
    value: Timeval,
}

fn timeval_of(d: Duration) -> Timeval {
    // A running timer never reads as zero (that would mean disarmed).
    let d = if d.is_zero() {
        d
    } else {
        d.max(Duration::from_micros(1))
    };
    Timeval {
        tv_sec: d.as_secs() as i64,
        tv_usec: d.subsec_micros() as i64,
    }
}

fn duration_of(t: Timeval) -> Result<Duration> {
    if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
        bail!(EINVAL);
    }
    Ok(Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000))
}

/// The process's timer `which` names.
fn itimer(task: &Task, which: i32) -> Result<Arc<IntervalTimer>> {
    Ok(match which {
        libc::ITIMER_REAL => task.tg.real_timer.clone(),
        libc::ITIMER_VIRTUAL => task.tg.virtual_timer.clone(),
        libc::ITIMER_PROF => task.tg.prof_timer.clone(),
        _ => bail!(EINVAL),
    })
}

pub fn getitimer(task: &mut Task, which: i32, value: u64) -> Result<u64> {
    let (left, interval) = itimer(task, which)?.get();
    task.mm.write_obj(
        value,
        &ItimerVal {
            interval: timeval_of(interval),
            value: timeval_of(left),
        },
    )?;
    Ok(0)
}

pub fn setitimer(task: &mut Task, which: i32, new: u64, old: u64) -> Result<u64> {
    let timer = itimer(task, which)?;
    let v: ItimerVal = if new != 0 {
        task.mm.read_obj(new)?
    } else {
        ItimerVal::default()
    };
    let (value, interval) = (duration_of(v.value)?, duration_of(v.interval)?);
    // Linux adds a tick (4 ms at HZ=250) to a CPU-time timer's first expiry.
    let value = if which != libc::ITIMER_REAL && !value.is_zero() {
        value + Duration::from_millis(4)
    } else {
        value
    };
    let (left, old_interval) = timer.set_relative(value, interval);
    if old != 0 {
        task.mm.write_obj(
            old,
            &ItimerVal {
                interval: timeval_of(old_interval),
                value: timeval_of(left),
            },
        )?;
    }
    Ok(0)
}

pub fn alarm(task: &mut Task, seconds: u32) -> Result<u64> {
    let (left, _) = task
        .tg
        .real_timer
        .set_relative(Duration::from_secs(seconds as u64), Duration::ZERO);
    // Seconds left, rounded to the nearest second, at least 1 if any time was left.
    let secs = left.as_secs() + u64::from(left.subsec_micros() >= 500_000);
    Ok(if left.is_zero() { 0 } else { secs.max(1) })
}
