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

use std::any::Any;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock, Weak};

use parking_lot::Mutex;

use crate::abi;
use crate::errno;
use crate::errno::Result;
use crate::kernel::process::clock_ticks;
use crate::kernel::{current_ids, TaskView};
use crate::kernel::{Kernel, ThreadGroup};
use crate::platform::PAGE_SIZE;
mod smaps;
mod write;

use crate::vfs::{
    anon_dev, Dentry, DirEntry, DirFile, File, FileOps, FileType, Inode, Mount, NewOwner, NodeKind,
    Path, Resolver, Stat,
};

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
        let root = match self.reader() {
            Some(v) => v.fs.root(),
            None => kernel.mounts.root(),
        };
        let (mut name, _) = Resolver {
            mounts: &kernel.mounts,
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

/// /proc/cpuinfo for `cpus` identical CPUs, described by `cpuid`.
fn cpuinfo(cpus: usize) -> Vec<u8> {
    use std::arch::x86_64::__cpuid;
    let word = |r: u32| r.to_le_bytes();
    let leaf0 = __cpuid(0);
    let mut vendor = Vec::new();
    for r in [leaf0.ebx, leaf0.edx, leaf0.ecx] {
        vendor.extend_from_slice(&word(r));
    }
    let leaf1 = __cpuid(1);
    let base_family = (leaf1.eax >> 8) & 0xf;
    let family = if base_family == 0xf {
        base_family + ((leaf1.eax >> 20) & 0xff)
    } else {
        base_family
    };
    let mut model = (leaf1.eax >> 4) & 0xf;
    if base_family == 0x6 || base_family == 0xf {
        model |= ((leaf1.eax >> 16) & 0xf) << 4;
    }
    let stepping = leaf1.eax & 0xf;
    let mut brand = Vec::new();
    if __cpuid(0x8000_0000).eax >= 0x8000_0004 {
        for leaf in 0x8000_0002..=0x8000_0004u32 {
            let r = __cpuid(leaf);
            for x in [r.eax, r.ebx, r.ecx, r.edx] {
                brand.extend_from_slice(&word(x));
            }
        }
    }
    let brand = String::from_utf8_lossy(&brand)
        .trim_matches(char::from(0))
        .trim()
        .to_string();
    let leaf7 = if leaf0.eax >= 7 { __cpuid(7).ebx } else { 0 };
    let bits: &[(u32, u32, &str)] = &[
        (leaf1.edx, 0, "fpu"),
        (leaf1.edx, 4, "tsc"),
        (leaf1.edx, 5, "msr"),
        (leaf1.edx, 8, "cx8"),
        (leaf1.edx, 15, "cmov"),
        (leaf1.edx, 19, "clflush"),
        (leaf1.edx, 23, "mmx"),
        (leaf1.edx, 24, "fxsr"),
        (leaf1.edx, 25, "sse"),
        (leaf1.edx, 26, "sse2"),
        (leaf1.ecx, 0, "pni"),
        (leaf1.ecx, 1, "pclmulqdq"),
        (leaf1.ecx, 9, "ssse3"),
        (leaf1.ecx, 12, "fma"),
        (leaf1.ecx, 13, "cx16"),
        (leaf1.ecx, 19, "sse4_1"),
        (leaf1.ecx, 20, "sse4_2"),
        (leaf1.ecx, 22, "movbe"),
        (leaf1.ecx, 23, "popcnt"),
        (leaf1.ecx, 25, "aes"),
        (leaf1.ecx, 26, "xsave"),
        (leaf1.ecx, 28, "avx"),
        (leaf1.ecx, 29, "f16c"),
        (leaf1.ecx, 30, "rdrand"),
        (leaf7, 3, "bmi1"),
        (leaf7, 5, "avx2"),
        (leaf7, 8, "bmi2"),
        (leaf7, 9, "erms"),
        (leaf7, 16, "avx512f"),
        (leaf7, 18, "rdseed"),
        (leaf7, 19, "adx"),
        (leaf7, 29, "sha_ni"),
    ];
    let flags: Vec<&str> = bits
        .iter()
        .filter(|(reg, bit, _)| reg & (1 << bit) != 0)
        .map(|&(_, _, name)| name)
        .collect();
    let mut out = String::new();
    for i in 0..cpus {
        let _ = write!(
            out,
            "processor\t: {i}\nvendor_id\t: {}\ncpu family\t: {family}\nmodel\t\t: {model}\n\
             model name\t: {brand}\nstepping\t: {stepping}\nphysical id\t: 0\n\
             siblings\t: {cpus}\ncore id\t\t: {i}\ncpu cores\t: {cpus}\napicid\t\t: {i}\n\
             fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {}\nwp\t\t: yes\n\
             flags\t\t: {}\nclflush size\t: 64\ncache_alignment\t: 64\n\
             address sizes\t: 48 bits physical, 48 bits virtual\n\n",
            String::from_utf8_lossy(&vendor),
            leaf0.eax,
            flags.join(" ")
        );
    }
    out.into_bytes()
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

fn pid_file(fs: &ProcFs, tgid: i32, tid: i32, what: PidFile) -> Result<Vec<u8>> {
    let kernel = fs.kernel()?;
    let (tg, zombie) = fs.process(tgid)?;
    let view = fs.view(tgid, tid).ok();
    let mut out = String::new();
    match what {
        PidFile::Cgroup => out.push_str("0::/\n"),
        PidFile::OomScore => out.push_str("0\n"),
        PidFile::OomScoreAdj => {
            let _ = writeln!(out, "{}", tg.oom_score_adj.lock().value);
        }
        PidFile::OomAdj => {
            let _ = writeln!(
                out,
                "{}",
                write::legacy_oom_adj(tg.oom_score_adj.lock().value)
            );
        }
        PidFile::Comm => {
            let mut b = fs.comm(&tg, tid);
            b.push(b'\n');
            return Ok(b);
        }
        PidFile::Cmdline | PidFile::Environ => {
            let Some(v) = view else {
                return Ok(Vec::new());
            };
            let l = v.mm.exec_layout();
            let (start, end) = if what == PidFile::Cmdline {
                (l.arg_start, l.arg_end)
            } else {
                (l.env_start, l.env_end)
            };
            if end <= start {
                return Ok(Vec::new());
            }
            return Ok(v
                .mm
                .read_bytes(start, (end - start) as usize)
                .unwrap_or_default());
        }
        PidFile::Limits => {
            let limits = tg.limits.lock().clone();
            let _ = writeln!(
                out,
                "{:<25} {:<20} {:<20} {:<10}",
                "Limit", "Soft Limit", "Hard Limit", "Units"
            );
            for (name, res, unit) in LIMIT_NAMES {
                let l = limits.0[*res as usize];
                let show = |v: u64| {
                    if v == crate::kernel::limits::INFINITY {
                        "unlimited".to_string()
                    } else {
                        v.to_string()
                    }
                };
                let _ = write!(out, "{:<25} {:<20} {:<20} ", name, show(l.cur), show(l.max));
                if unit.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "{unit:<10}");
                }
            }
        }
        PidFile::Maps | PidFile::Smaps | PidFile::SmapsRollup => {
            let Some(v) = view else {
                return Ok(Vec::new());
            };
            match what {
                PidFile::Smaps => out = smaps::smaps(&v.mm),
                PidFile::SmapsRollup => out = smaps::smaps_rollup(&v.mm),
                _ => {
                    for vma in v.mm.vmas() {
                        out.push_str(&smaps::maps_line(&vma));
                    }
                }
            }
        }
        PidFile::Mounts | PidFile::MountInfo => {
            mount_table(&kernel, view.as_ref(), what == PidFile::MountInfo, &mut out);
        }
        PidFile::Statm => {
            let (size, rss) = view.as_ref().map_or((0, 0), mem_pages);
            let _ = writeln!(out, "{size} {rss} 0 0 0 {size} 0");
        }
        PidFile::Stat => {
            let (ppid, pgid, sid) = process_ids(&kernel, &tg);
            let comm = fs.comm(&tg, tid);
            let threads = tg.tasks.lock().len().max(1);
            let (utime, stime) = clock_ticks(tg.cpu_times());
            let children = tg.usage.lock().children.times;
            let (cutime, cstime) = clock_ticks(children);
            let start_ticks = tg.start_ns.max(0) * TICKS_PER_SEC / 1_000_000_000;
            let (size, rss) = view.as_ref().map_or((0, 0), mem_pages);
            let layout = view.as_ref().map(|v| v.mm.exec_layout());
            let (arg_start, arg_end, env_start, env_end) = layout.map_or((0, 0, 0, 0), |l| {
                (l.arg_start, l.arg_end, l.env_start, l.env_end)
            });
            // The thread's own pending and blocked sets; only signals 1-31 show.
            let (pending, blocked) = thread_signals(&tg, tid);
            let (ignored, caught) = signal_masks(&tg);
            let low = |set: u64| set & 0x7fff_ffff;
            let (pending, blocked, ignored, caught) =
                (low(pending), low(blocked), low(ignored), low(caught));
            let state = state_of(&tg, tid, zombie);
            let faults = tg.usage.lock().dead_faults;
            // Only a process leader has an exit signal.
            let exit_signal = if tid == tgid { 17 } else { -1 };
            let _ = writeln!(
                out,
                "{tid} ({}) {state} {ppid} {pgid} {sid} 0 -1 4194304 {faults} 0 0 0 {utime} {stime} \
                 {cutime} {cstime} 20 0 {threads} 0 {start_ticks} {} {rss} 18446744073709551615 \
                 0 0 0 0 0 {pending} {blocked} {ignored} {caught} 0 0 0 {exit_signal} 0 0 0 0 0 0 0 0 0 \
                 {arg_start} {arg_end} {env_start} {env_end} 0",
                String::from_utf8_lossy(&comm),
                size * PAGE_SIZE,
            );
        }
        PidFile::Status => {
            let (ppid, pgid, sid) = process_ids(&kernel, &tg);
            let comm = fs.comm(&tg, tid);
            let state = match state_of(&tg, tid, zombie) {
                'R' => "R (running)",
                'T' => "T (stopped)",
                'Z' => "Z (zombie)",
                _ => "S (sleeping)",
            };
            let _ = writeln!(out, "Name:\t{}", String::from_utf8_lossy(&comm));
            if let Some(v) = &view {
                let _ = writeln!(out, "Umask:\t{:04o}", v.fs.umask());
            }
            let _ = writeln!(out, "State:\t{state}");
            let _ = writeln!(out, "Tgid:\t{tgid}\nNgid:\t0\nPid:\t{tid}\nPPid:\t{ppid}");
            let _ = writeln!(out, "TracerPid:\t0");
            // A zombie keeps its credentials; its descriptors are gone.
            let exited = tg.exited_leader.lock().clone();
            let creds = match (&view, exited) {
                (Some(v), _) => Some((v.creds.clone(), v.files.entries().len())),
                (None, Some((_, c))) if tid == tgid => Some((c, 0)),
                _ => None,
            };
            if let Some((c, fds)) = creds {
                let _ = writeln!(out, "Uid:\t{}\t{}\t{}\t{}", c.uid, c.euid, c.suid, c.fsuid);
                let _ = writeln!(out, "Gid:\t{}\t{}\t{}\t{}", c.gid, c.egid, c.sgid, c.fsgid);
                let size = if view.is_some() {
                    fds.next_power_of_two().max(64)
                } else {
                    0
                };
                let _ = writeln!(out, "FDSize:\t{size}");
                let groups: String = c.groups.iter().map(|g| format!("{g} ")).collect();
                let _ = writeln!(out, "Groups:\t{groups} ");
            }
            let _ = writeln!(
                out,
                "NStgid:\t{tgid}\nNSpid:\t{tid}\nNSpgid:\t{pgid}\nNSsid:\t{sid}"
            );
            if let Some(v) = &view {
                let (size, rss) = mem_pages(v);
                let kb = PAGE_SIZE / 1024;
                let _ = writeln!(
                    out,
                    "VmPeak:\t{:>8} kB\nVmSize:\t{:>8} kB\nVmLck:\t{:>8} kB\nVmHWM:\t{:>8} kB\n\
                     VmRSS:\t{:>8} kB\nRssAnon:\t{:>8} kB\nRssFile:\t{:>8} kB\nRssShmem:\t{:>8} kB",
                    size * kb,
                    size * kb,
                    0,
                    rss * kb,
                    rss * kb,
                    rss * kb,
                    0,
                    0
                );
            }
            let threads = tg.tasks.lock().len().max(1);
            let _ = writeln!(out, "Threads:\t{threads}");
            let pending = tg.pending.lock().set();
            let (ignored, caught) = signal_masks(&tg);
            let (shared_tid_pending, blocked) = thread_signals(&tg, tid);
            let _ = writeln!(
                out,
                "SigQ:\t0/{}\nSigPnd:\t{shared_tid_pending:016x}\nShdPnd:\t{pending:016x}\n\
                 SigBlk:\t{blocked:016x}\nSigIgn:\t{ignored:016x}\nSigCgt:\t{caught:016x}",
                tg.limit(libc::RLIMIT_SIGPENDING)
            );
            let caps = if view.as_ref().is_some_and(|v| v.creds.euid == 0) {
                0x1ff_ffff_ffffu64
            } else {
                0
            };
            let _ = writeln!(
                out,
                "CapInh:\t{:016x}\nCapPrm:\t{caps:016x}\nCapEff:\t{caps:016x}\n\
                 CapBnd:\t{:016x}\nCapAmb:\t{:016x}",
                0, 0x1ff_ffff_ffffu64, 0
            );
            let _ = writeln!(out, "NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0");
            let n = fs.cpus;
            let mask = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
            // Voluntary switches are the times the thread blocked in the sentry; the
            // host's preemptions of its guest code are not seen (0).
            let voluntary = tg
                .tasks
                .lock()
                .iter()
                .find(|t| t.tid == tid)
                .map_or(0, |t| t.waiter.sleeps());
            let _ = writeln!(
                out,
                "Cpus_allowed:\t{mask:x}\nCpus_allowed_list:\t0-{}\n\
                 voluntary_ctxt_switches:\t{voluntary}\nnonvoluntary_ctxt_switches:\t0",
                n - 1
            );
        }
    }
    Ok(out.into_bytes())
}

