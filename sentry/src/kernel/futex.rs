//! Futexes: wait queues keyed by a guest address.
//!
//! A private futex is keyed by its address space and address; a shared one (a futex in
//! a MAP_SHARED mapping, waited on without FUTEX_PRIVATE_FLAG) by the memory-file frame
//! and offset, so processes sharing the memory meet on the same queue.
//!
//! The value check and the enqueue happen under the table lock, so a wake that follows
//! the guest's store can never be lost. Waiting sleeps on the task's own waiter, so a
//! signal interrupts it (ERESTARTSYS). Lock order: the futex table lock before any
//! MemoryManager lock; never a waiter's lock while holding the table lock's users' locks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::wait::{current_waiter, Waiter, WakeReason};
use crate::errno;
use crate::errno::{Errno, Result, ERESTARTSYS};

/// What a futex word is identified by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FutexKey {
    /// A private futex: (address space identity, address).
    Private(usize, u64),
    /// A shared futex: (memory-file frame, offset in the page).
    Shared(u64, u64),
}

struct Entry {
    bitset: u32,
    waiter: Arc<Waiter>,
    woken: Arc<AtomicBool>,
}

/// All futex wait queues of a kernel.
#[derive(Default)]
pub struct Futexes {
    queues: Mutex<HashMap<FutexKey, Vec<Entry>>>,
}

impl Futexes {
    /// FUTEX_WAIT(_BITSET): if `load()` still returns `expected`, sleeps until woken
    /// (Ok), the deadline passes (ETIMEDOUT) or a signal arrives (ERESTARTSYS); EAGAIN
    /// if the value differs.
    pub fn wait(
        &self,
        key: FutexKey,
        expected: u32,
        bitset: u32,
        deadline: Option<Instant>,
        load: impl FnOnce() -> Result<u32>,
    ) -> Result<()> {
        if bitset == 0 {
            return Err(errno!(EINVAL));
        }
        let waiter = current_waiter();
        let woken = Arc::new(AtomicBool::new(false));
        {
            let mut queues = self.queues.lock();
            if load()? != expected {
                return Err(errno!(EAGAIN));
            }
            queues.entry(key).or_default().push(Entry {
                bitset,
                waiter: waiter.clone(),
                woken: woken.clone(),
            });
        }
        loop {
            waiter.prepare();
            if woken.load(Ordering::Acquire) {
                return Ok(());
            }
            match waiter.sleep(deadline) {
                WakeReason::Notified => continue,
                WakeReason::TimedOut => return self.give_up(key, &woken, errno!(ETIMEDOUT)),
                WakeReason::Interrupted => {
                    return self.give_up(key, &woken, Errno::new(ERESTARTSYS))
                }
            }
        }
    }

    /// Leaves the queue after a timeout or interrupt; if a wake raced in first, the wait
    /// succeeded after all.
    fn give_up(&self, key: FutexKey, woken: &Arc<AtomicBool>, why: Errno) -> Result<()> {
        let mut queues = self.queues.lock();
        if woken.load(Ordering::Acquire) {
            return Ok(());
        }
        if let Some(q) = queues.get_mut(&key) {
            q.retain(|e| !Arc::ptr_eq(&e.woken, woken));
            if q.is_empty() {
                queues.remove(&key);
            }
        }
        Err(why)
    }

    fn wake_locked(
        queues: &mut HashMap<FutexKey, Vec<Entry>>,
        key: FutexKey,
        n: u32,
        bitset: u32,
    ) -> u32 {
        let Some(q) = queues.get_mut(&key) else {
            return 0;
        };
        let mut woken = 0;
        let mut i = 0;
        while i < q.len() && woken < n {
            if q[i].bitset & bitset != 0 {
                let e = q.remove(i);
                e.woken.store(true, Ordering::Release);
                e.waiter.notify();
                woken += 1;
            } else {
                i += 1;
            }
        }
        if q.is_empty() {
            queues.remove(&key);
        }
        woken
    }

    /// FUTEX_WAKE(_BITSET): wakes up to `n` waiters whose bitset intersects `bitset`.
    pub fn wake(&self, key: FutexKey, n: u32, bitset: u32) -> Result<u32> {
        if bitset == 0 {
            return Err(errno!(EINVAL));
        }
        Ok(Self::wake_locked(&mut self.queues.lock(), key, n, bitset))
    }

    /// FUTEX_(CMP_)REQUEUE: wakes `n_wake` waiters of `from` and moves up to
    /// `n_requeue` more to `to`; with `check`, only if `load()` equals the value.
    pub fn requeue(
        &self,
        from: FutexKey,
        to: FutexKey,
        n_wake: u32,
        n_requeue: u32,
        check: Option<(u32, &dyn Fn() -> Result<u32>)>,
    ) -> Result<u32> {
        let mut queues = self.queues.lock();
        if let Some((expected, load)) = check {
            if load()? != expected {
                return Err(errno!(EAGAIN));
            }
        }
        let woken = Self::wake_locked(&mut queues, from, n_wake, u32::MAX);
        let mut moved = Vec::new();
        if let Some(q) = queues.get_mut(&from) {
            let k = (n_requeue as usize).min(q.len());
            moved.extend(q.drain(..k));
            if q.is_empty() {
                queues.remove(&from);
            }
        }
        let requeued = moved.len() as u32;
        if !moved.is_empty() {
            queues.entry(to).or_default().extend(moved);
        }
        Ok(woken + requeued)
    }

    /// FUTEX_WAKE_OP: `op()` atomically updates the second word and returns its old
    /// value's comparison result; wakes `n1` on `k1` and, if it held, `n2` on `k2`.
    pub fn wake_op(
        &self,
        k1: FutexKey,
        k2: FutexKey,
        n1: u32,
        n2: u32,
        op: impl FnOnce() -> Result<bool>,
    ) -> Result<u32> {
        let mut queues = self.queues.lock();
        let cond = op()?;
        let mut woken = Self::wake_locked(&mut queues, k1, n1, u32::MAX);
        if cond {
            woken += Self::wake_locked(&mut queues, k2, n2, u32::MAX);
        }
        Ok(woken)
    }
}
