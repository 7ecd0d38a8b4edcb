//! The overlay root: a writable tmpfs upper layer over the read-only lower layer the
//! gofer serves.
//!
//! Every file the guest reaches is an [`OverlayInode`] that knows its lower file (if
//! the name exists in the lower tree) and, once written to or created, its upper file
//! in the tmpfs. Reads go to the upper file when there is one, else to the lower one;
//! the first change to a lower file copies it up (data, attributes, link target,
//! extended attributes), after its parent directories. Removing a name that exists
//! below leaves a whiteout, so the lower entry stays hidden; a directory created where
//! one was removed is opaque (it has no lower directory).
//!
//! The overlay's tree of nodes lives in the sentry and is the authority for what a
//! name means: nodes are cached per directory and moved by rename, so a renamed
//! directory keeps merging its own lower directory under its new name (where Linux's
//! overlayfs needs `redirect_dir` or refuses with EXDEV). Whiteouts are kept in the
//! same nodes. Inode numbers are stable across copy-up: a file that exists below keeps
//! its lower inode number; files made in the upper layer get the tmpfs number with
//! [`UPPER_INO_BIT`] set, so the two ranges never collide. All files report the
//! overlay's own device.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use crate::abi;
use crate::errno;
use crate::errno::Result;
use crate::mm::Mappable;
use crate::vfs::{
    anon_dev, wants_write, DirEntry, DirFile, File, FileOps, FileType, Inode, NewOwner, NodeKind,
    RenameFlags, SeekWhence, SetAttr, Stat, TimeSet, XattrSet,
};

/// statfs f_type of an overlay (OVERLAYFS_SUPER_MAGIC).
const OVERLAYFS_MAGIC: i64 = 0x794c_7630;
/// Set in the inode numbers of files that exist only in the upper layer.
pub const UPPER_INO_BIT: u64 = 1 << 62;
/// Bytes copied per step when copying a file up.
const COPY_CHUNK: usize = 256 << 10;

/// One overlay: its device number and the locks that order its changes.
pub struct OverlayFs {
    dev: u64,
    /// Serialises copy-ups (each copies up its parents first, outside the lock).
    copy_lock: Mutex<()>,
    /// Serialises renames, which move nodes between directories' caches.
    rename_lock: Mutex<()>,
    /// The upper layer's root, where copy-ups of unlinked files go (as unnamed files).
    upper_root: Arc<dyn Inode>,
    /// Lower files with several names, by lower (device, inode): every name leads to
    /// one node, so a write through one name is seen through the others (Linux's
    /// overlayfs `index=on`).
    hardlinks: Mutex<HashMap<(u64, u64), Weak<OverlayInode>>>,
}

impl OverlayFs {
    /// The root of an overlay of `upper` (an empty tmpfs root) over `lower`. The upper
    /// root takes the lower root's owner, mode and times.
    pub fn new_root(lower: Arc<dyn Inode>, upper: Arc<dyn Inode>) -> Result<Arc<OverlayInode>> {
        let st = lower.stat()?;
        upper.setattr(&SetAttr {
            mode: Some(st.mode & 0o7777),
            uid: Some(st.uid),
            gid: Some(st.gid),
            atime: Some(TimeSet::At(st.atime)),
            mtime: Some(TimeSet::At(st.mtime)),
            size: None,
        })?;
        let fs = Arc::new(OverlayFs {
            dev: anon_dev(),
            copy_lock: Mutex::new(()),
            rename_lock: Mutex::new(()),
            upper_root: upper.clone(),
            hardlinks: Mutex::default(),
        });
        let root = OverlayInode::new(&fs, Some(lower), Some(upper), Weak::new(), Vec::new())?;
        Ok(root)
    }
}

/// What a directory node knows about its names beyond the two layers.
#[derive(Default)]
struct DirCache {
    /// Names looked up or made through the overlay, and what they are.
    nodes: HashMap<Vec<u8>, Arc<OverlayInode>>,
    /// Names removed from the overlay that the lower directory may still have.
    whiteouts: HashSet<Vec<u8>>,
}