const LIMIT_NAMES: &[(&str, u32, &str)] = &[
    ("Max cpu time", libc::RLIMIT_CPU, "seconds"),
    ("Max file size", libc::RLIMIT_FSIZE, "bytes"),
    ("Max data size", libc::RLIMIT_DATA, "bytes"),
    ("Max stack size", libc::RLIMIT_STACK, "bytes"),
    ("Max core file size", libc::RLIMIT_CORE, "bytes"),
    ("Max resident set", libc::RLIMIT_RSS, "bytes"),
    ("Max processes", libc::RLIMIT_NPROC, "processes"),
    ("Max open files", libc::RLIMIT_NOFILE, "files"),
    ("Max locked memory", libc::RLIMIT_MEMLOCK, "bytes"),
    ("Max address space", libc::RLIMIT_AS, "bytes"),
    ("Max file locks", libc::RLIMIT_LOCKS, "locks"),
    ("Max pending signals", libc::RLIMIT_SIGPENDING, "signals"),
    ("Max msgqueue size", libc::RLIMIT_MSGQUEUE, "bytes"),
    ("Max nice priority", libc::RLIMIT_NICE, ""),
    ("Max realtime priority", libc::RLIMIT_RTPRIO, ""),
    ("Max realtime timeout", libc::RLIMIT_RTTIME, "us"),
];

