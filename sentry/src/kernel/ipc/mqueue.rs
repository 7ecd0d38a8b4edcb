//! POSIX message queues: named queues of prioritised messages, opened as files
//! (mq_open gives a descriptor that poll/epoll watch: readable with a message queued,
//! writable with room), with one process at a time asking to be told (mq_notify)
//! when a message arrives on an empty queue.
//!
//! The names live in the IPC namespace; they are not (yet) shown through an mqueue
//! filesystem.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::errno;
use crate::errno::Result;
use crate::fs::eventfd::anon_stat;
use crate::kernel::creds::Credentials;
use crate::kernel::wait::{block_until, WaitQueue};
use crate::vfs::{next_ino, File, FileOps, Stat};

/// Priorities are below this.
pub const MQ_PRIO_MAX: u32 = 32768;
/// Default and ceiling (for the unprivileged) of mq_maxmsg (fs.mqueue.msg_max).
pub const MSG_MAX: i64 = 10;
/// Default and ceiling (for the unprivileged) of mq_msgsize (fs.mqueue.msgsize_max).
pub const MSGSIZE_MAX: i64 = 8192;
/// What root may ask for at most.
const HARD_MSG_MAX: i64 = 65536;
const HARD_MSGSIZE_MAX: i64 = 16 << 20;
/// Most queues (fs.mqueue.queues_max).
const QUEUES_MAX: usize = 256;
/// The longest name.
const NAME_MAX: usize = 255;

/// `struct mq_attr`.
#[derive(Clone, Copy, Debug, Default, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct MqAttr {
    /// O_NONBLOCK or 0.
    pub flags: i64,
    /// Most messages queued.
    pub maxmsg: i64,
    /// Largest message.
    pub msgsize: i64,
    /// Messages queued now.
    pub curmsgs: i64,
    /// Unused.
    pub reserved: [i64; 4],
}

/// A registered mq_notify request.
#[derive(Clone, Copy, Debug)]
pub struct Notification {
    /// The process to tell.
    pub tgid: i32,
    /// SIGEV_SIGNAL's signal (0: SIGEV_NONE).
    pub signo: i32,
    /// sigev_value.
    pub value: u64,
}

struct QueueState {
    /// Messages by (highest priority first, then arrival).
    messages: BTreeMap<(std::cmp::Reverse<u32>, u64), Vec<u8>>,
    next_seq: u64,
    bytes: u64,
    notify: Option<Notification>,
    /// Receivers blocked now (a notification is only sent when there are none).
    receivers: usize,
}

/// One queue.
pub struct PosixQueue {
    maxmsg: i64,
    msgsize: i64,
    mode: u32,
    uid: u32,
    gid: u32,
    ino: u64,
    state: Mutex<QueueState>,
    changed: WaitQueue,
}

/// An open queue: what an mq descriptor's file holds.
pub struct MqFile {
    queue: Arc<PosixQueue>,
}

/// The namespace's named queues.
#[derive(Default)]
pub struct MqTable {
    names: Mutex<BTreeMap<Vec<u8>, Arc<PosixQueue>>>,
}

fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() {
        return Err(errno!(ENOENT));
    }
    if name.len() > NAME_MAX {
        return Err(errno!(ENAMETOOLONG));
    }
    if name.contains(&b'/') || name == b"." || name == b".." {
        return Err(errno!(EACCES));
    }
    Ok(())
}

/// Whether `creds` may open a queue of `mode`/`uid`/`gid` for `acc` (O_ACCMODE).
fn may_open(q: &PosixQueue, creds: &Credentials, acc: u32) -> bool {
    let want = match acc {
        0 => 4,
        1 => 2,
        _ => 6,
    };
    creds.may_access(false, q.mode, q.uid, q.gid, want, false)
}

