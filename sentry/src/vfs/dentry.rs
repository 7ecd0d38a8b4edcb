//! Dentries (names of inodes), mounts and mount namespaces.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::inode::{FileType, Inode};
use crate::errno::Result;

/// ST_VALID: statfs's f_flags are meaningful (Linux sets it since 2.6.36).
const ST_VALID: i64 = 0x20;

/// A name of an inode in the dentry tree.
///
/// Dentries hold their parent and cache their children (positive lookups), so a path
/// once walked is not asked of the filesystem again. The filesystem is the sandbox's
/// own (exclusive), so the cache is kept coherent by the VFS operations themselves:
/// creating, removing and renaming update it.
pub struct Dentry {
    /// Name and parent; both change on rename.
    place: Mutex<(Vec<u8>, Option<Arc<Dentry>>)>,
    inode: Arc<dyn Inode>,
    file_type: FileType,
    children: Mutex<HashMap<Vec<u8>, Arc<Dentry>>>,
    /// The name was removed (unlink, rmdir, replaced by a rename) while still in use.
    deleted: AtomicBool,
    /// An unnamed file (O_TMPFILE without O_EXCL) that linkat may give a name.
    linkable: bool,
}

impl Dentry {
    /// A root dentry (no parent).
    pub fn new_root(inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Dentry::new(b"/".to_vec(), None, inode)
    }

    fn new(name: Vec<u8>, parent: Option<Arc<Dentry>>, inode: Arc<dyn Inode>) -> Arc<Dentry> {
        let file_type = inode.file_type();
        Arc::new(Dentry {
            place: Mutex::new((name, parent)),
            inode,
            file_type,
            children: Mutex::default(),
            deleted: AtomicBool::new(false),
            linkable: false,
        })
    }

    /// A dentry for an unnamed file in directory `parent` (O_TMPFILE): deleted from
    /// the start, and `linkable` unless opened with O_EXCL.
    pub fn new_unnamed(parent: &Arc<Dentry>, inode: Arc<dyn Inode>, linkable: bool) -> Arc<Dentry> {
        let file_type = inode.file_type();
        let name = format!("#{}", inode.stat().map_or(0, |s| s.ino)).into_bytes();
        Arc::new(Dentry {
            place: Mutex::new((name, Some(parent.clone()))),
            inode,
            file_type,
            children: Mutex::default(),
            deleted: AtomicBool::new(true),
            linkable,
        })
    }

    /// A dentry named `name` for a file that never had a name in `parent` (memfd's
    /// `memfd:NAME`): deleted from the start and never linkable.
    pub fn new_anonymous(
        parent: &Arc<Dentry>,
        inode: Arc<dyn Inode>,
        name: Vec<u8>,
    ) -> Arc<Dentry> {
        let file_type = inode.file_type();
        Arc::new(Dentry {
            place: Mutex::new((name, Some(parent.clone()))),
            inode,
            file_type,
            children: Mutex::default(),
            deleted: AtomicBool::new(true),
            linkable: false,
        })
    }

    /// Whether linkat may give this unnamed file a name.
    pub fn is_linkable(&self) -> bool {
        self.linkable
    }

    /// The inode.
    pub fn inode(&self) -> &Arc<dyn Inode> {
        &self.inode
    }

    /// The file type of the inode.
    pub fn file_type(&self) -> FileType {
        self.file_type
    }

    /// The name of this dentry in its parent.
    pub fn name(&self) -> Vec<u8> {
        self.place.lock().0.clone()
    }

    /// The parent dentry (None for a filesystem root).
    pub fn parent(&self) -> Option<Arc<Dentry>> {
        self.place.lock().1.clone()
    }

    /// Whether the name was removed while the dentry was in use.
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    /// The child `name`, from the cache or looked up in the filesystem.
    pub fn child(self: &Arc<Dentry>, name: &[u8]) -> Result<Arc<Dentry>> {
        {
            let mut children = self.children.lock();
            if let Some(d) = children.get(name) {
                if d.inode.valid() {
                    return Ok(d.clone());
                }
                d.deleted.store(true, Ordering::Release);
                children.remove(name);
            }
        }
        let inode = self.inode.lookup(name)?;
        let d = Dentry::new(name.to_vec(), Some(self.clone()), inode);
        Ok(self
            .children
            .lock()
            .entry(name.to_vec())
            .or_insert(d)
            .clone())
    }

