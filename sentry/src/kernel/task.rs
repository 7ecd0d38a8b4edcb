//! Tasks (guest threads), thread groups (guest processes) and the task run loop.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracing::{debug, warn};

use super::cputime::{CpuClockKind, CpuTimes, Usage};
use super::creds::Credentials;
use super::fd_table::FdTable;
use super::fs_context::FsContext;
use super::limits::Limits;
use super::signal::{
    default_action, sigmask, AltStack, DefaultAction, PendingSignals, SigInfo, SignalActions,
    SA_RESETHAND, SA_RESTART, SIG_DFL, SIG_IGN, UNBLOCKABLE,
};
use super::wait::{set_current_waiter, WaitQueue, Waiter};
use super::Kernel;
use crate::errno;
use crate::errno::{Result, ERESTARTNOINTR, ERESTARTSYS, ERESTART_RESTARTBLOCK};
use crate::mm::{FaultSignal, MemoryManager};
use crate::platform::{Context, Event, Interrupt, Regs};

/// restart_syscall(2)'s number: what a syscall interrupted with ERESTART_RESTARTBLOCK
/// re-executes as.
pub const SYS_RESTART_SYSCALL: u64 = 219;

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
    /// Process group.
    pub pgid: Mutex<i32>,
    /// Session.
    pub sid: Mutex<i32>,
    /// Signal dispositions.
    pub actions: Mutex<SignalActions>,
    /// Signals sent to the process as a whole.
    pub pending: Mutex<PendingSignals>,
    /// The threads.
    pub tasks: Mutex<Vec<Arc<TaskShared>>>,
    /// Resource limits.
    pub limits: Mutex<Limits>,
    /// Set once the group has exited.
    pub exit_status: Mutex<Option<ExitStatus>>,
    /// ITIMER_REAL (alarm, setitimer).
    pub real_timer: Arc<super::timer::IntervalTimer>,
    /// ITIMER_VIRTUAL.
    pub virtual_timer: Arc<super::timer::IntervalTimer>,
    /// ITIMER_PROF.
    pub prof_timer: Arc<super::timer::IntervalTimer>,
    /// Woken when this process exits (pidfd readiness).
    pub exited: WaitQueue,
    /// POSIX timers (timer_create), by id.
    pub posix_timers: Mutex<slab::Slab<super::posix_timer::PosixTimer>>,
    /// The thread running execve while the others are being ended.
    pub execing: Mutex<Option<i32>>,
    /// Woken when a child changes state (wait4/waitid sleep here).
    pub child_events: WaitQueue,
    /// CPU time and faults of exited threads and waited-for children.
    pub usage: Mutex<super::cputime::ProcessUsage>,
    /// When the process started (CLOCK_BOOTTIME, ns), for /proc/[pid]/stat.
    pub start_ns: i128,
    /// What /proc still shows of the leader once it has exited (a zombie keeps its
    /// name and credentials): set as the leader's thread ends.
    pub exited_leader: Mutex<Option<(Vec<u8>, Credentials)>>,
    /// /proc/[pid]/oom_score_adj and the lowest value an unprivileged writer may set.
    pub oom_score_adj: Mutex<OomScoreAdj>,
    /// The controlling terminal (Linux's `signal->tty`): inherited by fork, dropped by
    /// setsid and when the session loses its terminal.
    pub tty: Mutex<Option<Arc<crate::fs::tty::Tty>>>,
}

/// A process's OOM-killer adjustment (Linux keeps it in the signal struct).
#[derive(Clone, Copy, Debug, Default)]
pub struct OomScoreAdj {
    /// -1000..=1000.
    pub value: i16,
    /// Lowering below this needs CAP_SYS_RESOURCE (the last value set with it).
    pub min: i16,
}

impl ThreadGroup {
    /// The process's credentials as others see them: its first thread's, or its
    /// exited leader's.
    pub fn creds(&self) -> Option<Credentials> {
        let tasks = self.tasks.lock().clone();
        tasks
            .iter()
            .find_map(|t| t.view().map(|v| v.creds))
            .or_else(|| self.exited_leader.lock().as_ref().map(|(_, c)| c.clone()))
    }

