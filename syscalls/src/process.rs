//! Process identity, lifetime, limits and scheduling calls.

use sentry::abi::{Rlimit, Timeval};
use sentry::errno::Result;
use sentry::kernel::cputime::Usage;
use sentry::kernel::limits::{INFINITY, NLIMITS};
use std::sync::Arc;
use std::time::Duration;

use sentry::kernel::clone::{flags as clone_flags, CloneArgs};
use sentry::kernel::process::{clock_ticks, ChildEvent, WaitOptions, WaitTarget};
use sentry::kernel::signal::SigInfo;
use sentry::kernel::wait::block_until;
use sentry::kernel::{ExitStatus, Task, ThreadGroup};
use sentry::{bail, errno};

use crate::fs::read_path;

/// Most argv/envp entries execve accepts (MAX_ARG_STRINGS).
const MAX_ARG_STRINGS: usize = 0x7fff_ffff;

pub fn getpid(task: &mut Task) -> Result<u64> {
    Ok(task.pid() as u64)
}

pub fn getppid(task: &mut Task) -> Result<u64> {
    Ok(task.kernel.tree.lock().parent_of(task.pid()) as u64)
}

pub fn gettid(task: &mut Task) -> Result<u64> {
    Ok(task.tid as u64)
}

pub fn getuid(task: &mut Task) -> Result<u64> {
    Ok(task.creds.uid as u64)
}

pub fn geteuid(task: &mut Task) -> Result<u64> {
    Ok(task.creds.euid as u64)
}

pub fn getgid(task: &mut Task) -> Result<u64> {
    Ok(task.creds.gid as u64)
}

pub fn getegid(task: &mut Task) -> Result<u64> {
    Ok(task.creds.egid as u64)
}

pub fn getresuid(task: &mut Task, r: u64, e: u64, s: u64) -> Result<u64> {
    let c = task.creds.clone();
    task.mm.write_obj(r, &c.uid)?;
    task.mm.write_obj(e, &c.euid)?;
    task.mm.write_obj(s, &c.suid)?;
    Ok(0)
}

pub fn getresgid(task: &mut Task, r: u64, e: u64, s: u64) -> Result<u64> {
    let c = task.creds.clone();
    task.mm.write_obj(r, &c.gid)?;
    task.mm.write_obj(e, &c.egid)?;
    task.mm.write_obj(s, &c.sgid)?;
    Ok(0)
}

pub fn getgroups(task: &mut Task, size: i32, list: u64) -> Result<u64> {
    let groups = task.creds.groups.clone();
    if size < 0 {
        bail!(EINVAL);
    }
    if size == 0 {
        return Ok(groups.len() as u64);
    }
    if (size as usize) < groups.len() {
        bail!(EINVAL);
    }
    task.mm.write_obj(list, groups.as_slice())?;
    Ok(groups.len() as u64)
}

pub fn getpgrp(task: &mut Task) -> Result<u64> {
    Ok(*task.tg.pgid.lock() as u64)
}

/// The process `pid` names (0: the caller). ESRCH if there is none.
fn process_of(task: &Task, pid: i32) -> Result<Arc<ThreadGroup>> {
    if pid < 0 {
        bail!(EINVAL);
    }
    if pid == 0 || pid == task.pid() {
        return Ok(task.tg.clone());
    }
    task.kernel
        .tree
        .lock()
        .process(pid)
        .ok_or_else(|| errno!(ESRCH))
}

pub fn getpgid(task: &mut Task, pid: i32) -> Result<u64> {
    let tg = process_of(task, pid).map_err(|_| errno!(ESRCH))?;
    let pgid = *tg.pgid.lock();
    Ok(pgid as u64)
}

pub fn getsid(task: &mut Task, pid: i32) -> Result<u64> {
    let tg = process_of(task, pid).map_err(|_| errno!(ESRCH))?;
    let sid = *tg.sid.lock();
    Ok(sid as u64)
}

