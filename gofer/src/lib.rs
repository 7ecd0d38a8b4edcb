//! moat's gofer: the file server that owns a container's root filesystem, and the wire
//! protocol the sentry uses to talk to it.
//!
//! The sentry never opens a host path. It holds [`Handle`]s — references to files the
//! gofer keeps open as `O_PATH` descriptors — and asks the gofer, over a unix socket, to
//! walk names, stat, list directories, read symlinks and open files; an opened file's host
//! descriptor is donated to the sentry so reads, writes and mmap go straight to the host.
//!
//! - [`protocol`]: the message formats, pure encode/decode (version [`PROTOCOL_VERSION`]).
//! - [`server`]: [`serve`], run by the confined gofer process.
//! - [`client`]: [`Client`], used by the sentry.
#![deny(unsafe_code)]

pub mod client;
mod error;
pub mod protocol;
pub mod server;
mod sys;
mod transport;

pub use client::Client;
pub use error::Error;
pub use protocol::{
    setattr, DirEntry, Handle, ReadDirReply, SetAttr, Stat, StatFs, WalkReply, PROTOCOL_VERSION,
};
pub use server::{serve, ServerConfig};
