//! The container monitor (`moat oci-monitor`, started by `create`): the host process
//! that is "the container" for its callers. Its pid is the one `create --pid-file`
//! writes and `state` reports; it starts the gofer and the sentry, holds the sandbox
//! ready until `start`, forwards the signals it receives to the guest's init, records
//! each transition in the state file, and exits with the guest's exit status (128+N
//! for a guest killed by signal N, which is what container engines report for it).

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use nix::sys::signal::{SigSet, Signal};

use super::bundle::Plan;
use super::state::{self, Status};
use crate::do_cmd;

/// Signals forwarded to the guest (the rest keep their default action on the monitor:
/// SIGKILL and SIGSTOP cannot be caught, and kill the sandbox with it).
const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGALRM,
    Signal::SIGTSTP,
    Signal::SIGTTIN,
    Signal::SIGTTOU,
];

/// Runs the monitor of container `id`; `ready` is the pipe `create` waits on ("ok", or
/// an error message). Returns the exit code.
pub fn run(
    root: &Path,
    id: &str,
    ready: OwnedFd,
    console: Option<OwnedFd>,
    opts: &crate::cli::SandboxOpts,
) -> i32 {
    let mut ready = std::fs::File::from(ready);
    // The start fifo's read end is open before `create` returns, so `start` always
    // finds a reader (it opens the write end without blocking).
    let fifo = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(state::dir(root, id).join("exec.fifo"))
    {
        Ok(f) => f,
        Err(e) => {
            let _ = ready.write_all(format!("cannot open the start fifo: {e}").as_bytes());
            return 1;
        }
    };
    match prepare(root, id, console, opts) {
        Ok(mut sandbox) => {
            let _ = ready.write_all(b"ok");
            drop(ready);
            sandbox.serve(root, id, fifo)
        }
        Err(e) => {
            let _ = ready.write_all(e.as_bytes());
            1
        }
    }
}

struct Prepared {
    sentry: std::process::Child,
    gofer: std::process::Child,
    control: UnixStream,
}

/// The monitor's half of the control channel, shared by the signal forwarder and the
/// request server (each message is written, and answered, under the lock).
type Control = Arc<std::sync::Mutex<UnixStream>>;

/// A request to the monitor on `<state dir>/control.sock` (one JSON line each way).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// Send `signal` to the container's init, or with `all` to every process.
    Signal {
        /// The signal number.
        signal: i32,
        /// To every process.
        all: bool,
    },
    /// List the container's processes.
    Ps,
    /// Pause every process of the container.
    Pause,
    /// Let them run again.
    Resume,
    /// The container's resource use.
    Stats,
    /// Start `process` in the container; the request carries the exec's socket and
    /// the process's stdin, stdout and stderr (SCM_RIGHTS). See `oci::exec`.
    Exec {
        /// What to run.
        process: Box<sentry::boot::ProcessSpec>,
    },
}

/// The monitor's answer.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Answer {
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// For `ps`.
    pub processes: Vec<sentry::boot::ProcessInfo>,
    /// For `stats`.
    #[serde(default)]
    pub stats: Option<sentry::boot::Stats>,
}

/// Sends `request` to the monitor of the container whose state directory is `dir`.
pub fn ask(dir: &Path, request: &Request) -> Result<Answer, String> {
    ask_with_fds(dir, request, &[])
}

