//! One unix socket's kernel object: its receive queue, its connection and its name.
//!
//! Each endpoint owns the queue it receives into; a sender appends to its peer's
//! queue. The bytes a sender has queued at a peer and the peer has not read yet are
//! charged to the sender ([`Endpoint::inflight`]), which is what SO_SNDBUF limits, as
//! Linux charges a unix socket's skbs to their sender.
//!
//! Lock order: a task holds at most one endpoint's `state` at a time; [`Names`] may be
//! locked inside one. Messages (which may hold the last reference to some file, even
//! a socket) are dropped only after the state is released; wait queues may be
//! notified under it, since notifying takes no endpoint lock.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use self::data::Message;
use super::addr::{Request, UnixAddr};
use super::names::{Binding, Names};
use crate::errno;
use crate::errno::{Result, ERESTARTSYS};
use crate::kernel::wait::{block_until, WaitQueue};
use crate::kernel::Task;
use crate::net::options::CommonOptions;
use crate::net::{Caller, Ucred};
use crate::vfs::NodeKind;

mod data;
#[cfg(test)]
mod tests;

/// sk_shutdown bits: no more receiving, no more sending.
const RCV_SHUTDOWN: u8 = 1;
const SEND_SHUTDOWN: u8 = 2;
const SHUTDOWN_MASK: u8 = RCV_SHUTDOWN | SEND_SHUTDOWN;
/// Datagrams a receiver queues from senders other than its own peer before they wait
/// (net.unix.max_dgram_qlen).
const MAX_DGRAM_QLEN: usize = 10;
/// The largest listen backlog (net.core.somaxconn).
const SOMAXCONN: usize = 4096;
/// What a datagram's length may not exceed, short of SO_SNDBUF.
const DGRAM_OVERHEAD: usize = 32;

/// The three unix socket types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SOCK_STREAM: a byte stream.
    Stream,
    /// SOCK_DGRAM: datagrams, connected or addressed.
    Dgram,
    /// SOCK_SEQPACKET: records over a connection.
    Seqpacket,
}

impl Kind {
    /// The SOCK_* value.
    pub fn sock_type(self) -> i32 {
        match self {
            Kind::Stream => libc::SOCK_STREAM,
            Kind::Dgram => libc::SOCK_DGRAM,
            Kind::Seqpacket => libc::SOCK_SEQPACKET,
        }
    }

    fn connection_oriented(self) -> bool {
        self != Kind::Dgram
    }
}

enum Conn {
    /// Neither connected nor listening.
    None,
    /// Listening: connections not yet accepted, at most `backlog + 1` of them.
    Listening {
        backlog: usize,
        pending: VecDeque<Arc<Endpoint>>,
    },
    /// Connected (a stream or record peer, or a datagram socket's destination). The
    /// peer may have closed since: connection-oriented sockets then stay connected
    /// with both directions shut down, as Linux leaves them.
    Connected(Arc<Endpoint>),
}

struct State {
    queue: VecDeque<Message>,
    conn: Conn,
    local: Option<UnixAddr>,
    binding: Option<Binding>,
    shutdown: u8,
    /// A pending error for SO_ERROR (ECONNRESET).
    error: i32,
    opts: CommonOptions,
    /// The peer's credentials at connect time (SO_PEERCRED); a listener's own, from
    /// listen(), which its connecting peers get.
    peer_cred: Option<Ucred>,
    /// Datagram sockets connected to this one, woken when its queue drains.
    senders: Vec<Weak<Endpoint>>,
}

/// A unix socket.
pub struct Endpoint {
    kind: Kind,
    names: Arc<Names>,
    /// Readers, writers, acceptors and connectors wait here; poll's readiness queue.
    pub(super) wq: WaitQueue,
    /// Bytes this endpoint sent that sit unread in a peer's queue.
    inflight: AtomicUsize,
    closed: AtomicBool,
    state: Mutex<State>,
}

