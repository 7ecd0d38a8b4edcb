//! Moving data: sending into a peer's queue and receiving from one's own, with the
//! bytes in flight charged to their sender.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use super::{
    wait, Conn, Endpoint, Kind, State, DGRAM_OVERHEAD, MAX_DGRAM_QLEN, RCV_SHUTDOWN, SEND_SHUTDOWN,
};
use crate::errno;
use crate::errno::Result;
use crate::kernel::Task;
use crate::net::unix::addr::{self, UnixAddr};
use crate::net::{Caller, Control, Received, RecvRequest, Ucred};
use crate::vfs::File;

/// Bytes a sender has queued at a receiver, handed back to the sender as the
/// receiver reads them (or drops them).
struct Charge {
    sender: Weak<Endpoint>,
    bytes: usize,
}

impl Charge {
    fn new(sender: &Arc<Endpoint>, bytes: usize) -> Charge {
        sender.inflight.fetch_add(bytes, Ordering::AcqRel);
        Charge {
            sender: Arc::downgrade(sender),
            bytes,
        }
    }

    fn release(&mut self, n: usize) {
        let n = n.min(self.bytes);
        if n == 0 {
            return;
        }
        self.bytes -= n;
        if let Some(s) = self.sender.upgrade() {
            s.inflight.fetch_sub(n, Ordering::AcqRel);
            // Notifying takes no endpoint lock, so this is safe under one.
            s.wq.notify_all();
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.release(self.bytes);
    }
}

/// One message in a receive queue (a datagram or record, or a piece of a stream).
pub(super) struct Message {
    pub(super) data: Vec<u8>,
    /// How much of `data` a stream reader already took.
    pub(super) read: usize,
    rights: Vec<Arc<File>>,
    creds: Ucred,
    from: Option<UnixAddr>,
    charge: Charge,
}

impl Endpoint {
    /// sendmsg(2): `data` with `control`, to `dest` (a datagram socket's explicit
    /// destination, already resolved) or the peer.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        self: &Arc<Self>,
        task: Option<&Task>,
        caller: &Caller,
        data: &[u8],
        dest: Option<&UnixAddr>,
        control: Control,
        nonblocking: bool,
    ) -> Result<usize> {
        match self.kind {
            Kind::Stream => self.send_stream(caller, data, dest.is_some(), control, nonblocking),
            _ => self.send_dgram(task, caller, data, dest, control, nonblocking),
        }
    }

    fn send_stream(
        self: &Arc<Self>,
        caller: &Caller,
        data: &[u8],
        addressed: bool,
        mut control: Control,
        nonblocking: bool,
    ) -> Result<usize> {
        let (peer, shutdown, timeout, from) = {
            let s = self.state.lock();
            let peer = match &s.conn {
                Conn::Connected(p) => Some(p.clone()),
                _ => None,
            };
            if addressed {
                return Err(if peer.is_some() {
                    errno!(EISCONN)
                } else {
                    errno!(EOPNOTSUPP)
                });
            }
            (peer, s.shutdown, s.opts.sndtimeo, s.local.clone())
        };
        let peer = peer.ok_or_else(|| errno!(ENOTCONN))?;
        if shutdown & SEND_SHUTDOWN != 0 {
            return Err(errno!(EPIPE));
        }
        if data.is_empty() {
            return Ok(0);
        }
        let creds = control.creds.unwrap_or(caller.real);
        let mut sent = 0;
        let r = wait(&[&self.wq], nonblocking, timeout, || loop {
            if self.state.lock().shutdown & SEND_SHUTDOWN != 0 {
                return Some(if sent > 0 {
                    Ok(sent)
                } else {
                    Err(errno!(EPIPE))
                });
            }
            let sndbuf = self.state.lock().opts.sndbuf;
            let room = sndbuf.saturating_sub(self.inflight.load(Ordering::Acquire));
            if room == 0 {
                return (sent > 0 && nonblocking).then_some(Ok(sent));
            }
            let n = room.min(data.len() - sent);
            {
                let mut p = peer.state.lock();
                if p.shutdown & RCV_SHUTDOWN != 0 || peer.is_closed() {
                    drop(p);
                    return Some(if sent > 0 {
                        Ok(sent)
                    } else {
                        Err(errno!(EPIPE))
                    });
                }
                p.queue.push_back(Message {
                    data: data[sent..sent + n].to_vec(),
                    read: 0,
                    rights: std::mem::take(&mut control.rights),
                    creds,
                    from: from.clone(),
                    charge: Charge::new(self, n),
                });
            }
            peer.wq.notify_all();
            sent += n;
            if sent == data.len() {
                return Some(Ok(sent));
            }
        });
        match r {
            // Interrupted or timed out after sending some: report the partial send.
            Err(e) if sent > 0 && (e.is_restart() || e.code() == libc::EINTR) => Ok(sent),
            Err(e) if sent > 0 && e.code() == libc::EAGAIN => Ok(sent),
            other => other,
        }
    }

