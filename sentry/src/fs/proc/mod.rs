//! procfs: the sandbox's processes and kernel as files.
//!
//! Everything here is generated from the sentry's own state — its process tree, the
//! views tasks publish of themselves ([`TaskView`]), its mounts, limits and memory —
//! never from the host's /proc (/proc/cpuinfo describes the CPU from `cpuid`, which
//! the guest can execute itself anyway). Files are generated when
//! opened, so one open sees one consistent snapshot, as seq_file readers do.
//!
//! Per-process directories come and go with the processes: their inodes report
//! themselves invalid once the process is reaped, so a cached name is looked up again
//! (and fails). `/proc/self`, `/proc/thread-self` name the reading task; `fd/N`, `exe`,
//! `cwd` and `root` are "magic" links that path resolution follows to the file itself,
//! even when it has no name (pipes, deleted files).

mod process;
mod smaps;
mod system;
mod write;

use std::any::Any;
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use crate::abi;
use crate::errno;
use crate::errno::Result;
use crate::kernel::{current_ids, Kernel, TaskView, ThreadGroup};
use crate::platform::PAGE_SIZE;
use crate::vfs::{
    anon_dev, Dentry, DirEntry, DirFile, File, FileOps, FileType, Inode, Mount, NewOwner, NodeKind,
    Path, Resolver, Stat,
};
use process::pid_file;
use system::{cpuinfo, sys_file, sys_tree};

/// statfs f_type of procfs.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// USER_HZ.
const TICKS_PER_SEC: i128 = 100;

/// One procfs instance.
pub struct ProcFs {
    kernel: Weak<Kernel>,
    dev: u64,
    /// The mount it is attached at (for links to files that have no path).
    mount: OnceLock<Weak<Mount>>,
    /// /proc/cpuinfo, built from `cpuid` at boot.
    cpuinfo: Vec<u8>,
    /// Memory the sandbox reports as its total (the host's, read at boot).
    mem_total: u64,
    /// /proc/sys/kernel/random/boot_id.
    boot_id: String,
    /// CPUs the sandbox may run on.
    cpus: usize,
    /// The device of the namespace files /proc/[pid]/ns/* lead to (nsfs).
    ns_dev: u64,
}

impl ProcFs {
    /// A procfs for `kernel`; returns its root. Call [`ProcFs::attach`] once mounted.
    pub fn new_root(kernel: &Arc<Kernel>) -> Arc<ProcRoot> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpuinfo = cpuinfo(cpus);
        let mem_total = nix::sys::sysinfo::sysinfo()
            .map(|s| s.ram_total())
            .unwrap_or(1 << 30);
        let fs = Arc::new(ProcFs {
            kernel: Arc::downgrade(kernel),
            dev: anon_dev(),
            mount: OnceLock::new(),
            cpuinfo,
            mem_total,
            boot_id: uuid(),
            cpus,
            ns_dev: anon_dev(),
        });
        Arc::new(ProcRoot { fs })
    }

    fn kernel(&self) -> Result<Arc<Kernel>> {
        self.kernel.upgrade().ok_or_else(|| errno!(ESRCH))
    }

    fn attr(&self, key: &str, mode: u32, owner: (u32, u32)) -> Attr {
        Attr {
            dev: self.dev,
            ino: ino_of(key),
            mode,
            uid: owner.0,
            gid: owner.1,
        }
    }

    /// The process `tgid` (zombies included).
    fn process(&self, tgid: i32) -> Result<(Arc<ThreadGroup>, bool)> {
        self.kernel()?
            .tree
            .lock()
            .lookup_process(tgid)
            .ok_or_else(|| errno!(ENOENT))
    }

    /// What thread `tid` of `tgid` (its leader when `tid` is `tgid`) last published.
    fn view(&self, tgid: i32, tid: i32) -> Result<TaskView> {
        let (tg, _) = self.process(tgid)?;
        let tasks = tg.tasks.lock();
        let t = tasks
            .iter()
            .find(|t| t.tid == tid)
            .or_else(|| tasks.first())
            .ok_or_else(|| errno!(ESRCH))?;
        t.view().ok_or_else(|| errno!(ESRCH))
    }

    /// The reading task's view (for paths relative to its root).
    fn reader(&self) -> Option<TaskView> {
        let (tgid, tid) = current_ids();
        self.view(tgid, tid).ok()
    }

    /// `path` as the reading task sees it.
    fn path_name(&self, path: &Path) -> Vec<u8> {
        let Ok(kernel) = self.kernel() else {
            return Vec::new();
        };
        let (mounts, root) = match self.reader() {
            Some(v) => v.fs.mounts_and_root(),
            None => (kernel.mounts.clone(), kernel.mounts.root()),
        };
        let (mut name, _) = Resolver {
            mounts: &mounts,
            root: &root,
            creds: None,
        }
        .absolute(path);
        if path.dentry.is_deleted() {
            name.extend_from_slice(b" (deleted)");
        }
        name
    }

    /// Whether process `tgid` (and thread `tid`, if non-zero) still exist.
    fn alive(&self, tgid: i32, tid: i32) -> bool {
        let Ok(kernel) = self.kernel() else {
            return false;
        };
        let tree = kernel.tree.lock();
        tree.lookup_process(tgid).is_some()
            && (tid == 0 || tid == tgid || tree.thread(tid).is_some_and(|(_, tg)| tg.tgid == tgid))
    }

    /// The name of thread `tid` of `tg` (its leader's, kept after it exited, for
    /// `tgid`).
    fn comm(&self, tg: &ThreadGroup, tid: i32) -> Vec<u8> {
        if let Some(t) = tg.tasks.lock().iter().find(|t| t.tid == tid) {
            return t.comm();
        }
        match &*tg.exited_leader.lock() {
            Some((comm, _)) if tid == tg.tgid => comm.clone(),
            _ => Vec::new(),
        }
    }

    fn owner_of(&self, tgid: i32) -> (u32, u32) {
        self.view(tgid, tgid)
            .map_or((0, 0), |v| (v.creds.euid, v.creds.egid))
    }
}

