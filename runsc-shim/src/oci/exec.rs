//! `moat exec`: starts another process in a running container.
//!
//! The caller makes a socket pair for the new process and sends one end, with the
//! stdio the process gets, to the container's monitor (on `control.sock`, SCM_RIGHTS);
//! the monitor hands them to the sentry over its control channel, and the sentry starts
//! the process and talks to the caller directly on that socket: one JSON line when the
//! process started (its pid in the sandbox) or failed to, one when it exited (its exit
//! code). The caller writes the signals it receives to the socket (a little-endian i32
//! each) and the sentry delivers them to the process (or, for the keys of its terminal,
//! to the terminal's foreground job). The caller — `moat exec`, or with `--detach` the
//! same exec run again in a background process whose pid goes to `--pid-file` — exits
//! with the process's status, as runc's exec does. With `--console-socket`, the caller
//! makes the new terminal its controlling terminal, so its keys signal the caller, which
//! passes them on.

use std::io::{BufRead, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;

use nix::sys::signal::{SigSet, Signal};
use sentry::boot::{OutsideSignals, ProcessSpec};
use serde::{Deserialize, Serialize};

use super::monitor::{self, Request};
use super::state::{self, Status};
use super::Outcome;
use crate::cli::{Cli, ExecArgs};

/// What the sentry reports on an exec's socket, one JSON line each.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// The process runs, as `pid` in the sandbox.
    Started {
        /// Its pid in the sandbox.
        pid: i32,
    },
    /// It could not be started.
    Failed {
        /// Why.
        error: String,
    },
    /// It exited: its exit code (128+N for signal N).
    Exited {
        /// The code.
        code: i32,
    },
}

/// Signals `moat exec` passes on to the process.
const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTSTP,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGALRM,
];

/// `moat exec`.
pub fn exec(cli: &Cli, args: &ExecArgs) -> Outcome {
    super::check_id(&args.id)?;
    let record = state::load(&cli.root, &args.id)?;
    if record.current_status() != Status::Running {
        return Err(format!(
            "cannot exec in container {}: it is {}",
            args.id,
            record.current_status().name()
        ));
    }
    let dir = state::dir(&cli.root, &args.id);
    let spec = process_spec(&dir, args)?;
    if args.preserve_fds > 0 {
        return Err("--preserve-fds: passing extra fds is not supported".into());
    }
    if spec.terminal && args.console_socket.is_none() && args.detach {
        return Err("--tty with --detach needs --console-socket".into());
    }
    if args.detach && args.started_fd.is_none() {
        return detach(args);
    }
    // The process's stdio: a new terminal (its master goes to the console socket), or
    // ours.
    let stdio: Vec<OwnedFd> = match (&args.console_socket, spec.terminal) {
        (Some(sock), true) => {
            let slave = super::console::open_and_send(sock, console_size(args))?;
            // Its keys (^C, ^Z, ^\\) and window changes signal our process group: we
            // pass them on to the process's foreground job. (Not possible when we lead
            // a process group already: then the terminal sends no signals.)
            if let Err(e) = crate::fds::take_terminal(slave.as_fd()) {
                tracing::debug!(%e, "cannot take the exec's terminal");
            }
            let dup = |f: &OwnedFd| f.try_clone().map_err(|e| e.to_string());
            vec![dup(&slave)?, dup(&slave)?, slave]
        }
        _ => [
            std::io::stdin().as_fd().try_clone_to_owned(),
            std::io::stdout().as_fd().try_clone_to_owned(),
            std::io::stderr().as_fd().try_clone_to_owned(),
        ]
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("stdio: {e}"))?,
    };
    // Before any thread exists, so that all inherit the mask: forwarded signals wait
    // for the forwarder.
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(*s);
    }
    set.thread_block()
        .map_err(|e| format!("cannot block signals: {e}"))?;
    let (ours, theirs) = UnixStream::pair().map_err(|e| format!("exec socket: {e}"))?;
    let mut fds = vec![theirs.as_fd()];
    fds.extend(stdio.iter().map(AsFd::as_fd));
    monitor::ask_with_fds(
        &dir,
        &Request::Exec {
            process: Box::new(spec),
        },
        &fds,
    )?;
    drop(theirs);
    drop(stdio);
    let mut events = std::io::BufReader::new(ours.try_clone().map_err(|e| e.to_string())?);
    let started = match next_event(&mut events)? {
        Some(Event::Started { .. }) => Ok(()),
        Some(Event::Failed { error }) => Err(format!("exec failed: {error}")),
        other => Err(format!("exec: unexpected answer {other:?}")),
    };
    if let Some(fd) = args.started_fd {
        // We are the waiter of a `--detach`ed exec: tell the caller how it went.
        if let Some(fd) = crate::fds::adopt(fd) {
            let msg = match &started {
                Ok(()) => "ok".to_string(),
                Err(e) => e.clone(),
            };
            let _ = std::fs::File::from(fd).write_all(msg.as_bytes());
        }
    }
    started?;
    if let Some(p) = &args.pid_file {
        if args.started_fd.is_none() {
            super::write_pid_file(p, std::process::id() as i32)?;
        }
    }
    Ok(wait(ours, events, set))
}

