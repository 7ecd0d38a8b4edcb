//! The gofer-backed filesystem: the container's root as the gofer serves it.
//!
//! Every lookup, stat, directory listing and link read is a request to the gofer; the
//! sentry never opens a host path itself. Regular files are opened by the gofer, which
//! donates the host fd; reads then go straight to that fd (one shared read-only fd per
//! inode), and mmap'd pages are cached in the memory file.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, OnceLock};

use gofer::{Client, Handle};
use parking_lot::Mutex;

use crate::abi::{self, Timespec};
use crate::errno;
use crate::errno::{Errno, Result};
use crate::mm::{Frame, Mappable, MappableIdentity, MemoryFile};
use crate::platform::PAGE_SIZE;
use crate::vfs::DirFile;
use crate::vfs::{anon_dev, wants_write, DirEntry, File, FileOps, FileType, Inode, Stat};

/// Pages read from the host in one go when filling the page cache.
const READAHEAD_PAGES: u64 = 16;

/// One gofer-served filesystem.
pub struct GoferFs {
    client: Arc<Client>,
    /// Host device numbers mapped to the sentry's own (the guest never sees host ones).
    devs: Mutex<HashMap<u64, u64>>,
    read_only: bool,
}

impl GoferFs {
    /// The root inode of the tree served on `client`, whose root is `root`.
    pub fn new_root(
        client: Arc<Client>,
        root: Handle,
        stat: gofer::Stat,
        read_only: bool,
    ) -> Arc<GoferInode> {
        let fs = Arc::new(GoferFs {
            client,
            devs: Mutex::default(),
            read_only,
        });
        GoferInode::new(fs, root, stat, None)
    }

    fn dev_for(&self, host_dev: u64) -> u64 {
        *self.devs.lock().entry(host_dev).or_insert_with(anon_dev)
    }
}

/// A file of the gofer filesystem.
pub struct GoferInode {
    fs: Arc<GoferFs>,
    handle: Handle,
    stat: gofer::Stat,
    link: OnceLock<Vec<u8>>,
    /// A read-only host fd shared by all read-only opens and the page cache.
    host_fd: OnceLock<Arc<OwnedFd>>,
    cache: Mutex<Option<PageCache>>,
}

struct PageCache {
    mf: Arc<MemoryFile>,
    frames: BTreeMap<u64, Frame>,
}

impl GoferInode {
    fn new(
        fs: Arc<GoferFs>,
        handle: Handle,
        stat: gofer::Stat,
        link: Option<Vec<u8>>,
    ) -> Arc<GoferInode> {
        let l = OnceLock::new();
        if let Some(t) = link {
            let _ = l.set(t);
        }
        Arc::new(GoferInode {
            fs,
            handle,
            stat,
            link: l,
            host_fd: OnceLock::new(),
            cache: Mutex::new(None),
        })
    }

    fn read_fd(&self) -> Result<Arc<OwnedFd>> {
        if let Some(fd) = self.host_fd.get() {
            return Ok(fd.clone());
        }
        let fd = Arc::new(self.fs.client.open(self.handle, libc::O_RDONLY)?);
        Ok(self.host_fd.get_or_init(|| fd).clone())
    }

    fn size(&self) -> u64 {
        self.stat.size.max(0) as u64
    }
}

impl Drop for GoferInode {
    fn drop(&mut self) {
        if let Some(cache) = self.cache.get_mut().take() {
            for &f in cache.frames.values() {
                cache.mf.decref(f, 1);
            }
        }
        let _ = self.fs.client.close(&[self.handle]);
    }
}

fn ts(sec: i64, nsec: i64) -> Timespec {
    Timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    }
}

impl Inode for GoferInode {
    fn fs_id(&self) -> usize {
        Arc::as_ptr(&self.fs) as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        let s = &self.stat;
        Ok(Stat {
            dev: self.fs.dev_for(s.dev),
            ino: s.ino,
            mode: s.mode,
            nlink: s.nlink,
            uid: s.uid,
            gid: s.gid,
            rdev: s.rdev,
            size: s.size.max(0) as u64,
            blksize: s.blksize.clamp(0, u32::MAX as i64) as u32,
            blocks: s.blocks.max(0) as u64,
            atime: ts(s.atime_sec, s.atime_nsec),
            mtime: ts(s.mtime_sec, s.mtime_nsec),
            ctime: ts(s.ctime_sec, s.ctime_nsec),
            btime: (s.btime_sec != 0).then(|| ts(s.btime_sec, s.btime_nsec)),
        })
    }

