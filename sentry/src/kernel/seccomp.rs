//! seccomp for guests: strict mode and per-task chains of classic-BPF filters, checked
//! by the run loop before a system call is dispatched.
//!
//! A chain is an immutable linked list of [`Filter`]s, newest first, shared by every
//! task that inherited it (clone and fork copy the pointer, execve keeps it). Each task
//! keeps its own copy of its mode in the [`Task`], so a task without seccomp pays one
//! comparison per system call; the authoritative copy lives in its [`TaskShared`],
//! where another thread of the process may replace it (SECCOMP_FILTER_FLAG_TSYNC) and
//! raise a flag the task checks at its next system call.
//!
//! Lock order: the process's task list, then the caller's state, then one other
//! thread's state at a time.
//!
//! User notification (SECCOMP_FILTER_FLAG_NEW_LISTENER) is not offered: the flag is
//! EINVAL and SECCOMP_GET_ACTION_AVAIL denies SECCOMP_RET_USER_NOTIF, as on a kernel
//! without it; a filter that returns USER_NOTIF anyway has no listener, and the call
//! fails with ENOSYS as Linux's does then.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tracing::debug;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::bpf::{Instruction, Program, SeccompData, AUDIT_ARCH_X86_64};
use super::signal::SigInfo;
use super::task::{ExitStatus, Task, TaskShared};
use crate::errno::Result;
use crate::{bail, errno};

/// seccomp is off.
pub const SECCOMP_MODE_DISABLED: u32 = 0;
/// Only read, write, exit and rt_sigreturn.
pub const SECCOMP_MODE_STRICT: u32 = 1;
/// BPF filters decide.
pub const SECCOMP_MODE_FILTER: u32 = 2;

/// seccomp(2) operations.
pub const SECCOMP_SET_MODE_STRICT: u32 = 0;
/// Attach a filter.
pub const SECCOMP_SET_MODE_FILTER: u32 = 1;
/// Whether an action is supported.
pub const SECCOMP_GET_ACTION_AVAIL: u32 = 2;
/// Sizes of the user-notification structures.
pub const SECCOMP_GET_NOTIF_SIZES: u32 = 3;

/// Synchronise every thread of the process to the caller's chain.
pub const SECCOMP_FILTER_FLAG_TSYNC: u32 = 1 << 0;
/// Log every action but ALLOW the filter returns.
pub const SECCOMP_FILTER_FLAG_LOG: u32 = 1 << 1;
/// Leave speculative-store-bypass mitigation alone (nothing to do in the sentry).
pub const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u32 = 1 << 2;
/// Return a user-notification fd (not offered).
pub const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 1 << 3;
/// A failed TSYNC returns ESRCH instead of the thread's id.
pub const SECCOMP_FILTER_FLAG_TSYNC_ESRCH: u32 = 1 << 4;
const FILTER_FLAGS: u32 = SECCOMP_FILTER_FLAG_TSYNC
    | SECCOMP_FILTER_FLAG_LOG
    | SECCOMP_FILTER_FLAG_SPEC_ALLOW
    | SECCOMP_FILTER_FLAG_TSYNC_ESRCH;

/// Filter return values: the action in the high half, data in the low.
pub const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
/// Kill the calling thread.
pub const SECCOMP_RET_KILL_THREAD: u32 = 0x0000_0000;
/// SIGSYS to the caller.
pub const SECCOMP_RET_TRAP: u32 = 0x0003_0000;
/// Fail with the errno in the data.
pub const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// Ask the notification listener.
pub const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// Ask the ptrace tracer.
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
/// Allow, and log.
pub const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
/// Allow.
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const RET_ACTION_FULL: u32 = 0xffff_0000;
const RET_DATA: u32 = 0x0000_ffff;

/// si_code of a SIGSYS raised by SECCOMP_RET_TRAP.
pub const SYS_SECCOMP: i32 = 1;

