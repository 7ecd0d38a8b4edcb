//! Signal numbers, dispositions, default actions, siginfo and pending queues.

use std::collections::VecDeque;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::abi::SigAction;

/// Highest signal number.
pub const NSIG: usize = 64;
/// First real-time signal number.
pub const SIGRTMIN: i32 = 32;

/// SIG_DFL.
pub const SIG_DFL: u64 = 0;
/// SIG_IGN.
pub const SIG_IGN: u64 = 1;

/// sa_flags bits.
pub const SA_NOCLDSTOP: u64 = 0x1;
/// Do not create zombies.
pub const SA_NOCLDWAIT: u64 = 0x2;
/// The handler takes (signo, siginfo, ucontext).
pub const SA_SIGINFO: u64 = 0x4;
/// sa_restorer is valid.
pub const SA_RESTORER: u64 = 0x0400_0000;
/// Run the handler on the alternate stack.
pub const SA_ONSTACK: u64 = 0x0800_0000;
/// Restart interrupted syscalls.
pub const SA_RESTART: u64 = 0x1000_0000;
/// Do not block the signal in its own handler.
pub const SA_NODEFER: u64 = 0x4000_0000;
/// Reset to SIG_DFL when the handler runs.
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// si_code values.
pub const SI_USER: i32 = 0;
/// Sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// Sent by sigqueue.
pub const SI_QUEUE: i32 = -1;
/// Sent by tkill/tgkill.
pub const SI_TKILL: i32 = -6;

/// What a signal does when its disposition is SIG_DFL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    /// Terminate the process.
    Terminate,
    /// Terminate and dump core.
    Core,
    /// Stop the process.
    Stop,
    /// Continue a stopped process.
    Continue,
    /// Nothing.
    Ignore,
}

/// The default action of `signo` (signal(7)).
pub fn default_action(signo: i32) -> DefaultAction {
    match signo {
        libc::SIGQUIT
        | libc::SIGILL
        | libc::SIGTRAP
        | libc::SIGABRT
        | libc::SIGBUS
        | libc::SIGFPE
        | libc::SIGSEGV
        | libc::SIGXCPU
        | libc::SIGXFSZ
        | libc::SIGSYS => DefaultAction::Core,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => DefaultAction::Stop,
        libc::SIGCONT => DefaultAction::Continue,
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH => DefaultAction::Ignore,
        _ => DefaultAction::Terminate,
    }
}

/// Signals raised synchronously by an instruction; dequeued before any other.
pub const SYNCHRONOUS: u64 = sigmask(libc::SIGSEGV)
    | sigmask(libc::SIGBUS)
    | sigmask(libc::SIGILL)
    | sigmask(libc::SIGTRAP)
    | sigmask(libc::SIGFPE)
    | sigmask(libc::SIGSYS);

/// The signal actions of a thread group.
#[derive(Clone)]
pub struct SignalActions {
    actions: [SigAction; NSIG + 1],
}

impl Default for SignalActions {
    fn default() -> SignalActions {
        SignalActions {
            actions: [SigAction::default(); NSIG + 1],
        }
    }
}

impl SignalActions {
    /// The action of `signo` (1..=64).
    pub fn get(&self, signo: usize) -> SigAction {
        self.actions[signo]
    }

    /// Replaces the action of `signo`, returning the old one.
    pub fn set(&mut self, signo: usize, action: SigAction) -> SigAction {
        std::mem::replace(&mut self.actions[signo], action)
    }

    /// On execve: caught signals revert to SIG_DFL; ignored ones stay ignored.
    pub fn reset_for_exec(&mut self) {
        for a in self.actions.iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
    }

    /// Whether `signo` would be discarded on arrival (ignored explicitly or by default).
    pub fn is_ignored(&self, signo: i32) -> bool {
        let a = self.actions[signo as usize];
        a.handler == SIG_IGN
            || (a.handler == SIG_DFL && default_action(signo) == DefaultAction::Ignore)
    }
}

/// The bit of `signo` in a signal set.
pub const fn sigmask(signo: i32) -> u64 {
    1u64 << (signo - 1)
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = sigmask(libc::SIGKILL) | sigmask(libc::SIGSTOP);

/// `siginfo_t` (128 bytes): the common header and the union as raw fields.
#[derive(Clone, Copy, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct SigInfo {
    /// Signal number.
    pub signo: i32,
    /// errno (0 but for seccomp's SIGSYS, which carries the filter's data here).
    pub errno: i32,
    /// si_code.
    pub code: i32,
    pad: i32,
    /// The union, as 8-byte words: kill: pid|uid in [0]; fault: addr in [0];
    /// chld: pid|uid in [0], status in [1] (low half), utime [2], stime [3];
    /// rt/queue: pid|uid in [0], value in [1]; sys: call address in [0], syscall
    /// number (low half) and arch (high half) in [1].
    pub fields: [u64; 14],
}

const _: () = assert!(std::mem::size_of::<SigInfo>() == 128);

impl SigInfo {
    fn new(signo: i32, code: i32) -> SigInfo {
        SigInfo {
            signo,
            errno: 0,
            code,
            pad: 0,
            fields: [0; 14],
        }
    }

