//! `moat gofer`: serves the sandbox's root filesystem to the sentry.

use std::os::fd::OwnedFd;

use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

use crate::cli::GoferArgs;

/// Runs the gofer until the sentry closes its channel.
pub fn run(args: GoferArgs) -> i32 {
    crate::logging::init("gofer", args.log_fd);
    if !crate::fds::die_with_parent() {
        eprintln!("moat gofer: the moat process that started this one is gone");
        return 125;
    }
    let Some(sock) = crate::fds::adopt(args.sock_fd) else {
        eprintln!(
            "moat gofer: --sock-fd {} is not an open descriptor",
            args.sock_fd
        );
        return 2;
    };
    let root: OwnedFd = match open(
        &args.root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("moat gofer: cannot open root {}: {e}", args.root.display());
            return 1;
        }
    };
    let config = gofer::ServerConfig {
        read_only: !args.writable,
        ..Default::default()
    };
    match gofer::serve(root, sock, config) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("gofer: {e}");
            1
        }
    }
}
