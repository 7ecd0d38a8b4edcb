//! The sentry ⇄ gofer wire protocol, version [`PROTOCOL_VERSION`].
//!
//! # Transport
//!
//! A *channel* is a connected `SOCK_SEQPACKET` unix socket. Every datagram is exactly one
//! message, at most [`MAX_MESSAGE_SIZE`] bytes. The sentry sends one request and reads the
//! one response on the same channel; host file descriptors travel with a response as
//! `SCM_RIGHTS` ancillary data (only `Open` and `NewChannel` carry one).
//!
//! # Message layout
//!
//! Every integer is little-endian and every struct is `#[repr(C)]` with no implicit
//! padding; `reserved` fields are sent as zero and ignored when received.
//!
//! ```text
//! Header { op: u16, flags: u16, payload_len: u32 }          8 bytes, then payload_len bytes
//!
//! op  request payload                         success response payload (flags = 0)
//! 1   Version  { version: u32, reserved: u32 }  { version: u32, reserved: u32, root: u64, root_stat: Stat }
//! 2   Walk     { dir: u64, n: u32, reserved: u32 } then n × { len: u16, name: [u8; len] }
//!                                               { errno: i32, k: u32 } then k × { handle: u64, stat: Stat }
//! 3   Stat     { handle: u64 }                  Stat
//! 4   Open     { handle: u64, flags: i32, reserved: u32 }
//!                                               empty, plus one fd (SCM_RIGHTS)
//! 5   ReadDir  { handle: u64, cookie: u64 }     { n: u32, end: u32 } then n × { ino: u64,
//!                                               next_cookie: u64, name_len: u16, d_type: u8,
//!                                               reserved: [u8; 5], name: [u8; name_len] }
//! 6   ReadLink { handle: u64 }                  the target's bytes (the whole payload)
//! 7   StatFs   { handle: u64 }                  StatFs
//! 8   Close    { n: u32, reserved: u32 } then n × u64
//!                                               empty
//! 9   NewChannel  (empty)                       empty, plus one fd: a new channel
//! 10  Create   NodeArgs, name                   Created, plus one fd (the new file, opened)
//! 11  MkDir    NodeArgs, name                   Created
//! 12  MkNod    NodeArgs, name                   Created
//! 13  Symlink  NodeArgs, name, target           Created
//! 14  Link     { dir: u64, target: u64, name_len: u32, reserved: u32 }, name
//!                                               Created
//! 15  Unlink   { dir: u64, flags: i32, name_len: u32 }, name
//!                                               empty
//! 16  Rename   { old_dir: u64, new_dir: u64, flags: u32, old_len: u32, new_len: u32,
//!                reserved: u32 }, old name, new name
//!                                               empty
//! 17  SetAttr  { handle: u64, attr: SetAttr }   Stat (after the change)
//! 18  GetXattr XattrArgs, name                  the value's bytes
//! 19  ListXattr XattrArgs                       the NUL-separated names
//! 20  SetXattr XattrArgs, name, value           empty
//! 21  RemoveXattr XattrArgs, name               empty
//! 22  FSync    { handle: u64, datasync: u32, reserved: u32 }
//!                                               empty
//! 23  Allocate { handle: u64, mode: i32, reserved: u32, offset: u64, len: u64 }
//!                                               empty
//! 24  Attach   { index: u32, reserved: u32 }    Created: the root of extra tree `index`
//!                                               (a bind mount the gofer was given)
//!
//! NodeArgs  = { dir: u64, mode: u32, uid: u32, gid: u32, flags: i32, rdev: u64,
//!               name_len: u32, target_len: u32 }   (flags: Create's open flags)
//! XattrArgs = { handle: u64, flags: i32, size: u32, name_len: u32, value_len: u32 }
//! Created   = { handle: u64, stat: Stat }
//! ```
//!
//! Ops 10-23 change files or read extended attributes; a read-only server answers the
//! changing ones with `EROFS`. New files get the `uid`/`gid` the request names (the
//! sentry's view of the guest's credentials), the gofer being the one that may chown.
//!
//! A failed request is answered with the request's op echoed, `flags` = [`FLAG_ERROR`] and
//! the payload `{ errno: i32, reserved: u32 }` (errno > 0). Requests carry `flags` = 0.
//! `Stat` is 128 bytes and `StatFs` 80 bytes; see their definitions for the field order.
//!
//! Encoding and decoding here are pure functions over byte slices: nothing in this module
//! touches a socket, and decoding any byte string returns either a message or a
//! [`WireError`], never a panic.

use std::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use codec::{CloseArgs, DirentHead, ReadDirReplyHead, WalkArgs};

mod codec;
#[cfg(test)]
mod tests;