    /// Sent by a process (kill, tkill, tgkill).
    pub fn from_process(signo: i32, code: i32, pid: i32, uid: u32) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.fields[0] = (pid as u32 as u64) | ((uid as u64) << 32);
        i
    }

    /// Raised by the kernel itself (SI_KERNEL), e.g. a fatal signal at exit.
    pub fn kernel(signo: i32) -> SigInfo {
        SigInfo::new(signo, SI_KERNEL)
    }

    /// A fault at `addr`.
    pub fn fault(signo: i32, code: i32, addr: u64) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.fields[0] = addr;
        i
    }

    /// SIGSYS from a seccomp filter's SECCOMP_RET_TRAP: the address after the
    /// syscall instruction, the call's number and architecture, and the filter's data
    /// in si_errno.
    pub fn seccomp(call_addr: u64, nr: i32, arch: u32, data: i32) -> SigInfo {
        let mut i = SigInfo::new(libc::SIGSYS, super::seccomp::SYS_SECCOMP);
        i.errno = data;
        i.fields[0] = call_addr;
        i.fields[1] = (nr as u32 as u64) | (u64::from(arch) << 32);
        i
    }

    /// A child changed state.
    pub fn child(code: i32, pid: i32, uid: u32, status: i32, utime: u64, stime: u64) -> SigInfo {
        let mut i = SigInfo::new(libc::SIGCHLD, code);
        i.fields[0] = (pid as u32 as u64) | ((uid as u64) << 32);
        i.fields[1] = status as u32 as u64;
        i.fields[2] = utime;
        i.fields[3] = stime;
        i
    }
}

/// Pending signals of a task or a thread group.
#[derive(Default)]
pub struct PendingSignals {
    set: u64,
    queue: VecDeque<SigInfo>,
}

/// The most real-time signals queued at once per queue (RLIMIT_SIGPENDING in spirit).
const MAX_QUEUED: usize = 4096;

impl PendingSignals {
    /// The set of pending signal numbers.
    pub fn set(&self) -> u64 {
        self.set
    }

    /// Queues `info`. A standard signal already pending is not queued twice; real-time
    /// signals queue up to a limit. Returns false if it was dropped.
    pub fn enqueue(&mut self, info: SigInfo) -> bool {
        let bit = sigmask(info.signo);
        if info.signo < SIGRTMIN && self.set & bit != 0 {
            return false;
        }
        if self.queue.len() >= MAX_QUEUED {
            return false;
        }
        self.set |= bit;
        self.queue.push_back(info);
        true
    }

    /// Takes the next deliverable signal not in `blocked`: synchronous ones first, then
    /// the lowest number, in arrival order within a number.
    pub fn dequeue(&mut self, blocked: u64) -> Option<SigInfo> {
        let ready = self.set & !blocked;
        if ready == 0 {
            return None;
        }
        let pick = if ready & SYNCHRONOUS != 0 {
            ready & SYNCHRONOUS
        } else {
            ready
        };
        let signo = pick.trailing_zeros() as i32 + 1;
        let idx = self.queue.iter().position(|i| i.signo == signo)?;
        let info = self.queue.remove(idx)?;
        if !self.queue.iter().any(|i| i.signo == signo) {
            self.set &= !sigmask(signo);
        }
        Some(info)
    }

    /// Drops every pending instance of the signals in `mask` (e.g. SIGCONT discards stops).
    pub fn discard(&mut self, mask: u64) {
        self.queue.retain(|i| sigmask(i.signo) & mask == 0);
        self.set &= !mask;
    }
}

/// An alternate signal stack (sigaltstack).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    /// Base address.
    pub sp: u64,
    /// Size (0: disabled).
    pub size: u64,
    /// SS_AUTODISARM was requested.
    pub autodisarm: bool,
}

/// SS_ONSTACK.
pub const SS_ONSTACK: i32 = 1;
/// SS_DISABLE.
pub const SS_DISABLE: i32 = 2;
/// SS_AUTODISARM.
pub const SS_AUTODISARM: i32 = 1 << 31;

impl AltStack {
    /// Whether `sp` is on this stack.
    pub fn contains(&self, sp: u64) -> bool {
        self.size != 0 && sp > self.sp && sp - self.sp <= self.size
    }

    /// The ss_flags the guest sees for a thread whose stack pointer is `sp`.
    pub fn flags(&self, sp: u64) -> i32 {
        let state = if self.size == 0 {
            SS_DISABLE
        } else if self.contains(sp) {
            SS_ONSTACK
        } else {
            0
        };
        state | if self.autodisarm { SS_AUTODISARM } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_signals_coalesce_and_realtime_signals_queue() {
        let mut p = PendingSignals::default();
        assert!(p.enqueue(SigInfo::kernel(libc::SIGUSR1)));
        assert!(!p.enqueue(SigInfo::kernel(libc::SIGUSR1)));
        assert!(p.enqueue(SigInfo::kernel(SIGRTMIN + 1)));
        assert!(p.enqueue(SigInfo::kernel(SIGRTMIN + 1)));
        assert_eq!(p.dequeue(0).unwrap().signo, libc::SIGUSR1);
        assert_eq!(p.dequeue(0).unwrap().signo, SIGRTMIN + 1);
        assert_eq!(p.set(), sigmask(SIGRTMIN + 1));
        assert_eq!(p.dequeue(0).unwrap().signo, SIGRTMIN + 1);
        assert!(p.dequeue(0).is_none());
    }

    #[test]
    fn blocked_signals_stay_pending_and_synchronous_ones_come_first() {
        let mut p = PendingSignals::default();
        p.enqueue(SigInfo::kernel(libc::SIGHUP));
        p.enqueue(SigInfo::fault(libc::SIGSEGV, 1, 0));
        assert!(p
            .dequeue(sigmask(libc::SIGHUP) | sigmask(libc::SIGSEGV))
            .is_none());
        assert_eq!(p.dequeue(0).unwrap().signo, libc::SIGSEGV);
        assert_eq!(p.dequeue(0).unwrap().signo, libc::SIGHUP);
    }
}
