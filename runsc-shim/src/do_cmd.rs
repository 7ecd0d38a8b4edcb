//! `moat do`: run one command in a fresh sandbox.
//!
//! Starts the gofer (serving the root filesystem) and the sentry (`moat boot`) as
//! re-executions of this binary, connected by a socket pair, hands the sentry its
//! configuration, and exits with the sandboxed program's status.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use sentry::boot::{BootConfig, MountKind, MountSpec, RootMode};

use crate::cli::{DoArgs, SandboxOpts};
use crate::fds::inheritable;

/// Runs `moat do`; returns the exit code.
pub fn run(args: DoArgs, opts: SandboxOpts) -> i32 {
    match start(args, &opts) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("moat: {e}");
            125
        }
    }
}

pub(crate) fn self_exe() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find the moat binary: {e}"))
}

fn build_config(args: &DoArgs, opts: &SandboxOpts) -> Result<BootConfig, String> {
    opts.check()?;
    let mut env: Vec<Vec<u8>> = if args.env_clear {
        Vec::new()
    } else {
        std::env::vars_os()
            .map(|(k, v)| {
                let mut e = k.as_bytes().to_vec();
                e.push(b'=');
                e.extend_from_slice(v.as_bytes());
                e
            })
            .collect()
    };
    for kv in &args.env {
        let Some((k, _)) = kv.split_once('=') else {
            return Err(format!("-e {kv:?}: expected KEY=VALUE"));
        };
        if k.is_empty() {
            return Err(format!("-e {kv:?}: empty variable name"));
        }
        env.retain(|e| !e.starts_with(format!("{k}=").as_bytes()));
        env.push(kv.as_bytes().to_vec());
    }
    let cwd = match (&args.cwd, &args.rootfs) {
        (Some(c), _) => c.clone(),
        (None, Some(_)) => PathBuf::from("/"),
        (None, None) => std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?,
    };
    if !cwd.is_absolute() {
        return Err(format!("--cwd {}: must be an absolute path", cwd.display()));
    }
    Ok(BootConfig {
        capabilities: None,
        memory_limit: args
            .memory_limit
            .as_deref()
            .map(crate::oci::bundle::parse_size)
            .transpose()
            .map_err(|e| format!("--memory-limit: {e}"))?,
        domainname: None,
        ipc_sysctls: Vec::new(),
        netns: None,
        masked_paths: Vec::new(),
        readonly_paths: Vec::new(),
        oom_score_adj: None,
        argv: args.command.iter().map(|a| a.as_bytes().to_vec()).collect(),
        env,
        cwd: cwd.as_os_str().as_bytes().to_vec(),
        hostname: args.hostname.clone(),
        uid: nix::unistd::getuid().as_raw(),
        gid: nix::unistd::getgid().as_raw(),
        groups: nix::unistd::getgroups()
            .map(|g| g.iter().map(|g| g.as_raw()).collect())
            .unwrap_or_default(),
        strace: opts.strace,
        platform: opts.platform.clone(),
        root: if args.overlay == "none" {
            RootMode::WriteThrough
        } else {
            RootMode::Overlay
        },
        pids_limit: args.pids_limit.max(1),
        mounts: volumes(&args.volumes)?
            .iter()
            .enumerate()
            .map(|(i, v)| MountSpec {
                destination: v.guest.clone(),
                kind: MountKind::Bind { index: i as u32 },
                read_only: !v.writable,
                no_exec: false,
                no_suid: true,
                no_dev: true,
            })
            .collect(),
        rlimits: Vec::new(),
        no_new_privs: false,
        umask: None,
        tty: args.tty,
        seccomp: None,
    })
}

/// One `-v HOST:GUEST[:ro]`.
struct Volume {
    host: PathBuf,
    guest: String,
    writable: bool,
}

fn volumes(specs: &[String]) -> Result<Vec<Volume>, String> {
    specs
        .iter()
        .map(|spec| {
            let (rest, writable) = match spec.strip_suffix(":ro") {
                Some(r) => (r, false),
                None => (spec.strip_suffix(":rw").unwrap_or(spec), true),
            };
            let (host, guest) = rest
                .split_once(':')
                .ok_or_else(|| format!("-v {spec:?}: expected HOST:GUEST[:ro]"))?;
            if !guest.starts_with('/') {
                return Err(format!("-v {spec:?}: {guest:?} is not an absolute path"));
            }
            let host =
                std::fs::canonicalize(host).map_err(|e| format!("-v {spec:?}: {host}: {e}"))?;
            Ok(Volume {
                host,
                guest: guest.to_string(),
                writable,
            })
        })
        .collect()
}

/// With --tty: checks stdin is a terminal and blocks the terminal's signals (^C, ^\\,
/// ^Z) in moat, and so in the gofer and the sentry it starts (the sentry forwards them
/// to the sandbox's foreground job). Returns the terminal's modes, to be put back
/// when the sandbox is done.
fn take_terminal() -> Result<nix::sys::termios::Termios, String> {
    use nix::sys::signal::{SigSet, Signal};
    let stdin = std::io::stdin();
    let modes = nix::sys::termios::tcgetattr(&stdin)
        .map_err(|_| "--tty: stdin is not a terminal (run moat from one, or drop --tty)")?;
    let mut set = SigSet::empty();
    for sig in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTSTP] {
        set.add(sig);
    }
    set.thread_block()
        .map_err(|e| format!("--tty: cannot block the terminal's signals: {e}"))?;
    Ok(modes)
}

