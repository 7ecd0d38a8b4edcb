//! System calls that change the filesystem: creating, linking, removing and renaming
//! names, attributes (mode, owner, times, size), space, syncing, and extended
//! attributes. Rules shared by the VFS live in `sentry::kernel::fsops`; these decode
//! the arguments and pick the file.

use std::sync::Arc;

use sentry::abi::{Timespec, Timeval};
use sentry::errno::Result;
use sentry::fs::inotify;
use sentry::kernel::Task;
use sentry::vfs::{makedev, File, FileType, NodeKind, Path, RenameFlags, TimeSet, XattrSet};
use sentry::{bail, errno};

use crate::fs::read_path;

/// Longest extended attribute name (XATTR_NAME_MAX).
const XATTR_NAME_MAX: usize = 255;
/// Largest extended attribute value (XATTR_SIZE_MAX).
const XATTR_SIZE_MAX: usize = 65536;
/// The most bytes listxattr returns (XATTR_LIST_MAX).
const XATTR_LIST_MAX: usize = 65536;

// --- creating names ---

pub fn mkdir(task: &mut Task, path: u64, mode: u32) -> Result<u64> {
    mkdirat(task, libc::AT_FDCWD, path, mode)
}

pub fn mkdirat(task: &mut Task, dirfd: i32, path: u64, mode: u32) -> Result<u64> {
    let path = read_path(task, path)?;
    // A directory's mode keeps only permissions and the sticky bit; setgid comes from
    // a setgid parent.
    task.mknod_at(dirfd, &path, NodeKind::Directory, mode & 0o1777)?;
    Ok(0)
}

pub fn mknod(task: &mut Task, path: u64, mode: u32, dev: u32) -> Result<u64> {
    mknodat(task, libc::AT_FDCWD, path, mode, dev)
}

