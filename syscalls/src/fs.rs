//! File system calls: I/O, descriptors, paths, attributes.

use sentry::abi::{Iovec, Stat as AbiStat};
use sentry::errno::Result;
use sentry::fs::pipe::Pipe;
use sentry::kernel::Task;
use sentry::mm::MemoryManager;
use sentry::vfs::{File, FileType, IoctlMemory, SeekWhence, PATH_MAX};
use sentry::{bail, errno};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// The most bytes one read or write transfers (Linux's MAX_RW_COUNT).
pub(crate) const MAX_RW_COUNT: usize = 0x7fff_f000;
/// Chunk size for regular-file I/O through the sentry's bounce buffer.
const CHUNK: usize = 1 << 20;
/// F_SETSIG / F_GETSIG.
const F_SETSIG: i32 = 10;
const F_GETSIG: i32 = 11;
/// Most iovecs in one readv/writev (UIO_MAXIOV).
const UIO_MAXIOV: i32 = 1024;

/// Reads a path argument (EFAULT, ENAMETOOLONG).
pub(crate) fn read_path(task: &Task, addr: u64) -> Result<Vec<u8>> {
    task.mm.read_cstring(addr, PATH_MAX - 1)
}

fn nofile_limit(task: &Task) -> u64 {
    task.tg.limit(libc::RLIMIT_NOFILE)
}

/// Guest memory for ioctl arguments.
struct Mem<'a>(&'a MemoryManager);

impl IoctlMemory for Mem<'_> {
    fn copy_in(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        self.0.copy_in(addr, buf)
    }
    fn copy_out(&self, addr: u64, buf: &[u8]) -> Result<()> {
        self.0.copy_out(addr, buf)
    }
}

/// Writing to a pipe nobody reads raises SIGPIPE as well as failing with EPIPE.
pub(crate) fn sigpipe_on_epipe<T>(task: &mut Task, result: Result<T>) -> Result<T> {
    if let Err(e) = &result {
        if e.code() == libc::EPIPE {
            let info = sentry::kernel::signal::SigInfo::from_process(
                libc::SIGPIPE,
                0,
                task.pid(),
                task.creds.uid,
            );
            task.send_signal_to_self(info);
        }
    }
    result
}

/// The file behind `fd` for a positioned call (pread/pwrite and friends): EINVAL for
/// a negative offset, ESPIPE for files without positions.
fn positioned(task: &Task, fd: i32, offset: i64) -> Result<(std::sync::Arc<File>, u64)> {
    let file = task.files.get(fd)?;
    if offset < 0 {
        bail!(EINVAL);
    }
    if !file.ops().supports_pread() {
        bail!(ESPIPE);
    }
    Ok((file, offset as u64))
}

/// Reads from `file` into guest memory at `buf` (at `offset` for pread).
fn do_read(task: &Task, file: &File, buf: u64, count: usize, offset: Option<u64>) -> Result<u64> {
    let count = count.min(MAX_RW_COUNT);
    if count == 0 {
        return Ok(0);
    }
    // Like Linux, read as much as fits in the part of the buffer that is writable; a
    // buffer that is bad from its first byte is EFAULT.
    let room = task.mm.writable_prefix(buf, count);
    if room == 0 {
        bail!(EFAULT);
    }
    let positioned = file.ops().uses_offset() || offset.is_some();
    let mut done = 0;
    while done < room {
        let want = if positioned {
            CHUNK.min(room - done)
        } else {
            room
        };
        let mut tmp = vec![0u8; want];
        let n = match offset {
            Some(off) => file.pread(&mut tmp, off + done as u64),
            None => file.read(&mut tmp),
        };
        let n = match n {
            Ok(n) => n,
            // Report what was read before the failure, as Linux does.
            Err(e) if done > 0 && !e.is_restart() => break,
            Err(e) => return Err(e),
        };
        task.mm.copy_out(buf + done as u64, &tmp[..n])?;
        done += n;
        if n < want || !positioned {
            break;
        }
    }
    Ok(done as u64)
}

