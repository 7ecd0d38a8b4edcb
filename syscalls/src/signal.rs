//! Signal dispositions, masks and sending signals.

use sentry::abi::SigAction;
use sentry::errno::Result;
use sentry::kernel::signal::{NSIG, UNBLOCKABLE};
use sentry::kernel::Task;
use sentry::{bail, errno};

/// SS_AUTODISARM.
const SS_AUTODISARM: i32 = 1 << 31;

fn valid_signal(sig: i32) -> Result<usize> {
    if sig < 1 || sig as usize > NSIG {
        bail!(EINVAL);
    }
    Ok(sig as usize)
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
    let old = task.signal_mask;
    if set != 0 {
        let s: u64 = task.mm.read_obj(set)?;
        let new = match how {
            libc::SIG_BLOCK => old | s,
            libc::SIG_UNBLOCK => old & !s,
            libc::SIG_SETMASK => s,
            _ => bail!(EINVAL),
        };
        task.signal_mask = new & !UNBLOCKABLE;
    }
    if oldset != 0 {
        task.mm.write_obj(oldset, &old)?;
    }
    Ok(0)
}

pub fn sigaltstack(task: &mut Task, ss: u64, old: u64) -> Result<u64> {
    if ss != 0 {
        let v = task.mm.read_bytes(ss, 24)?;
        let flags = i32::from_ne_bytes(v[8..12].try_into().expect("4 bytes"));
        if flags & !(libc::SS_DISABLE | SS_AUTODISARM) != 0 {
            bail!(EINVAL);
        }
    }
    if old != 0 {
        // No alternate stack yet: { ss_sp: 0, ss_flags: SS_DISABLE, ss_size: 0 }.
        let mut out = [0u8; 24];
        out[8..12].copy_from_slice(&libc::SS_DISABLE.to_ne_bytes());
        task.mm.copy_out(old, &out)?;
    }
    Ok(0)
}

fn send_to_self(task: &mut Task, sig: i32) -> Result<u64> {
    if sig == 0 {
        return Ok(0);
    }
    valid_signal(sig)?;
    task.send_signal_to_self(sig)?;
    Ok(0)
}

pub fn kill(task: &mut Task, pid: i32, sig: i32) -> Result<u64> {
    if sig < 0 || sig as usize > NSIG {
        bail!(EINVAL);
    }
    let me = task.pid();
    if pid == me || pid == 0 || pid == -1 || pid == -me {
        return send_to_self(task, sig);
    }
    Err(errno!(ESRCH))
}

pub fn tkill(task: &mut Task, tid: i32, sig: i32) -> Result<u64> {
    if tid <= 0 || sig < 0 || sig as usize > NSIG {
        bail!(EINVAL);
    }
    if tid != task.tid {
        bail!(ESRCH);
    }
    send_to_self(task, sig)
}

pub fn tgkill(task: &mut Task, tgid: i32, tid: i32, sig: i32) -> Result<u64> {
    if tgid <= 0 || tid <= 0 || sig < 0 || sig as usize > NSIG {
        bail!(EINVAL);
    }
    if tgid != task.pid() || tid != task.tid {
        bail!(ESRCH);
    }
    send_to_self(task, sig)
}

pub fn rt_sigpending(task: &mut Task, set: u64, sigsetsize: usize) -> Result<u64> {
    if sigsetsize > 8 {
        bail!(EINVAL);
    }
    // A signal is either acted on at once or refused (no delivery to handlers yet), so
    // nothing is ever left pending.
    let pending = 0u64.to_ne_bytes();
    task.mm.copy_out(set, &pending[..sigsetsize])?;
    Ok(0)
}
