//! Inodes: the files of a filesystem, whatever opened them.

use std::any::Any;
use std::sync::Arc;

use super::file::FileOps;
use crate::abi::{self, StatxTimestamp, Timespec};
use crate::errno;
use crate::errno::Result;

/// The kind of a file, from its `S_IFMT` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// Regular file.
    Regular,
    /// Directory.
    Directory,
    /// Symbolic link.
    Symlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// Unix socket.
    Socket,
}

impl FileType {
    /// From a mode's `S_IFMT` bits.
    pub fn from_mode(mode: u32) -> FileType {
        match mode & libc::S_IFMT {
            libc::S_IFDIR => FileType::Directory,
            libc::S_IFLNK => FileType::Symlink,
            libc::S_IFCHR => FileType::CharDevice,
            libc::S_IFBLK => FileType::BlockDevice,
            libc::S_IFIFO => FileType::Fifo,
            libc::S_IFSOCK => FileType::Socket,
            _ => FileType::Regular,
        }
    }

    /// The `S_IFMT` bits.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::Regular => libc::S_IFREG,
            FileType::Directory => libc::S_IFDIR,
            FileType::Symlink => libc::S_IFLNK,
            FileType::CharDevice => libc::S_IFCHR,
            FileType::BlockDevice => libc::S_IFBLK,
            FileType::Fifo => libc::S_IFIFO,
            FileType::Socket => libc::S_IFSOCK,
        }
    }

    /// The `d_type` getdents reports.
    pub fn dirent_type(self) -> u8 {
        match self {
            FileType::Regular => libc::DT_REG,
            FileType::Directory => libc::DT_DIR,
            FileType::Symlink => libc::DT_LNK,
            FileType::CharDevice => libc::DT_CHR,
            FileType::BlockDevice => libc::DT_BLK,
            FileType::Fifo => libc::DT_FIFO,
            FileType::Socket => libc::DT_SOCK,
        }
    }
}

/// File attributes, as the sentry reports them to the guest.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    /// Device of the filesystem.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Type and permission bits.
    pub mode: u32,
    /// Hard links.
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device this file represents.
    pub rdev: u64,
    /// Size in bytes.
    pub size: u64,
    /// Preferred I/O size.
    pub blksize: u32,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification.
    pub mtime: Timespec,
    /// Last status change.
    pub ctime: Timespec,
    /// Creation, if known.
    pub btime: Option<Timespec>,
}

impl Stat {
    /// The file type.
    pub fn file_type(&self) -> FileType {
        FileType::from_mode(self.mode)
    }

    /// As the x86-64 `struct stat`.
    pub fn to_abi(&self) -> abi::Stat {
        abi::Stat {
            st_dev: self.dev,
            st_ino: self.ino,
            st_nlink: self.nlink as u64,
            st_mode: self.mode,
            st_uid: self.uid,
            st_gid: self.gid,
            pad0: 0,
            st_rdev: self.rdev,
            st_size: self.size as i64,
            st_blksize: self.blksize as i64,
            st_blocks: self.blocks as i64,
            st_atime: self.atime.tv_sec,
            st_atime_nsec: self.atime.tv_nsec,
            st_mtime: self.mtime.tv_sec,
            st_mtime_nsec: self.mtime.tv_nsec,
            st_ctime: self.ctime.tv_sec,
            st_ctime_nsec: self.ctime.tv_nsec,
            reserved: [0; 3],
        }
    }