/// Waits on `queues` for `f`, as a socket call does: EAGAIN instead of waiting when
/// `nonblocking` or when the socket's `timeout` runs out; interrupted, EINTR rather
/// than a restart when a timeout is set (Linux's sock_intr_errno).
fn wait<T>(
    queues: &[&WaitQueue],
    nonblocking: bool,
    timeout: Option<Duration>,
    mut f: impl FnMut() -> Option<Result<T>>,
) -> Result<T> {
    let deadline = timeout.map(|t| Instant::now() + t);
    let r = block_until(queues, deadline, || {
        f().or_else(|| nonblocking.then(|| Err(errno!(EAGAIN))))
    });
    match r {
        Err(e) if e.code() == libc::ETIMEDOUT => Err(errno!(EAGAIN)),
        Err(e) if e.code() == ERESTARTSYS && timeout.is_some() => Err(errno!(EINTR)),
        other => other,
    }
}

impl Endpoint {
    /// A new, unconnected endpoint.
    pub fn new(kind: Kind, names: Arc<Names>) -> Arc<Endpoint> {
        Arc::new(Endpoint {
            kind,
            names,
            wq: WaitQueue::default(),
            inflight: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            state: Mutex::new(State {
                queue: VecDeque::new(),
                conn: Conn::None,
                local: None,
                binding: None,
                shutdown: 0,
                error: 0,
                opts: CommonOptions::default(),
                peer_cred: None,
                senders: Vec::new(),
            }),
        })
    }

    /// Two endpoints connected to each other (socketpair), each with `cred` as its
    /// peer's credentials.
    pub fn pair(kind: Kind, names: &Arc<Names>, cred: Ucred) -> (Arc<Endpoint>, Arc<Endpoint>) {
        let a = Endpoint::new(kind, names.clone());
        let b = Endpoint::new(kind, names.clone());
        for (me, peer) in [(&a, &b), (&b, &a)] {
            let mut s = me.state.lock();
            s.conn = Conn::Connected(peer.clone());
            s.peer_cred = Some(cred);
        }
        (a, b)
    }

    /// The socket type.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether the endpoint was closed (its last file went away).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The name it is bound to.
    pub fn local(&self) -> Option<UnixAddr> {
        self.state.lock().local.clone()
    }

    /// The name of the connected peer (ENOTCONN).
    pub fn peer_local(&self) -> Result<Option<UnixAddr>> {
        let peer = match &self.state.lock().conn {
            Conn::Connected(p) => p.clone(),
            _ => return Err(errno!(ENOTCONN)),
        };
        Ok(peer.local())
    }

    /// The socket options (read).
    pub fn options(&self) -> CommonOptions {
        self.state.lock().opts.clone()
    }

    /// Changes the socket options; the waiters recheck (buffer sizes may have grown).
    pub fn set_options(&self, f: impl FnOnce(&mut CommonOptions) -> Result<()>) -> Result<()> {
        let r = f(&mut self.state.lock().opts);
        self.wq.notify_all();
        r
    }

    /// SO_ERROR: the pending error, cleared.
    pub fn take_error(&self) -> i32 {
        std::mem::take(&mut self.state.lock().error)
    }

    /// SO_ACCEPTCONN.
    pub fn is_listening(&self) -> bool {
        matches!(self.state.lock().conn, Conn::Listening { .. })
    }

    /// SO_PEERCRED.
    pub fn peer_cred(&self) -> Option<Ucred> {
        self.state.lock().peer_cred
    }

    /// FIONREAD/SIOCINQ: unread bytes (a stream's all, a datagram socket's next
    /// message); EINVAL for a listener.
    pub fn unread(&self) -> Result<usize> {
        let s = self.state.lock();
        if matches!(s.conn, Conn::Listening { .. }) {
            return Err(errno!(EINVAL));
        }
        Ok(match self.kind {
            Kind::Dgram => s.queue.front().map_or(0, |m| m.data.len()),
            _ => s.queue.iter().map(|m| m.data.len() - m.read).sum(),
        })
    }

    /// SIOCOUTQ: bytes sent and not yet read by the receiver.
    pub fn unsent(&self) -> usize {
        self.inflight.load(Ordering::Acquire)
    }

    // --- names ---