/// A file of the overlay.
pub struct OverlayInode {
    fs: Arc<OverlayFs>,
    me: Weak<OverlayInode>,
    kind: FileType,
    ino: u64,
    /// The file in the lower layer (None: made in the upper layer, or an opaque
    /// directory).
    lower: Option<Arc<dyn Inode>>,
    /// The file in the upper layer, once copied up or created.
    upper: OnceLock<Arc<dyn Inode>>,
    /// Names of a non-directory that still lead to it through the lower layer only
    /// (its lower link count, less the names removed or copied up).
    lower_links: AtomicU32,
    /// For a directory: subdirectories made less subdirectories removed through the
    /// overlay (its link count is the lower one plus this).
    subdirs_delta: AtomicI32,
    /// Parent directory and name (the parent is gone or the name stale once the file
    /// was removed; `linked` says which).
    place: Mutex<Place>,
    dir: Mutex<DirCache>,
}

struct Place {
    parent: Weak<OverlayInode>,
    name: Vec<u8>,
    linked: bool,
}

impl OverlayInode {
    fn new(
        fs: &Arc<OverlayFs>,
        lower: Option<Arc<dyn Inode>>,
        upper: Option<Arc<dyn Inode>>,
        parent: Weak<OverlayInode>,
        name: Vec<u8>,
    ) -> Result<Arc<OverlayInode>> {
        let (kind, ino, lower_links) = match (&lower, &upper) {
            (Some(l), _) => {
                let st = l.stat()?;
                (l.file_type(), st.ino, st.nlink)
            }
            (None, Some(u)) => (u.file_type(), u.stat()?.ino | UPPER_INO_BIT, 0),
            (None, None) => return Err(errno!(EIO)),
        };
        let cell = OnceLock::new();
        if let Some(u) = upper {
            let _ = cell.set(u);
        }
        Ok(Arc::new_cyclic(|me| OverlayInode {
            fs: fs.clone(),
            me: me.clone(),
            kind,
            ino,
            lower,
            upper: cell,
            lower_links: AtomicU32::new(lower_links),
            subdirs_delta: AtomicI32::new(0),
            place: Mutex::new(Place {
                parent,
                name,
                linked: true,
            }),
            dir: Mutex::default(),
        }))
    }

    fn this(&self) -> Arc<OverlayInode> {
        self.me.upgrade().expect("an inode in use is alive")
    }

    /// The file currently holding the data: upper once copied up, else lower.
    fn real(&self) -> &Arc<dyn Inode> {
        match self.upper.get() {
            Some(u) => u,
            None => self
                .lower
                .as_ref()
                .expect("a node has a lower or an upper file"),
        }
    }

    /// `inode` as one of this overlay's nodes (EXDEV otherwise).
    fn same_fs(&self, inode: &Arc<dyn Inode>) -> Result<Arc<OverlayInode>> {
        inode
            .as_any()
            .downcast_ref::<OverlayInode>()
            .filter(|o| Arc::ptr_eq(&o.fs, &self.fs))
            .map(OverlayInode::this)
            .ok_or_else(|| errno!(EXDEV))
    }

    fn dir_upper(&self) -> Result<Arc<dyn Inode>> {
        if self.kind != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        self.copy_up(true)
    }

