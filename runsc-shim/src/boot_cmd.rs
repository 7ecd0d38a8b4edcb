//! `moat boot`: the sentry. Reads its configuration from the fd `moat do` passed, boots
//! the sandbox kernel and exits with the sandboxed program's status.

use std::io::Read;
use std::os::fd::AsFd;

use sentry::boot::BootConfig;

use crate::cli::BootArgs;

/// Runs the sentry; returns the exit code for the process.
pub fn run(args: BootArgs) -> i32 {
    crate::logging::init("boot", args.log_fd);
    if !crate::fds::die_with_parent() {
        eprintln!("moat boot: the moat process that started this one is gone");
        return 125;
    }
    let Some(config_fd) = crate::fds::adopt(args.config_fd) else {
        eprintln!(
            "moat boot: --config-fd {} is not an open descriptor",
            args.config_fd
        );
        return 125;
    };
    let mut json = Vec::new();
    if let Err(e) = std::fs::File::from(config_fd).read_to_end(&mut json) {
        eprintln!("moat boot: cannot read the boot configuration: {e}");
        return 125;
    }
    let config: BootConfig = match serde_json::from_slice(&json) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("moat boot: bad boot configuration: {e}");
            return 125;
        }
    };
    // Before any thread starts, so that all inherit the mask: the terminal's signals
    // wait for the forwarder instead of acting on the sentry.
    let terminal_signals = config.tty.then(terminal_signal_set);
    if let Some(set) = &terminal_signals {
        if let Err(e) = set.thread_block() {
            eprintln!("moat boot: cannot block the terminal's signals: {e}");
            return 125;
        }
    }
    let Some(gofer) = crate::fds::adopt(args.gofer_fd) else {
        eprintln!(
            "moat boot: --gofer-fd {} is not an open descriptor",
            args.gofer_fd
        );
        return 125;
    };
    let control = match args.control_fd.map(crate::fds::adopt) {
        None => None,
        Some(Some(fd)) => Some(std::fs::File::from(fd)),
        Some(None) => {
            eprintln!("moat boot: --control-fd is not an open descriptor");
            return 125;
        }
    };
    // The sentry's own copies of the caller's stdio become the guest's fds 0, 1 and 2.
    let dup = |fd: std::os::fd::BorrowedFd<'_>| fd.try_clone_to_owned().ok();
    if config.tty && nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
        if let Err(e) = crate::fds::take_terminal(std::io::stdin().as_fd()) {
            eprintln!("moat boot: cannot take the terminal: {e}");
            return 125;
        }
    }
    // The vDSO's clock needs to know the host's TSC, from files the empty root hides.
    let host_tsc = sentry::kernel::vdso::probe_host_tsc();
    // Before anything else: the sentry's own namespaces and an empty root.
    if let Err(e) = crate::jail::sentry_ns::enter(config.netns.as_deref()) {
        eprintln!("moat boot: cannot confine the sentry: {e}");
        return 125;
    }
    // Changing credentials cleared the parent-death signal: arm it again.
    if !crate::fds::die_with_parent() {
        return 125;
    }
    let stdio = vec![
        dup(std::io::stdin().as_fd()),
        dup(std::io::stdout().as_fd()),
        dup(std::io::stderr().as_fd()),
    ];
    let syscalls = moat_syscalls::Linux64::new();
    let sandbox = match sentry::boot::prepare(config, gofer, stdio, syscalls, host_tsc) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("moat: {e}");
            return e.exit_code();
        }
    };
    if let (Some(set), Some(tty)) = (terminal_signals, sandbox.terminal()) {
        if let Err(e) = std::thread::Builder::new()
            .name("tty-signals".to_string())
            .spawn(move || forward_terminal_signals(set, tty))
        {
            eprintln!("moat boot: cannot start the terminal signal forwarder: {e}");
            return 125;
        }
    }
    // From here on the sentry needs no new host resources: confine it.
    if let Err(e) = crate::jail::sentry::install() {
        eprintln!("moat boot: cannot install the sentry's seccomp filter: {e}");
        return 125;
    }
    let sandbox = match sandbox.load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("moat: {e}");
            return e.exit_code();
        }
    };
    if let Some(control) = control {
        match wait_for_start(control, sandbox.signals()) {
            Ok(true) => {}
            // The container was deleted before it started.
            Ok(false) => return 0,
            Err(e) => {
                eprintln!("moat boot: control channel: {e}");
                return 125;
            }
        }
    }
    match sandbox.run() {
        Ok(status) => {
            tracing::debug!(?status, "sandbox exited");
            status.shell_code()
        }
        Err(e) => {
            eprintln!("moat: {e}");
            e.exit_code()
        }
    }
}