/// Writes guest memory at `buf` to `file` (at `offset` for pwrite).
fn do_write(
    task: &mut Task,
    file: &File,
    buf: u64,
    count: usize,
    offset: Option<u64>,
) -> Result<u64> {
    let count = count.min(MAX_RW_COUNT);
    if count == 0 {
        return Ok(0);
    }
    let positioned = file.ops().uses_offset() || offset.is_some();
    let mut done = 0;
    while done < count {
        let want = if positioned {
            CHUNK.min(count - done)
        } else {
            count
        };
        let data = task.mm.read_bytes(buf + done as u64, want)?;
        let n = match offset {
            Some(off) => file.pwrite(&data, off + done as u64),
            None => file.write(&data),
        };
        let n = match sigpipe_on_epipe(task, n) {
            Ok(n) => n,
            // Report what was written before the failure, as Linux does.
            Err(e) if done > 0 && e.code() != libc::EPIPE => break,
            Err(e) => return Err(e),
        };
        done += n;
        if n < want || !positioned {
            break;
        }
    }
    Ok(done as u64)
}

pub fn read(task: &mut Task, fd: i32, buf: u64, count: usize) -> Result<u64> {
    let file = task.files.get(fd)?;
    do_read(task, &file, buf, count, None)
}

pub fn write(task: &mut Task, fd: i32, buf: u64, count: usize) -> Result<u64> {
    let file = task.files.get(fd)?;
    do_write(task, &file, buf, count, None)
}

pub fn pread64(task: &mut Task, fd: i32, buf: u64, count: usize, offset: i64) -> Result<u64> {
    let (file, offset) = positioned(task, fd, offset)?;
    do_read(task, &file, buf, count, Some(offset))
}

pub fn pwrite64(task: &mut Task, fd: i32, buf: u64, count: usize, offset: i64) -> Result<u64> {
    let (file, offset) = positioned(task, fd, offset)?;
    do_write(task, &file, buf, count, Some(offset))
}

pub(crate) fn read_iovecs(task: &Task, iov: u64, count: i32) -> Result<Vec<Iovec>> {
    if !(0..=UIO_MAXIOV).contains(&count) {
        bail!(EINVAL);
    }
    let mut v = vec![Iovec::default(); count as usize];
    task.mm.copy_in(iov, v.as_mut_bytes())?;
    let mut total: u64 = 0;
    for i in &v {
        total = total
            .checked_add(i.len)
            .filter(|&t| t <= i64::MAX as u64)
            .ok_or_else(|| errno!(EINVAL))?;
    }
    Ok(v)
}

fn do_readv(
    task: &mut Task,
    file: &File,
    iov: u64,
    count: i32,
    offset: Option<u64>,
) -> Result<u64> {
    let iovs = read_iovecs(task, iov, count)?;
    if offset.is_none() && file.ops().as_socket().is_some() {
        return crate::net::readv_socket(task, file, &iovs);
    }
    let mut done: u64 = 0;
    for v in iovs.iter().filter(|v| v.len > 0) {
        let n = do_read(task, file, v.base, v.len as usize, offset.map(|o| o + done))?;
        done += n;
        if n < v.len {
            break;
        }
    }
    Ok(done)
}

fn do_writev(
    task: &mut Task,
    file: &File,
    iov: u64,
    count: i32,
    offset: Option<u64>,
) -> Result<u64> {
    let iovs = read_iovecs(task, iov, count)?;
    if !file.ops().uses_offset() && offset.is_none() {
        // Streams get one write of the whole vector, so it stays atomic for pipes.
        let mut data = Vec::new();
        for v in iovs.iter().filter(|v| v.len > 0) {
            data.extend(task.mm.read_bytes(v.base, v.len as usize)?);
        }
        if data.is_empty() {
            return Ok(0);
        }
        let written = file.write(&data);
        return sigpipe_on_epipe(task, written).map(|n| n as u64);
    }
    let mut done: u64 = 0;
    for v in iovs.iter().filter(|v| v.len > 0) {
        let n = do_write(task, file, v.base, v.len as usize, offset.map(|o| o + done))?;
        done += n;
        if n < v.len {
            break;
        }
    }
    Ok(done)
}