    fn file_type(&self) -> FileType {
        FileType::from_mode(self.stat.mode)
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        if self.file_type() != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        let reply = self.fs.client.walk(self.handle, &[name])?;
        let Some(&(handle, stat)) = reply.walked.first() else {
            return Err(Errno::new(if reply.errno > 0 {
                reply.errno
            } else {
                libc::EIO
            }));
        };
        Ok(GoferInode::new(self.fs.clone(), handle, stat, None))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        if self.file_type() != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        list_gofer_dir(self)
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        if self.file_type() != FileType::Symlink {
            return Err(errno!(EINVAL));
        }
        if let Some(t) = self.link.get() {
            return Ok(t.clone());
        }
        let target = self.fs.client.read_link(self.handle)?;
        Ok(self.link.get_or_init(|| target).clone())
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        match self.file_type() {
            FileType::Directory => {
                if wants_write(flags) {
                    return Err(errno!(EISDIR));
                }
                Ok(DirFile::new(self))
            }
            FileType::Regular => {
                if wants_write(flags) || flags & libc::O_TRUNC as u32 != 0 {
                    if self.fs.read_only {
                        return Err(errno!(EROFS));
                    }
                    let fd = self.fs.client.open(
                        self.handle,
                        (flags & (libc::O_ACCMODE | libc::O_TRUNC | libc::O_APPEND) as u32) as i32,
                    )?;
                    return Ok(Arc::new(GoferFile {
                        inode: self,
                        fd: Arc::new(fd),
                    }));
                }
                let fd = self.read_fd()?;
                Ok(Arc::new(GoferFile { inode: self, fd }))
            }
            FileType::Symlink => Err(errno!(ELOOP)),
            // Host device nodes, fifos and sockets are never opened through the gofer:
            // the sandbox has its own /dev.
            _ => Err(errno!(ENXIO)),
        }
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        let s = self.fs.client.stat_fs(self.handle)?;
        Ok(abi::Statfs {
            f_type: s.fs_type as i64,
            f_bsize: s.bsize as i64,
            f_blocks: s.blocks,
            f_bfree: s.bfree,
            f_bavail: s.bavail,
            f_files: s.files,
            f_ffree: s.ffree,
            f_fsid: [0, 0],
            f_namelen: s.namelen as i64,
            f_frsize: s.frsize as i64,
            f_flags: s.flags as i64
                | if self.fs.read_only {
                    libc::ST_RDONLY as i64
                } else {
                    0
                },
            f_spare: [0; 4],
        })
    }
}

impl Mappable for GoferInode {
    fn frame(&self, mf: &Arc<MemoryFile>, pgoff: u64) -> Result<Frame> {
        let pages = self.size().div_ceil(PAGE_SIZE);
        if pgoff >= pages {
            return Err(errno!(EFAULT));
        }
        let mut guard = self.cache.lock();
        let cache = guard.get_or_insert_with(|| PageCache {
            mf: mf.clone(),
            frames: BTreeMap::new(),
        });
        if let Some(&f) = cache.frames.get(&pgoff) {
            mf.incref(f, 1);
            return Ok(f);
        }
        // Read ahead: the run of uncached pages from pgoff, up to READAHEAD_PAGES.
        let next_cached = cache
            .frames
            .range(pgoff..)
            .next()
            .map_or(u64::MAX, |(&k, _)| k);
        let count = READAHEAD_PAGES.min(pages - pgoff).min(next_cached - pgoff);
        let first = mf.allocate(count)?;
        let fd = self.read_fd()?;
        if let Err(e) = mf.fill_from_file(first, count, fd.as_fd(), pgoff * PAGE_SIZE) {
            mf.decref(first, count);
            return Err(e);
        }
        for i in 0..count {
            cache.frames.insert(pgoff + i, first + i);
        }
        mf.incref(first, 1);
        Ok(first)
    }

    fn identity(&self) -> MappableIdentity {
        MappableIdentity {
            dev: self.fs.dev_for(self.stat.dev),
            ino: self.stat.ino,
            path: Vec::new(),
            deleted: false,
        }
    }
}

/// An open regular file of the gofer filesystem.
struct GoferFile {
    inode: Arc<GoferInode>,
    fd: Arc<OwnedFd>,
}

impl FileOps for GoferFile {
    fn supports_epoll(&self) -> bool {
        false
    }

    fn uses_offset(&self) -> bool {
        true
    }

    fn read(&self, _file: &File, buf: &mut [u8], offset: Option<u64>) -> Result<usize> {
        let off = offset.unwrap_or(0);
        if off > i64::MAX as u64 {
            return Err(errno!(EINVAL));
        }
        loop {
            match nix::sys::uio::pread(self.fd.as_fd(), buf, off as i64) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => return other.map_err(Errno::from),
            }
        }
    }

    fn write(&self, _file: &File, buf: &[u8], offset: Option<u64>) -> Result<usize> {
        let off = offset.unwrap_or(0);
        Ok(nix::sys::uio::pwrite(self.fd.as_fd(), buf, off as i64)?)
    }

    fn stat(&self) -> Result<Stat> {
        self.inode.stat()
    }

    fn mappable(&self) -> Result<Arc<dyn Mappable>> {
        Ok(self.inode.clone())
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        self.inode.statfs()
    }
}

/// The entries of a gofer directory, fetched in batches.
fn list_gofer_dir(inode: &GoferInode) -> Result<Vec<DirEntry>> {
    let mut out = Vec::new();
    let mut cookie = 0;
    loop {
        let reply = inode.fs.client.read_dir(inode.handle, cookie)?;
        for e in &reply.entries {
            out.push(DirEntry {
                ino: e.ino,
                d_type: e.d_type,
                name: e.name.clone(),
            });
            cookie = e.next_cookie;
        }
        if reply.end || reply.entries.is_empty() {
            return Ok(out);
        }
    }
}
