//! Signals: dispositions, masks, the alternate stack, sending, waiting, returning.

use sentry::abi::SigAction;
use sentry::errno::{Errno, Result, ERESTARTNOHAND};
use sentry::fs::signalfd::SignalFd;
use sentry::kernel::caps::CAP_KILL;
use sentry::kernel::creds::Credentials;
use sentry::kernel::signal::{
    sigmask, AltStack, SigInfo, NSIG, SI_TKILL, SI_USER, SS_AUTODISARM, SS_DISABLE, SS_ONSTACK,
    UNBLOCKABLE,
};
use sentry::kernel::signal_frame::StackT;
use sentry::kernel::wait::{current_waiter, WakeReason};
use sentry::kernel::{Task, ThreadGroup};
use sentry::vfs::File;
use sentry::{bail, errno};

/// The smallest alternate stack sigaltstack accepts (MINSIGSTKSZ).
const MINSIGSTKSZ: u64 = 2048;

fn valid_signal(sig: i32) -> Result<usize> {
    if sig < 1 || sig as usize > NSIG {
        bail!(EINVAL);
    }
    Ok(sig as usize)
}

fn read_sigset(task: &Task, addr: u64, size: usize) -> Result<u64> {
    if size != 8 {
        bail!(EINVAL);
    }
    task.mm.read_obj(addr)
}

pub fn rt_sigaction(
    task: &mut Task,
    sig: i32,
    act: u64,
    oldact: u64,
    sigsetsize: usize,
) -> Result<u64> {
    if sigsetsize != 8 {
        bail!(EINVAL);
    }
    let signo = valid_signal(sig)?;
    let new = if act != 0 {
        Some(task.mm.read_obj::<SigAction>(act)?)
    } else {
        None
    };
    if new.is_some() && (sig == libc::SIGKILL || sig == libc::SIGSTOP) {
        bail!(EINVAL);
    }
    let old = {
        let mut actions = task.tg.actions.lock();
        let old = actions.get(signo);
        if let Some(mut a) = new {
            a.mask &= !UNBLOCKABLE;
            a.flags &= 0xffff_ffff;
            actions.set(signo, a);
            // Setting SIG_IGN (or a default-ignore SIG_DFL) discards what is pending.
            if actions.is_ignored(sig) {
                drop(actions);
                task.tg.pending.lock().discard(sigmask(sig));
                for t in task.tg.tasks.lock().iter() {
                    t.pending.lock().discard(sigmask(sig));
                }
            }
        }
        old
    };
    if oldact != 0 {
        task.mm.write_obj(oldact, &old)?;
    }
    Ok(0)
}

pub fn rt_sigprocmask(
    task: &mut Task,
    how: i32,
    set: u64,
    oldset: u64,
    sigsetsize: usize,
) -> Result<u64> {
    if sigsetsize != 8 {
        bail!(EINVAL);
    }
    let old = task.signal_mask();
    if set != 0 {
        let s: u64 = task.mm.read_obj(set)?;
        let new = match how {
            libc::SIG_BLOCK => old | s,
            libc::SIG_UNBLOCK => old & !s,
            libc::SIG_SETMASK => s,
            _ => bail!(EINVAL),
        };
        task.set_signal_mask(new);
    }
    if oldset != 0 {
        task.mm.write_obj(oldset, &old)?;
    }
    Ok(0)
}

pub fn rt_sigpending(task: &mut Task, set: u64, sigsetsize: usize) -> Result<u64> {
    if sigsetsize > 8 {
        bail!(EINVAL);
    }
    let pending =
        (task.shared.pending.lock().set() | task.tg.pending.lock().set()) & task.signal_mask();
    task.mm
        .copy_out(set, &pending.to_ne_bytes()[..sigsetsize])?;
    Ok(0)
}

pub fn rt_sigreturn(task: &mut Task) -> Result<u64> {
    match sentry::kernel::signal_frame::sigreturn(task) {
        Ok(rax) => Ok(rax),
        Err(_) => {
            task.force_signal(sentry::mm::FaultSignal {
                signo: libc::SIGSEGV,
                code: 0x80,
                addr: 0,
            });
            Ok(task.regs.0.rax)
        }
    }
}

pub fn rt_sigsuspend(task: &mut Task, mask: u64, sigsetsize: usize) -> Result<u64> {
    let new = read_sigset(task, mask, sigsetsize)?;
    let old = task.signal_mask();
    task.saved_mask = Some(old);
    task.set_signal_mask(new);
    wait_for_signal(task)
}

pub fn pause(task: &mut Task) -> Result<u64> {
    wait_for_signal(task)
}

/// Sleeps until a signal is to be delivered; the run loop delivers it and the call
/// returns EINTR.
fn wait_for_signal(task: &Task) -> Result<u64> {
    let w = current_waiter();
    loop {
        w.prepare();
        if deliverable(task) {
            return Err(Errno::new(ERESTARTNOHAND));
        }
        if w.sleep(None) == WakeReason::Interrupted {
            return Err(Errno::new(ERESTARTNOHAND));
        }
    }
}