/// The run state letter of thread `tid` of `tg`: Z for a zombie (or a leader that
/// exited before its threads), else what the thread is doing.
fn state_of(tg: &ThreadGroup, tid: i32, zombie: bool) -> char {
    if zombie {
        return 'Z';
    }
    tg.tasks
        .lock()
        .iter()
        .find(|t| t.tid == tid)
        .map_or('Z', |t| t.state())
}

/// Threads of the sandbox running now (guest code or a system call) and in all.
fn running_threads(kernel: &Kernel) -> (usize, usize) {
    let processes = kernel.tree.lock().processes();
    let (mut running, mut all) = (0, 0);
    for tg in processes {
        for t in tg.tasks.lock().iter() {
            all += 1;
            running += usize::from(t.state() == 'R');
        }
    }
    (running, all)
}

fn process_ids(kernel: &Kernel, tg: &ThreadGroup) -> (i32, i32, i32) {
    let ppid = kernel.tree.lock().parent_of(tg.tgid);
    let pgid = *tg.pgid.lock();
    let sid = *tg.sid.lock();
    (ppid, pgid, sid)
}

/// Thread `tid`'s own pending and blocked signal sets.
fn thread_signals(tg: &ThreadGroup, tid: i32) -> (u64, u64) {
    let tasks = tg.tasks.lock();
    tasks
        .iter()
        .find(|t| t.tid == tid)
        .map_or((0, 0), |t| (t.pending.lock().set(), t.mask()))
}