pub fn readv(task: &mut Task, fd: i32, iov: u64, count: i32) -> Result<u64> {
    let file = task.files.get(fd)?;
    do_readv(task, &file, iov, count, None)
}

pub fn writev(task: &mut Task, fd: i32, iov: u64, count: i32) -> Result<u64> {
    let file = task.files.get(fd)?;
    do_writev(task, &file, iov, count, None)
}

pub fn preadv(task: &mut Task, fd: i32, iov: u64, count: i32, offset: i64) -> Result<u64> {
    let (file, offset) = positioned(task, fd, offset)?;
    do_readv(task, &file, iov, count, Some(offset))
}

pub fn pwritev(task: &mut Task, fd: i32, iov: u64, count: i32, offset: i64) -> Result<u64> {
    let (file, offset) = positioned(task, fd, offset)?;
    do_writev(task, &file, iov, count, Some(offset))
}

pub fn open(task: &mut Task, path: u64, flags: u32, mode: u32) -> Result<u64> {
    openat(task, libc::AT_FDCWD, path, flags, mode)
}

pub fn creat(task: &mut Task, path: u64, mode: u32) -> Result<u64> {
    open(
        task,
        path,
        (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u32,
        mode,
    )
}

const OPEN_FLAGS: u32 = (libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_SYNC
    | libc::O_PATH
    | libc::O_TMPFILE) as u32
    | KERNEL_O_LARGEFILE;

/// The kernel's O_LARGEFILE (glibc, and so `libc`, define it as 0 on x86-64).
const KERNEL_O_LARGEFILE: u32 = 0o100000;

pub fn openat(task: &mut Task, dirfd: i32, path: u64, flags: u32, mode: u32) -> Result<u64> {
    let path = read_path(task, path)?;
    // Unknown flags are ignored by open(2), as Linux does.
    // On 64-bit Linux every open is a large-file open.
    let flags = (flags & OPEN_FLAGS) | KERNEL_O_LARGEFILE;
    let file = task.open_at(dirfd, &path, flags, mode & 0o7777)?;
    let cloexec = flags & libc::O_CLOEXEC as u32 != 0;
    Ok(task.files.install(file, cloexec, 0, nofile_limit(task))? as u64)
}

/// `struct open_how` (OPEN_HOW_SIZE_VER0).
#[derive(Clone, Copy, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
const RESOLVE_CACHED: u64 = 0x20;
/// Every RESOLVE_* flag Linux knows.
const RESOLVE_ALL: u64 = 0x3f;

pub fn openat2(task: &mut Task, dirfd: i32, path: u64, how: u64, size: usize) -> Result<u64> {
    let len = std::mem::size_of::<OpenHow>();
    if size < len {
        bail!(EINVAL);
    }
    if size > sentry::platform::PAGE_SIZE as usize {
        bail!(E2BIG);
    }
    let bytes = task.mm.read_bytes(how, size)?;
    if bytes[len..].iter().any(|&b| b != 0) {
        bail!(E2BIG);
    }
    let how = OpenHow::read_from_bytes(&bytes[..len]).expect("sized");
    let flags = u32::try_from(how.flags).map_err(|_| errno!(EINVAL))?;
    if flags & !OPEN_FLAGS != 0 || how.resolve & !RESOLVE_ALL != 0 {
        bail!(EINVAL);
    }
    if how.resolve & RESOLVE_BENEATH != 0 && how.resolve & RESOLVE_IN_ROOT != 0 {
        bail!(EINVAL);
    }
    let o = |f: i32| flags & f as u32 != 0;
    let tmpfile = flags & libc::O_TMPFILE as u32 == libc::O_TMPFILE as u32;
    if o(libc::O_CREAT) || tmpfile {
        if how.mode & !0o7777 != 0 {
            bail!(EINVAL);
        }
    } else if how.mode != 0 {
        bail!(EINVAL);
    }
    let path_only = (libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u32;
    if o(libc::O_PATH) && flags & !path_only != 0 {
        bail!(EINVAL);
    }
    if how.resolve & RESOLVE_CACHED != 0 && (o(libc::O_CREAT) || o(libc::O_TRUNC) || tmpfile) {
        bail!(EAGAIN);
    }
    // RESOLVE_CACHED is met by any lookup (the dentry tree is the cache); the other
    // restrictions need the path walk to know them, which it does not yet.
    if how.resolve & !RESOLVE_CACHED != 0 {
        bail!(
            EINVAL,
            "openat2: RESOLVE flags {:#x} are not supported",
            how.resolve
        );
    }
    let path = read_path(task, path)?;
    let flags = if o(libc::O_PATH) {
        flags
    } else {
        flags | KERNEL_O_LARGEFILE
    };
    let file = task.open_at(dirfd, &path, flags, how.mode as u32)?;
    let cloexec = o(libc::O_CLOEXEC);
    Ok(task.files.install(file, cloexec, 0, nofile_limit(task))? as u64)
}

pub fn close(task: &mut Task, fd: i32) -> Result<u64> {
    task.files.remove(fd)?;
    Ok(0)
}

pub fn close_range(task: &mut Task, first: u32, last: u32, flags: u32) -> Result<u64> {
    let known = libc::CLOSE_RANGE_CLOEXEC | libc::CLOSE_RANGE_UNSHARE;
    if flags & !known != 0 || first > last {
        bail!(EINVAL);
    }
    let closed = task
        .files
        .close_range(first, last, flags & libc::CLOSE_RANGE_CLOEXEC != 0);
    drop(closed);
    Ok(0)
}

pub fn lseek(task: &mut Task, fd: i32, offset: i64, whence: u32) -> Result<u64> {
    let file = task.files.get(fd)?;
    let whence = match whence as i32 {
        libc::SEEK_SET => SeekWhence::Set,
        libc::SEEK_CUR => SeekWhence::Current,
        libc::SEEK_END => SeekWhence::End,
        libc::SEEK_DATA => SeekWhence::Data,
        libc::SEEK_HOLE => SeekWhence::Hole,
        _ => bail!(EINVAL),
    };
    file.seek(offset, whence)
}

fn write_stat(task: &Task, addr: u64, st: &sentry::vfs::Stat) -> Result<u64> {
    let abi: AbiStat = st.to_abi();
    task.mm.write_obj(addr, &abi)?;
    Ok(0)
}

pub fn stat(task: &mut Task, path: u64, buf: u64) -> Result<u64> {
    newfstatat(task, libc::AT_FDCWD, path, buf, 0)
}

pub fn lstat(task: &mut Task, path: u64, buf: u64) -> Result<u64> {
    newfstatat(task, libc::AT_FDCWD, path, buf, libc::AT_SYMLINK_NOFOLLOW)
}

pub fn fstat(task: &mut Task, fd: i32, buf: u64) -> Result<u64> {
    let st = task.files.get(fd)?.stat()?;
    write_stat(task, buf, &st)
}

pub fn newfstatat(task: &mut Task, dirfd: i32, path: u64, buf: u64, flags: i32) -> Result<u64> {
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH | libc::AT_NO_AUTOMOUNT) != 0 {
        bail!(EINVAL);
    }
    let path = read_path(task, path)?;
    let empty = flags & libc::AT_EMPTY_PATH != 0;
    let st = if path.is_empty() && empty && dirfd != libc::AT_FDCWD {
        task.files.get(dirfd)?.stat()?
    } else {
        task.lookup_at(dirfd, &path, flags & libc::AT_SYMLINK_NOFOLLOW == 0, empty)?
            .inode()
            .stat()?
    };
    write_stat(task, buf, &st)
}

pub fn statx(
    task: &mut Task,
    dirfd: i32,
    path: u64,
    flags: i32,
    mask: u32,
    buf: u64,
) -> Result<u64> {
    let known = libc::AT_SYMLINK_NOFOLLOW
        | libc::AT_EMPTY_PATH
        | libc::AT_NO_AUTOMOUNT
        | libc::AT_STATX_SYNC_TYPE;
    if flags & !known != 0 || flags & libc::AT_STATX_SYNC_TYPE == libc::AT_STATX_SYNC_TYPE {
        bail!(EINVAL);
    }
    if mask & libc::STATX__RESERVED as u32 != 0 {
        bail!(EINVAL);
    }
    let path = read_path(task, path)?;
    let empty = flags & libc::AT_EMPTY_PATH != 0;
    let (st, mnt) = if path.is_empty() && empty && dirfd != libc::AT_FDCWD {
        let f = task.files.get(dirfd)?;
        (f.stat()?, f.path().map_or(0, |p| p.mount.id()))
    } else {
        let p = task.lookup_at(dirfd, &path, flags & libc::AT_SYMLINK_NOFOLLOW == 0, empty)?;
        (p.inode().stat()?, p.mount.id())
    };
    task.mm.write_obj(buf, &st.to_statx(mnt))?;
    Ok(0)
}

pub fn getdents64(task: &mut Task, fd: i32, buf: u64, count: usize) -> Result<u64> {
    let file = task.files.get(fd)?;
    let cap = count.min(MAX_RW_COUNT);
    if task.mm.writable_prefix(buf, cap.max(1)) == 0 {
        bail!(EFAULT);
    }
    let bytes = file.getdents(cap)?;
    task.mm.copy_out(buf, &bytes)?;
    Ok(bytes.len() as u64)
}

fn do_readlink(task: &mut Task, dirfd: i32, path: u64, buf: u64, size: i64) -> Result<u64> {
    let path = read_path(task, path)?;
    if size <= 0 {
        bail!(EINVAL);
    }
    let p = task.lookup_at(dirfd, &path, false, true)?;
    if p.file_type() != FileType::Symlink {
        bail!(EINVAL);
    }
    let target = p.inode().readlink()?;
    let n = target.len().min(size as usize);
    task.mm.copy_out(buf, &target[..n])?;
    Ok(n as u64)
}

pub fn readlink(task: &mut Task, path: u64, buf: u64, size: i64) -> Result<u64> {
    do_readlink(task, libc::AT_FDCWD, path, buf, size)
}

pub fn readlinkat(task: &mut Task, dirfd: i32, path: u64, buf: u64, size: i64) -> Result<u64> {
    do_readlink(task, dirfd, path, buf, size)
}

fn do_access(task: &mut Task, dirfd: i32, path: u64, mode: i32, flags: i32) -> Result<u64> {
    if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
        bail!(EINVAL);
    }
    if flags & !(libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        bail!(EINVAL);
    }
    let path = read_path(task, path)?;
    let p = task.lookup_at(
        dirfd,
        &path,
        flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        flags & libc::AT_EMPTY_PATH != 0,
    )?;
    let st = p.inode().stat()?;
    let want = mode as u32;
    if want & 2 != 0
        && p.mount.flags().read_only
        && matches!(
            p.file_type(),
            FileType::Regular | FileType::Directory | FileType::Symlink
        )
    {
        bail!(EROFS);
    }
    let real = flags & libc::AT_EACCESS == 0;
    if !task.creds.may_access(
        real,
        st.mode,
        st.uid,
        st.gid,
        want,
        p.file_type() == FileType::Directory,
    ) {
        bail!(EACCES);
    }
    Ok(0)
}

