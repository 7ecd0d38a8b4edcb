//! tmpfs: a filesystem that lives in the sentry, its file data in the memory file.
//!
//! Regular files keep their pages as memory-file frames, so read/write and mmap see
//! the same bytes (a MAP_SHARED mapping maps the file's own frames). Directories are
//! ordered maps of names; every inode carries its attributes and extended attributes.
//! The VFS has checked permissions before any change reaches here; this module keeps
//! the filesystem's own invariants (link counts, emptiness, types, space).

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::memfd::{
    F_SEAL_EXEC, F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE,
};
use super::pipe::Pipe;
use crate::abi::{self, Timespec};
use crate::errno;
use crate::errno::Result;
use crate::mm::{Frame, Mappable, MappableIdentity, MemoryFile};
use crate::platform::PAGE_SIZE;
use crate::vfs::DirFile;
use crate::vfs::{
    anon_dev, DirEntry, File, FileOps, FileType, Inode, NewOwner, NodeKind, RenameFlags, SetAttr,
    Stat, TimeSet, XattrSet,
};

/// statfs f_type of tmpfs.
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// Most bytes in one extended attribute value (Linux's XATTR_SIZE_MAX).
pub const XATTR_SIZE_MAX: usize = 65536;

/// Size limits of one tmpfs instance (the `size=` and `nr_inodes=` mount options).
#[derive(Clone, Copy, Debug)]
pub struct TmpfsLimits {
    /// Most pages of file data.
    pub max_pages: u64,
    /// Most inodes.
    pub max_inodes: u64,
}

impl Default for TmpfsLimits {
    fn default() -> TmpfsLimits {
        // Linux's defaults are half of RAM and half as many inodes as RAM pages; the
        // sandbox has no RAM of its own to halve, so a fixed 4 GiB.
        TmpfsLimits {
            max_pages: (4u64 << 30) / PAGE_SIZE,
            max_inodes: 1 << 20,
        }
    }
}

/// One tmpfs instance.
pub struct TmpFs {
    dev: u64,
    mf: Arc<MemoryFile>,
    limits: TmpfsLimits,
    used_pages: AtomicU64,
    inodes: AtomicU64,
    next_ino: AtomicU64,
    /// Serialises renames (Linux's s_vfs_rename_mutex): directory locks are then
    /// taken in address order.
    rename_lock: Mutex<()>,
}

impl TmpFs {
    /// A new, empty tmpfs whose root directory has `root` as owner and mode.
    pub fn new_root(mf: Arc<MemoryFile>, limits: TmpfsLimits, root: NewOwner) -> Arc<TmpInode> {
        let fs = Arc::new(TmpFs {
            dev: anon_dev(),
            mf,
            limits,
            used_pages: AtomicU64::new(0),
            inodes: AtomicU64::new(0),
            next_ino: AtomicU64::new(1),
            rename_lock: Mutex::new(()),
        });
        let root = TmpInode::new(&fs, &NodeKind::Directory, root).expect("first inode");
        if let Body::Dir(d) = &root.body {
            d.lock().parent = Arc::downgrade(&root);
        }
        root
    }

    fn reserve_pages(&self, n: u64) -> Result<()> {
        let mut used = self.used_pages.load(Ordering::Relaxed);
        loop {
            let new = used.checked_add(n).filter(|&v| v <= self.limits.max_pages);
            let Some(new) = new else {
                return Err(errno!(ENOSPC));
            };
            match self
                .used_pages
                .compare_exchange(used, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(now) => used = now,
            }
        }
    }

    fn release_pages(&self, n: u64) {
        self.used_pages.fetch_sub(n, Ordering::AcqRel);
    }
}

fn now() -> Timespec {
    crate::kernel::time::realtime()
}

/// Attributes of a tmpfs inode.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    rdev: u64,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    btime: Timespec,
}

/// A regular file's data: its size and the frames of the pages written so far (holes
/// read as zeros).
struct Pages {
    size: u64,
    frames: BTreeMap<u64, Frame>,
}

struct DirState {
    entries: BTreeMap<Vec<u8>, Arc<TmpInode>>,
    /// The directory holding this one (itself for the root).
    parent: Weak<TmpInode>,
}

enum Body {
    Regular(Mutex<Pages>),
    Dir(Mutex<DirState>),
    Symlink(Vec<u8>),
    Fifo(Arc<Pipe>),
    /// Sockets' names and device nodes: attributes only.
    Special,
}

