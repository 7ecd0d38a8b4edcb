//! The ptrace platform: guest threads run in stub processes under PTRACE_SYSEMU.
//!
//! Every stub thread is traced by exactly one sentry thread (ptrace is per tracer
//! thread), so an address space keeps one stub thread per sentry thread that runs guest
//! code in it. System calls that build the address space (mmap of the memory file,
//! munmap, mprotect) are injected at the stub's own `syscall` instruction; guest code
//! never gets to make one: PTRACE_SYSEMU stops every guest syscall before it runs.

mod stub;

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::ptrace;
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use parking_lot::Mutex;

use zerocopy::IntoBytes;

use super::{AddressSpace, Context, Event, FpState, Platform, Prot, Regs};
use crate::errno;
use crate::errno::{Errno, Result};

pub use stub::{STUB_BASE, STUB_LEN};

/// The ptrace platform.
#[derive(Default)]
pub struct PtracePlatform;

impl Platform for PtracePlatform {
    fn name(&self) -> &'static str {
        "ptrace"
    }

    fn new_address_space(&self, _memory_file: BorrowedFd<'_>) -> Result<Arc<dyn AddressSpace>> {
        let space = StubProcess::spawn()?;
        Ok(Arc::new(space))
    }

    fn new_context(&self) -> Box<dyn Context> {
        Box::new(PtraceContext)
    }
}

fn current_tid() -> libc::pid_t {
    thread_local! {
        static TID: libc::pid_t = nix::unistd::gettid().as_raw();
    }
    TID.with(|t| *t)
}

/// One stub thread and the sentry thread that traces it.
struct StubThread {
    tid: Pid,
    /// Registers of the stub at its initial stop: valid segment selectors for injection.
    template: Regs,
    /// The CPU the stub thread is pinned to (-1: none).
    cpu: AtomicI32,
    /// How long (ns) the guest ran the last time it was resumed.
    last_run_ns: AtomicU64,
}

/// Guest runs shorter than this (syscall-heavy code) pin the stub thread to its
/// tracer's CPU; after a longer one it runs wherever the host schedules it.
const PIN_AFTER_RUNS_UNDER: Duration = Duration::from_millis(1);

impl StubThread {
    fn new(tid: Pid, template: Regs) -> StubThread {
        StubThread {
            tid,
            template,
            cpu: AtomicI32::new(-1),
            last_run_ns: AtomicU64::new(u64::MAX),
        }
    }

    /// Places the stub thread before resuming it. Every guest syscall is a stop and a
    /// resume, and a tracer and tracee on different CPUs pay a cross-CPU wake-up for
    /// each (measured here: a guest getppid takes ~40 µs apart, ~9 µs on one CPU), so
    /// as gVisor's ptrace platform does, the stub thread follows the CPU of the sentry
    /// thread tracing it — but only while the guest makes syscalls often: a guest that
    /// computes for long is left free, so that threads pinned to one CPU never keep
    /// each other from running in parallel. Only a change costs a system call; best
    /// effort, as failing only costs speed.
    fn place(&self) {
        let short =
            self.last_run_ns.load(Ordering::Relaxed) < PIN_AFTER_RUNS_UNDER.as_nanos() as u64;
        if !short {
            if self.cpu.swap(-1, Ordering::Relaxed) != -1 {
                // Anywhere the sentry thread itself may run.
                if let Ok(all) = nix::sched::sched_getaffinity(Pid::from_raw(0)) {
                    let _ = nix::sched::sched_setaffinity(self.tid, &all);
                }
            }
            return;
        }
        let Ok(cpu) = nix::sched::sched_getcpu() else {
            return;
        };
        if self.cpu.swap(cpu as i32, Ordering::Relaxed) == cpu as i32 {
            return;
        }
        let mut set = nix::sched::CpuSet::new();
        if set.set(cpu).is_ok() {
            let _ = nix::sched::sched_setaffinity(self.tid, &set);
        }
    }