fn start(args: DoArgs, opts: &SandboxOpts) -> Result<i32, String> {
    let config = build_config(&args, opts)?;
    let terminal = if args.tty {
        Some(take_terminal()?)
    } else {
        None
    };
    // Whatever the sandbox's processes leave behind is re-parented to us and reaped
    // below, never to the host's init.
    nix::sys::prctl::set_child_subreaper(true)
        .map_err(|e| format!("cannot become a subreaper: {e}"))?;
    let rootfs = args.rootfs.clone().unwrap_or_else(|| PathBuf::from("/"));
    if !rootfs.is_dir() {
        return Err(format!("--rootfs {}: not a directory", rootfs.display()));
    }
    let log: Option<OwnedFd> = opts.open_log()?;
    let exe = self_exe()?;
    let (sentry_end, gofer_end) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| format!("cannot create the gofer channel: {e}"))?;

    let writable = config.root == RootMode::WriteThrough;
    let binds: Vec<(PathBuf, bool)> = volumes(&args.volumes)?
        .into_iter()
        .map(|v| (v.host, v.writable))
        .collect();
    let mut gofer = spawn_gofer(
        &exe,
        &rootfs,
        writable,
        &binds,
        gofer_end,
        log.as_ref(),
        args.tty,
    )?;
    let boot = spawn_boot(&exe, sentry_end, &config, log.as_ref(), None, None);
    let code = match boot {
        Ok(mut boot) => wait_boot(&mut boot),
        Err(e) => {
            let _ = gofer.kill();
            let _ = gofer.wait();
            return Err(e);
        }
    };
    // The gofer exits once the sentry's end of the channel is closed.
    reap_with_deadline(&mut gofer, Duration::from_secs(2));
    reap_orphans(Duration::from_secs(2));
    if let Some(modes) = terminal {
        // The sandbox may have left the terminal raw (a shell killed mid-line).
        let _ = nix::sys::termios::tcsetattr(
            std::io::stdin(),
            nix::sys::termios::SetArg::TCSADRAIN,
            &modes,
        );
    }
    Ok(code)
}

pub(crate) fn spawn_gofer(
    exe: &Path,
    rootfs: &Path,
    writable: bool,
    binds: &[(PathBuf, bool)],
    sock: OwnedFd,
    log: Option<&OwnedFd>,
    tty: bool,
) -> Result<Child, String> {
    let mut cmd = Command::new(exe);
    if tty {
        // Out of the terminal's foreground job: its keys are the sandbox's.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    }
    cmd.arg("gofer")
        .arg("--tree")
        .arg(rootfs)
        .arg("--sock-fd")
        .arg(inheritable(&sock).map_err(|e| e.to_string())?.to_string());
    if writable {
        cmd.arg("--writable");
    }
    for (source, rw) in binds {
        let mut arg = std::ffi::OsString::from(if *rw { "rw:" } else { "ro:" });
        arg.push(source);
        cmd.arg("--bind").arg(arg);
    }
    if let Some(l) = log {
        cmd.arg("--log-fd")
            .arg(inheritable(l).map_err(|e| e.to_string())?.to_string());
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).env_clear();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the gofer: {e}"))?;
    drop(sock);
    Ok(child)
}

pub(crate) fn spawn_boot(
    exe: &Path,
    gofer: OwnedFd,
    config: &BootConfig,
    log: Option<&OwnedFd>,
    control: Option<&OwnedFd>,
    terminal: Option<&OwnedFd>,
) -> Result<Child, String> {
    let (config_r, config_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(exe);
    cmd.arg("boot")
        .arg("--gofer-fd")
        .arg(inheritable(&gofer).map_err(|e| e.to_string())?.to_string())
        .arg("--config-fd")
        .arg(
            inheritable(&config_r)
                .map_err(|e| e.to_string())?
                .to_string(),
        );
    if let Some(l) = log {
        cmd.arg("--log-fd")
            .arg(inheritable(l).map_err(|e| e.to_string())?.to_string());
    }
    if let Some(c) = control {
        cmd.arg("--control-fd")
            .arg(inheritable(c).map_err(|e| e.to_string())?.to_string());
    }
    if let Some(t) = terminal {
        // The guest's stdio: a terminal the sentry makes its controlling one.
        let dup = |f: &OwnedFd| f.try_clone().map_err(|e| format!("terminal: {e}"));
        cmd.stdin(dup(t)?).stdout(dup(t)?).stderr(dup(t)?);
    }
    cmd.env_clear();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the sentry: {e}"))?;
    drop(gofer);
    drop(config_r);
    let json = serde_json::to_vec(config).map_err(|e| e.to_string())?;
    std::fs::File::from(config_w)
        .write_all(&json)
        .map_err(|e| format!("cannot configure the sentry: {e}"))?;
    Ok(child)
}

pub(crate) fn wait_boot(boot: &mut Child) -> i32 {
    match boot.wait() {
        Ok(st) => match (st.code(), st.signal()) {
            (Some(code), _) => code,
            (None, Some(sig)) => {
                eprintln!("moat: the sentry was killed by signal {sig}");
                128 + sig
            }
            _ => 125,
        },
        Err(e) => {
            eprintln!("moat: waiting for the sentry: {e}");
            125
        }
    }
}

pub(crate) fn reap_with_deadline(child: &mut Child, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Reaps processes re-parented to us (stubs of a sentry that died abruptly), waiting up
/// to `within` for those still being killed.
pub(crate) fn reap_orphans(within: Duration) {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    let deadline = Instant::now() + within;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG | WaitPidFlag::__WALL)) {
            Ok(WaitStatus::StillAlive) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}