#[cfg(not(target_endian = "little"))]
compile_error!("the gofer wire protocol is little-endian; moat only targets x86-64");

/// The protocol version this crate speaks; both ends must agree exactly.
pub const PROTOCOL_VERSION: u32 = 2;
/// The largest datagram either end sends or accepts, header included.
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Size of [`Header`] on the wire.
pub const HEADER_SIZE: usize = size_of::<Header>();
/// The largest payload a message can carry.
pub const MAX_PAYLOAD_SIZE: usize = MAX_MESSAGE_SIZE - HEADER_SIZE;
/// The most names one `Walk` request may carry.
pub const MAX_WALK_NAMES: usize = 255;
/// The longest file name component the gofer accepts (Linux `NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// The most handles one `Close` request may carry.
pub const MAX_CLOSE_HANDLES: usize =
    (MAX_PAYLOAD_SIZE - size_of::<CloseArgs>()) / size_of::<Handle>();
/// Payload bytes a `Walk` request has for its names (see [`walk_name_wire_size`]).
pub const WALK_NAME_BUDGET: usize = MAX_PAYLOAD_SIZE - size_of::<WalkArgs>();
/// Payload bytes a `ReadDir` response has for its entries (see [`DirEntry::wire_size`]).
pub const READDIR_ENTRY_BUDGET: usize = MAX_PAYLOAD_SIZE - size_of::<ReadDirReplyHead>();
/// `Header::flags` bit marking an error response.
pub const FLAG_ERROR: u16 = 1;

/// Operation codes, the `op` field of [`Header`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Op {
    /// Handshake: agree on the version and learn the root handle.
    Version = 1,
    /// Walk name components one at a time from a directory handle.
    Walk = 2,
    /// Stat a handle.
    Stat = 3,
    /// Open a regular file; the response donates the host fd.
    Open = 4,
    /// Read a batch of directory entries.
    ReadDir = 5,
    /// Read a symlink's target.
    ReadLink = 6,
    /// statfs of the filesystem holding a handle.
    StatFs = 7,
    /// Release handles.
    Close = 8,
    /// Open another channel sharing the same handles; the response donates it.
    NewChannel = 9,
    /// Create and open a regular file; the response donates the host fd.
    Create = 10,
    /// Make a directory.
    MkDir = 11,
    /// Make a FIFO, socket or empty regular file (never a device).
    MkNod = 12,
    /// Make a symbolic link.
    Symlink = 13,
    /// Make a hard link to a handle's file.
    Link = 14,
    /// Remove a name (a directory's with `AT_REMOVEDIR`).
    Unlink = 15,
    /// Rename, with `renameat2` flags.
    Rename = 16,
    /// Change mode, owner, size and times in one call.
    SetAttr = 17,
    /// Read one extended attribute.
    GetXattr = 18,
    /// List extended attribute names.
    ListXattr = 19,
    /// Set one extended attribute.
    SetXattr = 20,
    /// Remove one extended attribute.
    RemoveXattr = 21,
    /// Flush a file to stable storage.
    FSync = 22,
    /// fallocate on a file.
    Allocate = 23,
    /// A handle to the root of another tree the gofer serves (a bind mount).
    Attach = 24,
}

impl Op {
    /// Every operation, in code order.
    pub const ALL: [Op; 24] = [
        Op::Version,
        Op::Walk,
        Op::Stat,
        Op::Open,
        Op::ReadDir,
        Op::ReadLink,
        Op::StatFs,
        Op::Close,
        Op::NewChannel,
        Op::Create,
        Op::MkDir,
        Op::MkNod,
        Op::Symlink,
        Op::Link,
        Op::Unlink,
        Op::Rename,
        Op::SetAttr,
        Op::GetXattr,
        Op::ListXattr,
        Op::SetXattr,
        Op::RemoveXattr,
        Op::FSync,
        Op::Allocate,
        Op::Attach,
    ];

    /// The operation with wire code `raw`, if there is one.
    pub fn from_wire(raw: u16) -> Option<Op> {
        Op::ALL.into_iter().find(|op| *op as u16 == raw)
    }

    /// Whether a successful response to this operation carries exactly one fd.
    pub fn response_carries_fd(self) -> bool {
        matches!(self, Op::Open | Op::NewChannel | Op::Create)
    }

    /// Whether a successful response is [`Response::Created`].
    pub fn creates(self) -> bool {
        matches!(
            self,
            Op::Create | Op::MkDir | Op::MkNod | Op::Symlink | Op::Link | Op::Attach
        )
    }

    /// Whether a successful response is [`Response::Done`].
    pub fn is_done_only(self) -> bool {
        matches!(
            self,
            Op::Unlink | Op::Rename | Op::SetXattr | Op::RemoveXattr | Op::FSync | Op::Allocate
        )
    }