impl MqTable {
    /// mq_open(2): the queue `name` (made with `mode` and `attr` if O_CREAT asks and
    /// there is none), checked for the access `flags` ask.
    pub fn open(
        &self,
        creds: &Credentials,
        name: &[u8],
        flags: u32,
        mode: u32,
        attr: Option<MqAttr>,
    ) -> Result<Arc<dyn FileOps>> {
        check_name(name)?;
        let acc = flags & libc::O_ACCMODE as u32;
        if acc == libc::O_ACCMODE as u32 {
            return Err(errno!(EINVAL));
        }
        let mut names = self.names.lock();
        let queue = match names.get(name) {
            Some(_) if flags & libc::O_CREAT as u32 != 0 && flags & libc::O_EXCL as u32 != 0 => {
                return Err(errno!(EEXIST));
            }
            Some(q) => {
                if !may_open(q, creds, acc) {
                    return Err(errno!(EACCES));
                }
                q.clone()
            }
            None if flags & libc::O_CREAT as u32 == 0 => return Err(errno!(ENOENT)),
            None => {
                let (maxmsg, msgsize) = match attr {
                    None => (MSG_MAX, MSGSIZE_MAX),
                    Some(a) => {
                        if a.maxmsg <= 0 || a.msgsize <= 0 {
                            return Err(errno!(EINVAL));
                        }
                        let (mm, ms) = if creds.capable(crate::kernel::caps::CAP_SYS_RESOURCE) {
                            (HARD_MSG_MAX, HARD_MSGSIZE_MAX)
                        } else {
                            (MSG_MAX, MSGSIZE_MAX)
                        };
                        if a.maxmsg > mm || a.msgsize > ms {
                            return Err(errno!(EINVAL));
                        }
                        (a.maxmsg, a.msgsize)
                    }
                };
                if names.len() >= QUEUES_MAX
                    && !creds.capable(crate::kernel::caps::CAP_SYS_RESOURCE)
                {
                    return Err(errno!(ENOSPC));
                }
                let q = Arc::new(PosixQueue {
                    maxmsg,
                    msgsize,
                    mode: mode & 0o777,
                    uid: creds.fsuid,
                    gid: creds.fsgid,
                    ino: next_ino(),
                    state: Mutex::new(QueueState {
                        messages: BTreeMap::new(),
                        next_seq: 0,
                        bytes: 0,
                        notify: None,
                        receivers: 0,
                    }),
                    changed: WaitQueue::default(),
                });
                names.insert(name.to_vec(), q.clone());
                q
            }
        };
        Ok(Arc::new(MqFile { queue }))
    }

    /// mq_unlink(2): the name goes; open descriptors keep the queue.
    pub fn unlink(&self, creds: &Credentials, name: &[u8]) -> Result<()> {
        check_name(name)?;
        let mut names = self.names.lock();
        let q = names.get(name).ok_or_else(|| errno!(ENOENT))?;
        // The mqueue directory is sticky and world-writable: owners and root only.
        if creds.fsuid != q.uid && !creds.capable(crate::kernel::caps::CAP_FOWNER) {
            return Err(errno!(EACCES));
        }
        names.remove(name);
        Ok(())
    }
}

impl MqFile {
    /// mq_timedsend(2). Returns a notification to deliver, if this message was the
    /// first on an empty queue nobody waits on and a process registered for it.
    pub fn send(
        &self,
        file: &File,
        text: Vec<u8>,
        prio: u32,
        deadline: Option<Instant>,
    ) -> Result<Option<Notification>> {
        let q = &self.queue;
        if !crate::vfs::wants_write(file.flags()) {
            return Err(errno!(EBADF));
        }
        if text.len() as i64 > q.msgsize {
            return Err(errno!(EMSGSIZE));
        }
        if prio >= MQ_PRIO_MAX {
            return Err(errno!(EINVAL));
        }
        let nonblocking = file.nonblocking();
        let mut text = Some(text);
        let notify = block_until(&[&q.changed], deadline, || {
            let mut st = q.state.lock();
            if st.messages.len() as i64 >= q.maxmsg {
                return nonblocking.then(|| Err(errno!(EAGAIN)));
            }
            let was_empty = st.messages.is_empty();
            let seq = st.next_seq;
            st.next_seq += 1;
            let text = text.take().unwrap_or_default();
            st.bytes += text.len() as u64;
            st.messages.insert((std::cmp::Reverse(prio), seq), text);
            let notify = if was_empty && st.receivers == 0 {
                st.notify.take()
            } else {
                None
            };
            Some(Ok(notify))
        })?;
        q.changed.notify_all();
        Ok(notify)
    }

