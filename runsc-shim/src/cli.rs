//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// moat: an application kernel that runs untrusted Linux programs sandboxed.
///
/// Every system call of the sandboxed program is served by moat's own kernel (the
/// sentry); none reaches the host kernel.
#[derive(Parser, Debug)]
#[command(name = "moat", version, about, long_about)]
pub struct Cli {
    /// Where the OCI commands keep container state.
    #[arg(long, global = true, default_value = "/run/moat", value_name = "DIR")]
    pub root: PathBuf,
    /// OCI commands: also write errors to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Format of the --log file: text or json.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Accepted for runc compatibility (more logging goes to --log).
    #[arg(long, global = true)]
    pub debug: bool,
    /// Accepted for runc compatibility: moat does not manage cgroups (the container
    /// runs in the cgroup its caller places the runtime in).
    #[arg(long, global = true)]
    pub systemd_cgroup: bool,
    #[command(flatten)]
    pub sandbox: SandboxOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// How sandboxes run, for `moat do` and the OCI commands alike (container engines pass
/// them as runtime flags).
#[derive(Args, Debug, Clone)]
pub struct SandboxOpts {
    /// How guest code is run: `ptrace` (PTRACE_SYSEMU in a stub process).
    #[arg(long, global = true, default_value = "ptrace", value_name = "NAME")]
    pub platform: String,
    /// The sandbox's network: `none` (loopback only, inside the sentry; the host's
    /// network is never reached).
    #[arg(long, global = true, default_value = "none", value_name = "MODE")]
    pub network: String,
    /// Print every system call the sandboxed program makes (to stderr), like strace(1).
    #[arg(long, global = true)]
    pub strace: bool,
    /// Write the sentry's and gofer's debug log to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub debug_log: Option<PathBuf>,
}

impl SandboxOpts {
    /// Checks the platform and network names.
    pub fn check(&self) -> Result<(), String> {
        if self.platform != "ptrace" {
            return Err(format!(
                "unknown platform {:?} (available: ptrace)",
                self.platform
            ));
        }
        match self.network.as_str() {
            "none" => Ok(()),
            "sandbox" | "host" => Err(format!(
                "--network {}: not supported yet (available: none)",
                self.network
            )),
            other => Err(format!("unknown network mode {other:?} (available: none)")),
        }
    }

    /// The flags again, for a moat process started with them.
    pub fn to_args(&self) -> Vec<std::ffi::OsString> {
        let mut v: Vec<std::ffi::OsString> = vec![
            "--platform".into(),
            self.platform.clone().into(),
            "--network".into(),
            self.network.clone().into(),
        ];
        if self.strace {
            v.push("--strace".into());
        }
        if let Some(l) = &self.debug_log {
            v.push("--debug-log".into());
            v.push(l.clone().into());
        }
        v
    }

