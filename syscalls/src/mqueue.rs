//! POSIX message queues: mq_open, mq_unlink, mq_timedsend, mq_timedreceive, mq_notify
//! and mq_getsetattr, over the sandbox's own queues (`sentry::kernel::ipc::mqueue`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry::abi::Timespec;
use sentry::bail;
use sentry::errno::Result;
use sentry::kernel::ipc::mqueue::{MqAttr, Notification};
use sentry::kernel::signal::SigInfo;
use sentry::kernel::time::{realtime, to_nanos};
use sentry::kernel::Task;
use sentry::vfs::File;

/// si_code of a message queue notification.
const SI_MESGQ: i32 = -3;
const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
/// The longest name the kernel copies in.
const NAME_MAX: usize = 255;

fn name(task: &Task, addr: u64) -> Result<Vec<u8>> {
    task.mm.read_cstring(addr, NAME_MAX)
}

fn mq_file(task: &Task, fd: i32) -> Result<Arc<File>> {
    let file = task.files.get(fd)?;
    if file.ops().as_mqueue().is_none() {
        bail!(EBADF);
    }
    Ok(file)
}

/// The deadline of an absolute CLOCK_REALTIME timeout (0: none).
fn deadline(task: &Task, addr: u64) -> Result<Option<Instant>> {
    if addr == 0 {
        return Ok(None);
    }
    let t: Timespec = task.mm.read_obj(addr)?;
    if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
        bail!(EINVAL);
    }
    let ns = (to_nanos(t) - to_nanos(realtime())).clamp(0, u64::MAX as i128) as u64;
    Ok(Instant::now().checked_add(Duration::from_nanos(ns)))
}

pub fn mq_open(task: &mut Task, name_addr: u64, flags: i32, mode: u32, attr: u64) -> Result<u64> {
    let name = name(task, name_addr)?;
    let attr = if attr != 0 && flags & libc::O_CREAT != 0 {
        Some(task.mm.read_obj::<MqAttr>(attr)?)
    } else {
        None
    };
    let umask = task.fs.umask();
    let ops = task
        .kernel
        .ipc
        .mqueue
        .open(&task.creds, &name, flags as u32, mode & !umask, attr)?;
    let status = flags as u32 & (libc::O_ACCMODE | libc::O_NONBLOCK) as u32;
    let file = File::new(ops, status, None);
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let limit = task.tg.limit(libc::RLIMIT_NOFILE);
    Ok(task.files.install(file, cloexec, 0, limit)? as u64)
}

pub fn mq_unlink(task: &mut Task, name_addr: u64) -> Result<u64> {
    let name = name(task, name_addr)?;
    task.kernel.ipc.mqueue.unlink(&task.creds, &name)?;
    Ok(0)
}

pub fn mq_timedsend(
    task: &mut Task,
    fd: i32,
    msg: u64,
    len: usize,
    prio: u32,
    timeout: u64,
) -> Result<u64> {
    let file = mq_file(task, fd)?;
    let when = deadline(task, timeout)?;
    let mq = file.ops().as_mqueue().expect("an mq file");
    if len > 16 << 20 {
        bail!(EMSGSIZE);
    }
    let text = task.mm.read_bytes(msg, len)?;
    if let Some(n) = mq.send(&file, text, prio, when)? {
        if n.signo != 0 {
            let mut info = SigInfo::from_process(n.signo, SI_MESGQ, task.tg.tgid, task.creds.uid);
            info.fields[1] = n.value;
            if let Some(tg) = task.kernel.tree.lock().process(n.tgid) {
                tg.send_signal(info);
            }
        }
    }
    Ok(0)
}

pub fn mq_timedreceive(
    task: &mut Task,
    fd: i32,
    msg: u64,
    len: usize,
    prio: u64,
    timeout: u64,
) -> Result<u64> {
    let file = mq_file(task, fd)?;
    let when = deadline(task, timeout)?;
    let mq = file.ops().as_mqueue().expect("an mq file");
    let (text, p) = mq.receive(&file, len, when)?;
    task.mm.copy_out(msg, &text)?;
    if prio != 0 {
        task.mm.write_obj(prio, &p)?;
    }
    Ok(text.len() as u64)
}

pub fn mq_notify(task: &mut Task, fd: i32, sevp: u64) -> Result<u64> {
    let file = mq_file(task, fd)?;
    let mq = file.ops().as_mqueue().expect("an mq file");
    let tgid = task.tg.tgid;
    let n = if sevp == 0 {
        None
    } else {
        // struct sigevent: sigev_value, sigev_signo, sigev_notify, ...
        let raw = task.mm.read_bytes(sevp, 16)?;
        let value = u64::from_ne_bytes(raw[0..8].try_into().expect("8 bytes"));
        let signo = i32::from_ne_bytes(raw[8..12].try_into().expect("4 bytes"));
        let notify = i32::from_ne_bytes(raw[12..16].try_into().expect("4 bytes"));
        match notify {
            SIGEV_NONE => Some(Notification {
                tgid,
                signo: 0,
                value,
            }),
            SIGEV_SIGNAL if (1..=64).contains(&signo) => Some(Notification { tgid, signo, value }),
            _ => bail!(EINVAL, "mq_notify: only SIGEV_SIGNAL and SIGEV_NONE"),
        }
    };
    mq.notify(tgid, n)?;
    Ok(0)
}

pub fn mq_getsetattr(task: &mut Task, fd: i32, new: u64, old: u64) -> Result<u64> {
    let file = mq_file(task, fd)?;
    let mq = file.ops().as_mqueue().expect("an mq file");
    let before = mq.attr(&file);
    if new != 0 {
        let attr: MqAttr = task.mm.read_obj(new)?;
        if attr.flags & !(libc::O_NONBLOCK as i64) != 0 {
            bail!(EINVAL);
        }
        let flags = (file.flags() & !(libc::O_NONBLOCK as u32)) | attr.flags as u32;
        file.set_flags(flags)?;
    }
    if old != 0 {
        task.mm.write_obj(old, &before)?;
    }
    Ok(0)
}