    /// bind(2).
    pub fn bind(self: &Arc<Self>, task: &Task, req: Request) -> Result<()> {
        let path = match req {
            Request::FamilyOnly => {
                if self.state.lock().local.is_some() {
                    return Err(errno!(EINVAL));
                }
                return self.autobind();
            }
            Request::Name(UnixAddr::Abstract(name)) => {
                let mut s = self.state.lock();
                if s.local.is_some() {
                    return Err(errno!(EINVAL));
                }
                let b = Binding::Abstract(name.clone());
                self.names.bind(b.clone(), self)?;
                s.local = Some(UnixAddr::Abstract(name));
                s.binding = Some(b);
                return Ok(());
            }
            Request::Name(UnixAddr::Path(path)) => path,
        };
        // As Linux: the node is made first (a taken name is EADDRINUSE even for a
        // bound socket), and removed again if the socket turns out to be bound.
        let target = task.lookup_parent(libc::AT_FDCWD, &path)?;
        let node = task
            .create_node(&target, NodeKind::Socket, 0o777)
            .map_err(|e| {
                if e.code() == libc::EEXIST {
                    errno!(EADDRINUSE)
                } else {
                    e
                }
            })?;
        let st = node.inode().stat()?;
        let b = Binding::Node(st.dev, st.ino);
        let mut s = self.state.lock();
        let bound = if s.local.is_some() {
            Err(errno!(EINVAL))
        } else {
            self.names.bind(b.clone(), self)
        };
        if let Err(e) = bound {
            drop(s);
            let _ = task.unlink_at(libc::AT_FDCWD, &path, false);
            return Err(e);
        }
        s.local = Some(UnixAddr::Path(path));
        s.binding = Some(b);
        Ok(())
    }

    /// Binds to a fresh abstract name (bind with only the family, or an unbound
    /// socket with SO_PASSCRED that connects or sends).
    fn autobind(self: &Arc<Self>) -> Result<()> {
        let mut s = self.state.lock();
        if s.local.is_some() {
            return Ok(());
        }
        let name = self.names.autobind(self)?;
        s.local = Some(UnixAddr::Abstract(name.clone()));
        s.binding = Some(Binding::Abstract(name));
        Ok(())
    }

    fn autobind_for_passcred(self: &Arc<Self>) -> Result<()> {
        let wants = {
            let s = self.state.lock();
            s.opts.passcred && s.local.is_none()
        };
        if wants {
            self.autobind()?;
        }
        Ok(())
    }

    /// The live socket named `addr` (resolving a path as `task`): ENOENT and friends
    /// from the path walk, EACCES without write permission on the node, ECONNREFUSED
    /// when nothing listens there.
    fn find(&self, task: Option<&Task>, addr: &UnixAddr) -> Result<Arc<Endpoint>> {
        let binding = match addr {
            UnixAddr::Abstract(name) => Binding::Abstract(name.clone()),
            UnixAddr::Path(p) => {
                let task = task.ok_or_else(|| errno!(ENOTCONN))?;
                let path = task.lookup(libc::AT_FDCWD, p, true)?;
                let st = path.inode().stat()?;
                if !task
                    .creds
                    .may_access(false, st.mode, st.uid, st.gid, 2, false)
                {
                    return Err(errno!(EACCES));
                }
                if st.file_type() != crate::vfs::FileType::Socket {
                    return Err(errno!(ECONNREFUSED));
                }
                Binding::Node(st.dev, st.ino)
            }
        };
        self.names
            .find(&binding)
            .ok_or_else(|| errno!(ECONNREFUSED))
    }

    // --- connections ---

    /// listen(2).
    pub fn listen(&self, caller: &Caller, backlog: i32) -> Result<()> {
        if self.kind == Kind::Dgram {
            return Err(errno!(EOPNOTSUPP));
        }
        let backlog = (backlog as u32 as usize).min(SOMAXCONN);
        let mut s = self.state.lock();
        if s.local.is_none() {
            return Err(errno!(EINVAL));
        }
        match &mut s.conn {
            Conn::Connected(_) => return Err(errno!(EINVAL)),
            Conn::Listening { backlog: b, .. } => *b = backlog,
            Conn::None => {
                s.conn = Conn::Listening {
                    backlog,
                    pending: VecDeque::new(),
                }
            }
        }
        s.peer_cred = Some(caller.effective);
        drop(s);
        self.wq.notify_all();
        Ok(())
    }

