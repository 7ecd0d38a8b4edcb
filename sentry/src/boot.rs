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
use crate::kernel::creds::Credentials;
use crate::kernel::fd_table::FdTable;
use crate::kernel::fs_context::FsContext;
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
    /// The caller's stdin is a terminal to hand over as the controlling terminal of
    /// the sandbox's init (`moat do --tty`).
    #[serde(default)]
    pub tty: bool,
}

/// How the sandbox's root filesystem is built from the tree the gofer serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RootMode {
    /// The gofer's tree, read-only.
    ReadOnly,
    /// A writable overlay: changes go to a tmpfs in the sentry's memory, never to the
    /// host.
    Overlay,
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
    /// The working directory does not exist in the sandbox.
    #[error("working directory {path} does not exist in the sandbox: {errno}")]
    Cwd {
        /// The directory.
        path: String,
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

/// Sets up the sandbox kernel.
pub fn prepare(
    config: BootConfig,
    gofer_sock: OwnedFd,
    stdio: Vec<Option<OwnedFd>>,
    syscalls: Arc<dyn SyscallTable>,
) -> Result<Sandbox, BootError> {
    let platform: Arc<dyn Platform> = match config.platform.as_str() {
        "ptrace" => Arc::new(PtracePlatform),
        other => return Err(BootError::Platform(other.to_string())),
    };
    let (client, root_handle, root_stat) = gofer::Client::connect(gofer_sock)?;
    let lower = GoferFs::new_root(Arc::new(client), root_handle, root_stat, true);
    let memory_file = Arc::new(MemoryFile::new().map_err(BootError::Kernel)?);
    let mounts = match config.root {
        RootMode::ReadOnly => {
            let flags = MountFlags {
                read_only: true,
                ..Default::default()
            };
            MountNamespace::new(lower, "9p", "/".to_string(), flags)
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
    mount_devfs(&mounts);
    // POSIX shared memory: the sandbox's own, like the rest of its /dev.
    mount_tmpfs(&mounts, &memory_file, "/dev/shm", false);
    // An image's empty /tmp gets a tmpfs, as gVisor does; a /tmp with files in it
    // (`moat do` on the host's tree) stays as it is, writable through the overlay.
    mount_tmpfs(&mounts, &memory_file, "/tmp", true);

    let uts = Uts {
        hostname: config.hostname.clone(),
        domainname: "(none)".to_string(),
    };
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
    );

    mount_procfs(&kernel);
    mount_at(
        &kernel.mounts,
        "/sys",
        crate::fs::sys::new_sysfs(&crate::fs::sys::SysConfig {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            pids_limit: config.pids_limit,
        }),
        "sysfs",
        MountFlags {
            read_only: true,
            no_exec: true,
            no_suid: true,
            no_dev: true,
        },
    );

    let files = Arc::new(FdTable::default());
    let mut tty: Option<Arc<Tty>> = None;
    for (fd, host) in stdio.into_iter().enumerate() {
        let Some(host) = host else { continue };
        let hf = Arc::new(HostFile::new(host).map_err(BootError::Kernel)?);
        if config.tty && hf.is_tty() {
            // stdin's terminal is the sandbox's; stdout and stderr on it share it.
            match &tty {
                None if fd == 0 => {
                    let t = Tty::new_host(Arc::downgrade(&kernel), hf.rdev(), hf.clone());
                    hf.attach_tty(t.clone());
                    tty = Some(t);
                }
                Some(t) if hf.rdev() == t.rdev() => hf.attach_tty(t.clone()),
                _ => {}
            }
        }
        let flags = hf.host_flags();
        let file = File::new(hf, flags & !(libc::O_CLOEXEC as u32), None);
        files
            .install_at(fd as i32, file, false, 1024)
            .map_err(BootError::Kernel)?;
    }
    Ok(Sandbox {
        kernel,
        config,
        files,
        tty,
    })
}

impl Sandbox {
    /// The host terminal handed over with `moat do --tty`, if any: terminal signals
    /// the host sends the sentry go to its foreground process group.
    pub fn terminal(&self) -> Option<Arc<Tty>> {
        self.tty.clone()
    }

    /// Starts the sandbox's first process and runs it to completion.
    pub fn run(self) -> Result<ExitStatus, BootError> {
        let Sandbox {
            kernel,
            config,
            files,
            tty,
        } = self;
        // The init task runs on its own thread: the thread that creates a stub traces it.
        // The sandbox lives as long as the init *process* (its first thread may end
        // first, e.g. when another thread execs).
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let init_kernel = kernel.clone();
        std::thread::Builder::new()
            .name("task-1".to_string())
            .spawn(
                move || match start_init(&init_kernel, &config, files, tty) {
                    Ok(task) => {
                        let _ = started_tx.send(Ok(()));
                        let status = task.run();
                        info!(?status, "init's first thread exited");
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                },
            )
            .map_err(|e| BootError::Kernel(Errno::from_io(&e)))?;
        match started_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(BootError::Kernel(crate::errno!(EIO))),
        }
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

fn mount_devfs(mounts: &Arc<MountNamespace>) {
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

fn start_init(
    kernel: &Arc<Kernel>,
    config: &BootConfig,
    files: Arc<FdTable>,
    tty: Option<Arc<Tty>>,
) -> Result<Task, BootError> {
    let root = kernel.mounts.root();
    let resolver = Resolver {
        mounts: &kernel.mounts,
        root: &root,
        creds: None,
    };
    let cwd_str = String::from_utf8_lossy(&config.cwd).into_owned();
    let cwd = resolver
        .resolve(&root, &config.cwd, true)
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
        Arc::new(FsContext::new(root.clone(), cwd, 0o022)),
        Credentials::new(config.uid, config.gid, config.groups.clone()),
        kernel.platform.new_context(),
    );
    kernel.tree.lock().add_process(task.tg.clone(), 0, 0);
    if let Some(t) = tty {
        t.make_controlling(&task.tg);
    }
    let argv0 = config.argv.first().cloned().unwrap_or_default();
    let path = find_in_path(&task, &argv0, &config.env);
    crate::loader::execve(&mut task, &path, config.argv.clone(), config.env.clone()).map_err(
        |errno| BootError::Exec {
            path: String::from_utf8_lossy(&argv0).into_owned(),
            errno,
        },
    )?;
    Ok(task)
}
