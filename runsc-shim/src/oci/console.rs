//! `--console-socket`: the container's terminal is a new host pseudo-terminal whose
//! master goes to the caller's unix socket (SCM_RIGHTS, with the pty's name as the
//! data, as runc sends it) and whose slave is the process's stdin, stdout and stderr.
//! The sentry makes the slave its own controlling terminal and the sandbox process's
//! (see `boot_cmd`), so the host line discipline's signals (^C, window changes) reach
//! the sentry, which hands them to the sandbox's foreground job.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Opens a pseudo-terminal (`size` rows and columns: an OCI process's consoleSize),
/// sends its master to `socket`, and returns the slave.
pub fn open_and_send(socket: &Path, size: Option<(u16, u16)>) -> Result<OwnedFd, String> {
    let winsize = size.map(|(rows, cols)| nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    let pty =
        nix::pty::openpty(winsize.as_ref(), None).map_err(|e| format!("cannot open a pty: {e}"))?;
    let name = std::fs::read_link(format!(
        "/proc/self/fd/{}",
        std::os::fd::AsRawFd::as_raw_fd(&pty.slave)
    ))
    .map_err(|e| format!("cannot name the pty: {e}"))?;
    let sock = UnixStream::connect(socket)
        .map_err(|e| format!("--console-socket {}: {e}", socket.display()))?;
    crate::fds::send_with_fds(
        &sock,
        std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str()),
        &[pty.master.as_fd()],
    )
    .map_err(|e| format!("--console-socket {}: {e}", socket.display()))?;
    Ok(pty.slave)
}
