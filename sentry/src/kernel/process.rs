//! The process tree: parents, children, zombies, reparenting, and waiting for children.
//!
//! One kernel-wide lock guards the tree (Linux's tasklist_lock): every parent/child
//! link, every zombie, and the table of live threads. Lock order: the tree lock before
//! any ThreadGroup or TaskShared lock.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::cputime::Usage;
use super::signal::{SigInfo, SA_NOCLDSTOP, SA_NOCLDWAIT, SIG_IGN};
use super::task::{ExitStatus, TaskShared, ThreadGroup};
use crate::errno;
use crate::errno::Result;

/// CLD_* codes of SIGCHLD's siginfo and waitid.
pub const CLD_EXITED: i32 = 1;
/// Killed by a signal.
pub const CLD_KILLED: i32 = 2;
/// Killed by a signal that dumps core.
pub const CLD_DUMPED: i32 = 3;
/// Stopped by a signal.
pub const CLD_STOPPED: i32 = 5;
/// Continued by SIGCONT.
pub const CLD_CONTINUED: i32 = 6;

/// A state change of a child that wait can report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildEvent {
    /// It exited (a zombie until reaped).
    Exited(ExitStatus),
    /// It was stopped by this signal.
    Stopped(i32),
    /// It was continued.
    Continued,
}

impl ChildEvent {
    /// The CLD_* code and the status value waitid reports.
    pub fn code_and_status(self) -> (i32, i32) {
        match self {
            ChildEvent::Exited(ExitStatus::Exited(c)) => (CLD_EXITED, c),
            ChildEvent::Exited(ExitStatus::Signaled { signo, core: false }) => (CLD_KILLED, signo),
            ChildEvent::Exited(ExitStatus::Signaled { signo, core: true }) => (CLD_DUMPED, signo),
            ChildEvent::Stopped(sig) => (CLD_STOPPED, sig),
            ChildEvent::Continued => (CLD_CONTINUED, libc::SIGCONT),
        }
    }

    /// The status word wait4 reports.
    pub fn wait_status(self) -> i32 {
        match self {
            ChildEvent::Exited(st) => st.wait_status(),
            ChildEvent::Stopped(sig) => (sig << 8) | 0x7f,
            ChildEvent::Continued => 0xffff,
        }
    }
}

struct Node {
    tg: Arc<ThreadGroup>,
    parent: i32,
    children: BTreeSet<i32>,
    /// Reportable state changes, oldest first; an exit is always the last.
    events: Vec<ChildEvent>,
    zombie: bool,
    /// Signal sent to the parent when this process exits (usually SIGCHLD; 0: none).
    exit_signal: i32,
    subreaper: bool,
}

/// Which children a wait is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitTarget {
    /// Any child.
    Any,
    /// The child with this pid.
    Pid(i32),
    /// Any child in this process group.
    Group(i32),
}

/// What a wait asks for.
#[derive(Clone, Copy, Debug)]
pub struct WaitOptions {
    /// Report exits.
    pub exited: bool,
    /// Report stops.
    pub stopped: bool,
    /// Report continues.
    pub continued: bool,
    /// Leave the child waitable (WNOWAIT).
    pub keep: bool,
}

/// The sandbox's processes and threads.
#[derive(Default)]
pub struct ProcessTree {
    nodes: HashMap<i32, Node>,
    threads: HashMap<i32, (Arc<TaskShared>, Arc<ThreadGroup>)>,
}

impl ProcessTree {
    /// Live threads (for the pids limit).
    pub fn thread_count(&self) -> usize {
        self.threads.len()
    }

    /// Adds a new process under `parent` (0 for the sandbox's init).
    pub fn add_process(&mut self, tg: Arc<ThreadGroup>, parent: i32, exit_signal: i32) {
        let tgid = tg.tgid;
        if let Some(p) = self.nodes.get_mut(&parent) {
            p.children.insert(tgid);
        }
        self.nodes.insert(
            tgid,
            Node {
                tg,
                parent,
                children: BTreeSet::new(),
                events: Vec::new(),
                zombie: false,
                exit_signal,
                subreaper: false,
            },
        );
    }

    /// Records a live thread.
    pub fn add_thread(&mut self, task: Arc<TaskShared>, tg: Arc<ThreadGroup>) {
        self.threads.insert(task.tid, (task, tg));
    }

    /// Forgets a thread that ended.
    pub fn remove_thread(&mut self, tid: i32) {
        self.threads.remove(&tid);
    }

    /// Every live thread.
    pub fn threads(&self) -> Vec<Arc<TaskShared>> {
        self.threads.values().map(|(t, _)| t.clone()).collect()
    }