    /// The upper file, copying the lower one up first if needed (its parents before
    /// it). Without `with_data`, a regular file's contents are not copied (it is about
    /// to be truncated).
    fn copy_up(&self, with_data: bool) -> Result<Arc<dyn Inode>> {
        if let Some(u) = self.upper.get() {
            return Ok(u.clone());
        }
        let (parent, name, linked) = {
            let p = self.place.lock();
            (p.parent.upgrade(), p.name.clone(), p.linked)
        };
        let parent_upper = match (&parent, linked) {
            (Some(p), true) => Some(p.copy_up(true)?),
            _ => None,
        };
        let _serial = self.fs.copy_lock.lock();
        if let Some(u) = self.upper.get() {
            return Ok(u.clone());
        }
        let lower = self.lower.as_ref().ok_or_else(|| errno!(EIO))?;
        let st = lower.stat()?;
        let owner = NewOwner {
            mode: st.mode & 0o7777,
            uid: st.uid,
            gid: st.gid,
        };
        let kind = match self.kind {
            FileType::Regular => NodeKind::Regular,
            FileType::Directory => NodeKind::Directory,
            FileType::Symlink => NodeKind::Symlink(lower.readlink()?),
            FileType::Fifo => NodeKind::Fifo,
            FileType::Socket => NodeKind::Socket,
            FileType::CharDevice => NodeKind::CharDevice(st.rdev),
            FileType::BlockDevice => NodeKind::BlockDevice(st.rdev),
        };
        let upper = match parent_upper {
            Some(pu) => pu.create(&name, kind, owner)?,
            // Removed while still open: the copy has no name.
            None if self.kind == FileType::Regular => self.fs.upper_root.create_unnamed(owner)?,
            None => return Err(errno!(ENOENT)),
        };
        let filled = (|| {
            if self.kind == FileType::Regular && with_data {
                copy_data(lower, &upper, st.size)?;
            }
            for name in lower.listxattr()? {
                upper.setxattr(&name, &lower.getxattr(&name)?, XattrSet::Any)?;
            }
            upper.setattr(&SetAttr {
                atime: Some(TimeSet::At(st.atime)),
                mtime: Some(TimeSet::At(st.mtime)),
                ..Default::default()
            })
        })();
        if let Err(e) = filled {
            // Leave no half-copied file behind.
            if let (Some(p), true) = (&parent, linked) {
                if let Some(pu) = p.upper.get() {
                    let _ = if self.kind == FileType::Directory {
                        pu.rmdir(&name)
                    } else {
                        pu.unlink(&name)
                    };
                }
            }
            return Err(e);
        }
        if self.kind != FileType::Directory {
            // The name it was copied up under is an upper name now.
            self.drop_lower_link();
        }
        let _ = self.upper.set(upper.clone());
        Ok(upper)
    }

    /// Notes that `name` of `dir` no longer leads here, if that was the name copy-up
    /// would use.
    fn unplace(&self, dir: &OverlayInode, name: &[u8]) {
        let mut p = self.place.lock();
        if p.name == name && p.parent.ptr_eq(&dir.me) {
            p.linked = false;
        }
    }

    fn add_subdirs(&self, n: i32) {
        self.subdirs_delta.fetch_add(n, Ordering::AcqRel);
    }

