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

use crate::abi;
use crate::errno;
use crate::errno::Result;
use crate::kernel::process::clock_ticks;
use crate::kernel::{current_ids, TaskView};
use crate::kernel::{Kernel, ThreadGroup};
use crate::mm::{Backing, VmaKind};
use crate::platform::PAGE_SIZE;
use crate::vfs::{
    anon_dev, Dentry, DirEntry, DirFile, File, FileOps, FileType, Inode, Mount, Path, Resolver,
    Stat,
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
            "meminfo" => file(SysFile::MemInfo),
            "stat" => file(SysFile::Stat),
            "uptime" => file(SysFile::Uptime),
            "version" => file(SysFile::Version),
            "mounts" => link(LinkKind::Text(b"self/mounts".to_vec())),
            "self" => link(LinkKind::SelfLink),
            "thread-self" => link(LinkKind::ThreadSelf),
            "sys" => sys_tree(fs),
            _ => {
                let tgid: i32 = name.parse().ok().filter(|&p| p > 0)?;
                if name.starts_with('0') || self.fs.process(tgid).is_err() {
                    return None;
                }
                Arc::new(ProcDir::new(fs, DirKind::Pid { tgid, tid: tgid }))
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
    ("oom_score", PidFile::OomScore),
    ("oom_score_adj", PidFile::OomScoreAdj),
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
                        PidFile::Comm | PidFile::OomScoreAdj => 0o644,
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
                    let text = format!("{}:[{id}]", name.trim_end_matches("_for_children"));
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
                            kind: LinkKind::Text(text.into_bytes()),
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
}

struct ProcLink {
    fs: Arc<ProcFs>,
    attr: Attr,
    tgid: i32,
    kind: LinkKind,
}

impl ProcLink {
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
            LinkKind::Fd(fd) => {
                let file = view.files.get(*fd).map_err(|_| errno!(ENOENT))?;
                if let Some(p) = file.path() {
                    return Ok(p.clone());
                }
                // A file without a name (pipe, socket, eventfd...): a nameless
                // dentry on this procfs that opens the same file.
                let mount = self
                    .fs
                    .mount
                    .get()
                    .and_then(Weak::upgrade)
                    .ok_or_else(|| errno!(ENOENT))?;
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
            LinkKind::Cwd | LinkKind::Exe | LinkKind::Root | LinkKind::Fd(_) => Some(self.place()),
            _ => None,
        }
    }

    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>> {
        Err(errno!(ELOOP))
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
enum PidFile {
    Cgroup,
    Cmdline,
    Comm,
    Environ,
    Limits,
    Maps,
    MountInfo,
    Mounts,
    OomScore,
    OomScoreAdj,
    Stat,
    Statm,
    Status,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SysFile {
    CpuInfo,
    Filesystems,
    LoadAvg,
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Pid(PidFile),
    Sys(SysFile),
    FdInfo(i32),
}

struct ProcFile {
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
        if crate::vfs::wants_write(flags) {
            // Nothing here takes writes yet (comm, oom_score_adj: their mode says
            // writable, as Linux's; the sandbox does not act on them).
            return Err(errno!(EACCES));
        }
        let data = self.generate()?;
        Ok(Arc::new(Snapshot { inode: self, data }))
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        Ok(statfs())
    }
}

/// An open generated file: the contents as of the open.
struct Snapshot {
    inode: Arc<ProcFile>,
    data: Vec<u8>,
}

impl FileOps for Snapshot {
    fn supports_epoll(&self) -> bool {
        false
    }

    fn uses_offset(&self) -> bool {
        true
    }

    fn read(&self, _file: &File, buf: &mut [u8], offset: Option<u64>) -> Result<usize> {
        Ok(crate::vfs::read_from_bytes(&self.data, buf, offset))
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
        PidFile::OomScoreAdj => out.push_str("0\n"),
        PidFile::Comm => {
            let comm = view.map(|v| v.comm).unwrap_or_default();
            let mut b = comm;
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
        PidFile::Maps => {
            let Some(v) = view else {
                return Ok(Vec::new());
            };
            for vma in v.mm.vmas() {
                let (offset, id, name) = match &vma.backing {
                    Backing::Object { obj, pgoff, name } => {
                        let id = obj.identity();
                        (
                            pgoff * PAGE_SIZE,
                            (id.dev, id.ino),
                            name.as_ref().map(|n| n.to_vec()).unwrap_or_default(),
                        )
                    }
                    Backing::Anonymous => (
                        0,
                        (0, 0),
                        match vma.kind {
                            VmaKind::Heap => b"[heap]".to_vec(),
                            VmaKind::Stack => b"[stack]".to_vec(),
                            VmaKind::Plain => Vec::new(),
                        },
                    ),
                };
                let line = format!(
                    "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
                    vma.start,
                    vma.end,
                    if vma.prot.read { 'r' } else { '-' },
                    if vma.prot.write { 'w' } else { '-' },
                    if vma.prot.exec { 'x' } else { '-' },
                    if vma.shared { 's' } else { 'p' },
                    offset,
                    (id.0 >> 8) & 0xfff,
                    id.0 & 0xff,
                    id.1
                );
                out.push_str(&line);
                if !name.is_empty() {
                    out.push_str(&" ".repeat(73usize.saturating_sub(line.len())));
                    out.push_str(&String::from_utf8_lossy(&name));
                }
                out.push('\n');
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
            let comm = view.as_ref().map(|v| v.comm.clone()).unwrap_or_default();
            let threads = tg.tasks.lock().len().max(1);
            let (utime, stime) = clock_ticks(tg.cpu_times());
            let children = tg.usage.lock().children.times;
            let (cutime, cstime) = clock_ticks(children);
            let start_ticks =
                (tg.start_ns - kernel.boot_time_ns).max(0) * TICKS_PER_SEC / 1_000_000_000;
            let (size, rss) = view.as_ref().map_or((0, 0), mem_pages);
            let layout = view.as_ref().map(|v| v.mm.exec_layout());
            let (arg_start, arg_end, env_start, env_end) = layout.map_or((0, 0, 0, 0), |l| {
                (l.arg_start, l.arg_end, l.env_start, l.env_end)
            });
            let pending = tg.pending.lock().set();
            let (ignored, caught) = signal_masks(&tg);
            let state = state_char(tid, zombie);
            let faults = tg.usage.lock().dead_faults;
            // Only a process leader has an exit signal.
            let exit_signal = if tid == tgid { 17 } else { -1 };
            let (tty_nr, tpgid) = crate::fs::tty::proc_stat_fields(&tg);
            let _ = writeln!(
                out,
                "{tid} ({}) {state} {ppid} {pgid} {sid} {tty_nr} {tpgid} 4194304 {faults} 0 0 0 {utime} {stime} \
                 {cutime} {cstime} 20 0 {threads} 0 {start_ticks} {} {rss} 18446744073709551615 \
                 0 0 0 0 0 {pending} 0 {ignored} {caught} 0 0 0 {exit_signal} 0 0 0 0 0 0 0 0 0 \
                 {arg_start} {arg_end} {env_start} {env_end} 0",
                String::from_utf8_lossy(&comm),
                size * PAGE_SIZE,
            );
        }
        PidFile::Status => {
            let (ppid, pgid, sid) = process_ids(&kernel, &tg);
            let comm = view.as_ref().map(|v| v.comm.clone()).unwrap_or_default();
            let state = match state_char(tid, zombie) {
                'R' => "R (running)",
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
            if let Some(v) = &view {
                let c = &v.creds;
                let _ = writeln!(out, "Uid:\t{}\t{}\t{}\t{}", c.uid, c.euid, c.suid, c.fsuid);
                let _ = writeln!(out, "Gid:\t{}\t{}\t{}\t{}", c.gid, c.egid, c.sgid, c.fsgid);
                let _ = writeln!(
                    out,
                    "FDSize:\t{}",
                    v.files.entries().len().next_power_of_two().max(64)
                );
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
            let (shared_tid_pending, blocked) = {
                let tasks = tg.tasks.lock();
                tasks
                    .iter()
                    .find(|t| t.tid == tid)
                    .map_or((0, 0), |t| (t.pending.lock().set(), t.mask()))
            };
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
            let _ = writeln!(
                out,
                "Cpus_allowed:\t{mask:x}\nCpus_allowed_list:\t0-{}\n\
                 voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0",
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

/// The run state letter of thread `tid` (a process's leader for its own files): the
/// reader's own thread and process are running, a zombie is Z, others sleep.
fn state_char(tid: i32, zombie: bool) -> char {
    let (reader_tgid, reader_tid) = current_ids();
    if zombie {
        'Z'
    } else if tid == reader_tid || tid == reader_tgid {
        'R'
    } else {
        'S'
    }
}

fn process_ids(kernel: &Kernel, tg: &ThreadGroup) -> (i32, i32, i32) {
    let ppid = kernel.tree.lock().parent_of(tg.tgid);
    let pgid = *tg.pgid.lock();
    let sid = *tg.sid.lock();
    (ppid, pgid, sid)
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
            let tree = kernel.tree.lock();
            let threads = tree.thread_count();
            let last = tree.all_pids().last().copied().unwrap_or(1);
            let _ = writeln!(out, "0.00 0.00 0.00 1/{threads} {last}");
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
            let _ = writeln!(
                out,
                "intr 0\nctxt 0\nbtime {btime}\nprocesses {}\nprocs_running 1\nprocs_blocked 0\n\
                 softirq 0 0 0 0 0 0 0 0 0 0 0",
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

/// /proc/sys: the sysctls programs read.
fn sys_tree(fs: &Arc<ProcFs>) -> Arc<dyn Inode> {
    use crate::fs::synthetic::StaticDir;
    let file = |key: &str, kind: SysFile| -> Arc<dyn Inode> {
        Arc::new(ProcFile {
            fs: fs.clone(),
            attr: fs.attr(key, libc::S_IFREG | 0o444, (0, 0)),
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