    /// connect(2) to `addr`.
    pub fn connect(
        self: &Arc<Self>,
        task: &Task,
        caller: &Caller,
        addr: &UnixAddr,
        nonblocking: bool,
    ) -> Result<()> {
        if self.kind == Kind::Dgram {
            return self.connect_dgram(task, addr);
        }
        let timeout = {
            let s = self.state.lock();
            match s.conn {
                Conn::Connected(_) => return Err(errno!(EISCONN)),
                Conn::Listening { .. } => return Err(errno!(EINVAL)),
                Conn::None => {}
            }
            s.opts.sndtimeo
        };
        self.autobind_for_passcred()?;
        let listener = self.find(Some(task), addr)?;
        if listener.kind != self.kind {
            return Err(errno!(EPROTOTYPE));
        }
        // The accepting side's endpoint, connected to this one from the start.
        let server = Endpoint::new(self.kind, self.names.clone());
        let listener_cred = wait(&[&listener.wq], nonblocking, timeout, || {
            let mut l = listener.state.lock();
            if listener.is_closed() {
                return Some(Err(errno!(ECONNREFUSED)));
            }
            let (local, passcred, cred) = (l.local.clone(), l.opts.passcred, l.peer_cred);
            let Conn::Listening { backlog, pending } = &mut l.conn else {
                return Some(Err(errno!(ECONNREFUSED)));
            };
            if pending.len() > *backlog {
                return None;
            }
            {
                // A second lock, but of an endpoint nobody else can reach yet.
                let mut s = server.state.lock();
                s.conn = Conn::Connected(self.clone());
                s.local = local;
                s.peer_cred = Some(caller.effective);
                s.opts.passcred = passcred;
            }
            pending.push_back(server.clone());
            Some(Ok(cred))
        })?;
        {
            let mut s = self.state.lock();
            s.conn = Conn::Connected(server);
            s.peer_cred = listener_cred;
        }
        listener.wq.notify_all();
        Ok(())
    }

    /// connect(2) of a datagram socket: sets (or, for AF_UNSPEC, clears) the default
    /// destination.
    fn connect_dgram(self: &Arc<Self>, task: &Task, addr: &UnixAddr) -> Result<()> {
        self.autobind_for_passcred()?;
        let peer = self.find(Some(task), addr)?;
        if peer.kind != self.kind {
            return Err(errno!(EPROTOTYPE));
        }
        peer.state.lock().senders.push(Arc::downgrade(self));
        let old = std::mem::replace(&mut self.state.lock().conn, Conn::Connected(peer));
        drop(old);
        self.wq.notify_all();
        Ok(())
    }

    /// connect(2) of a datagram socket to AF_UNSPEC: forgets the destination.
    pub fn disconnect(&self) -> Result<()> {
        if self.kind == Kind::Dgram {
            let old = std::mem::replace(&mut self.state.lock().conn, Conn::None);
            drop(old);
        }
        Ok(())
    }

    /// accept(2): the next connection's endpoint.
    pub fn accept(&self, nonblocking: bool) -> Result<Arc<Endpoint>> {
        if self.kind == Kind::Dgram {
            return Err(errno!(EOPNOTSUPP));
        }
        let timeout = self.state.lock().opts.rcvtimeo;
        let ep = wait(&[&self.wq], nonblocking, timeout, || {
            let mut s = self.state.lock();
            match &mut s.conn {
                Conn::Listening { pending, .. } => pending.pop_front().map(Ok),
                _ => Some(Err(errno!(EINVAL))),
            }
        })?;
        // Connectors waiting for room in the backlog.
        self.wq.notify_all();
        Ok(ep)
    }

