//! System V message queues: typed messages, sent and received whole, with senders
//! blocking while a queue is full and receivers while no message matches.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;

use parking_lot::Mutex;

use super::abi::{MsgInfo, MsqidDs};
use super::{current_pid, lookup, now, Ids, IpcObject, IpcPerm, Lookup};
use crate::errno;
use crate::errno::{Result, ERESTARTSYS};
use crate::kernel::creds::Credentials;
use crate::kernel::wait::{block_until, WaitQueue};

/// msgrcv: truncate a message longer than the buffer instead of failing.
pub const MSG_NOERROR: i32 = 0o10000;
/// msgrcv: take the first message of a type other than msgtyp.
pub const MSG_EXCEPT: i32 = 0o20000;
/// msgrcv: copy message number msgtyp, leaving it queued.
pub const MSG_COPY: i32 = 0o40000;
/// MSGSSZ, reported by IPC_INFO.
const MSGSSZ: i32 = 16;

/// The tunable limits (/proc/sys/kernel/msgmax, msgmnb, msgmni).
#[derive(Clone, Copy, Debug)]
pub struct MsgLimits {
    /// Largest message.
    pub msgmax: i32,
    /// A new queue's capacity in bytes.
    pub msgmnb: i32,
    /// Most queues.
    pub msgmni: i32,
}

impl Default for MsgLimits {
    fn default() -> MsgLimits {
        MsgLimits {
            msgmax: 8192,
            msgmnb: 16384,
            msgmni: 32000,
        }
    }
}

struct Message {
    mtype: i64,
    text: Vec<u8>,
}

struct QueueState {
    perm: IpcPerm,
    messages: VecDeque<Message>,
    cbytes: u64,
    qbytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: i32,
    lrpid: i32,
    removed: bool,
}

/// One message queue.
pub struct MsgQueue {
    id: i32,
    state: Mutex<QueueState>,
    changed: WaitQueue,
}

impl IpcObject for MsgQueue {
    fn id(&self) -> i32 {
        self.id
    }
}

/// Which message msgrcv takes.
#[derive(Clone, Copy, Debug)]
pub enum Select {
    /// The first.
    Any,
    /// The first of this type.
    Type(i64),
    /// The first of a type other than this.
    Except(i64),
    /// The first of the lowest type at most this.
    AtMost(i64),
    /// The one at this position (MSG_COPY; it stays queued).
    Copy(i64),
}

impl Select {
    /// The selection msgtyp and msgrcv's flags ask for.
    pub fn new(msgtyp: i64, flags: i32) -> Select {
        if flags & MSG_COPY != 0 {
            Select::Copy(msgtyp)
        } else if msgtyp == 0 {
            Select::Any
        } else if msgtyp > 0 {
            if flags & MSG_EXCEPT != 0 {
                Select::Except(msgtyp)
            } else {
                Select::Type(msgtyp)
            }
        } else {
            Select::AtMost(msgtyp.checked_neg().unwrap_or(i64::MAX))
        }
    }

    fn find(self, messages: &VecDeque<Message>) -> Option<usize> {
        match self {
            Select::Any => (!messages.is_empty()).then_some(0),
            Select::Type(t) => messages.iter().position(|m| m.mtype == t),
            Select::Except(t) => messages.iter().position(|m| m.mtype != t),
            Select::AtMost(t) => messages
                .iter()
                .enumerate()
                .filter(|(_, m)| m.mtype <= t)
                .min_by_key(|&(i, m)| (m.mtype, i))
                .map(|(i, _)| i),
            Select::Copy(n) => usize::try_from(n).ok().filter(|&n| n < messages.len()),
        }
    }
}

struct Table {
    ids: Ids<MsgQueue>,
}

/// The namespace's message queues.
pub struct MsgTable {
    table: Mutex<Table>,
    /// The limits.
    pub limits: Mutex<MsgLimits>,
}

impl Default for MsgTable {
    fn default() -> MsgTable {
        MsgTable {
            table: Mutex::new(Table {
                ids: Ids::default(),
            }),
            limits: Mutex::new(MsgLimits::default()),
        }
    }
}

/// A blocking wait's end as System V IPC reports it: never restarted.
fn no_restart(e: errno::Errno) -> errno::Errno {
    if e.code() == ERESTARTSYS {
        errno!(EINTR)
    } else {
        e
    }
}

impl MsgTable {
    fn queue(&self, id: i32) -> Result<Arc<MsgQueue>> {
        self.table.lock().ids.get(id)
    }

    /// The largest message (msgsnd checks sizes against it).
    pub fn msgmax(&self) -> i32 {
        self.limits.lock().msgmax
    }