    /// Records a child the filesystem just created.
    pub fn add_child(self: &Arc<Dentry>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        let d = Dentry::new(name.to_vec(), Some(self.clone()), inode);
        self.children.lock().insert(name.to_vec(), d.clone());
        d
    }

    /// Forgets a cached child (after the filesystem removed or replaced it); a dentry
    /// still in use is marked deleted.
    pub fn forget_child(&self, name: &[u8]) {
        if let Some(d) = self.children.lock().remove(name) {
            d.deleted.store(true, Ordering::Release);
        }
    }

    /// Moves the cached child `old` of `from` to `to` as `new` after the filesystem
    /// renamed it (what was cached as `new` is forgotten). With `exchange`, the two
    /// names swapped places.
    pub fn move_child(
        from: &Arc<Dentry>,
        old: &[u8],
        to: &Arc<Dentry>,
        new: &[u8],
        exchange: bool,
    ) {
        let moved = from.children.lock().remove(old);
        let displaced = to.children.lock().remove(new);
        if let Some(d) = &moved {
            *d.place.lock() = (new.to_vec(), Some(to.clone()));
            to.children.lock().insert(new.to_vec(), d.clone());
        }
        if let Some(d) = displaced {
            if exchange {
                *d.place.lock() = (old.to_vec(), Some(from.clone()));
                from.children.lock().insert(old.to_vec(), d);
            } else {
                d.deleted.store(true, Ordering::Release);
            }
        }
    }

    /// Whether `self` is `other` or one of its descendants.
    pub fn is_within(self: &Arc<Dentry>, other: &Arc<Dentry>) -> bool {
        let mut cur = Some(self.clone());
        while let Some(d) = cur {
            if Arc::ptr_eq(&d, other) {
                return true;
            }
            cur = d.parent();
        }
        false
    }
}

impl Drop for Dentry {
    fn drop(&mut self) {
        // The last use of a removed name ended: if that was the inode's last name, it
        // is gone now (Linux reports IN_DELETE_SELF at this point, not at the unlink
        // while the file is still open).
        if *self.deleted.get_mut() && crate::fs::inotify::is_watched(&self.inode) {
            let gone = self.file_type == FileType::Directory
                || self.inode.stat().map_or(true, |st| st.nlink == 0);
            if gone {
                crate::fs::inotify::inode_removed(&self.inode);
            }
        }
    }
}

/// Mount flags the VFS enforces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountFlags {
    /// MS_RDONLY.
    pub read_only: bool,
    /// MS_NOEXEC.
    pub no_exec: bool,
    /// MS_NOSUID.
    pub no_suid: bool,
    /// MS_NODEV.
    pub no_dev: bool,
}

static NEXT_MOUNT_ID: AtomicU64 = AtomicU64::new(1);

/// A mounted filesystem (or a bind mount of part of one).
pub struct Mount {
    id: u64,
    root: Arc<Dentry>,
    /// Where this mount is attached: the parent mount and the dentry in it (None for
    /// a namespace's root and for detached mounts).
    mountpoint: Mutex<Option<(Arc<Mount>, Arc<Dentry>)>>,
    /// Filesystem type name, as /proc/mounts shows it.
    pub fs_type: &'static str,
    /// Source, as /proc/mounts shows it.
    pub source: String,
    /// Flags (remount changes them).
    flags: Mutex<MountFlags>,
    /// A first umount2(MNT_EXPIRE) marked it (the mark is not cleared by later use).
    expired: AtomicBool,
}

