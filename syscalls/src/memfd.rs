//! memfd_create(2) and the file seals of fcntl(F_ADD_SEALS/F_GET_SEALS).

use std::sync::Arc;

use sentry::errno::Result;
use sentry::fs::memfd::{self, F_ALL_SEALS, MFD_CLOEXEC, MFD_NAME_MAX};
use sentry::fs::tmpfs::TmpInode;
use sentry::kernel::Task;
use sentry::mm::Backing;
use sentry::vfs::File;
use sentry::{bail, errno};

pub fn memfd_create(task: &mut Task, name: u64, flags: u32) -> Result<u64> {
    // Linux checks the flags before it reads the name.
    memfd::check_flags(flags)?;
    let name = match task.mm.read_cstring(name, MFD_NAME_MAX) {
        Err(e) if e.code() == libc::ENAMETOOLONG => bail!(EINVAL),
        r => r?,
    };
    let file = memfd::create(&task.kernel, &task.creds, &name, flags)?;
    let limit = task.tg.limit(libc::RLIMIT_NOFILE);
    Ok(task
        .files
        .install(file, flags & MFD_CLOEXEC != 0, 0, limit)? as u64)
}

/// F_GET_SEALS: the seals of a tmpfs file (EINVAL for other files).
pub fn get_seals(file: &File) -> Result<u64> {
    let inode = file.ops().as_tmpfs().ok_or_else(|| errno!(EINVAL))?;
    Ok(inode.seals() as u64)
}

/// F_ADD_SEALS.
pub fn add_seals(task: &Task, file: &File, seals: u64) -> Result<u64> {
    let inode = file.ops().as_tmpfs().ok_or_else(|| errno!(EINVAL))?;
    if !file.is_writable() {
        bail!(EPERM);
    }
    if seals & !(F_ALL_SEALS as u64) != 0 {
        bail!(EINVAL);
    }
    inode.add_seals(seals as u32, || mapped_shared_writable(task, inode))?;
    Ok(0)
}

/// Whether some address space of the sandbox maps `inode` shared with write permission
/// possible (Linux's i_mmap_writable: what F_SEAL_WRITE must wait for).
fn mapped_shared_writable(task: &Task, inode: &Arc<TmpInode>) -> bool {
    let target = Arc::as_ptr(inode) as *const ();
    let maps_it = |mm: &sentry::mm::MemoryManager| {
        mm.vmas().iter().any(|v| {
            v.shared
                && v.max_prot.write
                && matches!(&v.backing, Backing::Object { obj, .. }
                    if Arc::as_ptr(obj) as *const () == target)
        })
    };
    if maps_it(&task.mm) {
        return true;
    }
    let processes = task.kernel.tree.lock().processes();
    let mut seen: Vec<*const ()> = Vec::new();
    for tg in processes {
        let tasks = tg.tasks.lock().clone();
        for t in tasks {
            let Some(view) = t.view() else { continue };
            let mm = Arc::as_ptr(&view.mm) as *const ();
            if seen.contains(&mm) {
                continue;
            }
            seen.push(mm);
            if maps_it(&view.mm) {
                return true;
            }
        }
    }
    false
}