    /// As `struct statx` (all basic fields, plus btime when known).
    pub fn to_statx(&self, mnt_id: u64) -> abi::Statx {
        let ts = |t: Timespec| StatxTimestamp {
            tv_sec: t.tv_sec,
            tv_nsec: t.tv_nsec as u32,
            reserved: 0,
        };
        let major = |d: u64| (((d >> 8) & 0xfff) | ((d >> 32) & !0xfff)) as u32;
        let minor = |d: u64| ((d & 0xff) | ((d >> 12) & !0xff)) as u32;
        let mut mask = libc::STATX_BASIC_STATS | libc::STATX_MNT_ID;
        if self.btime.is_some() {
            mask |= libc::STATX_BTIME;
        }
        abi::Statx {
            stx_mask: mask,
            stx_blksize: self.blksize,
            stx_nlink: self.nlink,
            stx_uid: self.uid,
            stx_gid: self.gid,
            stx_mode: self.mode as u16,
            stx_ino: self.ino,
            stx_size: self.size,
            stx_blocks: self.blocks,
            stx_atime: ts(self.atime),
            stx_btime: ts(self.btime.unwrap_or_default()),
            stx_ctime: ts(self.ctime),
            stx_mtime: ts(self.mtime),
            stx_rdev_major: major(self.rdev),
            stx_rdev_minor: minor(self.rdev),
            stx_dev_major: major(self.dev),
            stx_dev_minor: minor(self.dev),
            stx_mnt_id: mnt_id,
            ..Default::default()
        }
    }
}

/// What mknod, mkdir, symlink and open(O_CREAT) make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link to this target.
    Symlink(Vec<u8>),
    /// A named pipe.
    Fifo,
    /// A unix socket's name.
    Socket,
    /// A character device node (device number).
    CharDevice(u64),
    /// A block device node (device number).
    BlockDevice(u64),
}

impl NodeKind {
    /// The file type it makes.
    pub fn file_type(&self) -> FileType {
        match self {
            NodeKind::Regular => FileType::Regular,
            NodeKind::Directory => FileType::Directory,
            NodeKind::Symlink(_) => FileType::Symlink,
            NodeKind::Fifo => FileType::Fifo,
            NodeKind::Socket => FileType::Socket,
            NodeKind::CharDevice(_) => FileType::CharDevice,
            NodeKind::BlockDevice(_) => FileType::BlockDevice,
        }
    }
}

/// Owner and permission bits of a new file (already adjusted for umask and setgid
/// directories by the VFS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOwner {
    /// Permission bits (07777).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// A timestamp to set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeSet {
    /// The current time.
    Now,
    /// This time.
    At(Timespec),
}

/// Attribute changes: each `None` leaves that attribute alone. The VFS has checked
/// permissions; the filesystem applies them (and updates ctime).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// New permission bits (07777).
    pub mode: Option<u32>,
    /// New owner.
    pub uid: Option<u32>,
    /// New group.
    pub gid: Option<u32>,
    /// New size (regular files).
    pub size: Option<u64>,
    /// New access time.
    pub atime: Option<TimeSet>,
    /// New modification time.
    pub mtime: Option<TimeSet>,
}

/// renameat2 flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameFlags {
    /// RENAME_NOREPLACE: fail with EEXIST if the new name exists.
    pub noreplace: bool,
    /// RENAME_EXCHANGE: swap the two names (both must exist).
    pub exchange: bool,
}

/// setxattr flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrSet {
    /// Create or replace.
    Any,
    /// XATTR_CREATE: EEXIST if it exists.
    Create,
    /// XATTR_REPLACE: ENODATA if it does not exist.
    Replace,
}

/// A file in some filesystem.
///
/// Directory-changing operations (`create`, `link`, `unlink`, `rmdir`, `rename`) are
/// called by the VFS after it has resolved the names, checked permissions, read-only
/// mounts and the rules that involve dentries (mountpoints, `.`/`..`, a directory
/// moved into itself); the filesystem checks what only it knows (existence, emptiness,
/// types). Filesystems that cannot change refuse with EPERM by default.
pub trait Inode: Send + Sync + Any {
    /// Current attributes.
    fn stat(&self) -> Result<Stat>;

    /// The file's type (fixed for its lifetime).
    fn file_type(&self) -> FileType;

    /// Looks up `name` (never `.` or `..`) in this directory.
    fn lookup(&self, _name: &[u8]) -> Result<Arc<dyn Inode>> {
        Err(errno!(ENOTDIR))
    }