impl Mount {
    fn new(
        root: Arc<Dentry>,
        fs_type: &'static str,
        source: String,
        flags: MountFlags,
    ) -> Arc<Mount> {
        Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            root,
            mountpoint: Mutex::new(None),
            fs_type,
            source,
            flags: Mutex::new(flags),
            expired: AtomicBool::new(false),
        })
    }

    /// A mount of a filesystem whose root is `inode` that is attached nowhere (the
    /// kernel's internal mounts, such as the one memfd files live on).
    pub fn detached(inode: Arc<dyn Inode>, fs_type: &'static str) -> Arc<Mount> {
        Mount::new(
            Dentry::new_root(inode),
            fs_type,
            fs_type.to_string(),
            MountFlags::default(),
        )
    }

    /// Marks the mount expired (umount2 MNT_EXPIRE); returns whether it already was.
    pub fn mark_expired(&self) -> bool {
        self.expired.swap(true, Ordering::Relaxed)
    }

    /// The mount's id (for statx and /proc/self/mountinfo).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The root dentry of the mount (a filesystem's root, or any directory or file of
    /// it for a bind mount).
    pub fn root(&self) -> &Arc<Dentry> {
        &self.root
    }

    /// The parent mount and mountpoint.
    pub fn mountpoint(&self) -> Option<(Arc<Mount>, Arc<Dentry>)> {
        self.mountpoint.lock().clone()
    }

    /// The flags.
    pub fn flags(&self) -> MountFlags {
        *self.flags.lock()
    }

    /// Changes the flags (remount).
    pub fn set_flags(&self, flags: MountFlags) {
        *self.flags.lock() = flags;
    }

    /// The path of the mount's root inside its filesystem ("/" unless this is a bind
    /// mount of a subdirectory), as mountinfo's fourth field shows it.
    pub fn root_in_fs(&self) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut cur = self.root.clone();
        while let Some(parent) = cur.parent() {
            parts.push(cur.name());
            cur = parent;
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        out
    }
}

/// A location in the tree of mounts: a mount and a dentry inside it.
#[derive(Clone)]
pub struct Path {
    /// The mount.
    pub mount: Arc<Mount>,
    /// The dentry.
    pub dentry: Arc<Dentry>,
}

impl Path {
    /// statfs(2) of the filesystem here, with `f_flags` from this mount's flags as Linux
    /// reports them (ST_VALID, and every mount is relatime).
    pub fn statfs(&self) -> Result<crate::abi::Statfs> {
        let mut s = self.inode().statfs()?;
        let f = self.mount.flags();
        let mut flags = libc::ST_RELATIME as i64 | ST_VALID;
        for (on, bit) in [
            (f.read_only, libc::ST_RDONLY),
            (f.no_suid, libc::ST_NOSUID),
            (f.no_dev, libc::ST_NODEV),
            (f.no_exec, libc::ST_NOEXEC),
        ] {
            if on {
                flags |= bit as i64;
            }
        }
        s.f_flags = flags;
        Ok(s)
    }

    /// Whether two paths name the same place.
    pub fn same(&self, other: &Path) -> bool {
        Arc::ptr_eq(&self.mount, &other.mount) && Arc::ptr_eq(&self.dentry, &other.dentry)
    }

    /// The inode.
    pub fn inode(&self) -> &Arc<dyn Inode> {
        self.dentry.inode()
    }

    /// The file type.
    pub fn file_type(&self) -> FileType {
        self.dentry.file_type()
    }

    /// Whether this is the root of its mount.
    pub fn is_mount_root(&self) -> bool {
        Arc::ptr_eq(&self.dentry, self.mount.root())
    }
}

fn key_of(at: &Path) -> (u64, usize) {
    (at.mount.id, Arc::as_ptr(&at.dentry) as usize)
}

/// A mount namespace: the mount tree processes resolve paths in.
///
/// Lock order: `root`, then `children`; a mount's `mountpoint` lock is taken alone.
pub struct MountNamespace {
    root: Mutex<Arc<Mount>>,
    /// Mounts attached on top of other mounts, by (parent mount id, mountpoint dentry).
    children: RwLock<HashMap<(u64, usize), Arc<Mount>>>,
}

impl MountNamespace {
    /// A namespace whose root is `root_inode`.
    pub fn new(
        root_inode: Arc<dyn Inode>,
        fs_type: &'static str,
        source: String,
        flags: MountFlags,
    ) -> Arc<MountNamespace> {
        let root = Mount::new(Dentry::new_root(root_inode), fs_type, source, flags);
        Arc::new(MountNamespace {
            root: Mutex::new(root),
            children: RwLock::default(),
        })
    }