/// Ignored and caught signal sets.
fn signal_masks(tg: &ThreadGroup) -> (u64, u64) {
    let actions = tg.actions.lock();
    let (mut ignored, mut caught) = (0u64, 0u64);
    for sig in 1..=64usize {
        let a = actions.get(sig);
        if a.handler == crate::kernel::signal::SIG_IGN {
            ignored |= 1 << (sig - 1);
        } else if a.handler != crate::kernel::signal::SIG_DFL {
            caught |= 1 << (sig - 1);
        }
    }
    (ignored, caught)
}

/// Total and resident pages of an address space.
fn mem_pages(v: &TaskView) -> (u64, u64) {
    let size: u64 = v.mm.vmas().iter().map(|m| m.len()).sum::<u64>() / PAGE_SIZE;
    (size, v.mm.resident_pages())
}

/// /proc/[pid]/mounts or mountinfo, as the reader's root sees them.
fn mount_table(kernel: &Kernel, view: Option<&TaskView>, info: bool, out: &mut String) {
    let root = view.map_or_else(|| kernel.mounts.root(), |v| v.fs.root());
    let resolver = Resolver {
        mounts: &kernel.mounts,
        root: &root,
        creds: None,
    };
    for m in kernel.mounts.mounts() {
        let (at, parent_id) = match m.mountpoint() {
            Some((pm, d)) => {
                let (p, reachable) = resolver.absolute(&Path {
                    mount: pm.clone(),
                    dentry: d.clone(),
                });
                if !reachable {
                    continue;
                }
                (p, pm.id())
            }
            None => (b"/".to_vec(), m.id()),
        };
        let f = m.flags;
        let mut opts = vec![if f.read_only { "ro" } else { "rw" }];
        if f.no_suid {
            opts.push("nosuid");
        }
        if f.no_dev {
            opts.push("nodev");
        }
        if f.no_exec {
            opts.push("noexec");
        }
        opts.push("relatime");
        let at = String::from_utf8_lossy(&at).replace(' ', "\\040");
        let st = m.root().inode().stat().unwrap_or_default();
        if info {
            let _ = writeln!(
                out,
                "{} {} {}:{} / {} {} - {} {} {}",
                m.id(),
                parent_id,
                (st.dev >> 8) & 0xfff,
                st.dev & 0xff,
                at,
                opts.join(","),
                m.fs_type,
                m.source,
                if f.read_only { "ro" } else { "rw" }
            );
        } else {
            let _ = writeln!(
                out,
                "{} {} {} {} 0 0",
                m.source,
                at,
                m.fs_type,
                opts.join(",")
            );
        }
    }
}