/// The OCI runtime's control channel (a stream socket to `moat`'s container monitor):
/// the sentry says `R` once the sandbox is ready, waits for `S` (start), and from then on
/// a thread serves the monitor's requests: `K` or `A` (a signal to init / to every
/// process) followed by the signal number as a little-endian i32, and `P` (the process
/// list), answered with a little-endian u32 length and that much JSON, `Z` and `U`
/// (pause and resume, answered `1`, or `0` for a pause some threads have not reached
/// yet), `T` (resource use, answered as `P` is), and `E` (an
/// exec: see `oci::exec`), which carries four fds and is followed by a little-endian u32
/// length and that much JSON. Returns false if the monitor went away before starting
/// the container.
fn wait_for_start(
    mut control: std::fs::File,
    signals: sentry::boot::OutsideSignals,
) -> std::io::Result<bool> {
    use std::io::Write;
    control.write_all(b"R")?;
    let mut start = [0u8; 1];
    match control.read(&mut start)? {
        0 => return Ok(false),
        _ if start[0] == b'S' => {}
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "expected the start message",
            ))
        }
    }
    std::thread::Builder::new()
        .name("outside-signals".into())
        .spawn(move || {
            let mut op = [0u8; 1];
            // Each op byte is read with any fds sent along with it.
            while let Ok((1, fds)) = crate::fds::recv_with_fds(&control, &mut op) {
                let all = match op[0] {
                    b'K' => false,
                    b'A' => true,
                    b'P' => {
                        let json = serde_json::to_vec(&signals.processes()).unwrap_or_default();
                        let mut reply = (json.len() as u32).to_le_bytes().to_vec();
                        reply.extend_from_slice(&json);
                        if control.write_all(&reply).is_err() {
                            break;
                        }
                        continue;
                    }
                    b'Z' | b'U' | b'T' => {
                        let reply = match op[0] {
                            b'Z' => vec![if signals.pause() { b'1' } else { b'0' }],
                            b'U' => {
                                signals.resume();
                                vec![b'1']
                            }
                            _ => {
                                let json = serde_json::to_vec(&signals.stats()).unwrap_or_default();
                                let mut r = (json.len() as u32).to_le_bytes().to_vec();
                                r.extend_from_slice(&json);
                                r
                            }
                        };
                        if control.write_all(&reply).is_err() {
                            break;
                        }
                        continue;
                    }
                    b'E' => {
                        let mut len = [0u8; 4];
                        if control.read_exact(&mut len).is_err() {
                            break;
                        }
                        let len = u32::from_le_bytes(len) as usize;
                        if len > 1 << 20 {
                            tracing::warn!(len, "exec request too long");
                            break;
                        }
                        let mut json = vec![0u8; len];
                        if control.read_exact(&mut json).is_err() {
                            break;
                        }
                        match serde_json::from_slice(&json) {
                            Ok(spec) => crate::oci::exec::serve(&signals, spec, fds),
                            Err(e) => tracing::warn!(%e, "bad exec request"),
                        }
                        continue;
                    }
                    other => {
                        tracing::warn!(other, "unknown control message");
                        break;
                    }
                };
                let mut sig = [0u8; 4];
                if control.read_exact(&mut sig).is_err() {
                    break;
                }
                let signo = i32::from_le_bytes(sig);
                if let Err(e) = signals.send(signo, all) {
                    tracing::debug!(signo, %e, "an outside signal found no target");
                }
            }
        })?;
    Ok(true)
}

/// What the host terminal's line discipline sends moat's processes: keys (^C, ^\\, ^Z),
/// window-size changes and hangup.
fn terminal_signal_set() -> nix::sys::signal::SigSet {
    use nix::sys::signal::{SigSet, Signal};
    let mut set = SigSet::empty();
    for sig in [
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTSTP,
        Signal::SIGWINCH,
    ] {
        set.add(sig);
    }
    set
}

/// Hands each terminal signal the sentry receives to the sandbox's foreground job.
fn forward_terminal_signals(
    set: nix::sys::signal::SigSet,
    tty: std::sync::Arc<sentry::fs::tty::Tty>,
) {
    loop {
        match set.wait() {
            Ok(sig) => tty.signal_foreground(sig as i32),
            Err(e) => {
                tracing::warn!("waiting for terminal signals: {e}");
                return;
            }
        }
    }
}