/// A file of a tmpfs.
pub struct TmpInode {
    fs: Arc<TmpFs>,
    ino: u64,
    kind: FileType,
    meta: Mutex<Meta>,
    xattrs: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
    body: Body,
    me: Weak<TmpInode>,
    /// fcntl(F_ADD_SEALS) seals: F_SEAL_SEAL for every file but a memfd created
    /// with MFD_ALLOW_SEALING, so only those can be sealed further.
    seals: AtomicU32,
}

impl TmpInode {
    fn new(fs: &Arc<TmpFs>, kind: &NodeKind, owner: NewOwner) -> Result<Arc<TmpInode>> {
        let count = fs.inodes.fetch_add(1, Ordering::AcqRel);
        if count >= fs.limits.max_inodes {
            fs.inodes.fetch_sub(1, Ordering::AcqRel);
            return Err(errno!(ENOSPC));
        }
        let t = now();
        let (body, rdev, nlink) = match kind {
            NodeKind::Regular => (
                Body::Regular(Mutex::new(Pages {
                    size: 0,
                    frames: BTreeMap::new(),
                })),
                0,
                1,
            ),
            NodeKind::Directory => (
                Body::Dir(Mutex::new(DirState {
                    entries: BTreeMap::new(),
                    parent: Weak::new(),
                })),
                0,
                2,
            ),
            NodeKind::Symlink(target) => (Body::Symlink(target.clone()), 0, 1),
            NodeKind::Fifo => (Body::Fifo(Pipe::new_named()), 0, 1),
            NodeKind::Socket => (Body::Special, 0, 1),
            NodeKind::CharDevice(d) | NodeKind::BlockDevice(d) => (Body::Special, *d, 1),
        };
        Ok(Arc::new_cyclic(|me| TmpInode {
            fs: fs.clone(),
            ino: fs.next_ino.fetch_add(1, Ordering::Relaxed),
            kind: kind.file_type(),
            meta: Mutex::new(Meta {
                mode: owner.mode & 0o7777,
                uid: owner.uid,
                gid: owner.gid,
                nlink,
                rdev,
                atime: t,
                mtime: t,
                ctime: t,
                btime: t,
            }),
            xattrs: Mutex::default(),
            body,
            me: me.clone(),
            seals: AtomicU32::new(F_SEAL_SEAL),
        }))
    }

    fn this(&self) -> Arc<TmpInode> {
        self.me.upgrade().expect("an inode in use is alive")
    }

    fn dir(&self) -> Result<&Mutex<DirState>> {
        match &self.body {
            Body::Dir(d) => Ok(d),
            _ => Err(errno!(ENOTDIR)),
        }
    }

    fn pages(&self) -> Option<&Mutex<Pages>> {
        match &self.body {
            Body::Regular(p) => Some(p),
            _ => None,
        }
    }

    /// The tmpfs inode behind `inode`, if it is one of this filesystem's.
    fn same_fs(&self, inode: &Arc<dyn Inode>) -> Result<Arc<TmpInode>> {
        inode
            .as_any()
            .downcast_ref::<TmpInode>()
            .filter(|t| Arc::ptr_eq(&t.fs, &self.fs))
            .map(TmpInode::this)
            .ok_or_else(|| errno!(EXDEV))
    }

    fn touch_dir(&self) {
        let mut m = self.meta.lock();
        let t = now();
        m.mtime = t;
        m.ctime = t;
    }

    fn touch_ctime(&self) {
        self.meta.lock().ctime = now();
    }

    fn add_links(&self, delta: i32) {
        let mut m = self.meta.lock();
        m.nlink = m.nlink.saturating_add_signed(delta);
    }

    /// Reads file data at `offset` (up to the size).
    fn read_data(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let pages = self.pages().ok_or_else(|| errno!(EINVAL))?.lock();
        if offset >= pages.size {
            return Ok(0);
        }
        let n = buf.len().min((pages.size - offset) as usize);
        let mut done = 0;
        while done < n {
            let at = offset + done as u64;
            let in_page = (at % PAGE_SIZE) as usize;
            let chunk = (PAGE_SIZE as usize - in_page).min(n - done);
            match pages.frames.get(&(at / PAGE_SIZE)) {
                Some(&f) => self
                    .fs
                    .mf
                    .read(f * PAGE_SIZE + in_page as u64, &mut buf[done..done + chunk]),
                None => buf[done..done + chunk].fill(0),
            }
            done += chunk;
        }
        drop(pages);
        self.meta.lock().atime = now();
        Ok(n)
    }

