//! The Linux x86-64 system call table of the sentry.
//!
//! [`TABLE`] lists every system call moat knows, with its handler and support level;
//! one module per family (fs, mm, process, signal, splice, time, info) holds the handlers.
//! Handlers take typed arguments — decoded once, by the table — and return
//! `Result<u64, Errno>`. The compatibility table in `syscalls/COMPATIBILITY.md` is
//! generated from this table (`moat syscalls --markdown`).

#![deny(unsafe_code)]

mod advise;
mod args;
mod creds;
mod events;
mod fs;
mod fschange;
mod futex;
mod info;
mod ipc;
mod locks;
mod memfd;
mod mm;
mod mount;
mod mqueue;
mod net;
mod notify;
mod poll;
mod process;
mod remote;
mod sched;
mod seccomp;
mod signal;
mod splice;
pub mod strace;
mod table;
mod time;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sentry::errno::Result;
use sentry::kernel::{SyscallTable, Task};
use tracing::{info, warn};

pub use table::{Entry, Support, TABLE};

/// The syscall table the sentry's run loop dispatches to.
pub struct Linux64 {
    /// Which unimplemented syscalls were already logged (one bit per number).
    logged: [AtomicU64; 8],
}

impl Linux64 {
    /// The table, ready to hand to the kernel.
    pub fn new() -> Arc<Linux64> {
        Arc::new(Linux64 {
            logged: Default::default(),
        })
    }

    fn log_once(&self, nr: u64, name: &str, support: &Support) {
        let (word, bit) = ((nr / 64) as usize, 1u64 << (nr % 64));
        if let Some(w) = self.logged.get(word) {
            if w.fetch_or(bit, Ordering::Relaxed) & bit == 0 {
                warn!("guest called unsupported syscall {name} ({nr}): {support}");
            }
        }
    }
}

impl SyscallTable for Linux64 {
    fn invoke(&self, task: &mut Task, nr: u64, args: [u64; 6]) -> Result<u64> {
        let entry = table::lookup(nr);
        let call = task
            .kernel
            .options
            .strace
            .then(|| strace::format_call(nr, &args, &Memory(task)));
        let result = match entry.and_then(|e| e.handler.map(|h| (e, h))) {
            Some((_, handler)) => handler(task, &args),
            None => {
                let (name, support) = match entry {
                    Some(e) => (e.name.to_string(), e.support.clone()),
                    None => (
                        format!("syscall_{nr}"),
                        Support::Unsupported(libc::ENOSYS, "not in the table"),
                    ),
                };
                self.log_once(nr, &name, &support);
                Err(sentry::errno::Errno::new(support.errno()))
            }
        };
        if let Err(e) = &result {
            tracing::debug!(tid = task.tid, nr, "syscall failed: {e:?}");
        }
        if let Some(call) = call {
            let ret = match &result {
                Ok(v) => *v as i64,
                Err(e) => -(e.code() as i64),
            };
            let call = strace::format_call_after(nr, &args, ret, &Memory(task)).unwrap_or(call);
            info!(target: "strace", "[{:>5}] {}{}", task.tid, call, strace::format_result(nr, ret));
        }
        result
    }
}

/// Guest memory for the strace decoder.
struct Memory<'a>(&'a Task);

impl strace::GuestMemory for Memory<'_> {
    fn read_bytes(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        self.0.mm.read_bytes(addr, len).ok()
    }
}