/// The longest chain Linux runs for one system call, counted as instructions plus a
/// penalty of 4 per filter (MAX_INSNS_PER_PATH).
const MAX_INSNS_PER_PATH: usize = 32768;

/// What strict mode allows: read, write, exit, rt_sigreturn.
const STRICT_ALLOWED: [u64; 4] = [0, 1, 60, 15];

/// One attached filter and those attached before it.
#[derive(Debug)]
pub struct Filter {
    program: Program,
    /// SECCOMP_FILTER_FLAG_LOG.
    log: bool,
    prev: Option<Arc<Filter>>,
    /// Filters in the chain ending here (this one included).
    count: usize,
    /// Instructions run for one syscall, with Linux's per-filter penalty.
    path_len: usize,
}

impl Filter {
    fn new(program: Program, log: bool, prev: Option<Arc<Filter>>) -> Result<Filter> {
        let (count, before) = prev.as_ref().map_or((0, 0), |p| (p.count, p.path_len));
        let path_len = before + program.len() + 4;
        if path_len > MAX_INSNS_PER_PATH {
            bail!(ENOMEM, "a filter chain of {path_len} instructions");
        }
        Ok(Filter {
            program,
            log,
            prev,
            count: count + 1,
            path_len,
        })
    }

    /// Runs every filter of the chain; returns the value of highest precedence (the
    /// lowest action, as a signed number; among equals, the newest filter's) and
    /// whether the filter that returned it asked for logging.
    fn run(self: &Arc<Filter>, data: &SeccompData) -> (u32, bool) {
        let words = data.words();
        let precedence = |ret: u32| (ret & RET_ACTION_FULL) as i32;
        let mut best = (SECCOMP_RET_ALLOW, false);
        let mut next = Some(self);
        while let Some(f) = next {
            let ret = f.program.run(&words);
            if precedence(ret) < precedence(best.0) {
                best = (ret, f.log);
            }
            next = f.prev.as_ref();
        }
        best
    }

    /// Whether `self` is `chain` or one of the filters it was built on.
    fn is_ancestor_of(self: &Arc<Filter>, chain: Option<&Arc<Filter>>) -> bool {
        let mut next = chain;
        while let Some(f) = next {
            if Arc::ptr_eq(f, self) {
                return true;
            }
            next = f.prev.as_ref();
        }
        false
    }
}

/// A task's seccomp mode.
#[derive(Clone, Debug, Default)]
pub enum Seccomp {
    /// Off.
    #[default]
    Disabled,
    /// Strict mode.
    Strict,
    /// A filter chain (newest first).
    Filters(Arc<Filter>),
}

impl Seccomp {
    /// The mode number (PR_GET_SECCOMP, /proc/[pid]/status).
    pub fn mode(&self) -> u32 {
        match self {
            Seccomp::Disabled => SECCOMP_MODE_DISABLED,
            Seccomp::Strict => SECCOMP_MODE_STRICT,
            Seccomp::Filters(_) => SECCOMP_MODE_FILTER,
        }
    }

    /// How many filters are attached.
    pub fn filter_count(&self) -> usize {
        match self {
            Seccomp::Filters(f) => f.count,
            _ => 0,
        }
    }

    fn chain(&self) -> Option<&Arc<Filter>> {
        match self {
            Seccomp::Filters(f) => Some(f),
            _ => None,
        }
    }
}

/// The part of a task's seccomp state other threads reach.
#[derive(Default)]
pub struct SharedSeccomp {
    state: Mutex<Seccomp>,
    /// Set by another thread's TSYNC: the task reloads `state` at its next syscall.
    synced: AtomicBool,
    /// The TSYNC caller had no_new_privs, which the synced thread takes on too.
    sync_no_new_privs: AtomicBool,
}

impl SharedSeccomp {
    /// The task's mode as of its last change.
    pub fn get(&self) -> Seccomp {
        self.state.lock().clone()
    }

    /// Replaces the state (a thread taking over the leader's id in execve).
    pub fn set(&self, s: Seccomp) {
        *self.state.lock() = s;
    }
}