fn deliverable(task: &Task) -> bool {
    let pending = task.shared.pending.lock().set() | task.tg.pending.lock().set();
    pending & !task.signal_mask() != 0
}

pub fn rt_sigtimedwait(
    task: &mut Task,
    set: u64,
    info: u64,
    timeout: u64,
    sigsetsize: usize,
) -> Result<u64> {
    let wanted = read_sigset(task, set, sigsetsize)? & !UNBLOCKABLE;
    let deadline = crate::time::timeout_deadline(task, timeout)?;
    let w = current_waiter();
    loop {
        w.prepare();
        // Take one of the wanted signals, whether blocked or not.
        let not_wanted = !wanted;
        let got = task
            .shared
            .pending
            .lock()
            .dequeue(not_wanted)
            .or_else(|| task.tg.pending.lock().dequeue(not_wanted));
        if let Some(si) = got {
            if info != 0 {
                task.mm.write_obj(info, &si)?;
            }
            return Ok(si.signo as u64);
        }
        if deliverable(task) {
            return Err(errno!(EINTR));
        }
        match w.sleep(deadline) {
            WakeReason::Notified => continue,
            WakeReason::TimedOut => return Err(errno!(EAGAIN)),
            WakeReason::Interrupted => {
                w.clear_interrupt();
                continue;
            }
        }
    }
}

pub fn sigaltstack(task: &mut Task, ss: u64, old: u64) -> Result<u64> {
    let sp = task.regs.0.rsp;
    let current = task.altstack;
    if ss != 0 {
        let new: StackT = task.mm.read_obj(ss)?;
        if current.contains(sp) {
            bail!(EPERM);
        }
        let mode = new.ss_flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
            bail!(EINVAL);
        }
        task.altstack = if mode == SS_DISABLE {
            AltStack::default()
        } else {
            if new.ss_size < MINSIGSTKSZ {
                bail!(ENOMEM);
            }
            AltStack {
                sp: new.ss_sp,
                size: new.ss_size,
                autodisarm: new.ss_flags & SS_AUTODISARM != 0,
            }
        };
    }
    if old != 0 {
        let st = StackT {
            ss_sp: current.sp,
            ss_flags: current.flags(sp),
            pad: 0,
            ss_size: current.size,
        };
        task.mm.write_obj(old, &st)?;
    }
    Ok(0)
}

fn sender_info(task: &Task, signo: i32, code: i32) -> SigInfo {
    SigInfo::from_process(signo, code, task.pid(), task.creds.uid)
}

/// Linux's check_kill_permission: a task may signal its own process, processes of
/// its user (its real or effective uid is the target's real or saved uid), SIGCONT
/// within its session, and anyone with CAP_KILL.
fn may_signal(task: &Task, tg: &ThreadGroup, target: Option<Credentials>, sig: i32) -> bool {
    let c = &task.creds;
    if tg.tgid == task.pid() || c.capable(CAP_KILL) {
        return true;
    }
    let same_user =
        target.is_some_and(|t| [c.euid, c.uid].iter().any(|&u| u == t.uid || u == t.suid));
    same_user || (sig == libc::SIGCONT && *tg.sid.lock() == *task.tg.sid.lock())
}

fn may_signal_process(task: &Task, tg: &ThreadGroup, sig: i32) -> bool {
    may_signal(task, tg, tg.creds(), sig)
}

pub fn kill(task: &mut Task, pid: i32, sig: i32) -> Result<u64> {
    if sig < 0 || sig as usize > NSIG {
        bail!(EINVAL);
    }
    let me = task.pid();
    let targets = {
        let tree = task.kernel.tree.lock();
        match pid {
            p if p > 0 => tree.process(p).into_iter().collect::<Vec<_>>(),
            0 => tree.group_members(*task.tg.pgid.lock()),
            -1 => tree
                .processes()
                .into_iter()
                .filter(|t| t.tgid != 1 && t.tgid != me)
                .collect(),
            p => tree.group_members(-p),
        }
    };
    if targets.is_empty() {
        bail!(ESRCH);
    }
    // A process or group needs one target it may signal (EPERM); kill(-1) skips the
    // others silently.
    let allowed: Vec<_> = targets
        .into_iter()
        .filter(|t| may_signal_process(task, t, sig))
        .collect();
    if allowed.is_empty() && pid != -1 {
        bail!(EPERM);
    }
    if sig != 0 {
        let info = sender_info(task, sig, SI_USER);
        for t in allowed {
            t.send_signal(info);
        }
    }
    Ok(0)
}