/// Decodes the 32-bit device number mknod takes (Linux's new_decode_dev).
fn decode_dev(dev: u32) -> u64 {
    let major = (dev & 0xfff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    makedev(major, minor)
}

pub fn mknodat(task: &mut Task, dirfd: i32, path: u64, mode: u32, dev: u32) -> Result<u64> {
    let kind = match mode & libc::S_IFMT {
        0 | libc::S_IFREG => NodeKind::Regular,
        libc::S_IFIFO => NodeKind::Fifo,
        libc::S_IFSOCK => NodeKind::Socket,
        libc::S_IFCHR => NodeKind::CharDevice(decode_dev(dev)),
        libc::S_IFBLK => NodeKind::BlockDevice(decode_dev(dev)),
        libc::S_IFDIR => bail!(EPERM),
        _ => bail!(EINVAL),
    };
    let path = read_path(task, path)?;
    task.mknod_at(dirfd, &path, kind, mode & 0o7777)?;
    Ok(0)
}

pub fn symlink(task: &mut Task, target: u64, path: u64) -> Result<u64> {
    symlinkat(task, target, libc::AT_FDCWD, path)
}

pub fn symlinkat(task: &mut Task, target: u64, dirfd: i32, path: u64) -> Result<u64> {
    let target = read_path(task, target)?;
    if target.is_empty() {
        bail!(ENOENT);
    }
    let path = read_path(task, path)?;
    task.mknod_at(dirfd, &path, NodeKind::Symlink(target), 0o777)?;
    Ok(0)
}

pub fn link(task: &mut Task, old: u64, new: u64) -> Result<u64> {
    linkat(task, libc::AT_FDCWD, old, libc::AT_FDCWD, new, 0)
}

pub fn linkat(
    task: &mut Task,
    olddir: i32,
    old: u64,
    newdir: i32,
    new: u64,
    flags: i32,
) -> Result<u64> {
    if flags & !(libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH) != 0 {
        bail!(EINVAL);
    }
    let oldp = read_path(task, old)?;
    let empty = flags & libc::AT_EMPTY_PATH != 0;
    if empty
        && oldp.is_empty()
        && !task
            .creds
            .capable(sentry::kernel::caps::CAP_DAC_READ_SEARCH)
    {
        // Linking an open file by descriptor needs CAP_DAC_READ_SEARCH.
        bail!(ENOENT);
    }
    let target = task.lookup_at(olddir, &oldp, flags & libc::AT_SYMLINK_FOLLOW != 0, empty)?;
    let newp = read_path(task, new)?;
    task.link_to(&target, newdir, &newp)?;
    Ok(0)
}

// --- removing and renaming ---

pub fn unlink(task: &mut Task, path: u64) -> Result<u64> {
    unlinkat(task, libc::AT_FDCWD, path, 0)
}

pub fn rmdir(task: &mut Task, path: u64) -> Result<u64> {
    unlinkat(task, libc::AT_FDCWD, path, libc::AT_REMOVEDIR)
}

pub fn unlinkat(task: &mut Task, dirfd: i32, path: u64, flags: i32) -> Result<u64> {
    if flags & !libc::AT_REMOVEDIR != 0 {
        bail!(EINVAL);
    }
    let path = read_path(task, path)?;
    task.unlink_at(dirfd, &path, flags & libc::AT_REMOVEDIR != 0)?;
    Ok(0)
}

pub fn rename(task: &mut Task, old: u64, new: u64) -> Result<u64> {
    renameat2(task, libc::AT_FDCWD, old, libc::AT_FDCWD, new, 0)
}

pub fn renameat(task: &mut Task, olddir: i32, old: u64, newdir: i32, new: u64) -> Result<u64> {
    renameat2(task, olddir, old, newdir, new, 0)
}

pub fn renameat2(
    task: &mut Task,
    olddir: i32,
    old: u64,
    newdir: i32,
    new: u64,
    flags: u32,
) -> Result<u64> {
    if flags & !(libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE | libc::RENAME_WHITEOUT) != 0 {
        bail!(EINVAL);
    }
    let exchange = flags & libc::RENAME_EXCHANGE != 0;
    if exchange && flags & (libc::RENAME_NOREPLACE | libc::RENAME_WHITEOUT) != 0 {
        bail!(EINVAL);
    }
    if flags & libc::RENAME_WHITEOUT != 0 {
        // Overlay whiteouts are the sandbox's own business (its overlay root).
        return Err(errno!(EINVAL, "RENAME_WHITEOUT is not supported"));
    }
    let oldp = read_path(task, old)?;
    let newp = read_path(task, new)?;
    let flags = RenameFlags {
        noreplace: flags & libc::RENAME_NOREPLACE != 0,
        exchange,
    };
    task.rename_at(olddir, &oldp, newdir, &newp, flags)?;
    Ok(0)
}

// --- attributes ---

/// The path of an open file, for the f* calls (EBADF for O_PATH descriptors when
/// `path_ok` is false).
fn fd_path(task: &Task, fd: i32, path_ok: bool) -> Result<(Arc<File>, Path)> {
    let file = task.files.get(fd)?;
    if file.is_path_only() && !path_ok {
        bail!(EBADF);
    }
    let path = file.path().cloned().ok_or_else(|| errno!(EINVAL))?;
    Ok((file, path))
}

/// A path argument of an *at call: follows symlinks per `follow`, AT_EMPTY_PATH per
/// `empty_ok`.
fn at_path(task: &Task, dirfd: i32, path: u64, follow: bool, empty_ok: bool) -> Result<Path> {
    let p = read_path(task, path)?;
    task.lookup_at(dirfd, &p, follow, empty_ok)
}

pub fn chmod(task: &mut Task, path: u64, mode: u32) -> Result<u64> {
    fchmodat(task, libc::AT_FDCWD, path, mode)
}

pub fn fchmodat(task: &mut Task, dirfd: i32, path: u64, mode: u32) -> Result<u64> {
    let p = at_path(task, dirfd, path, true, false)?;
    task.chmod(&p, mode)?;
    Ok(0)
}

pub fn fchmod(task: &mut Task, fd: i32, mode: u32) -> Result<u64> {
    let (_, p) = fd_path(task, fd, false)?;
    task.chmod(&p, mode)?;
    Ok(0)
}

pub fn chown(task: &mut Task, path: u64, uid: u32, gid: u32) -> Result<u64> {
    fchownat(task, libc::AT_FDCWD, path, uid, gid, 0)
}

pub fn lchown(task: &mut Task, path: u64, uid: u32, gid: u32) -> Result<u64> {
    fchownat(
        task,
        libc::AT_FDCWD,
        path,
        uid,
        gid,
        libc::AT_SYMLINK_NOFOLLOW,
    )
}

pub fn fchownat(
    task: &mut Task,
    dirfd: i32,
    path: u64,
    uid: u32,
    gid: u32,
    flags: i32,
) -> Result<u64> {
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        bail!(EINVAL);
    }
    let p = at_path(
        task,
        dirfd,
        path,
        flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        flags & libc::AT_EMPTY_PATH != 0,
    )?;
    task.chown(&p, Some(uid), Some(gid))?;
    Ok(0)
}

