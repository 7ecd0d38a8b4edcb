//! Event files and timers: epoll, eventfd, timerfd, POSIX timers, pidfds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry::abi::Timespec;
use sentry::errno::{Errno, Result};
use sentry::fs::epoll::{Epoll, EPOLLEXCLUSIVE};
use sentry::fs::eventfd::EventFd;
use sentry::fs::pidfd::PidFd;
use sentry::fs::timerfd::TimerFd;
use sentry::kernel::posix_timer::{Notification, PosixTimer};
use sentry::kernel::signal::{SigInfo, NSIG, SI_USER};
use sentry::kernel::time::{from_nanos, to_nanos};
use sentry::kernel::wait::block_until;
use sentry::kernel::Task;
use sentry::vfs::File;
use sentry::{bail, errno};

use crate::time::{after, cpu_clock, is_cpu_clock, timeout_deadline, timespec_duration};
use sentry::kernel::timer::TimerClock;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

fn nofile(task: &Task) -> u64 {
    task.tg.limit(libc::RLIMIT_NOFILE)
}

fn install(
    task: &Task,
    ops: Arc<dyn sentry::vfs::FileOps>,
    status: u32,
    cloexec: bool,
) -> Result<u64> {
    let file = File::new(ops, libc::O_RDWR as u32 | status, None);
    Ok(task.files.install(file, cloexec, 0, nofile(task))? as u64)
}

// --- epoll ---

pub fn epoll_create(task: &mut Task, size: i32) -> Result<u64> {
    if size <= 0 {
        bail!(EINVAL);
    }
    install(task, Epoll::new(), 0, false)
}

pub fn epoll_create1(task: &mut Task, flags: i32) -> Result<u64> {
    if flags & !libc::EPOLL_CLOEXEC != 0 {
        bail!(EINVAL);
    }
    install(task, Epoll::new(), 0, flags & libc::EPOLL_CLOEXEC != 0)
}

/// `struct epoll_event` (packed on x86-64).
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C, packed)]
struct EpollEvent {
    events: u32,
    data: u64,
}

pub fn epoll_ctl(task: &mut Task, epfd: i32, op: i32, fd: i32, event: u64) -> Result<u64> {
    let ep_file = task.files.get(epfd)?;
    let file = task.files.get(fd)?;
    let ep = ep_file.ops().as_epoll().ok_or_else(|| errno!(EINVAL))?;
    if Arc::ptr_eq(&ep_file, &file) {
        bail!(EINVAL);
    }
    if !file.ops().supports_epoll() || file.is_path_only() {
        bail!(EPERM);
    }
    let ev = if op == libc::EPOLL_CTL_DEL {
        EpollEvent::default()
    } else {
        task.mm.read_obj::<EpollEvent>(event)?
    };
    let events = ev.events;
    match op {
        libc::EPOLL_CTL_ADD => {
            if events & EPOLLEXCLUSIVE != 0 && events & (libc::EPOLLONESHOT as u32) != 0 {
                bail!(EINVAL);
            }
            if events & EPOLLEXCLUSIVE != 0 && file.ops().as_epoll().is_some() {
                bail!(EINVAL);
            }
            ep.add(fd, &file, events, ev.data)?;
        }
        libc::EPOLL_CTL_MOD => {
            if events & EPOLLEXCLUSIVE != 0 {
                bail!(EINVAL);
            }
            ep.modify(fd, &file, events, ev.data)?;
        }
        libc::EPOLL_CTL_DEL => ep.delete(fd, &file)?,
        _ => bail!(EINVAL),
    }
    Ok(0)
}

fn do_epoll_wait(
    task: &mut Task,
    epfd: i32,
    events: u64,
    max: i32,
    deadline: Option<Instant>,
) -> Result<u64> {
    if max <= 0 || max as usize > (i32::MAX as usize) / std::mem::size_of::<EpollEvent>() {
        bail!(EINVAL);
    }
    let file = task.files.get(epfd)?;
    let ep = file.ops().as_epoll().ok_or_else(|| errno!(EINVAL))?;
    // The whole output array must be writable before anything is consumed.
    let len = max as usize * std::mem::size_of::<EpollEvent>();
    if task.mm.writable_prefix(events, len) < len.min(std::mem::size_of::<EpollEvent>()) {
        bail!(EFAULT);
    }
    let mut step = Duration::from_millis(1);
    let ready = loop {
        let slice = ep.needs_polling().then(|| Instant::now() + step);
        let wake = match (deadline, slice) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        };
        let r = block_until(&[ep.queue()], wake, || {
            let got = ep.collect(max as usize);
            (!got.is_empty()).then_some(Ok(got))
        });
        match r {
            Ok(got) => break got,
            Err(e) if e.code() == libc::ETIMEDOUT => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break Vec::new();
                }
                step = (step * 2).min(Duration::from_millis(10));
            }
            Err(e) if e.is_restart() => return Err(Errno::new(libc::EINTR)),
            Err(e) => return Err(e),
        }
    };
    let out: Vec<EpollEvent> = ready
        .iter()
        .map(|r| EpollEvent {
            events: r.events,
            data: r.data,
        })
        .collect();
    task.mm.write_obj(events, out.as_slice())?;
    Ok(out.len() as u64)
}

