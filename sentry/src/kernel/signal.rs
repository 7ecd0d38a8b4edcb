//! Signal numbers, dispositions and default actions.

use crate::abi::SigAction;

/// Highest signal number.
pub const NSIG: usize = 64;

/// SIG_DFL.
pub const SIG_DFL: u64 = 0;
/// SIG_IGN.
pub const SIG_IGN: u64 = 1;

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

/// The signal actions of a thread group (shared with CLONE_SIGHAND).
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
}

/// The bit of `signo` in a signal set.
pub fn sigmask(signo: i32) -> u64 {
    1u64 << (signo - 1)
}

/// Signals that can be neither caught, blocked nor ignored.
pub const UNBLOCKABLE: u64 = (1 << (libc::SIGKILL - 1)) | (1 << (libc::SIGSTOP - 1));