fn sys_file(fs: &ProcFs, what: SysFile) -> Result<Vec<u8>> {
    let kernel = fs.kernel()?;
    let mut out = String::new();
    match what {
        SysFile::CpuInfo => return Ok(fs.cpuinfo.clone()),
        SysFile::Locks => out = locks(),
        SysFile::Filesystems => {
            for (nodev, name) in [
                (true, "sysfs"),
                (true, "tmpfs"),
                (true, "proc"),
                (true, "devtmpfs"),
                (true, "devpts"),
                (true, "overlay"),
                (true, "9p"),
            ] {
                let _ = writeln!(out, "{}\t{name}", if nodev { "nodev" } else { "" });
            }
        }
        SysFile::LoadAvg => {
            // The averages are not sampled (0.00); the counts are now's.
            let (running, threads) = running_threads(&kernel);
            let last = kernel.tree.lock().all_pids().last().copied().unwrap_or(1);
            let _ = writeln!(out, "0.00 0.00 0.00 {running}/{threads} {last}");
        }
        SysFile::MemInfo => {
            let used = kernel.memory_file.frames_in_use() * PAGE_SIZE;
            let total = fs.mem_total.max(used);
            let free = total - used;
            let kb = |b: u64| b / 1024;
            let rows = [
                ("MemTotal", kb(total)),
                ("MemFree", kb(free)),
                ("MemAvailable", kb(free)),
                ("Buffers", 0),
                ("Cached", 0),
                ("SwapCached", 0),
                ("Active", kb(used)),
                ("Inactive", 0),
                ("Active(anon)", kb(used)),
                ("Inactive(anon)", 0),
                ("Active(file)", 0),
                ("Inactive(file)", 0),
                ("Unevictable", 0),
                ("Mlocked", 0),
                ("SwapTotal", 0),
                ("SwapFree", 0),
                ("Dirty", 0),
                ("Writeback", 0),
                ("AnonPages", kb(used)),
                ("Mapped", 0),
                ("Shmem", 0),
                ("CommitLimit", kb(total)),
                ("Committed_AS", kb(used)),
                ("VmallocTotal", 34359738367),
                ("VmallocUsed", 0),
                ("VmallocChunk", 0),
                ("HugePages_Total", 0),
                ("HugePages_Free", 0),
                ("Hugepagesize", 2048),
            ];
            for (name, v) in rows {
                if name.starts_with("HugePages_") {
                    let _ = writeln!(out, "{:<16}{v:>8}", format!("{name}:"));
                } else {
                    let _ = writeln!(out, "{:<16}{v:>8} kB", format!("{name}:"));
                }
            }
        }
        SysFile::Stat => {
            let tree = kernel.tree.lock();
            let mut user = 0u64;
            let mut sys = 0u64;
            for tg in tree.processes() {
                let (u, s) = clock_ticks(tg.cpu_times());
                user += u;
                sys += s;
            }
            let threads = tree.thread_count();
            let pids = tree.all_pids();
            drop(tree);
            let up_ticks = (kernel.uptime_ns() * TICKS_PER_SEC / 1_000_000_000) as u64;
            let n = fs.cpus as u64;
            let idle = (up_ticks * n).saturating_sub(user + sys);
            let _ = writeln!(out, "cpu  {user} 0 {sys} {idle} 0 0 0 0 0 0");
            for i in 0..n {
                let _ = writeln!(
                    out,
                    "cpu{i} {} 0 {} {} 0 0 0 0 0 0",
                    user / n,
                    sys / n,
                    idle / n
                );
            }
            let btime = ((crate::kernel::time::to_nanos(crate::kernel::time::realtime())
                - kernel.uptime_ns())
                / 1_000_000_000) as i64;
            // Nothing in the sentry sleeps uninterruptibly: procs_blocked is 0.
            let (running, _) = running_threads(&kernel);
            let _ = writeln!(
                out,
                "intr 0\nctxt 0\nbtime {btime}\nprocesses {}\nprocs_running {running}\n\
                 procs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0",
                pids.last().copied().unwrap_or(1).max(threads as i32)
            );
        }
        SysFile::Uptime => {
            let up = kernel.uptime_ns();
            let idle = up * fs.cpus as i128;
            let _ = writeln!(
                out,
                "{}.{:02} {}.{:02}",
                up / 1_000_000_000,
                up % 1_000_000_000 / 10_000_000,
                idle / 1_000_000_000,
                idle % 1_000_000_000 / 10_000_000
            );
        }
        SysFile::Version => {
            let _ = writeln!(
                out,
                "Linux version {} (moat@sandbox) (rustc) {}",
                crate::kernel::RELEASE,
                crate::kernel::VERSION
            );
        }
        SysFile::Value(v) => {
            let _ = writeln!(out, "{v}");
        }
        SysFile::Hostname => {
            let _ = writeln!(out, "{}", kernel.uts.lock().hostname);
        }
        SysFile::Domainname => {
            let _ = writeln!(out, "{}", kernel.uts.lock().domainname);
        }
        SysFile::Uuid => {
            let _ = writeln!(out, "{}", uuid());
        }
        SysFile::BootId => {
            let _ = writeln!(out, "{}", fs.boot_id);
        }
    }
    Ok(out.into_bytes())
}