pub fn fchown(task: &mut Task, fd: i32, uid: u32, gid: u32) -> Result<u64> {
    let (_, p) = fd_path(task, fd, false)?;
    task.chown(&p, Some(uid), Some(gid))?;
    Ok(0)
}

/// One utimensat timestamp: UTIME_NOW, UTIME_OMIT (None) or a time.
fn time_set(t: Timespec) -> Result<Option<TimeSet>> {
    const UTIME_NOW: i64 = (1 << 30) - 1;
    const UTIME_OMIT: i64 = (1 << 30) - 2;
    match t.tv_nsec {
        UTIME_NOW => Ok(Some(TimeSet::Now)),
        UTIME_OMIT => Ok(None),
        n if (0..1_000_000_000).contains(&n) => Ok(Some(TimeSet::At(t))),
        _ => Err(errno!(EINVAL)),
    }
}

pub fn utimensat(task: &mut Task, dirfd: i32, path: u64, times: u64, flags: i32) -> Result<u64> {
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        bail!(EINVAL);
    }
    let (atime, mtime) = if times == 0 {
        (Some(TimeSet::Now), Some(TimeSet::Now))
    } else {
        let t: [Timespec; 2] = task.mm.read_obj(times)?;
        (time_set(t[0])?, time_set(t[1])?)
    };
    let p = if path == 0 {
        // futimens: the descriptor itself.
        if dirfd == libc::AT_FDCWD {
            bail!(EFAULT);
        }
        fd_path(task, dirfd, false)?.1
    } else {
        at_path(
            task,
            dirfd,
            path,
            flags & libc::AT_SYMLINK_NOFOLLOW == 0,
            flags & libc::AT_EMPTY_PATH != 0,
        )?
    };
    task.set_times(&p, atime, mtime)?;
    Ok(0)
}

fn timeval_set(t: Timeval) -> Result<TimeSet> {
    if !(0..1_000_000).contains(&t.tv_usec) {
        bail!(EINVAL);
    }
    Ok(TimeSet::At(Timespec {
        tv_sec: t.tv_sec,
        tv_nsec: t.tv_usec * 1000,
    }))
}

pub fn futimesat(task: &mut Task, dirfd: i32, path: u64, times: u64) -> Result<u64> {
    let (atime, mtime) = if times == 0 {
        (TimeSet::Now, TimeSet::Now)
    } else {
        let t: [Timeval; 2] = task.mm.read_obj(times)?;
        (timeval_set(t[0])?, timeval_set(t[1])?)
    };
    let p = at_path(task, dirfd, path, true, false)?;
    task.set_times(&p, Some(atime), Some(mtime))?;
    Ok(0)
}

pub fn utimes(task: &mut Task, path: u64, times: u64) -> Result<u64> {
    futimesat(task, libc::AT_FDCWD, path, times)
}

pub fn utime(task: &mut Task, path: u64, times: u64) -> Result<u64> {
    let (atime, mtime) = if times == 0 {
        (TimeSet::Now, TimeSet::Now)
    } else {
        let t: [i64; 2] = task.mm.read_obj(times)?;
        let at = |s| {
            TimeSet::At(Timespec {
                tv_sec: s,
                tv_nsec: 0,
            })
        };
        (at(t[0]), at(t[1]))
    };
    let p = at_path(task, libc::AT_FDCWD, path, true, false)?;
    task.set_times(&p, Some(atime), Some(mtime))?;
    Ok(0)
}

pub fn truncate(task: &mut Task, path: u64, len: i64) -> Result<u64> {
    let p = at_path(task, libc::AT_FDCWD, path, true, false)?;
    if len < 0 {
        bail!(EINVAL);
    }
    task.truncate_path(&p, len as u64, true)?;
    Ok(0)
}

pub fn ftruncate(task: &mut Task, fd: i32, len: i64) -> Result<u64> {
    let file = task.files.get(fd)?;
    if file.is_path_only() {
        bail!(EBADF);
    }
    if len < 0 || !sentry::vfs::wants_write(file.flags()) {
        bail!(EINVAL);
    }
    let p = file.path().cloned().ok_or_else(|| errno!(EINVAL))?;
    if p.file_type() != FileType::Regular {
        bail!(EINVAL);
    }
    task.truncate_path(&p, len as u64, false)?;
    Ok(0)
}

