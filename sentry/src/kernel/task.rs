//! Tasks (guest threads), thread groups (guest processes) and the task run loop.

use std::sync::Arc;

use parking_lot::Mutex;
use tracing::{debug, warn};

use super::creds::Credentials;
use super::fd_table::FdTable;
use super::fs_context::FsContext;
use super::limits::Limits;
use super::signal::{default_action, DefaultAction, SignalActions};
use super::Kernel;
use crate::errno;
use crate::errno::Result;
use crate::mm::{FaultSignal, MemoryManager};
use crate::platform::{Context, Event, Regs};

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// exit(2) with this code (0..=255).
    Exited(i32),
    /// Killed by a signal.
    Signaled {
        /// The signal.
        signo: i32,
        /// Whether it dumped core (as the wait status reports; moat never writes one).
        core: bool,
    },
}

impl ExitStatus {
    /// The status word wait4 reports.
    pub fn wait_status(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => (code & 0xff) << 8,
            ExitStatus::Signaled { signo, core } => signo | if core { 0x80 } else { 0 },
        }
    }

    /// The exit code a shell reports: the code, or 128+N for signal N.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => code & 0xff,
            ExitStatus::Signaled { signo, .. } => 128 + signo,
        }
    }
}

/// The system call table the run loop dispatches to. The `syscalls` crate implements
/// it and hands it to the kernel at boot.
pub trait SyscallTable: Send + Sync {
    /// Runs system call `nr` for `task`; the value or errno is what the guest sees.
    fn invoke(&self, task: &mut Task, nr: u64, args: [u64; 6]) -> Result<u64>;
}

/// A guest process: the state its threads share.
pub struct ThreadGroup {
    /// Process id (the leader's tid).
    pub tgid: i32,
    /// Parent process id as the guest sees it (0 for the sandbox's init).
    pub ppid: i32,
    /// Process group.
    pub pgid: Mutex<i32>,
    /// Session.
    pub sid: Mutex<i32>,
    /// Signal dispositions.
    pub actions: Mutex<SignalActions>,
    /// Resource limits.
    pub limits: Mutex<Limits>,
    /// Set once the group has exited.
    pub exit_status: Mutex<Option<ExitStatus>>,
}

impl ThreadGroup {
    /// A new thread group led by `tgid`.
    pub fn new(tgid: i32, ppid: i32) -> Arc<ThreadGroup> {
        Arc::new(ThreadGroup {
            tgid,
            ppid,
            pgid: Mutex::new(tgid),
            sid: Mutex::new(tgid),
            actions: Mutex::default(),
            limits: Mutex::default(),
            exit_status: Mutex::new(None),
        })
    }

    /// The soft limit of an RLIMIT_* resource.
    pub fn limit(&self, resource: u32) -> u64 {
        self.limits.lock().cur(resource)
    }
}

/// A guest thread. It runs on its own host thread: `run` loops switching into guest
/// code and handling what stopped it.
pub struct Task {
    /// The kernel.
    pub kernel: Arc<Kernel>,
    /// Thread id.
    pub tid: i32,
    /// The process.
    pub tg: Arc<ThreadGroup>,
    /// Address space.
    pub mm: Arc<MemoryManager>,
    /// File descriptors.
    pub files: Arc<FdTable>,
    /// Root, cwd, umask.
    pub fs: Arc<FsContext>,
    /// Credentials.
    pub creds: Credentials,
    /// Guest registers.
    pub regs: Regs,
    /// The platform context this task's guest code runs in.
    pub ctx: Box<dyn Context>,
    /// Blocked signals.
    pub signal_mask: u64,
    /// set_tid_address / CLONE_CHILD_CLEARTID.
    pub clear_child_tid: u64,
    /// set_robust_list head and length.
    pub robust_list: (u64, u64),
    /// The command name (comm), at most 15 bytes.
    pub comm: Vec<u8>,
    /// Set when the task must stop: it leaves the run loop with this status.
    pub exit: Option<ExitStatus>,
}

impl Task {
    /// The process id.
    pub fn pid(&self) -> i32 {
        self.tg.tgid
    }