pub fn setpgid(task: &mut Task, pid: i32, pgid: i32) -> Result<u64> {
    if pgid < 0 {
        bail!(EINVAL);
    }
    let me = task.pid();
    let target = process_of(task, pid)?;
    let tree = task.kernel.tree.lock();
    if target.tgid != me && !tree.is_child(me, target.tgid) {
        bail!(ESRCH);
    }
    let my_sid = *task.tg.sid.lock();
    let target_sid = *target.sid.lock();
    if target_sid != my_sid || target_sid == target.tgid {
        // Another session's process, or a session leader.
        bail!(EPERM);
    }
    let pgid = if pgid == 0 { target.tgid } else { pgid };
    if pgid != target.tgid && !tree.group_exists_in_session(pgid, my_sid) {
        bail!(EPERM);
    }
    drop(tree);
    *target.pgid.lock() = pgid;
    Ok(0)
}

pub fn setsid(task: &mut Task) -> Result<u64> {
    let me = task.pid();
    let tree = task.kernel.tree.lock();
    if !tree.group_members(me).is_empty() {
        // Already a process group leader (or the group exists).
        bail!(EPERM);
    }
    drop(tree);
    *task.tg.sid.lock() = me;
    *task.tg.pgid.lock() = me;
    *task.tg.tty.lock() = None;
    Ok(me as u64)
}

pub fn exit(task: &mut Task, code: i32) -> Result<u64> {
    task.exit_thread(ExitStatus::Exited(code & 0xff));
    Ok(0)
}

pub fn exit_group(task: &mut Task, code: i32) -> Result<u64> {
    task.exit_group(ExitStatus::Exited(code & 0xff));
    Ok(0)
}