    /// Records how long the guest ran.
    fn ran(&self, d: Duration) {
        self.last_run_ns
            .store(d.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }
}

/// A stub process: one guest address space.
pub struct StubProcess {
    pid: Pid,
    /// Stub threads keyed by the tid of the sentry thread tracing them.
    threads: Mutex<HashMap<libc::pid_t, Arc<StubThread>>>,
}

impl StubProcess {
    /// Creates a stub traced by the calling thread.
    fn spawn() -> Result<StubProcess> {
        let pid = Pid::from_raw(stub::spawn()?);
        // The child stops itself with SIGSTOP once it is ready to be traced.
        match waitpid(pid, Some(WaitPidFlag::__WALL)) {
            Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => {}
            other => {
                let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, Some(WaitPidFlag::__WALL));
                return Err(errno!(EAGAIN, "stub {pid} did not start: {other:?}"));
            }
        }
        let options = ptrace::Options::PTRACE_O_EXITKILL | ptrace::Options::PTRACE_O_TRACESYSGOOD;
        if let Err(e) = ptrace::setoptions(pid, options) {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, Some(WaitPidFlag::__WALL));
            return Err(errno!(EAGAIN, "ptrace setoptions on stub {pid}: {e}"));
        }
        let template = Regs(ptrace::getregs(pid)?);
        let thread = Arc::new(StubThread::new(pid, template));
        let mut threads = HashMap::new();
        threads.insert(current_tid(), thread);
        Ok(StubProcess {
            pid,
            threads: Mutex::new(threads),
        })
    }

    /// The stub thread traced by the calling sentry thread.
    fn my_thread(&self) -> Result<Arc<StubThread>> {
        self.threads
            .lock()
            .get(&current_tid())
            .cloned()
            .ok_or_else(|| {
                errno!(
                    EINVAL,
                    "no stub thread of stub {} is traced by this thread",
                    self.pid
                )
            })
    }

    /// Executes one system call inside the stub and returns its raw result.
    fn inject(&self, nr: i64, args: [u64; 6]) -> Result<i64> {
        self.inject_at(stub::syscall_site(), nr, args)
    }

    /// Executes one system call at a given stub site, on the stub thread the calling
    /// sentry thread traces.
    fn inject_at(&self, site: u64, nr: i64, args: [u64; 6]) -> Result<i64> {
        let thread = self.my_thread()?;
        let mut regs = thread.template;
        regs.0.rip = site;
        regs.0.rax = nr as u64;
        regs.0.orig_rax = u64::MAX;
        regs.0.rdi = args[0];
        regs.0.rsi = args[1];
        regs.0.rdx = args[2];
        regs.0.r10 = args[3];
        regs.0.r8 = args[4];
        regs.0.r9 = args[5];
        ptrace::setregs(thread.tid, regs.0)?;
        loop {
            ptrace::cont(thread.tid, None)?;
            match waitpid(thread.tid, Some(WaitPidFlag::__WALL))? {
                WaitStatus::Stopped(_, Signal::SIGTRAP) => break,
                WaitStatus::Stopped(
                    _,
                    sig @ (Signal::SIGSEGV | Signal::SIGBUS | Signal::SIGILL),
                ) => {
                    // The stub's own code faulted: it is unusable, never loop on it.
                    return Err(errno!(
                        EFAULT,
                        "stub {} faulted ({sig}) in an injected syscall",
                        thread.tid
                    ));
                }
                WaitStatus::Stopped(_, _) => continue, // a signal from outside: drop it.
                other => {
                    return Err(errno!(
                        EFAULT,
                        "stub died during injected syscall: {other:?}"
                    ))
                }
            }
        }
        let out = ptrace::getregs(thread.tid)?;
        Ok(out.rax as i64)
    }

    fn inject_checked(&self, nr: i64, args: [u64; 6]) -> Result<i64> {
        let ret = self.inject(nr, args)?;
        if (-4095..0).contains(&ret) {
            return Err(Errno::new(-ret as i32));
        }
        Ok(ret)
    }
}

impl StubProcess {
    /// Creates a new stub thread (for a new guest thread, or a vfork child, sharing
    /// this address space), parked until [`StubProcess::attach_thread`] on the sentry
    /// thread that will trace it. Runs on the calling thread's own stub thread.
    pub fn spawn_thread(&self) -> Result<libc::pid_t> {
        let flags = (libc::CLONE_VM
            | libc::CLONE_FS
            | libc::CLONE_FILES
            | libc::CLONE_SIGHAND
            | libc::CLONE_THREAD
            | libc::CLONE_SYSVSEM) as u64;
        let tid = self.inject_at(stub::clone_site(), libc::SYS_clone, [flags, 0, 0, 0, 0, 0])?;
        if tid <= 0 {
            return Err(Errno::new((-tid) as i32));
        }
        Ok(tid as libc::pid_t)
    }

    /// Makes the calling sentry thread the tracer of stub thread `tid` (made by
    /// [`StubProcess::spawn_thread`]).
    pub fn attach_thread(&self, tid: libc::pid_t) -> Result<()> {
        let pid = Pid::from_raw(tid);
        let options = ptrace::Options::PTRACE_O_EXITKILL | ptrace::Options::PTRACE_O_TRACESYSGOOD;
        ptrace::seize(pid, options)?;
        ptrace::interrupt(pid)?;
        loop {
            match waitpid(pid, Some(WaitPidFlag::__WALL))? {
                WaitStatus::PtraceEvent(..) | WaitStatus::Stopped(..) => break,
                WaitStatus::Exited(..) | WaitStatus::Signaled(..) => {
                    return Err(errno!(
                        ESRCH,
                        "stub thread {tid} died before it was attached"
                    ));
                }
                _ => continue,
            }
        }
        let template = Regs(ptrace::getregs(pid)?);
        self.threads
            .lock()
            .insert(current_tid(), Arc::new(StubThread::new(pid, template)));
        Ok(())
    }

