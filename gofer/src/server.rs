//! The file server: answers the sentry's requests on one or more channels.
//!
//! The server holds one `O_PATH | O_NOFOLLOW` descriptor per handle in a table shared by
//! every channel. Each new handle comes from `openat(parent, name, O_PATH | O_NOFOLLOW)`
//! with a single, validated name component (never `.`, `..` or anything with a `/`), so
//! the server only ever moves downwards from the root and never follows a symlink: a guest
//! racing renames and symlinks cannot make it reach outside the tree it was given.
//! Files are opened for I/O by reopening a handle's descriptor through `/proc/self/fd`,
//! which names the very inode the handle pins rather than resolving any path.
//!
//! Lock order: the handle table lock is taken alone and never held across a host call
//! that can block; a node's directory lock is taken without the table lock held.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, OFlag, AT_FDCWD};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::sys::stat::{fstat, FileStat, Mode};
use nix::sys::statfs::fstatfs;
use nix::sys::statvfs::fstatvfs;
use parking_lot::Mutex;
use tracing::{debug, info, trace, warn};

use crate::error::Error;
use crate::protocol::{
    peek_op, setattr, DirEntry, Handle, Op, ReadDirReply, Request, Response, SetAttr, Stat, StatFs,
    WalkReply, NAME_MAX, PROTOCOL_VERSION, READDIR_ENTRY_BUDGET,
};
use crate::sys;
use crate::transport::{self, RecvBuffers};

/// How a server behaves.
#[derive(Debug)]
pub struct ServerConfig {
    /// Refuse every open that could modify a file (write access or `O_TRUNC`) with `EROFS`.
    pub read_only: bool,
    /// The most channels (the first one included) served at once; `NewChannel` beyond it
    /// fails with `EAGAIN`.
    pub max_channels: usize,
    /// An open `/proc/self/fd` directory, for callers that must open it before they give up
    /// access to `/proc`; `None` makes [`serve`] open it itself. It must name the fd table
    /// of this process, through a task that outlives the server (the main thread's
    /// `/proc/self`, not a short-lived thread's `/proc/thread-self`).
    pub proc_self_fd: Option<OwnedFd>,
    /// The roots of further trees (bind mounts), handed out by `Attach` by index: each
    /// an `O_PATH | O_NOFOLLOW` descriptor of a directory or a file.
    pub extra_roots: Vec<OwnedFd>,
}

impl Default for ServerConfig {
    /// Read-only, 64 channels, `/proc/self/fd` opened by [`serve`].
    fn default() -> Self {
        ServerConfig {
            read_only: true,
            max_channels: 64,
            proc_self_fd: None,
            extra_roots: Vec::new(),
        }
    }
}