    /// A new thread group led by `tgid`.
    pub fn new(tgid: i32) -> Arc<ThreadGroup> {
        Arc::new_cyclic(|me| ThreadGroup {
            tgid,
            pgid: Mutex::new(tgid),
            sid: Mutex::new(tgid),
            actions: Mutex::default(),
            pending: Mutex::default(),
            tasks: Mutex::default(),
            limits: Mutex::default(),
            exit_status: Mutex::new(None),
            real_timer: super::itimer::real_timer(me.clone()),
            virtual_timer: super::itimer::cpu_timer(me.clone(), CpuClockKind::Virt),
            prof_timer: super::itimer::cpu_timer(me.clone(), CpuClockKind::Prof),
            exited: WaitQueue::default(),
            posix_timers: Mutex::new(slab::Slab::new()),
            execing: Mutex::new(None),
            child_events: WaitQueue::default(),
            usage: Mutex::default(),
            start_ns: super::time::to_nanos(super::time::boottime()),
            exited_leader: Mutex::new(None),
            oom_score_adj: Mutex::default(),
            tty: Mutex::new(None),
        })
    }

    /// Pages of the memory file its address space holds (0 once it has none).
    pub fn resident_pages(&self) -> u64 {
        let tasks = self.tasks.lock();
        tasks
            .iter()
            .find_map(|t| t.view.lock().as_ref().map(|v| v.mm.resident_pages()))
            .unwrap_or(0)
    }

    /// The CPU time of every thread the process has had.
    pub fn cpu_times(&self) -> CpuTimes {
        let tasks = self.tasks.lock();
        let dead = self.usage.lock().dead;
        tasks.iter().fold(dead, |sum, t| sum + t.cpu.times())
    }

    /// The user time of every thread the process has had (cheaper than `cpu_times`).
    pub fn user_time(&self) -> Duration {
        let tasks = self.tasks.lock();
        let dead = self.usage.lock().dead.user;
        tasks.iter().fold(dead, |sum, t| sum + t.cpu.user())
    }

    /// Page faults of every thread the process has had.
    pub fn faults(&self) -> u64 {
        let tasks = self.tasks.lock();
        let dead = self.usage.lock().dead_faults;
        tasks.iter().fold(dead, |sum, t| sum + t.cpu.faults())
    }

    /// Notes the resident set of the process's address space for ru_maxrss.
    pub fn sample_rss(&self, pages: u64) {
        let mut u = self.usage.lock();
        u.maxrss_pages = u.maxrss_pages.max(pages);
    }

    /// The process's own usage (every thread it has had), given the resident set of
    /// its address space now, if it still has one.
    pub fn own_usage(&self, resident_pages: u64) -> Usage {
        self.sample_rss(resident_pages);
        Usage {
            times: self.cpu_times(),
            minflt: self.faults(),
            maxrss_pages: self.usage.lock().maxrss_pages,
        }
    }

    /// What wait reports for this process and its parent adds to its children's
    /// usage when reaping it: its own usage and its waited-for children's.
    pub fn reaped_usage(&self) -> Usage {
        let mut u = self.own_usage(0);
        u.merge(self.usage.lock().children);
        u
    }

    /// The soft limit of an RLIMIT_* resource.
    pub fn limit(&self, resource: u32) -> u64 {
        self.limits.lock().cur(resource)
    }

    /// Sends `info` to the process: queued once for the group, and the thread that can
    /// take it first is woken (Linux's complete_signal).
    pub fn send_signal(&self, info: SigInfo) {
        let signo = info.signo;
        let blocked = self.leader_mask();
        if self.shields_from(&info, blocked) || self.discard_on_arrival(signo, blocked) {
            return;
        }
        self.pending.lock().enqueue(info);
        crate::fs::signalfd::signal_queued();
        let tasks = self.tasks.lock();
        let target = tasks.iter().find(|t| t.mask() & sigmask(signo) == 0);
        match target {
            Some(t) => t.wake_for_signal(),
            None => tasks.iter().for_each(|t| t.waiter.notify()),
        }
    }

    /// The blocked set of the thread a process-directed signal is checked against (as
    /// Linux checks the leader, the task the pid names; any thread once it is gone).
    fn leader_mask(&self) -> u64 {
        let tasks = self.tasks.lock();
        tasks
            .iter()
            .find(|t| t.tid == self.tgid)
            .or_else(|| tasks.first())
            .map_or(0, |t| t.mask())
    }

    /// Whether a signal is dropped when sent: ignored (explicitly or by default) and
    /// not blocked by `blocked`, the receiving thread's mask — a blocked signal stays
    /// pending, since its handler may change before it is unblocked. SIGCONT and
    /// stop-signal bookkeeping happen here too.
    fn discard_on_arrival(&self, signo: i32, blocked: u64) -> bool {
        if signo == libc::SIGCONT {
            self.pending.lock().discard(STOP_SIGNALS);
            for t in self.tasks.lock().iter() {
                t.pending.lock().discard(STOP_SIGNALS);
            }
        } else if STOP_SIGNALS & sigmask(signo) != 0 {
            self.pending.lock().discard(sigmask(libc::SIGCONT));
        }
        signo != libc::SIGKILL
            && signo != libc::SIGSTOP
            && blocked & sigmask(signo) == 0
            && self.actions.lock().is_ignored(signo)
    }

