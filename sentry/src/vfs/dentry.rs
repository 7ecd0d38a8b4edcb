//! Dentries (names of inodes), mounts and mount namespaces.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::inode::{FileType, Inode};
use crate::errno::Result;

/// A name of an inode in the dentry tree.
///
/// Dentries hold their parent and cache their children (positive lookups), so a path
/// once walked is not asked of the filesystem again.
pub struct Dentry {
    name: Vec<u8>,
    parent: Option<Arc<Dentry>>,
    inode: Arc<dyn Inode>,
    file_type: FileType,
    children: Mutex<HashMap<Vec<u8>, Arc<Dentry>>>,
}

impl Dentry {
    /// A root dentry (no parent).
    pub fn new_root(inode: Arc<dyn Inode>) -> Arc<Dentry> {
        let file_type = inode.file_type();
        Arc::new(Dentry {
            name: b"/".to_vec(),
            parent: None,
            inode,
            file_type,
            children: Mutex::default(),
        })
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
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The parent dentry (None for a filesystem root).
    pub fn parent(&self) -> Option<&Arc<Dentry>> {
        self.parent.as_ref()
    }

    /// The child `name`, from the cache or looked up in the filesystem.
    pub fn child(self: &Arc<Dentry>, name: &[u8]) -> Result<Arc<Dentry>> {
        if let Some(d) = self.children.lock().get(name) {
            return Ok(d.clone());
        }
        let inode = self.inode.lookup(name)?;
        let file_type = inode.file_type();
        let d = Arc::new(Dentry {
            name: name.to_vec(),
            parent: Some(self.clone()),
            inode,
            file_type,
            children: Mutex::default(),
        });
        Ok(self
            .children
            .lock()
            .entry(name.to_vec())
            .or_insert(d)
            .clone())
    }

    /// Forgets a cached child (after the filesystem removed or replaced it).
    pub fn forget_child(&self, name: &[u8]) {
        self.children.lock().remove(name);
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
