//! Booting the sentry: connect to the gofer, build the mount tree, create the kernel and
//! run the sandbox's first process until it exits.

use std::os::fd::OwnedFd;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tracing::info;

use crate::errno::Errno;
use crate::fs::dev::new_devfs;
use crate::fs::gofer::GoferFs;
use crate::fs::host::HostFile;
use crate::fs::overlay::OverlayFs;
use crate::fs::proc::ProcFs;
use crate::fs::tmpfs::{TmpFs, TmpfsLimits};
use crate::fs::tty::Tty;
use crate::kernel::caps::CapSets;
use crate::kernel::creds::Credentials;
use crate::kernel::fd_table::FdTable;
use crate::kernel::fs_context::FsContext;
use crate::kernel::vdso::{HostTsc, Vdso};
use crate::kernel::{ExitStatus, Kernel, KernelOptions, SyscallTable, Task, ThreadGroup, Uts};
use crate::mm::{MemoryFile, MemoryManager};
use crate::platform::ptrace::PtracePlatform;
use crate::platform::{NoAddressSpace, Platform};
use crate::vfs::{File, FileType, MountFlags, MountNamespace, NewOwner, Resolver};

/// Everything the sentry needs to start a sandbox, as the CLI hands it over.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BootConfig {
    /// The command and its arguments (argv[0] is looked up in the guest's PATH when it
    /// has no slash).
    pub argv: Vec<Vec<u8>>,
    /// The environment, as `KEY=VALUE` strings.
    pub env: Vec<Vec<u8>>,
    /// Working directory inside the sandbox.
    pub cwd: Vec<u8>,
    /// The sandbox's hostname.
    pub hostname: String,
    /// Guest user id.
    pub uid: u32,
    /// Guest group id.
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Print a line per guest syscall.
    pub strace: bool,
    /// The platform name.
    pub platform: String,
    /// How the root filesystem is mounted.
    pub root: RootMode,
    /// The most guest threads that may exist at once.
    #[serde(default = "default_pids_limit")]
    pub pids_limit: usize,
    /// Mounts beyond the sandbox's own /proc, /sys, /dev and /dev/shm, in order.
    #[serde(default)]
    pub mounts: Vec<MountSpec>,
    /// Resource limits of the first process, overriding the defaults: (RLIMIT_*, soft,
    /// hard).
    #[serde(default)]
    pub rlimits: Vec<(u32, u64, u64)>,
    /// The first process starts with no_new_privs set.
    #[serde(default)]
    pub no_new_privs: bool,
    /// The first process's umask (default 022).
    #[serde(default)]
    pub umask: Option<u32>,
    /// The caller's stdin is a terminal to hand over as the controlling terminal of
    /// the sandbox's init (`moat do --tty`).
    #[serde(default)]
    pub tty: bool,
    /// The sandbox's NIS domain name (default "(none)").
    #[serde(default)]
    pub domainname: Option<String>,
    /// Paths hidden from the guest (an OCI config's maskedPaths): a directory gets an
    /// empty read-only tmpfs over it, anything else /dev/null. Missing ones are skipped.
    #[serde(default)]
    pub masked_paths: Vec<String>,
    /// Paths made read-only (readonlyPaths): each is bind-mounted on itself read-only.
    #[serde(default)]
    pub readonly_paths: Vec<String>,
    /// The first process's /proc/[pid]/oom_score_adj (-1000..=1000).
    #[serde(default)]
    pub oom_score_adj: Option<i32>,
    /// The most guest memory (bytes) in use at once; beyond it the OOM killer kills
    /// the process with the most resident memory.
    #[serde(default)]
    pub memory_limit: Option<u64>,
    /// IPC sysctls to set (names under /proc/sys/kernel: shmmax, sem, msgmnb...).
    #[serde(default)]
    pub ipc_sysctls: Vec<(String, String)>,
    /// A host network namespace (a path such as /run/netns/NAME) the sentry joins
    /// instead of making an empty one of its own (an OCI config's network namespace
    /// path).
    #[serde(default)]
    pub netns: Option<String>,
    /// The first process's capability sets (None: Linux's for its uid).
    #[serde(default)]
    pub capabilities: Option<CapSets>,
    /// A seccomp filter (classic BPF) attached to every process started from outside
    /// (an OCI config's `linux.seccomp`).
    #[serde(default)]
    pub seccomp: Option<Vec<crate::kernel::bpf::Instruction>>,
}

/// A mount the configuration asks for (an OCI config's `mounts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountSpec {
    /// Where, in the sandbox (absolute). It must exist in the root filesystem.
    pub destination: String,
    /// What.
    pub kind: MountKind,
    /// Mount options.
    pub read_only: bool,
    /// noexec.
    pub no_exec: bool,
    /// nosuid.
    pub no_suid: bool,
    /// nodev.
    pub no_dev: bool,
}