    /// The sandbox's init ignores signals from other guest processes that it has no
    /// handler for (SIGKILL and SIGSTOP included), as pid 1 of a pid namespace does —
    /// unless the receiving thread blocks them (`blocked`): those stay pending, for
    /// sigwait or a signalfd to take.
    pub fn shields_from(&self, info: &SigInfo, blocked: u64) -> bool {
        if info.signo != libc::SIGKILL
            && info.signo != libc::SIGSTOP
            && blocked & sigmask(info.signo) != 0
        {
            return false;
        }
        let from_process = matches!(
            info.code,
            super::signal::SI_USER | super::signal::SI_TKILL | super::signal::SI_QUEUE
        );
        let sender = (info.fields[0] & 0xffff_ffff) as i32;
        self.tgid == 1
            && from_process
            && sender != 1
            && self.actions.lock().get(info.signo as usize).handler == SIG_DFL
    }
}

const STOP_SIGNALS: u64 = sigmask(libc::SIGSTOP)
    | sigmask(libc::SIGTSTP)
    | sigmask(libc::SIGTTIN)
    | sigmask(libc::SIGTTOU);

/// The part of a task other tasks may reach: its signals and how to wake it.
pub struct TaskShared {
    /// Thread id.
    pub tid: i32,
    /// Signals sent to this thread.
    pub pending: Mutex<PendingSignals>,
    mask: AtomicU64,
    /// Scheduling policy, priority and nice value (the sandbox's own).
    pub sched: Mutex<super::sched::SchedAttr>,
    /// Sleeps and wakes the task.
    pub waiter: Arc<Waiter>,
    /// Kicks the task out of guest code.
    interrupter: Mutex<Option<Arc<dyn Interrupt>>>,
    /// CPU time.
    pub cpu: super::cputime::TaskCpu,
    /// What /proc shows of the task, as of its last syscall.
    view: Mutex<Option<TaskView>>,
    /// Stopped by a stop signal (job control), until SIGCONT.
    stopped: AtomicBool,
    /// The command name (comm), at most 15 bytes: here, not in the task, because
    /// another thread of the process may rename it through /proc/[pid]/task/[tid]/comm.
    comm: Mutex<Vec<u8>>,
    /// The task's seccomp mode, as other threads (TSYNC) and /proc see it.
    pub seccomp: super::seccomp::SharedSeccomp,
}

/// The parts of a task other tasks may look at through /proc: the task publishes
/// them whenever one changes (they are its own to change).
#[derive(Clone)]
pub struct TaskView {
    /// Address space.
    pub mm: Arc<MemoryManager>,
    /// File descriptors.
    pub files: Arc<FdTable>,
    /// Root, cwd, umask.
    pub fs: Arc<FsContext>,
    /// Credentials.
    pub creds: Credentials,
    /// The executable.
    pub exe: Option<crate::vfs::Path>,
}

impl TaskView {
    fn same_as(&self, t: &Task) -> bool {
        Arc::ptr_eq(&self.mm, &t.mm)
            && Arc::ptr_eq(&self.files, &t.files)
            && Arc::ptr_eq(&self.fs, &t.fs)
            && self.creds == t.creds
            && match (&self.exe, &t.exe) {
                (Some(a), Some(b)) => a.same(b),
                (None, None) => true,
                _ => false,
            }
    }
}

thread_local! {
    static CURRENT: std::cell::Cell<(i32, i32)> = const { std::cell::Cell::new((0, 0)) };
}

/// The process and thread id of the task this host thread runs (0, 0 outside tasks):
/// what /proc/self and /proc/thread-self name.
pub fn current_ids() -> (i32, i32) {
    CURRENT.with(|c| c.get())
}

/// The kernel objects of the task a host thread runs, for file operations that act on
/// their caller's process (a terminal's job control, /dev/tty).
#[derive(Clone)]
pub struct CurrentTask {
    /// The kernel.
    pub kernel: Arc<Kernel>,
    /// The caller's process.
    pub tg: Arc<ThreadGroup>,
    /// The caller's thread.
    pub shared: Arc<TaskShared>,
}

thread_local! {
    static CURRENT_TASK: std::cell::RefCell<Option<CurrentTask>> =
        const { std::cell::RefCell::new(None) };
}

