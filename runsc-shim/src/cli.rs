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
    #[command(subcommand)]
    pub command: Command,
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
}

/// Runs CMD sandboxed. The sandbox sees the host's `/` (or --rootfs) read-only, the
/// caller's working directory and environment, and the caller's stdin/stdout/stderr.
/// moat exits with the command's exit status (128+N if it was killed by signal N).
#[derive(Args, Debug)]
#[command(trailing_var_arg = true)]
pub struct DoArgs {
    /// How guest code is run: `ptrace` (PTRACE_SYSEMU in a stub process).
    #[arg(long, default_value = "ptrace", value_name = "NAME")]
    pub platform: String,
    /// Print every system call the sandboxed program makes (to stderr), like strace(1).
    #[arg(long)]
    pub strace: bool,
    /// Use DIR as the root filesystem instead of the host's `/`.
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,
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
    /// Hand the terminal on stdin to the command as its controlling terminal: job
    /// control works inside (an interactive shell can run `moat do --tty /bin/bash`),
    /// and ^C, ^Z, ^\ and window-size changes go to the sandbox's foreground job.
    #[arg(long)]
    pub tty: bool,
    /// Write the sentry's and gofer's debug log to FILE.
    #[arg(long, value_name = "FILE")]
    pub debug_log: Option<PathBuf>,
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
    /// Where the debug log goes.
    #[arg(long)]
    pub log_fd: Option<i32>,
}

#[derive(Args, Debug)]
pub struct GoferArgs {
    /// The directory to serve.
    #[arg(long)]
    pub root: PathBuf,
    /// The sentry's channel.
    #[arg(long)]
    pub sock_fd: i32,
    /// Allow writes to the served tree.
    #[arg(long)]
    pub writable: bool,
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
