//! The OCI runtime commands, runc-compatible: `create`, `start`, `state`, `kill`,
//! `delete`, `run`, `list`, `spec`, `features`. State lives under the global `--root`
//! (default /run/moat), one directory per container.

pub mod bundle;
pub mod cgroup;
pub mod console;
pub mod exec;
pub mod hooks;
pub mod monitor;
pub mod seccomp;
pub mod state;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::cli::{
    Cli, CreateArgs, DeleteArgs, EventsArgs, KillArgs, ListArgs, PsArgs, RunArgs, SpecArgs,
};
use crate::fds::inheritable;
use state::{Record, Status};

/// An OCI command's failure: its message goes to stderr (and the `--log` file).
type Outcome = Result<i32, String>;

/// Reports `outcome` the way runc does and returns the exit code.
pub fn finish(cli: &Cli, outcome: Outcome) -> i32 {
    match outcome {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("moat: {msg}");
            if let Some(log) = &cli.log {
                let line = if cli.log_format == "json" {
                    serde_json::json!({
                        "level": "error",
                        "msg": msg,
                        "time": state::now_rfc3339(),
                    })
                    .to_string()
                } else {
                    format!("time=\"{}\" level=error msg={msg:?}", state::now_rfc3339())
                };
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(log)
                {
                    let _ = writeln!(f, "{line}");
                }
            }
            1
        }
    }
}

fn check_id(id: &str) -> Result<(), String> {
    if state::valid_id(id) {
        Ok(())
    } else {
        Err(format!("invalid container id {id:?}"))
    }
}

/// `moat create`: prepares the sandbox (gofer and sentry started, the guest's program
/// not yet run) under a monitor process, and records the container as `created`.
pub fn create(cli: &Cli, args: &CreateArgs) -> Outcome {
    let pid = create_container(
        cli,
        &args.id,
        &args.bundle,
        args.console_socket.as_deref(),
        true,
    )?;
    if let Some(p) = &args.pid_file {
        write_pid_file(p, pid)?;
    }
    Ok(0)
}