/// What a [`MountSpec`] mounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MountKind {
    /// A fresh tmpfs: `size` in bytes (default: the sandbox's tmpfs limit) and the mode
    /// of its root (default 01777).
    Tmpfs {
        /// Size limit in bytes.
        size: Option<u64>,
        /// Permission bits of the root directory.
        mode: Option<u32>,
    },
    /// Extra tree `index` the gofer serves (a bind mount of a host directory or file).
    Bind {
        /// The gofer's extra tree number.
        index: u32,
    },
    /// The sandbox's procfs.
    Proc,
    /// The sandbox's sysfs.
    Sysfs,
}

/// How the sandbox's root filesystem is built from the tree the gofer serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RootMode {
    /// The gofer's tree, read-only.
    ReadOnly,
    /// A writable overlay: changes go to a tmpfs in the sentry's memory, never to the
    /// host.
    Overlay,
    /// The gofer's tree, writable: changes are made to the host's files (by the gofer,
    /// which must have been started writable), as runc does for an OCI bundle whose
    /// root is not read-only.
    WriteThrough,
}

/// A process to start in the sandbox: its init, or one started later from outside (an
/// OCI `exec`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProcessSpec {
    /// The command and its arguments (argv[0] is looked up in the guest's PATH when it
    /// has no slash).
    pub argv: Vec<Vec<u8>>,
    /// The environment, as `KEY=VALUE` strings.
    pub env: Vec<Vec<u8>>,
    /// Working directory inside the sandbox.
    pub cwd: Vec<u8>,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Resource limits overriding the defaults: (RLIMIT_*, soft, hard).
    #[serde(default)]
    pub rlimits: Vec<(u32, u64, u64)>,
    /// Start with no_new_privs set.
    #[serde(default)]
    pub no_new_privs: bool,
    /// The umask (default 022).
    #[serde(default)]
    pub umask: Option<u32>,
    /// stdin is a terminal to make the process's controlling terminal (it leads a
    /// session of its own).
    #[serde(default)]
    pub terminal: bool,
    /// Its /proc/[pid]/oom_score_adj.
    #[serde(default)]
    pub oom_score_adj: Option<i32>,
    /// Its capability sets before it execs its program (None: Linux's for its uid).
    #[serde(default)]
    pub capabilities: Option<CapSets>,
    /// A seccomp filter (classic BPF) the process starts with.
    #[serde(default)]
    pub seccomp: Option<Vec<crate::kernel::bpf::Instruction>>,
}