    /// Whether the operation changes the served tree (refused by a read-only server).
    pub fn modifies(self) -> bool {
        (self.creates() && self != Op::Attach)
            || self == Op::SetAttr
            || (self.is_done_only() && self != Op::FSync)
    }
}

/// `SetAttr::mask` bits: which fields of a [`SetAttr`] to apply.
pub mod setattr {
    /// Set the permission bits (`mode & 0o7777`).
    pub const MODE: u32 = 1;
    /// Set the owner.
    pub const UID: u32 = 2;
    /// Set the group.
    pub const GID: u32 = 4;
    /// Truncate or extend to `size`.
    pub const SIZE: u32 = 8;
    /// Set the access time (`atime_nsec` may be `UTIME_NOW`).
    pub const ATIME: u32 = 16;
    /// Set the modification time (`mtime_nsec` may be `UTIME_NOW`).
    pub const MTIME: u32 = 32;
    /// Every bit.
    pub const ALL: u32 = MODE | UID | GID | SIZE | ATIME | MTIME;
}

/// The attributes a `SetAttr` request changes, all in one call: the gofer applies them in
/// the order owner, mode, size, times (so a chown's clearing of set-id bits comes before
/// an explicit mode), as `chown`/`chmod`/`truncate`/`utimensat` would.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
#[allow(missing_docs)]
pub struct SetAttr {
    /// [`setattr`] bits.
    pub mask: u32,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub atime_sec: i64,
    pub atime_nsec: i64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
}

/// The fixed header that starts every message.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
pub struct Header {
    /// An [`Op`] code; a response echoes its request's.
    pub op: u16,
    /// 0 for requests and successes, [`FLAG_ERROR`] for error responses.
    pub flags: u16,
    /// Bytes following the header; must equal the rest of the datagram.
    pub payload_len: u32,
}

/// A gofer-side reference to one file (an `O_PATH` fd the gofer holds). Handles are never
/// reused within one server, so a stale handle is reliably `EBADF`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
)]
#[repr(transparent)]
pub struct Handle(pub u64);

/// File metadata, as the host's `struct stat` reports it. `btime` is zero when unknown.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
#[allow(missing_docs)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i64,
    pub blocks: i64,
    pub atime_sec: i64,
    pub atime_nsec: i64,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
    pub ctime_sec: i64,
    pub ctime_nsec: i64,
    pub btime_sec: i64,
    pub btime_nsec: i64,
}

impl Stat {
    /// The `S_IFMT` bits of `mode`.
    pub fn file_type(&self) -> u32 {
        self.mode & libc::S_IFMT
    }
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == libc::S_IFDIR
    }
    /// Whether this is a regular file.
    pub fn is_regular(&self) -> bool {
        self.file_type() == libc::S_IFREG
    }
    /// Whether this is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.file_type() == libc::S_IFLNK
    }
}

/// Filesystem statistics, as the host's `statfs`/`statvfs` report them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, FromBytes, IntoBytes, Immutable, KnownLayout,
)]
#[repr(C)]
#[allow(missing_docs)]
pub struct StatFs {
    pub fs_type: u64,
    pub bsize: u64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub namelen: u64,
    pub frsize: u64,
    pub flags: u64,
}

/// One directory entry of a `ReadDir` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// Inode number as the host reports it.
    pub ino: u64,
    /// The cookie to pass to `ReadDir` to continue after this entry.
    pub next_cookie: u64,
    /// `DT_*` type, `DT_UNKNOWN` (0) when the host does not say.
    pub d_type: u8,
    /// The entry's name.
    pub name: Vec<u8>,
}

impl DirEntry {
    /// Bytes an entry with a `name_len`-byte name takes in a `ReadDir` response.
    pub const fn wire_size(name_len: usize) -> usize {
        size_of::<DirentHead>() + name_len
    }
}

/// The answer to a `Walk`: the components walked, and why the walk stopped early if it did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WalkReply {
    /// One new handle per component walked, in order.
    pub walked: Vec<(Handle, Stat)>,
    /// 0 if every component was walked or the walk stopped after a symlink (the last
    /// entry); otherwise the errno of component number `walked.len()`.
    pub errno: i32,
}

/// The answer to a `ReadDir`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadDirReply {
    /// Entries in directory order, starting at the requested cookie.
    pub entries: Vec<DirEntry>,
    /// True when the directory has no entries after the last one returned.
    pub end: bool,
}