fn ms_deadline(timeout: i32) -> Option<Instant> {
    (timeout >= 0).then(|| Instant::now() + Duration::from_millis(timeout as u64))
}

pub fn epoll_wait(task: &mut Task, epfd: i32, events: u64, max: i32, timeout: i32) -> Result<u64> {
    do_epoll_wait(task, epfd, events, max, ms_deadline(timeout))
}

pub fn epoll_pwait(
    task: &mut Task,
    epfd: i32,
    events: u64,
    max: i32,
    timeout: i32,
    sigmask: u64,
    size: usize,
) -> Result<u64> {
    crate::signal::with_sigmask(task, sigmask, size, |t| {
        do_epoll_wait(t, epfd, events, max, ms_deadline(timeout))
    })
}

pub fn epoll_pwait2(
    task: &mut Task,
    epfd: i32,
    events: u64,
    max: i32,
    timeout: u64,
    sigmask: u64,
    size: usize,
) -> Result<u64> {
    let deadline = timeout_deadline(task, timeout)?;
    crate::signal::with_sigmask(task, sigmask, size, |t| {
        do_epoll_wait(t, epfd, events, max, deadline)
    })
}

// --- eventfd ---

pub fn eventfd2(task: &mut Task, initval: u32, flags: i32) -> Result<u64> {
    if flags & !(libc::EFD_CLOEXEC | libc::EFD_NONBLOCK | libc::EFD_SEMAPHORE) != 0 {
        bail!(EINVAL);
    }
    let status = if flags & libc::EFD_NONBLOCK != 0 {
        libc::O_NONBLOCK as u32
    } else {
        0
    };
    install(
        task,
        EventFd::new(initval, flags & libc::EFD_SEMAPHORE != 0),
        status,
        flags & libc::EFD_CLOEXEC != 0,
    )
}

pub fn eventfd(task: &mut Task, initval: u32) -> Result<u64> {
    eventfd2(task, initval, 0)
}

// --- time helpers ---

fn timespec_of(d: Duration) -> Timespec {
    from_nanos(d.as_nanos() as i128)
}

/// `struct itimerspec`.
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct ItimerSpec {
    interval: Timespec,
    value: Timespec,
}

fn clock_now(clock: i32) -> Result<Timespec> {
    use nix::time::ClockId;
    let id = match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_ALARM => ClockId::CLOCK_REALTIME,
        libc::CLOCK_MONOTONIC => ClockId::CLOCK_MONOTONIC,
        libc::CLOCK_BOOTTIME | libc::CLOCK_BOOTTIME_ALARM => ClockId::CLOCK_BOOTTIME,
        libc::CLOCK_TAI => ClockId::CLOCK_TAI,
        _ => bail!(EINVAL),
    };
    let t = nix::time::clock_gettime(id)?;
    Ok(Timespec {
        tv_sec: t.tv_sec(),
        tv_nsec: t.tv_nsec(),
    })
}

/// The deadline an itimerspec value means: relative, or absolute on `clock`.
fn deadline_of(clock: i32, value: Timespec, absolute: bool) -> Result<Option<Instant>> {
    if value.tv_sec == 0 && value.tv_nsec == 0 {
        return Ok(None);
    }
    if !absolute {
        return Ok(Some(after(to_nanos(value))));
    }
    let left = to_nanos(value) - to_nanos(clock_now(clock)?);
    Ok(Some(
        Instant::now() + Duration::from_nanos(left.clamp(0, u64::MAX as i128) as u64),
    ))
}