pub fn access(task: &mut Task, path: u64, mode: i32) -> Result<u64> {
    do_access(task, libc::AT_FDCWD, path, mode, 0)
}

pub fn faccessat(task: &mut Task, dirfd: i32, path: u64, mode: i32) -> Result<u64> {
    do_access(task, dirfd, path, mode, 0)
}

pub fn faccessat2(task: &mut Task, dirfd: i32, path: u64, mode: i32, flags: i32) -> Result<u64> {
    do_access(task, dirfd, path, mode, flags)
}

pub fn getcwd(task: &mut Task, buf: u64, size: usize) -> Result<u64> {
    let cwd = task.fs.cwd();
    let (mut path, reachable) = task.absolute_path(&cwd);
    if !reachable {
        let mut p = b"(unreachable)".to_vec();
        p.extend_from_slice(&path);
        path = p;
    }
    path.push(0);
    if path.len() > size {
        bail!(ERANGE);
    }
    task.mm.copy_out(buf, &path)?;
    Ok(path.len() as u64)
}

pub fn chdir(task: &mut Task, path: u64) -> Result<u64> {
    let path = read_path(task, path)?;
    let p = task.lookup(libc::AT_FDCWD, &path, true)?;
    if p.file_type() != FileType::Directory {
        bail!(ENOTDIR);
    }
    let st = p.inode().stat()?;
    if !task
        .creds
        .may_access(false, st.mode, st.uid, st.gid, 1, true)
    {
        bail!(EACCES);
    }
    task.fs.set_cwd(p);
    Ok(0)
}