    /// Opens the --debug-log file (appending).
    pub fn open_log(&self) -> Result<Option<std::os::fd::OwnedFd>, String> {
        match &self.debug_log {
            Some(p) => Ok(Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|e| format!("--debug-log {}: {e}", p.display()))?
                    .into(),
            )),
            None => Ok(None),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command in a sandbox, with the host's root filesystem read-only.
    Do(DoArgs),
    /// Internal: run the sentry (started by `moat do`).
    #[command(hide = true)]
    Boot(BootArgs),
    /// Internal: run the gofer file server (started by `moat do`).
    #[command(hide = true)]
    Gofer(GoferArgs),
    /// Print the system call compatibility table.
    Syscalls(SyscallsArgs),
    /// OCI: create a container from a bundle (ready, its program not yet started).
    Create(CreateArgs),
    /// OCI: start a created container's program.
    Start(IdArg),
    /// OCI: print a container's state as JSON.
    State(IdArg),
    /// OCI: send a signal to a container (default SIGTERM).
    Kill(KillArgs),
    /// OCI: remove a stopped container (--force: kill it first).
    Delete(DeleteArgs),
    /// OCI: create and start a container; wait for it unless --detach.
    Run(RunArgs),
    /// OCI: list containers.
    List(ListArgs),
    /// OCI: list a running container's processes (pids inside the sandbox).
    Ps(PsArgs),
    /// OCI: run another process in a running container.
    Exec(ExecArgs),
    /// OCI: pause every process of a running container.
    Pause(IdArg),
    /// OCI: resume a paused container.
    Resume(IdArg),
    /// OCI: print a container's resource use as JSON events, every --interval until it
    /// stops (--stats: once).
    Events(EventsArgs),
    /// OCI: write a starting config.json.
    Spec(SpecArgs),
    /// OCI: print the runtime's supported features as JSON.
    Features,
    /// Internal: a container's monitor process (started by create/run).
    #[command(hide = true)]
    OciMonitor(MonitorArgs),
}

#[derive(Args, Debug)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// The process to run, as an OCI process JSON file (instead of ARGS).
    #[arg(long, short = 'p', value_name = "FILE")]
    pub process: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable (repeatable).
    #[arg(long, short = 'e', value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Give the process a terminal (from --console-socket, or this one's).
    #[arg(long, short = 't')]
    pub tty: bool,
    /// Return once the process has started (a waiter process stays behind for it).
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Write the pid of the host process that waits for it (and exits with its
    /// status) to FILE.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Send the terminal's master fd to this unix socket.
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// UID[:GID] to run as.
    #[arg(long, short = 'u', value_name = "UID[:GID]")]
    pub user: Option<String>,
    /// Supplementary group ids (repeatable).
    #[arg(long, short = 'g', value_name = "GID")]
    pub additional_gids: Vec<u32>,
    /// Set no_new_privs for the process.
    #[arg(long)]
    pub no_new_privs: bool,
    /// A capability to add to the process's bounding, effective and permitted sets
    /// (repeatable; "CAP_SYS_ADMIN").
    #[arg(long, short = 'c', value_name = "CAP")]
    pub cap: Vec<String>,
    /// Extra fds to pass (only 0 is supported).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub preserve_fds: u32,
    /// Accepted for runc compatibility.
    #[arg(long, value_name = "LABEL")]
    pub process_label: Option<String>,
    /// Accepted for runc compatibility.
    #[arg(long, value_name = "PROFILE")]
    pub apparmor: Option<String>,
    /// Accepted for runc compatibility.
    #[arg(long)]
    pub ignore_paused: bool,
    /// Internal: this is the background waiter of a --detach'ed exec; say on this fd
    /// when the process has started.
    #[arg(long, hide = true)]
    pub started_fd: Option<i32>,
    /// The container id.
    pub id: String,
    /// The command and its arguments.
    #[arg(value_name = "ARGS")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Print the statistics once and exit.
    #[arg(long)]
    pub stats: bool,
    /// How often to print them: a number with a unit (ms, s, m).
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub interval: String,
    /// The container id.
    pub id: String,
}

#[derive(Args, Debug)]
pub struct IdArg {
    /// The container id.
    pub id: String,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// The bundle directory (config.json and the root filesystem).
    #[arg(long, short = 'b', default_value = ".", value_name = "DIR")]
    pub bundle: PathBuf,
    /// Write the container's process id to FILE.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Send the terminal's master fd to this unix socket (not supported yet).
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Accepted for runc compatibility (the sentry never pivots the host's root).
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// The container id.
    pub id: String,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The bundle directory.
    #[arg(long, short = 'b', default_value = ".", value_name = "DIR")]
    pub bundle: PathBuf,
    /// Write the container's process id to FILE.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Send the terminal's master fd to this unix socket (not supported yet).
    #[arg(long, value_name = "PATH")]
    pub console_socket: Option<PathBuf>,
    /// Return once the container has started.
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Accepted for runc compatibility.
    #[arg(long)]
    pub no_pivot: bool,
    /// Accepted for runc compatibility.
    #[arg(long)]
    pub no_new_keyring: bool,
    /// The container id.
    pub id: String,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Send to every process of the container.
    #[arg(long, short = 'a')]
    pub all: bool,
    /// The container id.
    pub id: String,
    /// The signal: a number or a name (TERM, SIGTERM).
    pub signal: Option<String>,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Kill the container first if it is still running.
    #[arg(long, short = 'f')]
    pub force: bool,
    /// The container id.
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// table or json.
    #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Only the ids.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct PsArgs {
    /// table or json (an array of pids).
    #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// The container id.
    pub id: String,
}

#[derive(Args, Debug)]
pub struct SpecArgs {
    /// Where to write config.json (default: the current directory).
    #[arg(long, short = 'b', value_name = "DIR")]
    pub bundle: Option<PathBuf>,
    /// Accepted for runc compatibility.
    #[arg(long)]
    pub rootless: bool,
}

#[derive(Args, Debug)]
pub struct MonitorArgs {
    /// Where to say the sandbox is ready.
    #[arg(long)]
    pub ready_fd: i32,
    /// The container's terminal (a pty slave), if it has one.
    #[arg(long)]
    pub console_fd: Option<i32>,
    /// The container id.
    pub id: String,
}

/// Runs CMD sandboxed. The sandbox sees the host's `/` (or --rootfs) read-only, the
/// caller's working directory and environment, and the caller's stdin/stdout/stderr.
/// moat exits with the command's exit status (128+N if it was killed by signal N).
#[derive(Args, Debug)]
#[command(trailing_var_arg = true)]
pub struct DoArgs {
    /// Use DIR as the root filesystem instead of the host's `/`.
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,
    /// Where the sandbox's writes to its root go: `memory` (an overlay in the sentry's
    /// memory, discarded at exit; the host's files never change) or `none` (no overlay:
    /// writes go to the root directory's files on the host, through the gofer).
    #[arg(long, default_value = "memory", value_name = "MODE", value_parser = ["memory", "none"])]
    pub overlay: String,
    /// Working directory inside the sandbox (default: the current directory, or `/`
    /// with --rootfs).
    #[arg(long, value_name = "DIR")]
    pub cwd: Option<PathBuf>,
    /// Set an environment variable for the command (repeatable).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Start the command with an empty environment (then add -e variables).
    #[arg(long)]
    pub env_clear: bool,
    /// The sandbox's hostname.
    #[arg(long, default_value = "moat", value_name = "NAME")]
    pub hostname: String,
    /// The most processes and threads the sandbox may have at once (fork and clone
    /// fail with EAGAIN beyond it).
    #[arg(long, default_value_t = sentry::kernel::DEFAULT_PIDS_LIMIT, value_name = "N")]
    pub pids_limit: usize,
    /// The most memory the sandbox's processes may use at once (bytes, or with a k, m
    /// or g suffix); beyond it the process with the most memory is killed, as by a
    /// memory cgroup's OOM killer.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Bind the host's HOST (a directory or a file) at GUEST in the sandbox, writable
    /// unless `:ro` is given; GUEST must exist in the root (repeatable).
    #[arg(short = 'v', long = "volume", value_name = "HOST:GUEST[:ro]")]
    pub volumes: Vec<String>,
    /// Hand the terminal on stdin to the command as its controlling terminal: job
    /// control works inside (an interactive shell can run `moat do --tty /bin/bash`),
    /// and ^C, ^Z, ^\ and window-size changes go to the sandbox's foreground job.
    #[arg(long)]
    pub tty: bool,
    /// The command and its arguments.
    #[arg(required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Args, Debug)]
pub struct BootArgs {
    /// The gofer channel.
    #[arg(long)]
    pub gofer_fd: i32,
    /// Where the JSON boot configuration is read from.
    #[arg(long)]
    pub config_fd: i32,
    /// The OCI runtime's control channel (start, forwarded signals).
    #[arg(long)]
    pub control_fd: Option<i32>,
    /// Where the debug log goes.
    #[arg(long)]
    pub log_fd: Option<i32>,
}

#[derive(Args, Debug)]
pub struct GoferArgs {
    /// The directory to serve.
    #[arg(long = "tree")]
    pub root: PathBuf,
    /// The sentry's channel.
    #[arg(long)]
    pub sock_fd: i32,
    /// Allow writes to the served tree.
    #[arg(long)]
    pub writable: bool,
    /// Also serve this tree (a bind mount's source), `ro:PATH` or `rw:PATH`; the N-th
    /// one is attached as extra tree N.
    #[arg(long, value_name = "ro|rw:PATH")]
    pub bind: Vec<String>,
    /// Where the debug log goes.
    #[arg(long)]
    pub log_fd: Option<i32>,
}

#[derive(Args, Debug)]
pub struct SyscallsArgs {
    /// As a markdown table.
    #[arg(long)]
    pub markdown: bool,
}
