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
    let mut extra = Vec::new();
    for b in &args.bind {
        let (writable, source) = match b.split_at_checked(3) {
            Some(("ro:", p)) => (false, p),
            Some(("rw:", p)) => (true, p),
            _ => {
                eprintln!("moat gofer: --bind {b:?}: expected ro:PATH or rw:PATH");
                return 2;
            }
        };
        extra.push(crate::jail::gofer_ns::ExtraTree {
            source: std::path::Path::new(source),
            writable,
        });
    }
    let any_writable = args.writable || extra.iter().any(|t| t.writable);
    let confined = match crate::jail::gofer_ns::enter(&args.root, args.writable, &extra) {
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
    // Each mount is read-only in the gofer's namespace unless its tree is writable; the
    // server refuses changes only when no tree is.
    let config = gofer::ServerConfig {
        read_only: !any_writable,
        proc_self_fd: Some(confined.proc_self_fd),
        extra_roots: confined.extra_roots,
        ..Default::default()
    };
    if let Err(e) = crate::jail::gofer::install(any_writable) {
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
