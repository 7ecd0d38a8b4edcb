//! poll(2) and ppoll(2).
//!
//! Readiness is asked of each file (`FileOps::readiness`). Until the event-driven wait
//! mechanism of the processes issue exists, a poll that has to wait re-checks its files
//! every few milliseconds until one is ready or the timeout passes.

use std::time::{Duration, Instant};

use sentry::abi::Timespec;
use sentry::bail;
use sentry::errno::Result;
use sentry::kernel::time::to_nanos;
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
    let mut step = Duration::from_millis(1);
    let ready = loop {
        let ready = scan(task, &mut fds);
        let now = Instant::now();
        if ready > 0 || deadline.is_some_and(|d| now >= d) {
            break ready;
        }
        let nap = deadline.map_or(step, |d| step.min(d - now));
        std::thread::sleep(nap);
        step = (step * 2).min(Duration::from_millis(10));
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
