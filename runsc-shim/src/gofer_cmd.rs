//! `moat gofer`: serves the sandbox's root filesystem to the sentry.

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
    // Before anything else: the gofer's own namespaces, the served tree as its root and
    // only the capabilities it needs.
    let confined = match crate::jail::gofer_ns::enter(&args.root, args.writable) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "moat gofer: cannot confine the gofer to {}: {e}",
                args.root.display()
            );
            return 1;
        }
    };
    // A credential change may have cleared the parent-death signal: arm it again.
    if !crate::fds::die_with_parent() {
        return 125;
    }
    let config = gofer::ServerConfig {
        read_only: !args.writable,
        proc_self_fd: Some(confined.proc_self_fd),
        ..Default::default()
    };
    if let Err(e) = crate::jail::gofer::install(args.writable) {
        eprintln!("moat gofer: cannot install the gofer's seccomp filter: {e}");
        return 1;
    }
    let root = confined.root;
    match gofer::serve(root, sock, config) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("gofer: {e}");
            1
        }
    }
}
