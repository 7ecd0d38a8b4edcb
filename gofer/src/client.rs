//! The blocking client the sentry uses to talk to its gofer.
//!
//! A [`Client`] keeps the connection it was given as its *control* channel (the version
//! handshake and `NewChannel`, both quick) and runs file requests on a pool of data
//! channels opened with `NewChannel`: a request takes an idle channel, or opens another if
//! all are busy and fewer than the cap are open, or else waits for one to come back. A
//! channel that saw an I/O or protocol error is dropped rather than reused, since a stray
//! datagram may still be in flight on it.

use std::os::fd::{AsFd, OwnedFd};

use parking_lot::{Condvar, Mutex};

use crate::error::Error;
use crate::protocol::{
    walk_name_wire_size, Handle, Op, ReadDirReply, Request, Response, SetAttr, Stat, StatFs,
    WalkReply, MAX_CLOSE_HANDLES, MAX_WALK_NAMES, PROTOCOL_VERSION, WALK_NAME_BUDGET,
};
use crate::transport::{self, RecvBuffers};

/// Data channels a client opens at most unless told otherwise.
pub const DEFAULT_MAX_CHANNELS: usize = 8;

/// A connection to a gofer, shareable by all of the sentry's threads.
///
/// Lock order: `pool` and `control` are never held together.
pub struct Client {
    control: Mutex<Channel>,
    pool: Mutex<Pool>,
    returned: Condvar,
}

struct Pool {
    idle: Vec<Channel>,
    /// Data channels in existence (idle or lent out) plus ones being opened.
    open: usize,
    /// How many data channels may be open; lowered if the gofer refuses more.
    limit: usize,
}

impl Client {
    /// Performs the version handshake on `sock` and opens a first data channel; returns
    /// the client, the root's handle and its metadata.
    pub fn connect(sock: OwnedFd) -> Result<(Client, Handle, Stat), Error> {
        Client::connect_with_max_channels(sock, DEFAULT_MAX_CHANNELS)
    }

    /// [`Client::connect`] with at most `max_channels` (at least 1) data channels.
    pub fn connect_with_max_channels(
        sock: OwnedFd,
        max_channels: usize,
    ) -> Result<(Client, Handle, Stat), Error> {
        let mut control = Channel::new(sock);
        let response = match control.call(&Request::Version {
            version: PROTOCOL_VERSION,
        }) {
            Ok((response, _)) => response,
            Err(Error::Errno(libc::EPROTONOSUPPORT)) => {
                return Err(Error::Protocol(format!(
                    "the gofer refused protocol version {PROTOCOL_VERSION}; the sentry and the gofer must come \
                     from the same moat build"
                )));
            }
            Err(err) => return Err(err),
        };
        let (root, root_stat) = match response {
            Response::Version {
                version: PROTOCOL_VERSION,
                root,
                root_stat,
            } => (root, root_stat),
            Response::Version { version, .. } => {
                return Err(Error::Protocol(format!(
                    "the gofer speaks protocol version {version}, this sentry speaks {PROTOCOL_VERSION}"
                )));
            }
            other => return Err(unexpected(Op::Version, &other)),
        };
        let client = Client {
            control: Mutex::new(control),
            pool: Mutex::new(Pool {
                idle: Vec::new(),
                open: 1,
                limit: max_channels.max(1),
            }),
            returned: Condvar::new(),
        };
        let first = client.open_channel()?;
        client.pool.lock().idle.push(first);
        Ok((client, root, root_stat))
    }

    /// Data channels currently open.
    pub fn channel_count(&self) -> usize {
        self.pool.lock().open
    }

    /// Walks `names` one component at a time from the directory `dir`, stopping after a
    /// symlink (returned, not followed) or at the first failing component. Any number of
    /// names may be given; they are sent in as many requests as needed (none for an empty
    /// list, which walks nothing).
    pub fn walk(&self, dir: Handle, names: &[&[u8]]) -> Result<WalkReply, Error> {
        let mut result = WalkReply::default();
        let mut from = dir;
        let mut rest = names;
        while !rest.is_empty() {
            let batch = walk_batch(rest);
            if batch == 0 {
                // A name too long to fit in a message is certainly too long for the gofer.
                result.errno = libc::ENAMETOOLONG;
                break;
            }
            let reply = match self.call(&Request::Walk {
                dir: from,
                names: rest[..batch].to_vec(),
            })? {
                (Response::Walk(reply), _) => reply,
                (other, _) => return Err(unexpected(Op::Walk, &other)),
            };
            check_walk(&reply, batch)?;
            let stopped = reply.errno != 0
                || reply.walked.len() < batch
                || reply.walked.last().is_some_and(|(_, s)| s.is_symlink());
            result.walked.extend(reply.walked);
            result.errno = reply.errno;
            if stopped {
                break;
            }
            from = result.walked.last().map_or(from, |(handle, _)| *handle);
            rest = &rest[batch..];
        }
        Ok(result)
    }

