//! devpts: the filesystem of pty replicas (/dev/pts/N) and its ptmx, and the
//! terminal device nodes of devfs (/dev/ptmx, /dev/tty).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use super::pty::{MasterFile, Pty};
use crate::abi::Timespec;
use crate::errno;
use crate::errno::Result;
use crate::fs::synthetic::SyntheticAttr;
use crate::vfs::{anon_dev, makedev, DirEntry, DirFile, FileOps, FileType, Inode, Path, Stat};

/// The most ptys one devpts holds at once (Linux's default /proc/sys/kernel/pty/max).
const MAX_PTYS: u32 = 4096;

/// A devpts instance.
pub struct DevPts {
    dev: u64,
    root_ino: u64,
    created: Timespec,
    /// Live replicas by index (until their master closes).
    entries: Mutex<BTreeMap<u32, Weak<Pty>>>,
    /// Indices in use (until the pair is gone).
    used: Mutex<BTreeSet<u32>>,
    /// /dev/pts/ptmx.
    ptmx: OnceLock<Arc<PtmxNode>>,
    /// Where it is mounted (for the path of a TIOCGPTPEER file).
    mounted: OnceLock<Path>,
}

impl DevPts {
    /// A new, empty devpts.
    pub fn new() -> Arc<DevPts> {
        let fs = Arc::new(DevPts {
            dev: anon_dev(),
            root_ino: 1,
            created: crate::kernel::time::realtime(),
            entries: Mutex::default(),
            used: Mutex::default(),
            ptmx: OnceLock::new(),
            mounted: OnceLock::new(),
        });
        // Linux mounts it with ptmxmode=000: /dev/pts/ptmx is there but closed to all.
        let mut attr = SyntheticAttr::new(fs.dev, libc::S_IFCHR);
        attr.ino = 2;
        attr.rdev = makedev(5, 2);
        let _ = fs.ptmx.set(Arc::new(PtmxNode {
            attr,
            devpts: fs.clone(),
        }));
        fs
    }

    /// The root directory inode.
    pub fn root(self: &Arc<Self>) -> Arc<dyn Inode> {
        Arc::new(DevPtsDir { fs: self.clone() })
    }

    /// Records where it was mounted.
    pub fn set_mounted(&self, root: Path) {
        let _ = self.mounted.set(root);
    }

    /// Its device number.
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// What fstat of a master shows (/dev/pts/ptmx's attributes, as Linux).
    pub fn ptmx_stat(&self) -> Stat {
        self.ptmx.get().expect("set at creation").attr.stat(0, 1)
    }

    /// Opens a new pty pair; returns its master.
    pub fn open_master(self: &Arc<Self>) -> Result<Arc<dyn FileOps>> {
        let index = {
            let mut used = self.used.lock();
            let i = (0..MAX_PTYS)
                .find(|i| !used.contains(i))
                .ok_or_else(|| errno!(ENOSPC))?;
            used.insert(i);
            i
        };
        let uid = crate::kernel::current_task()
            .and_then(|c| c.shared.view())
            .map_or(0, |v| v.creds.euid);
        let pty = Pty::new(self.clone(), index, uid);
        self.entries.lock().insert(index, Arc::downgrade(&pty));
        Ok(Arc::new(MasterFile::new(pty)))
    }

    /// The master of pair `index` closed: /dev/pts/N goes away.
    pub fn remove(&self, index: u32) {
        self.entries.lock().remove(&index);
        if let Some(root) = self.mounted.get() {
            root.dentry.forget_child(index.to_string().as_bytes());
        }
    }

    /// The pair `index` is gone: its number may be reused.
    pub fn release_index(&self, index: u32) {
        self.used.lock().remove(&index);
    }

    /// The path of /dev/pts/N in the mounted devpts.
    pub fn replica_path(&self, index: u32) -> Option<Path> {
        let root = self.mounted.get()?;
        let dentry = root.dentry.child(index.to_string().as_bytes()).ok()?;
        Some(Path {
            mount: root.mount.clone(),
            dentry,
        })
    }

    fn entry(&self, index: u32) -> Option<Arc<Pty>> {
        self.entries.lock().get(&index).and_then(Weak::upgrade)
    }
}

struct DevPtsDir {
    fs: Arc<DevPts>,
}

impl Inode for DevPtsDir {
    fn fs_id(&self) -> usize {
        self.fs.dev as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        let mut attr = SyntheticAttr::new(self.fs.dev, libc::S_IFDIR | 0o755);
        attr.ino = self.fs.root_ino;
        attr.time = self.fs.created;
        Ok(attr.stat(0, 2))
    }