/// Waits for a child state change per `target` and `opts`; returns (pid, event), or
/// None with WNOHANG when nothing is ready yet.
fn wait_child(
    task: &mut Task,
    target: WaitTarget,
    opts: WaitOptions,
    nohang: bool,
) -> Result<Option<(i32, ChildEvent, Usage)>> {
    let kernel = task.kernel.clone();
    let me = task.pid();
    let tg = task.tg.clone();
    let result = block_until(&[&tg.child_events], None, || {
        match kernel.tree.lock().try_wait(me, target, opts) {
            Ok(Some(found)) => Some(Ok(Some(found))),
            Ok(None) if nohang => Some(Ok(None)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    });
    result
}

fn wait_target(task: &Task, pid: i32) -> WaitTarget {
    match pid {
        -1 => WaitTarget::Any,
        0 => WaitTarget::Group(*task.tg.pgid.lock()),
        p if p < 0 => WaitTarget::Group(-p),
        p => WaitTarget::Pid(p),
    }
}

pub fn wait4(task: &mut Task, pid: i32, status: u64, options: i32, rusage: u64) -> Result<u64> {
    let known = libc::WNOHANG
        | libc::WUNTRACED
        | libc::WCONTINUED
        | libc::__WALL
        | libc::__WCLONE
        | libc::__WNOTHREAD;
    if options & !known != 0 || pid == i32::MIN {
        bail!(EINVAL);
    }
    let opts = WaitOptions {
        exited: true,
        stopped: options & libc::WUNTRACED != 0,
        continued: options & libc::WCONTINUED != 0,
        keep: false,
    };
    let target = wait_target(task, pid);
    match wait_child(task, target, opts, options & libc::WNOHANG != 0)? {
        None => Ok(0),
        Some((child, ev, usage)) => {
            if status != 0 {
                task.mm.write_obj(status, &ev.wait_status())?;
            }
            if rusage != 0 {
                write_rusage(task, rusage, &usage)?;
            }
            Ok(child as u64)
        }
    }
}

pub fn waitid(
    task: &mut Task,
    idtype: i32,
    id: i32,
    infop: u64,
    options: i32,
    rusage: u64,
) -> Result<u64> {
    let known = libc::WNOHANG
        | libc::WEXITED
        | libc::WSTOPPED
        | libc::WCONTINUED
        | libc::WNOWAIT
        | libc::__WALL
        | libc::__WCLONE
        | libc::__WNOTHREAD;
    if options & !known != 0 || options & (libc::WEXITED | libc::WSTOPPED | libc::WCONTINUED) == 0 {
        bail!(EINVAL);
    }
    // A pidfd opened O_NONBLOCK makes the wait WNOHANG, with EAGAIN for "nothing yet".
    let mut nohang = options & libc::WNOHANG != 0;
    let mut eagain = false;
    let target = match idtype as u32 {
        libc::P_ALL => WaitTarget::Any,
        libc::P_PID if id > 0 => WaitTarget::Pid(id),
        libc::P_PGID if id >= 0 => {
            WaitTarget::Group(if id == 0 { *task.tg.pgid.lock() } else { id })
        }
        libc::P_PIDFD => {
            let (pid, nonblocking) = crate::events::pidfd_pid(task, id)?;
            eagain = nonblocking && !nohang;
            nohang |= nonblocking;
            WaitTarget::Pid(pid)
        }
        _ => bail!(EINVAL),
    };
    let opts = WaitOptions {
        exited: options & libc::WEXITED != 0,
        stopped: options & libc::WSTOPPED != 0,
        continued: options & libc::WCONTINUED != 0,
        keep: options & libc::WNOWAIT != 0,
    };
    let found = wait_child(task, target, opts, nohang)?;
    if found.is_none() && eagain {
        bail!(EAGAIN);
    }
    if infop != 0 {
        let info = match found {
            Some((pid, ev, usage)) => {
                let (code, st) = ev.code_and_status();
                let (utime, stime) = clock_ticks(usage.times);
                SigInfo::child(code, pid, task.creds.uid, st, utime, stime)
            }
            // WNOHANG with nothing to report: a zeroed siginfo.
            None => zerocopy::FromZeros::new_zeroed(),
        };
        task.mm.write_obj(infop, &info)?;
    }
    if rusage != 0 {
        let usage = found.map(|(_, _, u)| u).unwrap_or_default();
        write_rusage(task, rusage, &usage)?;
    }
    Ok(0)
}

fn clone_args(flags: u64, stack: u64, parent_tid: u64, child_tid: u64, tls: u64) -> CloneArgs {
    CloneArgs {
        flags: flags & !0xff,
        exit_signal: (flags & 0xff) as i32,
        stack,
        parent_tid,
        child_tid,
        tls,
    }
}

pub fn clone(
    task: &mut Task,
    flags: u64,
    stack: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
) -> Result<u64> {
    Ok(task.clone_task(clone_args(flags, stack, parent_tid, child_tid, tls))? as u64)
}

pub fn fork(task: &mut Task) -> Result<u64> {
    Ok(task.clone_task(clone_args(libc::SIGCHLD as u64, 0, 0, 0, 0))? as u64)
}

pub fn vfork(task: &mut Task) -> Result<u64> {
    let flags = clone_flags::CLONE_VM | clone_flags::CLONE_VFORK | libc::SIGCHLD as u64;
    Ok(task.clone_task(clone_args(flags, 0, 0, 0, 0))? as u64)
}

/// `struct clone_args` of clone3 (the fields up to cgroup; later ones must be zero).
#[derive(
    Clone,
    Copy,
    Default,
    zerocopy::FromBytes,
    zerocopy::IntoBytes,
    zerocopy::Immutable,
    zerocopy::KnownLayout,
)]
#[repr(C)]
struct Clone3Args {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

pub fn clone3(task: &mut Task, uargs: u64, size: usize) -> Result<u64> {
    const VER0: usize = 64;
    if !(VER0..=4096).contains(&size) {
        bail!(EINVAL);
    }
    let raw = task.mm.read_bytes(uargs, size)?;
    let mut a = Clone3Args::default();
    let n = size.min(std::mem::size_of::<Clone3Args>());
    zerocopy::IntoBytes::as_mut_bytes(&mut a)[..n].copy_from_slice(&raw[..n]);
    if raw[n..].iter().any(|&b| b != 0) {
        bail!(E2BIG);
    }
    if a.exit_signal > 64 || a.flags & 0xff != 0 || a.set_tid != 0 || a.set_tid_size != 0 {
        bail!(EINVAL);
    }
    if (a.stack == 0) != (a.stack_size == 0) {
        bail!(EINVAL);
    }
    let stack = if a.stack != 0 {
        a.stack + a.stack_size
    } else {
        0
    };
    let args = CloneArgs {
        flags: a.flags,
        exit_signal: a.exit_signal as i32,
        stack,
        parent_tid: a.parent_tid,
        child_tid: a.child_tid,
        tls: a.tls,
    };
    Ok(task.clone_task(args)? as u64)
}

/// Reads a NULL-terminated array of string pointers (argv/envp).
fn read_string_array(task: &Task, addr: u64) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    loop {
        let ptr: u64 = task.mm.read_obj(addr + out.len() as u64 * 8)?;
        if ptr == 0 {
            return Ok(out);
        }
        if out.len() >= MAX_ARG_STRINGS {
            bail!(E2BIG);
        }
        out.push(task.mm.read_cstring(ptr, 32 * 4096).map_err(|e| {
            if e.code() == libc::ENAMETOOLONG {
                errno!(E2BIG)
            } else {
                e
            }
        })?);
    }
}