fn create_container(
    cli: &Cli,
    id: &str,
    bundle_dir: &Path,
    console_socket: Option<&Path>,
    detach: bool,
) -> Result<i32, String> {
    check_id(id)?;
    cli.sandbox.check()?;
    let bundle = bundle::load(bundle_dir, id)?;
    match (bundle.plan.boot.tty, console_socket) {
        (true, None) if detach => {
            return Err(
                "process.terminal is true: a detached container needs --console-socket".into(),
            )
        }
        (false, Some(_)) => {
            return Err("--console-socket given but process.terminal is false".into())
        }
        _ => {}
    }
    std::fs::create_dir_all(&cli.root)
        .map_err(|e| format!("--root {}: {e}", cli.root.display()))?;
    let dir = state::dir(&cli.root, id);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(format!("container {id} already exists"))
        }
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    let result = start_monitor(cli, id, &bundle, detach, console_socket);
    if result.is_err() {
        remove_cgroups(&dir);
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn start_monitor(
    cli: &Cli,
    id: &str,
    bundle: &bundle::Bundle,
    detach: bool,
    console_socket: Option<&Path>,
) -> Result<i32, String> {
    let dir = state::dir(&cli.root, id);
    let plan = serde_json::to_vec(&bundle.plan).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("plan.json"), plan)
        .map_err(|e| format!("cannot save the plan: {e}"))?;
    nix::unistd::mkfifo(
        &dir.join("exec.fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .map_err(|e| format!("cannot make the start fifo: {e}"))?;
    let (ready_r, ready_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| e.to_string())?;
    let exe = crate::do_cmd::self_exe()?;
    let mut cmd = Command::new(&exe);
    cmd.arg("--root")
        .arg(&cli.root)
        .args(cli.sandbox.to_args())
        .arg("oci-monitor")
        .arg("--ready-fd")
        .arg(
            inheritable(&ready_w)
                .map_err(|e| e.to_string())?
                .to_string(),
        )
        .arg(id);
    // The terminal: made now, its master sent to the caller before the container runs.
    let console = console_socket
        .map(|s| console::open_and_send(s, bundle.console_size))
        .transpose()?;
    if let Some(slave) = &console {
        cmd.arg("--console-fd")
            .arg(inheritable(slave).map_err(|e| e.to_string())?.to_string());
        // The container's stdio is the terminal; the monitor must not keep ours open
        // (engines read create's output through pipes until they close, as containerd's
        // shim does when it makes a terminal).
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
    }
    if detach {
        // Its own process group: the caller's terminal signals are not the container's.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start the container monitor: {e}"))?;
    drop(ready_w);
    drop(console);
    let mut answer = String::new();
    let _ = std::fs::File::from(ready_r).read_to_string(&mut answer);
    if answer != "ok" {
        let _ = child.wait();
        return Err(if answer.is_empty() {
            "the container monitor failed".into()
        } else {
            answer
        });
    }
    let pid = child.id() as i32;
    let record = Record {
        id: id.to_string(),
        status: Status::Created,
        pid,
        pid_start: state::start_time(pid).unwrap_or(0),
        bundle: bundle.dir.clone(),
        created: state::now_rfc3339(),
        annotations: bundle.annotations.clone(),
        owner: nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map_or_else(|| nix::unistd::geteuid().to_string(), |u| u.name),
        exit_status: None,
    };
    state::save(&cli.root, &record)?;
    hooks::save(&dir, &bundle.hooks)?;
    if let Err(e) = hooks::run(&bundle.hooks.create, &spec_json(&record)?) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    // `run` waits for its child; `create` leaves it to whoever reaps orphans.
    std::mem::forget(child);
    Ok(pid)
}

/// The state JSON hooks get on stdin.
fn spec_json(record: &Record) -> Result<String, String> {
    serde_json::to_string(&record.to_spec()).map_err(|e| e.to_string())
}

/// Runs the poststop hooks of a stopped container (failures are warnings).
fn poststop(cli: &Cli, id: &str) {
    let dir = state::dir(&cli.root, id);
    let saved = hooks::load(&dir);
    if let Ok(record) = state::load(&cli.root, id) {
        if let Ok(json) = spec_json(&record) {
            if let Err(e) = hooks::run(&saved.poststop, &json) {
                eprintln!("moat: warning: {e}");
            }
        }
    }
}

fn write_pid_file(path: &Path, pid: i32) -> Result<(), String> {
    let tmp = path.with_extension("moat-tmp");
    std::fs::write(&tmp, pid.to_string())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("--pid-file {}: {e}", path.display()))
}

/// Removes the host cgroups the container's monitor made (recorded in its state
/// directory `dir`; the monitor, and so every process in them, is gone).
fn remove_cgroups(dir: &Path) {
    if let Ok(text) = std::fs::read(dir.join("cgroups.json")) {
        if let Ok(made) = serde_json::from_slice::<Vec<PathBuf>>(&text) {
            cgroup::remove(&made);
        }
    }
}

/// `moat start`: runs the created container's program.
pub fn start(cli: &Cli, id: &str) -> Outcome {
    check_id(id)?;
    let record = state::load(&cli.root, id)?;
    match record.current_status() {
        Status::Created => {}
        other => {
            return Err(format!(
                "cannot start container {id}: it is {}",
                other.name()
            ))
        }
    }
    let fifo = state::dir(&cli.root, id).join("exec.fifo");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags_nonblock()
        .open(&fifo)
        .map_err(|e| format!("cannot start container {id}: {e}"))?;
    (&f).write_all(b"0")
        .map_err(|e| format!("cannot start container {id}: {e}"))?;
    // The monitor has marked the container running when it closes its end.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut fds = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(&f),
            nix::poll::PollFlags::empty(),
        )];
        let n = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16))
            .map_err(|e| e.to_string())?;
        if n > 0 {
            let saved = hooks::load(&state::dir(&cli.root, id));
            let json = spec_json(&state::load(&cli.root, id)?)?;
            if let Err(e) = hooks::run(&saved.poststart, &json) {
                eprintln!("moat: warning: {e}");
            }
            return Ok(0);
        }
        if Instant::now() > deadline {
            return Err(format!("container {id} did not start"));
        }
    }
}