// --- space and syncing ---

pub fn fallocate(task: &mut Task, fd: i32, mode: i32, offset: i64, len: i64) -> Result<u64> {
    if offset < 0 || len <= 0 {
        bail!(EINVAL);
    }
    let file = task.files.get(fd)?;
    if file.is_path_only() || !sentry::vfs::wants_write(file.flags()) {
        bail!(EBADF);
    }
    let p = file.path().cloned().ok_or_else(|| errno!(ESPIPE))?;
    match p.file_type() {
        FileType::Regular => {}
        FileType::Directory => bail!(EISDIR),
        FileType::Fifo => bail!(ESPIPE),
        _ => bail!(ENODEV),
    }
    if p.mount.flags().read_only {
        bail!(EROFS);
    }
    let (offset, len) = (offset as u64, len as u64);
    if offset.checked_add(len).is_none_or(|e| e > i64::MAX as u64) {
        bail!(EFBIG);
    }
    match mode {
        0 => p.inode().allocate(offset, len, false)?,
        libc::FALLOC_FL_KEEP_SIZE => p.inode().allocate(offset, len, true)?,
        m if m == libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE => {
            p.inode().punch_hole(offset, len)?
        }
        _ => bail!(EOPNOTSUPP),
    }
    inotify::file_event(&file, inotify::IN_MODIFY);
    Ok(0)
}

/// The file of a sync call: EBADF for O_PATH, EINVAL for files with nothing to sync
/// (pipes, sockets, the host's stdio).
fn syncable(task: &Task, fd: i32) -> Result<Arc<File>> {
    let file = task.files.get(fd)?;
    if file.is_path_only() {
        bail!(EBADF);
    }
    if file.path().is_none() {
        bail!(EINVAL);
    }
    Ok(file)
}

/// fsync(2): files in the sentry's memory have nothing to flush; a file written
/// through to the host is flushed by the gofer.
pub fn fsync(task: &mut Task, fd: i32) -> Result<u64> {
    syncable(task, fd)?.ops().fsync(false)?;
    Ok(0)
}

pub fn fdatasync(task: &mut Task, fd: i32) -> Result<u64> {
    syncable(task, fd)?.ops().fsync(true)?;
    Ok(0)
}

pub fn sync(_task: &mut Task) -> Result<u64> {
    Ok(0)
}

pub fn syncfs(task: &mut Task, fd: i32) -> Result<u64> {
    let file = task.files.get(fd)?;
    if file.is_path_only() {
        bail!(EBADF);
    }
    Ok(0)
}

pub fn sync_file_range(
    task: &mut Task,
    fd: i32,
    offset: i64,
    nbytes: i64,
    flags: u32,
) -> Result<u64> {
    if flags & !7 != 0 || offset < 0 || nbytes < 0 || offset.checked_add(nbytes).is_none() {
        bail!(EINVAL);
    }
    let file = task.files.get(fd)?;
    if file.is_path_only() {
        bail!(EBADF);
    }
    match file.path() {
        Some(p) if matches!(p.file_type(), FileType::Regular | FileType::Directory) => Ok(0),
        Some(_) | None => Err(errno!(ESPIPE)),
    }
}

// --- extended attributes ---

fn xattr_name(task: &Task, name: u64) -> Result<Vec<u8>> {
    let n = task.mm.read_cstring(name, XATTR_NAME_MAX).map_err(|e| {
        if e.code() == libc::ENAMETOOLONG {
            errno!(ERANGE)
        } else {
            e
        }
    })?;
    if n.is_empty() {
        bail!(ERANGE);
    }
    Ok(n)
}

fn xattr_file_path(task: &Task, fd: i32) -> Result<Path> {
    Ok(fd_path(task, fd, false)?.1)
}

fn get_xattr(task: &Task, p: &Path, name: u64, value: u64, size: usize) -> Result<u64> {
    let name = xattr_name(task, name)?;
    task.check_xattr(p, &name, false)?;
    let v = p.inode().getxattr(&name)?;
    if size == 0 {
        return Ok(v.len() as u64);
    }
    if v.len() > size {
        bail!(ERANGE);
    }
    task.mm.copy_out(value, &v)?;
    Ok(v.len() as u64)
}

