//! Pausing a whole sandbox (OCI `pause`/`resume`): while the kernel is frozen no guest
//! thread runs guest code. Each task parks at the top of its run loop, before it would
//! switch into the guest; freezing interrupts every task (out of guest code, out of
//! interruptible sleeps — the interrupted calls restart once thawed, as after Linux's
//! freezer) so it gets there. Tasks blocked in waits that do not take interrupts stay
//! blocked, which is as good: they park before running guest code again.

use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::process::ProcessTree;

#[derive(Default)]
struct State {
    frozen: bool,
    parked: usize,
}

/// The kernel's freezer.
#[derive(Default)]
pub struct Freezer {
    state: Mutex<State>,
    cv: Condvar,
}

impl Freezer {
    /// Whether the sandbox is frozen.
    pub fn is_frozen(&self) -> bool {
        self.state.lock().frozen
    }

    /// Called by each task before it enters guest code: returns false at once unless
    /// the sandbox is frozen, else true when it is thawed.
    pub fn park_if_frozen(&self) -> bool {
        let mut s = self.state.lock();
        if !s.frozen {
            return false;
        }
        s.parked += 1;
        self.cv.notify_all();
        while s.frozen {
            self.cv.wait(&mut s);
        }
        s.parked -= 1;
        true
    }

    /// Freezes the sandbox whose threads `tree` holds. Returns true once every thread
    /// is parked or asleep, false if some still were after `within` (they park before
    /// running guest code again).
    pub fn freeze(&self, tree: &Mutex<ProcessTree>, within: Duration) -> bool {
        self.state.lock().frozen = true;
        let deadline = Instant::now() + within;
        loop {
            let threads = tree.lock().threads();
            for t in &threads {
                t.wake_for_signal();
            }
            let mut s = self.state.lock();
            let asleep = threads.iter().filter(|t| t.waiter.is_sleeping()).count();
            if s.parked + asleep >= threads.len() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            self.cv.wait_for(
                &mut s,
                Duration::from_millis(5).min(deadline - Instant::now()),
            );
        }
    }

    /// Lets every task run again.
    pub fn thaw(&self) {
        self.state.lock().frozen = false;
        self.cv.notify_all();
    }
}
