//! System V semaphores: sets of counters that semop(2) changes atomically, blocking
//! until the whole operation array can be applied at once.
//!
//! A blocked semop sleeps on its set's wait queue and tries again whenever a value
//! changes; what it waits for (the operation that blocked it) is recorded for
//! GETNCNT/GETZCNT. SEM_UNDO adjustments are kept per process (all threads of a
//! process share them, as with CLONE_SYSVSEM) and applied when the process exits.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use super::abi::{SemBuf, SemInfo, SemidDs};
use super::{current_pid, lookup, now, Ids, IpcObject, IpcPerm, Lookup, IPC_NOWAIT};
use crate::errno;
use crate::errno::{Result, ERESTARTSYS};
use crate::kernel::creds::Credentials;
use crate::kernel::wait::{block_until, WaitQueue};

/// semop: undo the operation when the process exits.
pub const SEM_UNDO: i16 = 0x1000;
/// The largest semaphore value.
pub const SEMVMX: i32 = 32767;
/// The largest adjustment an undo entry keeps.
const SEMAEM: i32 = SEMVMX;
/// The most semaphores one set may have whatever SEMMSL says (the sentry's memory).
const MAX_NSEMS: i32 = 1 << 20;
/// SEMUSZ, reported by IPC_INFO.
const SEMUSZ: i32 = 20;

/// The tunable limits (/proc/sys/kernel/sem: SEMMSL, SEMMNS, SEMOPM, SEMMNI).
#[derive(Clone, Copy, Debug)]
pub struct SemLimits {
    /// Most semaphores in a set.
    pub semmsl: i32,
    /// Most semaphores in all sets.
    pub semmns: i32,
    /// Most operations in one semop.
    pub semopm: i32,
    /// Most sets.
    pub semmni: i32,
}