impl BootConfig {
    /// The sandbox's first process.
    pub fn init_process(&self) -> ProcessSpec {
        ProcessSpec {
            argv: self.argv.clone(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            uid: self.uid,
            gid: self.gid,
            groups: self.groups.clone(),
            rlimits: self.rlimits.clone(),
            no_new_privs: self.no_new_privs,
            umask: self.umask,
            terminal: self.tty,
            oom_score_adj: self.oom_score_adj,
            capabilities: self.capabilities,
            seccomp: self.seccomp.clone(),
        }
    }
}

fn default_pids_limit() -> usize {
    crate::kernel::DEFAULT_PIDS_LIMIT
}

/// Why a sandbox could not start.
#[derive(Debug, Error)]
pub enum BootError {
    /// The gofer could not be reached.
    #[error("cannot talk to the gofer: {0}")]
    Gofer(#[from] gofer::Error),
    /// The platform is unknown.
    #[error("unknown platform {0:?} (available: ptrace)")]
    Platform(String),
    /// A kernel resource could not be set up.
    #[error("cannot set up the sandbox kernel: {0}")]
    Kernel(Errno),
    /// The command could not be started.
    #[error("cannot run {path}: {errno}")]
    Exec {
        /// The command.
        path: String,
        /// Why.
        errno: Errno,
    },
    /// A configured mount could not be made.
    #[error("mount at {destination}: {reason}")]
    Mount {
        /// Where.
        destination: String,
        /// Why.
        reason: String,
    },
    /// The working directory does not exist in the sandbox.
    #[error("working directory {path} does not exist in the sandbox: {errno}")]
    Cwd {
        /// The directory.
        path: String,
        /// Why.
        errno: Errno,
    },
    /// The seccomp filter is one the kernel refuses.
    #[error("the process's seccomp filter is invalid: {0}")]
    Seccomp(Errno),
    /// A configured sysctl value is refused.
    #[error("sysctl kernel.{name}: {errno}")]
    Sysctl {
        /// Its name under /proc/sys/kernel.
        name: String,
        /// Why.
        errno: Errno,
    },
}

impl BootError {
    /// The exit code `moat do` reports for this error (126/127 as a shell would).
    pub fn exit_code(&self) -> i32 {
        match self {
            BootError::Exec { errno, .. } if errno.code() == libc::ENOENT => 127,
            BootError::Exec { .. } => 126,
            _ => 125,
        }
    }
}

const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A sandbox whose kernel is set up (gofer connected, mounts built, memory file
/// created) but whose first process has not started. The caller confines the sentry
/// between [`prepare`] and [`Sandbox::run`]: from then on the sentry needs no new host
/// resources.
pub struct Sandbox {
    kernel: Arc<Kernel>,
    config: BootConfig,
    files: Arc<FdTable>,
    tty: Option<Arc<Tty>>,
}

/// Sets up the sandbox kernel. `host_tsc` says whether the vDSO may read the clock
/// from the TSC ([`crate::kernel::vdso::probe_host_tsc`], which the caller runs while
/// it can still see the host's /proc and /sys).
pub fn prepare(
    config: BootConfig,
    gofer_sock: OwnedFd,
    stdio: Vec<Option<OwnedFd>>,
    syscalls: Arc<dyn SyscallTable>,
    host_tsc: HostTsc,
) -> Result<Sandbox, BootError> {
    let platform: Arc<dyn Platform> = match config.platform.as_str() {
        "ptrace" => Arc::new(PtracePlatform),
        other => return Err(BootError::Platform(other.to_string())),
    };
    let (client, root_handle, root_stat) = gofer::Client::connect(gofer_sock)?;
    let client = Arc::new(client);
    let read_only = config.root != RootMode::WriteThrough;
    let lower = GoferFs::new_root(client.clone(), root_handle, root_stat, read_only);
    let memory_file = Arc::new(MemoryFile::new().map_err(BootError::Kernel)?);
    if let Some(limit) = config.memory_limit {
        memory_file.set_limit(limit);
    }
    let mounts = match config.root {
        RootMode::ReadOnly => {
            let flags = MountFlags {
                read_only: true,
                ..Default::default()
            };
            MountNamespace::new(lower, "9p", "/".to_string(), flags)
        }
        RootMode::WriteThrough => {
            MountNamespace::new(lower, "9p", "/".to_string(), MountFlags::default())
        }
        RootMode::Overlay => {
            let upper = TmpFs::new_root(
                memory_file.clone(),
                TmpfsLimits::default(),
                NewOwner {
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                },
            );
            let root = OverlayFs::new_root(lower, upper).map_err(BootError::Kernel)?;
            MountNamespace::new(
                root,
                "overlay",
                "overlay".to_string(),
                MountFlags::default(),
            )
        }
    };
    let devpts = mount_devfs(&mounts);
    // POSIX shared memory: the sandbox's own, like the rest of its /dev.
    mount_tmpfs(&mounts, &memory_file, "/dev/shm", false);
    // An image's empty /tmp gets a tmpfs, as gVisor does; a /tmp with files in it
    // (`moat do` on the host's tree) stays as it is, writable through the overlay.
    mount_tmpfs(&mounts, &memory_file, "/tmp", true);

    let uts = Uts {
        hostname: config.hostname.clone(),
        domainname: config
            .domainname
            .clone()
            .unwrap_or_else(|| "(none)".to_string()),
    };
    let vdso = Vdso::new(&memory_file, &host_tsc).map_err(BootError::Kernel)?;
    let kernel = Kernel::new(
        platform,
        memory_file,
        mounts,
        uts,
        syscalls,
        KernelOptions {
            strace: config.strace,
            pids_limit: config.pids_limit,
        },
        vdso,
    );

    let _ = kernel.devpts.set(devpts);
    for (name, value) in &config.ipc_sysctls {
        let Some(&(_, ctl)) = crate::kernel::ipc::sysctl::Sysctl::ALL
            .iter()
            .find(|(n, _)| n == name)
        else {
            return Err(BootError::Sysctl {
                name: name.clone(),
                errno: crate::errno!(ENOENT),
            });
        };
        ctl.write(&kernel.ipc, value.as_bytes())
            .map_err(|errno| BootError::Sysctl {
                name: name.clone(),
                errno,
            })?;
    }
    mount_procfs(&kernel);
    mount_at(
        &kernel.mounts,
        "/sys",
        crate::fs::sys::new_sysfs(&crate::fs::sys::SysConfig::for_sandbox(&kernel)),
        "sysfs",
        MountFlags {
            read_only: true,
            no_exec: true,
            no_suid: true,
            no_dev: true,
        },
    );

    for m in &config.mounts {
        mount_configured(&kernel, &client, m)?;
    }
    for p in &config.readonly_paths {
        make_read_only(&kernel.mounts, p);
    }
    for p in &config.masked_paths {
        mask(&kernel.mounts, &kernel.memory_file, p);
    }

    let (files, tty) = stdio_files(&kernel, stdio, config.tty)?;
    if let Some(t) = &tty {
        let _ = kernel.console.set(t.clone());
    }
    Ok(Sandbox {
        kernel,
        config,
        files,
        tty,
    })
}

/// The file table of a process whose fds 0, 1 and 2 are the host's `stdio`; with
/// `terminal`, a terminal on stdin becomes a sandbox terminal (returned) that stdout
/// and stderr share when they are the same terminal.
fn stdio_files(
    kernel: &Arc<Kernel>,
    stdio: Vec<Option<OwnedFd>>,
    terminal: bool,
) -> Result<(Arc<FdTable>, Option<Arc<Tty>>), BootError> {
    let files = Arc::new(FdTable::default());
    let mut tty: Option<Arc<Tty>> = None;
    // The sandbox's console node, for the first terminal (the init's) only.
    let console = (kernel.console.get().is_none())
        .then(|| path_at(&kernel.mounts, "/dev/console"))
        .flatten()
        .filter(|p| p.file_type() == FileType::CharDevice);
    let mut host_rdev = 0;
    for (fd, host) in stdio.into_iter().enumerate() {
        let Some(host) = host else { continue };
        let hf = Arc::new(HostFile::new(host).map_err(BootError::Kernel)?);
        let mut at = None;
        if terminal && hf.is_tty() {
            // stdin's terminal is the sandbox's; stdout and stderr on it share it. The
            // init's is the sandbox's console: its fds are opened at /dev/console.
            match &tty {
                None if fd == 0 => {
                    host_rdev = hf.rdev();
                    let rdev = if console.is_some() {
                        crate::vfs::makedev(5, 1)
                    } else {
                        host_rdev
                    };
                    let t = Tty::new_host(Arc::downgrade(kernel), rdev, hf.clone());
                    hf.attach_tty(t.clone());
                    tty = Some(t);
                    at = console.clone();
                }
                Some(t) if hf.rdev() == host_rdev => {
                    hf.attach_tty(t.clone());
                    at = console.clone();
                }
                _ => {}
            }
        }
        let flags = hf.host_flags();
        let file = File::new(hf, flags & !(libc::O_CLOEXEC as u32), at);
        files
            .install_at(fd as i32, file, false, 1024)
            .map_err(BootError::Kernel)?;
    }
    Ok((files, tty))
}

impl Sandbox {
    /// The host terminal handed over with `moat do --tty`, if any: terminal signals
    /// the host sends the sentry go to its foreground process group.
    pub fn terminal(&self) -> Option<Arc<Tty>> {
        self.tty.clone()
    }

    /// Starts the sandbox's first process and runs it to completion.
    pub fn run(self) -> Result<ExitStatus, BootError> {
        self.load()?.run()
    }

    /// Loads the sandbox's first process (its program is found, read and mapped, so a
    /// missing or broken executable fails here) without running it: an OCI `create`.
    pub fn load(self) -> Result<LoadedSandbox, BootError> {
        let Sandbox {
            kernel,
            config,
            files,
            tty,
        } = self;
        // The init task runs on its own thread: the thread that creates a stub traces it.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let init_kernel = kernel.clone();
        std::thread::Builder::new()
            .name("task-1".to_string())
            .spawn(
                move || match new_process(&init_kernel, &config.init_process(), files, tty) {
                    Ok(task) => {
                        let _ = started_tx.send(Ok(()));
                        if go_rx.recv().is_ok() {
                            let status = task.run();
                            info!(?status, "init's first thread exited");
                        }
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                },
            )
            .map_err(|e| BootError::Kernel(Errno::from_io(&e)))?;
        match started_rx.recv() {
            Ok(Ok(())) => Ok(LoadedSandbox { kernel, go: go_tx }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BootError::Kernel(crate::errno!(EIO))),
        }
    }
}

/// A sandbox whose first process is loaded and waits to run.
pub struct LoadedSandbox {
    kernel: Arc<Kernel>,
    go: std::sync::mpsc::Sender<()>,
}

impl LoadedSandbox {
    /// A handle that delivers signals from outside the sandbox.
    pub fn signals(&self) -> OutsideSignals {
        OutsideSignals {
            kernel: self.kernel.clone(),
        }
    }

    /// Runs the first process; returns when it has exited and the sandbox is shut down.
    pub fn run(self) -> Result<ExitStatus, BootError> {
        let LoadedSandbox { kernel, go } = self;
        go.send(())
            .map_err(|_| BootError::Kernel(crate::errno!(EIO)))?;
        // The sandbox lives as long as the init *process* (its first thread may end
        // first, e.g. when another thread execs).
        let status = kernel.wait_for_init();
        info!(?status, "init exited");
        // Init is gone: so is everything else in the sandbox, as in a pid namespace.
        let left = kernel.shutdown(std::time::Duration::from_secs(5));
        if left > 0 {
            tracing::warn!(left, "tasks still running at shutdown");
        }
        Ok(status)
    }
}

/// Signals sent to the sandbox from the host, as from an ancestor pid namespace: the
/// sender's pid is 0, and init ignores those it has no handler for (SIGKILL never
/// takes this path: the runtime kills the sandbox's host processes instead).
pub struct OutsideSignals {
    kernel: Arc<Kernel>,
}

/// One process of the sandbox, as `moat ps` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// Its pid in the sandbox.
    pub pid: i32,
    /// Its parent's pid (0 for init).
    pub ppid: i32,
    /// Its command name.
    pub comm: String,
}

impl OutsideSignals {
    /// The sandbox's processes, by pid.
    pub fn processes(&self) -> Vec<ProcessInfo> {
        let tree = self.kernel.tree.lock();
        let mut out: Vec<ProcessInfo> = tree
            .processes()
            .iter()
            .map(|tg| ProcessInfo {
                pid: tg.tgid,
                ppid: tree.parent_of(tg.tgid),
                comm: tg
                    .tasks
                    .lock()
                    .first()
                    .map(|t| String::from_utf8_lossy(&t.comm()).into_owned())
                    .unwrap_or_default(),
            })
            .collect();
        out.sort_by_key(|p| p.pid);
        out
    }

    /// Sends `signo` to the sandbox's init process, or with `all` to every process.
    /// Unknown signal numbers are EINVAL; a sandbox whose init has not started yet (or
    /// has exited) is ESRCH.
    pub fn send(&self, signo: i32, all: bool) -> Result<(), Errno> {
        if !(1..=64).contains(&signo) {
            return Err(crate::errno!(EINVAL));
        }
        let targets = {
            let tree = self.kernel.tree.lock();
            if all {
                tree.processes()
            } else {
                tree.process(1).into_iter().collect()
            }
        };
        if targets.is_empty() {
            return Err(crate::errno!(ESRCH));
        }
        let info = crate::kernel::signal::SigInfo::from_process(
            signo,
            crate::kernel::signal::SI_USER,
            0,
            0,
        );
        for t in targets {
            t.send_signal(info);
        }
        Ok(())
    }
}

/// The sandbox's resource use, as `moat events` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Guest threads now.
    pub pids: usize,
    /// Guest memory in use (the memory file's allocated pages), bytes.
    pub memory_bytes: u64,
    /// CPU time of the live processes and the children they have waited for: in guest
    /// code (ns).
    pub cpu_user_ns: u64,
    /// The same, in the sentry working for the guest (ns).
    pub cpu_kernel_ns: u64,
    /// The memory limit in bytes, if any.
    #[serde(default)]
    pub memory_limit: Option<u64>,
    /// Processes killed because the memory limit was reached.
    #[serde(default)]
    pub oom_kills: u64,
}

impl OutsideSignals {
    /// Pauses every guest thread (OCI `pause`). Returns whether all had stopped within
    /// two seconds (the rest stop before they run guest code again).
    pub fn pause(&self) -> bool {
        self.kernel
            .freezer
            .freeze(&self.kernel.tree, std::time::Duration::from_secs(2))
    }

