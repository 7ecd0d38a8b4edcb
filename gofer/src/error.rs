//! The error type shared by the client and the server.

use crate::protocol::WireError;

/// What went wrong talking to (or serving) the gofer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gofer answered the request with this errno; the channel is still good.
    #[error("gofer answered errno {0} ({desc})", desc = nix::errno::Errno::from_raw(*.0).desc())]
    Errno(i32),
    /// The peer sent something the protocol does not allow (a malformed or mismatched
    /// message, a missing or unexpected fd, a version mismatch).
    #[error("gofer protocol error: {0}")]
    Protocol(String),
    /// The channel itself failed (the peer went away, a socket call failed).
    #[error("gofer channel I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The errno to report for this error to a guest: the gofer's own answer for
    /// [`Error::Errno`], `EIO` for anything else.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Errno(errno) => *errno,
            Error::Protocol(_) | Error::Io(_) => libc::EIO,
        }
    }
}

impl From<WireError> for Error {
    fn from(err: WireError) -> Self {
        Error::Protocol(err.to_string())
    }
}

impl From<nix::errno::Errno> for Error {
    fn from(errno: nix::errno::Errno) -> Self {
        Error::Io(errno.into())
    }
}