/// Serves the tree under `root` (a directory fd) on the channel `sock` until that channel
/// closes.
///
/// Requests are answered in order on each channel. A malformed request gets an `EINVAL`
/// error response and the channel keeps serving. Channels opened with `NewChannel` are
/// served by their own threads and share the handle table; each one ends when its peer
/// closes it or a socket call on it fails. `serve` returns when the *first* channel ends —
/// that is the sentry going away — with `Ok(())` on end of file (or an empty datagram) and
/// `Err(Error::Io)` on a socket error; any other channel threads still running then end
/// when their own peers close.
pub fn serve(root: OwnedFd, sock: OwnedFd, config: ServerConfig) -> Result<(), Error> {
    let proc_self_fd = match config.proc_self_fd {
        Some(fd) => fd,
        None => openat(
            AT_FDCWD,
            "/proc/self/fd",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?,
    };
    // A handle to the root's own inode, whatever kind of descriptor we were given.
    let root = openat(
        &root,
        ".",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let root_node = Node::new(root)?;
    // Each an `O_PATH | O_NOFOLLOW` descriptor of a directory or a file.
    let extra_roots = config
        .extra_roots
        .into_iter()
        .map(|fd| Node::new(fd).map(Arc::new))
        .collect::<nix::Result<Vec<_>>>()?;
    let shared = Arc::new(Shared {
        table: Mutex::new(HandleTable {
            nodes: HashMap::from([(ROOT.0, Arc::new(root_node))]),
            next_id: ROOT.0 + 1,
        }),
        proc_self_fd,
        extra_roots,
        read_only: config.read_only,
        max_channels: config.max_channels.max(1),
        channels: AtomicUsize::new(1),
    });
    info!(read_only = shared.read_only, "gofer serving");
    let result = shared.serve_channel(&sock, false);
    shared.channels.fetch_sub(1, Ordering::Relaxed);
    info!(?result, "gofer's first channel ended");
    result
}

/// The root's handle; it is the first one and is never closed.
const ROOT: Handle = Handle(1);

/// One file the sentry holds a handle to.
struct Node {
    /// `O_PATH | O_NOFOLLOW` descriptor of the file itself.
    fd: OwnedFd,
    /// `S_IFMT` bits; fixed for the inode's lifetime.
    file_type: u32,
    /// On a host pseudo-filesystem (see [`MASKED_FS_MAGICS`]): shown as empty.
    masked: bool,
    /// For directories: the descriptor `ReadDir` reads and seeks, opened on first use and
    /// kept until the handle is closed, so a listing costs one open however many batches
    /// it takes (and the host's cookies stay meaningful on filesystems that tie them to
    /// an open file).
    dir: Mutex<Option<OwnedFd>>,
}

/// Host kernel pseudo-filesystems the gofer never serves: their contents describe the
/// host (its processes, devices, kernel state), not the container's files. A directory
/// on one of them is shown as an empty directory; nothing in it can be walked, opened
/// or read.
const MASKED_FS_MAGICS: &[i64] = &[
    0x9fa0,      // proc
    0x6265_6572, // sysfs
    0x6462_6720, // debugfs
    0x7472_6163, // tracefs
    0x7363_6673, // securityfs
    0x0027_e0eb, // cgroup
    0x6367_7270, // cgroup2
    0x1cd1,      // devpts
    0xcafe_4a11, // bpf
    0x6265_6570, // configfs
    0x6165_676c, // pstore
    0xde5e_81e4, // efivarfs
    0x6573_5543, // fusectl
    0x1980_0202, // mqueue
    0x4249_4e4d, // binfmt_misc
    0xf97c_ff8c, // selinuxfs
    0x6e73_6673, // nsfs
];

fn is_masked_fs(fd: &OwnedFd) -> bool {
    fstatfs(fd).is_ok_and(|fs| MASKED_FS_MAGICS.contains(&fs.filesystem_type().0))
}

impl Node {
    fn new(fd: OwnedFd) -> nix::Result<Node> {
        let file_type = stat_of(&fd)?.file_type();
        let masked = is_masked_fs(&fd);
        Ok(Node {
            fd,
            file_type,
            masked,
            dir: Mutex::new(None),
        })
    }
}

struct HandleTable {
    nodes: HashMap<u64, Arc<Node>>,
    /// Ids only grow, so a closed handle is never reused.
    next_id: u64,
}

impl HandleTable {
    fn insert(&mut self, node: Arc<Node>) -> Handle {
        let id = self.next_id;
        self.next_id += 1;
        self.nodes.insert(id, node);
        Handle(id)
    }

    /// Removes all of `handles` or, if any is the root, unknown or repeated, none of them.
    fn remove_all(&mut self, handles: &[Handle]) -> Result<Vec<Arc<Node>>, Errno> {
        let mut seen = HashSet::with_capacity(handles.len());
        for handle in handles {
            if *handle == ROOT {
                return Err(Errno::EINVAL);
            }
            if !self.nodes.contains_key(&handle.0) || !seen.insert(handle.0) {
                return Err(Errno::EBADF);
            }
        }
        Ok(handles
            .iter()
            .filter_map(|handle| self.nodes.remove(&handle.0))
            .collect())
    }
}

/// State every channel shares.
struct Shared {
    table: Mutex<HandleTable>,
    proc_self_fd: OwnedFd,
    extra_roots: Vec<Arc<Node>>,
    read_only: bool,
    max_channels: usize,
    channels: AtomicUsize,
}

/// A response and the descriptor that goes with it, if any.
struct Reply {
    response: Response,
    fd: Option<OwnedFd>,
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        Reply { response, fd: None }
    }
}

impl Shared {
    /// Answers requests on `sock` until its peer closes it. A channel opened by
    /// `NewChannel` starts `handshaken`; the first one must begin with `Version`.
    fn serve_channel(self: &Arc<Self>, sock: &OwnedFd, mut handshaken: bool) -> Result<(), Error> {
        let mut bufs = RecvBuffers::new();
        let mut out = Vec::new();
        loop {
            let Some(received) = transport::recv(sock.as_fd(), &mut bufs)? else {
                return Ok(());
            };
            if !received.fds.is_empty() {
                warn!(
                    count = received.fds.len(),
                    "closing descriptors the sentry sent to the gofer"
                );
            }
            let reply = if received.truncated || received.control_truncated {
                debug!("oversized request");
                Reply::from(Response::Error {
                    op: peek_op(received.bytes).unwrap_or(0),
                    errno: libc::EINVAL,
                })
            } else {
                match Request::decode(received.bytes) {
                    Ok(request) => self.dispatch(request, &mut handshaken),
                    Err(err) => {
                        debug!(%err, "malformed request");
                        Reply::from(Response::Error {
                            op: peek_op(received.bytes).unwrap_or(0),
                            errno: libc::EINVAL,
                        })
                    }
                }
            };
            if let Err(err) = reply.response.encode(&mut out) {
                warn!(%err, "could not encode a response");
                let fallback = Response::Error {
                    op: reply.response.op(),
                    errno: libc::EIO,
                };
                fallback.encode(&mut out)?;
                transport::send(sock.as_fd(), &out, None)?;
                continue;
            }
            transport::send(sock.as_fd(), &out, reply.fd.as_ref().map(AsFd::as_fd))?;
        }
    }

    fn dispatch(self: &Arc<Self>, request: Request<'_>, handshaken: &mut bool) -> Reply {
        let op = request.op();
        trace!(?request, "request");
        if !*handshaken && op != Op::Version {
            debug!(?op, "request before the version handshake");
            return Reply::from(Response::Error {
                op: op as u16,
                errno: libc::EPROTO,
            });
        }
        let result = match request {
            Request::Version { version } => self
                .version(version)
                .inspect(|_| *handshaken = true)
                .map(Reply::from),
            Request::Walk { dir, names } => self
                .walk(dir, &names)
                .map(|reply| Response::Walk(reply).into()),
            Request::Stat { handle } => self
                .node(handle)
                .and_then(|n| stat_of(&n.fd))
                .map(|s| Response::Stat(s).into()),
            Request::Open { handle, flags } => self.open(handle, flags),
            Request::ReadDir { handle, cookie } => self
                .read_dir(handle, cookie)
                .map(|r| Response::ReadDir(r).into()),
            Request::ReadLink { handle } => {
                self.read_link(handle).map(|t| Response::ReadLink(t).into())
            }
            Request::StatFs { handle } => self.stat_fs(handle).map(|s| Response::StatFs(s).into()),
            Request::Close { handles } => self.close(&handles).map(|()| Response::Close.into()),
            Request::NewChannel => self.new_channel(),
            Request::Attach { index } => self.attach(index),
            request if request.op().modifies() && self.read_only => Err(Errno::EROFS),
            Request::Create {
                dir,
                name,
                flags,
                mode,
                uid,
                gid,
            } => self.create(dir, name, flags, mode, uid, gid),
            Request::MkDir {
                dir,
                name,
                mode,
                uid,
                gid,
            } => self
                .make(dir, name, uid, gid, Some(mode), |d| {
                    nix::sys::stat::mkdirat(d, name, Mode::from_bits_truncate(mode & 0o7777))
                })
                .map(|(handle, stat)| created(Op::MkDir, handle, stat)),
            Request::MkNod {
                dir,
                name,
                mode,
                rdev,
                uid,
                gid,
            } => self.mknod(dir, name, mode, rdev, uid, gid),
            Request::Symlink {
                dir,
                name,
                target,
                uid,
                gid,
            } => self.symlink(dir, name, target, uid, gid),
            Request::Link { dir, name, target } => self.link(dir, name, target),
            Request::Unlink { dir, name, flags } => {
                self.unlink(dir, name, flags).map(|()| done(Op::Unlink))
            }
            Request::Rename {
                old_dir,
                old_name,
                new_dir,
                new_name,
                flags,
            } => self
                .rename(old_dir, old_name, new_dir, new_name, flags)
                .map(|()| done(Op::Rename)),
            Request::SetAttr { handle, attr } => self
                .set_attr(handle, &attr)
                .map(|st| Response::SetAttr(st).into()),
            Request::GetXattr { handle, name, size } => {
                self.get_xattr(handle, name, size).map(|data| {
                    Response::Xattr {
                        op: Op::GetXattr,
                        data,
                    }
                    .into()
                })
            }
            Request::ListXattr { handle, size } => self.list_xattr(handle, size).map(|data| {
                Response::Xattr {
                    op: Op::ListXattr,
                    data,
                }
                .into()
            }),
            Request::SetXattr {
                handle,
                name,
                value,
                flags,
            } => self
                .set_xattr(handle, name, value, flags)
                .map(|()| done(Op::SetXattr)),
            Request::RemoveXattr { handle, name } => self
                .remove_xattr(handle, name)
                .map(|()| done(Op::RemoveXattr)),
            Request::FSync { handle, datasync } => {
                self.fsync(handle, datasync).map(|()| done(Op::FSync))
            }
            Request::Allocate {
                handle,
                mode,
                offset,
                len,
            } => self
                .allocate(handle, mode, offset, len)
                .map(|()| done(Op::Allocate)),
        };
        result.unwrap_or_else(|errno| {
            trace!(?op, %errno, "request failed");
            Reply::from(Response::Error {
                op: op as u16,
                errno: errno as i32,
            })
        })
    }

    fn node(&self, handle: Handle) -> Result<Arc<Node>, Errno> {
        self.table
            .lock()
            .nodes
            .get(&handle.0)
            .cloned()
            .ok_or(Errno::EBADF)
    }

    fn version(&self, version: u32) -> Result<Response, Errno> {
        if version != PROTOCOL_VERSION {
            warn!(
                sentry = version,
                gofer = PROTOCOL_VERSION,
                "refusing a sentry that speaks another protocol version; sentry and gofer must come from the same moat build"
            );
            return Err(Errno::EPROTONOSUPPORT);
        }
        let root_stat = stat_of(&self.node(ROOT)?.fd)?;
        Ok(Response::Version {
            version: PROTOCOL_VERSION,
            root: ROOT,
            root_stat,
        })
    }

    fn walk(&self, dir: Handle, names: &[&[u8]]) -> Result<WalkReply, Errno> {
        let mut current = self.node(dir)?;
        let mut reply = WalkReply::default();
        for name in names {
            let step = check_name(name).and_then(|()| {
                if current.masked {
                    return Err(Errno::ENOENT);
                }
                let fd = openat(
                    &current.fd,
                    *name,
                    OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::empty(),
                )?;
                let stat = stat_of(&fd)?;
                let masked = is_masked_fs(&fd);
                if masked && stat.file_type() != libc::S_IFDIR {
                    return Err(Errno::ENOENT);
                }
                Ok((
                    Arc::new(Node {
                        fd,
                        file_type: stat.file_type(),
                        masked,
                        dir: Mutex::new(None),
                    }),
                    stat,
                ))
            });
            let (node, stat) = match step {
                Ok(step) => step,
                Err(errno) => {
                    reply.errno = errno as i32;
                    break;
                }
            };
            let handle = self.table.lock().insert(Arc::clone(&node));
            reply.walked.push((handle, stat));
            if stat.is_symlink() {
                break;
            }
            current = node;
        }
        Ok(reply)
    }

    fn open(&self, handle: Handle, flags: i32) -> Result<Reply, Errno> {
        // O_CLOEXEC is always added and the kernel's O_LARGEFILE is implied on 64-bit hosts
        // (glibc defines it as 0 there), so both are accepted and mean nothing here.
        const KERNEL_O_LARGEFILE: i32 = 0o100000;
        let allowed =
            libc::O_ACCMODE | libc::O_TRUNC | libc::O_APPEND | libc::O_NOATIME | libc::O_CLOEXEC;
        if flags & !(allowed | KERNEL_O_LARGEFILE) != 0 {
            return Err(Errno::EINVAL);
        }
        let oflags = OFlag::from_bits_retain(flags & allowed);
        let access = oflags & OFlag::O_ACCMODE;
        if access == OFlag::O_ACCMODE {
            return Err(Errno::EINVAL);
        }
        let node = self.node(handle)?;
        if node.masked {
            return Err(Errno::EACCES);
        }
        match node.file_type {
            libc::S_IFREG => {}
            libc::S_IFDIR => return Err(Errno::EISDIR),
            libc::S_IFLNK => return Err(Errno::ELOOP),
            _ => return Err(Errno::ENXIO),
        }
        if self.read_only && (access != OFlag::O_RDONLY || oflags.contains(OFlag::O_TRUNC)) {
            return Err(Errno::EROFS);
        }
        let fd = self.reopen(&node, oflags | OFlag::O_NOCTTY)?;
        Ok(Reply {
            response: Response::Open,
            fd: Some(fd),
        })
    }

    /// Opens the inode `node` pins, through `/proc/self/fd/<n>` (no path is resolved).
    fn reopen(&self, node: &Node, flags: OFlag) -> Result<OwnedFd, Errno> {
        let name = node.fd.as_raw_fd().to_string();
        openat(
            &self.proc_self_fd,
            name.as_str(),
            flags | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    }

    fn read_dir(&self, handle: Handle, cookie: u64) -> Result<ReadDirReply, Errno> {
        let node = self.node(handle)?;
        if node.file_type != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        if node.masked {
            // Only "." and "..": the host's entries stay hidden.
            let ino = stat_of(&node.fd)?.ino;
            let dot = |name: &[u8], next| DirEntry {
                ino,
                next_cookie: next,
                d_type: libc::DT_DIR,
                name: name.to_vec(),
            };
            let entries = [dot(b".", 1), dot(b"..", 2)]
                .into_iter()
                .skip(cookie.min(2) as usize)
                .collect();
            return Ok(ReadDirReply { entries, end: true });
        }
        let mut dir = node.dir.lock();
        if dir.is_none() {
            *dir = Some(self.reopen(&node, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?);
        }
        let Some(dir_fd) = dir.as_ref() else {
            return Err(Errno::EBADF);
        };
        let offset = i64::try_from(cookie).map_err(|_| Errno::EINVAL)?;
        nix::unistd::lseek(dir_fd, offset, nix::unistd::Whence::SeekSet)?;
        let mut buf = vec![0u8; 32 * 1024];
        let mut reply = ReadDirReply::default();
        let mut budget = READDIR_ENTRY_BUDGET;
        loop {
            let len = sys::getdents64(dir_fd.as_fd(), &mut buf)?;
            if len == 0 {
                reply.end = true;
                return Ok(reply);
            }
            for entry in Dirents(&buf[..len]) {
                let size = DirEntry::wire_size(entry.name.len());
                if size > budget {
                    // Not even one entry fits only if the host returned an absurd name.
                    return if reply.entries.is_empty() {
                        Err(Errno::EOVERFLOW)
                    } else {
                        Ok(reply)
                    };
                }
                budget -= size;
                reply.entries.push(entry);
            }
        }
    }

    fn read_link(&self, handle: Handle) -> Result<Vec<u8>, Errno> {
        let node = self.node(handle)?;
        if node.file_type != libc::S_IFLNK {
            return Err(Errno::EINVAL);
        }
        if node.masked {
            return Err(Errno::EACCES);
        }
        Ok(readlinkat(&node.fd, "")?.into_encoded_bytes())
    }

    fn stat_fs(&self, handle: Handle) -> Result<StatFs, Errno> {
        let node = self.node(handle)?;
        let fs = fstatfs(&node.fd)?;
        let vfs = fstatvfs(&node.fd)?;
        Ok(StatFs {
            fs_type: fs.filesystem_type().0 as u64,
            bsize: fs.block_size() as u64,
            blocks: fs.blocks(),
            bfree: fs.blocks_free(),
            bavail: fs.blocks_available(),
            files: fs.files(),
            ffree: fs.files_free(),
            namelen: fs.maximum_name_length() as u64,
            frsize: vfs.fragment_size(),
            flags: vfs.flags().bits(),
        })
    }

    fn close(&self, handles: &[Handle]) -> Result<(), Errno> {
        let closed = self.table.lock().remove_all(handles)?;
        // Descriptors close here, outside the table lock (or later, when an in-flight
        // request on another channel drops its reference).
        drop(closed);
        Ok(())
    }

    fn attach(&self, index: u32) -> Result<Reply, Errno> {
        let node = self
            .extra_roots
            .get(index as usize)
            .cloned()
            .ok_or(Errno::ENOENT)?;
        let stat = stat_of(&node.fd)?;
        let handle = self.table.lock().insert(node);
        Ok(created(Op::Attach, handle, stat))
    }

    /// A directory handle new names can be made in.
    fn dir_node(&self, handle: Handle) -> Result<Arc<Node>, Errno> {
        let node = self.node(handle)?;
        if node.file_type != libc::S_IFDIR {
            return Err(Errno::ENOTDIR);
        }
        if node.masked {
            return Err(Errno::EACCES);
        }
        Ok(node)
    }

    /// A handle to `name` in `dir`, just made, after giving it its owner (and its exact
    /// mode, which the host's umask may have narrowed).
    fn adopt_new(
        &self,
        dir: &Node,
        name: &[u8],
        uid: u32,
        gid: u32,
        mode: Option<u32>,
    ) -> Result<(Handle, Stat), Errno> {
        let fd = openat(
            &dir.fd,
            name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let node = Node::new(fd)?;
        chown_node(&node, uid, gid)?;
        if let Some(mode) = mode {
            self.chmod_node(&node, mode)?;
        }
        let stat = stat_of(&node.fd)?;
        let handle = self.table.lock().insert(Arc::new(node));
        Ok((handle, stat))
    }

    /// Makes `name` in `dir` with `make` and returns a handle to it.
    fn make(
        &self,
        dir: Handle,
        name: &[u8],
        uid: u32,
        gid: u32,
        mode: Option<u32>,
        make: impl FnOnce(&OwnedFd) -> nix::Result<()>,
    ) -> Result<(Handle, Stat), Errno> {
        check_name(name)?;
        let dir = self.dir_node(dir)?;
        make(&dir.fd)?;
        self.adopt_new(&dir, name, uid, gid, mode)
    }

    fn create(
        &self,
        dir: Handle,
        name: &[u8],
        flags: i32,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<Reply, Errno> {
        let allowed =
            libc::O_ACCMODE | libc::O_APPEND | libc::O_CLOEXEC | libc::O_TMPFILE | libc::O_EXCL;
        if flags & !allowed != 0 || flags & libc::O_ACCMODE == libc::O_ACCMODE {
            return Err(Errno::EINVAL);
        }
        let unnamed = flags & libc::O_TMPFILE == libc::O_TMPFILE;
        let access = OFlag::from_bits_retain(flags & (libc::O_ACCMODE | libc::O_APPEND));
        let dir_node;
        let file = if unnamed {
            // O_TMPFILE: an unnamed file in the directory (O_EXCL: never linkable).
            if !name.is_empty() || flags & libc::O_ACCMODE == libc::O_RDONLY {
                return Err(Errno::EINVAL);
            }
            dir_node = self.dir_node(dir)?;
            let excl = OFlag::from_bits_retain(flags & libc::O_EXCL);
            openat(
                &dir_node.fd,
                ".",
                access | excl | OFlag::O_TMPFILE | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(mode & 0o7777),
            )?
        } else {
            if flags & libc::O_EXCL != 0 || flags & libc::O_TMPFILE != 0 {
                return Err(Errno::EINVAL);
            }
            check_name(name)?;
            dir_node = self.dir_node(dir)?;
            // Always a new file: a name that appeared since the sentry looked is EEXIST,
            // and nothing already there (a symlink included) is ever opened.
            let oflags = access
                | OFlag::O_CREAT
                | OFlag::O_EXCL
                | OFlag::O_NOFOLLOW
                | OFlag::O_NOCTTY
                | OFlag::O_CLOEXEC;
            openat(
                &dir_node.fd,
                name,
                oflags,
                Mode::from_bits_truncate(mode & 0o7777),
            )?
        };
        drop(dir_node);
        // The handle names the very inode just created, not whatever the name is now.
        let path_fd = self.reopen_fd(&file, OFlag::O_PATH)?;
        let node = Node::new(path_fd)?;
        chown_node(&node, uid, gid)?;
        self.chmod_node(&node, mode)?;
        let stat = stat_of(&node.fd)?;
        let handle = self.table.lock().insert(Arc::new(node));
        Ok(Reply {
            response: Response::Created {
                op: Op::Create,
                handle,
                stat,
            },
            fd: Some(file),
        })
    }

    fn mknod(
        &self,
        dir: Handle,
        name: &[u8],
        mode: u32,
        _rdev: u64,
        uid: u32,
        gid: u32,
    ) -> Result<Reply, Errno> {
        let kind = match mode & libc::S_IFMT {
            0 | libc::S_IFREG => nix::sys::stat::SFlag::S_IFREG,
            libc::S_IFIFO => nix::sys::stat::SFlag::S_IFIFO,
            libc::S_IFSOCK => nix::sys::stat::SFlag::S_IFSOCK,
            // The sandbox has its own devices; the host's are never made (so `rdev`, which
            // only a device uses, is never passed on).
            libc::S_IFCHR | libc::S_IFBLK => return Err(Errno::EPERM),
            _ => return Err(Errno::EINVAL),
        };
        let perm = Mode::from_bits_truncate(mode & 0o7777);
        self.make(dir, name, uid, gid, Some(mode), |d| {
            nix::sys::stat::mknodat(d, name, kind, perm, 0)
        })
        .map(|(handle, stat)| created(Op::MkNod, handle, stat))
    }

    fn symlink(
        &self,
        dir: Handle,
        name: &[u8],
        target: &[u8],
        uid: u32,
        gid: u32,
    ) -> Result<Reply, Errno> {
        if target.is_empty() || target.contains(&0) {
            return Err(Errno::ENOENT);
        }
        if target.len() >= libc::PATH_MAX as usize {
            return Err(Errno::ENAMETOOLONG);
        }
        self.make(dir, name, uid, gid, None, |d| {
            nix::unistd::symlinkat(target, d, name)
        })
        .map(|(handle, stat)| created(Op::Symlink, handle, stat))
    }

    fn link(&self, dir: Handle, name: &[u8], target: Handle) -> Result<Reply, Errno> {
        let target = self.node(target)?;
        if target.file_type == libc::S_IFDIR {
            return Err(Errno::EPERM);
        }
        if target.masked {
            return Err(Errno::EACCES);
        }
        check_name(name)?;
        let dir_node = self.dir_node(dir)?;
        nix::unistd::linkat(
            &target.fd,
            "",
            &dir_node.fd,
            name,
            nix::fcntl::AtFlags::AT_EMPTY_PATH,
        )?;
        let fd = openat(
            &dir_node.fd,
            name,
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let node = Node::new(fd)?;
        let stat = stat_of(&node.fd)?;
        let handle = self.table.lock().insert(Arc::new(node));
        Ok(created(Op::Link, handle, stat))
    }

    fn unlink(&self, dir: Handle, name: &[u8], flags: i32) -> Result<(), Errno> {
        let how = match flags {
            0 => nix::unistd::UnlinkatFlags::NoRemoveDir,
            libc::AT_REMOVEDIR => nix::unistd::UnlinkatFlags::RemoveDir,
            _ => return Err(Errno::EINVAL),
        };
        check_name(name)?;
        let dir = self.dir_node(dir)?;
        nix::unistd::unlinkat(&dir.fd, name, how)
    }

    fn rename(
        &self,
        old_dir: Handle,
        old_name: &[u8],
        new_dir: Handle,
        new_name: &[u8],
        flags: u32,
    ) -> Result<(), Errno> {
        let known = libc::RENAME_NOREPLACE | libc::RENAME_EXCHANGE | libc::RENAME_WHITEOUT;
        if flags & !known != 0 {
            return Err(Errno::EINVAL);
        }
        check_name(old_name)?;
        check_name(new_name)?;
        let old = self.dir_node(old_dir)?;
        let new = self.dir_node(new_dir)?;
        nix::fcntl::renameat2(
            &old.fd,
            old_name,
            &new.fd,
            new_name,
            nix::fcntl::RenameFlags::from_bits_retain(flags),
        )
    }

    /// chmod of the inode `node` pins (through its `/proc/self/fd` link: `fchmod` does
    /// not take `O_PATH` descriptors). Symlinks have no mode of their own.
    fn chmod_node(&self, node: &Node, mode: u32) -> Result<(), Errno> {
        if node.file_type == libc::S_IFLNK {
            return Err(Errno::EOPNOTSUPP);
        }
        let name = node.fd.as_raw_fd().to_string();
        nix::sys::stat::fchmodat(
            &self.proc_self_fd,
            name.as_str(),
            Mode::from_bits_truncate(mode & 0o7777),
            nix::sys::stat::FchmodatFlags::FollowSymlink,
        )
    }

    fn set_attr(&self, handle: Handle, attr: &SetAttr) -> Result<Stat, Errno> {
        if attr.mask & !setattr::ALL != 0 {
            return Err(Errno::EINVAL);
        }
        let node = self.node(handle)?;
        if node.masked {
            return Err(Errno::EACCES);
        }
        if attr.mask & (setattr::UID | setattr::GID) != 0 {
            let uid = if attr.mask & setattr::UID != 0 {
                attr.uid
            } else {
                u32::MAX
            };
            let gid = if attr.mask & setattr::GID != 0 {
                attr.gid
            } else {
                u32::MAX
            };
            chown_node(&node, uid, gid)?;
        }
        if attr.mask & setattr::MODE != 0 {
            self.chmod_node(&node, attr.mode)?;
        }
        if attr.mask & setattr::SIZE != 0 {
            match node.file_type {
                libc::S_IFREG => {}
                libc::S_IFDIR => return Err(Errno::EISDIR),
                _ => return Err(Errno::EINVAL),
            }
            let size = i64::try_from(attr.size).map_err(|_| Errno::EFBIG)?;
            let fd = self.reopen(&node, OFlag::O_WRONLY | OFlag::O_NOCTTY)?;
            nix::unistd::ftruncate(&fd, size)?;
        }
        if attr.mask & (setattr::ATIME | setattr::MTIME) != 0 {
            let time = |set: bool, sec: i64, nsec: i64| {
                if set {
                    libc::timespec {
                        tv_sec: sec,
                        tv_nsec: nsec,
                    }
                } else {
                    libc::timespec {
                        tv_sec: 0,
                        tv_nsec: libc::UTIME_OMIT,
                    }
                }
            };
            let times = [
                time(
                    attr.mask & setattr::ATIME != 0,
                    attr.atime_sec,
                    attr.atime_nsec,
                ),
                time(
                    attr.mask & setattr::MTIME != 0,
                    attr.mtime_sec,
                    attr.mtime_nsec,
                ),
            ];
            // The inode the handle pins, a symlink's own times included.
            sys::utimens_empty_path(node.fd.as_fd(), &times)?;
        }
        stat_of(&node.fd)
    }

    /// A readable descriptor of a handle's regular file or directory, for the calls that
    /// need one (xattrs, fsync). Other kinds have no such descriptor: `Err(kind_errno)`.
    fn io_fd(&self, handle: Handle, kind_errno: Errno) -> Result<OwnedFd, Errno> {
        let node = self.node(handle)?;
        if node.masked {
            return Err(Errno::EACCES);
        }
        match node.file_type {
            libc::S_IFREG => self.reopen(&node, OFlag::O_RDONLY | OFlag::O_NOCTTY),
            libc::S_IFDIR => self.reopen(&node, OFlag::O_RDONLY | OFlag::O_DIRECTORY),
            _ => Err(kind_errno),
        }
    }

    fn get_xattr(&self, handle: Handle, name: &[u8], size: u32) -> Result<Vec<u8>, Errno> {
        let name = xattr_name(name)?;
        let fd = self.io_fd(handle, Errno::ENODATA)?;
        let mut buf = vec![0u8; XATTR_BUDGET];
        let len = sys::fgetxattr(fd.as_fd(), &name, &mut buf)?;
        if size != 0 && len > size as usize {
            return Err(Errno::ERANGE);
        }
        buf.truncate(len);
        Ok(buf)
    }

    fn list_xattr(&self, handle: Handle, size: u32) -> Result<Vec<u8>, Errno> {
        let fd = match self.io_fd(handle, Errno::ENODATA) {
            Err(Errno::ENODATA) => return Ok(Vec::new()),
            other => other?,
        };
        let mut buf = vec![0u8; XATTR_BUDGET];
        let len = sys::flistxattr(fd.as_fd(), &mut buf)?;
        if size != 0 && len > size as usize {
            return Err(Errno::ERANGE);
        }
        buf.truncate(len);
        Ok(buf)
    }

    fn set_xattr(
        &self,
        handle: Handle,
        name: &[u8],
        value: &[u8],
        flags: i32,
    ) -> Result<(), Errno> {
        if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE) != 0 {
            return Err(Errno::EINVAL);
        }
        let name = xattr_name(name)?;
        let fd = self.io_fd(handle, Errno::EPERM)?;
        sys::fsetxattr(fd.as_fd(), &name, value, flags)
    }

    fn remove_xattr(&self, handle: Handle, name: &[u8]) -> Result<(), Errno> {
        let name = xattr_name(name)?;
        let fd = self.io_fd(handle, Errno::EPERM)?;
        sys::fremovexattr(fd.as_fd(), &name)
    }

    fn fsync(&self, handle: Handle, datasync: bool) -> Result<(), Errno> {
        let fd = self.io_fd(handle, Errno::EINVAL)?;
        if datasync {
            nix::unistd::fdatasync(&fd)
        } else {
            nix::unistd::fsync(&fd)
        }
    }

    fn allocate(&self, handle: Handle, mode: i32, offset: u64, len: u64) -> Result<(), Errno> {
        let node = self.node(handle)?;
        match node.file_type {
            libc::S_IFREG => {}
            libc::S_IFDIR => return Err(Errno::EISDIR),
            _ => return Err(Errno::ENODEV),
        }
        let (offset, len) = match (i64::try_from(offset), i64::try_from(len)) {
            (Ok(o), Ok(l)) => (o, l),
            _ => return Err(Errno::EFBIG),
        };
        let fd = self.reopen(&node, OFlag::O_WRONLY | OFlag::O_NOCTTY)?;
        nix::fcntl::fallocate(
            &fd,
            nix::fcntl::FallocateFlags::from_bits_retain(mode),
            offset,
            len,
        )
    }

    /// Reopens an open descriptor through `/proc/self/fd` (no path is resolved).
    fn reopen_fd(&self, fd: &OwnedFd, flags: OFlag) -> Result<OwnedFd, Errno> {
        let name = fd.as_raw_fd().to_string();
        openat(
            &self.proc_self_fd,
            name.as_str(),
            flags | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    }

    fn new_channel(self: &Arc<Self>) -> Result<Reply, Errno> {
        let live = self.channels.fetch_add(1, Ordering::Relaxed);
        if live >= self.max_channels {
            self.channels.fetch_sub(1, Ordering::Relaxed);
            return Err(Errno::EAGAIN);
        }
        let pair = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        );
        let (ours, theirs) = pair.inspect_err(|_| {
            self.channels.fetch_sub(1, Ordering::Relaxed);
        })?;
        let shared = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("gofer-channel-{live}"))
            .spawn(move || {
                let result = shared.serve_channel(&ours, true);
                shared.channels.fetch_sub(1, Ordering::Relaxed);
                debug!(?result, "gofer channel ended");
            });
        if let Err(err) = spawned {
            // The closure (and with it the count it would have released) was dropped.
            self.channels.fetch_sub(1, Ordering::Relaxed);
            warn!(%err, "could not start a channel thread");
            return Err(Errno::EAGAIN);
        }
        Ok(Reply {
            response: Response::NewChannel,
            fd: Some(theirs),
        })
    }
}

/// The largest extended attribute value (and name list) the gofer returns: Linux's
/// `XATTR_SIZE_MAX`, less what the response needs around it.
const XATTR_BUDGET: usize = crate::protocol::MAX_PAYLOAD_SIZE;

fn created(op: Op, handle: Handle, stat: Stat) -> Reply {
    Reply::from(Response::Created { op, handle, stat })
}

fn done(op: Op) -> Reply {
    Reply::from(Response::Done { op })
}

/// An extended attribute name as the host takes it: 1 to 255 bytes, no NUL.
fn xattr_name(name: &[u8]) -> Result<std::ffi::CString, Errno> {
    if name.is_empty() || name.len() > 255 {
        return Err(Errno::ERANGE);
    }
    std::ffi::CString::new(name).map_err(|_| Errno::EINVAL)
}

/// Gives a node the owner `uid`/`gid` (`u32::MAX`: unchanged), without following it if
/// it is a symlink.
fn chown_node(node: &Node, uid: u32, gid: u32) -> Result<(), Errno> {
    if uid == u32::MAX && gid == u32::MAX {
        return Ok(());
    }
    let uid = (uid != u32::MAX).then(|| nix::unistd::Uid::from_raw(uid));
    let gid = (gid != u32::MAX).then(|| nix::unistd::Gid::from_raw(gid));
    nix::unistd::fchownat(
        &node.fd,
        "",
        uid,
        gid,
        nix::fcntl::AtFlags::AT_EMPTY_PATH | nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
}

/// Accepts exactly one plain name component.
fn check_name(name: &[u8]) -> Result<(), Errno> {
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.iter().any(|&b| b == b'/' || b == 0)
    {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// `fstat` of a (possibly `O_PATH`) descriptor, without following anything.
fn stat_of(fd: &OwnedFd) -> Result<Stat, Errno> {
    fstat(fd).map(|st| stat_from_host(&st))
}

fn stat_from_host(st: &FileStat) -> Stat {
    Stat {
        dev: st.st_dev,
        ino: st.st_ino,
        mode: st.st_mode,
        nlink: u32::try_from(st.st_nlink).unwrap_or(u32::MAX),
        uid: st.st_uid,
        gid: st.st_gid,
        rdev: st.st_rdev,
        size: st.st_size,
        blksize: st.st_blksize,
        blocks: st.st_blocks,
        atime_sec: st.st_atime,
        atime_nsec: st.st_atime_nsec,
        mtime_sec: st.st_mtime,
        mtime_nsec: st.st_mtime_nsec,
        ctime_sec: st.st_ctime,
        ctime_nsec: st.st_ctime_nsec,
        btime_sec: 0,
        btime_nsec: 0,
    }
}

/// Iterates the `struct linux_dirent64` records of a `getdents64` buffer:
/// `{ d_ino: u64, d_off: i64, d_reclen: u16, d_type: u8, d_name: NUL-terminated }`.
struct Dirents<'a>(&'a [u8]);

impl Iterator for Dirents<'_> {
    type Item = DirEntry;

    fn next(&mut self) -> Option<DirEntry> {
        const NAME_OFFSET: usize = 19;
        let buf = self.0;
        let reclen = usize::from(u16::from_ne_bytes(buf.get(16..18)?.try_into().ok()?));
        let record = buf.get(..reclen).filter(|r| r.len() > NAME_OFFSET)?;
        self.0 = &buf[reclen..];
        let ino = u64::from_ne_bytes(record[0..8].try_into().ok()?);
        let next_cookie = u64::from_ne_bytes(record[8..16].try_into().ok()?);
        let raw_name = &record[NAME_OFFSET..];
        let name_len = raw_name
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(raw_name.len());
        Some(DirEntry {
            ino,
            next_cookie,
            d_type: record[18],
            name: raw_name[..name_len].to_vec(),
        })
    }
}
