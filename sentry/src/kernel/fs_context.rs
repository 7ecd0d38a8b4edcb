//! A task's filesystem context: root, working directory and umask.

use parking_lot::Mutex;

use crate::vfs::Path;

/// Root, cwd and umask (shared between threads with CLONE_FS).
pub struct FsContext {
    inner: Mutex<FsInner>,
}

struct FsInner {
    root: Path,
    cwd: Path,
    umask: u32,
}

impl FsContext {
    /// A context with both root and cwd given.
    pub fn new(root: Path, cwd: Path, umask: u32) -> FsContext {
        FsContext {
            inner: Mutex::new(FsInner { root, cwd, umask }),
        }
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
        FsContext::new(i.root.clone(), i.cwd.clone(), i.umask)
    }
}