    /// Makes sure pages `[first, first + count)` have frames (ENOSPC past the limit).
    fn fill_pages(&self, pages: &mut Pages, first: u64, count: u64) -> Result<()> {
        let mut p = first;
        while p < first + count {
            if pages.frames.contains_key(&p) {
                p += 1;
                continue;
            }
            let run_end = pages
                .frames
                .range(p..first + count)
                .next()
                .map_or(first + count, |(&k, _)| k);
            let n = run_end - p;
            self.fs.reserve_pages(n)?;
            let frame = match self.fs.mf.allocate(n) {
                Ok(f) => f,
                Err(e) => {
                    self.fs.release_pages(n);
                    return Err(e);
                }
            };
            for i in 0..n {
                pages.frames.insert(p + i, frame + i);
            }
            p = run_end;
        }
        Ok(())
    }

    /// Writes file data at `offset`, growing the file.
    fn write_data(&self, buf: &[u8], offset: u64) -> Result<usize> {
        let pages_lock = self.pages().ok_or_else(|| errno!(EINVAL))?;
        let end = offset
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or_else(|| errno!(EFBIG))?;
        if buf.is_empty() {
            return Ok(0);
        }
        let seals = self.seals();
        if seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return Err(errno!(EPERM));
        }
        let mut pages = pages_lock.lock();
        let mut buf = buf;
        if seals & F_SEAL_GROW != 0 && end > pages.size {
            // Linux writes page by page and refuses the first piece that would grow
            // the file: whole pages below the size are written, then the write stops.
            let cut = pages.size - pages.size % PAGE_SIZE;
            if cut <= offset {
                return Err(errno!(EPERM));
            }
            buf = &buf[..(cut - offset) as usize];
        }
        let end = offset + buf.len() as u64;
        let first = offset / PAGE_SIZE;
        let last = (end - 1) / PAGE_SIZE;
        if let Err(e) = self.fill_pages(&mut pages, first, last - first + 1) {
            // Out of space part-way: write what fits, as Linux does (a short write;
            // ENOSPC only if not even the first page can be had).
            if e.code() != libc::ENOSPC {
                return Err(e);
            }
            let mut filled = first;
            while filled <= last && self.fill_pages(&mut pages, filled, 1).is_ok() {
                filled += 1;
            }
            if filled == first {
                return Err(e);
            }
            let fits = (filled * PAGE_SIZE - offset) as usize;
            buf = &buf[..fits.min(buf.len())];
        }
        let end = offset + buf.len() as u64;
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            let in_page = (at % PAGE_SIZE) as usize;
            let chunk = (PAGE_SIZE as usize - in_page).min(buf.len() - done);
            let f = pages.frames[&(at / PAGE_SIZE)];
            self.fs
                .mf
                .write(f * PAGE_SIZE + in_page as u64, &buf[done..done + chunk]);
            done += chunk;
        }
        pages.size = pages.size.max(end);
        drop(pages);
        self.touch_dir();
        Ok(buf.len())
    }

    /// Sets the size: frames past the end are released and the tail of the last page
    /// zeroed, so that growing the file again reads zeros.
    fn truncate(&self, size: u64) -> Result<()> {
        let pages_lock = self.pages().ok_or_else(|| errno!(EINVAL))?;
        if size > i64::MAX as u64 {
            return Err(errno!(EFBIG));
        }
        let mut pages = pages_lock.lock();
        let seals = self.seals();
        if (size < pages.size && seals & F_SEAL_SHRINK != 0)
            || (size > pages.size && seals & F_SEAL_GROW != 0)
        {
            return Err(errno!(EPERM));
        }
        if size < pages.size {
            let keep = size.div_ceil(PAGE_SIZE);
            let dropped: Vec<Frame> = pages.frames.split_off(&keep).into_values().collect();
            self.fs.release_pages(dropped.len() as u64);
            for f in dropped {
                self.fs.mf.decref(f, 1);
            }
            if !size.is_multiple_of(PAGE_SIZE) {
                if let Some(&f) = pages.frames.get(&(size / PAGE_SIZE)) {
                    let in_page = size % PAGE_SIZE;
                    self.fs
                        .mf
                        .zero(f * PAGE_SIZE + in_page, (PAGE_SIZE - in_page) as usize);
                }
            }
        }
        pages.size = size;
        Ok(())
    }
}