/// Attach the mount procfs was mounted at.
pub fn attach(root: &Arc<ProcRoot>, mount: &Arc<Mount>) {
    let _ = root.fs.mount.set(Arc::downgrade(mount));
}

/// A stable inode number for a procfs path key.
fn ino_of(key: &str) -> u64 {
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    });
    (h >> 2) | 1
}

/// A random version-4 UUID.
fn uuid() -> String {
    let mut b = [0u8; 16];
    crate::kernel::random::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

#[derive(Clone, Copy)]
struct Attr {
    dev: u64,
    ino: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

impl Attr {
    fn stat(&self, nlink: u32) -> Stat {
        let t = crate::kernel::time::realtime();
        Stat {
            dev: self.dev,
            ino: self.ino,
            mode: self.mode,
            nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            size: 0,
            blksize: 1024,
            blocks: 0,
            atime: t,
            mtime: t,
            ctime: t,
            btime: None,
        }
    }
}

fn statfs() -> abi::Statfs {
    abi::Statfs {
        f_type: PROC_SUPER_MAGIC,
        f_bsize: PAGE_SIZE as i64,
        f_namelen: 255,
        f_frsize: PAGE_SIZE as i64,
        ..abi::Statfs::in_memory()
    }
}

// ---------------------------------------------------------------------------------
// The root directory.

/// /proc itself.
pub struct ProcRoot {
    fs: Arc<ProcFs>,
}

/// Names in /proc besides the process directories.
const ROOT_FILES: &[&str] = &[
    "cpuinfo",
    "filesystems",
    "loadavg",
    "locks",
    "meminfo",
    "mounts",
    "self",
    "stat",
    "sys",
    "sysvipc",
    "thread-self",
    "uptime",
    "version",
];

impl ProcRoot {
    fn attr(&self) -> Attr {
        self.fs.attr("/", libc::S_IFDIR | 0o555, (0, 0))
    }

    fn child(&self, name: &str) -> Option<Arc<dyn Inode>> {
        let fs = &self.fs;
        let file = |kind: SysFile| -> Arc<dyn Inode> {
            Arc::new(ProcFile {
                fs: fs.clone(),
                attr: fs.attr(name, libc::S_IFREG | 0o444, (0, 0)),
                tgid: 0,
                tid: 0,
                kind: FileKind::Sys(kind),
            })
        };
        let link = |kind: LinkKind| -> Arc<dyn Inode> {
            Arc::new(ProcLink {
                fs: fs.clone(),
                attr: fs.attr(name, libc::S_IFLNK | 0o777, (0, 0)),
                tgid: 0,
                kind,
            })
        };
        Some(match name {
            "cpuinfo" => file(SysFile::CpuInfo),
            "filesystems" => file(SysFile::Filesystems),
            "loadavg" => file(SysFile::LoadAvg),
            "locks" => file(SysFile::Locks),
            "meminfo" => file(SysFile::MemInfo),
            "stat" => file(SysFile::Stat),
            "uptime" => file(SysFile::Uptime),
            "version" => file(SysFile::Version),
            "mounts" => link(LinkKind::Text(b"self/mounts".to_vec())),
            "self" => link(LinkKind::SelfLink),
            "thread-self" => link(LinkKind::ThreadSelf),
            "sys" => sys_tree(fs),
            "sysvipc" => system::sysvipc_dir(fs),
            _ => {
                let id: i32 = name.parse().ok().filter(|&p| p > 0)?;
                if name.starts_with('0') {
                    return None;
                }
                if self.fs.process(id).is_ok() {
                    return Some(Arc::new(ProcDir::new(
                        fs,
                        DirKind::Pid { tgid: id, tid: id },
                    )));
                }
                // A thread other than a leader: reachable by its tid (as its
                // task/ directory), though readdir does not list it.
                let tgid = self.fs.kernel().ok()?.tree.lock().thread(id)?.1.tgid;
                Arc::new(ProcDir::new(fs, DirKind::Pid { tgid, tid: id }))
            }
        })
    }
}

impl Inode for ProcRoot {
    fn stat(&self) -> Result<Stat> {
        Ok(self.attr().stat(3))
    }

    fn file_type(&self) -> FileType {
        FileType::Directory
    }

    fn fs_id(&self) -> usize {
        Arc::as_ptr(&self.fs) as usize
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        std::str::from_utf8(name)
            .ok()
            .and_then(|n| self.child(n))
            .ok_or_else(|| errno!(ENOENT))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        let ino = self.attr().ino;
        let mut out = DirEntry::dots(ino, ino);
        for name in ROOT_FILES {
            if let Some(i) = self.child(name) {
                out.push(DirEntry {
                    ino: ino_of(name),
                    d_type: i.file_type().dirent_type(),
                    name: name.as_bytes().to_vec(),
                });
            }
        }
        for pid in self.fs.kernel()?.tree.lock().all_pids() {
            out.push(DirEntry {
                ino: ino_of(&format!("/{pid}")),
                d_type: libc::DT_DIR,
                name: pid.to_string().into_bytes(),
            });
        }
        Ok(out)
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        if crate::vfs::wants_write(flags) {
            return Err(errno!(EISDIR));
        }
        Ok(DirFile::new(self))
    }

    fn create(&self, _name: &[u8], _kind: NodeKind, _owner: NewOwner) -> Result<Arc<dyn Inode>> {
        // Nothing can be made here: the name does not exist and cannot.
        Err(errno!(ENOENT))
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        Ok(statfs())
    }
}

// ---------------------------------------------------------------------------------
// Directories.

#[derive(Clone, Copy, PartialEq, Eq)]
enum DirKind {
    /// /proc/[pid] (tid == tgid) or /proc/[pid]/task/[tid].
    Pid { tgid: i32, tid: i32 },
    /// /proc/[pid]/task.
    Tasks { tgid: i32 },
    /// /proc/[pid]/fd.
    Fds { tgid: i32 },
    /// /proc/[pid]/fdinfo.
    FdInfos { tgid: i32 },
    /// /proc/[pid]/ns.
    Ns { tgid: i32 },
}

/// A directory entry: name and inode.
type Named = (Vec<u8>, Arc<dyn Inode>);

struct ProcDir {
    fs: Arc<ProcFs>,
    attr: Attr,
    kind: DirKind,
}

/// Files of a process (and thread) directory.
const PID_FILES: &[(&str, PidFile)] = &[
    ("cgroup", PidFile::Cgroup),
    ("cmdline", PidFile::Cmdline),
    ("comm", PidFile::Comm),
    ("environ", PidFile::Environ),
    ("limits", PidFile::Limits),
    ("maps", PidFile::Maps),
    ("mountinfo", PidFile::MountInfo),
    ("mounts", PidFile::Mounts),
    ("oom_adj", PidFile::OomAdj),
    ("oom_score", PidFile::OomScore),
    ("oom_score_adj", PidFile::OomScoreAdj),
    ("smaps", PidFile::Smaps),
    ("smaps_rollup", PidFile::SmapsRollup),
    ("stat", PidFile::Stat),
    ("statm", PidFile::Statm),
    ("status", PidFile::Status),
];

const NAMESPACES: &[(&str, u64)] = &[
    ("cgroup", 4026531835),
    ("ipc", 4026531839),
    ("mnt", 4026531841),
    ("net", 4026531840),
    ("pid", 4026531836),
    ("pid_for_children", 4026531836),
    ("time", 4026531834),
    ("time_for_children", 4026531834),
    ("user", 4026531837),
    ("uts", 4026531838),
];

impl ProcDir {
    fn new(fs: &Arc<ProcFs>, kind: DirKind) -> ProcDir {
        let (key, tgid, mode) = match kind {
            DirKind::Pid { tgid, tid } if tid == tgid => (format!("/{tgid}"), tgid, 0o555),
            DirKind::Pid { tgid, tid } => (format!("/{tgid}/task/{tid}"), tgid, 0o555),
            DirKind::Tasks { tgid } => (format!("/{tgid}/task"), tgid, 0o555),
            DirKind::Fds { tgid } => (format!("/{tgid}/fd"), tgid, 0o500),
            DirKind::FdInfos { tgid } => (format!("/{tgid}/fdinfo"), tgid, 0o500),
            DirKind::Ns { tgid } => (format!("/{tgid}/ns"), tgid, 0o511),
        };
        ProcDir {
            fs: fs.clone(),
            attr: fs.attr(&key, libc::S_IFDIR | mode, fs.owner_of(tgid)),
            kind,
        }
    }

    fn tgid(&self) -> i32 {
        match self.kind {
            DirKind::Pid { tgid, .. }
            | DirKind::Tasks { tgid }
            | DirKind::Fds { tgid }
            | DirKind::FdInfos { tgid }
            | DirKind::Ns { tgid } => tgid,
        }
    }

    /// Every child, by name.
    fn children(&self) -> Result<Vec<Named>> {
        let fs = &self.fs;
        let tgid = self.tgid();
        let owner = fs.owner_of(tgid);
        let mut out: Vec<Named> = Vec::new();
        match self.kind {
            DirKind::Pid { tid, .. } => {
                let base = if tid == tgid {
                    format!("/{tgid}")
                } else {
                    format!("/{tgid}/task/{tid}")
                };
                for &(name, kind) in PID_FILES {
                    let mode = match kind {
                        PidFile::Environ => 0o400,
                        PidFile::Comm | PidFile::OomAdj | PidFile::OomScoreAdj => 0o644,
                        _ => 0o444,
                    };
                    out.push((
                        name.as_bytes().to_vec(),
                        Arc::new(ProcFile {
                            fs: fs.clone(),
                            attr: fs.attr(&format!("{base}/{name}"), libc::S_IFREG | mode, owner),
                            tgid,
                            tid,
                            kind: FileKind::Pid(kind),
                        }),
                    ));
                }
                for (name, kind) in [
                    ("cwd", LinkKind::Cwd),
                    ("exe", LinkKind::Exe),
                    ("root", LinkKind::Root),
                ] {
                    out.push((
                        name.as_bytes().to_vec(),
                        Arc::new(ProcLink {
                            fs: fs.clone(),
                            attr: fs.attr(&format!("{base}/{name}"), libc::S_IFLNK | 0o777, owner),
                            tgid,
                            kind,
                        }),
                    ));
                }
                out.push((
                    b"fd".to_vec(),
                    Arc::new(ProcDir::new(fs, DirKind::Fds { tgid })),
                ));
                out.push((
                    b"fdinfo".to_vec(),
                    Arc::new(ProcDir::new(fs, DirKind::FdInfos { tgid })),
                ));
                out.push((
                    b"ns".to_vec(),
                    Arc::new(ProcDir::new(fs, DirKind::Ns { tgid })),
                ));
                if tid == tgid {
                    out.push((
                        b"task".to_vec(),
                        Arc::new(ProcDir::new(fs, DirKind::Tasks { tgid })),
                    ));
                }
            }
            DirKind::Tasks { tgid } => {
                let (tg, _) = fs.process(tgid)?;
                let mut tids: Vec<i32> = tg.tasks.lock().iter().map(|t| t.tid).collect();
                tids.sort_unstable();
                for tid in tids {
                    out.push((
                        tid.to_string().into_bytes(),
                        Arc::new(ProcDir::new(fs, DirKind::Pid { tgid, tid })),
                    ));
                }
            }
            DirKind::Fds { tgid } | DirKind::FdInfos { tgid } => {
                let Ok(view) = fs.view(tgid, tgid) else {
                    return Ok(out);
                };
                let info = matches!(self.kind, DirKind::FdInfos { .. });
                for (fd, _) in view.files.entries() {
                    let key = format!("/{tgid}/{}/{fd}", if info { "fdinfo" } else { "fd" });
                    let inode: Arc<dyn Inode> = if info {
                        Arc::new(ProcFile {
                            fs: fs.clone(),
                            attr: fs.attr(&key, libc::S_IFREG | 0o444, owner),
                            tgid,
                            tid: tgid,
                            kind: FileKind::FdInfo(fd),
                        })
                    } else {
                        Arc::new(ProcLink {
                            fs: fs.clone(),
                            attr: fs.attr(&key, libc::S_IFLNK | 0o700, owner),
                            tgid,
                            kind: LinkKind::Fd(fd),
                        })
                    };
                    out.push((fd.to_string().into_bytes(), inode));
                }
            }
            DirKind::Ns { tgid } => {
                for &(name, id) in NAMESPACES {
                    out.push((
                        name.as_bytes().to_vec(),
                        Arc::new(ProcLink {
                            fs: fs.clone(),
                            attr: fs.attr(
                                &format!("/{tgid}/ns/{name}"),
                                libc::S_IFLNK | 0o777,
                                owner,
                            ),
                            tgid,
                            kind: LinkKind::Ns(id),
                        }),
                    ));
                }
            }
        }
        Ok(out)
    }
}

impl Inode for ProcDir {
    fn stat(&self) -> Result<Stat> {
        let subdirs = match self.kind {
            DirKind::Pid { tgid, tid } if tid == tgid => 4,
            DirKind::Pid { .. } => 3,
            DirKind::Tasks { tgid } => self
                .fs
                .process(tgid)
                .map_or(0, |(tg, _)| tg.tasks.lock().len() as u32),
            _ => 0,
        };
        Ok(self.attr.stat(2 + subdirs))
    }

    fn file_type(&self) -> FileType {
        FileType::Directory
    }

    fn fs_id(&self) -> usize {
        Arc::as_ptr(&self.fs) as usize
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn valid(&self) -> bool {
        match self.kind {
            DirKind::Pid { tgid, tid } => self.fs.alive(tgid, tid),
            _ => self.fs.alive(self.tgid(), 0),
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        // Through a directory opened before its process was reaped.
        if !self.valid() {
            return Err(errno!(ESRCH));
        }
        self.children()?
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| i)
            .ok_or_else(|| errno!(ENOENT))
    }

    fn readdir(&self) -> Result<Vec<DirEntry>> {
        let mut out = DirEntry::dots(self.attr.ino, self.attr.ino);
        for (name, inode) in self.children()? {
            out.push(DirEntry {
                ino: inode.stat().map_or(0, |s| s.ino),
                d_type: inode.file_type().dirent_type(),
                name,
            });
        }
        Ok(out)
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        if crate::vfs::wants_write(flags) {
            return Err(errno!(EISDIR));
        }
        Ok(DirFile::new(self))
    }

    fn create(&self, _name: &[u8], _kind: NodeKind, _owner: NewOwner) -> Result<Arc<dyn Inode>> {
        // Nothing can be made here: the name does not exist and cannot.
        Err(errno!(ENOENT))
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        Ok(statfs())
    }
}

// ---------------------------------------------------------------------------------
// Symbolic links.

#[derive(Clone)]
enum LinkKind {
    SelfLink,
    ThreadSelf,
    Cwd,
    Exe,
    Root,
    Fd(i32),
    Text(Vec<u8>),
    /// /proc/[pid]/ns/NAME: the namespace's inode number.
    Ns(u64),
}

struct ProcLink {
    fs: Arc<ProcFs>,
    attr: Attr,
    tgid: i32,
    kind: LinkKind,
}

impl ProcLink {
    /// The mount procfs is attached at (where nameless targets hang).
    fn mount(&self) -> Result<Arc<Mount>> {
        self.fs
            .mount
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| errno!(ENOENT))
    }

    /// Where a magic link leads.
    fn place(&self) -> Result<Path> {
        let view = self
            .fs
            .view(self.tgid, self.tgid)
            .map_err(|_| errno!(ENOENT))?;
        match &self.kind {
            LinkKind::Cwd => Ok(view.fs.cwd()),
            LinkKind::Root => Ok(view.fs.root()),
            LinkKind::Exe => view.exe.ok_or_else(|| errno!(ENOENT)),
            LinkKind::Ns(id) => {
                let mount = self.mount()?;
                let inode: Arc<dyn Inode> = Arc::new(NsInode {
                    fs: self.fs.clone(),
                    ino: *id,
                });
                Ok(Path {
                    dentry: Dentry::new_unnamed(mount.root(), inode, false),
                    mount,
                })
            }
            LinkKind::Fd(fd) => {
                let file = view.files.get(*fd).map_err(|_| errno!(ENOENT))?;
                if let Some(p) = file.path() {
                    return Ok(p.clone());
                }
                // A file without a name (pipe, socket, eventfd...): a nameless
                // dentry on this procfs that opens the same file.
                let mount = self.mount()?;
                let inode: Arc<dyn Inode> = Arc::new(OpenFileInode { file });
                Ok(Path {
                    dentry: Dentry::new_unnamed(mount.root(), inode, false),
                    mount,
                })
            }
            _ => Err(errno!(EINVAL)),
        }
    }
}

impl Inode for ProcLink {
    fn stat(&self) -> Result<Stat> {
        // Linux reports 64 for fd links and 0 for the others, not the target's length.
        let mut st = self.attr.stat(1);
        if let LinkKind::Fd(fd) = self.kind {
            st.size = 64;
            // The mode follows how the fd was opened.
            if let Ok(file) = self
                .fs
                .view(self.tgid, self.tgid)
                .and_then(|v| v.files.get(fd))
            {
                let acc = file.flags() & libc::O_ACCMODE as u32;
                st.mode = libc::S_IFLNK
                    | match acc {
                        a if a == libc::O_RDONLY as u32 => 0o500,
                        a if a == libc::O_WRONLY as u32 => 0o300,
                        _ => 0o700,
                    };
            }
        }
        Ok(st)
    }

    fn file_type(&self) -> FileType {
        FileType::Symlink
    }

    fn fs_id(&self) -> usize {
        Arc::as_ptr(&self.fs) as usize
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn valid(&self) -> bool {
        match self.kind {
            LinkKind::SelfLink | LinkKind::ThreadSelf | LinkKind::Text(_) if self.tgid == 0 => true,
            LinkKind::Fd(fd) => self
                .fs
                .view(self.tgid, self.tgid)
                .is_ok_and(|v| v.files.get(fd).is_ok()),
            _ => self.fs.alive(self.tgid, 0),
        }
    }

    fn readlink(&self) -> Result<Vec<u8>> {
        match &self.kind {
            LinkKind::SelfLink => {
                let (tgid, _) = current_ids();
                Ok(tgid.to_string().into_bytes())
            }
            LinkKind::ThreadSelf => {
                let (tgid, tid) = current_ids();
                Ok(format!("{tgid}/task/{tid}").into_bytes())
            }
            LinkKind::Text(t) => Ok(t.clone()),
            LinkKind::Ns(id) => {
                let name = NAMESPACES
                    .iter()
                    .find(|(_, i)| i == id)
                    .map_or("", |(n, _)| n);
                Ok(format!("{name}:[{id}]").into_bytes())
            }
            LinkKind::Fd(fd) => {
                let view = self.fs.view(self.tgid, self.tgid)?;
                let file = view.files.get(*fd).map_err(|_| errno!(ENOENT))?;
                if let Some(p) = file.path() {
                    return Ok(self.fs.path_name(p));
                }
                let st = file.stat()?;
                Ok(match st.file_type() {
                    FileType::Fifo => format!("pipe:[{}]", st.ino),
                    FileType::Socket => format!("socket:[{}]", st.ino),
                    _ => format!("anon_inode:[{}]", file.ops().anon_name()),
                }
                .into_bytes())
            }
            _ => Ok(self.fs.path_name(&self.place()?)),
        }
    }

    fn magic_link(&self) -> Option<Result<Path>> {
        match self.kind {
            LinkKind::Cwd | LinkKind::Exe | LinkKind::Root | LinkKind::Fd(_) | LinkKind::Ns(_) => {
                Some(self.place())
            }
            _ => None,
        }
    }

    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>> {
        Err(errno!(ELOOP))
    }
}

/// statfs f_type of nsfs.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// A namespace, as /proc/[pid]/ns/NAME leads to it: a file whose inode number is
/// the namespace's. The sandbox has one namespace of each kind, so it can be opened
/// and looked at but setns(2) has nothing to switch to.
struct NsInode {
    fs: Arc<ProcFs>,
    ino: u64,
}

impl Inode for NsInode {
    fn stat(&self) -> Result<Stat> {
        let mut st = Attr {
            dev: self.fs.ns_dev,
            ino: self.ino,
            mode: libc::S_IFREG | 0o444,
            uid: 0,
            gid: 0,
        }
        .stat(1);
        st.blksize = PAGE_SIZE as u32;
        Ok(st)
    }

    fn file_type(&self) -> FileType {
        FileType::Regular
    }

    fn fs_id(&self) -> usize {
        self.fs.ns_dev as usize
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>> {
        Ok(Arc::new(NsFile { inode: self }))
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        Ok(abi::Statfs {
            f_type: NSFS_MAGIC,
            f_bsize: PAGE_SIZE as i64,
            f_frsize: PAGE_SIZE as i64,
            ..abi::Statfs::in_memory()
        })
    }
}

/// An open namespace file: no reads or writes (EINVAL), as nsfs's.
struct NsFile {
    inode: Arc<NsInode>,
}

impl FileOps for NsFile {
    fn supports_epoll(&self) -> bool {
        false
    }

    fn stat(&self) -> Result<Stat> {
        self.inode.stat()
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        self.inode.statfs()
    }
}

/// A file reached through /proc/[pid]/fd/N that has no name: opening it opens the
/// same file again.
struct OpenFileInode {
    file: Arc<File>,
}

impl Inode for OpenFileInode {
    fn stat(&self) -> Result<Stat> {
        self.file.stat()
    }

    fn file_type(&self) -> FileType {
        self.file
            .stat()
            .map_or(FileType::Regular, |s| s.file_type())
    }

    fn fs_id(&self) -> usize {
        Arc::as_ptr(&self.file) as usize
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>> {
        Ok(self.file.ops().clone())
    }
}

// ---------------------------------------------------------------------------------
// Generated files.

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum PidFile {
    Cgroup,
    Cmdline,
    Comm,
    Environ,
    Limits,
    Maps,
    MountInfo,
    Mounts,
    OomAdj,
    OomScore,
    OomScoreAdj,
    Smaps,
    SmapsRollup,
    Stat,
    Statm,
    Status,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum SysFile {
    CpuInfo,
    Filesystems,
    LoadAvg,
    Locks,
    MemInfo,
    Stat,
    Uptime,
    Version,
    /// A fixed value.
    Value(&'static str),
    Hostname,
    Domainname,
    Uuid,
    BootId,
    /// A System V IPC sysctl (kernel.shmmax...).
    Ipc(crate::kernel::ipc::sysctl::Sysctl),
    /// /proc/sysvipc/shm.
    SysvipcShm,
    /// /proc/sysvipc/sem.
    SysvipcSem,
    /// /proc/sysvipc/msg.
    SysvipcMsg,
}

impl SysFile {
    /// Whether it lives under /proc/sys.
    fn is_sysctl(self) -> bool {
        matches!(
            self,
            SysFile::Value(_)
                | SysFile::Hostname
                | SysFile::Domainname
                | SysFile::Uuid
                | SysFile::BootId
                | SysFile::Ipc(_)
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum FileKind {
    Pid(PidFile),
    Sys(SysFile),
    FdInfo(i32),
}

pub(super) struct ProcFile {
    fs: Arc<ProcFs>,
    attr: Attr,
    tgid: i32,
    tid: i32,
    kind: FileKind,
}

impl Inode for ProcFile {
    fn stat(&self) -> Result<Stat> {
        Ok(self.attr.stat(1))
    }

    fn file_type(&self) -> FileType {
        FileType::Regular
    }

    fn fs_id(&self) -> usize {
        Arc::as_ptr(&self.fs) as usize
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn valid(&self) -> bool {
        match self.kind {
            FileKind::Sys(_) => true,
            FileKind::FdInfo(fd) => self
                .fs
                .view(self.tgid, self.tgid)
                .is_ok_and(|v| v.files.get(fd).is_ok()),
            FileKind::Pid(_) => self.fs.alive(self.tgid, self.tid),
        }
    }

    fn open(self: Arc<Self>, flags: u32) -> Result<Arc<dyn FileOps>> {
        // The VFS has checked the mode (root may open any of these for writing; the
        // write then fails unless the file takes writes). Sysctls check again, as
        // Linux's do: a read-only one is read-only to root too.
        if crate::vfs::wants_write(flags) && self.attr.mode & 0o222 == 0 {
            if let FileKind::Sys(s) = self.kind {
                if s.is_sysctl() {
                    return Err(errno!(EACCES));
                }
            }
        }
        Ok(Arc::new(SeqFile {
            inode: self,
            data: Mutex::new(None),
        }))
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        Ok(statfs())
    }
}

/// An open generated file. As with Linux's seq_file, the text is generated by a read
/// from offset 0 (or the first read), and later reads continue in that text.
struct SeqFile {
    inode: Arc<ProcFile>,
    data: Mutex<Option<Vec<u8>>>,
}

impl FileOps for SeqFile {
    fn supports_epoll(&self) -> bool {
        false
    }

    fn uses_offset(&self) -> bool {
        true
    }

    fn read(&self, _file: &File, buf: &mut [u8], offset: Option<u64>) -> Result<usize> {
        let mut data = self.data.lock();
        let text = match &mut *data {
            Some(text) if offset.unwrap_or(0) != 0 => text,
            slot => slot.insert(self.inode.generate()?),
        };
        Ok(crate::vfs::read_from_bytes(text, buf, offset))
    }

    fn write(&self, _file: &File, buf: &[u8], offset: Option<u64>) -> Result<usize> {
        self.inode.write(buf, offset.unwrap_or(0))
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
            // seq_file: no SEEK_END.
            SeekWhence::End => return Err(errno!(EINVAL)),
            SeekWhence::Data | SeekWhence::Hole => return Err(errno!(EINVAL)),
        };
        let new = base.checked_add(offset).ok_or_else(|| errno!(EOVERFLOW))?;
        if new < 0 {
            return Err(errno!(EINVAL));
        }
        Ok(new as u64)
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        Ok(statfs())
    }
}

impl ProcFile {
    fn generate(&self) -> Result<Vec<u8>> {
        let fs = &self.fs;
        match self.kind {
            // A file opened before its process was reaped.
            FileKind::Pid(_) | FileKind::FdInfo(_) if !fs.alive(self.tgid, self.tid) => {
                Err(errno!(ESRCH))
            }
            FileKind::Sys(s) => sys_file(fs, s),
            FileKind::FdInfo(fd) => {
                let view = fs.view(self.tgid, self.tgid)?;
                let entry = view.files.entry(fd).map_err(|_| errno!(ENOENT))?;
                let file = &entry.file;
                let mut flags = file.flags();
                if entry.cloexec {
                    flags |= libc::O_CLOEXEC as u32;
                }
                let st = file.stat().unwrap_or_default();
                let mnt = file.path().map_or(0, |p| p.mount.id());
                Ok(format!(
                    "pos:\t{}\nflags:\t0{:o}\nmnt_id:\t{}\nino:\t{}\n",
                    file.offset(),
                    flags,
                    mnt,
                    st.ino
                )
                .into_bytes())
            }
            FileKind::Pid(p) => pid_file(fs, self.tgid, self.tid, p),
        }
    }
}