    /// The current metadata of `handle`.
    pub fn stat(&self, handle: Handle) -> Result<Stat, Error> {
        match self.call(&Request::Stat { handle })? {
            (Response::Stat(stat), _) => Ok(stat),
            (other, _) => Err(unexpected(Op::Stat, &other)),
        }
    }

    /// Opens the regular file `handle` with `open(2)` `flags` (access mode, `O_TRUNC`,
    /// `O_APPEND`, `O_NOATIME`) and returns the host descriptor the gofer donated.
    pub fn open(&self, handle: Handle, flags: i32) -> Result<OwnedFd, Error> {
        match self.call(&Request::Open { handle, flags })? {
            (Response::Open, Some(fd)) => Ok(fd),
            (other, _) => Err(unexpected(Op::Open, &other)),
        }
    }

    /// One batch of the directory `handle`'s entries from `cookie` (0 = the start).
    pub fn read_dir(&self, handle: Handle, cookie: u64) -> Result<ReadDirReply, Error> {
        match self.call(&Request::ReadDir { handle, cookie })? {
            (Response::ReadDir(reply), _) if reply.entries.is_empty() && !reply.end => Err(
                Error::Protocol("empty ReadDir batch that is not the end of the directory".into()),
            ),
            (Response::ReadDir(reply), _) => Ok(reply),
            (other, _) => Err(unexpected(Op::ReadDir, &other)),
        }
    }

    /// The target of the symlink `handle`.
    pub fn read_link(&self, handle: Handle) -> Result<Vec<u8>, Error> {
        match self.call(&Request::ReadLink { handle })? {
            (Response::ReadLink(target), _) => Ok(target),
            (other, _) => Err(unexpected(Op::ReadLink, &other)),
        }
    }

    /// Statistics of the filesystem holding `handle`.
    pub fn stat_fs(&self, handle: Handle) -> Result<StatFs, Error> {
        match self.call(&Request::StatFs { handle })? {
            (Response::StatFs(statfs), _) => Ok(statfs),
            (other, _) => Err(unexpected(Op::StatFs, &other)),
        }
    }

    /// Releases `handles`. Each request is all-or-nothing on the gofer's side; more than
    /// [`MAX_CLOSE_HANDLES`] handles take several requests, and an error stops at the
    /// failing one.
    pub fn close(&self, handles: &[Handle]) -> Result<(), Error> {
        for chunk in handles.chunks(MAX_CLOSE_HANDLES) {
            match self.call(&Request::Close {
                handles: chunk.to_vec(),
            })? {
                (Response::Close, _) => {}
                (other, _) => return Err(unexpected(Op::Close, &other)),
            }
        }
        Ok(())
    }

    /// Creates the regular file `name` in `dir` (never opening an existing one), owned by
    /// `uid`/`gid` with permission bits `mode`, opened with `flags` (access mode,
    /// `O_APPEND`); returns its handle, stat and the donated host descriptor.
    pub fn create(
        &self,
        dir: Handle,
        name: &[u8],
        flags: i32,
        mode: u32,
        (uid, gid): (u32, u32),
    ) -> Result<(Handle, Stat, OwnedFd), Error> {
        let request = Request::Create {
            dir,
            name,
            flags,
            mode,
            uid,
            gid,
        };
        match self.call(&request)? {
            (
                Response::Created {
                    op: Op::Create,
                    handle,
                    stat,
                },
                Some(fd),
            ) => Ok((handle, stat, fd)),
            (other, _) => Err(unexpected(Op::Create, &other)),
        }
    }

    /// Makes the directory `name` in `dir`.
    pub fn mkdir(
        &self,
        dir: Handle,
        name: &[u8],
        mode: u32,
        (uid, gid): (u32, u32),
    ) -> Result<(Handle, Stat), Error> {
        self.call_created(&Request::MkDir {
            dir,
            name,
            mode,
            uid,
            gid,
        })
    }