impl TmpInode {
    /// The file's seals.
    pub fn seals(&self) -> u32 {
        self.seals.load(Ordering::Acquire)
    }

    /// Replaces the seals (a new memfd's starting set).
    pub(super) fn set_seals(&self, seals: u32) {
        self.seals.store(seals, Ordering::Release);
    }

    /// F_ADD_SEALS: adds `seals` (already validated) unless the file is sealed against
    /// sealing. `writable_maps` tells whether shared writable mappings of the file
    /// exist; F_SEAL_WRITE is refused (EBUSY) while they do.
    pub fn add_seals(&self, seals: u32, writable_maps: impl FnOnce() -> bool) -> Result<()> {
        // No lock is held while `writable_maps` looks at address spaces (the memory
        // manager's locks come before this file's).
        self.pages().ok_or_else(|| errno!(EINVAL))?;
        let cur = self.seals();
        if cur & F_SEAL_SEAL != 0 {
            return Err(errno!(EPERM));
        }
        let mut add = seals;
        if add & F_SEAL_WRITE != 0 && cur & F_SEAL_WRITE == 0 && writable_maps() {
            return Err(errno!(EBUSY));
        }
        // Sealing an executable file against mode changes also seals its contents.
        if add & F_SEAL_EXEC != 0 && self.meta.lock().mode & 0o111 != 0 {
            add |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
        }
        self.seals.fetch_or(add, Ordering::AcqRel);
        Ok(())
    }

    /// The entries of this directory, with `.` and `..`.
    fn list(&self) -> Result<Vec<DirEntry>> {
        let d = self.dir()?.lock();
        let parent_ino = d.parent.upgrade().map_or(self.ino, |p| p.ino);
        let mut entries = DirEntry::dots(self.ino, parent_ino);
        entries.extend(d.entries.iter().map(|(name, i)| DirEntry {
            ino: i.ino,
            d_type: i.kind.dirent_type(),
            name: name.clone(),
        }));
        Ok(entries)
    }
}

impl Drop for TmpInode {
    fn drop(&mut self) {
        if let Body::Regular(p) = &mut self.body {
            let pages = p.get_mut();
            self.fs.release_pages(pages.frames.len() as u64);
            for &f in pages.frames.values() {
                self.fs.mf.decref(f, 1);
            }
        }
        self.fs.inodes.fetch_sub(1, Ordering::AcqRel);
    }
}

fn timestamp(t: TimeSet) -> Timespec {
    match t {
        TimeSet::Now => now(),
        TimeSet::At(t) => t,
    }
}

impl Inode for TmpInode {
    fn stat(&self) -> Result<Stat> {
        let (size, blocks) = match &self.body {
            Body::Regular(p) => {
                let p = p.lock();
                (p.size, p.frames.len() as u64 * (PAGE_SIZE / 512))
            }
            Body::Dir(d) => ((d.lock().entries.len() as u64 + 2) * 20, 0),
            Body::Symlink(t) => (t.len() as u64, 0),
            _ => (0, 0),
        };
        let m = self.meta.lock();
        Ok(Stat {
            dev: self.fs.dev,
            ino: self.ino,
            mode: self.kind.mode_bits() | m.mode,
            nlink: m.nlink,
            uid: m.uid,
            gid: m.gid,
            rdev: m.rdev,
            size,
            blksize: PAGE_SIZE as u32,
            blocks,
            atime: m.atime,
            mtime: m.mtime,
            ctime: m.ctime,
            btime: Some(m.btime),
        })
    }

    fn file_type(&self) -> FileType {
        self.kind
    }