    /// shutdown(2) with Linux's SHUT_* + 1 bits: shuts this side down, and the
    /// opposite direction of a connected peer.
    pub fn shutdown(&self, mode: u8) {
        let peer = {
            let mut s = self.state.lock();
            s.shutdown |= mode;
            match &s.conn {
                Conn::Connected(p) if self.kind.connection_oriented() => Some(p.clone()),
                _ => None,
            }
        };
        if let Some(p) = peer {
            let peer_mode = ((mode & RCV_SHUTDOWN) << 1) | ((mode & SEND_SHUTDOWN) >> 1);
            p.state.lock().shutdown |= peer_mode;
            p.wq.notify_all();
        }
        self.wq.notify_all();
    }

    /// The last file of the socket went away (or a listener dropped it unaccepted):
    /// the peer of a connection sees both directions shut down (and ECONNRESET if
    /// this side left data unread), pending connections are refused, the name is
    /// freed.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let (queue, conn, binding, senders) = {
            let mut s = self.state.lock();
            s.shutdown = SHUTDOWN_MASK;
            (
                std::mem::take(&mut s.queue),
                std::mem::replace(&mut s.conn, Conn::None),
                s.binding.take(),
                std::mem::take(&mut s.senders),
            )
        };
        if let Some(b) = &binding {
            self.names.unbind(b, self);
        }
        match &conn {
            Conn::Connected(peer) if self.kind.connection_oriented() => {
                {
                    let mut p = peer.state.lock();
                    p.shutdown = SHUTDOWN_MASK;
                    if !queue.is_empty() {
                        p.error = libc::ECONNRESET;
                    }
                }
                peer.wq.notify_all();
            }
            Conn::Connected(peer) => peer.wq.notify_all(),
            Conn::Listening { pending, .. } => {
                for ep in pending {
                    ep.close_unaccepted();
                }
            }
            Conn::None => {}
        }
        self.wq.notify_all();
        for s in senders.iter().filter_map(Weak::upgrade) {
            s.wq.notify_all();
        }
        // Dropped here, with no lock held: the messages may hold the last reference
        // to other files.
        drop(queue);
        drop(conn);
    }

    /// A connection closed before it was accepted: its client sees a reset.
    fn close_unaccepted(&self) {
        let peer = match &self.state.lock().conn {
            Conn::Connected(p) => Some(p.clone()),
            _ => None,
        };
        if let Some(p) = &peer {
            p.state.lock().error = libc::ECONNRESET;
        }
        self.close();
    }

    /// poll(2) readiness: `POLL*` bits.
    pub fn readiness(&self) -> u32 {
        let s = self.state.lock();
        let mut ready = 0u32;
        let (pollin, pollout) = (
            (libc::POLLIN | libc::POLLRDNORM) as u32,
            (libc::POLLOUT | libc::POLLWRNORM | libc::POLLWRBAND) as u32,
        );
        if s.error != 0 {
            ready |= libc::POLLERR as u32;
        }
        if s.shutdown == SHUTDOWN_MASK {
            ready |= libc::POLLHUP as u32;
        }
        if s.shutdown & RCV_SHUTDOWN != 0 {
            ready |= pollin | libc::POLLRDHUP as u32;
        }
        let listening = match &s.conn {
            Conn::Listening { pending, .. } => {
                if !pending.is_empty() {
                    ready |= pollin;
                }
                true
            }
            _ => false,
        };
        if !s.queue.is_empty() {
            ready |= pollin;
        }
        if self.kind.connection_oriented() && matches!(s.conn, Conn::None) {
            ready |= libc::POLLHUP as u32;
        }
        let mut writable = !listening && self.inflight.load(Ordering::Acquire) * 4 <= s.opts.sndbuf;
        if writable && self.kind == Kind::Dgram {
            if let Conn::Connected(p) = &s.conn {
                let p = p.clone();
                drop(s);
                let ps = p.state.lock();
                let peers_peer_is_us =
                    matches!(&ps.conn, Conn::Connected(pp) if std::ptr::eq(Arc::as_ptr(pp), self));
                writable = peers_peer_is_us || ps.queue.len() <= MAX_DGRAM_QLEN;
            }
        }
        if writable {
            ready |= pollout;
        }
        ready
    }
}