trait NonBlock {
    fn custom_flags_nonblock(&mut self) -> &mut Self;
}

impl NonBlock for std::fs::OpenOptions {
    fn custom_flags_nonblock(&mut self) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::custom_flags(self, libc::O_NONBLOCK)
    }
}

/// `moat state`: the runtime spec's state JSON.
pub fn state(cli: &Cli, id: &str) -> Outcome {
    check_id(id)?;
    let record = state::load(&cli.root, id)?;
    let json = serde_json::to_string_pretty(&record.to_spec()).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(0)
}

/// Parses a signal as runc does: a number, or a name with or without "SIG".
fn parse_signal(s: &str) -> Result<Signal, String> {
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| format!("unknown signal {s:?}"));
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    name.parse::<Signal>()
        .map_err(|_| format!("unknown signal {s:?}"))
}

/// `moat kill`: sends a signal to the container (SIGTERM by default). SIGKILL ends the
/// sandbox at once; the others reach the guest's init (which, like any init, ignores
/// those it has no handler for).
pub fn kill(cli: &Cli, args: &KillArgs) -> Outcome {
    check_id(&args.id)?;
    let sig = parse_signal(args.signal.as_deref().unwrap_or("SIGTERM"))?;
    let record = state::load(&cli.root, &args.id)?;
    let status = record.current_status();
    if status == Status::Stopped {
        return Err(format!("container {} is not running", args.id));
    }
    if args.all && status != Status::Created && sig != Signal::SIGKILL {
        let request = monitor::Request::Signal {
            signal: sig as i32,
            all: true,
        };
        monitor::ask(&state::dir(&cli.root, &args.id), &request)?;
        return Ok(0);
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(record.pid), sig)
        .map_err(|e| format!("cannot signal container {}: {e}", args.id))?;
    Ok(0)
}