    fn fs_id(&self) -> usize {
        Arc::as_ptr(&self.fs) as usize
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        let d = self.dir()?.lock();
        d.entries
            .get(name)
            .cloned()
            .map(|i| i as Arc<dyn Inode>)
            .ok_or_else(|| errno!(ENOENT))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        self.list()
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        match &self.body {
            Body::Symlink(t) => {
                self.meta.lock().atime = now();
                Ok(t.clone())
            }
            _ => Err(errno!(EINVAL)),
        }
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        match &self.body {
            Body::Regular(_) => {
                if flags & libc::O_TRUNC as u32 != 0 {
                    self.truncate(0)?;
                    self.touch_dir();
                }
                Ok(Arc::new(TmpFile { inode: self }))
            }
            Body::Dir(_) => Ok(DirFile::new(self)),
            Body::Symlink(_) => Err(errno!(ELOOP)),
            Body::Fifo(pipe) => pipe.open_named(self.clone(), flags),
            Body::Special => match self.kind {
                FileType::CharDevice => {
                    let rdev = self.meta.lock().rdev;
                    super::dev::open_device(rdev, self.clone()).ok_or_else(|| errno!(ENXIO))
                }
                _ => Err(errno!(ENXIO)),
            },
        }
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        let used = self.fs.used_pages.load(Ordering::Relaxed);
        let inodes = self.fs.inodes.load(Ordering::Relaxed);
        let l = self.fs.limits;
        Ok(abi::Statfs {
            f_type: TMPFS_MAGIC,
            f_bsize: PAGE_SIZE as i64,
            f_blocks: l.max_pages,
            f_bfree: l.max_pages.saturating_sub(used),
            f_bavail: l.max_pages.saturating_sub(used),
            f_files: l.max_inodes,
            f_ffree: l.max_inodes.saturating_sub(inodes),
            f_fsid: [0, 0],
            f_namelen: crate::vfs::NAME_MAX as i64,
            f_frsize: PAGE_SIZE as i64,
            f_flags: 0,
            f_spare: [0; 4],
        })
    }

    fn create(&self, name: &[u8], kind: NodeKind, owner: NewOwner) -> Result<Arc<dyn Inode>> {
        let mut d = self.dir()?.lock();
        if d.entries.contains_key(name) {
            return Err(errno!(EEXIST));
        }
        let is_dir = kind == NodeKind::Directory;
        let inode = TmpInode::new(&self.fs, &kind, owner)?;
        if let Body::Dir(child) = &inode.body {
            child.lock().parent = self.me.clone();
        }
        d.entries.insert(name.to_vec(), inode.clone());
        drop(d);
        if is_dir {
            self.add_links(1);
        }
        self.touch_dir();
        Ok(inode)
    }

    fn create_unnamed(&self, owner: NewOwner) -> Result<Arc<dyn Inode>> {
        let inode = TmpInode::new(&self.fs, &NodeKind::Regular, owner)?;
        inode.meta.lock().nlink = 0;
        Ok(inode)
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        let target = self.same_fs(target)?;
        if target.kind == FileType::Directory {
            return Err(errno!(EPERM));
        }
        let mut d = self.dir()?.lock();
        if d.entries.contains_key(name) {
            return Err(errno!(EEXIST));
        }
        d.entries.insert(name.to_vec(), target.clone());
        drop(d);
        target.add_links(1);
        target.touch_ctime();
        self.touch_dir();
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let mut d = self.dir()?.lock();
        let victim = d.entries.get(name).cloned().ok_or_else(|| errno!(ENOENT))?;
        if victim.kind == FileType::Directory {
            return Err(errno!(EISDIR));
        }
        d.entries.remove(name);
        drop(d);
        victim.add_links(-1);
        victim.touch_ctime();
        self.touch_dir();
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let mut d = self.dir()?.lock();
        let victim = d.entries.get(name).cloned().ok_or_else(|| errno!(ENOENT))?;
        let vd = victim.dir()?;
        if !vd.lock().entries.is_empty() {
            return Err(errno!(ENOTEMPTY));
        }
        d.entries.remove(name);
        drop(d);
        victim.meta.lock().nlink = 0;
        victim.touch_ctime();
        self.add_links(-1);
        self.touch_dir();
        Ok(())
    }