impl Default for SemLimits {
    fn default() -> SemLimits {
        SemLimits {
            semmsl: 32000,
            semmns: 1_024_000_000,
            semopm: 500,
            semmni: 32000,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Sem {
    val: i32,
    pid: i32,
}

/// A blocked semop: what it waits for.
struct Blocked {
    ticket: u64,
    num: u16,
    /// Waits for zero (else for an increase).
    zero: bool,
}

struct SetState {
    perm: IpcPerm,
    otime: i64,
    ctime: i64,
    sems: Vec<Sem>,
    removed: bool,
    /// SEM_UNDO adjustments by process.
    undo: HashMap<i32, Vec<i32>>,
    blocked: Vec<Blocked>,
}

/// One semaphore set.
pub struct SemSet {
    id: i32,
    state: Mutex<SetState>,
    changed: WaitQueue,
}

impl IpcObject for SemSet {
    fn id(&self) -> i32 {
        self.id
    }
}

impl SemSet {
    fn nsems(&self) -> usize {
        self.state.lock().sems.len()
    }
}

struct Table {
    ids: Ids<SemSet>,
    /// Semaphores in all sets.
    used: i64,
}

/// The namespace's semaphore sets.
pub struct SemTable {
    table: Mutex<Table>,
    /// The limits.
    pub limits: Mutex<SemLimits>,
    /// Processes that have used SEM_UNDO.
    undo_users: Mutex<HashSet<i32>>,
    next_ticket: AtomicU64,
}

impl Default for SemTable {
    fn default() -> SemTable {
        SemTable {
            table: Mutex::new(Table {
                ids: Ids::default(),
                used: 0,
            }),
            limits: Mutex::new(SemLimits::default()),
            undo_users: Mutex::new(HashSet::new()),
            next_ticket: AtomicU64::new(1),
        }
    }
}

/// What one try at a semop array came to.
enum Try {
    Done,
    /// Operation `i` cannot proceed yet.
    Blocked(usize),
}

/// Applies `sops` to the set at once, or not at all.
fn try_semop(st: &mut SetState, sops: &[SemBuf], tgid: i32, pid: i32) -> Result<Try> {
    let mut vals: Vec<i32> = st.sems.iter().map(|s| s.val).collect();
    let undos = sops.iter().any(|s| s.flg & SEM_UNDO != 0);
    let mut adj = if undos {
        st.undo
            .get(&tgid)
            .cloned()
            .unwrap_or_else(|| vec![0; vals.len()])
    } else {
        Vec::new()
    };
    for (i, sop) in sops.iter().enumerate() {
        let n = sop.num as usize;
        let cur = vals[n];
        let op = sop.op as i32;
        let blocks = if op == 0 { cur != 0 } else { cur + op < 0 };
        if blocks {
            if sop.flg as i32 & IPC_NOWAIT != 0 {
                return Err(errno!(EAGAIN));
            }
            return Ok(Try::Blocked(i));
        }
        let new = cur + op;
        if new > SEMVMX {
            return Err(errno!(ERANGE));
        }
        if sop.flg & SEM_UNDO != 0 {
            let a = adj[n] - op;
            if !(-SEMAEM - 1..=SEMAEM).contains(&a) {
                return Err(errno!(ERANGE));
            }
            adj[n] = a;
        }
        vals[n] = new;
    }
    for (s, v) in st.sems.iter_mut().zip(vals) {
        s.val = v;
    }
    for sop in sops {
        st.sems[sop.num as usize].pid = pid;
    }
    if undos {
        st.undo.insert(tgid, adj);
    }
    st.otime = now();
    Ok(Try::Done)
}

impl SemTable {
    fn set(&self, id: i32) -> Result<Arc<SemSet>> {
        self.table.lock().ids.get(id)
    }

    /// semget(2).
    pub fn get(&self, key: i32, nsems: i32, flags: i32, creds: &Credentials) -> Result<i32> {
        let limits = *self.limits.lock();
        if nsems < 0 || nsems > limits.semmsl {
            return Err(errno!(EINVAL));
        }
        let mut t = self.table.lock();
        let found = lookup(
            &t.ids,
            key,
            flags,
            creds,
            |s| s.state.lock().perm.clone(),
            |s| {
                if nsems as usize > s.nsems() {
                    Err(errno!(EINVAL))
                } else {
                    Ok(())
                }
            },
        )?;
        if let Lookup::Found(set) = found {
            return Ok(set.id);
        }
        if nsems == 0 {
            return Err(errno!(EINVAL));
        }
        if nsems > MAX_NSEMS {
            // Only a SEMMSL root raised gets here; Linux's allocation fails so too.
            return Err(errno!(ENOMEM));
        }
        if t.used + nsems as i64 > limits.semmns as i64 {
            return Err(errno!(ENOSPC));
        }
        let set = t
            .ids
            .insert(key, limits.semmni.max(0) as usize, |id, seq| {
                let mut perm = IpcPerm::new(key, flags, creds);
                perm.seq = seq;
                Ok(SemSet {
                    id,
                    state: Mutex::new(SetState {
                        perm,
                        otime: 0,
                        ctime: now(),
                        sems: vec![Sem::default(); nsems as usize],
                        removed: false,
                        undo: HashMap::new(),
                        blocked: Vec::new(),
                    }),
                    changed: WaitQueue::default(),
                })
            })?;
        t.used += nsems as i64;
        Ok(set.id)
    }

    /// The most operations one semop may carry.
    pub fn semopm(&self) -> i32 {
        self.limits.lock().semopm
    }

    /// semop(2)/semtimedop(2) for process `tgid`: applies `sops` atomically, waiting
    /// (until `deadline`: EAGAIN) for them to become possible. EIDRM if the set is
    /// removed meanwhile, EINTR if a signal comes first.
    pub fn semop(
        &self,
        creds: &Credentials,
        tgid: i32,
        id: i32,
        sops: &[SemBuf],
        deadline: Option<Instant>,
    ) -> Result<()> {
        let max = sops.iter().map(|s| s.num as usize).max().unwrap_or(0);
        let undos = sops.iter().any(|s| s.flg & SEM_UNDO != 0);
        let alter = sops.iter().any(|s| s.op != 0);
        let set = self.set(id)?;
        if max >= set.nsems() {
            return Err(errno!(EFBIG));
        }
        set.state.lock().perm.check(creds, alter)?;
        if undos {
            self.undo_users.lock().insert(tgid);
        }
        let pid = current_pid();
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        let result = block_until(&[&set.changed], deadline, || {
            let mut st = set.state.lock();
            st.blocked.retain(|b| b.ticket != ticket);
            if st.removed {
                return Some(Err(errno!(EIDRM)));
            }
            match try_semop(&mut st, sops, tgid, pid) {
                Ok(Try::Done) => Some(Ok(())),
                Ok(Try::Blocked(i)) => {
                    st.blocked.push(Blocked {
                        ticket,
                        num: sops[i].num,
                        zero: sops[i].op == 0,
                    });
                    None
                }
                Err(e) => Some(Err(e)),
            }
        });
        set.state.lock().blocked.retain(|b| b.ticket != ticket);
        match result {
            Ok(()) => {
                if alter {
                    set.changed.notify_all();
                }
                Ok(())
            }
            Err(e) if e.code() == libc::ETIMEDOUT => Err(errno!(EAGAIN)),
            // System V IPC calls are never restarted after a signal handler.
            Err(e) if e.code() == ERESTARTSYS => Err(errno!(EINTR)),
            Err(e) => Err(e),
        }
    }

    /// Process `tgid` exited: its SEM_UNDO adjustments are applied to every set that
    /// still exists, clamped to 0..=SEMVMX.
    pub fn exit_process(&self, tgid: i32) {
        if !self.undo_users.lock().remove(&tgid) {
            return;
        }
        let sets = self.table.lock().ids.all();
        for set in sets {
            let changed = {
                let mut st = set.state.lock();
                let Some(adj) = st.undo.remove(&tgid) else {
                    continue;
                };
                let mut changed = false;
                for (s, a) in st.sems.iter_mut().zip(adj) {
                    if a != 0 {
                        s.val = (s.val + a).clamp(0, SEMVMX);
                        s.pid = tgid;
                        changed = true;
                    }
                }
                changed
            };
            if changed {
                set.changed.notify_all();
            }
        }
    }

    /// GETVAL, GETPID, GETNCNT, GETZCNT of semaphore `num`.
    pub fn get_one(&self, creds: &Credentials, id: i32, num: i32, what: SemField) -> Result<i32> {
        let set = self.set(id)?;
        let st = set.state.lock();
        st.perm.check(creds, false)?;
        let n = usize::try_from(num)
            .ok()
            .filter(|&n| n < st.sems.len())
            .ok_or_else(|| errno!(EINVAL))?;
        Ok(match what {
            SemField::Val => st.sems[n].val,
            SemField::Pid => st.sems[n].pid,
            SemField::NCount => st
                .blocked
                .iter()
                .filter(|b| b.num as usize == n && !b.zero)
                .count() as i32,
            SemField::ZCount => st
                .blocked
                .iter()
                .filter(|b| b.num as usize == n && b.zero)
                .count() as i32,
        })
    }

    /// GETALL.
    pub fn get_all(&self, creds: &Credentials, id: i32) -> Result<Vec<u16>> {
        let set = self.set(id)?;
        let st = set.state.lock();
        st.perm.check(creds, false)?;
        Ok(st.sems.iter().map(|s| s.val as u16).collect())
    }

    /// The number of semaphores in set `id` (for SETALL's copy-in).
    pub fn nsems(&self, id: i32) -> Result<usize> {
        Ok(self.set(id)?.nsems())
    }

    /// SETVAL (`num` Some) or SETALL: new values; the undo adjustments of the
    /// semaphores set are dropped in every process.
    pub fn set_values(
        &self,
        creds: &Credentials,
        id: i32,
        num: Option<i32>,
        vals: &[i32],
    ) -> Result<()> {
        if num.is_some() && vals.iter().any(|&v| !(0..=SEMVMX).contains(&v)) {
            return Err(errno!(ERANGE));
        }
        let set = self.set(id)?;
        {
            let mut st = set.state.lock();
            let first = match num {
                Some(n) => usize::try_from(n)
                    .ok()
                    .filter(|&n| n < st.sems.len())
                    .ok_or_else(|| errno!(EINVAL))?,
                None => 0,
            };
            st.perm.check(creds, true)?;
            if vals.iter().any(|&v| !(0..=SEMVMX).contains(&v)) {
                return Err(errno!(ERANGE));
            }
            let pid = current_pid();
            for (i, &v) in vals.iter().enumerate() {
                st.sems[first + i] = Sem { val: v, pid };
            }
            for adj in st.undo.values_mut() {
                for a in &mut adj[first..first + vals.len()] {
                    *a = 0;
                }
            }
            st.ctime = now();
        }
        set.changed.notify_all();
        Ok(())
    }

    /// IPC_STAT (`by_index`: SEM_STAT, or SEM_STAT_ANY without the read check).
    pub fn stat(
        &self,
        creds: &Credentials,
        id: i32,
        by_index: bool,
        check: bool,
    ) -> Result<(SemidDs, i32)> {
        let set = if by_index {
            self.table.lock().ids.by_index(id)?
        } else {
            self.set(id)?
        };
        let st = set.state.lock();
        if check {
            st.perm.check(creds, false)?;
        }
        let ds = SemidDs {
            perm: st.perm.to_abi(),
            otime: st.otime,
            ctime: st.ctime,
            nsems: st.sems.len() as u64,
            ..Default::default()
        };
        Ok((ds, set.id))
    }

    /// IPC_SET.
    pub fn set_perm(&self, creds: &Credentials, id: i32, ds: &SemidDs) -> Result<()> {
        let set = self.set(id)?;
        let mut st = set.state.lock();
        st.perm.check_owner(creds)?;
        st.perm.set(&ds.perm);
        st.ctime = now();
        Ok(())
    }

    /// IPC_RMID: the set goes at once; its waiters fail with EIDRM.
    pub fn remove(&self, creds: &Credentials, id: i32) -> Result<()> {
        let set = {
            let mut t = self.table.lock();
            let set = t.ids.get(id)?;
            let mut st = set.state.lock();
            st.perm.check_owner(creds)?;
            st.removed = true;
            t.used -= st.sems.len() as i64;
            drop(st);
            t.ids.remove(id);
            set
        };
        set.changed.notify_all();
        Ok(())
    }

    /// IPC_INFO (`usage` false) or SEM_INFO, and the highest slot in use.
    pub fn info(&self, usage: bool) -> (SemInfo, i32) {
        let l = *self.limits.lock();
        let t = self.table.lock();
        let info = SemInfo {
            semmap: l.semmns,
            semmni: l.semmni,
            semmns: l.semmns,
            semmnu: l.semmns,
            semmsl: l.semmsl,
            semopm: l.semopm,
            semume: l.semopm,
            semusz: if usage { t.ids.len() as i32 } else { SEMUSZ },
            semvmx: SEMVMX,
            semaem: if usage { t.used as i32 } else { SEMAEM },
        };
        (info, t.ids.max_index())
    }

    /// /proc/sysvipc/sem.
    pub fn proc_text(&self) -> String {
        let mut out = String::from(
            "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n",
        );
        for set in self.table.lock().ids.all() {
            let st = set.state.lock();
            let p = &st.perm;
            let _ = writeln!(
                out,
                "{:>10} {:>10}  {:>4o} {:>10} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10}",
                p.key,
                set.id,
                p.mode,
                st.sems.len(),
                p.uid,
                p.gid,
                p.cuid,
                p.cgid,
                st.otime,
                st.ctime
            );
        }
        out
    }
}

/// What GETVAL, GETPID, GETNCNT and GETZCNT read.
#[derive(Clone, Copy, Debug)]
pub enum SemField {
    /// semval.
    Val,
    /// sempid.
    Pid,
    /// Tasks waiting for an increase.
    NCount,
    /// Tasks waiting for zero.
    ZCount,
}