    /// Whether a cached name for this inode still holds (procfs: the process still
    /// exists). A dentry whose inode is no longer valid is looked up again.
    fn valid(&self) -> bool {
        true
    }

    /// For a "magic" symlink (/proc/[pid]/fd/N, exe, cwd, root): the place it leads
    /// to, which path resolution continues from instead of reading the link's text.
    fn magic_link(&self) -> Option<Result<super::Path>> {
        None
    }

    /// A directory's entries, with `.` and `..` (ENOTDIR for other files).
    fn readdir(&self) -> Result<Vec<super::DirEntry>> {
        Err(errno!(ENOTDIR))
    }

    /// A symlink's target.
    fn readlink(&self) -> Result<Vec<u8>> {
        Err(errno!(EINVAL))
    }

    /// Opens the file with open(2) `flags` (already checked against permissions).
    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>>;

    /// statfs(2) of the filesystem holding this file.
    fn statfs(&self) -> Result<abi::Statfs> {
        Ok(abi::Statfs::in_memory())
    }

    /// The filesystem instance this inode belongs to (link and rename across
    /// filesystems fail with EXDEV).
    fn fs_id(&self) -> usize;

    /// This inode as `Any`, for a filesystem to recognise its own inodes.
    fn as_any(&self) -> &dyn Any;

    /// Creates `name` in this directory (EEXIST if it exists).
    fn create(&self, _name: &[u8], _kind: NodeKind, _owner: NewOwner) -> Result<Arc<dyn Inode>> {
        Err(errno!(EPERM))
    }

    /// A new unnamed regular file in this directory's filesystem (O_TMPFILE).
    fn create_unnamed(&self, _owner: NewOwner) -> Result<Arc<dyn Inode>> {
        Err(errno!(EOPNOTSUPP))
    }

    /// Adds `name` in this directory as a new link to `target` (same filesystem).
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<()> {
        Err(errno!(EPERM))
    }

    /// Removes the non-directory `name` from this directory.
    fn unlink(&self, _name: &[u8]) -> Result<()> {
        Err(errno!(EPERM))
    }

    /// Removes the empty directory `name` from this directory.
    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        Err(errno!(EPERM))
    }

    /// Moves `old` of this directory to `new` in `new_dir` (same filesystem).
    fn rename(
        &self,
        _old: &[u8],
        _new_dir: &Arc<dyn Inode>,
        _new: &[u8],
        _flags: RenameFlags,
    ) -> Result<()> {
        Err(errno!(EPERM))
    }

    /// Changes attributes.
    fn setattr(&self, _attr: &SetAttr) -> Result<()> {
        Err(errno!(EPERM))
    }

    /// Reserves space (fallocate mode 0 or FALLOC_FL_KEEP_SIZE).
    fn allocate(&self, _offset: u64, _len: u64, _keep_size: bool) -> Result<()> {
        Err(errno!(EOPNOTSUPP))
    }

    /// Frees the space of `[offset, offset + len)` (FALLOC_FL_PUNCH_HOLE): it reads as
    /// zeros after; the size stays.
    fn punch_hole(&self, _offset: u64, _len: u64) -> Result<()> {
        Err(errno!(EOPNOTSUPP))
    }

    /// The value of extended attribute `name` (ENODATA if unset).
    fn getxattr(&self, _name: &[u8]) -> Result<Vec<u8>> {
        Err(errno!(ENODATA))
    }

    /// Sets extended attribute `name`.
    fn setxattr(&self, _name: &[u8], _value: &[u8], _how: XattrSet) -> Result<()> {
        Err(errno!(EOPNOTSUPP))
    }

    /// The names of the extended attributes.
    fn listxattr(&self) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }

    /// Removes extended attribute `name`.
    fn removexattr(&self, _name: &[u8]) -> Result<()> {
        Err(errno!(EOPNOTSUPP))
    }
}