    fn rename(
        &self,
        old: &[u8],
        new_dir: &Arc<dyn Inode>,
        new: &[u8],
        flags: RenameFlags,
    ) -> Result<()> {
        let to = self.same_fs(new_dir)?;
        let from = self.this();
        let _serial = self.fs.rename_lock.lock();
        let same_dir = Arc::ptr_eq(&from, &to);
        // Lock the directories in address order.
        let mut from_guard;
        let mut to_guard;
        let (fd, td): (&mut DirState, Option<&mut DirState>) = if same_dir {
            from_guard = from.dir()?.lock();
            (&mut *from_guard, None)
        } else {
            let (f, t) = if Arc::as_ptr(&from) < Arc::as_ptr(&to) {
                let f = from.dir()?.lock();
                (f, to.dir()?.lock())
            } else {
                let t = to.dir()?.lock();
                (from.dir()?.lock(), t)
            };
            from_guard = f;
            to_guard = t;
            (&mut *from_guard, Some(&mut *to_guard))
        };
        let src = fd.entries.get(old).cloned().ok_or_else(|| errno!(ENOENT))?;
        let dst = match &td {
            Some(t) => t.entries.get(new).cloned(),
            None => fd.entries.get(new).cloned(),
        };
        let src_dir = src.kind == FileType::Directory;
        if flags.exchange {
            let dst = dst.ok_or_else(|| errno!(ENOENT))?;
            let dst_dir = dst.kind == FileType::Directory;
            match td {
                Some(t) => {
                    fd.entries.insert(old.to_vec(), dst.clone());
                    t.entries.insert(new.to_vec(), src.clone());
                }
                None => {
                    fd.entries.insert(old.to_vec(), dst.clone());
                    fd.entries.insert(new.to_vec(), src.clone());
                }
            }
            if !same_dir && src_dir != dst_dir {
                // A directory changed parents: move one ".." link between them.
                let (gain, lose) = if src_dir { (&to, &from) } else { (&from, &to) };
                gain.add_links(1);
                lose.add_links(-1);
            }
            for (d, parent) in [(&src, &to), (&dst, &from)] {
                if let Body::Dir(s) = &d.body {
                    s.lock().parent = Arc::downgrade(parent);
                }
                d.touch_ctime();
            }
        } else {
            if let Some(dst) = &dst {
                if flags.noreplace {
                    return Err(errno!(EEXIST));
                }
                if Arc::ptr_eq(dst, &src) {
                    // Two names of one file: nothing to do.
                    return Ok(());
                }
                match (src_dir, dst.kind == FileType::Directory) {
                    (true, false) => return Err(errno!(ENOTDIR)),
                    (false, true) => return Err(errno!(EISDIR)),
                    (true, true) if !dst.dir()?.lock().entries.is_empty() => {
                        return Err(errno!(ENOTEMPTY))
                    }
                    _ => {}
                }
            }
            fd.entries.remove(old);
            let replaced = match td {
                Some(t) => t.entries.insert(new.to_vec(), src.clone()),
                None => fd.entries.insert(new.to_vec(), src.clone()),
            };
            if let Some(r) = replaced {
                if r.kind == FileType::Directory {
                    r.meta.lock().nlink = 0;
                    to.add_links(-1);
                } else {
                    r.add_links(-1);
                }
                r.touch_ctime();
            }
            if src_dir && !same_dir {
                from.add_links(-1);
                to.add_links(1);
                if let Body::Dir(s) = &src.body {
                    s.lock().parent = Arc::downgrade(&to);
                }
            }
            src.touch_ctime();
        }
        from.touch_dir();
        if !same_dir {
            to.touch_dir();
        }
        Ok(())
    }

    fn setattr(&self, attr: &SetAttr) -> Result<()> {
        if let Some(size) = attr.size {
            if self.kind != FileType::Regular {
                return Err(errno!(EINVAL));
            }
            self.truncate(size)?;
            let mut m = self.meta.lock();
            let t = now();
            m.mtime = t;
            m.ctime = t;
        }
        let mut m = self.meta.lock();
        if let Some(mode) = attr.mode {
            if self.seals() & F_SEAL_EXEC != 0 && (m.mode ^ mode) & 0o111 != 0 {
                return Err(errno!(EPERM));
            }
            m.mode = mode & 0o7777;
        }
        if let Some(uid) = attr.uid {
            m.uid = uid;
        }
        if let Some(gid) = attr.gid {
            m.gid = gid;
        }
        if let Some(t) = attr.atime {
            m.atime = timestamp(t);
        }
        if let Some(t) = attr.mtime {
            m.mtime = timestamp(t);
        }
        m.ctime = now();
        Ok(())
    }

    fn allocate(&self, offset: u64, len: u64, keep_size: bool) -> Result<()> {
        let pages_lock = self.pages().ok_or_else(|| errno!(ENODEV))?;
        let end = offset
            .checked_add(len)
            .filter(|&e| e <= i64::MAX as u64)
            .ok_or_else(|| errno!(EFBIG))?;
        let mut pages = pages_lock.lock();
        if self.seals() & F_SEAL_GROW != 0 && end > pages.size {
            return Err(errno!(EPERM));
        }
        let first = offset / PAGE_SIZE;
        let count = end.div_ceil(PAGE_SIZE) - first;
        self.fill_pages(&mut pages, first, count)?;
        if !keep_size {
            pages.size = pages.size.max(end);
        }
        drop(pages);
        self.touch_ctime();
        Ok(())
    }