fn send_to_thread(task: &mut Task, tgid: Option<i32>, tid: i32, sig: i32) -> Result<u64> {
    if tid <= 0 || tgid.is_some_and(|t| t <= 0) || sig < 0 || sig as usize > NSIG {
        bail!(EINVAL);
    }
    let (target, tg) = task
        .kernel
        .tree
        .lock()
        .thread(tid)
        .ok_or_else(|| errno!(ESRCH))?;
    if tgid.is_some_and(|t| t != tg.tgid) {
        bail!(ESRCH);
    }
    if !may_signal(task, &tg, target.view().map(|v| v.creds), sig) {
        bail!(EPERM);
    }
    if sig != 0 {
        target.send_signal(&tg, sender_info(task, sig, SI_TKILL));
    }
    Ok(0)
}

pub fn tkill(task: &mut Task, tid: i32, sig: i32) -> Result<u64> {
    send_to_thread(task, None, tid, sig)
}

pub fn tgkill(task: &mut Task, tgid: i32, tid: i32, sig: i32) -> Result<u64> {
    send_to_thread(task, Some(tgid), tid, sig)
}

/// Reads a user-supplied siginfo for sigqueueinfo; only negative si_codes (as sigqueue
/// makes) may be forged, except towards oneself.
fn queued_info(task: &Task, sig: i32, uinfo: u64, to_self: bool) -> Result<SigInfo> {
    let mut info: SigInfo = task.mm.read_obj(uinfo)?;
    if !to_self && (info.code >= 0 || info.code == SI_TKILL) {
        bail!(EPERM);
    }
    info.signo = sig;
    Ok(info)
}

pub fn rt_sigqueueinfo(task: &mut Task, tgid: i32, sig: i32, uinfo: u64) -> Result<u64> {
    valid_signal(sig)?;
    let tg = task
        .kernel
        .tree
        .lock()
        .process(tgid)
        .ok_or_else(|| errno!(ESRCH))?;
    let info = queued_info(task, sig, uinfo, tgid == task.pid())?;
    if !may_signal_process(task, &tg, sig) {
        bail!(EPERM);
    }
    tg.send_signal(info);
    Ok(0)
}

pub fn rt_tgsigqueueinfo(
    task: &mut Task,
    tgid: i32,
    tid: i32,
    sig: i32,
    uinfo: u64,
) -> Result<u64> {
    valid_signal(sig)?;
    if tgid <= 0 || tid <= 0 {
        bail!(EINVAL);
    }
    let (target, tg) = task
        .kernel
        .tree
        .lock()
        .thread(tid)
        .ok_or_else(|| errno!(ESRCH))?;
    if tg.tgid != tgid {
        bail!(ESRCH);
    }
    let info = queued_info(task, sig, uinfo, tgid == task.pid())?;
    if !may_signal(task, &tg, target.view().map(|v| v.creds), sig) {
        bail!(EPERM);
    }
    target.send_signal(&tg, info);
    Ok(0)
}

/// Swaps in the caller's signal mask for the wait (restored when a signal is
/// delivered, or right after).
pub(crate) fn with_sigmask(
    task: &mut Task,
    sigmask: u64,
    size: usize,
    f: impl FnOnce(&mut Task) -> Result<u64>,
) -> Result<u64> {
    if sigmask == 0 {
        return f(task);
    }
    if size != 8 {
        bail!(EINVAL);
    }
    let mask: u64 = task.mm.read_obj(sigmask)?;
    let old = task.signal_mask();
    task.set_signal_mask(mask);
    let r = f(task);
    match &r {
        // The handler must run with the wait's mask; the run loop restores the old one.
        Err(e) if e.code() == libc::EINTR || e.is_restart() => task.saved_mask = Some(old),
        _ => task.set_signal_mask(old),
    }
    r
}

/// signalfd flags.
const SFD_CLOEXEC: i32 = libc::O_CLOEXEC;
const SFD_NONBLOCK: i32 = libc::O_NONBLOCK;

pub fn signalfd(task: &mut Task, fd: i32, mask: u64, size: usize) -> Result<u64> {
    signalfd4(task, fd, mask, size, 0)
}

pub fn signalfd4(task: &mut Task, fd: i32, mask: u64, size: usize, flags: i32) -> Result<u64> {
    let set = read_sigset(task, mask, size)? & !UNBLOCKABLE;
    if flags & !(SFD_CLOEXEC | SFD_NONBLOCK) != 0 {
        bail!(EINVAL);
    }
    if fd != -1 {
        let file = task.files.get(fd)?;
        let sfd = file.ops().as_signalfd().ok_or_else(|| errno!(EINVAL))?;
        sfd.set_mask(set);
        return Ok(fd as u64);
    }
    let status = if flags & SFD_NONBLOCK != 0 {
        libc::O_NONBLOCK as u32
    } else {
        0
    };
    let file = File::new(SignalFd::new(set), libc::O_RDWR as u32 | status, None);
    let limit = task.tg.limit(libc::RLIMIT_NOFILE);
    Ok(task
        .files
        .install(file, flags & SFD_CLOEXEC != 0, 0, limit)? as u64)
}