/// A decoded request. Names borrow from the datagram they were decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Request<'a> {
    Version {
        version: u32,
    },
    Walk {
        dir: Handle,
        names: Vec<&'a [u8]>,
    },
    Stat {
        handle: Handle,
    },
    Open {
        handle: Handle,
        flags: i32,
    },
    ReadDir {
        handle: Handle,
        cookie: u64,
    },
    ReadLink {
        handle: Handle,
    },
    StatFs {
        handle: Handle,
    },
    Close {
        handles: Vec<Handle>,
    },
    NewChannel,
    Create {
        dir: Handle,
        name: &'a [u8],
        flags: i32,
        mode: u32,
        uid: u32,
        gid: u32,
    },
    MkDir {
        dir: Handle,
        name: &'a [u8],
        mode: u32,
        uid: u32,
        gid: u32,
    },
    MkNod {
        dir: Handle,
        name: &'a [u8],
        mode: u32,
        rdev: u64,
        uid: u32,
        gid: u32,
    },
    Symlink {
        dir: Handle,
        name: &'a [u8],
        target: &'a [u8],
        uid: u32,
        gid: u32,
    },
    Link {
        dir: Handle,
        name: &'a [u8],
        target: Handle,
    },
    Unlink {
        dir: Handle,
        name: &'a [u8],
        flags: i32,
    },
    Rename {
        old_dir: Handle,
        old_name: &'a [u8],
        new_dir: Handle,
        new_name: &'a [u8],
        flags: u32,
    },
    SetAttr {
        handle: Handle,
        attr: SetAttr,
    },
    GetXattr {
        handle: Handle,
        name: &'a [u8],
        size: u32,
    },
    ListXattr {
        handle: Handle,
        size: u32,
    },
    SetXattr {
        handle: Handle,
        name: &'a [u8],
        value: &'a [u8],
        flags: i32,
    },
    RemoveXattr {
        handle: Handle,
        name: &'a [u8],
    },
    FSync {
        handle: Handle,
        datasync: bool,
    },
    Allocate {
        handle: Handle,
        mode: i32,
        offset: u64,
        len: u64,
    },
    Attach {
        index: u32,
    },
}

/// A decoded response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Response {
    Version {
        version: u32,
        root: Handle,
        root_stat: Stat,
    },
    Walk(WalkReply),
    Stat(Stat),
    Open,
    ReadDir(ReadDirReply),
    ReadLink(Vec<u8>),
    StatFs(StatFs),
    Close,
    NewChannel,
    /// A new file (Create, MkDir, MkNod, Symlink, Link) or an attached tree's root
    /// (Attach): its handle and stat.
    Created {
        op: Op,
        handle: Handle,
        stat: Stat,
    },
    /// SetAttr: the file's stat after the change.
    SetAttr(Stat),
    /// GetXattr, ListXattr: the value, or the NUL-separated names.
    Xattr {
        op: Op,
        data: Vec<u8>,
    },
    /// An operation with nothing to answer but success (Unlink, Rename, SetXattr,
    /// RemoveXattr, FSync, Allocate).
    Done {
        op: Op,
    },
    /// The request failed; `op` echoes the request's raw op code, even an unknown one.
    Error {
        op: u16,
        errno: i32,
    },
}

/// Why bytes could not be decoded as a message, or a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message of {len} bytes is shorter than the {HEADER_SIZE}-byte header")]
    ShortHeader { len: usize },
    #[error("header declares a {declared}-byte payload but {actual} bytes follow it")]
    LengthMismatch { declared: u32, actual: usize },
    #[error("message of {len} bytes exceeds the {MAX_MESSAGE_SIZE}-byte limit")]
    Oversize { len: usize },
    #[error("unknown op {0}")]
    UnknownOp(u16),
    #[error("op {op} with unexpected flags {flags:#x}")]
    BadFlags { op: u16, flags: u16 },
    #[error("payload ends inside the {0}")]
    Truncated(&'static str),
    #[error("{0} bytes left over after the payload")]
    TrailingBytes(usize),
    #[error("{count} {what} exceed the limit of {max}")]
    TooMany {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("name of {len} bytes cannot be encoded")]
    NameTooLong { len: usize },
    #[error("invalid errno {0}")]
    BadErrno(i32),
    #[error("invalid {what} {value}")]
    BadValue { what: &'static str, value: u64 },
}

/// Bytes a `len`-byte name takes in a `Walk` request.
pub const fn walk_name_wire_size(len: usize) -> usize {
    size_of::<u16>().saturating_add(len)
}

/// The raw op code of a message, if it is at least a header long. Lets a server echo the
/// op of a request it could not decode.
pub fn peek_op(msg: &[u8]) -> Option<u16> {
    Header::read_from_prefix(msg)
        .ok()
        .map(|(header, _)| header.op)
}