    /// Ends the whole thread group with `status` (exit_group, fatal signals).
    pub fn exit_group(&mut self, status: ExitStatus) {
        let mut st = self.tg.exit_status.lock();
        if st.is_none() {
            *st = Some(status);
        }
        self.exit = Some(st.expect("just set"));
    }

    /// Runs the task until it exits; returns how its process ended.
    pub fn run(mut self) -> ExitStatus {
        let table = self.kernel.syscalls.clone();
        loop {
            if let Some(status) = self.exit {
                debug!(tid = self.tid, ?status, "task exits");
                return status;
            }
            let space = self.mm.address_space().clone();
            let event = match self.ctx.switch(&space, &mut self.regs) {
                Ok(ev) => ev,
                Err(e) => {
                    warn!(
                        tid = self.tid,
                        "platform failure, killing the process: {e:?}"
                    );
                    self.exit_group(ExitStatus::Signaled {
                        signo: libc::SIGKILL,
                        core: false,
                    });
                    continue;
                }
            };
            match event {
                Event::Syscall => {
                    let nr = self.regs.syscall_nr();
                    let args = self.regs.syscall_args();
                    let ret = match table.invoke(&mut self, nr, args) {
                        Ok(v) => v,
                        Err(e) if e.is_restart() => errno!(EINTR).as_return(),
                        Err(e) => e.as_return(),
                    };
                    self.regs.set_return(ret);
                }
                Event::Fault { addr, code } => match self.mm.handle_fault(addr, code) {
                    Ok(None) => {}
                    Ok(Some(sig)) => self.force_signal(sig),
                    Err(e) => {
                        warn!(tid = self.tid, addr, "fault could not be resolved: {e:?}");
                        self.force_signal(FaultSignal {
                            signo: libc::SIGBUS,
                            code: 2,
                            addr,
                        });
                    }
                },
                Event::Trap { signo, code, addr } => {
                    self.force_signal(FaultSignal { signo, code, addr })
                }
                Event::Interrupted => {}
            }
        }
    }

    /// Delivers a synchronous signal raised by the guest's own instruction.
    ///
    /// Until signal frames exist (the processes issue), a caught synchronous signal
    /// cannot be handed to its handler, so every such signal takes its default action.
    fn force_signal(&mut self, sig: FaultSignal) {
        debug!(tid = self.tid, ?sig, regs = ?self.regs, "synchronous signal");
        for v in self.mm.vmas() {
            debug!("  vma {:#x}-{:#x} {:?}", v.start, v.end, v.prot);
        }
        self.exit_group(match default_action(sig.signo) {
            DefaultAction::Core => ExitStatus::Signaled {
                signo: sig.signo,
                core: true,
            },
            _ => ExitStatus::Signaled {
                signo: sig.signo,
                core: false,
            },
        });
    }

    /// Delivers signal `signo` sent to this task's process (kill, tgkill, SIGPIPE).
    ///
    /// Ignored signals are dropped; signals whose action is the default take it
    /// (terminate, core); caught signals cannot be delivered yet and are recorded as
    /// unsupported (ENOSYS to the sender) — full delivery comes with the processes issue.
    pub fn send_signal_to_self(&mut self, signo: i32) -> Result<()> {
        let action = self.tg.actions.lock().get(signo as usize);
        let blocked = self.signal_mask & super::signal::sigmask(signo) != 0;
        if action.handler == super::signal::SIG_IGN
            && signo != libc::SIGKILL
            && signo != libc::SIGSTOP
        {
            return Ok(());
        }
        if action.handler != super::signal::SIG_DFL && signo != libc::SIGKILL {
            return Err(errno!(
                ENOSYS,
                "delivering caught signal {signo} needs signal frames"
            ));
        }
        if blocked && signo != libc::SIGKILL {
            return Err(errno!(ENOSYS, "pending signals are not supported yet"));
        }
        match default_action(signo) {
            DefaultAction::Ignore | DefaultAction::Continue => Ok(()),
            DefaultAction::Stop => Err(errno!(ENOSYS, "job control stops are not supported yet")),
            DefaultAction::Core => {
                self.exit_group(ExitStatus::Signaled { signo, core: true });
                Ok(())
            }
            DefaultAction::Terminate => {
                self.exit_group(ExitStatus::Signaled { signo, core: false });
                Ok(())
            }
        }
    }
}