    fn send_dgram(
        self: &Arc<Self>,
        task: Option<&Task>,
        caller: &Caller,
        data: &[u8],
        dest: Option<&UnixAddr>,
        control: Control,
        nonblocking: bool,
    ) -> Result<usize> {
        let (connected, shutdown, opts) = {
            let s = self.state.lock();
            let connected = match &s.conn {
                Conn::Connected(p) => Some(p.clone()),
                _ => None,
            };
            if self.kind == Kind::Seqpacket && connected.is_none() {
                return Err(errno!(ENOTCONN));
            }
            (connected, s.shutdown, s.opts.clone())
        };
        if shutdown & SEND_SHUTDOWN != 0 {
            return Err(errno!(EPIPE));
        }
        if data.len() > opts.sndbuf.saturating_sub(DGRAM_OVERHEAD) {
            return Err(errno!(EMSGSIZE));
        }
        // A seqpacket socket ignores a destination, as Linux does.
        let dest = dest.filter(|_| self.kind == Kind::Dgram);
        let target = match dest {
            Some(a) => {
                self.autobind_for_passcred()?;
                self.find(task, a)?
            }
            None => connected.clone().ok_or_else(|| errno!(ENOTCONN))?,
        };
        if target.kind != self.kind {
            return Err(errno!(EPROTOTYPE));
        }
        let from = self.local();
        let creds = control.creds.unwrap_or(caller.real);
        let mut control = Some(control);
        let r = wait(&[&self.wq, &target.wq], nonblocking, opts.sndtimeo, || {
            let sndbuf = self.state.lock().opts.sndbuf;
            let mut t = target.state.lock();
            if target.is_closed() {
                drop(t);
                return Some(Err(self.lost_peer(&target)));
            }
            if t.shutdown & RCV_SHUTDOWN != 0 {
                return Some(Err(errno!(EPIPE)));
            }
            let targets_peer = match &t.conn {
                Conn::Connected(p) => Some(Arc::as_ptr(p)),
                _ => None,
            };
            if targets_peer.is_some_and(|p| !std::ptr::eq(p, Arc::as_ptr(self))) {
                // The receiver is connected to someone else.
                return Some(Err(errno!(EPERM)));
            }
            let from_peer = targets_peer.is_some();
            if (!from_peer && t.queue.len() > MAX_DGRAM_QLEN)
                || self.inflight.load(Ordering::Acquire) >= sndbuf
            {
                return None;
            }
            let control = control.take().unwrap_or_default();
            t.queue.push_back(Message {
                data: data.to_vec(),
                read: 0,
                rights: control.rights,
                creds,
                from: from.clone(),
                charge: Charge::new(self, data.len()),
            });
            Some(Ok(data.len()))
        });
        target.wq.notify_all();
        r
    }

    /// A datagram socket's destination has closed: ECONNREFUSED, and a connected
    /// socket forgets it.
    fn lost_peer(&self, target: &Arc<Endpoint>) -> crate::errno::Errno {
        if self.kind == Kind::Seqpacket {
            return errno!(EPIPE);
        }
        let old = {
            let mut s = self.state.lock();
            match &s.conn {
                Conn::Connected(p) if Arc::ptr_eq(p, target) => {
                    Some(std::mem::replace(&mut s.conn, Conn::None))
                }
                _ => None,
            }
        };
        drop(old);
        errno!(ECONNREFUSED)
    }

    /// recvmsg(2).
    pub fn recv(&self, req: RecvRequest) -> Result<Received> {
        if req.flags & libc::MSG_OOB != 0 {
            return Err(errno!(EOPNOTSUPP));
        }
        let timeout = self.state.lock().opts.rcvtimeo;
        let mut got = Received::default();
        let mut dropped = Vec::new();
        let r = wait(&[&self.wq], req.nonblocking, timeout, || {
            let mut s = self.state.lock();
            let r = match self.kind {
                Kind::Stream => self.take_stream(&mut s, req, &mut got),
                _ => self.take_record(&mut s, req, &mut got, &mut dropped),
            };
            if r.is_some() {
                drop(s);
                self.wake_senders();
            }
            r
        });
        drop(dropped);
        match r {
            Ok(()) => Ok(got),
            // Interrupted after a MSG_WAITALL read got some: report what it got.
            Err(_) if !got.data.is_empty() => Ok(got),
            Err(e) => Err(e),
        }
    }