fn set_xattr(task: &Task, p: &Path, name: u64, value: u64, size: usize, flags: i32) -> Result<u64> {
    let how = match flags {
        0 => XattrSet::Any,
        libc::XATTR_CREATE => XattrSet::Create,
        libc::XATTR_REPLACE => XattrSet::Replace,
        _ => bail!(EINVAL),
    };
    let name = xattr_name(task, name)?;
    if size > XATTR_SIZE_MAX {
        bail!(E2BIG);
    }
    let v = task.mm.read_bytes(value, size)?;
    task.set_xattr(p, &name, &v, how)?;
    Ok(0)
}

fn list_xattr(task: &Task, p: &Path, list: u64, size: usize) -> Result<u64> {
    let capable = task.creds.capable(sentry::kernel::caps::CAP_SYS_ADMIN);
    let mut out = Vec::new();
    for n in p.inode().listxattr()? {
        if n.starts_with(b"trusted.") && !capable {
            continue;
        }
        out.extend_from_slice(&n);
        out.push(0);
    }
    if out.len() > XATTR_LIST_MAX {
        bail!(E2BIG);
    }
    if size == 0 {
        return Ok(out.len() as u64);
    }
    if out.len() > size {
        bail!(ERANGE);
    }
    task.mm.copy_out(list, &out)?;
    Ok(out.len() as u64)
}

fn remove_xattr(task: &Task, p: &Path, name: u64) -> Result<u64> {
    let name = xattr_name(task, name)?;
    task.check_xattr(p, &name, true)?;
    p.inode().removexattr(&name)?;
    inotify::dentry_event(&p.dentry, inotify::IN_ATTRIB);
    Ok(0)
}

pub fn getxattr(task: &mut Task, path: u64, name: u64, value: u64, size: usize) -> Result<u64> {
    let p = at_path(task, libc::AT_FDCWD, path, true, false)?;
    get_xattr(task, &p, name, value, size)
}

pub fn lgetxattr(task: &mut Task, path: u64, name: u64, value: u64, size: usize) -> Result<u64> {
    let p = at_path(task, libc::AT_FDCWD, path, false, false)?;
    get_xattr(task, &p, name, value, size)
}

pub fn fgetxattr(task: &mut Task, fd: i32, name: u64, value: u64, size: usize) -> Result<u64> {
    let p = xattr_file_path(task, fd)?;
    get_xattr(task, &p, name, value, size)
}

pub fn setxattr(
    task: &mut Task,
    path: u64,
    name: u64,
    value: u64,
    size: usize,
    flags: i32,
) -> Result<u64> {
    let p = at_path(task, libc::AT_FDCWD, path, true, false)?;
    set_xattr(task, &p, name, value, size, flags)
}

pub fn lsetxattr(
    task: &mut Task,
    path: u64,
    name: u64,
    value: u64,
    size: usize,
    flags: i32,
) -> Result<u64> {
    let p = at_path(task, libc::AT_FDCWD, path, false, false)?;
    set_xattr(task, &p, name, value, size, flags)
}

pub fn fsetxattr(
    task: &mut Task,
    fd: i32,
    name: u64,
    value: u64,
    size: usize,
    flags: i32,
) -> Result<u64> {
    let p = xattr_file_path(task, fd)?;
    set_xattr(task, &p, name, value, size, flags)
}

pub fn listxattr(task: &mut Task, path: u64, list: u64, size: usize) -> Result<u64> {
    let p = at_path(task, libc::AT_FDCWD, path, true, false)?;
    list_xattr(task, &p, list, size)
}

pub fn llistxattr(task: &mut Task, path: u64, list: u64, size: usize) -> Result<u64> {
    let p = at_path(task, libc::AT_FDCWD, path, false, false)?;
    list_xattr(task, &p, list, size)
}

pub fn flistxattr(task: &mut Task, fd: i32, list: u64, size: usize) -> Result<u64> {
    let p = xattr_file_path(task, fd)?;
    list_xattr(task, &p, list, size)
}

pub fn removexattr(task: &mut Task, path: u64, name: u64) -> Result<u64> {
    let p = at_path(task, libc::AT_FDCWD, path, true, false)?;
    remove_xattr(task, &p, name)
}

pub fn lremovexattr(task: &mut Task, path: u64, name: u64) -> Result<u64> {
    let p = at_path(task, libc::AT_FDCWD, path, false, false)?;
    remove_xattr(task, &p, name)
}

pub fn fremovexattr(task: &mut Task, fd: i32, name: u64) -> Result<u64> {
    let p = xattr_file_path(task, fd)?;
    remove_xattr(task, &p, name)
}