    /// The root of the namespace.
    pub fn root(&self) -> Path {
        let m = self.root.lock().clone();
        Path {
            dentry: m.root.clone(),
            mount: m,
        }
    }

    /// The root mount.
    pub fn root_mount(&self) -> Arc<Mount> {
        self.root.lock().clone()
    }

    fn attach(&self, at: &Path, m: &Arc<Mount>) {
        *m.mountpoint.lock() = Some((at.mount.clone(), at.dentry.clone()));
        self.children.write().insert(key_of(at), m.clone());
    }

    /// Mounts a filesystem whose root is `inode` at `at`.
    pub fn mount(
        &self,
        at: &Path,
        inode: Arc<dyn Inode>,
        fs_type: &'static str,
        source: String,
        flags: MountFlags,
    ) -> Arc<Mount> {
        let m = Mount::new(Dentry::new_root(inode), fs_type, source, flags);
        self.attach(at, &m);
        m
    }

    /// Bind-mounts `source` at `at` (with `recursive`, the mounts below `source` too):
    /// the new mount shows the same files, with the source mount's flags.
    pub fn bind(&self, at: &Path, source: &Path, recursive: bool) -> Arc<Mount> {
        let top = Mount::new(
            source.dentry.clone(),
            source.mount.fs_type,
            source.mount.source.clone(),
            source.mount.flags(),
        );
        let below = if recursive {
            self.submounts_within(&source.mount, &source.dentry)
        } else {
            Vec::new()
        };
        self.attach(at, &top);
        // Copies of the mounts below, attached at the same places in the copies.
        let mut copies: HashMap<u64, Arc<Mount>> = HashMap::from([(source.mount.id, top.clone())]);
        for m in below {
            let Some((parent, dentry)) = m.mountpoint() else {
                continue;
            };
            let Some(parent_copy) = copies.get(&parent.id).cloned() else {
                continue;
            };
            let copy = Mount::new(m.root.clone(), m.fs_type, m.source.clone(), m.flags());
            self.attach(
                &Path {
                    mount: parent_copy,
                    dentry,
                },
                &copy,
            );
            copies.insert(m.id, copy);
        }
        top
    }

    /// The mounts attached (directly or not) below `dentry` of `mount`, parents before
    /// children.
    fn submounts_within(&self, mount: &Arc<Mount>, dentry: &Arc<Dentry>) -> Vec<Arc<Mount>> {
        let children = self.children.read();
        let mut out: Vec<Arc<Mount>> = Vec::new();
        let mut frontier = vec![mount.clone()];
        while let Some(parent) = frontier.pop() {
            let mut found: Vec<Arc<Mount>> = children
                .iter()
                .filter(|((pid, _), m)| {
                    *pid == parent.id
                        && (!Arc::ptr_eq(&parent, mount)
                            || m.mountpoint().is_some_and(|(_, d)| d.is_within(dentry)))
                })
                .map(|(_, m)| m.clone())
                .collect();
            found.sort_by_key(|m| m.id);
            frontier.extend(found.iter().cloned());
            out.extend(found);
        }
        out.sort_by_key(|m| m.id);
        out
    }

    /// Whether mounts are attached on `mount`.
    pub fn has_submounts(&self, mount: &Arc<Mount>) -> bool {
        self.children.read().keys().any(|(pid, _)| *pid == mount.id)
    }

    /// Whether `mount` is attached in this namespace.
    pub fn contains(&self, mount: &Arc<Mount>) -> bool {
        Arc::ptr_eq(&self.root_mount(), mount)
            || self.children.read().values().any(|m| Arc::ptr_eq(m, mount))
    }

    /// Detaches `mount` and every mount below it from the namespace. Paths already
    /// inside them keep working.
    pub fn detach(&self, mount: &Arc<Mount>) {
        let below = self.submounts_within(mount, mount.root());
        let mut children = self.children.write();
        children.retain(|_, m| !Arc::ptr_eq(m, mount) && !below.iter().any(|b| Arc::ptr_eq(b, m)));
        drop(children);
        *mount.mountpoint.lock() = None;
    }