impl Task {
    /// The seccomp verdict on the system call the task is entering: None to run it,
    /// or the value it returns without running (or the task is ending).
    #[inline]
    pub(super) fn seccomp_verdict(&mut self, nr: u64, args: [u64; 6]) -> Option<u64> {
        if self.shared.seccomp.synced.load(Ordering::Acquire) {
            self.take_synced_seccomp();
        }
        match &self.seccomp {
            Seccomp::Disabled => None,
            Seccomp::Strict => self.strict_verdict(nr),
            Seccomp::Filters(f) => {
                let data = SeccompData {
                    nr: nr as i32,
                    arch: AUDIT_ARCH_X86_64,
                    instruction_pointer: self.regs.ip(),
                    args,
                };
                let (ret, log) = f.run(&data);
                self.act(nr, &data, ret, log)
            }
        }
    }

    fn take_synced_seccomp(&mut self) {
        let shared = self.shared.clone();
        shared.seccomp.synced.store(false, Ordering::Release);
        self.seccomp = shared.seccomp.get();
        if shared.seccomp.sync_no_new_privs.load(Ordering::Acquire) {
            self.creds.no_new_privs = true;
        }
    }

    fn strict_verdict(&mut self, nr: u64) -> Option<u64> {
        if STRICT_ALLOWED.contains(&nr) {
            return None;
        }
        debug!(tid = self.tid, nr, "seccomp strict mode: SIGKILL");
        // Linux's do_exit(SIGKILL): this thread ends.
        self.kill_thread(libc::SIGKILL, false);
        Some(0)
    }

    fn kill_thread(&mut self, signo: i32, core: bool) {
        let status = ExitStatus::Signaled { signo, core };
        if self.tg.tasks.lock().len() <= 1 {
            self.exit_group(status);
        } else {
            self.exit_thread(status);
        }
    }

    /// Does what the filters' value `ret` says.
    fn act(&mut self, nr: u64, data: &SeccompData, ret: u32, log: bool) -> Option<u64> {
        let action = ret & RET_ACTION_FULL;
        let value = ret & RET_DATA;
        if log && action != SECCOMP_RET_ALLOW || action == SECCOMP_RET_LOG {
            debug!(tid = self.tid, nr, "seccomp action {ret:#x}");
        }
        match action {
            SECCOMP_RET_ALLOW | SECCOMP_RET_LOG => None,
            SECCOMP_RET_ERRNO => Some(errno_return(value.min(4095))),
            SECCOMP_RET_TRAP => {
                // The handler sees the registers of the call: %rax is its number.
                self.force_siginfo(SigInfo::seccomp(
                    data.instruction_pointer,
                    data.nr,
                    data.arch,
                    value as i32,
                ));
                Some(nr)
            }
            // No tracer and no notification listener can be attached to a guest.
            SECCOMP_RET_TRACE | SECCOMP_RET_USER_NOTIF => Some(errno_return(libc::ENOSYS as u32)),
            SECCOMP_RET_KILL_THREAD => {
                debug!(tid = self.tid, nr, "seccomp: thread killed");
                // Linux dumps core (so the status says SIGSYS) when no other thread
                // is left; otherwise only this thread ends.
                self.kill_thread(libc::SIGSYS, true);
                Some(0)
            }
            // KILL_PROCESS, and any action Linux does not know, kill the process.
            _ => {
                debug!(tid = self.tid, nr, "seccomp: process killed");
                self.exit_group(ExitStatus::Signaled {
                    signo: libc::SIGSYS,
                    core: true,
                });
                Some(0)
            }
        }
    }

    /// A new task takes its creator's mode (clone, fork).
    pub(super) fn inherit_seccomp(&self, child: &mut Task) {
        let mut state = child.shared.seccomp.state.lock();
        // The parent's shared copy, not its own: a TSYNC from another thread may have
        // changed it since the parent entered clone.
        *state = self.shared.seccomp.get();
        child.seccomp = state.clone();
    }
}

