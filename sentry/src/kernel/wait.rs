//! Blocking: the one mechanism every sleeping system call uses.
//!
//! Each task has a [`Waiter`]. Objects a task can wait for (pipes, futexes, poll sets,
//! timers, children) own [`WaitQueue`]s; a task blocks by registering its waiter on the
//! queues it cares about and sleeping until one is notified, its deadline passes, or
//! it is interrupted (a signal, a thread-group exit) — in which case the call returns
//! a restart errno and the run loop decides between EINTR and restarting it.
//!
//! Wakeups cannot be lost: [`Waiter::prepare`] arms the waiter *before* the caller
//! checks its condition, and a notify between the check and the sleep leaves the
//! waiter armed-and-woken, so the sleep returns at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use crate::errno;
use crate::errno::{Errno, Result, ERESTARTSYS};

/// A task's sleep/wake handle.
#[derive(Default)]
pub struct Waiter {
    woken: Mutex<bool>,
    cv: Condvar,
    interrupted: AtomicBool,
    /// The task is blocked in [`Waiter::sleep`] (its /proc state is S).
    sleeping: AtomicBool,
    /// How many times the task blocked (its voluntary context switches).
    sleeps: AtomicU64,
}

/// Marks a waiter asleep for as long as it lives.
struct Asleep<'a>(&'a Waiter);

impl<'a> Asleep<'a> {
    fn new(w: &'a Waiter) -> Asleep<'a> {
        w.sleeps.fetch_add(1, Ordering::Relaxed);
        w.sleeping.store(true, Ordering::Release);
        Asleep(w)
    }
}

impl Drop for Asleep<'_> {
    fn drop(&mut self) {
        self.0.sleeping.store(false, Ordering::Release);
    }
}

/// Why a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WakeReason {
    /// Something the task waits for was notified (recheck the condition).
    Notified,
    /// The deadline passed.
    TimedOut,
    /// The task was interrupted.
    Interrupted,
}

impl Waiter {
    /// Arms the waiter: a notify from now on makes the next sleep return at once.
    pub fn prepare(&self) {
        *self.woken.lock() = false;
    }

    /// Sleeps until notified, interrupted or `deadline`.
    pub fn sleep(&self, deadline: Option<Instant>) -> WakeReason {
        let mut woken = self.woken.lock();
        let mut asleep = None;
        loop {
            if self.interrupted.load(Ordering::Acquire) {
                return WakeReason::Interrupted;
            }
            if *woken {
                return WakeReason::Notified;
            }
            // Counted once per sleep that actually blocks.
            asleep.get_or_insert_with(|| Asleep::new(self));
            match deadline {
                Some(d) => {
                    if self.cv.wait_until(&mut woken, d).timed_out() && !*woken {
                        return if self.interrupted.load(Ordering::Acquire) {
                            WakeReason::Interrupted
                        } else {
                            WakeReason::TimedOut
                        };
                    }
                }
                None => self.cv.wait(&mut woken),
            }
        }
    }

    /// Whether the task is blocked now.
    pub fn is_sleeping(&self) -> bool {
        self.sleeping.load(Ordering::Acquire)
    }

    /// How many times the task has blocked.
    pub fn sleeps(&self) -> u64 {
        self.sleeps.load(Ordering::Relaxed)
    }

    /// Wakes the waiter (if it sleeps, or makes its next sleep return at once).
    pub fn notify(&self) {
        *self.woken.lock() = true;
        self.cv.notify_one();
    }

    /// Marks the task interrupted and wakes it: every sleep returns `Interrupted` until
    /// [`Waiter::clear_interrupt`].
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::Release);
        self.notify();
    }

    /// Whether an interrupt is pending.
    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Acquire)
    }

    /// Clears the interrupt (the run loop does, after acting on it).
    pub fn clear_interrupt(&self) {
        self.interrupted.store(false, Ordering::Release);
    }
}

/// Something a wait queue wakes: a sleeping task's [`Waiter`], or an epoll interest
/// entry that records the event and wakes its own waiters.
pub trait Notify: Send + Sync {
    /// The object's state may have changed.
    fn notify(&self);
}