/// [`ask`], passing `fds` with the request.
pub fn ask_with_fds(
    dir: &Path,
    request: &Request,
    fds: &[std::os::fd::BorrowedFd<'_>],
) -> Result<Answer, String> {
    use std::io::BufRead;
    let s = with_socket_path(dir, |path| UnixStream::connect(path))
        .map_err(|e| format!("cannot reach the container's monitor: {e}"))?;
    let mut line = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    line.push(b'\n');
    crate::fds::send_with_fds(&s, &line, fds).map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::BufReader::new(s)
        .read_line(&mut answer)
        .map_err(|e| e.to_string())?;
    let answer: Answer = serde_json::from_str(&answer)
        .map_err(|e| format!("bad answer from the container's monitor: {e}"))?;
    match &answer.error {
        Some(e) => Err(e.clone()),
        None => Ok(answer),
    }
}

fn prepare(
    root: &Path,
    id: &str,
    console: Option<OwnedFd>,
    opts: &crate::cli::SandboxOpts,
) -> Result<Prepared, String> {
    let dir = state::dir(root, id);
    let mut plan: Plan = serde_json::from_slice(
        &std::fs::read(dir.join("plan.json")).map_err(|e| format!("cannot read the plan: {e}"))?,
    )
    .map_err(|e| format!("bad plan: {e}"))?;
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| format!("cannot become a subreaper: {e}"))?;
    // Forwarded signals are taken by the forwarding thread only.
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(*s);
    }
    set.thread_block()
        .map_err(|e| format!("cannot block signals: {e}"))?;
    // The runtime's own flags (--platform, --strace, --debug-log).
    opts.check()?;
    // The host cgroup first: the gofer and the sentry start inside it.
    let made = super::cgroup::enter(&plan.cgroup)?;
    std::fs::write(
        dir.join("cgroups.json"),
        serde_json::to_vec(&made).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("cannot record the cgroups: {e}"))?;
    plan.boot.platform = opts.platform.clone();
    plan.boot.strace = opts.strace;
    let log = opts.open_log()?;
    let exe = do_cmd::self_exe()?;
    let (gofer_end, sentry_end) = nix::sys::socket::socketpair(
        nix::sys::socket::AddressFamily::Unix,
        nix::sys::socket::SockType::SeqPacket,
        None,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| format!("cannot create the gofer channel: {e}"))?;
    let (ours, theirs) = UnixStream::pair().map_err(|e| format!("control channel: {e}"))?;
    let mut gofer = do_cmd::spawn_gofer(
        &exe,
        &plan.rootfs,
        plan.writable,
        &plan.binds,
        gofer_end,
        log.as_ref(),
        false,
    )?;
    let theirs = OwnedFd::from(theirs);
    let sentry = match do_cmd::spawn_boot(
        &exe,
        sentry_end,
        &plan.boot,
        log.as_ref(),
        Some(&theirs),
        console.as_ref(),
    ) {
        Ok(c) => c,
        Err(e) => {
            let _ = gofer.kill();
            let _ = gofer.wait();
            return Err(e);
        }
    };
    drop(theirs);
    let mut p = Prepared {
        sentry,
        gofer,
        control: ours,
    };
    let mut r = [0u8; 1];
    match p.control.read(&mut r) {
        Ok(1) if r[0] == b'R' => Ok(p),
        _ => {
            // The sentry said why on stderr (ours, the caller's).
            let code = do_cmd::wait_boot(&mut p.sentry);
            do_cmd::reap_with_deadline(&mut p.gofer, std::time::Duration::from_secs(2));
            Err(format!("the sandbox did not start (exit status {code})"))
        }
    }
}

impl Prepared {
    fn serve(&mut self, root: &Path, id: &str, mut fifo: std::fs::File) -> i32 {
        let started = Arc::new(AtomicBool::new(false));
        let control: Control = match self.control.try_clone() {
            Ok(c) => Arc::new(std::sync::Mutex::new(c)),
            Err(_) => return 1,
        };
        self.spawn_forwarder(root, id, started.clone(), control.clone());
        serve_requests(&state::dir(root, id), started.clone(), control);
        // Waits until `start` writes its byte.
        let readable = loop {
            let mut fds = [nix::poll::PollFd::new(
                std::os::fd::AsFd::as_fd(&fifo),
                nix::poll::PollFlags::POLLIN,
            )];
            match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
                Ok(_) => break true,
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break false,
            }
        };
        let mut go = [0u8; 1];
        let ok = readable && {
            let _ = state::update(root, id, |r| r.status = Status::Running);
            matches!(fifo.read(&mut go), Ok(1))
        };
        let _ = std::fs::remove_file(state::dir(root, id).join("exec.fifo"));
        // `start` returns once it sees the read end close.
        drop(fifo);
        let code = if ok && self.control.write_all(b"S").is_ok() {
            started.store(true, Ordering::SeqCst);
            do_cmd::wait_boot(&mut self.sentry)
        } else {
            let _ = self.sentry.kill();
            let _ = self.sentry.wait();
            1
        };
        do_cmd::reap_with_deadline(&mut self.gofer, std::time::Duration::from_secs(2));
        do_cmd::reap_orphans(std::time::Duration::from_secs(2));
        let _ = state::update(root, id, |r| {
            r.status = Status::Stopped;
            r.exit_status = Some(code);
        });
        code
    }

    /// Forwards the signals the monitor receives: to the guest once started; before
    /// that, a signal ends the container (its init would have died of it).
    fn spawn_forwarder(&self, root: &Path, id: &str, started: Arc<AtomicBool>, control: Control) {
        let (root, id) = (root.to_path_buf(), id.to_string());
        let sentry_pid = self.sentry.id();
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut set = SigSet::empty();
                for s in FORWARDED {
                    set.add(*s);
                }
                while let Ok(sig) = set.wait() {
                    if started.load(Ordering::SeqCst) {
                        if send_signal(&control, sig as i32, false).is_err() {
                            return;
                        }
                    } else if !matches!(sig, Signal::SIGWINCH | Signal::SIGCONT) {
                        let _ = state::update(&root, &id, |r| {
                            r.status = Status::Stopped;
                            r.exit_status = Some(128 + sig as i32);
                        });
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(sentry_pid as i32),
                            Signal::SIGKILL,
                        );
                        std::process::exit(128 + sig as i32);
                    }
                }
            });
    }
}

