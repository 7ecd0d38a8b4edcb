//! Kernel objects: the [`Kernel`], thread groups (processes) and tasks (threads), and
//! what they own — credentials, fd tables, filesystem contexts, limits, signal actions.
//!
//! Lock order: ThreadGroup locks, then Task-owned locks (FdTable, FsContext), then the
//! MemoryManager, then VFS locks. No kernel lock is held while a task runs guest code.

pub mod bpf;
pub mod caps;
pub mod clone;
pub mod cputime;
pub mod creds;
pub mod fd_table;
pub mod freezer;
pub mod fs_context;
pub mod fsops;
pub mod futex;
pub mod ipc;
pub mod itimer;
pub mod limits;
pub mod mounts;
pub mod path;
pub mod posix_timer;
pub mod process;
pub mod random;
mod robust;
pub mod sched;
pub mod seccomp;
pub mod signal;
pub mod signal_frame;
mod task;
pub mod time;
pub mod timer;
pub mod vdso;
pub mod wait;

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

pub use task::{
    current_ids, current_task, CurrentTask, ExitStatus, OomScoreAdj, SyscallTable, Task,
    TaskShared, TaskView, ThreadGroup, SYS_RESTART_SYSCALL,
};

use crate::mm::MemoryFile;
use crate::platform::Platform;
use crate::vfs::MountNamespace;

/// The kernel release `uname -r` reports inside the sandbox.
pub const RELEASE: &str = "6.1.0-moat";
/// The kernel version `uname -v` reports inside the sandbox.
pub const VERSION: &str = "#1 SMP moat sentry";

/// UTS identity (hostname and NIS domain name) of the sandbox.
#[derive(Clone, Debug)]
pub struct Uts {
    /// Hostname.
    pub hostname: String,
    /// NIS domain name.
    pub domainname: String,
}

/// Options the sentry was booted with that the kernel consults.
#[derive(Clone, Debug)]
pub struct KernelOptions {
    /// Print a line per guest syscall.
    pub strace: bool,
    /// The most guest threads that may exist at once (fork/clone fail with EAGAIN).
    pub pids_limit: usize,
}

impl Default for KernelOptions {
    fn default() -> KernelOptions {
        KernelOptions {
            strace: false,
            pids_limit: DEFAULT_PIDS_LIMIT,
        }
    }
}

/// The default sandbox-wide limit on guest threads.
pub const DEFAULT_PIDS_LIMIT: usize = 1024;

/// The sandbox's kernel: everything shared by all tasks.
pub struct Kernel {
    /// How guest code runs.
    pub platform: Arc<dyn Platform>,
    /// The memory file holding all guest memory.
    pub memory_file: Arc<MemoryFile>,
    /// The mount namespace.
    pub mounts: Arc<MountNamespace>,
    /// UTS identity.
    pub uts: Mutex<Uts>,
    /// The system call table (registered by the caller, as gVisor does).
    pub syscalls: Arc<dyn SyscallTable>,
    /// Boot options.
    pub options: KernelOptions,
    /// Futex wait queues.
    pub futexes: futex::Futexes,
    /// Every process and thread.
    pub tree: Mutex<process::ProcessTree>,
    /// The vDSO and its parameter page, mapped into every program.
    pub vdso: vdso::Vdso,
    /// The sandbox's devpts (set at boot; mount(2) of "devpts" mounts it again).
    pub devpts: std::sync::OnceLock<Arc<crate::fs::tty::devpts::DevPts>>,
    /// The sandbox's console: the host terminal handed to its init, if any.
    pub console: std::sync::OnceLock<Arc<crate::fs::tty::Tty>>,
    /// Pauses every guest thread (OCI pause/resume).
    pub freezer: freezer::Freezer,
    /// Processes the OOM killer has killed (the memory limit was reached).
    pub oom_kills: AtomicU64,
    /// The sandbox's unix socket names (abstract names and bound socket nodes).
    pub unix_names: Arc<crate::net::unix::Names>,
    /// The internal tmpfs memfd_create makes its files on (mounted nowhere).
    pub shm_mount: std::sync::OnceLock<Arc<crate::vfs::Mount>>,
    shutting_down: std::sync::atomic::AtomicBool,
    init_status: Mutex<Option<task::ExitStatus>>,
    init_done: parking_lot::Condvar,
    next_tid: AtomicI32,
    /// The sandbox's System V IPC namespace.
    pub ipc: ipc::IpcNamespace,
}

