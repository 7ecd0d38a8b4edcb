//! System V IPC: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl and
//! msgget/msgsnd/msgrcv/msgctl, over the sandbox's own IPC namespace
//! (`sentry::kernel::ipc`).

use std::time::{Duration, Instant};

use sentry::abi::Timespec;
use sentry::errno::Result;
use sentry::kernel::ipc::abi::{MsqidDs, SemBuf, SemidDs, ShmidDs};
use sentry::kernel::ipc::msg::{Select, MSG_COPY, MSG_EXCEPT};
use sentry::kernel::ipc::sem::SemField;
use sentry::kernel::ipc::{IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT};
use sentry::kernel::Task;
use sentry::{bail, errno};

/// The most bytes one call copies in (only limits raised by root reach it; Linux's
/// allocation would fail with ENOMEM somewhere around here too).
const MAX_COPY: usize = 64 << 20;

const SHM_LOCK: i32 = 11;
const SHM_UNLOCK: i32 = 12;
const SHM_STAT: i32 = 13;
const SHM_INFO: i32 = 14;
const SHM_STAT_ANY: i32 = 15;

pub fn shmget(task: &mut Task, key: i32, size: u64, flags: i32) -> Result<u64> {
    let id = task.kernel.ipc.shm.get(key, size, flags, &task.creds)?;
    Ok(id as u64)
}

pub fn shmat(task: &mut Task, id: i32, addr: u64, flags: i32) -> Result<u64> {
    let shm = task.kernel.ipc.shm.clone();
    shm.attach(&task.mm, &task.creds, id, addr, flags)
}

pub fn shmdt(task: &mut Task, addr: u64) -> Result<u64> {
    let shm = task.kernel.ipc.shm.clone();
    shm.detach(&task.mm, addr)?;
    Ok(0)
}

pub fn shmctl(task: &mut Task, id: i32, cmd: i32, buf: u64) -> Result<u64> {
    if cmd < 0 || id < 0 {
        bail!(EINVAL);
    }
    let shm = task.kernel.ipc.shm.clone();
    match cmd {
        IPC_STAT | SHM_STAT | SHM_STAT_ANY => {
            let by_index = cmd != IPC_STAT;
            let (ds, full_id) = shm.stat(&task.creds, id, by_index, cmd != SHM_STAT_ANY)?;
            task.mm.write_obj(buf, &ds)?;
            Ok(if by_index { full_id as u64 } else { 0 })
        }
        IPC_SET => {
            let ds: ShmidDs = task.mm.read_obj(buf)?;
            shm.set(&task.creds, id, &ds)?;
            Ok(0)
        }
        IPC_RMID => {
            shm.remove(&task.creds, id)?;
            Ok(0)
        }
        IPC_INFO => {
            let (info, max) = shm.info();
            task.mm.write_obj(buf, &info)?;
            Ok(max as u64)
        }
        SHM_INFO => {
            let (info, max) = shm.usage();
            task.mm.write_obj(buf, &info)?;
            Ok(max as u64)
        }
        SHM_LOCK | SHM_UNLOCK => {
            shm.lock(&task.creds, id, cmd == SHM_LOCK)?;
            Ok(0)
        }
        _ => Err(errno!(EINVAL)),
    }
}

const GETPID: i32 = 11;
const GETVAL: i32 = 12;
const GETALL: i32 = 13;
const GETNCNT: i32 = 14;
const GETZCNT: i32 = 15;
const SETVAL: i32 = 16;
const SETALL: i32 = 17;
const SEM_STAT: i32 = 18;
const SEM_INFO: i32 = 19;
const SEM_STAT_ANY: i32 = 20;

pub fn semget(task: &mut Task, key: i32, nsems: i32, flags: i32) -> Result<u64> {
    let id = task.kernel.ipc.sem.get(key, nsems, flags, &task.creds)?;
    Ok(id as u64)
}

pub fn semop(task: &mut Task, id: i32, sops: u64, nsops: usize) -> Result<u64> {
    semtimedop(task, id, sops, nsops, 0)
}

pub fn semtimedop(task: &mut Task, id: i32, sops: u64, nsops: usize, timeout: u64) -> Result<u64> {
    if nsops < 1 || id < 0 {
        bail!(EINVAL);
    }
    if nsops > task.kernel.ipc.sem.semopm().max(0) as usize {
        bail!(E2BIG);
    }
    if nsops > MAX_COPY / std::mem::size_of::<SemBuf>() {
        bail!(ENOMEM, "semop array too large for the sentry to copy");
    }
    let raw = task
        .mm
        .read_bytes(sops, nsops * std::mem::size_of::<SemBuf>())?;
    let ops: Vec<SemBuf> = raw
        .chunks_exact(std::mem::size_of::<SemBuf>())
        .map(|c| SemBuf {
            num: u16::from_ne_bytes([c[0], c[1]]),
            op: i16::from_ne_bytes([c[2], c[3]]),
            flg: i16::from_ne_bytes([c[4], c[5]]),
        })
        .collect();
    let deadline = if timeout != 0 {
        let t: Timespec = task.mm.read_obj(timeout)?;
        if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
            bail!(EINVAL);
        }
        let d = Duration::new(t.tv_sec as u64, t.tv_nsec as u32);
        Some(Instant::now().checked_add(d).unwrap_or_else(far_future))
    } else {
        None
    };
    let tgid = task.tg.tgid;
    task.kernel
        .ipc
        .sem
        .semop(&task.creds, tgid, id, &ops, deadline)?;
    Ok(0)
}

