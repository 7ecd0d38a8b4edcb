//! poll(2) and ppoll(2).
//!
//! Readiness is asked of each file (`FileOps::readiness`); a poll that has to wait sleeps
//! on the files' readiness queues and is interrupted by signals. Files without a queue
//! (host fds) are re-checked every few milliseconds.

use std::time::{Duration, Instant};

use sentry::abi::Timespec;
use sentry::bail;
use sentry::errno::{Errno, Result, ERESTARTNOHAND};
use sentry::kernel::time::to_nanos;
use sentry::kernel::wait::{block_until, WaitQueue};
use sentry::kernel::Task;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `struct pollfd`.
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

/// Fills in `revents`; returns how many entries have any.
fn scan(task: &Task, fds: &mut [PollFd]) -> usize {
    let always = (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) as u32;
    let mut ready = 0;
    for p in fds.iter_mut() {
        p.revents = 0;
        if p.fd < 0 {
            continue;
        }
        p.revents = match task.files.get(p.fd) {
            Ok(f) if f.is_path_only() => libc::POLLNVAL,
            Ok(f) => f.ops().readiness(p.events as u16 as u32 | always) as i16,
            Err(_) => libc::POLLNVAL,
        };
        if p.revents != 0 {
            ready += 1;
        }
    }
    ready
}

fn do_poll(task: &mut Task, addr: u64, nfds: u64, deadline: Option<Instant>) -> Result<u64> {
    if nfds > task.tg.limit(libc::RLIMIT_NOFILE) {
        bail!(EINVAL);
    }
    let mut fds = vec![PollFd::default(); nfds as usize];
    task.mm.copy_in(addr, fds.as_mut_bytes())?;
    // Sleep on every file's readiness queue; files without one (host fds) are re-polled
    // every few milliseconds.
    let files: Vec<_> = fds
        .iter()
        .filter(|p| p.fd >= 0)
        .filter_map(|p| task.files.get(p.fd).ok())
        .collect();
    let queues: Vec<&WaitQueue> = files
        .iter()
        .filter_map(|f| f.ops().readiness_queue())
        .collect();
    let repoll = files.iter().any(|f| f.ops().readiness_queue().is_none());
    let mut step = Duration::from_millis(1);
    let ready = loop {
        let slice_end = if repoll {
            Some(Instant::now() + step)
        } else {
            None
        };
        let wake = match (deadline, slice_end) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        };
        let r = block_until(&queues, wake, || {
            let ready = scan(task, &mut fds);
            (ready > 0).then_some(Ok(ready))
        });
        match r {
            Ok(n) => break n,
            Err(e) if e.code() == libc::ETIMEDOUT => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break 0;
                }
                step = (step * 2).min(Duration::from_millis(10));
            }
            Err(e) if e.is_restart() => return Err(Errno::new(ERESTARTNOHAND)),
            Err(e) => return Err(e),
        }
    };
    task.mm.copy_out(addr, fds.as_bytes())?;
    Ok(ready as u64)
}

pub fn poll(task: &mut Task, fds: u64, nfds: u64, timeout_ms: i32) -> Result<u64> {
    let deadline =
        (timeout_ms >= 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
    do_poll(task, fds, nfds, deadline)
}

pub fn ppoll(
    task: &mut Task,
    fds: u64,
    nfds: u64,
    timeout: u64,
    sigmask: u64,
    sigsetsize: usize,
) -> Result<u64> {
    let deadline = if timeout != 0 {
        let t: Timespec = task.mm.read_obj(timeout)?;
        if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
            bail!(EINVAL);
        }
        Some(Instant::now() + Duration::from_nanos(to_nanos(t).min(u64::MAX as i128) as u64))
    } else {
        None
    };
    if sigmask != 0 {
        if sigsetsize != 8 {
            bail!(EINVAL);
        }
        let _mask: u64 = task.mm.read_obj(sigmask)?;
    }
    do_poll(task, fds, nfds, deadline)
}