    /// Ends the stub thread the calling sentry thread traces (its guest thread
    /// exited or exec'd): it alone exits, the stub process lives on for the others.
    /// The thread is detached with its registers set to call exit(2): nothing waits
    /// for it (a thread-group leader's exit is not reported until its group ends).
    pub fn release_thread(&self) {
        let mut threads = self.threads.lock();
        if threads.len() <= 1 {
            // The last one: dropping the stub kills the whole process anyway.
            return;
        }
        let Some(thread) = threads.remove(&current_tid()) else {
            return;
        };
        drop(threads);
        let mut regs = thread.template;
        regs.0.rip = stub::syscall_site();
        regs.0.rax = libc::SYS_exit as u64;
        regs.0.orig_rax = u64::MAX;
        regs.0.rdi = 0;
        if ptrace::setregs(thread.tid, regs.0).is_err() || ptrace::detach(thread.tid, None).is_err()
        {
            // The thread is unusable: ending the process is the only safe outcome.
            let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
        }
    }
}

impl Drop for StubProcess {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
        // A thread we trace must be reaped by us before its thread group (the leader)
        // can be reaped at all.
        let mine = self.threads.get_mut().remove(&current_tid());
        for tid in mine
            .map(|t| t.tid)
            .into_iter()
            .filter(|&t| t != self.pid)
            .chain([self.pid])
        {
            loop {
                match waitpid(tid, Some(WaitPidFlag::__WALL)) {
                    Ok(WaitStatus::Exited(..)) | Ok(WaitStatus::Signaled(..)) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        }
    }
}

impl AddressSpace for StubProcess {
    fn map_file(
        &self,
        addr: u64,
        len: u64,
        file: BorrowedFd<'_>,
        offset: u64,
        prot: Prot,
    ) -> Result<()> {
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        let got = self.inject_checked(
            libc::SYS_mmap,
            [
                addr,
                len,
                prot.bits() as u64,
                flags,
                file.as_raw_fd() as u64,
                offset,
            ],
        )?;
        if got as u64 != addr {
            return Err(errno!(EFAULT, "stub mmap at {addr:#x} landed at {got:#x}"));
        }
        Ok(())
    }

    fn unmap(&self, addr: u64, len: u64) -> Result<()> {
        self.inject_checked(libc::SYS_munmap, [addr, len, 0, 0, 0, 0])?;
        Ok(())
    }

    fn spawn_thread(&self) -> Result<i64> {
        StubProcess::spawn_thread(self).map(i64::from)
    }

    fn attach_thread(&self, token: i64) -> Result<()> {
        StubProcess::attach_thread(self, token as libc::pid_t)
    }