impl Kernel {
    /// A new kernel.
    pub fn new(
        platform: Arc<dyn Platform>,
        memory_file: Arc<MemoryFile>,
        mounts: Arc<MountNamespace>,
        uts: Uts,
        syscalls: Arc<dyn SyscallTable>,
        options: KernelOptions,
        vdso: vdso::Vdso,
    ) -> Arc<Kernel> {
        Arc::new(Kernel {
            platform,
            memory_file,
            mounts,
            uts: Mutex::new(uts),
            syscalls,
            options,
            futexes: futex::Futexes::default(),
            tree: Mutex::default(),
            vdso,
            devpts: std::sync::OnceLock::new(),
            console: std::sync::OnceLock::new(),
            freezer: freezer::Freezer::default(),
            oom_kills: AtomicU64::new(0),
            unix_names: crate::net::unix::Names::new(),
            shm_mount: std::sync::OnceLock::new(),
            shutting_down: std::sync::atomic::AtomicBool::new(false),
            init_status: Mutex::new(None),
            init_done: parking_lot::Condvar::new(),
            next_tid: AtomicI32::new(1),
            ipc: ipc::IpcNamespace::default(),
        })
    }

    /// Allocates a thread id (the first is 1: the sandbox's init).
    pub fn allocate_tid(&self) -> i32 {
        self.next_tid.fetch_add(1, Ordering::Relaxed)
    }

    /// Ends the sandbox after its init exited: SIGKILL to every process left, then waits
    /// (up to `grace`) for their tasks to finish, so each stub is killed and reaped by
    /// the thread that traces it. Returns how many tasks were still running at the end
    /// (blocked in a host call no signal interrupts).
    pub fn shutdown(&self, grace: std::time::Duration) -> usize {
        // Like a pid namespace whose init died: no new process can appear, and every
        // one there is gets SIGKILL (again, until none is left, in case one was being
        // forked while we looked).
        self.shutting_down.store(true, Ordering::Release);
        let deadline = std::time::Instant::now() + grace;
        loop {
            let processes = self.tree.lock().processes();
            for tg in processes {
                tg.send_signal(signal::SigInfo::kernel(libc::SIGKILL));
            }
            let left = self.tree.lock().thread_count();
            if left == 0 || std::time::Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// The memory limit is reached (a page fault of process `faulting` could not get
    /// memory): kills the process with the most resident memory, weighted by its
    /// oom_score_adj, as the memory cgroup's OOM killer does (-1000 exempts a process),
    /// and waits a little for it to go. Returns false if no process could be killed.
    pub fn out_of_memory(&self, faulting: i32) -> bool {
        let limit_pages = self
            .memory_file
            .limit()
            .map_or(u64::MAX, |b| b / crate::platform::PAGE_SIZE) as i64;
        let processes = self.tree.lock().processes();
        let victim = processes
            .into_iter()
            .filter_map(|tg| {
                let adj = tg.oom_score_adj.lock().value as i64;
                if adj <= -1000 || tg.tasks.lock().is_empty() {
                    return None;
                }
                let badness = tg.resident_pages() as i64 + adj * limit_pages / 1000;
                Some((badness, tg))
            })
            .max_by_key(|(badness, tg)| (*badness, tg.tgid));
        let Some((_, victim)) = victim else {
            return false;
        };
        tracing::warn!(
            pid = victim.tgid,
            resident_pages = victim.resident_pages(),
            "memory limit reached: the OOM killer kills a process"
        );
        self.oom_kills.fetch_add(1, Ordering::Relaxed);
        victim.send_signal(signal::SigInfo::kernel(libc::SIGKILL));
        if victim.tgid != faulting {
            // Its memory goes back as its threads end.
            let waiter = Arc::new(wait::Waiter::default());
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
            loop {
                waiter.prepare();
                let _registration = victim.exited.register(&waiter);
                if victim.tasks.lock().is_empty()
                    || waiter.sleep(Some(deadline)) == wait::WakeReason::TimedOut
                {
                    break;
                }
            }
        }
        true
    }

    /// Records that the sandbox's init process exited (its last thread did).
    pub fn init_exited(&self, status: task::ExitStatus) {
        *self.init_status.lock() = Some(status);
        self.init_done.notify_all();
    }

    /// Waits until the sandbox's init process has exited; returns its status.
    pub fn wait_for_init(&self) -> task::ExitStatus {
        let mut st = self.init_status.lock();
        while st.is_none() {
            self.init_done.wait(&mut st);
        }
        st.expect("set")
    }

    /// Whether the sandbox is ending (its init exited): no new process may start.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    /// Nanoseconds since boot, as CLOCK_BOOTTIME counts them (for sysinfo, times(2),
    /// /proc/uptime and /proc/stat's btime, which must agree with that clock).
    pub fn uptime_ns(&self) -> i128 {
        time::to_nanos(time::boottime())
    }
}
