//! File locks: flock(2), and fcntl's record-lock commands (F_GETLK, F_SETLK, F_SETLKW
//! and their open-file-description forms F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW).
//!
//! The locks live in the sentry (`sentry::vfs::lock`); here the guest's arguments
//! become lock requests, checked as Linux checks them and in its order.

use std::sync::Arc;

use sentry::abi::Flock;
use sentry::bail;
use sentry::errno::Result;
use sentry::kernel::Task;
use sentry::vfs::lock::{self, Kind, Range};
use sentry::vfs::{wants_read, wants_write, File};

const LOCK_SH: u32 = 1;
const LOCK_EX: u32 = 2;
const LOCK_NB: u32 = 4;
const LOCK_UN: u32 = 8;
/// The old "mandatory" flock flag, ignored since Linux 5.15.
const LOCK_MAND: u32 = 32;

pub fn flock(task: &mut Task, fd: i32, cmd: u32) -> Result<u64> {
    // Linux ignores LOCK_MAND requests before even looking at the fd.
    if cmd & LOCK_MAND != 0 {
        return Ok(0);
    }
    let kind = match cmd & !LOCK_NB {
        LOCK_SH => Some(Kind::Read),
        LOCK_EX => Some(Kind::Write),
        LOCK_UN => None,
        _ => bail!(EINVAL),
    };
    let file = task.files.get(fd)?;
    if file.is_path_only() {
        bail!(EBADF);
    }
    // Either access mode may take either lock; only an fd opened for neither cannot.
    if kind.is_some() && !wants_read(file.flags()) && !wants_write(file.flags()) {
        bail!(EBADF);
    }
    lock::flock(&file, kind, cmd & LOCK_NB == 0)?;
    Ok(0)
}

/// fcntl's record-lock commands on `file`, the description at `fd`; `arg` points at a
/// `struct flock`.
pub fn fcntl_lock(task: &mut Task, fd: i32, file: Arc<File>, cmd: i32, arg: u64) -> Result<u64> {
    let mut fl: Flock = task.mm.read_obj(arg)?;
    let ofd = matches!(
        cmd,
        libc::F_OFD_GETLK | libc::F_OFD_SETLK | libc::F_OFD_SETLKW
    );
    if matches!(cmd, libc::F_GETLK | libc::F_OFD_GETLK) {
        // F_OFD_GETLK also takes F_UNLCK: it then finds the description's own lock.
        if !ofd && !matches!(fl.l_type as i32, libc::F_RDLCK | libc::F_WRLCK) {
            bail!(EINVAL);
        }
        let (kind, range) = request(&file, &fl)?;
        if ofd && fl.l_pid != 0 {
            bail!(EINVAL);
        }
        let owner = if ofd {
            file.lock_owner()
        } else {
            task.files.lock_owner()
        };
        match lock::test_record(&file, owner, kind, range) {
            // Nothing in the way: only l_type changes.
            None => fl.l_type = libc::F_UNLCK as i16,
            Some(c) => {
                fl.l_type = lock_type(c.kind);
                fl.l_whence = libc::SEEK_SET as i16;
                fl.l_start = c.range.start;
                fl.l_len = c.range.flock_len();
                fl.l_pid = c.pid;
            }
        }
        task.mm.write_obj(arg, &fl)?;
        return Ok(0);
    }
    let (kind, range) = request(&file, &fl)?;
    match kind {
        Some(Kind::Read) if !wants_read(file.flags()) => bail!(EBADF),
        Some(Kind::Write) if !wants_write(file.flags()) => bail!(EBADF),
        _ => {}
    }
    if ofd && fl.l_pid != 0 {
        bail!(EINVAL);
    }
    let wait = matches!(cmd, libc::F_SETLKW | libc::F_OFD_SETLKW);
    let pid = task.pid();
    if ofd {
        lock::set_record(&file, file.lock_owner(), pid, kind, range, wait)?;
        return Ok(0);
    }
    let owner = task.files.lock_owner();
    lock::set_record(&file, owner, pid, kind, range, wait)?;
    // Another thread may have closed the fd while the lock was being taken; that close
    // released nothing yet to come, so, like Linux, give the new lock back and fail.
    let still_open = task.files.get(fd).is_ok_and(|f| Arc::ptr_eq(&f, &file));
    if kind.is_some() && !still_open {
        lock::set_record(&file, owner, pid, None, range, false)?;
        bail!(EBADF);
    }
    Ok(0)
}

/// The lock type and byte range a `struct flock` asks for, with Linux's checks in its
/// order: l_whence, the range, then l_type (all EINVAL, or EOVERFLOW for a range past
/// the largest offset).
fn request(file: &File, fl: &Flock) -> Result<(Option<Kind>, Range)> {
    let base = match fl.l_whence as i32 {
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => file.offset() as i64,
        libc::SEEK_END => file.stat()?.size as i64,
        _ => bail!(EINVAL),
    };
    let range = Range::from_flock(base, fl.l_start, fl.l_len)?;
    let kind = match fl.l_type as i32 {
        libc::F_RDLCK => Some(Kind::Read),
        libc::F_WRLCK => Some(Kind::Write),
        libc::F_UNLCK => None,
        _ => bail!(EINVAL),
    };
    Ok((kind, range))
}

fn lock_type(kind: Kind) -> i16 {
    match kind {
        Kind::Read => libc::F_RDLCK as i16,
        Kind::Write => libc::F_WRLCK as i16,
    }
}