/// `--detach`: runs this same exec in a process of our own, in the background, which
/// stays to wait for the exec'd process (forwarding signals, taking its terminal's
/// keys) and exits with its status; returns once it has started, with that waiter's
/// pid in `--pid-file`.
fn detach(args: &ExecArgs) -> Outcome {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e.to_string())?;
    let fd = crate::fds::inheritable(&w).map_err(|e| e.to_string())?;
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let at = argv
        .iter()
        .position(|a| a == "exec")
        .ok_or("cannot find the exec subcommand in the arguments")?;
    argv.insert(at + 1, format!("--started-fd={fd}").into());
    let exe = crate::do_cmd::self_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(&argv);
    if args.console_socket.is_some() {
        // The process's stdio is its terminal: the waiter must not keep ours open
        // (engines read exec's output through pipes until they close).
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the exec waiter: {e}"))?;
    drop(w);
    let mut answer = String::new();
    let _ = std::fs::File::from(r).read_to_string(&mut answer);
    if answer != "ok" {
        let _ = child.wait();
        return Err(if answer.is_empty() {
            "the exec waiter failed".into()
        } else {
            answer
        });
    }
    let pid = child.id() as i32;
    // The waiter lives on; whoever reaps our orphans (the engine, a subreaper) gets
    // its status.
    std::mem::forget(child);
    if let Some(p) = &args.pid_file {
        super::write_pid_file(p, pid)?;
    }
    Ok(0)
}

/// `--process FILE`'s consoleSize, if any.
fn console_size(args: &ExecArgs) -> Option<(u16, u16)> {
    let text = std::fs::read(args.process.as_ref()?).ok()?;
    let process: oci_spec::runtime::Process = serde_json::from_slice(&text).ok()?;
    super::bundle::console_size(&process)
}

/// The process `moat exec` starts, from the container's own process (its env, user,
/// cwd, limits), `--process FILE` replacing it, and the flags on top.
fn process_spec(dir: &std::path::Path, args: &ExecArgs) -> Result<ProcessSpec, String> {
    let mut spec = match &args.process {
        Some(file) => {
            let text = std::fs::read(file).map_err(|e| format!("--process {file:?}: {e}"))?;
            let process: oci_spec::runtime::Process =
                serde_json::from_slice(&text).map_err(|e| format!("--process {file:?}: {e}"))?;
            let mut spec = super::bundle::process_spec(&process)
                .map_err(|e| format!("--process {file:?}: {e}"))?;
            // The container's seccomp profile binds every process in it.
            spec.seccomp = load_plan(dir)?.boot.seccomp;
            spec
        }
        None => {
            let mut spec = load_plan(dir)?.boot.init_process();
            if args.command.is_empty() {
                return Err("exec: no command given (and no --process)".into());
            }
            spec.argv = args
                .command
                .iter()
                .map(|a| std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str()).to_vec())
                .collect();
            spec.terminal = false;
            spec
        }
    };
    if let Some(cwd) = &args.cwd {
        if !cwd.is_absolute() {
            return Err(format!("--cwd {}: not absolute", cwd.display()));
        }
        spec.cwd = std::os::unix::ffi::OsStrExt::as_bytes(cwd.as_os_str()).to_vec();
    }
    for kv in &args.env {
        let Some((key, _)) = kv.split_once('=') else {
            return Err(format!("--env {kv:?}: expected KEY=VALUE"));
        };
        let prefix = format!("{key}=");
        spec.env.retain(|e| !e.starts_with(prefix.as_bytes()));
        spec.env.push(kv.as_bytes().to_vec());
    }
    if let Some(user) = &args.user {
        let (uid, gid) = match user.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user.as_str(), None),
        };
        spec.uid = uid
            .parse()
            .map_err(|_| format!("--user {user:?}: expected UID[:GID] (numbers)"))?;
        if let Some(g) = gid {
            spec.gid = g
                .parse()
                .map_err(|_| format!("--user {user:?}: expected UID[:GID] (numbers)"))?;
        }
    }
    if !args.additional_gids.is_empty() {
        spec.groups = args.additional_gids.clone();
    }
    if args.no_new_privs {
        spec.no_new_privs = true;
    }
    add_caps(&mut spec, &args.cap)?;
    if args.tty {
        spec.terminal = true;
    }
    Ok(spec)
}

