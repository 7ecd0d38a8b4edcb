//! System V IPC: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl and
//! msgget/msgsnd/msgrcv/msgctl, over the sandbox's own IPC namespace
//! (`sentry::kernel::ipc`).

use sentry::errno::Result;
use sentry::kernel::ipc::abi::ShmidDs;
use sentry::kernel::ipc::{IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT};
use sentry::kernel::Task;
use sentry::{bail, errno};

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
