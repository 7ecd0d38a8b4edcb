//! The gofer-backed filesystem: the container's root as the gofer serves it.
//!
//! Every lookup, stat, directory listing and link read is a request to the gofer; the
//! sentry never opens a host path itself. Regular files are opened by the gofer, which
//! donates the host fd; reads then go straight to that fd (one shared read-only fd per
//! inode), and mmap'd pages are cached in the memory file.
//!
//! A writable instance (the root written through to the host, as runc does) sends every
//! change — create, mkdir, mknod, symlink, link, unlink, rename, setattr, xattrs,
//! fallocate, fsync — to the gofer, asks it for fresh attributes on each stat (the host
//! file may have changed), and keeps its page cache in step with writes. Once a file is
//! mapped shared and writable, its cached pages are the truth: reads are served from them
//! and they are written back to the host file on msync(MS_SYNC), fsync, close and when
//! the inode is dropped (a host process writing the same file meanwhile may be
//! overwritten: the sandbox's view wins).

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{Arc, OnceLock};

use gofer::{Client, Handle};
use parking_lot::Mutex;

use super::pipe::Pipe;
use crate::abi::{self, Timespec};
use crate::errno;
use crate::errno::{Errno, Result};
use crate::mm::{Frame, Mappable, MappableIdentity, MemoryFile};
use crate::platform::PAGE_SIZE;
use crate::vfs::DirFile;
use crate::vfs::{
    anon_dev, seek_by_size, wants_write, DirEntry, File, FileOps, FileType, Inode, NewOwner,
    NodeKind, RenameFlags, SeekWhence, SetAttr, Stat, TimeSet, XattrSet,
};

/// Pages read from the host in one go when filling the page cache.
const READAHEAD_PAGES: u64 = 16;

/// One gofer-served filesystem.
pub struct GoferFs {
    client: Arc<Client>,
    /// Host device numbers mapped to the sentry's own (the guest never sees host ones).
    devs: Mutex<HashMap<u64, u64>>,
    read_only: bool,
    /// The sandbox's pipe for each named pipe of the tree (by host device and inode), while
    /// any end of it is open: FIFOs in the host's files connect guest processes to each
    /// other, never to host processes.
    fifos: Mutex<HashMap<(u64, u64), std::sync::Weak<Pipe>>>,
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
            fifos: Mutex::default(),
        });
        GoferInode::new(fs, root, stat, None)
    }

    fn dev_for(&self, host_dev: u64) -> u64 {
        *self.devs.lock().entry(host_dev).or_insert_with(anon_dev)
    }

    fn fifo_for(&self, dev: u64, ino: u64) -> Arc<Pipe> {
        let mut fifos = self.fifos.lock();
        if let Some(pipe) = fifos.get(&(dev, ino)).and_then(std::sync::Weak::upgrade) {
            return pipe;
        }
        fifos.retain(|_, w| w.strong_count() > 0);
        let pipe = Pipe::new_named();
        fifos.insert((dev, ino), Arc::downgrade(&pipe));
        pipe
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(errno!(EROFS));
        }
        Ok(())
    }
}