fn read_itimerspec(task: &Task, addr: u64) -> Result<ItimerSpec> {
    let v: ItimerSpec = task.mm.read_obj(addr)?;
    for t in [v.interval, v.value] {
        if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
            bail!(EINVAL);
        }
    }
    Ok(v)
}

fn write_itimerspec(task: &Task, addr: u64, (left, interval): (Duration, Duration)) -> Result<()> {
    task.mm.write_obj(
        addr,
        &ItimerSpec {
            interval: timespec_of(interval),
            value: timespec_of(left),
        },
    )
}

// --- timerfd ---

fn timer_clock_ok(clock: i32) -> Result<()> {
    match clock {
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME => Ok(()),
        libc::CLOCK_REALTIME_ALARM | libc::CLOCK_BOOTTIME_ALARM => Ok(()),
        _ => Err(errno!(EINVAL)),
    }
}

pub fn timerfd_create(task: &mut Task, clock: i32, flags: i32) -> Result<u64> {
    if flags & !(libc::TFD_CLOEXEC | libc::TFD_NONBLOCK) != 0 {
        bail!(EINVAL);
    }
    timer_clock_ok(clock)?;
    let status = if flags & libc::TFD_NONBLOCK != 0 {
        libc::O_NONBLOCK as u32
    } else {
        0
    };
    install(
        task,
        TimerFd::new(clock),
        status,
        flags & libc::TFD_CLOEXEC != 0,
    )
}

const TFD_TIMER_ABSTIME: i32 = 1;
const TFD_TIMER_CANCEL_ON_SET: i32 = 2;

pub fn timerfd_settime(task: &mut Task, fd: i32, flags: i32, new: u64, old: u64) -> Result<u64> {
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        bail!(EINVAL);
    }
    let file = task.files.get(fd)?;
    let tfd = file.ops().as_timerfd().ok_or_else(|| errno!(EINVAL))?;
    let v = read_itimerspec(task, new)?;
    let deadline = deadline_of(tfd.clock, v.value, flags & TFD_TIMER_ABSTIME != 0)?;
    let previous = tfd.set(deadline, timespec_duration(v.interval));
    if old != 0 {
        write_itimerspec(task, old, previous)?;
    }
    Ok(0)
}

pub fn timerfd_gettime(task: &mut Task, fd: i32, cur: u64) -> Result<u64> {
    let file = task.files.get(fd)?;
    let tfd = file.ops().as_timerfd().ok_or_else(|| errno!(EINVAL))?;
    write_itimerspec(task, cur, tfd.get())?;
    Ok(0)
}

// --- POSIX timers ---

const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;
const SIGEV_THREAD_ID: i32 = 4;

/// `struct sigevent` (64 bytes): value, signo, notify, then the thread id.
#[derive(Clone, Copy, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct SigEvent {
    value: u64,
    signo: i32,
    notify: i32,
    tid: i32,
    pad: [u8; 44],
}

pub fn timer_create(task: &mut Task, clock: i32, sevp: u64, timerid: u64) -> Result<u64> {
    let counts_on = if is_cpu_clock(clock) {
        TimerClock::Cpu(cpu_clock(task, clock)?)
    } else if matches!(
        clock,
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME | libc::CLOCK_TAI
    ) {
        TimerClock::Monotonic
    } else {
        return Err(errno!(EINVAL, "alarm clock timers are not supported"));
    };
    let tg = task.tg.clone();
    let mut timers = tg.posix_timers.lock();
    let id = timers.vacant_key() as i32;
    let how = if sevp == 0 {
        Notification::Process {
            signo: libc::SIGALRM,
            value: id as u64,
        }
    } else {
        let ev: SigEvent = task.mm.read_obj(sevp)?;
        let valid_signal = |s: i32| (1..=NSIG as i32).contains(&s);
        match ev.notify {
            SIGEV_NONE => Notification::None,
            // The kernel treats SIGEV_THREAD (glibc builds it on SIGEV_THREAD_ID) as a
            // signal to the process.
            SIGEV_SIGNAL | SIGEV_THREAD if valid_signal(ev.signo) => Notification::Process {
                signo: ev.signo,
                value: ev.value,
            },
            n if n == SIGEV_THREAD_ID | SIGEV_SIGNAL && valid_signal(ev.signo) => {
                let (target, ttg) = task
                    .kernel
                    .tree
                    .lock()
                    .thread(ev.tid)
                    .ok_or_else(|| errno!(EINVAL))?;
                if !Arc::ptr_eq(&ttg, &tg) {
                    bail!(EINVAL);
                }
                Notification::Thread {
                    signo: ev.signo,
                    value: ev.value,
                    target: Arc::downgrade(&target),
                }
            }
            _ => bail!(EINVAL),
        }
    };
    task.mm.write_obj(timerid, &id)?;
    timers.insert(PosixTimer::new(
        id,
        clock,
        counts_on,
        how,
        Arc::downgrade(&tg),
    ));
    Ok(0)
}

