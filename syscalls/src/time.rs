//! Clocks and sleeping.

use std::time::Duration;

use sentry::abi::{Timespec, Timeval};
use sentry::bail;
use sentry::errno::Result;
use sentry::kernel::time::to_nanos;
use sentry::kernel::Task;

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
        // CPU time of the task: the sentry thread that runs it accounts it.
        libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => {
            ClockId::CLOCK_THREAD_CPUTIME_ID
        }
        _ => bail!(EINVAL),
    })
}

fn now(id: i32) -> Result<Timespec> {
    let t = nix::time::clock_gettime(host_clock(id)?)?;
    Ok(Timespec {
        tv_sec: t.tv_sec(),
        tv_nsec: t.tv_nsec(),
    })
}

pub fn clock_gettime(task: &mut Task, id: i32, tp: u64) -> Result<u64> {
    let t = now(id)?;
    task.mm.write_obj(tp, &t)?;
    Ok(0)
}

pub fn clock_getres(task: &mut Task, id: i32, tp: u64) -> Result<u64> {
    let r = nix::time::clock_getres(host_clock(id)?)?;
    if tp != 0 {
        task.mm.write_obj(
            tp,
            &Timespec {
                tv_sec: r.tv_sec(),
                tv_nsec: r.tv_nsec(),
            },
        )?;
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

fn read_timespec(task: &Task, addr: u64) -> Result<Timespec> {
    let t: Timespec = task.mm.read_obj(addr)?;
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        bail!(EINVAL);
    }
    Ok(t)
}

fn sleep_ns(ns: i128) {
    if ns > 0 {
        std::thread::sleep(Duration::from_nanos(ns.min(u64::MAX as i128) as u64));
    }
}

pub fn nanosleep(task: &mut Task, req: u64, _rem: u64) -> Result<u64> {
    let t = read_timespec(task, req)?;
    sleep_ns(to_nanos(t));
    Ok(0)
}

pub fn clock_nanosleep(task: &mut Task, id: i32, flags: i32, req: u64, _rem: u64) -> Result<u64> {
    if matches!(id, libc::CLOCK_THREAD_CPUTIME_ID) {
        bail!(EINVAL);
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
        let until = to_nanos(t);
        loop {
            let left = until - to_nanos(now(id)?);
            if left <= 0 {
                break;
            }
            sleep_ns(left);
        }
    } else {
        sleep_ns(to_nanos(t));
    }
    Ok(0)
}
