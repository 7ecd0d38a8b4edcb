//! The mount tree: mount, umount2, pivot_root, chroot, and unshare.

use std::sync::Arc;

use sentry::bail;
use sentry::errno::Result;
use sentry::kernel::caps::CAP_SYS_ADMIN;
use sentry::kernel::clone::flags::*;
use sentry::kernel::mounts::MountRequest;
use sentry::kernel::Task;

use crate::fs::read_path;

/// The longest mount option string (Linux copies one page).
const OPTIONS_MAX: usize = 4095;

/// A mount(2) string argument: None for a null pointer.
fn optional_string(task: &Task, addr: u64, max: usize) -> Result<Option<Vec<u8>>> {
    if addr == 0 {
        return Ok(None);
    }
    task.mm.read_cstring(addr, max).map(Some)
}

pub fn mount(
    task: &mut Task,
    source: u64,
    target: u64,
    fs_type: u64,
    flags: u64,
    data: u64,
) -> Result<u64> {
    let fs_type = optional_string(task, fs_type, 4095)?;
    let source = optional_string(task, source, 4095)?;
    let data = optional_string(task, data, OPTIONS_MAX)?;
    let target = read_path(task, target)?;
    task.mount(&MountRequest {
        source,
        target,
        fs_type,
        flags,
        data,
    })?;
    Ok(0)
}

pub fn umount2(task: &mut Task, target: u64, flags: u32) -> Result<u64> {
    // Flags and privilege are checked before the path is read.
    use sentry::kernel::mounts::{MNT_DETACH, MNT_EXPIRE, MNT_FORCE, UMOUNT_NOFOLLOW};
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
        bail!(EINVAL);
    }
    if !task.creds.capable(CAP_SYS_ADMIN) {
        bail!(EPERM);
    }
    let target = read_path(task, target)?;
    task.umount(&target, flags)?;
    Ok(0)
}

pub fn pivot_root(task: &mut Task, new_root: u64, put_old: u64) -> Result<u64> {
    if !task.creds.capable(CAP_SYS_ADMIN) {
        bail!(EPERM);
    }
    let new_root = read_path(task, new_root)?;
    let put_old = read_path(task, put_old)?;
    task.pivot_root(&new_root, &put_old)?;
    Ok(0)
}

pub fn chroot(task: &mut Task, path: u64) -> Result<u64> {
    let path = read_path(task, path)?;
    task.chroot(&path)?;
    Ok(0)
}

/// CLONE_NEWTIME (unshare only).
const CLONE_NEWTIME: u64 = 0x80;

pub fn unshare(task: &mut Task, flags: u64) -> Result<u64> {
    let valid = CLONE_THREAD
        | CLONE_FS
        | CLONE_SIGHAND
        | CLONE_VM
        | CLONE_FILES
        | CLONE_SYSVSEM
        | NAMESPACES
        | CLONE_NEWTIME;
    if flags & !valid != 0 {
        bail!(EINVAL);
    }
    // A process can "unshare" its threads, signal handlers and memory only if it
    // has no other thread to share them with.
    if flags & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM) != 0 && task.tg.tasks.lock().len() > 1 {
        bail!(EINVAL);
    }
    if flags & (NAMESPACES | CLONE_NEWTIME) & !CLONE_NEWNS != 0 {
        bail!(
            EPERM,
            "nested namespaces other than mount are not supported"
        );
    }
    if flags & CLONE_NEWNS != 0 {
        task.unshare_mounts()?;
    } else if flags & CLONE_FS != 0 {
        task.fs = Arc::new(task.fs.fork());
    }
    if flags & CLONE_FILES != 0 {
        task.files = Arc::new(task.files.fork());
    }
    Ok(0)
}
