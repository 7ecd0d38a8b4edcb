//! The generated files of a process (and thread) directory: stat, status, statm,
//! cmdline, environ, comm, limits, maps, smaps, mounts, mountinfo, oom_*.

use std::fmt::Write as _;

use super::{smaps, write, PidFile, ProcFs, TICKS_PER_SEC};
use crate::errno::Result;
use crate::kernel::process::clock_ticks;
use crate::kernel::{Kernel, TaskView, ThreadGroup};
use crate::platform::PAGE_SIZE;
use crate::vfs::{Path, Resolver};

pub(super) fn pid_file(fs: &ProcFs, tgid: i32, tid: i32, what: PidFile) -> Result<Vec<u8>> {
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
            let (tty_nr, tpgid) = crate::fs::tty::proc_stat_fields(&tg);
            let sched = thread_sched(&tg, tid);
            let (prio, nice) = (sched.proc_priority(), sched.nice);
            let (rt_prio, policy) = (sched.rt_priority, sched.policy);
            let _ = writeln!(
                out,
                "{tid} ({}) {state} {ppid} {pgid} {sid} {tty_nr} {tpgid} 4194304 {faults} 0 0 0 {utime} {stime} \
                 {cutime} {cstime} {prio} {nice} {threads} 0 {start_ticks} {} {rss} 18446744073709551615 \
                 0 0 0 0 0 {pending} {blocked} {ignored} {caught} 0 0 0 {exit_signal} 0 {rt_prio} {policy} 0 0 0 0 0 0 \
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
            let (caps, nnp) = view
                .as_ref()
                .map_or_else(Default::default, |v| (v.creds.caps, v.creds.no_new_privs));
            let _ = writeln!(
                out,
                "CapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\n\
                 CapBnd:\t{:016x}\nCapAmb:\t{:016x}",
                caps.inheritable, caps.permitted, caps.effective, caps.bounding, caps.ambient
            );
            let seccomp = tg
                .tasks
                .lock()
                .iter()
                .find(|t| t.tid == tid)
                .map(|t| t.seccomp.get())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "NoNewPrivs:\t{}\nSeccomp:\t{}\nSeccomp_filters:\t{}",
                u8::from(nnp),
                seccomp.mode(),
                seccomp.filter_count()
            );
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

/// The scheduling attributes of thread `tid` (the leader's once it is gone).
fn thread_sched(tg: &ThreadGroup, tid: i32) -> crate::kernel::sched::SchedAttr {
    let tasks = tg.tasks.lock();
    tasks
        .iter()
        .find(|t| t.tid == tid)
        .or_else(|| tasks.first())
        .map(|t| *t.sched.lock())
        .unwrap_or_default()
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
    let (mounts, root) = view.map_or_else(
        || (kernel.mounts.clone(), kernel.mounts.root()),
        |v| v.fs.mounts_and_root(),
    );
    let resolver = Resolver {
        mounts: &mounts,
        root: &root,
        creds: None,
    };
    for m in mounts.mounts() {
        let (at, parent_id) = match m.mountpoint() {
            Some((pm, d)) => {
                let (p, reachable) = resolver.absolute(&Path {
                    mount: pm.clone(),
                    dentry: d,
                });
                if !reachable {
                    continue;
                }
                (p, pm.id())
            }
            None => {
                // A namespace's root mount: shown if the reader's root is its root.
                let (p, reachable) = resolver.absolute(&Path {
                    mount: m.clone(),
                    dentry: m.root().clone(),
                });
                if !reachable {
                    continue;
                }
                (p, m.id())
            }
        };
        let f = m.flags();
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
                "{} {} {}:{} {} {} {} - {} {} {}",
                m.id(),
                parent_id,
                (st.dev >> 8) & 0xfff,
                st.dev & 0xff,
                String::from_utf8_lossy(&m.root_in_fs()).replace(' ', "\\040"),
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