fn with_timer<T>(task: &Task, id: i32, f: impl FnOnce(&PosixTimer) -> Result<T>) -> Result<T> {
    let timers = task.tg.posix_timers.lock();
    let t = usize::try_from(id)
        .ok()
        .and_then(|i| timers.get(i))
        .ok_or_else(|| errno!(EINVAL))?;
    f(t)
}

pub fn timer_settime(task: &mut Task, id: i32, flags: i32, new: u64, old: u64) -> Result<u64> {
    if flags & !libc::TIMER_ABSTIME != 0 {
        bail!(EINVAL);
    }
    let v = read_itimerspec(task, new)?;
    let absolute = flags & libc::TIMER_ABSTIME != 0;
    let interval = timespec_duration(v.interval);
    let previous = with_timer(task, id, |t| {
        if is_cpu_clock(t.clock) {
            // Times on the CPU clock itself.
            let value = timespec_duration(v.value);
            return Ok(if absolute {
                t.timer.set_absolute(value, interval)
            } else {
                t.timer.set_relative(value, interval)
            });
        }
        let deadline = deadline_of(t.clock, v.value, absolute)?;
        Ok(t.timer.set(deadline, interval))
    })?;
    if old != 0 {
        write_itimerspec(task, old, previous)?;
    }
    Ok(0)
}

pub fn timer_gettime(task: &mut Task, id: i32, cur: u64) -> Result<u64> {
    let now = with_timer(task, id, |t| Ok(t.timer.get()))?;
    write_itimerspec(task, cur, now)?;
    Ok(0)
}

pub fn timer_getoverrun(task: &mut Task, id: i32) -> Result<u64> {
    with_timer(task, id, |t| Ok(t.overrun().min(i32::MAX as u64)))
}

pub fn timer_delete(task: &mut Task, id: i32) -> Result<u64> {
    let mut timers = task.tg.posix_timers.lock();
    let idx = usize::try_from(id)
        .ok()
        .filter(|&i| timers.contains(i))
        .ok_or_else(|| errno!(EINVAL))?;
    timers.remove(idx);
    Ok(0)
}

// --- pidfd ---

pub fn pidfd_open(task: &mut Task, pid: i32, flags: u32) -> Result<u64> {
    if flags & !(libc::O_NONBLOCK as u32) != 0 || pid <= 0 {
        bail!(EINVAL);
    }
    let tg = task
        .kernel
        .tree
        .lock()
        .process(pid)
        .ok_or_else(|| errno!(ESRCH))?;
    install(task, PidFd::new(tg), flags, true)
}

pub fn pidfd_send_signal(
    task: &mut Task,
    pidfd: i32,
    sig: i32,
    info: u64,
    flags: u32,
) -> Result<u64> {
    if flags != 0 || sig < 0 || sig as usize > NSIG {
        bail!(EINVAL);
    }
    let file = task.files.get(pidfd)?;
    let pfd = file.ops().as_pidfd().ok_or_else(|| errno!(EBADF))?;
    if pfd.exited() {
        bail!(ESRCH);
    }
    if sig == 0 {
        return Ok(0);
    }
    let si = if info != 0 {
        let mut si: SigInfo = task.mm.read_obj(info)?;
        if si.code >= 0 && pfd.tg.tgid != task.pid() {
            bail!(EPERM);
        }
        si.signo = sig;
        si
    } else {
        SigInfo::from_process(sig, SI_USER, task.pid(), task.creds.uid)
    };
    pfd.tg.send_signal(si);
    Ok(0)
}

/// The pid a pidfd names and whether the pidfd is non-blocking (for waitid P_PIDFD).
pub fn pidfd_pid(task: &Task, pidfd: i32) -> Result<(i32, bool)> {
    if pidfd < 0 {
        bail!(EINVAL);
    }
    let file = task.files.get(pidfd)?;
    let pfd = file.ops().as_pidfd().ok_or_else(|| errno!(EBADF))?;
    Ok((pfd.tg.tgid, file.nonblocking()))
}