    /// Wakes whoever may now send to this endpoint (its queue shrank).
    fn wake_senders(&self) {
        self.wq.notify_all();
        let senders: Vec<Arc<Endpoint>> = {
            let mut s = self.state.lock();
            s.senders.retain(|w| w.strong_count() > 0);
            s.senders.iter().filter_map(Weak::upgrade).collect()
        };
        for e in senders {
            e.wq.notify_all();
        }
    }

    /// Reads a stream into `got`: what is there (up to `req.len`), or everything for
    /// MSG_WAITALL; stops after a message that carried files. None: wait.
    fn take_stream(
        &self,
        s: &mut State,
        req: RecvRequest,
        got: &mut Received,
    ) -> Option<Result<()>> {
        if !matches!(s.conn, Conn::Connected(_)) {
            return Some(Err(errno!(EINVAL)));
        }
        let peek = req.flags & libc::MSG_PEEK != 0;
        let waitall = req.flags & libc::MSG_WAITALL != 0 && !peek;
        if req.len == 0 {
            return Some(Ok(()));
        }
        let mut i = 0;
        let mut first_creds = None;
        while got.data.len() < req.len && i < s.queue.len() {
            let m = &mut s.queue[i];
            if s.opts.passcred && first_creds.is_some_and(|c| c != m.creds) {
                // Never glue writes of different senders together.
                break;
            }
            if got.data.is_empty() {
                got.addr = m.from.clone().map(|a| addr::to_raw(Some(&a)));
            }
            first_creds.get_or_insert(m.creds);
            let n = (m.data.len() - m.read).min(req.len - got.data.len());
            got.data.extend_from_slice(&m.data[m.read..m.read + n]);
            let had_rights = !m.rights.is_empty();
            if peek {
                got.rights.extend(m.rights.iter().cloned());
                i += 1;
            } else {
                got.rights.append(&mut m.rights);
                m.read += n;
                m.charge.release(n);
                if m.read == m.data.len() {
                    s.queue.remove(i);
                } else {
                    break;
                }
            }
            if had_rights {
                break;
            }
        }
        if s.opts.passcred {
            got.creds = first_creds;
        }
        got.full_len = got.data.len();
        if got.data.len() == req.len || (!got.data.is_empty() && !waitall) {
            return Some(Ok(()));
        }
        if got.data.is_empty() {
            let err = std::mem::take(&mut s.error);
            if err != 0 {
                return Some(Err(crate::errno::Errno::new(err)));
            }
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            return Some(Ok(()));
        }
        if !got.data.is_empty() && req.nonblocking {
            return Some(Ok(()));
        }
        None
    }

    /// Takes one datagram or record into `got`. None: wait.
    fn take_record(
        &self,
        s: &mut State,
        req: RecvRequest,
        got: &mut Received,
        dropped: &mut Vec<Message>,
    ) -> Option<Result<()>> {
        if self.kind == Kind::Seqpacket && matches!(s.conn, Conn::None | Conn::Listening { .. }) {
            return Some(Err(errno!(ENOTCONN)));
        }
        let peek = req.flags & libc::MSG_PEEK != 0;
        let Some(m) = s.queue.front() else {
            let err = std::mem::take(&mut s.error);
            if err != 0 {
                return Some(Err(crate::errno::Errno::new(err)));
            }
            return (s.shutdown & RCV_SHUTDOWN != 0).then_some(Ok(()));
        };
        let n = m.data.len().min(req.len);
        got.data = m.data[..n].to_vec();
        got.full_len = m.data.len();
        if n < m.data.len() {
            got.flags |= libc::MSG_TRUNC;
        }
        got.addr = m.from.as_ref().map(|a| addr::to_raw(Some(a)));
        if s.opts.passcred {
            got.creds = Some(m.creds);
        }
        if peek {
            got.rights = m.rights.clone();
        } else {
            let mut m = s.queue.pop_front().expect("checked");
            got.rights = std::mem::take(&mut m.rights);
            dropped.push(m);
        }
        Some(Ok(()))
    }
}