/// /proc/locks: every lock held in the sandbox, in Linux's format.
fn locks() -> String {
    use crate::vfs::lock::{held_locks, Kind, LockClass, OFFSET_MAX};
    let mut held = held_locks();
    held.sort_by_key(|l| l.file);
    let mut out = String::new();
    for (i, l) in held.iter().enumerate() {
        let class = match l.class {
            LockClass::Posix => "POSIX  ADVISORY  ",
            LockClass::Ofd => "OFDLCK ADVISORY  ",
            LockClass::Flock => "FLOCK  ADVISORY  ",
        };
        let kind = match l.kind {
            Kind::Read => "READ",
            Kind::Write => "WRITE",
        };
        let (dev, ino) = l.file.unwrap_or((0, 0));
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        let end = if l.range.end == OFFSET_MAX {
            "EOF".to_string()
        } else {
            l.range.end.to_string()
        };
        let _ = writeln!(
            out,
            "{}: {class}{kind} {} {major:02x}:{minor:02x}:{ino} {} {end}",
            i + 1,
            l.pid,
            l.range.start
        );
    }
    out
}

/// /proc/sys: the sysctls programs read.
fn sys_tree(fs: &Arc<ProcFs>) -> Arc<dyn Inode> {
    use crate::fs::synthetic::StaticDir;
    let file = |key: &str, kind: SysFile| -> Arc<dyn Inode> {
        // The sysctls root may write (sethostname and setdomainname's files).
        let mode = match kind {
            SysFile::Hostname | SysFile::Domainname => 0o644,
            _ => 0o444,
        };
        Arc::new(ProcFile {
            fs: fs.clone(),
            attr: fs.attr(key, libc::S_IFREG | mode, (0, 0)),
            tgid: 0,
            tid: 0,
            kind: FileKind::Sys(kind),
        })
    };
    let dir = |children: Vec<(&str, Arc<dyn Inode>)>| -> Arc<dyn Inode> {
        StaticDir::new(fs.dev, children)
    };
    dir(vec![
        (
            "kernel",
            dir(vec![
                (
                    "cap_last_cap",
                    file("/sys/kernel/cap_last_cap", SysFile::Value("40")),
                ),
                (
                    "domainname",
                    file("/sys/kernel/domainname", SysFile::Domainname),
                ),
                ("hostname", file("/sys/kernel/hostname", SysFile::Hostname)),
                (
                    "ngroups_max",
                    file("/sys/kernel/ngroups_max", SysFile::Value("65536")),
                ),
                (
                    "osrelease",
                    file(
                        "/sys/kernel/osrelease",
                        SysFile::Value(crate::kernel::RELEASE),
                    ),
                ),
                (
                    "ostype",
                    file("/sys/kernel/ostype", SysFile::Value("Linux")),
                ),
                (
                    "overflowgid",
                    file("/sys/kernel/overflowgid", SysFile::Value("65534")),
                ),
                (
                    "overflowuid",
                    file("/sys/kernel/overflowuid", SysFile::Value("65534")),
                ),
                (
                    "pid_max",
                    file("/sys/kernel/pid_max", SysFile::Value("4194304")),
                ),
                (
                    "threads-max",
                    file("/sys/kernel/threads-max", SysFile::Value("32768")),
                ),
                (
                    "version",
                    file(
                        "/sys/kernel/version",
                        SysFile::Value(crate::kernel::VERSION),
                    ),
                ),
                (
                    "random",
                    dir(vec![
                        (
                            "boot_id",
                            file("/sys/kernel/random/boot_id", SysFile::BootId),
                        ),
                        ("uuid", file("/sys/kernel/random/uuid", SysFile::Uuid)),
                    ]),
                ),
            ]),
        ),
        (
            "vm",
            dir(vec![
                (
                    "max_map_count",
                    file("/sys/vm/max_map_count", SysFile::Value("65530")),
                ),
                (
                    "mmap_min_addr",
                    file("/sys/vm/mmap_min_addr", SysFile::Value("65536")),
                ),
                (
                    "overcommit_memory",
                    file("/sys/vm/overcommit_memory", SysFile::Value("0")),
                ),
            ]),
        ),
        (
            "fs",
            dir(vec![
                (
                    "file-max",
                    file("/sys/fs/file-max", SysFile::Value("9223372036854775807")),
                ),
                (
                    "nr_open",
                    file("/sys/fs/nr_open", SysFile::Value("1048576")),
                ),
            ]),
        ),
        (
            "net",
            dir(vec![(
                "core",
                dir(vec![(
                    "somaxconn",
                    file("/sys/net/core/somaxconn", SysFile::Value("4096")),
                )]),
            )]),
        ),
    ])
}
