//! The virtual filesystem: inodes, dentries, mounts, path resolution and open file
//! descriptions. Filesystems (`crate::fs`) implement [`Inode`] and [`FileOps`]; this
//! module crosses mounts, follows symlinks and keeps the per-open state.
//!
//! Lock order: a dentry's `children` lock is taken alone (never two at once, never
//! across a filesystem call that may block on another dentry). So is the file-lock
//! table's ([`lock`]): nothing else is locked, and no file dropped, while it is held.

mod dentry;
mod file;
mod inode;
pub mod lock;
mod resolve;

pub use dentry::{Dentry, Mount, MountCopies, MountFlags, MountNamespace, Path};
pub use file::{
    fill_dirents, read_from_bytes, seek_by_size, DirEntry, DirFile, DirentWriter, File, FileOps,
    FileWatcher, IoctlMemory, SeekWhence,
};
pub use inode::{
    FileType, Inode, NewOwner, NodeKind, RenameFlags, SetAttr, Stat, TimeSet, XattrSet,
};
pub use resolve::{LastComponent, ParentAndName, Resolver, MAX_SYMLINKS, NAME_MAX, PATH_MAX};

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Encodes a device number the way Linux's `new_encode_dev` does.
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (major as u64, minor as u64);
    (minor & 0xff) | ((major & 0xfff) << 8) | ((minor & !0xff) << 12) | ((major & !0xfff) << 32)
}

static NEXT_ANON_MINOR: AtomicU32 = AtomicU32::new(1);
static NEXT_INO: AtomicU64 = AtomicU64::new(1);

/// A fresh anonymous device number (major 0), one per sentry filesystem instance.
pub fn anon_dev() -> u64 {
    makedev(0, NEXT_ANON_MINOR.fetch_add(1, Ordering::Relaxed))
}

/// A fresh inode number for synthetic files.
pub fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// Access-mode bits of open flags.
pub fn access_mode(flags: u32) -> u32 {
    flags & libc::O_ACCMODE as u32
}

/// Whether open flags ask for reading.
pub fn wants_read(flags: u32) -> bool {
    let m = access_mode(flags);
    m == libc::O_RDONLY as u32 || m == libc::O_RDWR as u32
}

/// Whether open flags ask for writing.
pub fn wants_write(flags: u32) -> bool {
    let m = access_mode(flags);
    m == libc::O_WRONLY as u32 || m == libc::O_RDWR as u32
}