pub fn fchdir(task: &mut Task, fd: i32) -> Result<u64> {
    let file = task.files.get(fd)?;
    let p = file.path().cloned().ok_or_else(|| errno!(ENOTDIR))?;
    if p.file_type() != FileType::Directory {
        bail!(ENOTDIR);
    }
    task.fs.set_cwd(p);
    Ok(0)
}

pub fn dup(task: &mut Task, fd: i32) -> Result<u64> {
    let file = task.files.get(fd)?;
    Ok(task.files.install(file, false, 0, nofile_limit(task))? as u64)
}

pub fn dup2(task: &mut Task, old: i32, new: i32) -> Result<u64> {
    let file = task.files.get(old)?;
    if old == new {
        return Ok(new as u64);
    }
    task.files
        .install_at(new, file, false, nofile_limit(task))?;
    Ok(new as u64)
}

pub fn dup3(task: &mut Task, old: i32, new: i32, flags: i32) -> Result<u64> {
    if flags & !libc::O_CLOEXEC != 0 || old == new {
        bail!(EINVAL);
    }
    let file = task.files.get(old)?;
    task.files
        .install_at(new, file, flags & libc::O_CLOEXEC != 0, nofile_limit(task))?;
    Ok(new as u64)
}

pub fn fcntl(task: &mut Task, fd: i32, cmd: i32, arg: u64) -> Result<u64> {
    let entry = task.files.entry(fd)?;
    let file = entry.file;
    // An O_PATH fd is only a handle: it can be duplicated and its flags read.
    let path_ok = matches!(
        cmd,
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC | libc::F_GETFD | libc::F_SETFD | libc::F_GETFL
    );
    if file.is_path_only() && !path_ok {
        bail!(EBADF);
    }
    match cmd {
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            let min = arg as i32;
            let limit = nofile_limit(task);
            if min < 0 || min as u64 >= limit {
                bail!(EINVAL);
            }
            Ok(task
                .files
                .install(file, cmd == libc::F_DUPFD_CLOEXEC, min, limit)? as u64)
        }
        libc::F_GETFD => Ok(if entry.cloexec {
            libc::FD_CLOEXEC as u64
        } else {
            0
        }),
        libc::F_SETFD => {
            task.files
                .set_cloexec(fd, arg & libc::FD_CLOEXEC as u64 != 0)?;
            Ok(0)
        }
        libc::F_GETFL => Ok(file.flags() as u64),
        libc::F_SETFL => {
            file.set_flags(arg as u32)?;
            Ok(0)
        }
        libc::F_GETPIPE_SZ => file
            .ops()
            .as_pipe()
            .map(|p| p.capacity() as u64)
            .ok_or_else(|| errno!(EBADF)),
        libc::F_SETPIPE_SZ => {
            let pipe = file.ops().as_pipe().ok_or_else(|| errno!(EBADF))?;
            Ok(pipe.set_capacity(arg as usize)? as u64)
        }
        libc::F_GETLK
        | libc::F_SETLK
        | libc::F_SETLKW
        | libc::F_OFD_GETLK
        | libc::F_OFD_SETLK
        | libc::F_OFD_SETLKW => crate::locks::fcntl_lock(task, fd, file, cmd, arg),
        libc::F_GETOWN | libc::F_SETOWN | F_SETSIG | F_GETSIG => Ok(0),
        libc::F_ADD_SEALS => crate::memfd::add_seals(task, &file, arg),
        libc::F_GET_SEALS => crate::memfd::get_seals(&file),
        _ => Err(errno!(EINVAL)),
    }
}