impl Notify for Waiter {
    fn notify(&self) {
        Waiter::notify(self)
    }
}

/// Waiters interested in one object.
#[derive(Default)]
pub struct WaitQueue {
    waiters: Mutex<Vec<Arc<dyn Notify>>>,
}

impl WaitQueue {
    /// An empty queue (usable in statics).
    pub const fn new() -> WaitQueue {
        WaitQueue {
            waiters: Mutex::new(Vec::new()),
        }
    }

    /// Registers `w` until the returned guard is dropped.
    pub fn register<'a>(&'a self, w: &Arc<Waiter>) -> Registration<'a> {
        let n: Arc<dyn Notify> = w.clone();
        self.waiters.lock().push(n.clone());
        Registration {
            queue: self,
            waiter: n,
        }
    }

    /// Registers `n` until [`WaitQueue::unregister`] (for registrations that outlive a
    /// call, such as an epoll interest entry).
    pub fn register_persistent(&self, n: Arc<dyn Notify>) {
        self.waiters.lock().push(n);
    }

    /// Removes a registration made with [`WaitQueue::register_persistent`].
    pub fn unregister(&self, n: &Arc<dyn Notify>) {
        let mut ws = self.waiters.lock();
        if let Some(i) = ws.iter().position(|w| Arc::ptr_eq(w, n)) {
            ws.swap_remove(i);
        }
    }

    /// Wakes every registered waiter; they recheck their conditions.
    pub fn notify_all(&self) {
        // Notify outside the lock: an epoll entry's notify takes other queues' locks.
        let ws: Vec<Arc<dyn Notify>> = self.waiters.lock().clone();
        for w in ws {
            w.notify();
        }
    }
}

/// A waiter's registration on a queue, removed on drop.
pub struct Registration<'a> {
    queue: &'a WaitQueue,
    waiter: Arc<dyn Notify>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.queue.unregister(&self.waiter);
    }
}

thread_local! {
    static CURRENT: std::cell::RefCell<Option<Arc<Waiter>>> = const { std::cell::RefCell::new(None) };
}

/// Makes `w` the waiter of the task running on this host thread.
pub fn set_current_waiter(w: Arc<Waiter>) {
    CURRENT.with(|c| *c.borrow_mut() = Some(w));
}

/// The waiter of the task running on this host thread (a private one for sentry
/// threads that are not tasks).
pub fn current_waiter() -> Arc<Waiter> {
    CURRENT.with(|c| {
        c.borrow_mut()
            .get_or_insert_with(|| Arc::new(Waiter::default()))
            .clone()
    })
}

/// Blocks the current task on `queues` until `ready` returns Some, the deadline passes
/// (ETIMEDOUT) or the task is interrupted (ERESTARTSYS, or what `on_interrupt` gives).
pub fn block_until<T>(
    queues: &[&WaitQueue],
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> Option<Result<T>>,
) -> Result<T> {
    let w = current_waiter();
    let _regs: Vec<Registration<'_>> = queues.iter().map(|q| q.register(&w)).collect();
    loop {
        w.prepare();
        if let Some(r) = ready() {
            return r;
        }
        match w.sleep(deadline) {
            WakeReason::Notified => continue,
            WakeReason::TimedOut => {
                // One last look: the condition may have become true just now.
                return ready().unwrap_or_else(|| Err(errno!(ETIMEDOUT)));
            }
            // As Linux does, what the caller waits for wins over a signal that arrived
            // at the same time (a child's exit and its SIGCHLD, data and a signal).
            WakeReason::Interrupted => {
                return ready().unwrap_or_else(|| Err(Errno::new(ERESTARTSYS)))
            }
        }
    }
}

/// Sleeps the current task until `deadline` (Ok) or an interrupt (ERESTARTSYS).
pub fn sleep_until(deadline: Instant) -> Result<()> {
    match block_until::<()>(&[], Some(deadline), || None) {
        Err(e) if e.code() == libc::ETIMEDOUT => Ok(()),
        other => other,
    }
}