/// A file of the gofer filesystem.
pub struct GoferInode {
    fs: Arc<GoferFs>,
    handle: Handle,
    /// The file's type (fixed).
    kind: FileType,
    /// The attributes last seen (refreshed from the gofer on each stat when writable).
    stat: Mutex<gofer::Stat>,
    link: OnceLock<Vec<u8>>,
    /// A read-only host fd shared by all read-only opens and the page cache.
    host_fd: OnceLock<Arc<OwnedFd>>,
    cache: Mutex<Option<PageCache>>,
    /// Set once the file is mapped shared and writable: the writable host fd its cached
    /// pages are written back through.
    writeback: Mutex<Option<Arc<OwnedFd>>>,
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
            kind: FileType::from_mode(stat.mode),
            stat: Mutex::new(stat),
            link: l,
            host_fd: OnceLock::new(),
            cache: Mutex::new(None),
            writeback: Mutex::new(None),
        })
    }

    fn read_fd(&self) -> Result<Arc<OwnedFd>> {
        if let Some(fd) = self.host_fd.get() {
            return Ok(fd.clone());
        }
        let fd = Arc::new(self.fs.client.open(self.handle, libc::O_RDONLY)?);
        Ok(self.host_fd.get_or_init(|| fd).clone())
    }

    fn size(&self) -> Result<u64> {
        Ok(self.current()?.size.max(0) as u64)
    }

    /// The file's attributes: the cached ones on a read-only tree (nothing changes it),
    /// else fresh from the gofer.
    fn current(&self) -> Result<gofer::Stat> {
        if self.fs.read_only {
            return Ok(*self.stat.lock());
        }
        let fresh = self.fs.client.stat(self.handle)?;
        *self.stat.lock() = fresh;
        Ok(fresh)
    }

    /// Makes the cached pages of `[offset, offset + data.len())` show `data`, just
    /// written to the host file.
    fn update_cache(&self, offset: u64, data: &[u8]) {
        let guard = self.cache.lock();
        let Some(cache) = guard.as_ref() else {
            return;
        };
        let mut done = 0;
        while done < data.len() {
            let at = offset + done as u64;
            let in_page = (at % PAGE_SIZE) as usize;
            let chunk = (PAGE_SIZE as usize - in_page).min(data.len() - done);
            if let Some(&f) = cache.frames.get(&(at / PAGE_SIZE)) {
                cache
                    .mf
                    .write(f * PAGE_SIZE + in_page as u64, &data[done..done + chunk]);
            }
            done += chunk;
        }
    }

    /// Forgets cached pages from page `first` on (after a truncation). Mappings that
    /// still hold them keep their references.
    fn drop_cache_from(&self, first: u64) {
        let mut guard = self.cache.lock();
        if let Some(cache) = guard.as_mut() {
            let gone = cache.frames.split_off(&first);
            for f in gone.into_values() {
                cache.mf.decref(f, 1);
            }
        }
    }

    /// Writes the cached pages of a file mapped shared and writable back to the host
    /// file (up to its current size: page tails past the end are not written).
    fn write_back(&self) -> Result<()> {
        let Some(fd) = self.writeback.lock().clone() else {
            return Ok(());
        };
        let size = self.size()?;
        let guard = self.cache.lock();
        let Some(cache) = guard.as_ref() else {
            return Ok(());
        };
        let mut page = vec![0u8; PAGE_SIZE as usize];
        for (&pg, &f) in &cache.frames {
            let at = pg * PAGE_SIZE;
            if at >= size {
                break;
            }
            let len = (size - at).min(PAGE_SIZE) as usize;
            cache.mf.read(f * PAGE_SIZE, &mut page[..len]);
            let mut done = 0;
            while done < len {
                match nix::sys::uio::pwrite(fd.as_fd(), &page[done..len], (at + done as u64) as i64)
                {
                    Ok(0) => return Err(errno!(EIO)),
                    Ok(n) => done += n,
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// read() of a file whose cached pages may be newer than the host file (written
    /// through a shared mapping): cached pages from the cache, the rest from the host.
    fn read_through_cache(&self, fd: &OwnedFd, buf: &mut [u8], offset: u64) -> Result<usize> {
        let size = self.size()?;
        if offset >= size {
            return Ok(0);
        }
        let want = buf.len().min((size - offset) as usize);
        let mut done = 0;
        while done < want {
            let at = offset + done as u64;
            let in_page = (at % PAGE_SIZE) as usize;
            let chunk = (PAGE_SIZE as usize - in_page).min(want - done);
            let cached = self
                .cache
                .lock()
                .as_ref()
                .and_then(|c| c.frames.get(&(at / PAGE_SIZE)).map(|&f| (c.mf.clone(), f)));
            match cached {
                Some((mf, f)) => {
                    mf.read(f * PAGE_SIZE + in_page as u64, &mut buf[done..done + chunk])
                }
                None => {
                    let n = loop {
                        match nix::sys::uio::pread(
                            fd.as_fd(),
                            &mut buf[done..done + chunk],
                            at as i64,
                        ) {
                            Err(nix::errno::Errno::EINTR) => continue,
                            other => break other?,
                        }
                    };
                    if n < chunk {
                        return Ok(done + n);
                    }
                }
            }
            done += chunk;
        }
        Ok(done)
    }

    fn ids(owner: &NewOwner) -> (u32, u32) {
        (owner.uid, owner.gid)
    }

    fn child_inode(
        &self,
        handle: Handle,
        stat: gofer::Stat,
        link: Option<Vec<u8>>,
    ) -> Arc<GoferInode> {
        GoferInode::new(self.fs.clone(), handle, stat, link)
    }
}

fn other_gofer_inode(inode: &Arc<dyn Inode>) -> Result<&GoferInode> {
    inode
        .as_any()
        .downcast_ref::<GoferInode>()
        .ok_or_else(|| errno!(EXDEV))
}

fn time_parts(t: Option<TimeSet>) -> (bool, i64, i64) {
    match t {
        None => (false, 0, 0),
        Some(TimeSet::Now) => (true, 0, libc::UTIME_NOW),
        Some(TimeSet::At(ts)) => (true, ts.tv_sec, ts.tv_nsec),
    }
}

impl Drop for GoferInode {
    fn drop(&mut self) {
        if let Err(e) = self.write_back() {
            tracing::warn!(?e, "writing back a shared mapping's pages failed");
        }
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
        let s = &self.current()?;
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
        self.kind
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
                    if flags & libc::O_TRUNC as u32 != 0 {
                        self.drop_cache_from(0);
                    }
                    return Ok(Arc::new(GoferFile {
                        inode: self,
                        fd: Arc::new(fd),
                    }));
                }
                let fd = self.read_fd()?;
                Ok(Arc::new(GoferFile { inode: self, fd }))
            }
            FileType::Symlink => Err(errno!(ELOOP)),
            FileType::Fifo => {
                let st = *self.stat.lock();
                let pipe = self.fs.fifo_for(st.dev, st.ino);
                pipe.open_named(self, flags)
            }
            // Host device nodes and sockets are never opened through the gofer: the
            // sandbox has its own /dev.
            _ => Err(errno!(ENXIO)),
        }
    }

    fn create(&self, name: &[u8], kind: NodeKind, owner: NewOwner) -> Result<Arc<dyn Inode>> {
        self.fs.check_writable()?;
        let c = &self.fs.client;
        let ids = Self::ids(&owner);
        let made = match kind {
            NodeKind::Regular => {
                let (handle, stat, fd) =
                    c.create(self.handle, name, libc::O_RDWR, owner.mode, ids)?;
                let inode = self.child_inode(handle, stat, None);
                let _ = inode.host_fd.set(Arc::new(fd));
                return Ok(inode);
            }
            NodeKind::Directory => c.mkdir(self.handle, name, owner.mode, ids)?,
            NodeKind::Symlink(target) => {
                let (handle, stat) = c.symlink(self.handle, name, &target, ids)?;
                return Ok(self.child_inode(handle, stat, Some(target)));
            }
            NodeKind::Fifo => c.mknod(self.handle, name, libc::S_IFIFO | owner.mode, ids)?,
            NodeKind::Socket => c.mknod(self.handle, name, libc::S_IFSOCK | owner.mode, ids)?,
            // Device nodes on the host's tree are never made (the sandbox has its own
            // /dev), as gVisor's gofer mounts refuse them.
            NodeKind::CharDevice(_) | NodeKind::BlockDevice(_) => return Err(errno!(EPERM)),
        };
        Ok(self.child_inode(made.0, made.1, None))
    }

    fn create_unnamed(&self, owner: NewOwner) -> Result<Arc<dyn Inode>> {
        self.fs.check_writable()?;
        let flags = libc::O_RDWR | libc::O_TMPFILE;
        let (handle, stat, fd) =
            self.fs
                .client
                .create(self.handle, b"", flags, owner.mode, Self::ids(&owner))?;
        let inode = self.child_inode(handle, stat, None);
        let _ = inode.host_fd.set(Arc::new(fd));
        Ok(inode)
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        self.fs.check_writable()?;
        let target = other_gofer_inode(target)?;
        self.fs.client.link(self.handle, name, target.handle)?;
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        self.fs.check_writable()?;
        Ok(self.fs.client.unlink(self.handle, name, 0)?)
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        self.fs.check_writable()?;
        Ok(self
            .fs
            .client
            .unlink(self.handle, name, libc::AT_REMOVEDIR)?)
    }

    fn rename(
        &self,
        old: &[u8],
        new_dir: &Arc<dyn Inode>,
        new: &[u8],
        flags: RenameFlags,
    ) -> Result<()> {
        self.fs.check_writable()?;
        let new_dir = other_gofer_inode(new_dir)?;
        let mut raw = 0;
        if flags.noreplace {
            raw |= libc::RENAME_NOREPLACE;
        }
        if flags.exchange {
            raw |= libc::RENAME_EXCHANGE;
        }
        Ok(self
            .fs
            .client
            .rename((self.handle, old), (new_dir.handle, new), raw)?)
    }

    fn setattr(&self, attr: &SetAttr) -> Result<()> {
        self.fs.check_writable()?;
        let mut wire = gofer::SetAttr::default();
        if let Some(mode) = attr.mode {
            wire.mask |= gofer::setattr::MODE;
            wire.mode = mode;
        }
        if let Some(uid) = attr.uid {
            wire.mask |= gofer::setattr::UID;
            wire.uid = uid;
        }
        if let Some(gid) = attr.gid {
            wire.mask |= gofer::setattr::GID;
            wire.gid = gid;
        }
        if let Some(size) = attr.size {
            wire.mask |= gofer::setattr::SIZE;
            wire.size = size;
        }
        let (set, sec, nsec) = time_parts(attr.atime);
        if set {
            wire.mask |= gofer::setattr::ATIME;
            (wire.atime_sec, wire.atime_nsec) = (sec, nsec);
        }
        let (set, sec, nsec) = time_parts(attr.mtime);
        if set {
            wire.mask |= gofer::setattr::MTIME;
            (wire.mtime_sec, wire.mtime_nsec) = (sec, nsec);
        }
        if wire.mask == 0 {
            return Ok(());
        }
        let stat = self.fs.client.set_attr(self.handle, wire)?;
        *self.stat.lock() = stat;
        if let Some(size) = attr.size {
            self.drop_cache_from(size.div_ceil(PAGE_SIZE));
            // The tail of the last page past the new end reads as zeros from now on.
            if size % PAGE_SIZE != 0 {
                self.drop_cache_from(size / PAGE_SIZE);
            }
        }
        Ok(())
    }

    fn allocate(&self, offset: u64, len: u64, keep_size: bool) -> Result<()> {
        self.fs.check_writable()?;
        let mode = if keep_size {
            libc::FALLOC_FL_KEEP_SIZE
        } else {
            0
        };
        Ok(self.fs.client.allocate(self.handle, mode, offset, len)?)
    }

    fn punch_hole(&self, offset: u64, len: u64) -> Result<()> {
        self.fs.check_writable()?;
        let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
        self.fs.client.allocate(self.handle, mode, offset, len)?;
        // Zeros now: forget the cached pages of the range.
        let first = offset / PAGE_SIZE;
        let mut guard = self.cache.lock();
        if let Some(cache) = guard.as_mut() {
            let end = offset.saturating_add(len).div_ceil(PAGE_SIZE);
            let keys: Vec<u64> = cache.frames.range(first..end).map(|(&k, _)| k).collect();
            for k in keys {
                if let Some(f) = cache.frames.remove(&k) {
                    cache.mf.decref(f, 1);
                }
            }
        }
        Ok(())
    }

    fn getxattr(&self, name: &[u8]) -> Result<Vec<u8>> {
        Ok(self.fs.client.get_xattr(self.handle, name, 0)?)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], how: XattrSet) -> Result<()> {
        self.fs.check_writable()?;
        let flags = match how {
            XattrSet::Any => 0,
            XattrSet::Create => libc::XATTR_CREATE,
            XattrSet::Replace => libc::XATTR_REPLACE,
        };
        Ok(self.fs.client.set_xattr(self.handle, name, value, flags)?)
    }

    fn listxattr(&self) -> Result<Vec<Vec<u8>>> {
        let names = self.fs.client.list_xattr(self.handle, 0)?;
        Ok(names
            .split(|&b| b == 0)
            .filter(|n| !n.is_empty())
            .map(<[u8]>::to_vec)
            .collect())
    }

    fn removexattr(&self, name: &[u8]) -> Result<()> {
        self.fs.check_writable()?;
        Ok(self.fs.client.remove_xattr(self.handle, name)?)
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
            // The mount's flags are the sandbox's own (Path::statfs), not the host's.
            f_flags: 0,
            f_spare: [0; 4],
        })
    }
}