/// TIOCGPTPEER: opens a pty master's replica as a new fd.
const TIOCGPTPEER: libc::c_ulong = 0x5441;

pub fn ioctl(task: &mut Task, fd: i32, cmd: u32, arg: u64) -> Result<u64> {
    let file = task.files.get(fd)?;
    match cmd as libc::c_ulong {
        libc::FIOCLEX => {
            task.files.set_cloexec(fd, true)?;
            Ok(0)
        }
        libc::FIONCLEX => {
            task.files.set_cloexec(fd, false)?;
            Ok(0)
        }
        libc::FIONBIO => {
            let mut v = [0u8; 4];
            task.mm.copy_in(arg, &mut v)?;
            let flags = file.flags() & !(libc::O_NONBLOCK as u32);
            let on = if i32::from_ne_bytes(v) != 0 {
                libc::O_NONBLOCK as u32
            } else {
                0
            };
            file.set_flags(flags | on)?;
            Ok(0)
        }
        _ if file.is_path_only() => Err(errno!(EBADF)),
        TIOCGPTPEER if file.ops().as_pty_master().is_some() => {
            let master = file.ops().as_pty_master().expect("checked");
            let flags = arg as u32;
            let allowed =
                (libc::O_ACCMODE | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC) as u32;
            if flags & !allowed != 0 {
                bail!(EINVAL);
            }
            let peer = master.open_peer(flags)?;
            let cloexec = flags & libc::O_CLOEXEC as u32 != 0;
            Ok(task.files.install(peer, cloexec, 0, nofile_limit(task))? as u64)
        }
        _ => file.ops().ioctl(&file, cmd, arg, &Mem(&task.mm)),
    }
}