/// The task this host thread runs (None on sentry threads that are not tasks).
pub fn current_task() -> Option<CurrentTask> {
    CURRENT_TASK.with(|c| c.borrow().clone())
}

fn set_current_task(task: &Task) {
    CURRENT_TASK.with(|c| {
        *c.borrow_mut() = Some(CurrentTask {
            kernel: task.kernel.clone(),
            tg: task.tg.clone(),
            shared: task.shared.clone(),
        })
    });
}

impl TaskShared {
    /// A task's shared part.
    pub fn new(tid: i32) -> Arc<TaskShared> {
        Arc::new(TaskShared {
            tid,
            pending: Mutex::default(),
            mask: AtomicU64::new(0),
            sched: Mutex::default(),
            waiter: Arc::new(Waiter::default()),
            interrupter: Mutex::new(None),
            cpu: Default::default(),
            view: Mutex::new(None),
            comm: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
            seccomp: Default::default(),
        })
    }

    /// The run state /proc shows: 'T' stopped by a signal, 'S' blocked in the
    /// sentry, 'R' running guest code or a system call.
    pub fn state(&self) -> char {
        if self.stopped.load(Ordering::Acquire) {
            'T'
        } else if self.waiter.is_sleeping() {
            'S'
        } else {
            'R'
        }
    }

    /// The command name.
    pub fn comm(&self) -> Vec<u8> {
        self.comm.lock().clone()
    }

    /// Renames the task: `name` up to its first NUL, cut to 15 bytes.
    pub fn set_comm(&self, name: &[u8]) {
        let n = name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(name.len())
            .min(15);
        *self.comm.lock() = name[..n].to_vec();
    }

    /// What /proc shows of the task (None before it first ran).
    pub fn view(&self) -> Option<TaskView> {
        self.view.lock().clone()
    }

    /// Blocked signals.
    pub fn mask(&self) -> u64 {
        self.mask.load(Ordering::Acquire)
    }

    /// Makes the task notice a deliverable signal: sleeps end with a restart errno and
    /// guest code is interrupted.
    pub fn wake_for_signal(&self) {
        self.waiter.interrupt();
        if let Some(i) = self.interrupter.lock().as_ref() {
            i.interrupt();
        }
    }

    /// Kicks the task out of guest code (it then looks at what changed, e.g. stale
    /// mappings, and goes on); a blocked system call is not interrupted.
    pub fn kick(&self) {
        if let Some(i) = self.interrupter.lock().as_ref() {
            i.interrupt();
        }
    }

    /// Sends `info` to this thread.
    pub fn send_signal(&self, tg: &ThreadGroup, info: SigInfo) {
        let signo = info.signo;
        if tg.shields_from(&info, self.mask()) || tg.discard_on_arrival(signo, self.mask()) {
            return;
        }
        self.pending.lock().enqueue(info);
        crate::fs::signalfd::signal_queued();
        if self.mask() & sigmask(signo) == 0 || signo == libc::SIGKILL {
            self.wake_for_signal();
        } else {
            // Blocked: only a sigtimedwait/sigsuspend needs to look again.
            self.waiter.notify();
        }
    }
}

/// A guest thread. It runs on its own host thread: `run` loops switching into guest
/// code and handling what stopped it.
pub struct Task {
    /// The kernel.
    pub kernel: Arc<Kernel>,
    /// Thread id.
    pub tid: i32,
    /// What other tasks may reach.
    pub shared: Arc<TaskShared>,
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
    /// The alternate signal stack.
    pub altstack: AltStack,
    /// A signal mask to restore once a signal is delivered (rt_sigsuspend, ppoll, pselect).
    pub saved_mask: Option<u64>,
    /// set_tid_address / CLONE_CHILD_CLEARTID.
    pub clear_child_tid: u64,
    /// set_robust_list head and length.
    pub robust_list: (u64, u64),
    /// Set when the task must stop: it leaves the run loop with this status.
    pub exit: Option<ExitStatus>,
    /// The restart errno the last syscall returned, until signal handling decides
    /// between EINTR and re-executing it.
    restart: Option<i32>,
    /// What restart_syscall continues: the deadline of an interrupted sleep.
    pub restart_deadline: Option<Instant>,
    /// A vfork parent waiting for this task to exec or exit.
    pub vfork_done: Option<Arc<Completion>>,
    /// The executable it runs (/proc/[pid]/exe).
    pub exe: Option<crate::vfs::Path>,
    /// What the task last published of itself (see [`Task::publish_view`]).
    published: Option<TaskView>,
    /// Its seccomp mode (its own copy of `shared.seccomp`, checked at every syscall).
    pub(super) seccomp: super::seccomp::Seccomp,
}