pub fn execve(task: &mut Task, path: u64, argv: u64, envp: u64) -> Result<u64> {
    let path = read_path(task, path)?;
    let argv = read_string_array(task, argv)?;
    let envp = read_string_array(task, envp)?;
    sentry::loader::execve(task, &path, argv, envp)?;
    Ok(0)
}

pub fn execveat(
    task: &mut Task,
    dirfd: i32,
    path: u64,
    argv: u64,
    envp: u64,
    flags: i32,
) -> Result<u64> {
    if flags & !(libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW) != 0 {
        bail!(EINVAL);
    }
    let rel = read_path(task, path)?;
    let p = task.lookup_at(
        dirfd,
        &rel,
        flags & libc::AT_SYMLINK_NOFOLLOW == 0,
        flags & libc::AT_EMPTY_PATH != 0,
    )?;
    if p.file_type() == sentry::vfs::FileType::Symlink {
        bail!(ELOOP);
    }
    let (abs, _) = task.absolute_path(&p);
    let argv = read_string_array(task, argv)?;
    let envp = read_string_array(task, envp)?;
    sentry::loader::execve(task, &abs, argv, envp)?;
    Ok(0)
}

pub fn set_tid_address(task: &mut Task, addr: u64) -> Result<u64> {
    task.clear_child_tid = addr;
    Ok(task.tid as u64)
}

pub fn set_robust_list(task: &mut Task, head: u64, len: usize) -> Result<u64> {
    if len != 24 {
        bail!(EINVAL);
    }
    task.robust_list = (head, len as u64);
    Ok(0)
}

pub fn get_robust_list(task: &mut Task, pid: i32, head: u64, len: u64) -> Result<u64> {
    if pid != 0 && pid != task.tid {
        bail!(ESRCH);
    }
    let (h, l) = task.robust_list;
    task.mm.write_obj(head, &h)?;
    task.mm.write_obj(len, &l)?;
    Ok(0)
}

const ARCH_SET_GS: i32 = 0x1001;
const ARCH_SET_FS: i32 = 0x1002;
const ARCH_GET_FS: i32 = 0x1003;
const ARCH_GET_GS: i32 = 0x1004;
const ARCH_GET_CPUID: i32 = 0x1011;
const ARCH_SET_CPUID: i32 = 0x1012;

fn canonical(addr: u64) -> bool {
    addr < 0x0000_8000_0000_0000
}

pub fn arch_prctl(task: &mut Task, code: i32, addr: u64) -> Result<u64> {
    match code {
        ARCH_SET_FS => {
            if !canonical(addr) {
                bail!(EPERM);
            }
            task.regs.0.fs_base = addr;
            Ok(0)
        }
        ARCH_SET_GS => {
            if !canonical(addr) {
                bail!(EPERM);
            }
            task.regs.0.gs_base = addr;
            Ok(0)
        }
        ARCH_GET_FS => {
            let v = task.regs.0.fs_base;
            task.mm.write_obj(addr, &v)?;
            Ok(0)
        }
        ARCH_GET_GS => {
            let v = task.regs.0.gs_base;
            task.mm.write_obj(addr, &v)?;
            Ok(0)
        }
        ARCH_GET_CPUID => Ok(1),
        ARCH_SET_CPUID => Err(errno!(ENODEV)),
        _ => Err(errno!(EINVAL)),
    }
}