    /// Makes a FIFO, socket or empty regular file `name` in `dir` (`mode` carries the
    /// type; device nodes are refused with `EPERM`).
    pub fn mknod(
        &self,
        dir: Handle,
        name: &[u8],
        mode: u32,
        (uid, gid): (u32, u32),
    ) -> Result<(Handle, Stat), Error> {
        self.call_created(&Request::MkNod {
            dir,
            name,
            mode,
            rdev: 0,
            uid,
            gid,
        })
    }

    /// Makes the symlink `name` → `target` in `dir`.
    pub fn symlink(
        &self,
        dir: Handle,
        name: &[u8],
        target: &[u8],
        (uid, gid): (u32, u32),
    ) -> Result<(Handle, Stat), Error> {
        self.call_created(&Request::Symlink {
            dir,
            name,
            target,
            uid,
            gid,
        })
    }

    /// Makes `name` in `dir` a hard link to the file `target`.
    pub fn link(&self, dir: Handle, name: &[u8], target: Handle) -> Result<(Handle, Stat), Error> {
        self.call_created(&Request::Link { dir, name, target })
    }

    /// Removes `name` from `dir` (`flags`: 0 or `AT_REMOVEDIR`).
    pub fn unlink(&self, dir: Handle, name: &[u8], flags: i32) -> Result<(), Error> {
        self.call_done(&Request::Unlink { dir, name, flags })
    }

    /// `renameat2(old_dir, old_name, new_dir, new_name, flags)`.
    pub fn rename(
        &self,
        (old_dir, old_name): (Handle, &[u8]),
        (new_dir, new_name): (Handle, &[u8]),
        flags: u32,
    ) -> Result<(), Error> {
        self.call_done(&Request::Rename {
            old_dir,
            old_name,
            new_dir,
            new_name,
            flags,
        })
    }

    /// Applies `attr` to `handle` and returns its stat afterwards.
    pub fn set_attr(&self, handle: Handle, attr: SetAttr) -> Result<Stat, Error> {
        match self.call(&Request::SetAttr { handle, attr })? {
            (Response::SetAttr(stat), _) => Ok(stat),
            (other, _) => Err(unexpected(Op::SetAttr, &other)),
        }
    }

    /// The value of the extended attribute `name` (`ERANGE` if longer than a non-zero
    /// `size`).
    pub fn get_xattr(&self, handle: Handle, name: &[u8], size: u32) -> Result<Vec<u8>, Error> {
        self.call_xattr(Op::GetXattr, &Request::GetXattr { handle, name, size })
    }

    /// The NUL-separated extended attribute names of `handle`.
    pub fn list_xattr(&self, handle: Handle, size: u32) -> Result<Vec<u8>, Error> {
        self.call_xattr(Op::ListXattr, &Request::ListXattr { handle, size })
    }

    /// Sets the extended attribute `name` (`flags`: `XATTR_CREATE`, `XATTR_REPLACE`).
    pub fn set_xattr(
        &self,
        handle: Handle,
        name: &[u8],
        value: &[u8],
        flags: i32,
    ) -> Result<(), Error> {
        self.call_done(&Request::SetXattr {
            handle,
            name,
            value,
            flags,
        })
    }

    /// Removes the extended attribute `name`.
    pub fn remove_xattr(&self, handle: Handle, name: &[u8]) -> Result<(), Error> {
        self.call_done(&Request::RemoveXattr { handle, name })
    }

    /// Flushes `handle`'s file (its data only with `datasync`).
    pub fn fsync(&self, handle: Handle, datasync: bool) -> Result<(), Error> {
        self.call_done(&Request::FSync { handle, datasync })
    }

    /// `fallocate(mode, offset, len)` on `handle`'s file.
    pub fn allocate(&self, handle: Handle, mode: i32, offset: u64, len: u64) -> Result<(), Error> {
        self.call_done(&Request::Allocate {
            handle,
            mode,
            offset,
            len,
        })
    }

    /// The root of extra tree `index` (a bind mount the gofer serves).
    pub fn attach(&self, index: u32) -> Result<(Handle, Stat), Error> {
        self.call_created(&Request::Attach { index })
    }

    fn call_created(&self, request: &Request<'_>) -> Result<(Handle, Stat), Error> {
        let op = request.op();
        match self.call(request)? {
            (
                Response::Created {
                    op: got,
                    handle,
                    stat,
                },
                _,
            ) if got == op => Ok((handle, stat)),
            (other, _) => Err(unexpected(op, &other)),
        }
    }

