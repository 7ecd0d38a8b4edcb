//! Encoding and decoding of [`Request`] and [`Response`] datagrams, and the private
//! fixed-layout parts of their payloads (the module documentation of [`super`] is their
//! contract).

use std::mem::size_of;

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{
    DirEntry, Handle, Header, Op, ReadDirReply, Request, Response, SetAttr, Stat, StatFs,
    WalkReply, WireError, FLAG_ERROR, HEADER_SIZE, MAX_CLOSE_HANDLES, MAX_MESSAGE_SIZE,
    MAX_WALK_NAMES, READDIR_ENTRY_BUDGET,
};

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct VersionArgs {
    version: u32,
    reserved: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct VersionReplyWire {
    version: u32,
    reserved: u32,
    root: Handle,
    root_stat: Stat,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct WalkArgs {
    dir: Handle,
    count: u32,
    reserved: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct OpenArgs {
    handle: Handle,
    flags: i32,
    reserved: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct ReadDirArgs {
    handle: Handle,
    cookie: u64,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct CloseArgs {
    count: u32,
    reserved: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct WalkReplyHead {
    errno: i32,
    count: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct WalkedWire {
    handle: Handle,
    stat: Stat,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct ReadDirReplyHead {
    count: u32,
    end: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct DirentHead {
    ino: u64,
    next_cookie: u64,
    name_len: u16,
    d_type: u8,
    reserved: [u8; 5],
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
pub(super) struct NodeArgs {
    dir: Handle,
    mode: u32,
    uid: u32,
    gid: u32,
    flags: i32,
    rdev: u64,
    name_len: u32,
    target_len: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct LinkArgs {
    dir: Handle,
    target: Handle,
    name_len: u32,
    reserved: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct UnlinkArgs {
    dir: Handle,
    flags: i32,
    name_len: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct RenameArgs {
    old_dir: Handle,
    new_dir: Handle,
    flags: u32,
    old_len: u32,
    new_len: u32,
    reserved: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct SetAttrArgs {
    handle: Handle,
    attr: SetAttr,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout, Default)]
#[repr(C)]
pub(super) struct XattrArgs {
    handle: Handle,
    flags: i32,
    size: u32,
    name_len: u32,
    value_len: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct FSyncArgs {
    handle: Handle,
    datasync: u32,
    reserved: u32,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct AllocateArgs {
    handle: Handle,
    mode: i32,
    reserved: u32,
    offset: u64,
    len: u64,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct CreatedWire {
    handle: Handle,
    stat: Stat,
}

#[derive(FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub(super) struct ErrorReply {
    errno: i32,
    reserved: u32,
}

impl Request<'_> {
    /// The operation this request performs.
    pub fn op(&self) -> Op {
        match self {
            Request::Version { .. } => Op::Version,
            Request::Walk { .. } => Op::Walk,
            Request::Stat { .. } => Op::Stat,
            Request::Open { .. } => Op::Open,
            Request::ReadDir { .. } => Op::ReadDir,
            Request::ReadLink { .. } => Op::ReadLink,
            Request::StatFs { .. } => Op::StatFs,
            Request::Close { .. } => Op::Close,
            Request::NewChannel => Op::NewChannel,
            Request::Create { .. } => Op::Create,
            Request::MkDir { .. } => Op::MkDir,
            Request::MkNod { .. } => Op::MkNod,
            Request::Symlink { .. } => Op::Symlink,
            Request::Link { .. } => Op::Link,
            Request::Unlink { .. } => Op::Unlink,
            Request::Rename { .. } => Op::Rename,
            Request::SetAttr { .. } => Op::SetAttr,
            Request::GetXattr { .. } => Op::GetXattr,
            Request::ListXattr { .. } => Op::ListXattr,
            Request::SetXattr { .. } => Op::SetXattr,
            Request::RemoveXattr { .. } => Op::RemoveXattr,
            Request::FSync { .. } => Op::FSync,
            Request::Allocate { .. } => Op::Allocate,
            Request::Attach { .. } => Op::Attach,
        }
    }

    /// Replaces the contents of `out` with this request's datagram.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        begin(out, self.op() as u16, 0);
        match self {
            Request::Version { version } => put(
                out,
                &VersionArgs {
                    version: *version,
                    reserved: 0,
                },
            ),
            Request::Walk { dir, names } => {
                let count = checked_count("walk names", names.len(), MAX_WALK_NAMES)?;
                put(
                    out,
                    &WalkArgs {
                        dir: *dir,
                        count,
                        reserved: 0,
                    },
                );
                for name in names {
                    let len = u16::try_from(name.len())
                        .map_err(|_| WireError::NameTooLong { len: name.len() })?;
                    put(out, &len);
                    out.extend_from_slice(name);
                }
            }
            Request::Stat { handle }
            | Request::ReadLink { handle }
            | Request::StatFs { handle } => put(out, handle),
            Request::Open { handle, flags } => put(
                out,
                &OpenArgs {
                    handle: *handle,
                    flags: *flags,
                    reserved: 0,
                },
            ),
            Request::ReadDir { handle, cookie } => put(
                out,
                &ReadDirArgs {
                    handle: *handle,
                    cookie: *cookie,
                },
            ),
            Request::Close { handles } => {
                let count = checked_count("handles", handles.len(), MAX_CLOSE_HANDLES)?;
                put(out, &CloseArgs { count, reserved: 0 });
                out.extend_from_slice(handles.as_bytes());
            }
            Request::NewChannel => {}
            Request::Create {
                dir,
                name,
                flags,
                mode,
                uid,
                gid,
            } => put_node(
                out,
                NodeArgs {
                    dir: *dir,
                    mode: *mode,
                    uid: *uid,
                    gid: *gid,
                    flags: *flags,
                    ..NodeArgs::default()
                },
                name,
                b"",
            )?,
            Request::MkDir {
                dir,
                name,
                mode,
                uid,
                gid,
            } => put_node(
                out,
                NodeArgs {
                    dir: *dir,
                    mode: *mode,
                    uid: *uid,
                    gid: *gid,
                    ..NodeArgs::default()
                },
                name,
                b"",
            )?,
            Request::MkNod {
                dir,
                name,
                mode,
                rdev,
                uid,
                gid,
            } => put_node(
                out,
                NodeArgs {
                    dir: *dir,
                    mode: *mode,
                    uid: *uid,
                    gid: *gid,
                    rdev: *rdev,
                    ..NodeArgs::default()
                },
                name,
                b"",
            )?,
            Request::Symlink {
                dir,
                name,
                target,
                uid,
                gid,
            } => put_node(
                out,
                NodeArgs {
                    dir: *dir,
                    uid: *uid,
                    gid: *gid,
                    ..NodeArgs::default()
                },
                name,
                target,
            )?,
            Request::Link { dir, name, target } => {
                put(
                    out,
                    &LinkArgs {
                        dir: *dir,
                        target: *target,
                        name_len: wire_len(name)?,
                        reserved: 0,
                    },
                );
                out.extend_from_slice(name);
            }
            Request::Unlink { dir, name, flags } => {
                put(
                    out,
                    &UnlinkArgs {
                        dir: *dir,
                        flags: *flags,
                        name_len: wire_len(name)?,
                    },
                );
                out.extend_from_slice(name);
            }
            Request::Rename {
                old_dir,
                old_name,
                new_dir,
                new_name,
                flags,
            } => {
                put(
                    out,
                    &RenameArgs {
                        old_dir: *old_dir,
                        new_dir: *new_dir,
                        flags: *flags,
                        old_len: wire_len(old_name)?,
                        new_len: wire_len(new_name)?,
                        reserved: 0,
                    },
                );
                out.extend_from_slice(old_name);
                out.extend_from_slice(new_name);
            }
            Request::SetAttr { handle, attr } => put(
                out,
                &SetAttrArgs {
                    handle: *handle,
                    attr: *attr,
                },
            ),
            Request::GetXattr { handle, name, size } => put_xattr(
                out,
                XattrArgs {
                    handle: *handle,
                    size: *size,
                    ..XattrArgs::default()
                },
                name,
                b"",
            )?,
            Request::ListXattr { handle, size } => put_xattr(
                out,
                XattrArgs {
                    handle: *handle,
                    size: *size,
                    ..XattrArgs::default()
                },
                b"",
                b"",
            )?,
            Request::SetXattr {
                handle,
                name,
                value,
                flags,
            } => put_xattr(
                out,
                XattrArgs {
                    handle: *handle,
                    flags: *flags,
                    ..XattrArgs::default()
                },
                name,
                value,
            )?,
            Request::RemoveXattr { handle, name } => put_xattr(
                out,
                XattrArgs {
                    handle: *handle,
                    ..XattrArgs::default()
                },
                name,
                b"",
            )?,
            Request::FSync { handle, datasync } => put(
                out,
                &FSyncArgs {
                    handle: *handle,
                    datasync: u32::from(*datasync),
                    reserved: 0,
                },
            ),
            Request::Allocate {
                handle,
                mode,
                offset,
                len,
            } => put(
                out,
                &AllocateArgs {
                    handle: *handle,
                    mode: *mode,
                    reserved: 0,
                    offset: *offset,
                    len: *len,
                },
            ),
            Request::Attach { index } => put(
                out,
                &VersionArgs {
                    version: *index,
                    reserved: 0,
                },
            ),
        }
        finish(out)
    }
}

impl<'a> Request<'a> {
    /// Decodes one request datagram.
    pub fn decode(msg: &'a [u8]) -> Result<Request<'a>, WireError> {
        let (header, payload) = split(msg)?;
        let op = Op::from_wire(header.op).ok_or(WireError::UnknownOp(header.op))?;
        if header.flags != 0 {
            return Err(WireError::BadFlags {
                op: header.op,
                flags: header.flags,
            });
        }
        let mut r = Reader(payload);
        let request = match op {
            Op::Version => Request::Version {
                version: r.take::<VersionArgs>("version arguments")?.version,
            },
            Op::Walk => {
                let args: WalkArgs = r.take("walk arguments")?;
                let count = bounded_count("walk names", args.count, MAX_WALK_NAMES)?;
                let mut names = Vec::with_capacity(count);
                for _ in 0..count {
                    let len: u16 = r.take("walk name length")?;
                    names.push(r.bytes(usize::from(len), "walk name")?);
                }
                Request::Walk {
                    dir: args.dir,
                    names,
                }
            }
            Op::Stat => Request::Stat {
                handle: r.take("handle")?,
            },
            Op::Open => {
                let args: OpenArgs = r.take("open arguments")?;
                Request::Open {
                    handle: args.handle,
                    flags: args.flags,
                }
            }
            Op::ReadDir => {
                let args: ReadDirArgs = r.take("readdir arguments")?;
                Request::ReadDir {
                    handle: args.handle,
                    cookie: args.cookie,
                }
            }
            Op::ReadLink => Request::ReadLink {
                handle: r.take("handle")?,
            },
            Op::StatFs => Request::StatFs {
                handle: r.take("handle")?,
            },
            Op::Close => {
                let args: CloseArgs = r.take("close arguments")?;
                let count = bounded_count("handles", args.count, MAX_CLOSE_HANDLES)?;
                let handles = (0..count)
                    .map(|_| r.take("handle"))
                    .collect::<Result<_, _>>()?;
                Request::Close { handles }
            }
            Op::NewChannel => Request::NewChannel,
            Op::Create | Op::MkDir | Op::MkNod | Op::Symlink => {
                let a: NodeArgs = r.take("node arguments")?;
                let name = r.bytes(a.name_len as usize, "name")?;
                let target = r.bytes(a.target_len as usize, "symlink target")?;
                if op != Op::Symlink && !target.is_empty() {
                    return Err(WireError::BadValue {
                        what: "target length",
                        value: target.len() as u64,
                    });
                }
                match op {
                    Op::Create => Request::Create {
                        dir: a.dir,
                        name,
                        flags: a.flags,
                        mode: a.mode,
                        uid: a.uid,
                        gid: a.gid,
                    },
                    Op::MkDir => Request::MkDir {
                        dir: a.dir,
                        name,
                        mode: a.mode,
                        uid: a.uid,
                        gid: a.gid,
                    },
                    Op::MkNod => Request::MkNod {
                        dir: a.dir,
                        name,
                        mode: a.mode,
                        rdev: a.rdev,
                        uid: a.uid,
                        gid: a.gid,
                    },
                    _ => Request::Symlink {
                        dir: a.dir,
                        name,
                        target,
                        uid: a.uid,
                        gid: a.gid,
                    },
                }
            }
            Op::Link => {
                let a: LinkArgs = r.take("link arguments")?;
                Request::Link {
                    dir: a.dir,
                    target: a.target,
                    name: r.bytes(a.name_len as usize, "name")?,
                }
            }
            Op::Unlink => {
                let a: UnlinkArgs = r.take("unlink arguments")?;
                Request::Unlink {
                    dir: a.dir,
                    flags: a.flags,
                    name: r.bytes(a.name_len as usize, "name")?,
                }
            }
            Op::Rename => {
                let a: RenameArgs = r.take("rename arguments")?;
                Request::Rename {
                    old_dir: a.old_dir,
                    new_dir: a.new_dir,
                    flags: a.flags,
                    old_name: r.bytes(a.old_len as usize, "old name")?,
                    new_name: r.bytes(a.new_len as usize, "new name")?,
                }
            }
            Op::SetAttr => {
                let a: SetAttrArgs = r.take("setattr arguments")?;
                Request::SetAttr {
                    handle: a.handle,
                    attr: a.attr,
                }
            }
            Op::GetXattr | Op::ListXattr | Op::SetXattr | Op::RemoveXattr => {
                let a: XattrArgs = r.take("xattr arguments")?;
                let name = r.bytes(a.name_len as usize, "xattr name")?;
                let value = r.bytes(a.value_len as usize, "xattr value")?;
                if op != Op::SetXattr && !value.is_empty() {
                    return Err(WireError::BadValue {
                        what: "xattr value length",
                        value: value.len() as u64,
                    });
                }
                match op {
                    Op::GetXattr => Request::GetXattr {
                        handle: a.handle,
                        name,
                        size: a.size,
                    },
                    Op::ListXattr => {
                        if !name.is_empty() {
                            return Err(WireError::BadValue {
                                what: "xattr name length",
                                value: name.len() as u64,
                            });
                        }
                        Request::ListXattr {
                            handle: a.handle,
                            size: a.size,
                        }
                    }
                    Op::SetXattr => Request::SetXattr {
                        handle: a.handle,
                        name,
                        value,
                        flags: a.flags,
                    },
                    _ => Request::RemoveXattr {
                        handle: a.handle,
                        name,
                    },
                }
            }
            Op::FSync => {
                let a: FSyncArgs = r.take("fsync arguments")?;
                let datasync = match a.datasync {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(WireError::BadValue {
                            what: "datasync flag",
                            value: other.into(),
                        })
                    }
                };
                Request::FSync {
                    handle: a.handle,
                    datasync,
                }
            }
            Op::Allocate => {
                let a: AllocateArgs = r.take("allocate arguments")?;
                Request::Allocate {
                    handle: a.handle,
                    mode: a.mode,
                    offset: a.offset,
                    len: a.len,
                }
            }
            Op::Attach => Request::Attach {
                // Same layout as Version's: one u32 and a reserved word.
                index: r.take::<VersionArgs>("attach arguments")?.version,
            },
        };
        r.finish()?;
        Ok(request)
    }
}

impl Response {
    /// The raw op code this response answers.
    pub fn op(&self) -> u16 {
        let op = match self {
            Response::Version { .. } => Op::Version,
            Response::Walk(_) => Op::Walk,
            Response::Stat(_) => Op::Stat,
            Response::Open => Op::Open,
            Response::ReadDir(_) => Op::ReadDir,
            Response::ReadLink(_) => Op::ReadLink,
            Response::StatFs(_) => Op::StatFs,
            Response::Close => Op::Close,
            Response::NewChannel => Op::NewChannel,
            Response::SetAttr(_) => Op::SetAttr,
            Response::Created { op, .. } | Response::Xattr { op, .. } | Response::Done { op } => {
                *op
            }
            Response::Error { op, .. } => return *op,
        };
        op as u16
    }

    /// Replaces the contents of `out` with this response's datagram.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let flags = if matches!(self, Response::Error { .. }) {
            FLAG_ERROR
        } else {
            0
        };
        begin(out, self.op(), flags);
        match self {
            Response::Version {
                version,
                root,
                root_stat,
            } => put(
                out,
                &VersionReplyWire {
                    version: *version,
                    reserved: 0,
                    root: *root,
                    root_stat: *root_stat,
                },
            ),
            Response::Walk(reply) => {
                let count = checked_count("walked components", reply.walked.len(), MAX_WALK_NAMES)?;
                put(
                    out,
                    &WalkReplyHead {
                        errno: reply.errno,
                        count,
                    },
                );
                for (handle, stat) in &reply.walked {
                    put(
                        out,
                        &WalkedWire {
                            handle: *handle,
                            stat: *stat,
                        },
                    );
                }
            }
            Response::Stat(stat) => put(out, stat),
            Response::ReadDir(reply) => {
                let count =
                    checked_count("directory entries", reply.entries.len(), u32::MAX as usize)?;
                put(
                    out,
                    &ReadDirReplyHead {
                        count,
                        end: u32::from(reply.end),
                    },
                );
                for entry in &reply.entries {
                    let name_len =
                        u16::try_from(entry.name.len()).map_err(|_| WireError::NameTooLong {
                            len: entry.name.len(),
                        })?;
                    let head = DirentHead {
                        ino: entry.ino,
                        next_cookie: entry.next_cookie,
                        name_len,
                        d_type: entry.d_type,
                        reserved: [0; 5],
                    };
                    put(out, &head);
                    out.extend_from_slice(&entry.name);
                }
            }
            Response::ReadLink(target) => out.extend_from_slice(target),
            Response::StatFs(statfs) => put(out, statfs),
            Response::Error { errno, .. } => put(
                out,
                &ErrorReply {
                    errno: *errno,
                    reserved: 0,
                },
            ),
            Response::Open | Response::Close | Response::NewChannel => {}
            Response::Created { op, handle, stat } => {
                if !op.creates() {
                    return Err(bad_op_for("created reply", *op));
                }
                put(
                    out,
                    &CreatedWire {
                        handle: *handle,
                        stat: *stat,
                    },
                );
            }
            Response::SetAttr(stat) => put(out, stat),
            Response::Xattr { op, data } => {
                if !matches!(op, Op::GetXattr | Op::ListXattr) {
                    return Err(bad_op_for("xattr reply", *op));
                }
                out.extend_from_slice(data);
            }
            Response::Done { op } => {
                if !op.is_done_only() {
                    return Err(bad_op_for("empty reply", *op));
                }
            }
        }
        finish(out)
    }

    /// Decodes one response datagram.
    pub fn decode(msg: &[u8]) -> Result<Response, WireError> {
        let (header, payload) = split(msg)?;
        let mut r = Reader(payload);
        if header.flags == FLAG_ERROR {
            let errno = r.take::<ErrorReply>("error reply")?.errno;
            r.finish()?;
            if errno <= 0 {
                return Err(WireError::BadErrno(errno));
            }
            return Ok(Response::Error {
                op: header.op,
                errno,
            });
        }
        let op = Op::from_wire(header.op).ok_or(WireError::UnknownOp(header.op))?;
        if header.flags != 0 {
            return Err(WireError::BadFlags {
                op: header.op,
                flags: header.flags,
            });
        }
        let response = match op {
            Op::Version => {
                let wire: VersionReplyWire = r.take("version reply")?;
                Response::Version {
                    version: wire.version,
                    root: wire.root,
                    root_stat: wire.root_stat,
                }
            }
            Op::Walk => {
                let head: WalkReplyHead = r.take("walk reply")?;
                if head.errno < 0 {
                    return Err(WireError::BadErrno(head.errno));
                }
                let count = bounded_count("walked components", head.count, MAX_WALK_NAMES)?;
                let walked = (0..count)
                    .map(|_| {
                        r.take::<WalkedWire>("walked component")
                            .map(|w| (w.handle, w.stat))
                    })
                    .collect::<Result<_, _>>()?;
                Response::Walk(WalkReply {
                    walked,
                    errno: head.errno,
                })
            }
            Op::Stat => Response::Stat(r.take("stat")?),
            Op::Open => Response::Open,
            Op::ReadDir => {
                let head: ReadDirReplyHead = r.take("readdir reply")?;
                let max_entries = READDIR_ENTRY_BUDGET / DirEntry::wire_size(0);
                let count = bounded_count("directory entries", head.count, max_entries)?;
                let end = match head.end {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(WireError::BadValue {
                            what: "end flag",
                            value: other.into(),
                        })
                    }
                };
                let mut entries = Vec::with_capacity(count);
                for _ in 0..count {
                    let d: DirentHead = r.take("directory entry")?;
                    let name = r
                        .bytes(usize::from(d.name_len), "directory entry name")?
                        .to_vec();
                    entries.push(DirEntry {
                        ino: d.ino,
                        next_cookie: d.next_cookie,
                        d_type: d.d_type,
                        name,
                    });
                }
                Response::ReadDir(ReadDirReply { entries, end })
            }
            Op::ReadLink => Response::ReadLink(r.rest().to_vec()),
            Op::StatFs => Response::StatFs(r.take("statfs")?),
            Op::Close => Response::Close,
            Op::NewChannel => Response::NewChannel,
            Op::Create | Op::MkDir | Op::MkNod | Op::Symlink | Op::Link | Op::Attach => {
                let w: CreatedWire = r.take("created reply")?;
                Response::Created {
                    op,
                    handle: w.handle,
                    stat: w.stat,
                }
            }
            Op::SetAttr => Response::SetAttr(r.take("stat")?),
            Op::GetXattr | Op::ListXattr => Response::Xattr {
                op,
                data: r.rest().to_vec(),
            },
            Op::Unlink | Op::Rename | Op::SetXattr | Op::RemoveXattr | Op::FSync | Op::Allocate => {
                Response::Done { op }
            }
        };
        r.finish()?;
        Ok(response)
    }
}

/// Starts a message in `out` with a placeholder header.
fn begin(out: &mut Vec<u8>, op: u16, flags: u16) {
    out.clear();
    out.extend_from_slice(
        Header {
            op,
            flags,
            payload_len: 0,
        }
        .as_bytes(),
    );
}

/// Checks the size of the message in `out` and fills in its `payload_len`.
fn finish(out: &mut [u8]) -> Result<(), WireError> {
    if out.len() > MAX_MESSAGE_SIZE {
        return Err(WireError::Oversize { len: out.len() });
    }
    let (mut header, _) =
        Header::read_from_prefix(out).map_err(|_| WireError::ShortHeader { len: out.len() })?;
    header.payload_len = u32::try_from(out.len() - HEADER_SIZE)
        .map_err(|_| WireError::Oversize { len: out.len() })?;
    out[..HEADER_SIZE].copy_from_slice(header.as_bytes());
    Ok(())
}

fn bad_op_for(what: &'static str, op: Op) -> WireError {
    WireError::BadValue {
        what,
        value: op as u64,
    }
}

/// A name's length as a wire `u32` (the message size limit catches long ones later).
fn wire_len(bytes: &[u8]) -> Result<u32, WireError> {
    u32::try_from(bytes.len()).map_err(|_| WireError::Oversize { len: bytes.len() })
}

fn put_node(
    out: &mut Vec<u8>,
    mut args: NodeArgs,
    name: &[u8],
    target: &[u8],
) -> Result<(), WireError> {
    args.name_len = wire_len(name)?;
    args.target_len = wire_len(target)?;
    put(out, &args);
    out.extend_from_slice(name);
    out.extend_from_slice(target);
    Ok(())
}

fn put_xattr(
    out: &mut Vec<u8>,
    mut args: XattrArgs,
    name: &[u8],
    value: &[u8],
) -> Result<(), WireError> {
    args.name_len = wire_len(name)?;
    args.value_len = wire_len(value)?;
    put(out, &args);
    out.extend_from_slice(name);
    out.extend_from_slice(value);
    Ok(())
}

fn put<T: IntoBytes + Immutable>(out: &mut Vec<u8>, value: &T) {
    out.extend_from_slice(value.as_bytes());
}

/// A count about to be encoded, checked against its limit.
fn checked_count(what: &'static str, count: usize, max: usize) -> Result<u32, WireError> {
    if count > max {
        return Err(WireError::TooMany { what, count, max });
    }
    u32::try_from(count).map_err(|_| WireError::TooMany { what, count, max })
}

/// A decoded count, checked against its limit before anything is allocated for it.
fn bounded_count(what: &'static str, count: u32, max: usize) -> Result<usize, WireError> {
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > max {
        return Err(WireError::TooMany { what, count, max });
    }
    Ok(count)
}

/// Splits a datagram into its header and payload, checking the sizes.
fn split(msg: &[u8]) -> Result<(Header, &[u8]), WireError> {
    if msg.len() > MAX_MESSAGE_SIZE {
        return Err(WireError::Oversize { len: msg.len() });
    }
    let (header, payload) =
        Header::read_from_prefix(msg).map_err(|_| WireError::ShortHeader { len: msg.len() })?;
    if usize::try_from(header.payload_len).ok() != Some(payload.len()) {
        return Err(WireError::LengthMismatch {
            declared: header.payload_len,
            actual: payload.len(),
        });
    }
    Ok((header, payload))
}

/// A cursor over a payload; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<T: FromBytes>(&mut self, what: &'static str) -> Result<T, WireError> {
        let (value, rest) = T::read_from_prefix(self.0).map_err(|_| WireError::Truncated(what))?;
        self.0 = rest;
        Ok(value)
    }

    fn bytes(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if len > self.0.len() {
            return Err(WireError::Truncated(what));
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(bytes)
    }

    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }

    fn finish(self) -> Result<(), WireError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(WireError::TrailingBytes(n)),
        }
    }
}
// The layouts above are part of the protocol; changing one is a version bump.
const _: () = assert!(size_of::<Header>() == 8);
const _: () = assert!(size_of::<Stat>() == 128);
const _: () = assert!(size_of::<StatFs>() == 80);
const _: () = assert!(size_of::<DirentHead>() == 24);
const _: () = assert!(size_of::<VersionReplyWire>() == 144);
const _: () = assert!(size_of::<WalkedWire>() == 136);
const _: () = assert!(size_of::<NodeArgs>() == 40);
const _: () = assert!(size_of::<SetAttr>() == 56);
const _: () = assert!(size_of::<XattrArgs>() == 24);
const _: () = assert!(size_of::<RenameArgs>() == 32);
const _: () = assert!(size_of::<CreatedWire>() == 136);