    /// Moves `mount` (and what is mounted below it) to `at` (MS_MOVE).
    pub fn move_mount(&self, mount: &Arc<Mount>, at: &Path) {
        self.children.write().retain(|_, m| !Arc::ptr_eq(m, mount));
        self.attach(at, mount);
    }

    /// pivot_root: `new_root` (the root of a mount in this namespace) becomes the
    /// namespace's root, and the old root mount is attached at `put_old`.
    pub fn pivot(&self, new_root: &Arc<Mount>, put_old: &Path) {
        let mut root = self.root.lock();
        let old_root = root.clone();
        let mut children = self.children.write();
        children.retain(|_, m| !Arc::ptr_eq(m, new_root));
        *new_root.mountpoint.lock() = None;
        *old_root.mountpoint.lock() = Some((put_old.mount.clone(), put_old.dentry.clone()));
        children.insert(key_of(put_old), old_root);
        *root = new_root.clone();
    }

    /// A copy of the namespace (unshare/clone with CLONE_NEWNS): new mounts of the
    /// same filesystems at the same places. Returns the copy and a function from
    /// paths of this namespace to the same places in the copy.
    pub fn copy(&self) -> (Arc<MountNamespace>, MountCopies) {
        let old_root = self.root_mount();
        let children = self.children.read();
        let new_root = Mount::new(
            old_root.root.clone(),
            old_root.fs_type,
            old_root.source.clone(),
            old_root.flags(),
        );
        let mut copies: HashMap<u64, Arc<Mount>> = HashMap::from([(old_root.id, new_root.clone())]);
        let mut pending: Vec<Arc<Mount>> = children.values().cloned().collect();
        pending.sort_by_key(|m| m.id);
        let mut new_children = HashMap::new();
        // Parents before children: repeat until every mount found its copied parent.
        while !pending.is_empty() {
            let before = pending.len();
            pending.retain(|m| {
                let Some((parent, dentry)) = m.mountpoint() else {
                    return false;
                };
                let Some(pc) = copies.get(&parent.id).cloned() else {
                    return true;
                };
                let c = Mount::new(m.root.clone(), m.fs_type, m.source.clone(), m.flags());
                *c.mountpoint.lock() = Some((pc.clone(), dentry.clone()));
                new_children.insert((pc.id, Arc::as_ptr(&dentry) as usize), c.clone());
                copies.insert(m.id, c);
                false
            });
            if pending.len() == before {
                break;
            }
        }
        let ns = Arc::new(MountNamespace {
            root: Mutex::new(new_root),
            children: RwLock::new(new_children),
        });
        (ns, MountCopies(copies))
    }

    /// If a filesystem is mounted at `path`, the root of the topmost one.
    pub fn mounted_at(&self, path: &Path) -> Option<Path> {
        let children = self.children.read();
        let mut cur: Option<Path> = None;
        let mut probe = path.clone();
        while let Some(m) = children.get(&key_of(&probe)) {
            probe = Path {
                mount: m.clone(),
                dentry: m.root.clone(),
            };
            cur = Some(probe.clone());
        }
        cur
    }

    /// All mounts, the root first, then in the order they were made (for
    /// /proc/mounts).
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        let mut out = vec![self.root_mount()];
        let mut rest: Vec<Arc<Mount>> = self.children.read().values().cloned().collect();
        rest.sort_by_key(|m| m.id);
        out.extend(rest);
        out
    }
}

/// The mounts of a namespace and their copies in a copied one.
pub struct MountCopies(HashMap<u64, Arc<Mount>>);

impl MountCopies {
    /// The place in the copy that `p` names in the original (`p` itself if its mount
    /// was not copied).
    pub fn translate(&self, p: &Path) -> Path {
        match self.0.get(&p.mount.id) {
            Some(m) => Path {
                mount: m.clone(),
                dentry: p.dentry.clone(),
            },
            None => p.clone(),
        }
    }
}