    fn call_done(&self, request: &Request<'_>) -> Result<(), Error> {
        let op = request.op();
        match self.call(request)? {
            (Response::Done { op: got }, _) if got == op => Ok(()),
            (other, _) => Err(unexpected(op, &other)),
        }
    }

    fn call_xattr(&self, op: Op, request: &Request<'_>) -> Result<Vec<u8>, Error> {
        match self.call(request)? {
            (Response::Xattr { op: got, data }, _) if got == op => Ok(data),
            (other, _) => Err(unexpected(op, &other)),
        }
    }

    /// Runs one request on a pooled data channel.
    fn call(&self, request: &Request<'_>) -> Result<(Response, Option<OwnedFd>), Error> {
        let mut channel = self.acquire()?;
        let result = channel.call(request);
        let healthy = matches!(result, Ok(_) | Err(Error::Errno(_)));
        let mut pool = self.pool.lock();
        if healthy {
            pool.idle.push(channel);
            drop(pool);
            self.returned.notify_one();
        } else {
            // Every waiter re-checks: one may now open a replacement, or learn that the
            // gofer is gone.
            pool.open -= 1;
            drop(pool);
            self.returned.notify_all();
        }
        result
    }

    /// Takes an idle data channel, opening one if there is room, else waiting for one.
    fn acquire(&self) -> Result<Channel, Error> {
        let mut pool = self.pool.lock();
        loop {
            if let Some(channel) = pool.idle.pop() {
                return Ok(channel);
            }
            if pool.open < pool.limit {
                pool.open += 1;
                drop(pool);
                let opened = self.open_channel();
                pool = self.pool.lock();
                match opened {
                    Ok(channel) => return Ok(channel),
                    Err(err) => {
                        pool.open -= 1;
                        self.returned.notify_all();
                        if pool.open == 0 {
                            return Err(err);
                        }
                        tracing::debug!(%err, open = pool.open, "gofer refused another channel; sharing the open ones");
                        pool.limit = pool.open;
                    }
                }
            }
            self.returned.wait(&mut pool);
        }
    }

    fn open_channel(&self) -> Result<Channel, Error> {
        match self.control.lock().call(&Request::NewChannel)? {
            (Response::NewChannel, Some(sock)) => Ok(Channel::new(sock)),
            (other, _) => Err(unexpected(Op::NewChannel, &other)),
        }
    }
}

/// One connected socket and its buffers; used by one request at a time.
struct Channel {
    sock: OwnedFd,
    out: Vec<u8>,
    bufs: RecvBuffers,
}

impl Channel {
    fn new(sock: OwnedFd) -> Channel {
        Channel {
            sock,
            out: Vec::new(),
            bufs: RecvBuffers::new(),
        }
    }

    /// Sends `request` and reads its response, checking that the response answers it and
    /// carries exactly the descriptors it should. An error response becomes `Error::Errno`.
    fn call(&mut self, request: &Request<'_>) -> Result<(Response, Option<OwnedFd>), Error> {
        let op = request.op();
        request
            .encode(&mut self.out)
            .map_err(|err| Error::Protocol(format!("cannot encode a {op:?} request: {err}")))?;
        transport::send(self.sock.as_fd(), &self.out, None)?;
        let Some(received) = transport::recv(self.sock.as_fd(), &mut self.bufs)? else {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the gofer closed the channel",
            )));
        };
        if received.truncated || received.control_truncated {
            return Err(Error::Protocol(format!(
                "{op:?} response larger than the protocol allows"
            )));
        }
        let response = Response::decode(received.bytes)
            .map_err(|err| Error::Protocol(format!("malformed {op:?} response: {err}")))?;
        if response.op() != op as u16 {
            return Err(Error::Protocol(format!(
                "{op:?} request answered with op {}",
                response.op()
            )));
        }
        let mut fds = received.fds;
        if let Response::Error { errno, .. } = response {
            return match fds.len() {
                0 => Err(Error::Errno(errno)),
                n => Err(Error::Protocol(format!(
                    "{op:?} error response carried {n} descriptors"
                ))),
            };
        }
        let expected = usize::from(op.response_carries_fd());
        if fds.len() != expected {
            return Err(Error::Protocol(format!(
                "{op:?} response carried {} descriptors, expected {expected}",
                fds.len()
            )));
        }
        Ok((response, fds.pop()))
    }
}

/// How many of `names` fit in one `Walk` request (0 if even the first does not).
fn walk_batch(names: &[&[u8]]) -> usize {
    let mut room = WALK_NAME_BUDGET;
    let mut count = 0;
    for name in names.iter().take(MAX_WALK_NAMES) {
        let cost = walk_name_wire_size(name.len());
        if cost > room {
            break;
        }
        room -= cost;
        count += 1;
    }
    count
}

