//! CPU-time accounting: what times(2), getrusage(2), wait4's rusage and the CPU-time
//! clocks and timers report.
//!
//! As in gVisor, a task's *user* time is the time its guest code ran: the wall time
//! spent inside the platform's switch. Its *system* time is the CPU time of the sentry
//! thread serving it (syscalls, faults, signal delivery), read from that host thread's
//! CPU clock; time the task spends blocked costs neither.

use std::ops::{Add, AddAssign};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{OnceLock, Weak};

use super::{TaskShared, ThreadGroup};
use std::time::{Duration, Instant};

/// User and system CPU time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time running guest code.
    pub user: Duration,
    /// Time the sentry spent working for the guest.
    pub sys: Duration,
}

impl CpuTimes {
    /// user + sys (what CLOCK_*_CPUTIME_ID and ITIMER_PROF count).
    pub fn total(&self) -> Duration {
        self.user + self.sys
    }
}

impl Add for CpuTimes {
    type Output = CpuTimes;
    fn add(self, o: CpuTimes) -> CpuTimes {
        CpuTimes {
            user: self.user + o.user,
            sys: self.sys + o.sys,
        }
    }
}

impl AddAssign for CpuTimes {
    fn add_assign(&mut self, o: CpuTimes) {
        *self = *self + o;
    }
}

/// Nanoseconds on the sentry's monotonic timeline (since its first use), never 0.
fn now_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    base.elapsed().as_nanos() as u64 + 1
}

/// One task's CPU clock.
#[derive(Default)]
pub struct TaskCpu {
    /// User time of the finished guest runs, in ns.
    user_ns: AtomicU64,
    /// When the guest run under way began (`now_ns`), 0 when not in guest code.
    running_since: AtomicU64,
    /// The tid of the sentry thread serving the task (0 before it starts).
    host_tid: AtomicI32,
    /// Page faults the sentry resolved for the task.
    faults: AtomicU64,
}

impl TaskCpu {
    /// Records that the calling sentry thread serves this task from now on.
    pub fn bind_current_thread(&self) {
        self.host_tid
            .store(nix::unistd::gettid().as_raw(), Ordering::Release);
    }

    /// The task enters guest code.
    pub fn enter_guest(&self) {
        self.running_since.store(now_ns(), Ordering::Release);
    }

    /// The task left guest code.
    pub fn leave_guest(&self) {
        let since = self.running_since.swap(0, Ordering::AcqRel);
        if since != 0 {
            self.user_ns
                .fetch_add(now_ns().saturating_sub(since), Ordering::AcqRel);
        }
    }

    /// Counts a page fault the sentry resolved (ru_minflt).
    pub fn count_fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    /// Page faults so far.
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    /// User time so far, including a guest run under way.
    pub fn user(&self) -> Duration {
        let done = self.user_ns.load(Ordering::Acquire);
        let since = self.running_since.load(Ordering::Acquire);
        let running = if since == 0 {
            0
        } else {
            now_ns().saturating_sub(since)
        };
        Duration::from_nanos(done + running)
    }

    /// System time so far: the CPU time of the serving sentry thread (zero once that
    /// thread is gone).
    pub fn sys(&self) -> Duration {
        let tid = self.host_tid.load(Ordering::Acquire);
        if tid <= 0 {
            return Duration::ZERO;
        }
        // Linux's encoding of a thread's CPU clock: ~tid << 3 | CPUCLOCK_PERTHREAD |
        // CPUCLOCK_SCHED. Readable for threads of the calling process, which every
        // sentry thread is.
        let id = nix::time::ClockId::from_raw((!tid << 3) | 4 | 2);
        nix::time::clock_gettime(id).map_or(Duration::ZERO, |t| {
            Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
        })
    }

    /// Both.
    pub fn times(&self) -> CpuTimes {
        CpuTimes {
            user: self.user(),
            sys: self.sys(),
        }
    }