/// `moat delete`: removes a stopped container (`--force`: kills it first).
pub fn delete(cli: &Cli, args: &DeleteArgs) -> Outcome {
    check_id(&args.id)?;
    let record = match state::load(&cli.root, &args.id) {
        Ok(r) => r,
        Err(_) if args.force && !state::dir(&cli.root, &args.id).exists() => return Ok(0),
        Err(e) => return Err(e),
    };
    if record.current_status() != Status::Stopped {
        if !args.force {
            return Err(format!(
                "cannot delete container {} that is not stopped: {}",
                args.id,
                record.current_status().name()
            ));
        }
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(record.pid), Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(10);
        while record.current_status() != Status::Stopped {
            if Instant::now() > deadline {
                return Err(format!("container {} did not die", args.id));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    poststop(cli, &args.id);
    remove_cgroups(&state::dir(&cli.root, &args.id));
    std::fs::remove_dir_all(state::dir(&cli.root, &args.id))
        .map_err(|e| format!("cannot remove container {}: {e}", args.id))?;
    Ok(0)
}

/// `moat run`: create and start; without --detach, waits for the container and exits
/// with its status, then deletes it.
pub fn run(cli: &Cli, args: &RunArgs) -> Outcome {
    let pid = create_container(
        cli,
        &args.id,
        &args.bundle,
        args.console_socket.as_deref(),
        args.detach,
    )?;
    if let Some(p) = &args.pid_file {
        write_pid_file(p, pid)?;
    }
    start(cli, &args.id)?;
    if args.detach {
        return Ok(0);
    }
    // The monitor is our child: wait for it.
    let status = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None)
        .map_err(|e| format!("waiting for container {}: {e}", args.id))?;
    let code = match status {
        nix::sys::wait::WaitStatus::Exited(_, c) => c,
        nix::sys::wait::WaitStatus::Signaled(_, s, _) => 128 + s as i32,
        _ => 1,
    };
    poststop(cli, &args.id);
    remove_cgroups(&state::dir(&cli.root, &args.id));
    let _ = std::fs::remove_dir_all(state::dir(&cli.root, &args.id));
    Ok(code)
}

/// `moat ps`: the processes of a running container, by their pids in the sandbox.
pub fn ps(cli: &Cli, args: &PsArgs) -> Outcome {
    check_id(&args.id)?;
    let record = state::load(&cli.root, &args.id)?;
    if record.current_status() != Status::Running {
        return Err(format!("container {} is not running", args.id));
    }
    let answer = monitor::ask(&state::dir(&cli.root, &args.id), &monitor::Request::Ps)?;
    if args.format == "json" {
        let pids: Vec<i32> = answer.processes.iter().map(|p| p.pid).collect();
        println!(
            "{}",
            serde_json::to_string(&pids).map_err(|e| e.to_string())?
        );
    } else {
        println!("PID\tPPID\tCMD");
        for p in &answer.processes {
            println!("{}\t{}\t{}", p.pid, p.ppid, p.comm);
        }
    }
    Ok(0)
}

/// `moat pause` (`pause`) and `moat resume`: no guest thread runs while paused.
pub fn pause(cli: &Cli, id: &str, pause: bool) -> Outcome {
    check_id(id)?;
    let record = state::load(&cli.root, id)?;
    let (want, request) = if pause {
        (Status::Running, monitor::Request::Pause)
    } else {
        (Status::Paused, monitor::Request::Resume)
    };
    if record.current_status() != want {
        return Err(format!(
            "container {id} is {}, not {}",
            record.current_status().name(),
            want.name()
        ));
    }
    monitor::ask(&state::dir(&cli.root, id), &request)?;
    Ok(0)
}

/// Parses a duration as runc's --interval takes it: "5s", "100ms", "1m".
fn parse_interval(s: &str) -> Result<Duration, String> {
    let bad = || format!("--interval {s:?}: expected a number with ms, s or m");
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let n: u64 = s[..split].parse().map_err(|_| bad())?;
    let d = match &s[split..] {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(bad()),
    };
    if d.is_zero() {
        return Err(format!("--interval {s:?}: must be positive"));
    }
    Ok(d)
}

/// `moat events`: the container's resource use as runc's `stats` events, one JSON
/// object per line.
pub fn events(cli: &Cli, args: &EventsArgs) -> Outcome {
    check_id(&args.id)?;
    let interval = parse_interval(&args.interval)?;
    let dir = state::dir(&cli.root, &args.id);
    let mut oom_kills = None;
    loop {
        let record = state::load(&cli.root, &args.id)?;
        match record.current_status() {
            Status::Running | Status::Paused => {}
            _ if !args.stats => return Ok(0),
            other => {
                return Err(format!(
                    "container {} is {}, not running",
                    args.id,
                    other.name()
                ))
            }
        }
        let stats = match monitor::ask(&dir, &monitor::Request::Stats) {
            Ok(a) => a.stats.unwrap_or_default(),
            // It stopped meanwhile.
            Err(_) if !args.stats => return Ok(0),
            Err(e) => return Err(e),
        };
        let event = serde_json::json!({
            "type": "stats",
            "id": args.id,
            "data": {
                "cpu": {
                    "usage": {
                        "total": stats.cpu_user_ns + stats.cpu_kernel_ns,
                        "user": stats.cpu_user_ns,
                        "kernel": stats.cpu_kernel_ns,
                    },
                },
                "memory": {
                    "usage": {
                        "usage": stats.memory_bytes,
                        "limit": stats.memory_limit.unwrap_or(u64::MAX),
                    },
                    "oom_kills": stats.oom_kills,
                },
                "pids": { "current": stats.pids },
            },
        });
        // Processes the OOM killer took since the last look, as runc's `oom` events.
        if oom_kills.is_some_and(|seen| stats.oom_kills > seen) {
            println!("{}", serde_json::json!({ "type": "oom", "id": args.id }));
        }
        oom_kills = Some(stats.oom_kills);
        println!("{event}");
        if args.stats {
            return Ok(0);
        }
        std::thread::sleep(interval);
    }
}

/// `moat list`.
pub fn list(cli: &Cli, args: &ListArgs) -> Outcome {
    let mut records = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&cli.root) {
        for e in entries.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            if let Ok(r) = state::load(&cli.root, &id) {
                records.push(r);
            }
        }
    }
    records.sort_by(|a, b| a.id.cmp(&b.id));
    if args.quiet {
        for r in &records {
            println!("{}", r.id);
        }
    } else if args.format == "json" {
        let all: Vec<_> = records.iter().map(Record::to_spec).collect();
        println!(
            "{}",
            serde_json::to_string(&all).map_err(|e| e.to_string())?
        );
    } else {
        println!("ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER");
        for r in &records {
            let status = r.current_status();
            let pid = if status == Status::Stopped { 0 } else { r.pid };
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                r.id,
                pid,
                status.name(),
                r.bundle.display(),
                r.created,
                r.owner
            );
        }
    }
    Ok(0)
}

