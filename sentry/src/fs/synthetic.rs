//! Building blocks for in-sentry filesystems: static directories, symlinks and device
//! nodes whose contents the sentry defines.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::abi::Timespec;
use crate::errno;
use crate::errno::Result;
use crate::vfs::DirFile;
use crate::vfs::{next_ino, DirEntry, FileOps, FileType, Inode, Stat};

/// Attributes shared by synthetic inodes.
#[derive(Clone, Copy, Debug)]
pub struct SyntheticAttr {
    /// Device of the filesystem.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Mode including the type bits.
    pub mode: u32,
    /// Device number for device nodes.
    pub rdev: u64,
    /// Creation time (all timestamps).
    pub time: Timespec,
}

impl SyntheticAttr {
    /// Attributes for a new inode on `dev`.
    pub fn new(dev: u64, mode: u32) -> SyntheticAttr {
        SyntheticAttr {
            dev,
            ino: next_ino(),
            mode,
            rdev: 0,
            time: crate::kernel::time::realtime(),
        }
    }

    /// As a stat.
    pub fn stat(&self, size: u64, nlink: u32) -> Stat {
        Stat {
            dev: self.dev,
            ino: self.ino,
            mode: self.mode,
            nlink,
            uid: 0,
            gid: 0,
            rdev: self.rdev,
            size,
            blksize: 4096,
            blocks: 0,
            atime: self.time,
            mtime: self.time,
            ctime: self.time,
            btime: None,
        }
    }
}

/// A directory with a fixed set of children.
pub struct StaticDir {
    attr: SyntheticAttr,
    children: BTreeMap<Vec<u8>, Arc<dyn Inode>>,
}

impl StaticDir {
    /// A directory on `dev` with `children`.
    pub fn new(dev: u64, children: Vec<(&str, Arc<dyn Inode>)>) -> Arc<StaticDir> {
        Arc::new(StaticDir {
            attr: SyntheticAttr::new(dev, libc::S_IFDIR | 0o755),
            children: children
                .into_iter()
                .map(|(n, i)| (n.as_bytes().to_vec(), i))
                .collect(),
        })
    }
}

impl Inode for StaticDir {
    fn fs_id(&self) -> usize {
        self.attr.dev as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        let subdirs = self
            .children
            .values()
            .filter(|c| c.file_type() == FileType::Directory)
            .count();
        Ok(self.attr.stat(4096, 2 + subdirs as u32))
    }

    fn file_type(&self) -> FileType {
        FileType::Directory
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        self.children
            .get(name)
            .cloned()
            .ok_or_else(|| errno!(ENOENT))
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        if crate::vfs::wants_write(flags) {
            return Err(errno!(EISDIR));
        }
        Ok(DirFile::new(self))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        let mut entries = DirEntry::dots(self.attr.ino, self.attr.ino);
        for (name, inode) in &self.children {
            let ino = inode.stat().map(|s| s.ino).unwrap_or(0);
            entries.push(DirEntry {
                ino,
                d_type: inode.file_type().dirent_type(),
                name: name.clone(),
            });
        }
        Ok(entries)
    }
}

/// A symlink with a fixed target.
pub struct StaticSymlink {
    attr: SyntheticAttr,
    target: Vec<u8>,
}

impl StaticSymlink {
    /// A symlink on `dev` pointing at `target`.
    pub fn new(dev: u64, target: &str) -> Arc<StaticSymlink> {
        Arc::new(StaticSymlink {
            attr: SyntheticAttr::new(dev, libc::S_IFLNK | 0o777),
            target: target.as_bytes().to_vec(),
        })
    }
}

impl Inode for StaticSymlink {
    fn fs_id(&self) -> usize {
        self.attr.dev as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.attr.stat(self.target.len() as u64, 1))
    }

    fn file_type(&self) -> FileType {
        FileType::Symlink
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        Ok(self.target.clone())
    }

    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>> {
        Err(errno!(ELOOP))
    }
}

/// A read-only regular file with fixed contents.
pub struct StaticFile {
    attr: SyntheticAttr,
    data: Vec<u8>,
}

impl StaticFile {
    /// A file on `dev` holding `data`, mode 0444.
    pub fn new(dev: u64, data: impl Into<Vec<u8>>) -> Arc<StaticFile> {
        Arc::new(StaticFile {
            attr: SyntheticAttr::new(dev, libc::S_IFREG | 0o444),
            data: data.into(),
        })
    }
}

impl Inode for StaticFile {
    fn fs_id(&self) -> usize {
        self.attr.dev as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.attr.stat(4096, 1))
    }

    fn file_type(&self) -> FileType {
        FileType::Regular
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        if crate::vfs::wants_write(flags) {
            return Err(errno!(EACCES));
        }
        Ok(Arc::new(StaticFileOps { inode: self }))
    }
}

struct StaticFileOps {
    inode: Arc<StaticFile>,
}

impl FileOps for StaticFileOps {
    fn supports_epoll(&self) -> bool {
        false
    }

    fn uses_offset(&self) -> bool {
        true
    }

    fn read(&self, _file: &crate::vfs::File, buf: &mut [u8], offset: Option<u64>) -> Result<usize> {
        Ok(crate::vfs::read_from_bytes(&self.inode.data, buf, offset))
    }

    fn stat(&self) -> Result<Stat> {
        self.inode.stat()
    }
}