pub fn prctl(
    task: &mut Task,
    option: i32,
    arg2: u64,
    arg3: u64,
    arg4: u64,
    arg5: u64,
) -> Result<u64> {
    if let Some(r) = crate::creds::cap_prctl(task, option, [arg2, arg3, arg4, arg5]) {
        return r;
    }
    match option {
        libc::PR_SET_NAME => {
            let mut name = [0u8; 16];
            task.mm.copy_in(arg2, &mut name[..1])?;
            // Copy up to 16 bytes, stopping at a NUL (a short string may end before an
            // unmapped page).
            let s = task
                .mm
                .read_cstring(arg2, 4096)
                .or_else(|_| task.mm.read_bytes(arg2, 16))?;
            task.set_comm(&s);
            Ok(0)
        }
        libc::PR_GET_NAME => {
            let mut name = [0u8; 16];
            let comm = task.comm();
            name[..comm.len()].copy_from_slice(&comm);
            task.mm.copy_out(arg2, &name)?;
            Ok(0)
        }
        libc::PR_SET_PDEATHSIG => {
            if arg2 > 64 {
                bail!(EINVAL);
            }
            Ok(0)
        }
        libc::PR_GET_DUMPABLE => Ok(1),
        libc::PR_SET_DUMPABLE => {
            if arg2 > 1 {
                bail!(EINVAL);
            }
            Ok(0)
        }
        libc::PR_SET_NO_NEW_PRIVS => {
            if arg2 != 1 {
                bail!(EINVAL);
            }
            task.creds.no_new_privs = true;
            Ok(0)
        }
        libc::PR_GET_NO_NEW_PRIVS => Ok(u64::from(task.creds.no_new_privs)),
        libc::PR_GET_SECCOMP => Ok(u64::from(sentry::kernel::seccomp::mode(task))),
        libc::PR_SET_SECCOMP => crate::seccomp::prctl_set(task, arg2, arg3),
        libc::PR_SET_CHILD_SUBREAPER => {
            task.kernel.tree.lock().set_subreaper(task.pid(), arg2 != 0);
            Ok(0)
        }
        libc::PR_GET_CHILD_SUBREAPER => {
            let v = task.kernel.tree.lock().is_subreaper(task.pid()) as i32;
            task.mm.write_obj(arg2, &v)?;
            Ok(0)
        }
        _ => Err(errno!(EINVAL, "prctl option {option} not supported")),
    }
}

fn resource(r: u32) -> Result<usize> {
    if r as usize >= NLIMITS {
        bail!(EINVAL);
    }
    Ok(r as usize)
}

pub fn getrlimit(task: &mut Task, res: u32, old: u64) -> Result<u64> {
    let r = resource(res)?;
    let v = task.tg.limits.lock().0[r];
    task.mm.write_obj(old, &v)?;
    Ok(0)
}

pub fn setrlimit(task: &mut Task, res: u32, new: u64) -> Result<u64> {
    prlimit64(task, 0, res, new, 0)
}

pub fn prlimit64(task: &mut Task, pid: i32, res: u32, new: u64, old: u64) -> Result<u64> {
    if pid < 0 {
        bail!(EINVAL);
    }
    if pid != 0 && pid != task.pid() {
        bail!(ESRCH);
    }
    let r = resource(res)?;
    let new = if new != 0 {
        Some(task.mm.read_obj::<Rlimit>(new)?)
    } else {
        None
    };
    if let Some(n) = new {
        if n.cur > n.max {
            bail!(EINVAL);
        }
        let cur = task.tg.limits.lock().0[r];
        if n.max > cur.max && !task.creds.capable(sentry::kernel::caps::CAP_SYS_RESOURCE) {
            bail!(EPERM);
        }
        if r == libc::RLIMIT_NOFILE as usize && n.max != INFINITY && n.max > 1 << 20 {
            bail!(EPERM);
        }
    }
    let prev = task.tg.limits.lock().0[r];
    if old != 0 {
        task.mm.write_obj(old, &prev)?;
    }
    if let Some(n) = new {
        task.tg.limits.lock().0[r] = n;
    }
    Ok(0)
}

/// `struct rusage`.
#[derive(Default, zerocopy::IntoBytes, zerocopy::Immutable)]
#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    maxrss: i64,
    ixrss: i64,
    idrss: i64,
    isrss: i64,
    minflt: i64,
    majflt: i64,
    nswap: i64,
    inblock: i64,
    oublock: i64,
    msgsnd: i64,
    msgrcv: i64,
    nsignals: i64,
    nvcsw: i64,
    nivcsw: i64,
}