    /// msgget(2).
    pub fn get(&self, key: i32, flags: i32, creds: &Credentials) -> Result<i32> {
        let limits = *self.limits.lock();
        let mut t = self.table.lock();
        let found = lookup(
            &t.ids,
            key,
            flags,
            creds,
            |q| q.state.lock().perm.clone(),
            |_| Ok(()),
        )?;
        if let Lookup::Found(q) = found {
            return Ok(q.id);
        }
        let q = t
            .ids
            .insert(key, limits.msgmni.max(0) as usize, |id, seq| {
                let mut perm = IpcPerm::new(key, flags, creds);
                perm.seq = seq;
                Ok(MsgQueue {
                    id,
                    state: Mutex::new(QueueState {
                        perm,
                        messages: VecDeque::new(),
                        cbytes: 0,
                        qbytes: limits.msgmnb.max(0) as u64,
                        stime: 0,
                        rtime: 0,
                        ctime: now(),
                        lspid: 0,
                        lrpid: 0,
                        removed: false,
                    }),
                    changed: WaitQueue::default(),
                })
            })?;
        Ok(q.id)
    }

    /// msgsnd(2): queues a message, waiting for room unless `nowait` (EAGAIN).
    pub fn send(
        &self,
        creds: &Credentials,
        id: i32,
        mtype: i64,
        text: Vec<u8>,
        nowait: bool,
    ) -> Result<()> {
        let q = self.queue(id)?;
        q.state.lock().perm.check(creds, true)?;
        let pid = current_pid();
        let mut text = Some(text);
        block_until(&[&q.changed], None, || {
            let mut st = q.state.lock();
            if st.removed {
                return Some(Err(errno!(EIDRM)));
            }
            let len = text.as_ref().map_or(0, |t| t.len()) as u64;
            let fits = len + st.cbytes <= st.qbytes && (st.messages.len() as u64) < st.qbytes;
            if !fits {
                return nowait.then(|| Err(errno!(EAGAIN)));
            }
            st.messages.push_back(Message {
                mtype,
                text: text.take().unwrap_or_default(),
            });
            st.cbytes += len;
            st.lspid = pid;
            st.stime = now();
            Some(Ok(()))
        })
        .map_err(no_restart)?;
        q.changed.notify_all();
        Ok(())
    }

    /// msgrcv(2): takes (or, with MSG_COPY, copies) the selected message, waiting for
    /// one unless IPC_NOWAIT (ENOMSG). E2BIG if it is longer than `max` without
    /// MSG_NOERROR (it stays queued). Returns its type and text (cut to `max`).
    pub fn receive(
        &self,
        creds: &Credentials,
        id: i32,
        max: usize,
        select: Select,
        flags: i32,
    ) -> Result<(i64, Vec<u8>)> {
        let q = self.queue(id)?;
        q.state.lock().perm.check(creds, false)?;
        let nowait = flags & super::IPC_NOWAIT != 0;
        let pid = current_pid();
        let got = block_until(&[&q.changed], None, || {
            let mut st = q.state.lock();
            if st.removed {
                return Some(Err(errno!(EIDRM)));
            }
            let Some(i) = select.find(&st.messages) else {
                return nowait.then(|| Err(errno!(ENOMSG)));
            };
            if st.messages[i].text.len() > max && flags & MSG_NOERROR == 0 {
                return Some(Err(errno!(E2BIG)));
            }
            if let Select::Copy(_) = select {
                let m = &st.messages[i];
                return Some(Ok((m.mtype, m.text[..m.text.len().min(max)].to_vec())));
            }
            let mut m = st.messages.remove(i).expect("found");
            st.cbytes -= m.text.len() as u64;
            st.lrpid = pid;
            st.rtime = now();
            m.text.truncate(max);
            Some(Ok((m.mtype, m.text)))
        })
        .map_err(no_restart)?;
        if !matches!(select, Select::Copy(_)) {
            q.changed.notify_all();
        }
        Ok(got)
    }

    /// IPC_STAT (`by_index`: MSG_STAT, or MSG_STAT_ANY without the read check).
    pub fn stat(
        &self,
        creds: &Credentials,
        id: i32,
        by_index: bool,
        check: bool,
    ) -> Result<(MsqidDs, i32)> {
        let q = if by_index {
            self.table.lock().ids.by_index(id)?
        } else {
            self.queue(id)?
        };
        let st = q.state.lock();
        if check {
            st.perm.check(creds, false)?;
        }
        let ds = MsqidDs {
            perm: st.perm.to_abi(),
            stime: st.stime,
            rtime: st.rtime,
            ctime: st.ctime,
            cbytes: st.cbytes,
            qnum: st.messages.len() as u64,
            qbytes: st.qbytes,
            lspid: st.lspid,
            lrpid: st.lrpid,
            ..Default::default()
        };
        Ok((ds, q.id))
    }