    /// Takes over another record's user time and faults (execve's de_thread moves the
    /// execing thread into the leader's place).
    pub fn take_over(&self, from: &TaskCpu) {
        self.user_ns
            .store(from.user_ns.load(Ordering::Acquire), Ordering::Release);
        self.faults
            .store(from.faults.load(Ordering::Relaxed), Ordering::Relaxed);
        self.host_tid
            .store(from.host_tid.load(Ordering::Acquire), Ordering::Release);
    }
}

/// What getrusage(2) reports for a thread, a process or its children.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time.
    pub times: CpuTimes,
    /// Page faults the sentry resolved (ru_minflt).
    pub minflt: u64,
    /// Largest resident set seen, in pages (ru_maxrss).
    pub maxrss_pages: u64,
}

impl Usage {
    /// Adds `o`'s times and faults; keeps the larger peak resident set.
    pub fn merge(&mut self, o: Usage) {
        self.times += o.times;
        self.minflt += o.minflt;
        self.maxrss_pages = self.maxrss_pages.max(o.maxrss_pages);
    }
}

/// A process's accounting beyond its live threads.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcessUsage {
    /// CPU time of threads that have exited.
    pub dead: CpuTimes,
    /// Page faults of threads that have exited.
    pub dead_faults: u64,
    /// Largest resident set seen, in pages.
    pub maxrss_pages: u64,
    /// Children waited for (each one's own usage plus its waited-for children's).
    pub children: Usage,
}

/// What a CPU-time clock counts (Linux's CPUCLOCK_PROF/VIRT/SCHED).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuClockKind {
    /// User and system time (ITIMER_PROF).
    Prof,
    /// User time only (ITIMER_VIRTUAL).
    Virt,
    /// All time on a CPU (CLOCK_*_CPUTIME_ID); user + system here.
    Sched,
}

/// Whose CPU time a clock counts.
#[derive(Clone)]
pub enum CpuClockOf {
    /// Every thread of a process.
    Process(Weak<ThreadGroup>),
    /// One thread.
    Thread(Weak<TaskShared>),
}

/// A CPU-time clock: CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID and the clocks
/// clock_getcpuclockid/pthread_getcpuclockid name.
#[derive(Clone)]
pub struct CpuClock {
    /// Whose time.
    pub of: CpuClockOf,
    /// Which time.
    pub kind: CpuClockKind,
}

impl CpuClock {
    /// The time on the clock; None once the process or thread is gone.
    pub fn now(&self) -> Option<Duration> {
        let (user, times) = match &self.of {
            CpuClockOf::Process(tg) => {
                let tg = tg.upgrade()?;
                if self.kind == CpuClockKind::Virt {
                    (tg.user_time(), None)
                } else {
                    (Duration::ZERO, Some(tg.cpu_times()))
                }
            }
            CpuClockOf::Thread(t) => {
                let t = t.upgrade()?;
                if self.kind == CpuClockKind::Virt {
                    (t.cpu.user(), None)
                } else {
                    (Duration::ZERO, Some(t.cpu.times()))
                }
            }
        };
        Some(times.map_or(user, |t| t.total()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_time_counts_the_run_under_way() {
        let c = TaskCpu::default();
        assert_eq!(c.user(), Duration::ZERO);
        c.enter_guest();
        std::thread::sleep(Duration::from_millis(20));
        assert!(c.user() >= Duration::from_millis(20));
        c.leave_guest();
        let done = c.user();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.user(), done, "no time accrues outside guest code");
    }

    #[test]
    fn system_time_is_the_bound_threads_cpu_time() {
        let c = TaskCpu::default();
        assert_eq!(c.sys(), Duration::ZERO, "unbound");
        c.bind_current_thread();
        // Spinning makes it advance (however loaded the machine is).
        let start = c.sys();
        let t = Instant::now();
        let mut x = 0u64;
        while c.sys() - start < Duration::from_millis(10) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the clock does not advance"
            );
            for _ in 0..10_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
        // A sleeping thread accrues nothing (well under the 20 ms slept).
        let before = c.sys();
        std::thread::sleep(Duration::from_millis(20));
        assert!(c.sys() - before < Duration::from_millis(10));
    }
}