    fn punch_hole(&self, offset: u64, len: u64) -> Result<()> {
        let pages_lock = self.pages().ok_or_else(|| errno!(ENODEV))?;
        if self.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return Err(errno!(EPERM));
        }
        let mut pages = pages_lock.lock();
        let end = offset.saturating_add(len).min(pages.size);
        if offset >= end {
            return Ok(());
        }
        // Whole pages are given back; the partial ones at the edges are zeroed.
        let first_whole = offset.div_ceil(PAGE_SIZE);
        let last_whole = end / PAGE_SIZE;
        let mut at = offset;
        while at < end {
            let page = at / PAGE_SIZE;
            let page_end = ((page + 1) * PAGE_SIZE).min(end);
            if page >= first_whole && page < last_whole {
                if let Some(f) = pages.frames.remove(&page) {
                    self.fs.release_pages(1);
                    self.fs.mf.decref(f, 1);
                }
            } else if let Some(&f) = pages.frames.get(&page) {
                self.fs
                    .mf
                    .zero(f * PAGE_SIZE + at % PAGE_SIZE, (page_end - at) as usize);
            }
            at = page_end;
        }
        drop(pages);
        self.touch_dir();
        Ok(())
    }

    fn getxattr(&self, name: &[u8]) -> Result<Vec<u8>> {
        self.xattrs
            .lock()
            .get(name)
            .cloned()
            .ok_or_else(|| errno!(ENODATA))
    }

    fn setxattr(&self, name: &[u8], value: &[u8], how: XattrSet) -> Result<()> {
        let mut x = self.xattrs.lock();
        let exists = x.contains_key(name);
        match how {
            XattrSet::Create if exists => return Err(errno!(EEXIST)),
            XattrSet::Replace if !exists => return Err(errno!(ENODATA)),
            _ => {}
        }
        x.insert(name.to_vec(), value.to_vec());
        drop(x);
        self.touch_ctime();
        Ok(())
    }

    fn listxattr(&self) -> Result<Vec<Vec<u8>>> {
        Ok(self.xattrs.lock().keys().cloned().collect())
    }

    fn removexattr(&self, name: &[u8]) -> Result<()> {
        self.xattrs
            .lock()
            .remove(name)
            .ok_or_else(|| errno!(ENODATA))?;
        self.touch_ctime();
        Ok(())
    }
}

impl Mappable for TmpInode {
    fn frame(&self, mf: &Arc<MemoryFile>, pgoff: u64) -> Result<Frame> {
        let pages_lock = self.pages().ok_or_else(|| errno!(ENODEV))?;
        let mut pages = pages_lock.lock();
        if pgoff >= pages.size.div_ceil(PAGE_SIZE) {
            return Err(errno!(EFAULT));
        }
        self.fill_pages(&mut pages, pgoff, 1)?;
        let f = pages.frames[&pgoff];
        mf.incref(f, 1);
        Ok(f)
    }

    fn identity(&self) -> MappableIdentity {
        MappableIdentity {
            dev: self.fs.dev,
            ino: self.ino,
            path: Vec::new(),
            deleted: self.meta.lock().nlink == 0,
        }
    }
}

/// An open regular file of a tmpfs.
struct TmpFile {
    inode: Arc<TmpInode>,
}

impl FileOps for TmpFile {
    fn supports_epoll(&self) -> bool {
        false
    }

    fn as_tmpfs(&self) -> Option<&Arc<TmpInode>> {
        Some(&self.inode)
    }

    fn uses_offset(&self) -> bool {
        true
    }

    fn read(&self, _file: &File, buf: &mut [u8], offset: Option<u64>) -> Result<usize> {
        self.inode.read_data(buf, offset.unwrap_or(0))
    }

    fn write(&self, _file: &File, buf: &[u8], offset: Option<u64>) -> Result<usize> {
        self.inode.write_data(buf, offset.unwrap_or(0))
    }

    fn stat(&self) -> Result<Stat> {
        self.inode.stat()
    }