    /// IPC_SET: owner, group, mode and the queue's capacity (raising it past msgmnb
    /// needs CAP_SYS_RESOURCE).
    pub fn set(&self, creds: &Credentials, id: i32, ds: &MsqidDs) -> Result<()> {
        let msgmnb = self.limits.lock().msgmnb.max(0) as u64;
        let q = self.queue(id)?;
        {
            let mut st = q.state.lock();
            st.perm.check_owner(creds)?;
            if ds.qbytes > msgmnb && !creds.capable(crate::kernel::caps::CAP_SYS_RESOURCE) {
                return Err(errno!(EPERM));
            }
            st.perm.set(&ds.perm);
            st.qbytes = ds.qbytes;
            st.ctime = now();
        }
        q.changed.notify_all();
        Ok(())
    }

    /// IPC_RMID: the queue and its messages go at once; waiters fail with EIDRM.
    pub fn remove(&self, creds: &Credentials, id: i32) -> Result<()> {
        let q = {
            let mut t = self.table.lock();
            let q = t.ids.get(id)?;
            let mut st = q.state.lock();
            st.perm.check_owner(creds)?;
            st.removed = true;
            st.messages.clear();
            st.cbytes = 0;
            drop(st);
            t.ids.remove(id);
            q
        };
        q.changed.notify_all();
        Ok(())
    }

    /// IPC_INFO (`usage` false) or MSG_INFO, and the highest slot in use.
    pub fn info(&self, usage: bool) -> (MsgInfo, i32) {
        let l = *self.limits.lock();
        let t = self.table.lock();
        let mut info = MsgInfo {
            msgmax: l.msgmax,
            msgmnb: l.msgmnb,
            msgmni: l.msgmni,
            msgssz: MSGSSZ,
            msgseg: u16::MAX,
            ..Default::default()
        };
        if usage {
            let queues = t.ids.all();
            let states: Vec<(usize, u64)> = queues
                .iter()
                .map(|q| {
                    let st = q.state.lock();
                    (st.messages.len(), st.cbytes)
                })
                .collect();
            info.msgpool = queues.len() as i32;
            info.msgmap = states.iter().map(|s| s.0).sum::<usize>() as i32;
            info.msgtql = states.iter().map(|s| s.1).sum::<u64>() as i32;
        } else {
            info.msgpool = (l.msgmni as i64 * l.msgmnb as i64 / 1024) as i32;
            info.msgmap = l.msgmnb;
            info.msgtql = l.msgmnb;
        }
        (info, t.ids.max_index())
    }

    /// /proc/sysvipc/msg.
    pub fn proc_text(&self) -> String {
        let mut out = String::from(
            "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime\n",
        );
        for q in self.table.lock().ids.all() {
            let st = q.state.lock();
            let p = &st.perm;
            let _ = writeln!(
                out,
                "{:>10} {:>10}  {:>4o}  {:>10} {:>10} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>10} {:>10} {:>10}",
                p.key,
                q.id,
                p.mode,
                st.cbytes,
                st.messages.len(),
                st.lspid,
                st.lrpid,
                p.uid,
                p.gid,
                p.cuid,
                p.cgid,
                st.stime,
                st.rtime,
                st.ctime
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(types: &[i64]) -> VecDeque<Message> {
        types
            .iter()
            .map(|&mtype| Message {
                mtype,
                text: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn msgtyp_selects_as_msgrcv_documents() {
        let q = queue(&[3, 1, 2, 1]);
        assert_eq!(Select::new(0, 0).find(&q), Some(0));
        assert_eq!(Select::new(2, 0).find(&q), Some(2));
        assert_eq!(Select::new(3, MSG_EXCEPT).find(&q), Some(1));
        assert_eq!(
            Select::new(-2, 0).find(&q),
            Some(1),
            "lowest type, first of it"
        );
        assert_eq!(Select::new(-0, 0).find(&VecDeque::new()), None);
        assert_eq!(Select::new(i64::MIN, 0).find(&q), Some(1));
        assert_eq!(Select::new(3, MSG_COPY).find(&q), Some(3));
        assert_eq!(Select::new(4, MSG_COPY).find(&q), None);
        assert_eq!(Select::new(5, 0).find(&q), None);
    }
}
