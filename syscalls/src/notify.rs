//! inotify(7): inotify_init, inotify_init1, inotify_add_watch, inotify_rm_watch.

use sentry::errno::Result;
use sentry::fs::inotify::{self, Inotify};
use sentry::kernel::Task;
use sentry::vfs::{File, FileType};
use sentry::{bail, errno};

use crate::fs::read_path;

pub fn inotify_init1(task: &mut Task, flags: i32) -> Result<u64> {
    if flags & !(libc::IN_CLOEXEC | libc::IN_NONBLOCK) != 0 {
        bail!(EINVAL);
    }
    let status = (flags & libc::IN_NONBLOCK) as u32;
    let file = File::new(Inotify::new(), libc::O_RDONLY as u32 | status, None);
    let nofile = task.tg.limit(libc::RLIMIT_NOFILE);
    let cloexec = flags & libc::IN_CLOEXEC != 0;
    Ok(task.files.install(file, cloexec, 0, nofile)? as u64)
}

pub fn inotify_init(task: &mut Task) -> Result<u64> {
    inotify_init1(task, 0)
}

pub fn inotify_add_watch(task: &mut Task, fd: i32, path: u64, mask: u32) -> Result<u64> {
    inotify::check_watch_mask(mask)?;
    let file = task.files.get(fd)?;
    let instance = file.ops().as_inotify().ok_or_else(|| errno!(EINVAL))?;
    let path = read_path(task, path)?;
    let follow = mask & inotify::IN_DONT_FOLLOW == 0;
    let p = task.lookup(libc::AT_FDCWD, &path, follow)?;
    if mask & inotify::IN_ONLYDIR != 0 && p.file_type() != FileType::Directory {
        bail!(ENOTDIR);
    }
    // Watching needs permission to read the file.
    let st = p.inode().stat()?;
    let is_dir = p.file_type() == FileType::Directory;
    if !task
        .creds
        .may_access(false, st.mode, st.uid, st.gid, 4, is_dir)
    {
        bail!(EACCES);
    }
    Ok(instance.add_watch(p.inode(), mask)? as u64)
}

pub fn inotify_rm_watch(task: &mut Task, fd: i32, wd: i32) -> Result<u64> {
    let file = task.files.get(fd)?;
    let instance = file.ops().as_inotify().ok_or_else(|| errno!(EINVAL))?;
    instance.rm_watch(wd)?;
    Ok(0)
}