/// A one-shot event a task can wait for (a vfork child's exec or exit).
#[derive(Default)]
pub struct Completion {
    done: Mutex<bool>,
    queue: WaitQueue,
}

impl Completion {
    /// Marks it done and wakes the waiter.
    pub fn complete(&self) {
        *self.done.lock() = true;
        self.queue.notify_all();
    }

    /// Waits until done; only SIGKILL (a process exit) interrupts it.
    pub fn wait(&self, task: &Task) {
        let _ = super::wait::block_until(&[&self.queue], None, || {
            let killed = task.tg.exit_status.lock().is_some()
                || task.shared.pending.lock().set() & sigmask(libc::SIGKILL) != 0
                || task.tg.pending.lock().set() & sigmask(libc::SIGKILL) != 0;
            (*self.done.lock() || killed).then_some(Ok(()))
        });
    }
}

impl Task {
    /// A task with a fresh signal state.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kernel: Arc<Kernel>,
        tid: i32,
        tg: Arc<ThreadGroup>,
        mm: Arc<MemoryManager>,
        files: Arc<FdTable>,
        fs: Arc<FsContext>,
        creds: Credentials,
        ctx: Box<dyn Context>,
    ) -> Task {
        // fork registers the child's thread ahead (to count it against the pids limit).
        let registered = kernel.tree.lock().thread(tid).map(|(t, _)| t);
        let shared = match registered {
            Some(shared) => shared,
            None => {
                let shared = TaskShared::new(tid);
                kernel.tree.lock().add_thread(shared.clone(), tg.clone());
                shared
            }
        };
        tg.tasks.lock().push(shared.clone());
        Task {
            kernel,
            tid,
            shared,
            tg,
            mm,
            files,
            fs,
            creds,
            regs: Regs::default(),
            ctx,
            altstack: AltStack::default(),
            saved_mask: None,
            clear_child_tid: 0,
            robust_list: (0, 0),
            exit: None,
            restart: None,
            restart_deadline: None,
            vfork_done: None,
            exe: None,
            published: None,
            seccomp: Default::default(),
        }
    }

    /// Publishes what /proc shows of this task if it changed. Called after every
    /// syscall: the comparison is against the task's own copy, so nothing is locked
    /// unless something changed.
    pub fn publish_view(&mut self) {
        if self.published.as_ref().is_some_and(|v| v.same_as(self)) {
            return;
        }
        let view = TaskView {
            mm: self.mm.clone(),
            files: self.files.clone(),
            fs: self.fs.clone(),
            creds: self.creds.clone(),
            exe: self.exe.clone(),
        };
        *self.shared.view.lock() = Some(view.clone());
        self.published = Some(view);
    }

    /// The command name.
    pub fn comm(&self) -> Vec<u8> {
        self.shared.comm()
    }

    /// Renames the task (at most 15 bytes, up to a NUL).
    pub fn set_comm(&self, name: &[u8]) {
        self.shared.set_comm(name);
    }

    /// The process id.
    pub fn pid(&self) -> i32 {
        self.tg.tgid
    }

    /// Blocked signals.
    pub fn signal_mask(&self) -> u64 {
        self.shared.mask()
    }

    /// Sets the blocked signals (SIGKILL and SIGSTOP can never be blocked).
    pub fn set_signal_mask(&mut self, mask: u64) {
        self.shared
            .mask
            .store(mask & !UNBLOCKABLE, Ordering::Release);
    }

    /// Ends the whole thread group with `status` (exit_group, fatal signals).
    pub fn exit_group(&mut self, status: ExitStatus) {
        let mut st = self.tg.exit_status.lock();
        if st.is_none() {
            *st = Some(status);
        }
        self.exit = Some(st.expect("just set"));
        drop(st);
        // Every other thread leaves its run loop at its next check.
        for t in self.tg.tasks.lock().iter() {
            if !Arc::ptr_eq(t, &self.shared) {
                t.wake_for_signal();
            }
        }
    }

    /// exit(2): only this thread ends; the process ends with `status` if it was the
    /// last one.
    pub fn exit_thread(&mut self, status: ExitStatus) {
        self.exit = Some(status);
    }

    /// Runs the task until it exits; returns how its process ended.
    pub fn run(mut self) -> ExitStatus {
        set_current_waiter(self.shared.waiter.clone());
        CURRENT.with(|c| c.set((self.tg.tgid, self.tid)));
        set_current_task(&self);
        self.shared.cpu.bind_current_thread();
        self.publish_view();
        let table = self.kernel.syscalls.clone();
        loop {
            self.handle_signals();
            if let Some(status) = self.exit {
                debug!(tid = self.tid, ?status, "task exits");
                return self.exit_and_notify(status);
            }
            // A paused sandbox runs no guest code; what arrived meanwhile is handled
            // before going on.
            if self.kernel.freezer.park_if_frozen() {
                continue;
            }
            let space = self.mm.address_space().clone();
            self.install_interrupter(&space);
            if let Err(e) = self.mm.drop_stale_mappings() {
                warn!(tid = self.tid, "dropping stale mappings failed: {e:?}");
            }
            self.shared.cpu.enter_guest();
            let switched = self.ctx.switch(&space, &mut self.regs);
            self.shared.cpu.leave_guest();
            let event = match switched {
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
                    let ret = match self.seccomp_verdict(nr, args) {
                        Some(v) => v,
                        None => match table.invoke(&mut self, nr, args) {
                            Ok(v) => v,
                            Err(e) if e.is_restart() => {
                                self.restart = Some(e.code());
                                errno!(EINTR).as_return()
                            }
                            Err(e) => e.as_return(),
                        },
                    };
                    self.regs.set_return(ret);
                    // execve may have changed the tid (to the leader's) and most of
                    // what /proc shows.
                    CURRENT.with(|c| c.set((self.tg.tgid, self.tid)));
                    self.publish_view();
                }
                Event::Fault { addr, code } => {
                    self.shared.cpu.count_fault();
                    match self.mm.handle_fault(addr, code) {
                        Ok(None) => {}
                        Ok(Some(sig)) => self.force_signal(sig),
                        // The memory limit: the OOM killer makes room (or kills this
                        // process), and the access is tried again.
                        Err(e)
                            if e == errno!(ENOMEM)
                                && self.kernel.memory_file.limit().is_some()
                                && self.kernel.out_of_memory(self.tg.tgid) => {}
                        Err(e) => {
                            warn!(tid = self.tid, addr, "fault could not be resolved: {e:?}");
                            self.force_signal(FaultSignal {
                                signo: libc::SIGBUS,
                                code: crate::abi::BUS_ADRERR,
                                addr,
                            });
                        }
                    }
                }
                Event::Trap { signo, code, addr } => {
                    self.force_signal(FaultSignal { signo, code, addr })
                }
                Event::Interrupted => {}
            }
        }
    }

    /// Releases the task's resources (its address space, files — so pipe readers see
    /// EOF), then, if it was the last thread, tells the parent the process exited.
    fn exit_and_notify(mut self, status: ExitStatus) -> ExitStatus {
        if self.tid == self.tg.tgid {
            *self.tg.exited_leader.lock() = Some((self.comm(), self.creds.clone()));
        }
        *self.shared.view.lock() = None;
        self.published = None;
        self.release_mm();
        let kernel = self.kernel.clone();
        let tg = self.tg.clone();
        drop(self);
        let last = tg.tasks.lock().is_empty();
        let status = tg.exit_status.lock().unwrap_or(status);
        if last {
            // The process's final status, for whoever waits on `exited` from outside.
            *tg.exit_status.lock() = Some(status);
            tg.real_timer.disarm();
            tg.virtual_timer.disarm();
            tg.prof_timer.disarm();
            tg.posix_timers.lock().clear();
            crate::fs::tty::session_leader_exit(&kernel, &tg);
            kernel.ipc.exit_process(tg.tgid);
            tg.exited.notify_all();
            kernel.tree.lock().exit_process(tg.tgid, status);
            if tg.tgid == 1 {
                kernel.init_exited(status);
            }
        }
        status
    }

    /// execve's de_thread: every other thread of the process ends; a non-leader
    /// thread then takes over the leader's tid, as Linux does. EINTR if the process is
    /// killed meanwhile.
    pub fn de_thread(&mut self) -> Result<()> {
        if self.tg.tasks.lock().len() > 1 {
            *self.tg.execing.lock() = Some(self.tid);
            for t in self.tg.tasks.lock().iter() {
                if !Arc::ptr_eq(t, &self.shared) {
                    t.wake_for_signal();
                }
            }
            loop {
                if self.tg.exit_status.lock().is_some() {
                    *self.tg.execing.lock() = None;
                    return Err(errno!(EINTR));
                }
                if self.tg.tasks.lock().len() == 1 {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
            *self.tg.execing.lock() = None;
        }
        if self.tid != self.tg.tgid {
            let leader = self.tg.tgid;
            let shared = TaskShared::new(leader);
            shared.mask.store(self.signal_mask(), Ordering::Release);
            *shared.sched.lock() = *self.shared.sched.lock();
            shared.cpu.take_over(&self.shared.cpu);
            shared.set_comm(&self.comm());
            shared.seccomp.set(self.shared.seccomp.get());
            std::mem::swap(
                &mut *shared.pending.lock(),
                &mut *self.shared.pending.lock(),
            );
            {
                let mut tree = self.kernel.tree.lock();
                tree.remove_thread(self.tid);
                tree.add_thread(shared.clone(), self.tg.clone());
            }
            {
                let mut tasks = self.tg.tasks.lock();
                tasks.retain(|t| !Arc::ptr_eq(t, &self.shared));
                tasks.push(shared.clone());
            }
            self.shared = shared;
            self.tid = leader;
            set_current_waiter(self.shared.waiter.clone());
            set_current_task(self);
        }
        Ok(())
    }

    /// What a thread leaving its address space does (exit, or execve into a new one):
    /// robust futexes and CLONE_CHILD_CLEARTID (pthread_join's wake-up), the vfork
    /// parent's release, and the end of its host thread in a shared stub.
    pub fn release_mm(&mut self) {
        self.tg.sample_rss(self.mm.resident_pages());
        super::robust::exit_robust_list(self);
        if self.clear_child_tid != 0 {
            let addr = std::mem::take(&mut self.clear_child_tid);
            if self.mm.write_obj(addr, &0u32).is_ok() {
                if let Ok(key) = self.mm.futex_key(addr, false) {
                    let _ = self.kernel.futexes.wake(key, 1, u32::MAX);
                }
            }
        }
        if let Some(done) = self.vfork_done.take() {
            done.complete();
        }
        self.mm.address_space().release_thread();
        self.reset_interrupter();
    }

    fn install_interrupter(&mut self, space: &Arc<dyn crate::platform::AddressSpace>) {
        let mut slot = self.shared.interrupter.lock();
        if slot.is_none() {
            *slot = self.ctx.interrupter(space).ok();
        }
    }

    /// Forgets the interrupter (the address space changed, on execve).
    pub fn reset_interrupter(&mut self) {
        *self.shared.interrupter.lock() = None;
    }

    /// Raises a synchronous signal caused by the guest's own instruction. Like Linux's
    /// force_sig: if the signal is blocked or ignored it is unblocked and reset to the
    /// default action, so a fault can never be ignored into an endless loop.
    pub fn force_signal(&mut self, sig: FaultSignal) {
        debug!(tid = self.tid, ?sig, regs = ?self.regs, "synchronous signal");
        self.force_siginfo(SigInfo::fault(sig.signo, sig.code, sig.addr));
    }

    /// [`Task::force_signal`] with a siginfo of the caller's making (SIGSYS from
    /// seccomp).
    pub fn force_siginfo(&mut self, info: SigInfo) {
        let bit = sigmask(info.signo);
        let blocked = self.signal_mask() & bit != 0;
        let tg = self.tg.clone();
        let mut actions = tg.actions.lock();
        let mut a = actions.get(info.signo as usize);
        if a.handler == SIG_IGN || blocked {
            a.handler = SIG_DFL;
            actions.set(info.signo as usize, a);
        }
        drop(actions);
        if blocked {
            let mask = self.signal_mask() & !bit;
            self.set_signal_mask(mask);
        }
        self.shared.pending.lock().enqueue(info);
    }

    /// Sends `signo` to this task's own thread (tkill to itself, SIGPIPE, SIGSYS).
    pub fn send_signal_to_self(&mut self, info: SigInfo) {
        self.shared.send_signal(&self.tg, info);
    }

    fn dequeue_signal(&mut self) -> Option<SigInfo> {
        let mask = self.signal_mask();
        let own = self.shared.pending.lock().dequeue(mask);
        own.or_else(|| self.tg.pending.lock().dequeue(mask))
    }

    /// Re-executes the interrupted syscall (no handler ran, or SA_RESTART).
    fn restart_syscall(&mut self, code: i32) {
        let nr = if code == ERESTART_RESTARTBLOCK {
            SYS_RESTART_SYSCALL
        } else {
            self.regs.syscall_nr()
        };
        self.regs.restart_syscall(nr);
    }

    /// Delivers every pending, unblocked signal before returning to the guest.
    fn handle_signals(&mut self) {
        self.shared.waiter.clear_interrupt();
        loop {
            if self.exit.is_some() {
                return;
            }
            // Another thread ended the process (exit_group, a fatal signal) or is
            // replacing it (execve): this thread just goes.
            if let Some(st) = *self.tg.exit_status.lock() {
                self.exit = Some(st);
                return;
            }
            if self.tg.execing.lock().is_some_and(|tid| tid != self.tid) {
                self.exit = Some(ExitStatus::Exited(0));
                return;
            }
            let Some(info) = self.dequeue_signal() else {
                if let Some(code) = self.restart.take() {
                    self.restart_syscall(code);
                }
                if let Some(mask) = self.saved_mask.take() {
                    self.set_signal_mask(mask);
                }
                return;
            };
            let signo = info.signo;
            let action = self.tg.actions.lock().get(signo as usize);
            if action.handler == SIG_IGN {
                continue;
            }
            if action.handler == SIG_DFL || signo == libc::SIGKILL || signo == libc::SIGSTOP {
                match default_action(signo) {
                    DefaultAction::Ignore | DefaultAction::Continue => continue,
                    DefaultAction::Stop => {
                        self.stop_until_continued(signo);
                        continue;
                    }
                    DefaultAction::Terminate => {
                        self.exit_group(ExitStatus::Signaled { signo, core: false });
                        return;
                    }
                    DefaultAction::Core => {
                        self.exit_group(ExitStatus::Signaled { signo, core: true });
                        return;
                    }
                }
            }
            // A handler runs: decide what the interrupted syscall returns.
            if let Some(code) = self.restart.take() {
                let restart = code == ERESTARTNOINTR
                    || (code == ERESTARTSYS && action.flags & SA_RESTART != 0);
                if restart {
                    self.restart_syscall(code);
                } else {
                    self.regs.set_return(errno!(EINTR).as_return());
                }
                // ERESTARTNOHAND and ERESTART_RESTARTBLOCK become EINTR once a handler ran.
            }
            let old_mask = self.saved_mask.take().unwrap_or(self.signal_mask());
            if let Err(e) = super::signal_frame::setup(self, &info, &action, old_mask) {
                debug!(
                    tid = self.tid,
                    signo, "cannot build a signal frame ({e:?}): SIGSEGV"
                );
                // Linux's force_sigsegv: the process dies.
                self.exit_group(ExitStatus::Signaled {
                    signo: libc::SIGSEGV,
                    core: true,
                });
                return;
            }
            let mut mask = old_mask | action.mask;
            if action.flags & super::signal::SA_NODEFER == 0 {
                mask |= sigmask(signo);
            }
            self.set_signal_mask(mask);
            if action.flags & SA_RESETHAND != 0 {
                self.tg
                    .actions
                    .lock()
                    .set(signo as usize, crate::abi::SigAction::default());
            }
        }
    }

    /// Job-control stop: the parent is told, and the task sleeps until SIGCONT (or
    /// SIGKILL) arrives. /proc shows it stopped from before the parent can know.
    fn stop_until_continued(&mut self, signo: i32) {
        use super::process::ChildEvent;
        self.shared.stopped.store(true, Ordering::Release);
        self.kernel
            .tree
            .lock()
            .report_stop_or_continue(self.pid(), ChildEvent::Stopped(signo));
        self.wait_for_continue();
        self.shared.stopped.store(false, Ordering::Release);
        if self.tg.pending.lock().set() & sigmask(libc::SIGKILL) == 0 {
            self.kernel
                .tree
                .lock()
                .report_stop_or_continue(self.pid(), ChildEvent::Continued);
        }
    }

    fn wait_for_continue(&mut self) {
        let waiter = self.shared.waiter.clone();
        loop {
            let pending = self.shared.pending.lock().set() | self.tg.pending.lock().set();
            if pending & (sigmask(libc::SIGCONT) | sigmask(libc::SIGKILL)) != 0 {
                return;
            }
            waiter.prepare();
            let pending = self.shared.pending.lock().set() | self.tg.pending.lock().set();
            if pending & (sigmask(libc::SIGCONT) | sigmask(libc::SIGKILL)) != 0 {
                return;
            }
            waiter.sleep(None);
            waiter.clear_interrupt();
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        self.kernel.tree.lock().remove_thread(self.tid);
        // Its CPU time moves to the process's account in the same step as it leaves
        // the thread list, so a concurrent sum never misses or double-counts it.
        let mut tasks = self.tg.tasks.lock();
        let before = tasks.len();
        tasks.retain(|t| !Arc::ptr_eq(t, &self.shared));
        if tasks.len() < before {
            let mut usage = self.tg.usage.lock();
            usage.dead += self.shared.cpu.times();
            usage.dead_faults += self.shared.cpu.faults();
        }
    }
}