    fn drop_lower_link(&self) {
        let _ = self
            .lower_links
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Makes sure `name` of directory `self` is an upper name of `node`: copies the
    /// node up, and links a name that so far led to it only through the lower layer
    /// (another lower hard link of the node).
    fn materialize(&self, name: &[u8], node: &Arc<OverlayInode>) -> Result<()> {
        let upper = node.copy_up(true)?;
        let dir = self.dir_upper()?;
        if absent_is_none(dir.lookup(name))?.is_none() {
            dir.link(name, &upper)?;
            node.drop_lower_link();
        }
        Ok(())
    }

    /// The node for `name` in this directory, if it exists in the merged view.
    fn find(&self, name: &[u8]) -> Result<Option<Arc<OverlayInode>>> {
        absent_is_none(self.lookup_node(name))
    }

    fn lookup_node(&self, name: &[u8]) -> Result<Arc<OverlayInode>> {
        if self.kind != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        let whited_out = {
            let d = self.dir.lock();
            if let Some(n) = d.nodes.get(name) {
                return Ok(n.clone());
            }
            d.whiteouts.contains(name)
        };
        let upper = match self.upper.get() {
            Some(u) => absent_is_none(u.lookup(name))?,
            None => None,
        };
        // A lower file shows through unless an upper non-directory covers it, or the
        // name was removed.
        let lower = match (&self.lower, &upper) {
            (Some(l), None) if !whited_out => absent_is_none(l.lookup(name))?,
            (Some(l), Some(u)) if !whited_out && u.file_type() == FileType::Directory => {
                absent_is_none(l.lookup(name))?.filter(|l| l.file_type() == FileType::Directory)
            }
            _ => None,
        };
        if upper.is_none() && lower.is_none() {
            return Err(errno!(ENOENT));
        }
        let node = match (&lower, &upper) {
            (Some(l), None) if l.file_type() != FileType::Directory => {
                let st = l.stat()?;
                if st.nlink > 1 {
                    let mut links = self.fs.hardlinks.lock();
                    match links.get(&(st.dev, st.ino)).and_then(Weak::upgrade) {
                        Some(n) => n,
                        None => {
                            let n = OverlayInode::new(
                                &self.fs,
                                lower,
                                upper,
                                self.me.clone(),
                                name.to_vec(),
                            )?;
                            links.insert((st.dev, st.ino), Arc::downgrade(&n));
                            n
                        }
                    }
                } else {
                    OverlayInode::new(&self.fs, lower, upper, self.me.clone(), name.to_vec())?
                }
            }
            _ => OverlayInode::new(&self.fs, lower, upper, self.me.clone(), name.to_vec())?,
        };
        Ok(self
            .dir
            .lock()
            .nodes
            .entry(name.to_vec())
            .or_insert(node)
            .clone())
    }

    /// The merged entries (without `.` and `..`).
    fn merged_entries(&self) -> Result<Vec<DirEntry>> {
        let upper = match self.upper.get() {
            Some(u) => u.readdir()?,
            None => Vec::new(),
        };
        let lower = match &self.lower {
            Some(l) => l.readdir()?,
            None => Vec::new(),
        };
        let d = self.dir.lock();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (e, from_upper) in upper
            .into_iter()
            .map(|e| (e, true))
            .chain(lower.into_iter().map(|e| (e, false)))
        {
            if e.name == b"." || e.name == b".." || seen.contains(&e.name) {
                continue;
            }
            if !from_upper && d.whiteouts.contains(&e.name) {
                continue;
            }
            let (ino, d_type) = match d.nodes.get(&e.name) {
                Some(n) => (n.ino, n.kind.dirent_type()),
                None if from_upper => (e.ino | UPPER_INO_BIT, e.d_type),
                None => (e.ino, e.d_type),
            };
            seen.insert(e.name.clone());
            out.push(DirEntry {
                ino,
                d_type,
                name: e.name,
            });
        }
        Ok(out)
    }

    /// Marks `name` of this directory removed: hidden below, gone from the cache.
    fn forget(&self, name: &[u8]) -> Option<Arc<OverlayInode>> {
        let mut d = self.dir.lock();
        if self.lower.is_some() {
            d.whiteouts.insert(name.to_vec());
        }
        d.nodes.remove(name)
    }

    /// Records a new node at `name` of this directory.
    fn adopt(&self, name: &[u8], node: Arc<OverlayInode>) {
        {
            let mut p = node.place.lock();
            p.parent = self.me.clone();
            p.name = name.to_vec();
            p.linked = true;
        }
        let mut d = self.dir.lock();
        d.whiteouts.remove(name);
        d.nodes.insert(name.to_vec(), node);
    }

    /// Updates mtime and ctime of this directory after a change that reached only the
    /// overlay's own state (a whiteout).
    fn touch(&self, upper: &Arc<dyn Inode>) -> Result<()> {
        upper.setattr(&SetAttr {
            mtime: Some(TimeSet::Now),
            ..Default::default()
        })
    }

    fn is_empty_dir(&self) -> Result<bool> {
        Ok(self.merged_entries()?.is_empty())
    }
}

/// Maps ENOENT to None.
fn absent_is_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(i) => Ok(Some(i)),
        Err(e) if e == errno!(ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copies a regular file's `size` bytes from `lower` to `upper`, leaving runs of zeros
/// as holes.
fn copy_data(lower: &Arc<dyn Inode>, upper: &Arc<dyn Inode>, size: u64) -> Result<()> {
    if size > 0 {
        let src_ops = lower.clone().open(libc::O_RDONLY as u32)?;
        let src = File::new(src_ops.clone(), libc::O_RDONLY as u32, None);
        let dst_ops = upper.clone().open(libc::O_WRONLY as u32)?;
        let dst = File::new(dst_ops.clone(), libc::O_WRONLY as u32, None);
        let mut buf = vec![0u8; COPY_CHUNK.min(size as usize)];
        let mut off = 0u64;
        while off < size {
            let n = src_ops.read(&src, &mut buf, Some(off))?;
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            if chunk.iter().any(|&b| b != 0) {
                let mut done = 0;
                while done < n {
                    done += dst_ops.write(&dst, &chunk[done..], Some(off + done as u64))?;
                }
            }
            off += n as u64;
        }
    }
    upper.setattr(&SetAttr {
        size: Some(size),
        ..Default::default()
    })
}

impl Inode for OverlayInode {
    fn stat(&self) -> Result<Stat> {
        let mut st = self.real().stat()?;
        st.dev = self.fs.dev;
        st.ino = self.ino;
        if self.kind != FileType::Directory && self.lower.is_some() {
            let upper_links = match self.upper.get() {
                Some(u) => u.stat()?.nlink,
                None => 0,
            };
            st.nlink = upper_links + self.lower_links.load(Ordering::Acquire);
        }
        if let (FileType::Directory, Some(lower), Some(_)) =
            (self.kind, &self.lower, self.upper.get())
        {
            // A merged directory: its entries are mostly the lower directory's, so it
            // reports that size, and a link count that follows the subdirectories made
            // and removed since (find(1) relies on it to skip leaves).
            let ls = lower.stat()?;
            st.size = ls.size;
            st.blocks = ls.blocks;
            st.nlink = if ls.nlink < 2 {
                ls.nlink
            } else {
                ls.nlink
                    .saturating_add_signed(self.subdirs_delta.load(Ordering::Acquire))
                    .max(2)
            };
        }
        Ok(st)
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
        self.lookup_node(name).map(|n| n as Arc<dyn Inode>)
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        if self.kind != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        let parent_ino = self
            .place
            .lock()
            .parent
            .upgrade()
            .map_or(self.ino, |p| p.ino);
        let mut out = DirEntry::dots(self.ino, parent_ino);
        out.extend(self.merged_entries()?);
        Ok(out)
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        self.real().readlink()
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        match self.kind {
            FileType::Directory => {
                if wants_write(flags) {
                    return Err(errno!(EISDIR));
                }
                Ok(DirFile::new(self))
            }
            FileType::Regular => {
                let truncate = flags & libc::O_TRUNC as u32 != 0;
                if wants_write(flags) || truncate {
                    return self.copy_up(!truncate)?.open(flags);
                }
                if let Some(u) = self.upper.get() {
                    return u.clone().open(flags);
                }
                let lower = self.real().clone().open(flags)?;
                Ok(Arc::new(LowerFile {
                    node: self,
                    lower,
                    flags,
                    upper: OnceLock::new(),
                }))
            }
            FileType::Symlink => Err(errno!(ELOOP)),
            // FIFOs and device nodes are the sandbox's own: open the upper copy.
            _ => self.copy_up(true)?.open(flags),
        }
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        let mut s = self.fs.upper_root.statfs()?;
        s.f_type = OVERLAYFS_MAGIC;
        Ok(s)
    }

    fn create(&self, name: &[u8], kind: NodeKind, owner: NewOwner) -> Result<Arc<dyn Inode>> {
        if self.find(name)?.is_some() {
            return Err(errno!(EEXIST));
        }
        let is_dir = kind == NodeKind::Directory;
        let upper = self.dir_upper()?.create(name, kind, owner)?;
        let node = OverlayInode::new(&self.fs, None, Some(upper), Weak::new(), Vec::new())?;
        self.adopt(name, node.clone());
        if is_dir {
            self.add_subdirs(1);
        }
        Ok(node)
    }

    fn create_unnamed(&self, owner: NewOwner) -> Result<Arc<dyn Inode>> {
        let upper = self.dir_upper()?.create_unnamed(owner)?;
        let node = OverlayInode::new(&self.fs, None, Some(upper), self.me.clone(), Vec::new())?;
        node.place.lock().linked = false;
        Ok(node)
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        let target = self.same_fs(target)?;
        if self.find(name)?.is_some() {
            return Err(errno!(EEXIST));
        }
        let target_upper = target.copy_up(true)?;
        self.dir_upper()?.link(name, &target_upper)?;
        // Both names now lead to the same node (and inode number).
        let mut d = self.dir.lock();
        d.whiteouts.remove(name);
        d.nodes.insert(name.to_vec(), target.clone());
        drop(d);
        let mut p = target.place.lock();
        if !p.linked {
            p.parent = self.me.clone();
            p.name = name.to_vec();
            p.linked = true;
        }
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let victim = self.lookup_node(name)?;
        if victim.kind == FileType::Directory {
            return Err(errno!(EISDIR));
        }
        let upper = self.dir_upper()?;
        if victim.upper.get().is_some() && absent_is_none(upper.lookup(name))?.is_some() {
            upper.unlink(name)?;
        } else {
            // A name that exists only below: hide it.
            self.touch(&upper)?;
            victim.drop_lower_link();
        }
        self.forget(name);
        victim.unplace(self, name);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let victim = self.lookup_node(name)?;
        if victim.kind != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        if !victim.is_empty_dir()? {
            return Err(errno!(ENOTEMPTY));
        }
        let upper = self.dir_upper()?;
        if victim.upper.get().is_some() {
            upper.rmdir(name)?;
        } else {
            self.touch(&upper)?;
        }
        self.forget(name);
        self.add_subdirs(-1);
        victim.place.lock().linked = false;
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
        let _serial = self.fs.rename_lock.lock();
        let src = self.lookup_node(old)?;
        let dst = to.find(new)?;
        if let Some(dst) = &dst {
            if Arc::ptr_eq(dst, &src) {
                // Two names of one file: nothing to do.
                return Ok(());
            }
            if !flags.exchange {
                if flags.noreplace {
                    return Err(errno!(EEXIST));
                }
                match (
                    src.kind == FileType::Directory,
                    dst.kind == FileType::Directory,
                ) {
                    (true, false) => return Err(errno!(ENOTDIR)),
                    (false, true) => return Err(errno!(EISDIR)),
                    (true, true) if !dst.is_empty_dir()? => return Err(errno!(ENOTEMPTY)),
                    _ => {}
                }
            }
        } else if flags.exchange {
            return Err(errno!(ENOENT));
        }
        let from_upper = self.dir_upper()?;
        let to_upper = to.dir_upper()?;
        // A renamed directory is copied up alone: its lower directory stays its own
        // (the node carries it), so its contents are not copied.
        self.materialize(old, &src)?;
        match &dst {
            Some(d) if flags.exchange => to.materialize(new, d)?,
            // A replaced name that existed only below.
            Some(d)
                if d.kind != FileType::Directory
                    && absent_is_none(to_upper.lookup(new))?.is_none() =>
            {
                d.drop_lower_link();
            }
            _ => {}
        }
        // A replaced file that exists only below has no upper entry: the upper rename
        // is then a plain move, and the node cache hides the lower file.
        from_upper.rename(
            old,
            &to_upper,
            new,
            RenameFlags {
                noreplace: false,
                exchange: flags.exchange,
            },
        )?;
        let src_dir = i32::from(src.kind == FileType::Directory);
        let dst_dir = i32::from(dst.as_ref().is_some_and(|d| d.kind == FileType::Directory));
        if flags.exchange {
            self.add_subdirs(dst_dir - src_dir);
            to.add_subdirs(src_dir - dst_dir);
        } else {
            self.add_subdirs(-src_dir);
            to.add_subdirs(src_dir - dst_dir);
        }
        if flags.exchange {
            let dst = dst.expect("exchange has a target");
            let mut fd = self.dir.lock();
            fd.nodes.insert(old.to_vec(), dst.clone());
            drop(fd);
            let mut td = to.dir.lock();
            td.nodes.insert(new.to_vec(), src.clone());
            drop(td);
            let mut p = dst.place.lock();
            p.parent = self.me.clone();
            p.name = old.to_vec();
            drop(p);
            let mut p = src.place.lock();
            p.parent = to.me.clone();
            p.name = new.to_vec();
        } else {
            self.forget(old);
            if let Some(d) = &dst {
                d.unplace(&to, new);
            }
            to.adopt(new, src);
        }
        Ok(())
    }

    fn setattr(&self, attr: &SetAttr) -> Result<()> {
        let with_data = attr.size != Some(0);
        self.copy_up(with_data)?.setattr(attr)
    }

    fn allocate(&self, offset: u64, len: u64, keep_size: bool) -> Result<()> {
        self.copy_up(true)?.allocate(offset, len, keep_size)
    }

    fn punch_hole(&self, offset: u64, len: u64) -> Result<()> {
        self.copy_up(true)?.punch_hole(offset, len)
    }

    fn getxattr(&self, name: &[u8]) -> Result<Vec<u8>> {
        self.real().getxattr(name)
    }

    fn setxattr(&self, name: &[u8], value: &[u8], how: XattrSet) -> Result<()> {
        self.copy_up(true)?.setxattr(name, value, how)
    }

    fn listxattr(&self) -> Result<Vec<Vec<u8>>> {
        self.real().listxattr()
    }

    fn removexattr(&self, name: &[u8]) -> Result<()> {
        self.copy_up(true)?.removexattr(name)
    }
}

/// A regular file opened for reading while it existed only below. Once the file is
/// copied up (another opener wrote to it), reads follow it to the upper copy, so
/// every reader sees the writes (as Linux's overlayfs does since 4.19).
struct LowerFile {
    node: Arc<OverlayInode>,
    lower: Arc<dyn FileOps>,
    flags: u32,
    upper: OnceLock<Arc<dyn FileOps>>,
}

impl LowerFile {
    fn current(&self) -> Result<&Arc<dyn FileOps>> {
        let Some(u) = self.node.upper.get() else {
            return Ok(&self.lower);
        };
        if let Some(ops) = self.upper.get() {
            return Ok(ops);
        }
        let ops = u.clone().open(self.flags & !(libc::O_TRUNC as u32))?;
        Ok(self.upper.get_or_init(|| ops))
    }
}

impl FileOps for LowerFile {
    fn supports_epoll(&self) -> bool {
        false
    }

    fn uses_offset(&self) -> bool {
        true
    }

    fn read(&self, file: &File, buf: &mut [u8], offset: Option<u64>) -> Result<usize> {
        self.current()?.read(file, buf, offset)
    }

    fn write(&self, file: &File, buf: &[u8], offset: Option<u64>) -> Result<usize> {
        self.current()?.write(file, buf, offset)
    }

    fn stat(&self) -> Result<Stat> {
        self.node.stat()
    }

    fn seek(&self, file: &File, current: u64, offset: i64, whence: SeekWhence) -> Result<u64> {
        self.current()?.seek(file, current, offset, whence)
    }

    fn mappable(&self) -> Result<Arc<dyn Mappable>> {
        self.current()?.mappable()
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        self.node.statfs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::tmpfs::{TmpFs, TmpfsLimits};
    use crate::mm::MemoryFile;

    const OWNER: NewOwner = NewOwner {
        mode: 0o644,
        uid: 0,
        gid: 0,
    };

    fn tmpfs(mf: &Arc<MemoryFile>) -> Arc<dyn Inode> {
        TmpFs::new_root(
            mf.clone(),
            TmpfsLimits::default(),
            NewOwner {
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        )
    }

    fn write(inode: &Arc<dyn Inode>, data: &[u8]) {
        let ops = inode.clone().open(libc::O_WRONLY as u32).unwrap();
        let f = File::new(ops.clone(), libc::O_WRONLY as u32, None);
        assert_eq!(ops.write(&f, data, Some(0)).unwrap(), data.len());
    }

    fn read(inode: &Arc<dyn Inode>) -> Vec<u8> {
        let ops = inode.clone().open(libc::O_RDONLY as u32).unwrap();
        let f = File::new(ops.clone(), libc::O_RDONLY as u32, None);
        let mut buf = vec![0; 4096];
        let n = ops.read(&f, &mut buf, Some(0)).unwrap();
        buf.truncate(n);
        buf
    }

    fn names(dir: &Arc<dyn Inode>) -> Vec<String> {
        let mut v: Vec<String> = dir
            .readdir()
            .unwrap()
            .into_iter()
            .map(|e| String::from_utf8(e.name).unwrap())
            .filter(|n| n != "." && n != "..")
            .collect();
        v.sort();
        v
    }

    /// A lower tree: /f ("lower"), /d/x ("x"), /d/y ("y").
    fn setup() -> (Arc<dyn Inode>, Arc<dyn Inode>) {
        let mf = Arc::new(MemoryFile::new().expect("memory file"));
        let lower = tmpfs(&mf);
        let f = lower.create(b"f", NodeKind::Regular, OWNER).unwrap();
        write(&f, b"lower");
        let d = lower.create(b"d", NodeKind::Directory, OWNER).unwrap();
        write(&d.create(b"x", NodeKind::Regular, OWNER).unwrap(), b"x");
        write(&d.create(b"y", NodeKind::Regular, OWNER).unwrap(), b"y");
        let root: Arc<dyn Inode> = OverlayFs::new_root(lower.clone(), tmpfs(&mf)).unwrap();
        (lower, root)
    }

    #[test]
    fn writes_copy_up_and_leave_the_lower_file_alone() {
        let (lower, root) = setup();
        let f = root.lookup(b"f").unwrap();
        let ino = f.stat().unwrap().ino;
        write(&f, b"UPPER");
        assert_eq!(read(&f), b"UPPER");
        assert_eq!(f.stat().unwrap().ino, ino, "inode number kept by copy-up");
        assert_eq!(read(&lower.lookup(b"f").unwrap()), b"lower");
    }

    #[test]
    fn removed_lower_names_stay_hidden_and_can_be_reused() {
        let (lower, root) = setup();
        let d = root.lookup(b"d").unwrap();
        d.unlink(b"x").unwrap();
        assert_eq!(names(&d), ["y"]);
        assert_eq!(d.lookup(b"x").err(), Some(errno!(ENOENT)));
        assert_eq!(root.rmdir(b"d").err(), Some(errno!(ENOTEMPTY)));
        d.unlink(b"y").unwrap();
        root.rmdir(b"d").unwrap();
        let d2 = root.create(b"d", NodeKind::Directory, OWNER).unwrap();
        assert!(names(&d2).is_empty(), "a re-made directory is opaque");
        assert_eq!(names(&lower.lookup(b"d").unwrap()), ["x", "y"]);
    }

    #[test]
    fn a_renamed_lower_directory_keeps_its_contents() {
        let (_lower, root) = setup();
        root.rename(b"d", &root, b"e", RenameFlags::default())
            .unwrap();
        assert_eq!(names(&root), ["e", "f"]);
        let e = root.lookup(b"e").unwrap();
        assert_eq!(names(&e), ["x", "y"]);
        assert_eq!(read(&e.lookup(b"y").unwrap()), b"y");
        let made = root.create(b"d", NodeKind::Directory, OWNER).unwrap();
        assert!(names(&made).is_empty());
    }

    #[test]
    fn link_across_to_another_overlay_is_exdev() {
        let (_l1, root1) = setup();
        let (_l2, root2) = setup();
        let f = root1.lookup(b"f").unwrap();
        assert_eq!(root2.link(b"g", &f).err(), Some(errno!(EXDEV)));
    }
}