/// A deadline that never comes, for timeouts too long to add.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}

pub fn semctl(task: &mut Task, id: i32, num: i32, cmd: i32, arg: u64) -> Result<u64> {
    if id < 0 {
        bail!(EINVAL);
    }
    let sem = &task.kernel.ipc.sem;
    let creds = &task.creds;
    let one = |what| sem.get_one(creds, id, num, what).map(|v| v as u64);
    match cmd {
        IPC_INFO | SEM_INFO => {
            let (info, max) = sem.info(cmd == SEM_INFO);
            task.mm.write_obj(arg, &info)?;
            Ok(max as u64)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let by_index = cmd != IPC_STAT;
            let (ds, full_id) = sem.stat(creds, id, by_index, cmd != SEM_STAT_ANY)?;
            task.mm.write_obj(arg, &ds)?;
            Ok(if by_index { full_id as u64 } else { 0 })
        }
        GETVAL => one(SemField::Val),
        GETPID => one(SemField::Pid),
        GETNCNT => one(SemField::NCount),
        GETZCNT => one(SemField::ZCount),
        GETALL => {
            let vals = sem.get_all(creds, id)?;
            let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_ne_bytes()).collect();
            task.mm.copy_out(arg, &bytes)?;
            Ok(0)
        }
        SETVAL => {
            sem.set_values(creds, id, Some(num), &[arg as u32 as i32])?;
            Ok(0)
        }
        SETALL => {
            let n = sem.nsems(id)?;
            let raw = task.mm.read_bytes(arg, n * 2)?;
            let vals: Vec<i32> = raw
                .chunks_exact(2)
                .map(|c| u16::from_ne_bytes([c[0], c[1]]) as i32)
                .collect();
            sem.set_values(creds, id, None, &vals)?;
            Ok(0)
        }
        IPC_SET => {
            let ds: SemidDs = task.mm.read_obj(arg)?;
            sem.set_perm(creds, id, &ds)?;
            Ok(0)
        }
        IPC_RMID => {
            sem.remove(creds, id)?;
            Ok(0)
        }
        _ => Err(errno!(EINVAL)),
    }
}

const MSG_STAT: i32 = 11;
const MSG_INFO: i32 = 12;
const MSG_STAT_ANY: i32 = 13;

pub fn msgget(task: &mut Task, key: i32, flags: i32) -> Result<u64> {
    let id = task.kernel.ipc.msg.get(key, flags, &task.creds)?;
    Ok(id as u64)
}

pub fn msgsnd(task: &mut Task, id: i32, msgp: u64, size: i64, flags: i32) -> Result<u64> {
    let mtype: i64 = task.mm.read_obj(msgp)?;
    let msg = &task.kernel.ipc.msg;
    if size > msg.msgmax() as i64 || size < 0 || id < 0 || mtype < 1 {
        bail!(EINVAL);
    }
    if size as usize > MAX_COPY {
        bail!(ENOMEM, "message too large for the sentry to copy");
    }
    let text = task.mm.read_bytes(msgp + 8, size as usize)?;
    msg.send(&task.creds, id, mtype, text, flags & IPC_NOWAIT != 0)?;
    Ok(0)
}

pub fn msgrcv(
    task: &mut Task,
    id: i32,
    msgp: u64,
    size: i64,
    msgtyp: i64,
    flags: i32,
) -> Result<u64> {
    if id < 0 || size < 0 {
        bail!(EINVAL);
    }
    if flags & MSG_COPY != 0 && (flags & MSG_EXCEPT != 0 || flags & IPC_NOWAIT == 0) {
        bail!(EINVAL);
    }
    let msg = &task.kernel.ipc.msg;
    let max = if flags & MSG_COPY != 0 {
        size.min(msg.msgmax() as i64)
    } else {
        size
    } as usize;
    let (mtype, text) = msg.receive(&task.creds, id, max, Select::new(msgtyp, flags), flags)?;
    task.mm.write_obj(msgp, &mtype)?;
    task.mm.copy_out(msgp + 8, &text)?;
    Ok(text.len() as u64)
}

pub fn msgctl(task: &mut Task, id: i32, cmd: i32, buf: u64) -> Result<u64> {
    if cmd < 0 || id < 0 {
        bail!(EINVAL);
    }
    let msg = &task.kernel.ipc.msg;
    let creds = &task.creds;
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (info, max) = msg.info(cmd == MSG_INFO);
            task.mm.write_obj(buf, &info)?;
            Ok(max as u64)
        }
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => {
            let by_index = cmd != IPC_STAT;
            let (ds, full_id) = msg.stat(creds, id, by_index, cmd != MSG_STAT_ANY)?;
            task.mm.write_obj(buf, &ds)?;
            Ok(if by_index { full_id as u64 } else { 0 })
        }
        IPC_SET => {
            let ds: MsqidDs = task.mm.read_obj(buf)?;
            msg.set(creds, id, &ds)?;
            Ok(0)
        }
        IPC_RMID => {
            msg.remove(creds, id)?;
            Ok(0)
        }
        _ => Err(errno!(EINVAL)),
    }
}