fn do_pipe(task: &mut Task, fds: u64, flags: i32) -> Result<u64> {
    if flags & !(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_DIRECT) != 0 {
        bail!(EINVAL);
    }
    let (r, w) = Pipe::new_pair();
    let status = (flags & (libc::O_NONBLOCK | libc::O_DIRECT)) as u32;
    let rf = File::new(r, libc::O_RDONLY as u32 | status, None);
    let wf = File::new(w, libc::O_WRONLY as u32 | status, None);
    let cloexec = flags & libc::O_CLOEXEC != 0;
    let limit = nofile_limit(task);
    let rfd = task.files.install(rf, cloexec, 0, limit)?;
    let wfd = match task.files.install(wf, cloexec, 0, limit) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = task.files.remove(rfd);
            return Err(e);
        }
    };
    if let Err(e) = task.mm.write_obj(fds, &[rfd, wfd]) {
        let _ = task.files.remove(rfd);
        let _ = task.files.remove(wfd);
        return Err(e);
    }
    Ok(0)
}

pub fn pipe(task: &mut Task, fds: u64) -> Result<u64> {
    do_pipe(task, fds, 0)
}

pub fn pipe2(task: &mut Task, fds: u64, flags: i32) -> Result<u64> {
    do_pipe(task, fds, flags)
}

pub fn umask(task: &mut Task, mask: u32) -> Result<u64> {
    Ok(task.fs.swap_umask(mask) as u64)
}

pub fn statfs(task: &mut Task, path: u64, buf: u64) -> Result<u64> {
    let path = read_path(task, path)?;
    let p = task.lookup(libc::AT_FDCWD, &path, true)?;
    let s = p.statfs()?;
    task.mm.write_obj(buf, &s)?;
    Ok(0)
}

pub fn fstatfs(task: &mut Task, fd: i32, buf: u64) -> Result<u64> {
    let s = task.files.get(fd)?.statfs()?;
    task.mm.write_obj(buf, &s)?;
    Ok(0)
}