    /// The thread `tid` and its process.
    pub fn thread(&self, tid: i32) -> Option<(Arc<TaskShared>, Arc<ThreadGroup>)> {
        self.threads.get(&tid).cloned()
    }

    /// The live (not zombie) process `tgid`.
    pub fn process(&self, tgid: i32) -> Option<Arc<ThreadGroup>> {
        self.nodes
            .get(&tgid)
            .filter(|n| !n.zombie)
            .map(|n| n.tg.clone())
    }

    /// Process `tgid`, live or zombie (true), for /proc.
    pub fn lookup_process(&self, tgid: i32) -> Option<(Arc<ThreadGroup>, bool)> {
        self.nodes.get(&tgid).map(|n| (n.tg.clone(), n.zombie))
    }

    /// Every process id, zombies included, in order (for /proc).
    pub fn all_pids(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self.nodes.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Every live process, in pid order.
    pub fn processes(&self) -> Vec<Arc<ThreadGroup>> {
        let mut v: Vec<_> = self
            .nodes
            .values()
            .filter(|n| !n.zombie)
            .map(|n| n.tg.clone())
            .collect();
        v.sort_by_key(|t| t.tgid);
        v
    }

    /// The parent pid of `tgid` (0 for init or unknown).
    pub fn parent_of(&self, tgid: i32) -> i32 {
        self.nodes.get(&tgid).map_or(0, |n| n.parent)
    }

    /// Whether `child` is a child of `parent`.
    pub fn is_child(&self, parent: i32, child: i32) -> bool {
        self.nodes
            .get(&parent)
            .is_some_and(|p| p.children.contains(&child))
    }

    /// PR_SET_CHILD_SUBREAPER.
    pub fn set_subreaper(&mut self, tgid: i32, on: bool) {
        if let Some(n) = self.nodes.get_mut(&tgid) {
            n.subreaper = on;
        }
    }

    /// PR_GET_CHILD_SUBREAPER.
    pub fn is_subreaper(&self, tgid: i32) -> bool {
        self.nodes.get(&tgid).is_some_and(|n| n.subreaper)
    }

    /// Who adopts the orphans of `tgid`: the nearest live subreaper ancestor, else init.
    fn reaper_for(&self, tgid: i32) -> i32 {
        let mut p = self.parent_of(tgid);
        while p != 0 {
            match self.nodes.get(&p) {
                Some(n) if n.subreaper && !n.zombie => return p,
                Some(n) => p = n.parent,
                None => break,
            }
        }
        1
    }

    /// The process `tgid` exited: its children go to their reaper, and it becomes a
    /// zombie its parent is told about — or is reaped at once when the parent ignores
    /// SIGCHLD (or set SA_NOCLDWAIT), or has none.
    pub fn exit_process(&mut self, tgid: i32, status: ExitStatus) {
        let reaper = self.reaper_for(tgid);
        let children: Vec<i32> = self
            .nodes
            .get(&tgid)
            .map(|n| n.children.iter().copied().collect())
            .unwrap_or_default();
        for c in children {
            let reaper = if reaper == tgid { 1 } else { reaper };
            if let Some(n) = self.nodes.get_mut(&c) {
                n.parent = reaper;
                n.exit_signal = libc::SIGCHLD;
            }
            if let Some(r) = self.nodes.get_mut(&reaper) {
                r.children.insert(c);
            }
            if self.nodes.get(&c).is_some_and(|n| n.zombie) {
                if let Some(r) = self.nodes.get(&reaper) {
                    r.tg.child_events.notify_all();
                }
            }
        }
        let Some(node) = self.nodes.get(&tgid) else {
            return;
        };
        let (parent, exit_signal, uid) = (node.parent, node.exit_signal, 0);
        let Some(ptg) = self.nodes.get(&parent).map(|n| n.tg.clone()) else {
            // No parent (init): nobody reaps it.
            self.nodes.remove(&tgid);
            return;
        };
        let action = ptg.actions.lock().get(libc::SIGCHLD as usize);
        let autoreap = action.handler == SIG_IGN || action.flags & SA_NOCLDWAIT != 0;
        if autoreap {
            self.remove(tgid);
        } else if let Some(n) = self.nodes.get_mut(&tgid) {
            n.zombie = true;
            n.events.retain(|e| matches!(e, ChildEvent::Exited(_)));
            n.events.push(ChildEvent::Exited(status));
        }
        if exit_signal != 0 {
            let (code, st) = ChildEvent::Exited(status).code_and_status();
            let (utime, stime) = self
                .nodes
                .get(&tgid)
                .map_or((0, 0), |n| clock_ticks(n.tg.cpu_times()));
            ptg.send_signal(SigInfo::child(code, tgid, uid, st, utime, stime));
        }
        ptg.child_events.notify_all();
    }

    /// A child stopped or continued: its parent may be told (SIGCHLD unless
    /// SA_NOCLDSTOP) and its waits woken.
    pub fn report_stop_or_continue(&mut self, tgid: i32, event: ChildEvent) {
        let Some(node) = self.nodes.get_mut(&tgid) else {
            return;
        };
        node.events.retain(|e| matches!(e, ChildEvent::Exited(_)));
        node.events.push(event);
        let parent = node.parent;
        let Some(ptg) = self.nodes.get(&parent).map(|n| n.tg.clone()) else {
            return;
        };
        let action = ptg.actions.lock().get(libc::SIGCHLD as usize);
        if action.flags & SA_NOCLDSTOP == 0 {
            let (code, st) = event.code_and_status();
            let (utime, stime) = self
                .nodes
                .get(&tgid)
                .map_or((0, 0), |n| clock_ticks(n.tg.cpu_times()));
            ptg.send_signal(SigInfo::child(code, tgid, 0, st, utime, stime));
        }
        ptg.child_events.notify_all();
    }

    /// Forgets a process that never ran (its creation failed half-way).
    pub fn forget_process(&mut self, tgid: i32) {
        self.remove(tgid);
    }

    fn remove(&mut self, tgid: i32) {
        if let Some(n) = self.nodes.remove(&tgid) {
            if let Some(p) = self.nodes.get_mut(&n.parent) {
                p.children.remove(&tgid);
            }
        }
    }

    /// One non-blocking wait step for `parent`: Ok(Some((pid, event, usage))) if a
    /// matching child has something to report (reaping a zombie unless `keep`; its
    /// usage then joins the parent's children's), Ok(None) if matching children exist
    /// but have nothing yet, ECHILD if none match.
    pub fn try_wait(
        &mut self,
        parent: i32,
        target: WaitTarget,
        opts: WaitOptions,
    ) -> Result<Option<(i32, ChildEvent, Usage)>> {
        let children: Vec<i32> = self
            .nodes
            .get(&parent)
            .map(|n| n.children.iter().copied().collect())
            .unwrap_or_default();
        let matching: Vec<i32> = children
            .into_iter()
            .filter(|&c| match target {
                WaitTarget::Any => true,
                WaitTarget::Pid(p) => c == p,
                WaitTarget::Group(g) => self.nodes.get(&c).is_some_and(|n| *n.tg.pgid.lock() == g),
            })
            .collect();
        if matching.is_empty() {
            return Err(errno!(ECHILD));
        }
        for c in matching {
            let Some(n) = self.nodes.get_mut(&c) else {
                continue;
            };
            let pos = n.events.iter().position(|e| match e {
                ChildEvent::Exited(_) => opts.exited,
                ChildEvent::Stopped(_) => opts.stopped,
                ChildEvent::Continued => opts.continued,
            });
            let Some(i) = pos else { continue };
            let ev = n.events[i];
            let usage = n.tg.reaped_usage();
            if !opts.keep {
                n.events.remove(i);
                if matches!(ev, ChildEvent::Exited(_)) {
                    self.remove(c);
                    if let Some(p) = self.nodes.get(&parent) {
                        p.tg.usage.lock().children.merge(usage);
                    }
                }
            }
            return Ok(Some((c, ev, usage)));
        }
        Ok(None)
    }

    /// The pids of every live process in process group `pgid`.
    pub fn group_members(&self, pgid: i32) -> Vec<Arc<ThreadGroup>> {
        self.processes()
            .into_iter()
            .filter(|t| *t.pgid.lock() == pgid)
            .collect()
    }

    /// Whether process group `pgid` is orphaned (POSIX): no live member has a live
    /// parent in another group of the same session.
    pub fn is_orphaned_pgrp(&self, pgid: i32) -> bool {
        !self
            .nodes
            .values()
            .filter(|n| !n.zombie && *n.tg.pgid.lock() == pgid)
            .any(|n| {
                self.nodes.get(&n.parent).is_some_and(|p| {
                    !p.zombie && *p.tg.pgid.lock() != pgid && *p.tg.sid.lock() == *n.tg.sid.lock()
                })
            })
    }

    /// Whether some live process is in session `sid` with process group `pgid`.
    pub fn group_exists_in_session(&self, pgid: i32, sid: i32) -> bool {
        self.processes()
            .iter()
            .any(|t| *t.pgid.lock() == pgid && *t.sid.lock() == sid)
    }
}

/// CPU times in clock ticks (USER_HZ, 100 per second), as siginfo and times(2) carry
/// them.
pub fn clock_ticks(t: super::cputime::CpuTimes) -> (u64, u64) {
    let ticks = |d: std::time::Duration| (d.as_nanos() / 10_000_000) as u64;
    (ticks(t.user), ticks(t.sys))
}
