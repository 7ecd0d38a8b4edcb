//! Dentries (names of inodes), mounts and mount namespaces.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::inode::{FileType, Inode};
use crate::errno::Result;

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

/// A mounted filesystem.
pub struct Mount {
    id: u64,
    root: Arc<Dentry>,
    /// Where this mount is attached: the parent mount and the dentry in it.
    mountpoint: Option<(Arc<Mount>, Arc<Dentry>)>,
    /// Filesystem type name, as /proc/mounts shows it.
    pub fs_type: &'static str,
    /// Source, as /proc/mounts shows it.
    pub source: String,
    /// Flags.
    pub flags: MountFlags,
}

impl Mount {
    /// The mount's id (for statx and /proc/self/mountinfo).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The root dentry of the mounted filesystem.
    pub fn root(&self) -> &Arc<Dentry> {
        &self.root
    }

    /// The parent mount and mountpoint.
    pub fn mountpoint(&self) -> Option<&(Arc<Mount>, Arc<Dentry>)> {
        self.mountpoint.as_ref()
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
}

/// A mount namespace: the mount tree processes resolve paths in.
pub struct MountNamespace {
    root: Arc<Mount>,
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
        let root = Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            root: Dentry::new_root(root_inode),
            mountpoint: None,
            fs_type,
            source,
            flags,
        });
        Arc::new(MountNamespace {
            root,
            children: RwLock::default(),
        })
    }

    /// The root of the namespace.
    pub fn root(&self) -> Path {
        Path {
            mount: self.root.clone(),
            dentry: self.root.root.clone(),
        }
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
        let m = Arc::new(Mount {
            id: NEXT_MOUNT_ID.fetch_add(1, Ordering::Relaxed),
            root: Dentry::new_root(inode),
            mountpoint: Some((at.mount.clone(), at.dentry.clone())),
            fs_type,
            source,
            flags,
        });
        let key = (at.mount.id, Arc::as_ptr(&at.dentry) as usize);
        self.children.write().insert(key, m.clone());
        m
    }

    /// If a filesystem is mounted at `path`, the root of the topmost one.
    pub fn mounted_at(&self, path: &Path) -> Option<Path> {
        let children = self.children.read();
        let mut cur: Option<Path> = None;
        let mut probe = path.clone();
        while let Some(m) = children.get(&(probe.mount.id, Arc::as_ptr(&probe.dentry) as usize)) {
            probe = Path {
                mount: m.clone(),
                dentry: m.root.clone(),
            };
            cur = Some(probe.clone());
        }
        cur
    }

    /// All mounts, parents before children (for /proc/mounts).
    pub fn mounts(&self) -> Vec<Arc<Mount>> {
        let mut out = vec![self.root.clone()];
        let mut rest: Vec<Arc<Mount>> = self.children.read().values().cloned().collect();
        rest.sort_by_key(|m| m.id);
        out.extend(rest);
        out
    }
}