/// `moat spec`: writes a starting config.json (a shell in ./rootfs) into the bundle.
pub fn spec(args: &SpecArgs) -> Outcome {
    let dir = args.bundle.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join("config.json");
    if path.exists() {
        return Err(format!("{}: exists; remove it first", path.display()));
    }
    let mut spec = oci_spec::runtime::Spec::default();
    if let Some(mut process) = spec.process().clone() {
        process.set_terminal(Some(false));
        process.set_args(Some(vec!["sh".to_string()]));
        spec.set_process(Some(process));
    }
    spec.save(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(0)
}

/// `moat features`: what this runtime supports, as runtime-spec features JSON.
pub fn features() -> Outcome {
    let f = serde_json::json!({
        "ociVersionMin": "1.0.0",
        "ociVersionMax": state::OCI_VERSION,
        // What create/start/delete run (createContainer and startContainer are refused).
        "hooks": ["prestart", "createRuntime", "poststart", "poststop"],
        // The options oci::bundle reads; the rest are ignored.
        "mountOptions": [
            "bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "size", "mode"
        ],
        "linux": {
            // The sandbox's own (the sentry implements them, capabilities included).
            "namespaces": ["pid", "ipc", "uts", "mount", "network"],
            "capabilities": &sentry::kernel::caps::NAMES[..],
            // linux.seccomp, as oci::seccomp compiles it for the sentry to enforce.
            "seccomp": {
                "enabled": true,
                "actions": [
                    "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                    "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
                    "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"
                ],
                "operators": [
                    "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                    "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"
                ],
                "archs": ["SCMP_ARCH_X86_64"],
                "knownFlags": [
                    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
                ],
                "supportedFlags": [
                    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                    "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
                ],
            },
        },
        "annotations": {
            "org.opencontainers.runc.checkpoint.enabled": "false",
        },
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&f).map_err(|e| e.to_string())?
    );
    Ok(0)
}

/// `moat oci-monitor` (internal).
pub fn monitor(cli: &Cli, id: &str, ready_fd: i32, console_fd: Option<i32>) -> i32 {
    let Some(ready) = crate::fds::adopt(ready_fd) else {
        eprintln!("moat oci-monitor: --ready-fd is not open");
        return 125;
    };
    let console = match console_fd.map(crate::fds::adopt) {
        None => None,
        Some(Some(fd)) => Some(fd),
        Some(None) => {
            eprintln!("moat oci-monitor: --console-fd is not open");
            return 125;
        }
    };
    monitor::run(&cli.root, id, ready, console, &cli.sandbox)
}