fn timeval(d: Duration) -> Timeval {
    Timeval {
        tv_sec: d.as_secs() as i64,
        tv_usec: d.subsec_micros() as i64,
    }
}

fn write_rusage(task: &Task, addr: u64, u: &Usage) -> Result<()> {
    let ru = Rusage {
        utime: timeval(u.times.user),
        stime: timeval(u.times.sys),
        maxrss: (u.maxrss_pages * 4) as i64,
        minflt: u.minflt as i64,
        ..Rusage::default()
    };
    task.mm.write_obj(addr, &ru)
}

pub fn getrusage(task: &mut Task, who: i32, usage: u64) -> Result<u64> {
    let u = match who {
        libc::RUSAGE_SELF => task.tg.own_usage(task.mm.resident_pages()),
        libc::RUSAGE_CHILDREN => task.tg.usage.lock().children,
        libc::RUSAGE_THREAD => Usage {
            times: task.shared.cpu.times(),
            minflt: task.shared.cpu.faults(),
            maxrss_pages: task.tg.own_usage(task.mm.resident_pages()).maxrss_pages,
        },
        _ => bail!(EINVAL),
    };
    write_rusage(task, usage, &u)?;
    Ok(0)
}

/// `struct tms`.
#[derive(zerocopy::IntoBytes, zerocopy::Immutable)]
#[repr(C)]
struct Tms {
    utime: u64,
    stime: u64,
    cutime: u64,
    cstime: u64,
}

pub fn times(task: &mut Task, buf: u64) -> Result<u64> {
    if buf != 0 {
        let (utime, stime) = clock_ticks(task.tg.cpu_times());
        let (cutime, cstime) = clock_ticks(task.tg.usage.lock().children.times);
        task.mm.write_obj(
            buf,
            &Tms {
                utime,
                stime,
                cutime,
                cstime,
            },
        )?;
    }
    // Clock ticks since boot (USER_HZ = 100), as Linux returns.
    Ok((task.kernel.uptime_ns() / 10_000_000) as u64)
}

pub fn sched_yield(_task: &mut Task) -> Result<u64> {
    std::thread::yield_now();
    Ok(0)
}

/// CPUs the sandbox may run on: the sentry's own affinity mask (never read from
/// files: the confined sentry opens none).
fn ncpus() -> usize {
    nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map(|set| {
            (0..nix::sched::CpuSet::count())
                .filter(|&c| set.is_set(c).unwrap_or(false))
                .count()
        })
        .unwrap_or(1)
        .max(1)
}

pub fn sched_getaffinity(task: &mut Task, pid: i32, len: usize, mask: u64) -> Result<u64> {
    if pid < 0 {
        bail!(EINVAL);
    }
    if pid != 0 && pid != task.tid {
        bail!(ESRCH);
    }
    let n = ncpus();
    let bytes = n.div_ceil(64) * 8;
    if len < bytes || !len.is_multiple_of(8) {
        bail!(EINVAL);
    }
    let mut set = vec![0u8; bytes];
    for cpu in 0..n {
        set[cpu / 8] |= 1 << (cpu % 8);
    }
    task.mm.copy_out(mask, &set)?;
    Ok(bytes as u64)
}

pub fn sched_setaffinity(task: &mut Task, pid: i32, len: usize, mask: u64) -> Result<u64> {
    if pid < 0 {
        bail!(EINVAL);
    }
    if pid != 0 && pid != task.tid {
        bail!(ESRCH);
    }
    let bytes = task.mm.read_bytes(mask, len.min(1024))?;
    if !bytes.iter().take(ncpus().div_ceil(8)).any(|&b| b != 0) {
        bail!(EINVAL);
    }
    Ok(0)
}

pub fn getcpu(task: &mut Task, cpu: u64, node: u64, _cache: u64) -> Result<u64> {
    let zero: u32 = 0;
    if cpu != 0 {
        task.mm.write_obj(cpu, &zero)?;
    }
    if node != 0 {
        task.mm.write_obj(node, &zero)?;
    }
    Ok(0)
}