    /// Lets the guest run again (OCI `resume`).
    pub fn resume(&self) {
        self.kernel.freezer.thaw();
    }

    /// Whether the sandbox is paused.
    pub fn is_paused(&self) -> bool {
        self.kernel.freezer.is_frozen()
    }

    /// The sandbox's resource use now.
    pub fn stats(&self) -> Stats {
        let (processes, pids) = {
            let tree = self.kernel.tree.lock();
            (tree.processes(), tree.thread_count())
        };
        let mut cpu = crate::kernel::cputime::CpuTimes::default();
        for tg in processes {
            cpu = cpu + tg.cpu_times() + tg.usage.lock().children.times;
        }
        Stats {
            pids,
            memory_bytes: self.kernel.memory_file.frames_in_use() * crate::platform::PAGE_SIZE,
            cpu_user_ns: cpu.user.as_nanos() as u64,
            cpu_kernel_ns: cpu.sys.as_nanos() as u64,
            memory_limit: self.kernel.memory_file.limit(),
            oom_kills: self
                .kernel
                .oom_kills
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Starts a process in the running sandbox (an OCI `exec`) with the host's `stdio`
    /// as its fds 0-2, running on a task thread of its own. Fails if the program cannot
    /// be loaded, the sandbox is ending, or the pids limit is reached (EAGAIN).
    pub fn exec(
        &self,
        spec: &ProcessSpec,
        stdio: Vec<Option<OwnedFd>>,
    ) -> Result<ExecProcess, BootError> {
        let kernel = self.kernel.clone();
        if kernel.is_shutting_down() || kernel.tree.lock().process(1).is_none() {
            return Err(BootError::Kernel(crate::errno!(ESRCH)));
        }
        if kernel.tree.lock().thread_count() >= kernel.options.pids_limit {
            return Err(BootError::Kernel(crate::errno!(EAGAIN)));
        }
        let (files, tty) = stdio_files(&kernel, stdio, spec.terminal)?;
        let spec = spec.clone();
        // The thread that creates a stub traces it: the task is made on its own thread.
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("task-exec".to_string())
            .spawn(move || match new_process(&kernel, &spec, files, tty) {
                Ok(task) => {
                    let _ = started_tx.send(Ok(task.tg.clone()));
                    let status = task.run();
                    info!(?status, "an exec'd process's first thread exited");
                }
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                }
            })
            .map_err(|e| BootError::Kernel(Errno::from_io(&e)))?;
        match started_rx.recv() {
            Ok(Ok(tg)) => Ok(ExecProcess { tg }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(BootError::Kernel(crate::errno!(EIO))),
        }
    }
}

/// A process started from outside the sandbox (see [`OutsideSignals::exec`]).
pub struct ExecProcess {
    tg: Arc<ThreadGroup>,
}

impl ExecProcess {
    /// Its pid in the sandbox.
    pub fn pid(&self) -> i32 {
        self.tg.tgid
    }

    /// Sends it `signo` from outside the sandbox (sender pid 0).
    pub fn signal(&self, signo: i32) -> Result<(), Errno> {
        if !(1..=64).contains(&signo) {
            return Err(crate::errno!(EINVAL));
        }
        if self.tg.tasks.lock().is_empty() {
            return Err(crate::errno!(ESRCH));
        }
        self.tg
            .send_signal(crate::kernel::signal::SigInfo::from_process(
                signo,
                crate::kernel::signal::SI_USER,
                0,
                0,
            ));
        Ok(())
    }

    /// Sends `signo` to the foreground job of the process's terminal (what a key on
    /// it, or a window change, does); false if it has no terminal.
    pub fn signal_terminal(&self, signo: i32) -> bool {
        let tty = self.tg.tty.lock().clone();
        match tty {
            Some(t) => {
                t.signal_foreground(signo);
                true
            }
            None => false,
        }
    }

    /// Waits until every thread of the process has exited; returns its status.
    pub fn wait(&self) -> ExitStatus {
        let waiter = Arc::new(crate::kernel::wait::Waiter::default());
        loop {
            waiter.prepare();
            let _registration = self.tg.exited.register(&waiter);
            if self.tg.tasks.lock().is_empty() {
                if let Some(status) = *self.tg.exit_status.lock() {
                    return status;
                }
            }
            waiter.sleep(None);
        }
    }
}

/// Makes one configured mount. Its destination must exist, as a directory (or, for a
/// bind mount of a file, as a non-directory).
fn mount_configured(
    kernel: &Arc<Kernel>,
    client: &Arc<gofer::Client>,
    m: &MountSpec,
) -> Result<(), BootError> {
    let fail = |reason: String| BootError::Mount {
        destination: m.destination.clone(),
        reason,
    };
    let root = kernel.mounts.root();
    let resolver = Resolver {
        mounts: &kernel.mounts,
        root: &root,
        creds: None,
    };
    let at = resolver
        .resolve(&root, m.destination.as_bytes(), true)
        .map_err(|e| fail(format!("the destination does not exist in the root ({e})")))?;
    let flags = MountFlags {
        read_only: m.read_only,
        no_exec: m.no_exec,
        no_suid: m.no_suid,
        no_dev: m.no_dev,
    };
    let want_dir = |inode: &Arc<dyn crate::vfs::Inode>| -> Result<(), BootError> {
        let is_dir = inode.file_type() == FileType::Directory;
        if is_dir != (at.file_type() == FileType::Directory) {
            return Err(fail(if is_dir {
                "a directory cannot be mounted on a file".into()
            } else {
                "a file cannot be mounted on a directory".into()
            }));
        }
        Ok(())
    };
    let (inode, fs_type, source): (Arc<dyn crate::vfs::Inode>, &'static str, String) = match &m.kind
    {
        MountKind::Tmpfs { size, mode } => {
            let mut limits = TmpfsLimits::default();
            if let Some(bytes) = size {
                limits.max_pages = bytes.div_ceil(crate::platform::PAGE_SIZE).max(1);
            }
            let fs = TmpFs::new_root(
                kernel.memory_file.clone(),
                limits,
                NewOwner {
                    mode: mode.unwrap_or(0o1777) & 0o7777,
                    uid: 0,
                    gid: 0,
                },
            );
            (fs, "tmpfs", "tmpfs".to_string())
        }
        MountKind::Bind { index } => {
            let (handle, stat) = client
                .attach(*index)
                .map_err(|e| fail(format!("the gofer has no tree {index}: {e}")))?;
            let fs = GoferFs::new_root(client.clone(), handle, stat, m.read_only);
            (fs, "9p", m.destination.clone())
        }
        MountKind::Proc => {
            let proc_root = ProcFs::new_root(kernel);
            let mount =
                kernel
                    .mounts
                    .mount(&at, proc_root.clone(), "proc", "proc".to_string(), flags);
            crate::fs::proc::attach(&proc_root, &mount);
            return Ok(());
        }
        MountKind::Sysfs => (
            crate::fs::sys::new_sysfs(&crate::fs::sys::SysConfig::for_sandbox(kernel)),
            "sysfs",
            "sysfs".to_string(),
        ),
    };
    want_dir(&inode)?;
    kernel.mounts.mount(&at, inode, fs_type, source, flags);
    Ok(())
}

/// Mounts `root` at the directory `at`, if the root filesystem has it.
fn mount_at(
    mounts: &Arc<MountNamespace>,
    at: &str,
    root: Arc<dyn crate::vfs::Inode>,
    fs_type: &'static str,
    flags: MountFlags,
) -> Option<Arc<crate::vfs::Mount>> {
    let dir = dir_at(mounts, at)?;
    Some(mounts.mount(&dir, root, fs_type, fs_type.to_string(), flags))
}

/// What absolute path `at` names in the sandbox (following symlinks), if anything.
fn path_at(mounts: &Arc<MountNamespace>, at: &str) -> Option<crate::vfs::Path> {
    let root = mounts.root();
    let resolver = Resolver {
        mounts,
        root: &root,
        creds: None,
    };
    resolver.resolve(&root, at.as_bytes(), true).ok()
}

/// readonlyPaths: `at` bind-mounted on itself (with what is mounted below it),
/// read-only.
fn make_read_only(mounts: &Arc<MountNamespace>, at: &str) {
    let Some(path) = path_at(mounts, at) else {
        return;
    };
    let mount = mounts.bind(&path, &path, true);
    let mut flags = mount.flags();
    flags.read_only = true;
    mount.set_flags(flags);
}

/// maskedPaths: `at` hidden under an empty read-only tmpfs (a directory) or /dev/null.
fn mask(mounts: &Arc<MountNamespace>, mf: &Arc<MemoryFile>, at: &str) {
    let Some(path) = path_at(mounts, at) else {
        return;
    };
    let flags = MountFlags {
        read_only: true,
        no_exec: true,
        no_suid: true,
        no_dev: true,
    };
    if path.file_type() == FileType::Directory {
        let fs = TmpFs::new_root(
            mf.clone(),
            TmpfsLimits::default(),
            NewOwner {
                mode: 0o755,
                uid: 0,
                gid: 0,
            },
        );
        mounts.mount(&path, fs, "tmpfs", "tmpfs".to_string(), flags);
    } else if let Some(null) = path_at(mounts, "/dev/null") {
        mounts.bind(&path, &null, false).set_flags(flags);
    }
}

/// The directory at absolute path `at` in the root filesystem, if there is one.
fn dir_at(mounts: &Arc<MountNamespace>, at: &str) -> Option<crate::vfs::Path> {
    let root = mounts.root();
    let resolver = Resolver {
        mounts,
        root: &root,
        creds: None,
    };
    let dir = resolver.resolve(&root, at.as_bytes(), true).ok()?;
    (dir.file_type() == FileType::Directory).then_some(dir)
}

/// Mounts the sandbox's procfs on /proc, if the root has that directory.
fn mount_procfs(kernel: &Arc<Kernel>) {
    let proc_root = ProcFs::new_root(kernel);
    let flags = MountFlags {
        no_exec: true,
        no_suid: true,
        no_dev: true,
        ..Default::default()
    };
    if let Some(m) = mount_at(&kernel.mounts, "/proc", proc_root.clone(), "proc", flags) {
        crate::fs::proc::attach(&proc_root, &m);
    }
}

fn mount_devfs(mounts: &Arc<MountNamespace>) -> Arc<crate::fs::tty::devpts::DevPts> {
    let flags = MountFlags {
        no_exec: true,
        no_suid: true,
        ..Default::default()
    };
    let devpts = crate::fs::tty::devpts::DevPts::new();
    mount_at(mounts, "/dev", new_devfs(devpts.clone()), "devtmpfs", flags);
    let pts_flags = MountFlags {
        no_exec: true,
        no_suid: true,
        ..Default::default()
    };
    if let Some(m) = mount_at(mounts, "/dev/pts", devpts.root(), "devpts", pts_flags) {
        devpts.set_mounted(crate::vfs::Path {
            mount: m.clone(),
            dentry: m.root().clone(),
        });
    }
    devpts
}

/// Mounts a fresh tmpfs (mode 01777, owned by root, as /tmp and /dev/shm are) on the
/// directory `at`, if the root has one (and, with `only_if_empty`, if it is empty).
fn mount_tmpfs(mounts: &Arc<MountNamespace>, mf: &Arc<MemoryFile>, at: &str, only_if_empty: bool) {
    let Some(dir) = dir_at(mounts, at) else {
        return;
    };
    if only_if_empty && dir.inode().readdir().map_or(true, |e| e.len() > 2) {
        return;
    }
    let fs = TmpFs::new_root(
        mf.clone(),
        TmpfsLimits::default(),
        NewOwner {
            mode: 0o1777,
            uid: 0,
            gid: 0,
        },
    );
    let flags = MountFlags {
        no_suid: true,
        no_dev: true,
        ..Default::default()
    };
    mount_at(mounts, at, fs, "tmpfs", flags);
}

/// Finds `name` in the guest's PATH (as execvp does) when it has no slash.
fn find_in_path(task: &Task, name: &[u8], env: &[Vec<u8>]) -> Vec<u8> {
    if name.contains(&b'/') || name.is_empty() {
        return name.to_vec();
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix(b"PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(|&b| b == b':') {
        let dir = if dir.is_empty() { &b"."[..] } else { dir };
        let mut cand = dir.to_vec();
        cand.push(b'/');
        cand.extend_from_slice(name);
        if let Ok(p) = task.lookup(libc::AT_FDCWD, &cand, true) {
            if p.file_type() == FileType::Regular {
                return cand;
            }
        }
    }
    name.to_vec()
}

/// Creates a process (a new session, parent 0: the sandbox's init, or one started from
/// outside it) with `files`, and loads its program, ready to run on the calling thread.
fn new_process(
    kernel: &Arc<Kernel>,
    spec: &ProcessSpec,
    files: Arc<FdTable>,
    tty: Option<Arc<Tty>>,
) -> Result<Task, BootError> {
    let root = kernel.mounts.root();
    let resolver = Resolver {
        mounts: &kernel.mounts,
        root: &root,
        creds: None,
    };
    let cwd_str = String::from_utf8_lossy(&spec.cwd).into_owned();
    let cwd = resolver
        .resolve(&root, &spec.cwd, true)
        .map_err(|errno| BootError::Cwd {
            path: cwd_str.clone(),
            errno,
        })?;
    if cwd.file_type() != FileType::Directory {
        return Err(BootError::Cwd {
            path: cwd_str,
            errno: crate::errno!(ENOTDIR),
        });
    }
    let seccomp = spec
        .seccomp
        .as_deref()
        .map(crate::kernel::bpf::Program::new)
        .transpose()
        .map_err(BootError::Seccomp)?;
    let tid = kernel.allocate_tid();
    let mm = Arc::new(MemoryManager::new(
        kernel.memory_file.clone(),
        Arc::new(NoAddressSpace),
        0,
    ));
    let mut task = Task::new(
        kernel.clone(),
        tid,
        ThreadGroup::new(tid),
        mm,
        files,
        Arc::new(FsContext::new(
            kernel.mounts.clone(),
            root.clone(),
            cwd,
            spec.umask.unwrap_or(0o022) & 0o777,
        )),
        {
            let mut creds = Credentials::new(spec.uid, spec.gid, spec.groups.clone());
            creds.no_new_privs = spec.no_new_privs;
            if let Some(sets) = spec.capabilities {
                creds.caps = sets.normalized();
            }
            creds
        },
        kernel.platform.new_context(),
    );
    {
        let mut limits = task.tg.limits.lock();
        for &(resource, cur, max) in &spec.rlimits {
            if let Some(l) = limits.0.get_mut(resource as usize) {
                *l = crate::abi::Rlimit { cur, max };
            }
        }
    }
    if let Some(adj) = spec.oom_score_adj {
        let adj = adj.clamp(-1000, 1000) as i16;
        *task.tg.oom_score_adj.lock() = crate::kernel::OomScoreAdj {
            value: adj,
            min: adj.min(0),
        };
    }
    if let Some(program) = seccomp {
        crate::kernel::seccomp::install(&mut task, program).map_err(BootError::Seccomp)?;
    }
    kernel.tree.lock().add_process(task.tg.clone(), 0, 0);
    if let Some(t) = tty {
        t.make_controlling(&task.tg);
    }
    let argv0 = spec.argv.first().cloned().unwrap_or_default();
    let path = find_in_path(&task, &argv0, &spec.env);
    if let Err(errno) = crate::loader::execve(&mut task, &path, spec.argv.clone(), spec.env.clone())
    {
        let tgid = task.tg.tgid;
        kernel.tree.lock().forget_process(tgid);
        return Err(BootError::Exec {
            path: String::from_utf8_lossy(&argv0).into_owned(),
            errno,
        });
    }
    Ok(task)
}