impl Mappable for GoferInode {
    fn frame(&self, mf: &Arc<MemoryFile>, pgoff: u64) -> Result<Frame> {
        let pages = self.size()?.div_ceil(PAGE_SIZE);
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

    fn sync(&self) -> Result<()> {
        self.write_back()
    }

    fn identity(&self) -> MappableIdentity {
        let st = *self.stat.lock();
        MappableIdentity {
            dev: self.fs.dev_for(st.dev),
            ino: st.ino,
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

impl Drop for GoferFile {
    fn drop(&mut self) {
        // Closing a file flushes what was written through shared mappings of it.
        if let Err(e) = self.inode.write_back() {
            tracing::warn!(?e, "writing back a shared mapping's pages failed");
        }
    }
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
        if self.inode.writeback.lock().is_some() {
            return self.inode.read_through_cache(&self.fd, buf, off);
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
        if off > i64::MAX as u64 {
            return Err(errno!(EFBIG));
        }
        let n = loop {
            match nix::sys::uio::pwrite(self.fd.as_fd(), buf, off as i64) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other?,
            }
        };
        self.inode.update_cache(off, &buf[..n]);
        Ok(n)
    }

    fn seek(&self, _file: &File, current: u64, offset: i64, whence: SeekWhence) -> Result<u64> {
        let how = match whence {
            SeekWhence::Data => nix::unistd::Whence::SeekData,
            SeekWhence::Hole => nix::unistd::Whence::SeekHole,
            _ => return seek_by_size(self, current, offset, whence),
        };
        // Where the host file's data and holes are (the descriptor's own offset is not
        // used for I/O: reads and writes are positioned).
        let at = nix::unistd::lseek(self.fd.as_fd(), offset, how)?;
        Ok(at as u64)
    }

    fn fsync(&self, datasync: bool) -> Result<()> {
        if self.inode.fs.read_only {
            return Ok(());
        }
        self.inode.write_back()?;
        Ok(self.inode.fs.client.fsync(self.inode.handle, datasync)?)
    }

    fn map_shared_writable(&self) -> Result<()> {
        if !self.inode.fs.read_only {
            let mut wb = self.inode.writeback.lock();
            if wb.is_none() {
                *wb = Some(self.fd.clone());
            }
        }
        Ok(())
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
