//! Advice about file access: posix_fadvise (fadvise64) and readahead.
//!
//! The sentry's files live in its memory or behind host fds it reads on demand, so
//! there is no page cache to prefetch into or drop: the calls are checked as Linux
//! checks them and otherwise have no effect.

use sentry::errno::Result;
use sentry::kernel::Task;
use sentry::vfs::FileType;
use sentry::{bail, errno};

pub fn fadvise64(task: &mut Task, fd: i32, _offset: i64, len: i64, advice: i32) -> Result<u64> {
    let file = task.files.get(fd)?;
    if file.is_path_only() {
        bail!(EBADF);
    }
    if file.stat()?.file_type() == FileType::Fifo {
        bail!(ESPIPE);
    }
    if len < 0 {
        bail!(EINVAL);
    }
    match advice {
        libc::POSIX_FADV_NORMAL
        | libc::POSIX_FADV_RANDOM
        | libc::POSIX_FADV_SEQUENTIAL
        | libc::POSIX_FADV_WILLNEED
        | libc::POSIX_FADV_DONTNEED
        | libc::POSIX_FADV_NOREUSE => Ok(0),
        _ => Err(errno!(EINVAL)),
    }
}

pub fn readahead(task: &mut Task, fd: i32, _offset: i64, _count: usize) -> Result<u64> {
    let file = task.files.get(fd)?;
    if !file.is_readable() {
        bail!(EBADF);
    }
    if !matches!(
        file.stat()?.file_type(),
        FileType::Regular | FileType::BlockDevice
    ) {
        bail!(EINVAL);
    }
    Ok(0)
}