/// Checks that a walk reply for `asked` names is one the protocol allows.
fn check_walk(reply: &WalkReply, asked: usize) -> Result<(), Error> {
    let walked = reply.walked.len();
    let symlink_before_last = reply
        .walked
        .iter()
        .rev()
        .skip(1)
        .any(|(_, stat)| stat.is_symlink());
    let last_is_symlink = reply
        .walked
        .last()
        .is_some_and(|(_, stat)| stat.is_symlink());
    let consistent = walked <= asked
        && !symlink_before_last
        && if reply.errno != 0 {
            walked < asked && !last_is_symlink
        } else {
            walked == asked || last_is_symlink
        };
    if consistent {
        Ok(())
    } else {
        Err(Error::Protocol(format!(
            "inconsistent Walk reply: {walked} of {asked} components, errno {}",
            reply.errno
        )))
    }
}

fn unexpected(op: Op, response: &Response) -> Error {
    Error::Protocol(format!("{op:?} request answered with {response:?}"))
}

// The sentry shares one client among all its task threads.
const _: fn() = || {
    fn shareable<T: Send + Sync>() {}
    shareable::<Client>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::NAME_MAX;

    fn stat_of_type(file_type: u32) -> Stat {
        Stat {
            mode: file_type | 0o755,
            ..Stat::default()
        }
    }

    fn reply(types: &[u32], errno: i32) -> WalkReply {
        let walked = types
            .iter()
            .enumerate()
            .map(|(i, t)| (Handle(i as u64 + 2), stat_of_type(*t)))
            .collect();
        WalkReply { walked, errno }
    }

    #[test]
    fn walk_reply_walking_every_component_is_accepted() {
        assert!(check_walk(&reply(&[libc::S_IFDIR, libc::S_IFREG], 0), 2).is_ok());
    }

    #[test]
    fn walk_reply_stopping_early_at_a_symlink_is_accepted() {
        assert!(check_walk(&reply(&[libc::S_IFDIR, libc::S_IFLNK], 0), 5).is_ok());
    }

    #[test]
    fn walk_reply_stopping_early_with_an_errno_is_accepted() {
        assert!(check_walk(&reply(&[libc::S_IFDIR], libc::ENOENT), 3).is_ok());
    }

    #[test]
    fn walk_reply_with_more_components_than_asked_is_a_protocol_error() {
        let err = check_walk(&reply(&[libc::S_IFDIR; 3], 0), 2).unwrap_err();
        assert!(matches!(err, Error::Protocol(_)));
    }

    #[test]
    fn walk_reply_continuing_past_a_symlink_is_a_protocol_error() {
        let err = check_walk(&reply(&[libc::S_IFLNK, libc::S_IFDIR], 0), 2).unwrap_err();
        assert!(matches!(err, Error::Protocol(_)));
    }

    #[test]
    fn walk_reply_stopping_early_without_reason_is_a_protocol_error() {
        let err = check_walk(&reply(&[libc::S_IFDIR], 0), 2).unwrap_err();
        assert!(matches!(err, Error::Protocol(_)));
    }

    #[test]
    fn walk_reply_with_an_errno_after_walking_everything_is_a_protocol_error() {
        let err = check_walk(&reply(&[libc::S_IFDIR], libc::ENOENT), 1).unwrap_err();
        assert!(matches!(err, Error::Protocol(_)));
    }

    #[test]
    fn walk_batches_hold_at_most_255_names_and_one_message() {
        let short = vec![&b"a"[..]; 600];
        let long_name = vec![b'a'; NAME_MAX];
        let long = vec![&long_name[..]; 600];
        let huge_name = vec![b'a'; 70_000];

        assert_eq!(walk_batch(&short), MAX_WALK_NAMES);
        assert_eq!(
            walk_batch(&long),
            WALK_NAME_BUDGET / walk_name_wire_size(NAME_MAX)
        );
        assert_eq!(walk_batch(&[&huge_name[..]]), 0);
    }

    #[test]
    fn only_gofer_errnos_keep_their_errno() {
        assert_eq!(Error::Errno(libc::ENOENT).errno(), libc::ENOENT);
        assert_eq!(Error::Protocol("x".into()).errno(), libc::EIO);
        assert_eq!(Error::Io(std::io::Error::other("x")).errno(), libc::EIO);
    }
}