    /// mq_timedreceive(2): the oldest message of the highest priority and its priority.
    pub fn receive(
        &self,
        file: &File,
        len: usize,
        deadline: Option<Instant>,
    ) -> Result<(Vec<u8>, u32)> {
        let q = &self.queue;
        if !crate::vfs::wants_read(file.flags()) {
            return Err(errno!(EBADF));
        }
        if (len as i64) < q.msgsize {
            return Err(errno!(EMSGSIZE));
        }
        let nonblocking = file.nonblocking();
        q.state.lock().receivers += 1;
        let got = block_until(&[&q.changed], deadline, || {
            let mut st = q.state.lock();
            let Some((key, text)) = st.messages.pop_first() else {
                return nonblocking.then(|| Err(errno!(EAGAIN)));
            };
            st.bytes -= text.len() as u64;
            Some(Ok((text, key.0 .0)))
        });
        q.state.lock().receivers -= 1;
        let got = got?;
        q.changed.notify_all();
        Ok(got)
    }

    /// mq_notify(2): registers `n` (EBUSY if another process is registered), or with
    /// None removes the caller's (`tgid`) registration.
    pub fn notify(&self, tgid: i32, n: Option<Notification>) -> Result<()> {
        let mut st = self.queue.state.lock();
        match n {
            Some(n) => {
                if st.notify.is_some() {
                    return Err(errno!(EBUSY));
                }
                st.notify = Some(n);
            }
            None => {
                if st.notify.is_some_and(|r| r.tgid == tgid) {
                    st.notify = None;
                }
            }
        }
        Ok(())
    }

    /// The attributes (mq_getsetattr), with `file`'s O_NONBLOCK.
    pub fn attr(&self, file: &File) -> MqAttr {
        let st = self.queue.state.lock();
        MqAttr {
            flags: if file.nonblocking() {
                libc::O_NONBLOCK as i64
            } else {
                0
            },
            maxmsg: self.queue.maxmsg,
            msgsize: self.queue.msgsize,
            curmsgs: st.messages.len() as i64,
            reserved: [0; 4],
        }
    }
}

impl FileOps for MqFile {
    fn anon_name(&self) -> &'static str {
        "mqueue"
    }

    /// Reading the file gives the queue's status line, as the mqueue filesystem does.
    fn read(&self, _file: &File, buf: &mut [u8], offset: Option<u64>) -> Result<usize> {
        let st = self.queue.state.lock();
        let (signo, pid) = st.notify.map_or((0, 0), |n| (n.signo, n.tgid));
        let text = format!(
            "QSIZE:{:<10} NOTIFY:{:<5} SIGNO:{:<5} NOTIFY_PID:{:<6}\n",
            st.bytes, 0, signo, pid
        );
        let off = offset.unwrap_or(0) as usize;
        let rest = text.as_bytes().get(off..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn stat(&self) -> Result<Stat> {
        let mut s = anon_stat(self.queue.ino);
        s.mode = libc::S_IFREG | self.queue.mode;
        s.uid = self.queue.uid;
        s.gid = self.queue.gid;
        Ok(s)
    }

    fn readiness_queue(&self) -> Option<&WaitQueue> {
        Some(&self.queue.changed)
    }

    fn readiness(&self, mask: u32) -> u32 {
        let st = self.queue.state.lock();
        let mut r = 0;
        if !st.messages.is_empty() {
            r |= (libc::POLLIN | libc::POLLRDNORM) as u32;
        }
        if (st.messages.len() as i64) < self.queue.maxmsg {
            r |= (libc::POLLOUT | libc::POLLWRNORM) as u32;
        }
        r & mask
    }

    fn as_mqueue(&self) -> Option<&MqFile> {
        Some(self)
    }
}