fn errno_return(code: u32) -> u64 {
    (-i64::from(code)) as u64
}

/// `struct sock_fprog`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct SockFprog {
    len: u16,
    pad: [u8; 6],
    filter: u64,
}

/// `struct seccomp_notif_sizes`.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
struct NotifSizes {
    notif: u16,
    resp: u16,
    data: u16,
}

/// seccomp(SECCOMP_SET_MODE_STRICT) and prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT).
pub fn set_mode_strict(task: &mut Task) -> Result<u64> {
    let shared = task.shared.clone();
    let mut state = shared.seccomp.state.lock();
    match *state {
        Seccomp::Filters(_) => bail!(EINVAL, "strict mode over filters"),
        Seccomp::Disabled | Seccomp::Strict => {}
    }
    *state = Seccomp::Strict;
    task.seccomp = Seccomp::Strict;
    Ok(0)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) and prctl(PR_SET_SECCOMP,
/// SECCOMP_MODE_FILTER, prog): attaches the filter at `prog` (a `struct sock_fprog`).
/// 0, or with TSYNC the id of a thread that cannot be synchronised.
pub fn set_mode_filter(task: &mut Task, flags: u32, prog: u64) -> Result<u64> {
    if flags & !FILTER_FLAGS != 0 {
        bail!(EINVAL, "seccomp filter flags {flags:#x}");
    }
    let fprog: SockFprog = task.mm.read_obj(prog)?;
    let len = usize::from(fprog.len);
    if len == 0 || len > super::bpf::MAX_INSNS {
        bail!(EINVAL, "a filter of {len} instructions");
    }
    if !task.creds.no_new_privs && !task.creds.capable(super::caps::CAP_SYS_ADMIN) {
        bail!(EACCES, "a filter needs no_new_privs or CAP_SYS_ADMIN");
    }
    let bytes = task
        .mm
        .read_bytes(fprog.filter, len * std::mem::size_of::<Instruction>())?;
    let insns = <[Instruction]>::ref_from_bytes(&bytes)
        .map_err(|_| errno!(EFAULT))?
        .to_vec();
    let program = Program::new(&insns)?;
    attach(task, program, flags)
}

/// Attaches `program` to a task the sentry starts (an OCI config's `linux.seccomp`),
/// whatever its privileges.
pub fn install(task: &mut Task, program: Program) -> Result<()> {
    attach(task, program, 0).map(|_| ())
}

fn attach(task: &mut Task, program: Program, flags: u32) -> Result<u64> {
    let tg = task.tg.clone();
    let tasks = tg.tasks.lock();
    let mut mine = task.shared.seccomp.state.lock();
    if matches!(*mine, Seccomp::Strict) {
        bail!(EINVAL, "filters over strict mode");
    }
    let prev = mine.chain().cloned();
    let filter = Arc::new(Filter::new(
        program,
        flags & SECCOMP_FILTER_FLAG_LOG != 0,
        prev.clone(),
    )?);
    let others = || tasks.iter().filter(|t| !Arc::ptr_eq(t, &task.shared));
    let tsync = flags & SECCOMP_FILTER_FLAG_TSYNC != 0;
    if tsync {
        if let Some(t) = others().find(|t| !can_sync(t, prev.as_ref())) {
            if flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH != 0 {
                bail!(ESRCH);
            }
            return Ok(t.tid as u64);
        }
    }
    *mine = Seccomp::Filters(filter.clone());
    task.seccomp = mine.clone();
    if tsync {
        for t in others() {
            t.seccomp.set(Seccomp::Filters(filter.clone()));
            if task.creds.no_new_privs {
                t.seccomp.sync_no_new_privs.store(true, Ordering::Release);
            }
            t.seccomp.synced.store(true, Ordering::Release);
        }
    }
    Ok(0)
}

/// Whether TSYNC may give `t` the caller's chain (built on `chain`): it has no
/// filter, or its chain is part of the caller's.
fn can_sync(t: &TaskShared, chain: Option<&Arc<Filter>>) -> bool {
    match &*t.seccomp.state.lock() {
        Seccomp::Disabled => true,
        Seccomp::Strict => false,
        Seccomp::Filters(f) => f.is_ancestor_of(chain),
    }
}

/// seccomp(SECCOMP_GET_ACTION_AVAIL): 0 if the action at `addr` is supported.
pub fn get_action_avail(task: &mut Task, addr: u64) -> Result<u64> {
    let action: u32 = task.mm.read_obj(addr)?;
    match action {
        SECCOMP_RET_KILL_PROCESS
        | SECCOMP_RET_KILL_THREAD
        | SECCOMP_RET_TRAP
        | SECCOMP_RET_ERRNO
        | SECCOMP_RET_TRACE
        | SECCOMP_RET_LOG
        | SECCOMP_RET_ALLOW => Ok(0),
        _ => Err(errno!(EOPNOTSUPP, "seccomp action {action:#x}")),
    }
}

/// seccomp(SECCOMP_GET_NOTIF_SIZES): the sizes of the notification structures.
pub fn get_notif_sizes(task: &mut Task, addr: u64) -> Result<u64> {
    let sizes = NotifSizes {
        notif: 80,
        resp: 24,
        data: 64,
    };
    task.mm.write_obj(addr, &sizes)?;
    Ok(0)
}

/// PR_GET_SECCOMP: the caller's mode.
pub fn mode(task: &Task) -> u32 {
    task.seccomp.mode()
}

#[cfg(test)]
mod tests {
    use super::super::bpf::code::*;
    use super::*;

    fn ret(k: u32) -> Program {
        Program::new(&[Instruction::stmt(RET | K, k)]).unwrap()
    }

    fn chain(rets: &[u32]) -> Arc<Filter> {
        let mut prev = None;
        for &r in rets {
            prev = Some(Arc::new(Filter::new(ret(r), false, prev).unwrap()));
        }
        prev.unwrap()
    }

    #[test]
    fn the_most_restrictive_action_of_a_chain_wins() {
        let d = SeccompData::default();
        let c = chain(&[SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | 5, SECCOMP_RET_LOG]);
        assert_eq!(c.run(&d).0, SECCOMP_RET_ERRNO | 5);
        let c = chain(&[SECCOMP_RET_ERRNO | 1, SECCOMP_RET_TRAP]);
        assert_eq!(c.run(&d).0, SECCOMP_RET_TRAP);
        let c = chain(&[SECCOMP_RET_KILL_THREAD, SECCOMP_RET_KILL_PROCESS]);
        assert_eq!(c.run(&d).0, SECCOMP_RET_KILL_PROCESS);
    }

    #[test]
    fn among_equal_actions_the_newest_filters_data_wins() {
        let c = chain(&[SECCOMP_RET_ERRNO | 1, SECCOMP_RET_ERRNO | 2]);
        assert_eq!(c.run(&SeccompData::default()).0, SECCOMP_RET_ERRNO | 2);
    }

    #[test]
    fn ancestry_follows_the_chain() {
        let old = chain(&[SECCOMP_RET_ALLOW]);
        let newer =
            Arc::new(Filter::new(ret(SECCOMP_RET_ALLOW), false, Some(old.clone())).unwrap());
        assert!(old.is_ancestor_of(Some(&newer)));
        assert!(!newer.is_ancestor_of(Some(&old)));
        assert!(!old.is_ancestor_of(None));
        assert_eq!(newer.count, 2);
    }

    #[test]
    fn chains_longer_than_linux_runs_per_syscall_are_enomem() {
        let big = Program::new(&vec![Instruction::stmt(RET | K, 0); 4096]).unwrap();
        let mut prev = None;
        for _ in 0..7 {
            prev = Some(Arc::new(Filter::new(big.clone(), false, prev).unwrap()));
        }
        let e = Filter::new(big, false, prev).unwrap_err();
        assert_eq!(e.code(), libc::ENOMEM);
    }
}