    fn release_thread(&self) {
        StubProcess::release_thread(self)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A task's context: it switches into whichever stub thread this sentry thread traces.
#[derive(Default)]
pub struct PtraceContext;

fn stub_of(space: &Arc<dyn AddressSpace>) -> Result<&StubProcess> {
    space
        .as_any()
        .downcast_ref::<StubProcess>()
        .ok_or_else(|| errno!(EINVAL, "address space is not a ptrace stub"))
}

impl Context for PtraceContext {
    fn switch(&mut self, space: &Arc<dyn AddressSpace>, regs: &mut Regs) -> Result<Event> {
        let stub = stub_of(space)?;
        let thread = stub.my_thread()?;
        let tid = thread.tid;
        thread.place();
        ptrace::setregs(tid, regs.0)?;
        ptrace::sysemu(tid, None)?;
        let resumed = Instant::now();
        loop {
            let status = waitpid(tid, Some(WaitPidFlag::__WALL))?;
            let event = match status {
                WaitStatus::PtraceSyscall(_) => Event::Syscall,
                WaitStatus::Stopped(_, sig) => match sig {
                    Signal::SIGSEGV
                    | Signal::SIGBUS
                    | Signal::SIGILL
                    | Signal::SIGFPE
                    | Signal::SIGTRAP => {
                        let info = ptrace::getsiginfo(tid)?;
                        if info.si_code <= 0 {
                            // Sent by someone with kill(2), not raised by the CPU.
                            Event::Interrupted
                        } else {
                            // SAFETY: for a kernel-generated SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP
                            // (si_code > 0) the union holds the fault fields, and `si_addr`
                            // only reads the address field of that union.
                            let addr = unsafe { info.si_addr() } as u64;
                            if sig == Signal::SIGSEGV {
                                Event::Fault {
                                    addr,
                                    code: info.si_code,
                                }
                            } else {
                                Event::Trap {
                                    signo: sig as i32,
                                    code: info.si_code,
                                    addr,
                                }
                            }
                        }
                    }
                    _ => Event::Interrupted,
                },
                WaitStatus::Exited(..) | WaitStatus::Signaled(..) => {
                    return Err(errno!(ESRCH, "stub {tid} died"));
                }
                _ => {
                    // Group-stop or event stops we did not ask for: resume and keep waiting.
                    ptrace::sysemu(tid, None)?;
                    continue;
                }
            };
            thread.ran(resumed.elapsed());
            *regs = Regs(ptrace::getregs(tid)?);
            return Ok(event);
        }
    }

    fn reset_fpstate(&mut self, space: &Arc<dyn AddressSpace>) -> Result<()> {
        let stub = stub_of(space)?;
        let thread = stub.my_thread()?;
        let mut xsave = vec![0u8; xstate_size()];
        xsave[..std::mem::size_of::<FpState>()].copy_from_slice(FpState::initial().as_bytes());
        // XSTATE_BV = x87|SSE: every other component is in its initial state.
        xsave[512..520].copy_from_slice(&3u64.to_le_bytes());
        set_xstate(thread.tid, &xsave)
    }

    fn fpstate(&mut self, space: &Arc<dyn AddressSpace>) -> Result<Vec<u8>> {
        let stub = stub_of(space)?;
        let thread = stub.my_thread()?;
        let mut buf = vec![0u8; xstate_size()];
        let n = regset(libc::PTRACE_GETREGSET, thread.tid, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    fn set_fpstate(&mut self, space: &Arc<dyn AddressSpace>, xsave: &[u8]) -> Result<()> {
        let stub = stub_of(space)?;
        let thread = stub.my_thread()?;
        if xsave.len() != xstate_size() {
            return Err(errno!(EINVAL));
        }
        set_xstate(thread.tid, xsave)
    }

    fn interrupter(&self, space: &Arc<dyn AddressSpace>) -> Result<Arc<dyn super::Interrupt>> {
        let stub = stub_of(space)?;
        let thread = stub.my_thread()?;
        Ok(Arc::new(StubInterrupt {
            pid: stub.pid,
            tid: thread.tid,
        }))
    }
}

/// Interrupts a stub thread with a SIGCHLD: its tracer sees a signal-delivery stop and
/// reports `Event::Interrupted` (the signal itself is suppressed).
struct StubInterrupt {
    pid: Pid,
    tid: Pid,
}

impl super::Interrupt for StubInterrupt {
    fn interrupt(&self) {
        // SAFETY: tgkill takes only integers; a stale tid at worst signals nothing (the
        // tgid check makes it impossible to hit an unrelated process).
        unsafe {
            libc::syscall(
                libc::SYS_tgkill,
                self.pid.as_raw(),
                self.tid.as_raw(),
                libc::SIGCHLD,
            )
        };
    }
}

/// The size of the XSAVE image PTRACE_GETREGSET(NT_X86_XSTATE) returns on this host.
fn xstate_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SIZE.get_or_init(|| {
        // CPUID.(EAX=0DH,ECX=0):EBX is the XSAVE area size for the features enabled in XCR0.
        let leaf = std::arch::x86_64::__cpuid_count(0xd, 0);
        (leaf.ebx as usize).max(576)
    })
}

fn set_xstate(tid: Pid, xsave: &[u8]) -> Result<()> {
    let mut copy = xsave.to_vec();
    regset(libc::PTRACE_SETREGSET, tid, &mut copy).map(|_| ())
}

/// PTRACE_GETREGSET/SETREGSET of NT_X86_XSTATE through `buf`; returns the bytes used.
fn regset(request: libc::c_uint, tid: Pid, buf: &mut [u8]) -> Result<usize> {
    const NT_X86_XSTATE: usize = 0x202;
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: the kernel reads or writes at most iov_len bytes at iov_base, which is the
    // exclusively borrowed `buf`, and updates iov_len in our local iovec.
    let r = unsafe {
        libc::ptrace(
            request,
            tid.as_raw(),
            NT_X86_XSTATE as *mut libc::c_void,
            &mut iov as *mut libc::iovec,
        )
    };
    if r < 0 {
        return Err(Errno::new(nix::errno::Errno::last_raw()));
    }
    Ok(iov.iov_len)
}