fn send_signal(control: &Control, signal: i32, all: bool) -> std::io::Result<()> {
    let mut msg = vec![if all { b'A' } else { b'K' }];
    msg.extend_from_slice(&signal.to_le_bytes());
    control
        .lock()
        .map_err(|_| std::io::Error::other("control channel poisoned"))?
        .write_all(&msg)
}

/// Sends `op` to the sentry and reads its answer: a little-endian u32 length and that
/// much JSON.
fn ask_sentry<T: serde::de::DeserializeOwned>(control: &Control, op: u8) -> Result<T, String> {
    let mut c = control
        .lock()
        .map_err(|_| "control channel poisoned".to_string())?;
    c.write_all(&[op]).map_err(|e| e.to_string())?;
    let mut len = [0u8; 4];
    c.read_exact(&mut len).map_err(|e| e.to_string())?;
    let len = u32::from_le_bytes(len) as usize;
    if len > 16 << 20 {
        return Err("answer too large".into());
    }
    let mut json = vec![0u8; len];
    c.read_exact(&mut json).map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

/// Pauses (`Z`) or resumes (`U`) the sandbox, and records the new state.
fn pause_or_resume(control: &Control, dir: &Path, pause: bool) -> Result<(), String> {
    let mut c = control
        .lock()
        .map_err(|_| "control channel poisoned".to_string())?;
    c.write_all(if pause { b"Z" } else { b"U" })
        .map_err(|e| e.to_string())?;
    let mut ack = [0u8; 1];
    c.read_exact(&mut ack).map_err(|e| e.to_string())?;
    if ack[0] == b'0' {
        tracing::warn!("some guest threads had not stopped yet when pause returned");
    }
    let (root, id) = state_location(dir)?;
    state::update(&root, &id, |r| {
        r.status = if pause {
            Status::Paused
        } else {
            Status::Running
        }
    })
}

/// The state root and container id of state directory `dir`.
fn state_location(dir: &Path) -> Result<(std::path::PathBuf, String), String> {
    let id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or("bad state directory")?;
    let root = dir.parent().ok_or("bad state directory")?.to_path_buf();
    Ok((root, id))
}

/// Runs `f` on the path of `<dir>/control.sock`, or, when that is longer than a unix
/// socket address holds (a long `--root` and a 64-character container id), on a short
/// path to it through /proc/self/fd and an fd of `dir`.
fn with_socket_path<T>(
    dir: &Path,
    f: impl FnOnce(&Path) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let path = dir.join("control.sock");
    // sun_path holds 108 bytes with the terminating NUL.
    if path.as_os_str().len() < 100 {
        return f(&path);
    }
    let dir_fd = std::fs::File::open(dir)?;
    let short = format!(
        "/proc/self/fd/{}/control.sock",
        std::os::fd::AsRawFd::as_raw_fd(&dir_fd)
    );
    f(Path::new(&short))
}

/// Answers `moat ps` and `moat kill --all` on `<dir>/control.sock`, one request per
/// connection, from a thread of the monitor.
fn serve_requests(dir: &Path, started: Arc<AtomicBool>, control: Control) {
    let path = dir.join("control.sock");
    let dir = dir.to_path_buf();
    let _ = std::fs::remove_file(&path);
    let Ok(listener) = with_socket_path(&dir, |p| std::os::unix::net::UnixListener::bind(p)) else {
        tracing::warn!("cannot listen on {}", path.display());
        return;
    };
    let _ = std::thread::Builder::new()
        .name("requests".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let answer = answer_one(&conn, &dir, &started, &control);
                let mut line = serde_json::to_vec(&answer).unwrap_or_default();
                line.push(b'\n');
                let _ = (&conn).write_all(&line);
            }
        });
}

