//! A task's filesystem context: mount namespace, root, working directory and umask.
//!
//! The mount namespace lives here rather than beside the other namespaces because
//! Linux never lets two namespaces share one `fs_struct` (CLONE_NEWNS excludes
//! CLONE_FS, and unsharing the namespace unshares the fs context too).

use std::sync::Arc;

use parking_lot::Mutex;

use crate::vfs::{MountNamespace, Path};

/// Mount namespace, root, cwd and umask (shared between threads with CLONE_FS).
pub struct FsContext {
    inner: Mutex<FsInner>,
}

struct FsInner {
    mounts: Arc<MountNamespace>,
    root: Path,
    cwd: Path,
    umask: u32,
}

impl FsContext {
    /// A context in namespace `mounts` with both root and cwd given.
    pub fn new(mounts: Arc<MountNamespace>, root: Path, cwd: Path, umask: u32) -> FsContext {
        FsContext {
            inner: Mutex::new(FsInner {
                mounts,
                root,
                cwd,
                umask,
            }),
        }
    }

    /// The mount namespace.
    pub fn mounts(&self) -> Arc<MountNamespace> {
        self.inner.lock().mounts.clone()
    }

    /// The mount namespace and the root directory, read together.
    pub fn mounts_and_root(&self) -> (Arc<MountNamespace>, Path) {
        let i = self.inner.lock();
        (i.mounts.clone(), i.root.clone())
    }

    /// The root directory.
    pub fn root(&self) -> Path {
        self.inner.lock().root.clone()
    }

    /// The working directory.
    pub fn cwd(&self) -> Path {
        self.inner.lock().cwd.clone()
    }

    /// Changes the working directory.
    pub fn set_cwd(&self, cwd: Path) {
        self.inner.lock().cwd = cwd;
    }

    /// Changes the root directory.
    pub fn set_root(&self, root: Path) {
        self.inner.lock().root = root;
    }

    /// Moves a root or cwd that is `old` to `new` (pivot_root does this for every
    /// task of the namespace).
    pub fn replace_place(&self, mounts: &Arc<MountNamespace>, old: &Path, new: &Path) {
        let mut i = self.inner.lock();
        if !Arc::ptr_eq(&i.mounts, mounts) {
            return;
        }
        if i.root.same(old) {
            i.root = new.clone();
        }
        if i.cwd.same(old) {
            i.cwd = new.clone();
        }
    }

    /// The umask.
    pub fn umask(&self) -> u32 {
        self.inner.lock().umask
    }

    /// Sets the umask, returning the old one.
    pub fn swap_umask(&self, mask: u32) -> u32 {
        std::mem::replace(&mut self.inner.lock().umask, mask & 0o777)
    }

    /// A copy (fork without CLONE_FS).
    pub fn fork(&self) -> FsContext {
        let i = self.inner.lock();
        FsContext::new(i.mounts.clone(), i.root.clone(), i.cwd.clone(), i.umask)
    }

    /// A copy in a copy of the mount namespace (CLONE_NEWNS): root and cwd name the
    /// same places in the new namespace's mounts.
    pub fn fork_namespace(&self) -> FsContext {
        let i = self.inner.lock();
        let (mounts, copies) = i.mounts.copy();
        FsContext::new(
            mounts,
            copies.translate(&i.root),
            copies.translate(&i.cwd),
            i.umask,
        )
    }
}