/// `--cap CAP_X`, as runc: the capability joins the bounding, effective and
/// permitted sets (and the ambient one when the process has inheritable ones).
fn add_caps(spec: &mut ProcessSpec, names: &[String]) -> Result<(), String> {
    if names.is_empty() {
        return Ok(());
    }
    let add = sentry::kernel::caps::mask_of(names.iter().map(String::as_str))
        .map_err(|n| format!("--cap {n:?}: unknown capability"))?;
    let mut sets = spec
        .capabilities
        .unwrap_or_else(|| sentry::kernel::caps::CapSets::for_uid(spec.uid));
    sets.bounding |= add;
    sets.effective |= add;
    sets.permitted |= add;
    if sets.inheritable != 0 {
        sets.ambient |= add;
    }
    spec.capabilities = Some(sets);
    Ok(())
}

fn load_plan(dir: &std::path::Path) -> Result<super::bundle::Plan, String> {
    serde_json::from_slice(
        &std::fs::read(dir.join("plan.json"))
            .map_err(|e| format!("cannot read the container's plan: {e}"))?,
    )
    .map_err(|e| format!("bad plan: {e}"))
}

fn next_event(r: &mut impl BufRead) -> Result<Option<Event>, String> {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(0) => Ok(None),
        Ok(_) => serde_json::from_str(&line)
            .map(Some)
            .map_err(|e| format!("bad message from the sentry: {e}")),
        Err(e) => Err(e.to_string()),
    }
}

/// Forwards our signals to the process and waits for its exit; returns its code.
fn wait(sock: UnixStream, mut events: impl BufRead, set: SigSet) -> i32 {
    if let Ok(mut writer) = sock.try_clone() {
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                while let Ok(sig) = set.wait() {
                    if writer.write_all(&(sig as i32).to_le_bytes()).is_err() {
                        return;
                    }
                }
            });
    }
    loop {
        match next_event(&mut events) {
            Ok(Some(Event::Exited { code })) => return code,
            Ok(Some(_)) => continue,
            Ok(None) | Err(_) => {
                // The sandbox ended (its init exited, killing every other process).
                eprintln!("moat: the container stopped; the process was killed");
                return 128 + libc::SIGKILL;
            }
        }
    }
}

/// The sentry's side: starts `spec` with `fds` (the exec's socket, then stdin, stdout
/// and stderr) and reports on the socket, from threads of its own.
pub fn serve(signals: &OutsideSignals, spec: ProcessSpec, fds: Vec<OwnedFd>) {
    let mut fds = fds.into_iter();
    let Some(sock) = fds.next() else {
        tracing::warn!("exec request without its socket");
        return;
    };
    // A File, not a UnixStream: read(2) and write(2), which the sentry's seccomp
    // filter allows (recv and send it does not).
    let mut sock = std::fs::File::from(sock);
    let stdio: Vec<Option<OwnedFd>> = fds.map(Some).collect();
    let process = match signals.exec(&spec, stdio) {
        Ok(p) => Arc::new(p),
        Err(e) => {
            let _ = send_event(
                &mut sock,
                &Event::Failed {
                    error: e.to_string(),
                },
            );
            return;
        }
    };
    if send_event(&mut sock, &Event::Started { pid: process.pid() }).is_err() {
        tracing::debug!("the exec's caller went away");
    }
    if let Ok(mut reader) = sock.try_clone() {
        let p = process.clone();
        let _ = std::thread::Builder::new()
            .name("exec-signals".into())
            .spawn(move || {
                let mut sig = [0u8; 4];
                while reader.read_exact(&mut sig).is_ok() {
                    let signo = i32::from_le_bytes(sig);
                    // What the terminal's keys and size changes send goes to its
                    // foreground job, as the terminal itself would send it.
                    let from_terminal = matches!(
                        signo,
                        libc::SIGINT | libc::SIGQUIT | libc::SIGTSTP | libc::SIGWINCH
                    );
                    if from_terminal && p.signal_terminal(signo) {
                        continue;
                    }
                    if let Err(e) = p.signal(signo) {
                        tracing::debug!(signo, %e, "a signal for an exec'd process found no target");
                    }
                }
            });
    }
    let _ = std::thread::Builder::new()
        .name("exec-wait".into())
        .spawn(move || {
            let code = process.wait().shell_code();
            let _ = send_event(&mut sock, &Event::Exited { code });
        });
}

fn send_event(sock: &mut std::fs::File, event: &Event) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(event).map_err(std::io::Error::other)?;
    line.push(b'\n');
    // MSG_NOSIGNAL: a caller that went away must not kill the sentry with SIGPIPE.
    crate::fds::send_with_fds(sock, &line, &[])
}
