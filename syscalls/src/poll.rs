//! poll(2) and ppoll(2).
//!
//! Readiness is asked of each file (`FileOps::readiness`); a poll that has to wait sleeps
//! on the files' readiness queues and is interrupted by signals. Files without a queue
//! (host fds) are re-checked every few milliseconds.

use std::time::{Duration, Instant};

use crate::signal::with_sigmask;
use crate::time::timeout_deadline;
use sentry::abi::Timespec;
use sentry::bail;
use sentry::errno::{Errno, Result, ERESTARTNOHAND};
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

/// Waits until `scan` finds an entry of `fds` ready or `deadline` passes (then every
/// `revents` is cleared and 0 returned). Sleeps on the files' readiness queues; files
/// without one (host fds) are re-polled every few milliseconds.
fn wait_ready(task: &mut Task, fds: &mut [PollFd], deadline: Option<Instant>) -> Result<usize> {
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
    loop {
        let slice_end = repoll.then(|| Instant::now() + step);
        let wake = match (deadline, slice_end) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        };
        let r = block_until(&queues, wake, || {
            let ready = scan(task, fds);
            (ready > 0).then_some(Ok(ready))
        });
        match r {
            Ok(n) => return Ok(n),
            Err(e) if e.code() == libc::ETIMEDOUT => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    fds.iter_mut().for_each(|p| p.revents = 0);
                    return Ok(0);
                }
                step = (step * 2).min(Duration::from_millis(10));
            }
            Err(e) if e.is_restart() => return Err(Errno::new(ERESTARTNOHAND)),
            Err(e) => return Err(e),
        }
    }
}

fn do_poll(task: &mut Task, addr: u64, nfds: u64, deadline: Option<Instant>) -> Result<u64> {
    if nfds > task.tg.limit(libc::RLIMIT_NOFILE) {
        bail!(EINVAL);
    }
    let mut fds = vec![PollFd::default(); nfds as usize];
    task.mm.copy_in(addr, fds.as_mut_bytes())?;
    let ready = wait_ready(task, &mut fds, deadline)?;
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
    let deadline = timeout_deadline(task, timeout)?;
    let result = with_sigmask(task, sigmask, sigsetsize, |t| {
        do_poll(t, fds, nfds, deadline)
    });
    if timeout != 0 && result.is_ok() {
        write_time_left(task, timeout, deadline)?;
    }
    result
}

/// Linux writes back how much of a ppoll/pselect timeout is left.
fn write_time_left(task: &Task, addr: u64, deadline: Option<Instant>) -> Result<()> {
    let left = deadline.map_or(Duration::ZERO, |d| {
        d.saturating_duration_since(Instant::now())
    });
    task.mm.write_obj(
        addr,
        &Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: left.subsec_nanos() as i64,
        },
    )
}

/// select(2)'s readiness classes, as poll bits.
const SELECT_READ: u32 = (libc::POLLIN | libc::POLLHUP | libc::POLLERR) as u32;
const SELECT_WRITE: u32 = (libc::POLLOUT | libc::POLLERR) as u32;
const SELECT_EXCEPT: u32 = libc::POLLPRI as u32;

fn read_fdset(task: &Task, addr: u64, nfds: usize) -> Result<Option<Vec<u64>>> {
    if addr == 0 {
        return Ok(None);
    }
    let mut words = vec![0u64; nfds.div_ceil(64)];
    task.mm
        .copy_in(addr, &mut words.as_mut_bytes()[..nfds.div_ceil(8)])?;
    Ok(Some(words))
}

fn is_set(set: &Option<Vec<u64>>, fd: usize) -> bool {
    set.as_ref()
        .is_some_and(|w| w[fd / 64] & (1 << (fd % 64)) != 0)
}

/// select's core: waits until one of the fds in the sets is ready; writes back the
/// ready sets and returns how many bits are set.
fn do_select(
    task: &mut Task,
    nfds: i32,
    r: u64,
    w: u64,
    x: u64,
    deadline: Option<Instant>,
) -> Result<u64> {
    if nfds < 0 || nfds as u64 > task.tg.limit(libc::RLIMIT_NOFILE).max(1024) {
        bail!(EINVAL);
    }
    let n = nfds as usize;
    let (rs, ws, xs) = (
        read_fdset(task, r, n)?,
        read_fdset(task, w, n)?,
        read_fdset(task, x, n)?,
    );
    let mut fds = Vec::new();
    for fd in 0..n {
        let mut events = 0;
        if is_set(&rs, fd) {
            events |= SELECT_READ;
        }
        if is_set(&ws, fd) {
            events |= SELECT_WRITE;
        }
        if is_set(&xs, fd) {
            events |= SELECT_EXCEPT;
        }
        if events != 0 {
            if task.files.get(fd as i32).is_err() {
                bail!(EBADF);
            }
            fds.push(PollFd {
                fd: fd as i32,
                events: events as i16,
                revents: 0,
            });
        }
    }
    wait_ready(task, &mut fds, deadline)?;
    let mut out = [
        vec![0u64; n.div_ceil(64)],
        vec![0u64; n.div_ceil(64)],
        vec![0u64; n.div_ceil(64)],
    ];
    let mut count = 0;
    for p in &fds {
        let fd = p.fd as usize;
        let got = p.revents as u16 as u32;
        for (i, (class, set)) in [
            (SELECT_READ, &rs),
            (SELECT_WRITE, &ws),
            (SELECT_EXCEPT, &xs),
        ]
        .iter()
        .enumerate()
        {
            if is_set(set, fd) && got & class != 0 {
                out[i][fd / 64] |= 1 << (fd % 64);
                count += 1;
            }
        }
    }
    for (addr, words) in [(r, &out[0]), (w, &out[1]), (x, &out[2])] {
        if addr != 0 {
            task.mm.copy_out(addr, &words.as_bytes()[..n.div_ceil(8)])?;
        }
    }
    Ok(count)
}

/// Writes back how much of a select timeout is left (Linux updates it).
fn time_left(deadline: Option<Instant>) -> Duration {
    deadline.map_or(Duration::ZERO, |d| {
        d.saturating_duration_since(Instant::now())
    })
}

pub fn select(task: &mut Task, nfds: i32, r: u64, w: u64, x: u64, timeout: u64) -> Result<u64> {
    let deadline = if timeout != 0 {
        let t: sentry::abi::Timeval = task.mm.read_obj(timeout)?;
        if t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec) {
            bail!(EINVAL);
        }
        Some(Instant::now() + Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000))
    } else {
        None
    };
    let result = do_select(task, nfds, r, w, x, deadline);
    if timeout != 0 && result.is_ok() {
        let left = time_left(deadline);
        let tv = sentry::abi::Timeval {
            tv_sec: left.as_secs() as i64,
            tv_usec: left.subsec_micros() as i64,
        };
        task.mm.write_obj(timeout, &tv)?;
    }
    result
}

pub fn pselect6(
    task: &mut Task,
    nfds: i32,
    r: u64,
    w: u64,
    x: u64,
    timeout: u64,
    sig: u64,
) -> Result<u64> {
    let deadline = timeout_deadline(task, timeout)?;
    // The sixth argument points at { const sigset_t *ss; size_t ss_len }.
    let (mask, size) = if sig != 0 {
        let v: [u64; 2] = task.mm.read_obj(sig)?;
        (v[0], v[1] as usize)
    } else {
        (0, 8)
    };
    let result = with_sigmask(task, mask, size, |t| do_select(t, nfds, r, w, x, deadline));
    if timeout != 0 && result.is_ok() {
        write_time_left(task, timeout, deadline)?;
    }
    result
}