    fn file_type(&self) -> FileType {
        FileType::Directory
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        if name == b"ptmx" {
            return Ok(self.fs.ptmx.get().expect("set").clone());
        }
        let index: u32 = std::str::from_utf8(name)
            .ok()
            .filter(|s| !s.starts_with('0') || s.len() == 1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| errno!(ENOENT))?;
        let pty = self.fs.entry(index).ok_or_else(|| errno!(ENOENT))?;
        Ok(Arc::new(ReplicaNode {
            fs: self.fs.clone(),
            pty: Arc::downgrade(&pty),
        }))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        let mut v = DirEntry::dots(self.fs.root_ino, self.fs.root_ino);
        v.push(DirEntry {
            ino: 2,
            d_type: libc::DT_CHR,
            name: b"ptmx".to_vec(),
        });
        let live: Vec<u32> = self.fs.entries.lock().keys().copied().collect();
        v.extend(live.into_iter().map(|i| DirEntry {
            ino: u64::from(i) + 3,
            d_type: libc::DT_CHR,
            name: i.to_string().into_bytes(),
        }));
        Ok(v)
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        if crate::vfs::wants_write(flags) {
            return Err(errno!(EISDIR));
        }
        Ok(DirFile::new(self))
    }

    fn statfs(&self) -> Result<crate::abi::Statfs> {
        let mut s = crate::abi::Statfs::in_memory();
        s.f_type = 0x1cd1; // DEVPTS_SUPER_MAGIC
        Ok(s)
    }
}

/// /dev/pts/N.
struct ReplicaNode {
    fs: Arc<DevPts>,
    pty: Weak<Pty>,
}

impl ReplicaNode {
    fn pty(&self) -> Result<Arc<Pty>> {
        let p = self.pty.upgrade().ok_or_else(|| errno!(ENOENT))?;
        // Gone from the directory once its master closed.
        self.fs.entry(p.index()).ok_or_else(|| errno!(EIO))?;
        Ok(p)
    }
}

impl Inode for ReplicaNode {
    fn fs_id(&self) -> usize {
        self.fs.dev as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self
            .pty
            .upgrade()
            .ok_or_else(|| errno!(ENOENT))?
            .replica_stat())
    }

    fn valid(&self) -> bool {
        self.pty
            .upgrade()
            .is_some_and(|p| self.fs.entry(p.index()).is_some())
    }

    fn file_type(&self) -> FileType {
        FileType::CharDevice
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        self.pty()?.open_replica(flags)
    }
}

/// A ptmx node: /dev/ptmx in devfs, /dev/pts/ptmx in devpts. Each open makes a pair.
pub struct PtmxNode {
    attr: SyntheticAttr,
    devpts: Arc<DevPts>,
}

impl PtmxNode {
    /// /dev/ptmx on the devfs `dev`, opening pairs in `devpts`.
    pub fn new_in_devfs(dev: u64, devpts: Arc<DevPts>) -> Arc<PtmxNode> {
        let mut attr = SyntheticAttr::new(dev, libc::S_IFCHR | 0o666);
        attr.rdev = makedev(5, 2);
        Arc::new(PtmxNode { attr, devpts })
    }
}

impl Inode for PtmxNode {
    fn fs_id(&self) -> usize {
        self.attr.dev as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.attr.stat(0, 1))
    }

    fn file_type(&self) -> FileType {
        FileType::CharDevice
    }

    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>> {
        self.devpts.open_master()
    }
}

/// /dev/console (5:1): the sandbox's console, the host terminal its init was given
/// (`moat do --tty`, an OCI container's terminal); ENXIO without one. The init's stdio
/// on that terminal are opened at this node, so they look like it (fstat, ttyname,
/// /proc/[pid]/fd) instead of like the host's terminal.
pub struct ConsoleNode {
    attr: SyntheticAttr,
}

impl ConsoleNode {
    /// The node on the devfs `dev`.
    pub fn new(dev: u64) -> Arc<ConsoleNode> {
        let mut attr = SyntheticAttr::new(dev, libc::S_IFCHR | 0o600);
        attr.rdev = makedev(5, 1);
        Arc::new(ConsoleNode { attr })
    }
}

impl Inode for ConsoleNode {
    fn fs_id(&self) -> usize {
        self.attr.dev as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.attr.stat(0, 1))
    }

    fn file_type(&self) -> FileType {
        FileType::CharDevice
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        let tty = crate::kernel::current_task()
            .and_then(|c| c.kernel.console.get().cloned())
            .ok_or_else(|| errno!(ENXIO))?;
        tty.reopen(flags | libc::O_NOCTTY as u32)
    }
}

/// /dev/tty (5:0): the caller's controlling terminal (ENXIO without one).
pub struct DevTtyNode {
    attr: SyntheticAttr,
}

impl DevTtyNode {
    /// The node on the devfs `dev`.
    pub fn new(dev: u64) -> Arc<DevTtyNode> {
        let mut attr = SyntheticAttr::new(dev, libc::S_IFCHR | 0o666);
        attr.rdev = makedev(5, 0);
        Arc::new(DevTtyNode { attr })
    }
}

impl Inode for DevTtyNode {
    fn fs_id(&self) -> usize {
        self.attr.dev as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.attr.stat(0, 1))
    }

    fn file_type(&self) -> FileType {
        FileType::CharDevice
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        let tty = crate::kernel::current_task()
            .and_then(|c| c.tg.tty.lock().clone())
            .ok_or_else(|| errno!(ENXIO))?;
        tty.reopen(flags | libc::O_NOCTTY as u32)
    }
}