    fn seek(
        &self,
        _file: &File,
        current: u64,
        offset: i64,
        whence: crate::vfs::SeekWhence,
    ) -> Result<u64> {
        use crate::vfs::SeekWhence;
        let base = match whence {
            SeekWhence::Set => 0,
            SeekWhence::Current => current as i64,
            SeekWhence::End => self.inode.stat()?.size as i64,
            SeekWhence::Data | SeekWhence::Hole => {
                let pages = self.inode.pages().expect("regular file").lock();
                if offset < 0 || offset as u64 >= pages.size {
                    return Err(errno!(ENXIO));
                }
                let off = offset as u64;
                let data = |p: u64| pages.frames.contains_key(&p);
                let mut p = off / PAGE_SIZE;
                let last = pages.size.div_ceil(PAGE_SIZE);
                let want_data = whence == SeekWhence::Data;
                while p < last && data(p) != want_data {
                    p += 1;
                }
                if p >= last {
                    return if want_data {
                        Err(errno!(ENXIO))
                    } else {
                        Ok(pages.size)
                    };
                }
                return Ok((p * PAGE_SIZE).max(off).min(pages.size));
            }
        };
        let new = base.checked_add(offset).ok_or_else(|| errno!(EOVERFLOW))?;
        if new < 0 {
            return Err(errno!(EINVAL));
        }
        Ok(new as u64)
    }

    fn mappable(&self) -> Result<Arc<dyn Mappable>> {
        Ok(self.inode.clone())
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        self.inode.statfs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs() -> Arc<TmpInode> {
        let mf = Arc::new(MemoryFile::new().expect("memory file"));
        TmpFs::new_root(
            mf,
            TmpfsLimits {
                max_pages: 4,
                max_inodes: 8,
            },
            NewOwner {
                mode: 0o1777,
                uid: 0,
                gid: 0,
            },
        )
    }

    const OWNER: NewOwner = NewOwner {
        mode: 0o644,
        uid: 1,
        gid: 2,
    };

    #[test]
    fn files_hold_data_with_holes_and_truncate_zeroes_the_tail() {
        let root = fs();
        let f = root.create(b"f", NodeKind::Regular, OWNER).unwrap();
        let f = f.as_any().downcast_ref::<TmpInode>().unwrap().this();
        f.write_data(b"hello", 5000).unwrap();
        let mut buf = [1u8; 10];
        assert_eq!(f.read_data(&mut buf, 4998).unwrap(), 7);
        assert_eq!(&buf[..7], b"\0\0hello");
        f.truncate(5002).unwrap();
        f.truncate(6000).unwrap();
        let mut buf = [1u8; 5];
        f.read_data(&mut buf, 5000).unwrap();
        assert_eq!(&buf, b"he\0\0\0");
        assert_eq!(f.stat().unwrap().size, 6000);
    }

    #[test]
    fn space_and_inode_limits_give_enospc() {
        let root = fs();
        let f = root.create(b"f", NodeKind::Regular, OWNER).unwrap();
        let f = f.as_any().downcast_ref::<TmpInode>().unwrap().this();
        assert!(f.write_data(&[0; 4096 * 4], 0).is_ok());
        assert_eq!(
            f.write_data(b"x", 4096 * 4).unwrap_err().code(),
            libc::ENOSPC
        );
        f.truncate(0).unwrap();
        assert!(f.write_data(b"x", 0).is_ok(), "space comes back");
        for i in 0..6 {
            root.create(format!("n{i}").as_bytes(), NodeKind::Regular, OWNER)
                .unwrap();
        }
        let e = root.create(b"one-too-many", NodeKind::Regular, OWNER);
        assert_eq!(e.err().unwrap().code(), libc::ENOSPC);
    }

    #[test]
    fn directory_link_counts_follow_mkdir_rmdir_and_rename() {
        let root = fs();
        let a = root.create(b"a", NodeKind::Directory, OWNER).unwrap();
        let b = root.create(b"b", NodeKind::Directory, OWNER).unwrap();
        assert_eq!(root.stat().unwrap().nlink, 4);
        a.create(b"sub", NodeKind::Directory, OWNER).unwrap();
        assert_eq!(a.stat().unwrap().nlink, 3);
        let a_dyn: Arc<dyn Inode> = a.clone();
        let b_dyn: Arc<dyn Inode> = b.clone();
        a.rename(b"sub", &b_dyn, b"moved", RenameFlags::default())
            .unwrap();
        assert_eq!(a.stat().unwrap().nlink, 2);
        assert_eq!(b.stat().unwrap().nlink, 3);
        assert_eq!(
            root.rmdir(b"b").unwrap_err().code(),
            libc::ENOTEMPTY,
            "b holds moved"
        );
        b.rmdir(b"moved").unwrap();
        root.rmdir(b"b").unwrap();
        assert_eq!(root.stat().unwrap().nlink, 3);
        assert_eq!(b.stat().unwrap().nlink, 0);
        let _ = a_dyn;
    }
}