/// Reads one request line from `conn`, with the fds sent along with it.
fn read_request(conn: &UnixStream) -> Result<(Request, Vec<OwnedFd>), String> {
    let mut line = Vec::new();
    let mut fds = Vec::new();
    let mut buf = [0u8; 4096];
    while !line.ends_with(b"\n") {
        let (n, more) = crate::fds::recv_with_fds(conn, &mut buf).map_err(|e| e.to_string())?;
        fds.extend(more);
        if n == 0 {
            break;
        }
        line.extend_from_slice(&buf[..n]);
        if line.len() > 1 << 20 {
            return Err("request too long".into());
        }
    }
    let request = serde_json::from_slice(&line).map_err(|e| e.to_string())?;
    Ok((request, fds))
}

/// Hands an exec request (its socket and stdio in `fds`) to the sentry: `E` with the
/// fds, then a little-endian u32 length and the process as JSON.
fn exec_in_sentry(
    control: &Control,
    process: &sentry::boot::ProcessSpec,
    fds: &[OwnedFd],
) -> Result<(), String> {
    if fds.len() != 4 {
        return Err(format!(
            "exec: expected 4 fds with the request, got {}",
            fds.len()
        ));
    }
    let json = serde_json::to_vec(process).map_err(|e| e.to_string())?;
    let mut msg = vec![b'E'];
    msg.extend_from_slice(&(json.len() as u32).to_le_bytes());
    msg.extend_from_slice(&json);
    let c = control
        .lock()
        .map_err(|_| "control channel poisoned".to_string())?;
    let borrowed: Vec<_> = fds.iter().map(std::os::fd::AsFd::as_fd).collect();
    crate::fds::send_with_fds(&*c, &msg, &borrowed).map_err(|e| e.to_string())
}

fn answer_one(conn: &UnixStream, dir: &Path, started: &AtomicBool, control: &Control) -> Answer {
    let request = read_request(conn);
    let result = match request {
        Err(e) => Err(format!("bad request: {e}")),
        Ok(_) if !started.load(Ordering::SeqCst) => Err("the container has not started".into()),
        Ok((Request::Signal { signal, all }, _)) => send_signal(control, signal, all)
            .map(|()| Vec::new())
            .map_err(|e| e.to_string()),
        Ok((Request::Ps, _)) => ask_sentry(control, b'P'),
        Ok((Request::Pause, _)) => pause_or_resume(control, dir, true).map(|()| Vec::new()),
        Ok((Request::Resume, _)) => pause_or_resume(control, dir, false).map(|()| Vec::new()),
        Ok((Request::Stats, _)) => {
            return match ask_sentry(control, b'T') {
                Ok(stats) => Answer {
                    error: None,
                    processes: Vec::new(),
                    stats: Some(stats),
                },
                Err(e) => Answer {
                    error: Some(e),
                    processes: Vec::new(),
                    stats: None,
                },
            }
        }
        Ok((Request::Exec { process }, fds)) => {
            exec_in_sentry(control, &process, &fds).map(|()| Vec::new())
        }
    };
    match result {
        Ok(processes) => Answer {
            error: None,
            processes,
            stats: None,
        },
        Err(e) => Answer {
            error: Some(e),
            processes: Vec::new(),
            stats: None,
        },
    }
}
