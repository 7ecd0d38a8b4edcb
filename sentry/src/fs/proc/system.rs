//! The system-wide files of procfs: /proc/cpuinfo, stat, meminfo, loadavg, uptime,
//! locks and the rest, and the /proc/sys tree.

use std::fmt::Write as _;
use std::sync::Arc;

use super::{uuid, FileKind, ProcFile, ProcFs, SysFile, TICKS_PER_SEC};
use crate::errno::Result;
use crate::kernel::process::clock_ticks;
use crate::kernel::Kernel;
use crate::platform::PAGE_SIZE;
use crate::vfs::Inode;

/// /proc/cpuinfo for `cpus` identical CPUs, described by `cpuid`.
pub(super) fn cpuinfo(cpus: usize) -> Vec<u8> {
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

pub(super) fn sys_file(fs: &ProcFs, what: SysFile) -> Result<Vec<u8>> {
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
            let limit = kernel.memory_file.limit().unwrap_or(u64::MAX);
            let total = fs.mem_total.min(limit).max(used);
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
        SysFile::Ipc(sysctl) => out = sysctl.read(&kernel.ipc),
        SysFile::SysvipcShm => out = kernel.ipc.shm.proc_text(),
        SysFile::SysvipcSem => out = kernel.ipc.sem.proc_text(),
        SysFile::SysvipcMsg => out = kernel.ipc.msg.proc_text(),
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

/// /proc/sysvipc: the System V IPC objects of the sandbox.
pub(super) fn sysvipc_dir(fs: &Arc<ProcFs>) -> Arc<dyn Inode> {
    let file = |key: &str, kind: SysFile| -> Arc<dyn Inode> {
        Arc::new(ProcFile {
            fs: fs.clone(),
            attr: fs.attr(key, libc::S_IFREG | 0o444, (0, 0)),
            tgid: 0,
            tid: 0,
            kind: FileKind::Sys(kind),
        })
    };
    crate::fs::synthetic::StaticDir::new(
        fs.dev,
        vec![
            ("msg", file("/sysvipc/msg", SysFile::SysvipcMsg)),
            ("sem", file("/sysvipc/sem", SysFile::SysvipcSem)),
            ("shm", file("/sysvipc/shm", SysFile::SysvipcShm)),
        ],
    )
}

/// /proc/sys: the sysctls programs read.
pub(super) fn sys_tree(fs: &Arc<ProcFs>) -> Arc<dyn Inode> {
    use crate::fs::synthetic::StaticDir;
    let file = |key: &str, kind: SysFile| -> Arc<dyn Inode> {
        // The sysctls root may write (sethostname and setdomainname's files).
        let mode = match kind {
            SysFile::Hostname | SysFile::Domainname | SysFile::Ipc(_) => 0o644,
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
    let mut kernel = vec![
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
    ];
    for &(name, sysctl) in crate::kernel::ipc::sysctl::Sysctl::ALL {
        let key = format!("/sys/kernel/{name}");
        kernel.push((name, file(&key, SysFile::Ipc(sysctl))));
    }
    dir(vec![
        ("kernel", dir(kernel)),
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
