//! The platform: how guest code is run and how guest address spaces are built.
//!
//! A narrow interface (see ARCHITECTURE.md): run a task's guest context until it makes a
//! syscall, faults or is interrupted; map and unmap ranges of the memory file in an
//! address space. `ptrace` is the portable baseline.

pub mod ptrace;
mod regs;
pub mod tsc;

use std::os::fd::BorrowedFd;
use std::sync::Arc;

pub use regs::{FpState, Regs};

use crate::errno::Result;

/// The lowest address a guest may map (Linux's usual `vm.mmap_min_addr`).
pub const MIN_USER_ADDRESS: u64 = 0x1_0000;
/// One past the highest guest address. The stub's code lives at and above this address.
pub const MAX_USER_ADDRESS: u64 = 0x7fff_fff0_0000;
/// The guest page size.
pub const PAGE_SIZE: u64 = 4096;

/// Page protections, as the `PROT_*` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Prot {
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

impl Prot {
    /// No access.
    pub const NONE: Prot = Prot {
        read: false,
        write: false,
        exec: false,
    };

    /// From `PROT_*` bits (unknown bits are the caller's to reject).
    pub fn from_bits(bits: u64) -> Prot {
        Prot {
            read: bits & libc::PROT_READ as u64 != 0,
            write: bits & libc::PROT_WRITE as u64 != 0,
            exec: bits & libc::PROT_EXEC as u64 != 0,
        }
    }

    /// As `PROT_*` bits.
    pub fn bits(self) -> i32 {
        (if self.read { libc::PROT_READ } else { 0 })
            | (if self.write { libc::PROT_WRITE } else { 0 })
            | (if self.exec { libc::PROT_EXEC } else { 0 })
    }

    /// x86 cannot map write-only or exec-only pages: what the hardware effectively grants.
    pub fn effective(self) -> Prot {
        Prot {
            read: self.read || self.write || self.exec,
            ..self
        }
    }

    /// Whether any access at all is allowed.
    pub fn any(self) -> bool {
        self.read || self.write || self.exec
    }
}

/// Why guest execution stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The guest executed a system call; its number and arguments are in the registers.
    Syscall,
    /// A memory access fault at `addr`; `code` is the host's `si_code`
    /// (`SEGV_MAPERR`: nothing mapped in the stub, `SEGV_ACCERR`: mapped without the access).
    Fault { addr: u64, code: i32 },
    /// A synchronous trap other than a page fault (SIGILL, SIGFPE, SIGTRAP, SIGBUS...).
    Trap { signo: i32, code: i32, addr: u64 },
    /// Execution was interrupted from outside (a host signal to the stub).
    Interrupted,
}

/// A platform creates address spaces and execution contexts.
pub trait Platform: Send + Sync {
    /// The platform's name, as given to `--platform`.
    fn name(&self) -> &'static str;
    /// A fresh, empty guest address space.
    fn new_address_space(&self, memory_file: BorrowedFd<'_>) -> Result<Arc<dyn AddressSpace>>;
    /// An execution context for one task (one guest thread).
    fn new_context(&self) -> Box<dyn Context>;
}

/// A guest address space: the host mappings guest code runs against.
pub trait AddressSpace: Send + Sync {
    /// Maps `len` bytes of `file` at `offset` at guest address `addr` (shared, fixed).
    fn map_file(
        &self,
        addr: u64,
        len: u64,
        file: BorrowedFd<'_>,
        offset: u64,
        prot: Prot,
    ) -> Result<()>;
    /// Removes host mappings in `[addr, addr+len)`.
    fn unmap(&self, addr: u64, len: u64) -> Result<()>;
    /// Makes a new host-level thread in this address space for another guest thread
    /// (or a vfork child) and returns a token for [`AddressSpace::attach_thread`], which
    /// the sentry thread that will run that guest thread calls.
    fn spawn_thread(&self) -> Result<i64>;
    /// Takes over the thread `spawn_thread` made, for the calling sentry thread.
    fn attach_thread(&self, token: i64) -> Result<()>;
    /// The calling sentry thread is done with this address space (its guest thread
    /// exited or exec'd); the others keep using it.
    fn release_thread(&self);
    /// Downcasting hook for the platform's own context type.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// An address space with no host counterpart yet (before the first exec, or a forked
/// child before its thread creates its stub): there is nothing to mirror, so mapping
/// calls succeed and do nothing; the stub fills its mappings on faults later.
pub struct NoAddressSpace;

impl AddressSpace for NoAddressSpace {
    fn map_file(
        &self,
        _addr: u64,
        _len: u64,
        _file: BorrowedFd<'_>,
        _offset: u64,
        _prot: Prot,
    ) -> Result<()> {
        Ok(())
    }

    fn unmap(&self, _addr: u64, _len: u64) -> Result<()> {
        Ok(())
    }

    fn spawn_thread(&self) -> Result<i64> {
        Ok(0)
    }

    fn attach_thread(&self, _token: i64) -> Result<()> {
        Ok(())
    }

    fn release_thread(&self) {}

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Kicks a task out of guest code (or makes its next switch return at once) so the
/// sentry can act on something — a signal, a thread-group exit. Callable from any thread.
pub trait Interrupt: Send + Sync {
    /// Makes the task's current or next `switch` return `Event::Interrupted`.
    fn interrupt(&self);
}

/// One task's execution context.
pub trait Context: Send {
    /// Runs the guest with `regs` in `space` until the next event; `regs` then holds the
    /// guest's registers at the event.
    fn switch(&mut self, space: &Arc<dyn AddressSpace>, regs: &mut Regs) -> Result<Event>;
    /// Replaces the guest's FPU state with the architectural initial state (on execve and
    /// when a signal handler starts).
    fn reset_fpstate(&mut self, space: &Arc<dyn AddressSpace>) -> Result<()>;
    /// The guest's full FPU/vector state in XSAVE (standard, uncompacted) format.
    fn fpstate(&mut self, space: &Arc<dyn AddressSpace>) -> Result<Vec<u8>>;
    /// Replaces the guest's FPU/vector state with an XSAVE image (from a signal frame:
    /// the guest wrote it, so it is validated; EINVAL if it is malformed).
    fn set_fpstate(&mut self, space: &Arc<dyn AddressSpace>, xsave: &[u8]) -> Result<()>;
    /// A handle other threads use to interrupt this context while it runs in `space`.
    fn interrupter(&self, space: &Arc<dyn AddressSpace>) -> Result<Arc<dyn Interrupt>>;
}
