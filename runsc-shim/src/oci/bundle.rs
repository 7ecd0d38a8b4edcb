//! An OCI bundle's config.json, checked and turned into what the sandbox runs.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use sentry::boot::{BootConfig, MountKind, MountSpec, ProcessSpec, RootMode};
use sentry::kernel::caps::{self, CapSets};
use serde::{Deserialize, Serialize};

/// What the container monitor needs to start a container: the sentry's configuration
/// and the root the gofer serves. Written by `create` to `<state dir>/plan.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    /// The sentry's configuration.
    pub boot: BootConfig,
    /// The container's root filesystem (absolute).
    pub rootfs: PathBuf,
    /// Whether the gofer serves it writable (`root.readonly` false).
    pub writable: bool,
    /// Bind mount sources, the gofer's extra trees in order, and whether each is
    /// writable.
    pub binds: Vec<Bind>,
    /// The host cgroup the sandbox runs in, and its CPU limits.
    #[serde(default)]
    pub cgroup: super::cgroup::Spec,
}

/// A bundle, checked.
pub struct Bundle {
    /// The bundle directory (absolute).
    pub dir: PathBuf,
    /// The plan to run it.
    pub plan: Plan,
    /// The config's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The lifecycle hooks moat runs.
    pub hooks: super::hooks::Saved,
    /// process.consoleSize: the terminal's rows and columns.
    pub console_size: Option<(u16, u16)>,
}

/// Loads and checks the bundle at `dir`.
pub fn load(dir: &Path, id: &str) -> Result<Bundle, String> {
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("bundle {}: {e}", dir.display()))?;
    let config = dir.join("config.json");
    if !config.is_file() {
        return Err(format!("bundle {}: no config.json", dir.display()));
    }
    let spec = Spec::load(&config).map_err(|e| {
        let why = unknown_capability(&config).unwrap_or_else(|| e.to_string());
        format!("{}: {why}", config.display())
    })?;
    let version = spec.version();
    if !(version.starts_with("1.0.") || version.starts_with("1.1.") || version.starts_with("1.2."))
    {
        return Err(format!(
            "{}: unsupported ociVersion {version:?} (moat implements 1.0 to 1.2)",
            config.display()
        ));
    }
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| format!("{}: no root", config.display()))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        dir.join(root.path())
    };
    let rootfs = std::fs::canonicalize(&rootfs)
        .map_err(|e| format!("root.path {}: {e}", rootfs.display()))?;
    if !rootfs.is_dir() {
        return Err(format!("root.path {}: not a directory", rootfs.display()));
    }
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| format!("{}: no process", config.display()))?;
    let ps = process_spec(process).map_err(|e| format!("{}: {e}", config.display()))?;
    let writable = !root.readonly().unwrap_or(false);
    let pids_limit = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.pids().as_ref())
        .map(|p| p.limit())
        .filter(|&l| l > 0)
        .map_or(sentry::kernel::DEFAULT_PIDS_LIMIT, |l| l as usize);
    // linux.resources.memory.limit: bytes; 0 or negative is no limit.
    let memory_limit = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.memory().as_ref())
        .and_then(|m| m.limit())
        .filter(|&l| l > 0)
        .map(|l| l as u64);
    let (mounts, binds) = mounts(&spec)?;
    for m in &mounts {
        let is_dir = match m.kind {
            MountKind::Bind { index } => binds[index as usize].0.is_dir(),
            _ => true,
        };
        ensure_destination(&rootfs, &m.destination, is_dir)?;
    }
    let linux = spec.linux().as_ref();
    let sysctl = sysctls(spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()))
        .map_err(|e| format!("{}: {e}", config.display()))?;
    if sysctl.hostname {
        return Err(format!(
            "{}: linux.sysctl kernel.hostname conflicts with the hostname field",
            config.display()
        ));
    }
    let boot = BootConfig {
        capabilities: ps.capabilities,
        memory_limit,
        domainname: spec.domainname().clone().or(sysctl.domainname),
        ipc_sysctls: sysctl.ipc,
        netns: netns(&spec)?,
        masked_paths: linux
            .and_then(|l| l.masked_paths().clone())
            .unwrap_or_default(),
        readonly_paths: linux
            .and_then(|l| l.readonly_paths().clone())
            .unwrap_or_default(),
        oom_score_adj: ps.oom_score_adj,
        argv: ps.argv,
        env: ps.env,
        cwd: ps.cwd,
        hostname: spec.hostname().clone().unwrap_or_else(|| id.to_string()),
        uid: ps.uid,
        gid: ps.gid,
        groups: ps.groups,
        strace: false,
        platform: "ptrace".to_string(),
        root: if writable {
            RootMode::WriteThrough
        } else {
            RootMode::ReadOnly
        },
        pids_limit,
        mounts,
        rlimits: ps.rlimits,
        no_new_privs: ps.no_new_privs,
        umask: ps.umask,
        tty: ps.terminal,
        seccomp: match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
            Some(profile) => Some(super::seccomp::compile(profile).map_err(|e| e.to_string())?),
            None => None,
        },
    };
    let annotations = spec
        .annotations()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let hooks = super::hooks::from_config(spec.hooks().as_ref())
        .map_err(|e| format!("{}: {e}", config.display()))?;
    Ok(Bundle {
        console_size: console_size(process),
        dir,
        hooks,
        plan: Plan {
            cgroup: super::cgroup::Spec::from_config(&spec, id),
            boot,
            rootfs,
            writable,
            binds,
        },
        annotations,
    })
}

/// linux.namespaces: a network namespace path to join (checked to be one). The pid,
/// ipc, uts and mount namespaces are the sentry's own; paths for them (another
/// container's, in a pod) are accepted, but each container is its own sandbox.
fn netns(spec: &Spec) -> Result<Option<String>, String> {
    use oci_spec::runtime::LinuxNamespaceType;
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    for ns in namespaces.into_iter().flatten() {
        if ns.typ() != LinuxNamespaceType::Network {
            continue;
        }
        let Some(path) = ns.path() else { continue };
        // nsfs's magic number: the file is a namespace (`ip netns` and `unshare --net=`
        // bind-mount one on a file).
        const NSFS_MAGIC: i64 = 0x6e73_6673;
        let f = std::fs::File::open(path)
            .map_err(|e| format!("network namespace {}: {e}", path.display()))?;
        match nix::sys::statfs::fstatfs(&f) {
            Ok(s) if s.filesystem_type().0 == NSFS_MAGIC => {}
            _ => {
                return Err(format!(
                    "network namespace {}: not a network namespace",
                    path.display()
                ))
            }
        }
        return Ok(Some(path.to_string_lossy().into_owned()));
    }
    Ok(None)
}

/// An OCI process's consoleSize as (rows, columns).
pub fn console_size(process: &oci_spec::runtime::Process) -> Option<(u16, u16)> {
    process.console_size().map(|b| {
        (
            b.height().min(u16::MAX as u64) as u16,
            b.width().min(u16::MAX as u64) as u16,
        )
    })
}

/// An OCI `process` (the config's, or `exec --process`'s) as the sentry starts it.
pub fn process_spec(process: &oci_spec::runtime::Process) -> Result<ProcessSpec, String> {
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err("process.args is empty".into());
    }
    let cwd = process.cwd();
    if !cwd.is_absolute() {
        return Err(format!("process.cwd {} is not absolute", cwd.display()));
    }
    for r in process.rlimits().as_deref().unwrap_or_default() {
        if r.soft() > r.hard() {
            return Err(format!(
                "rlimit {:?}: soft limit {} above hard limit {}",
                r.typ(),
                r.soft(),
                r.hard()
            ));
        }
    }
    let user = process.user();
    let capabilities = process.capabilities().as_ref().map(cap_sets).transpose()?;
    Ok(ProcessSpec {
        capabilities,
        argv: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        env: process
            .env()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(String::into_bytes)
            .collect(),
        cwd: cwd.as_os_str().as_bytes().to_vec(),
        uid: user.uid(),
        gid: user.gid(),
        groups: user.additional_gids().clone().unwrap_or_default(),
        rlimits: process
            .rlimits()
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|r| (rlimit_resource(r.typ()), r.soft(), r.hard()))
            .collect(),
        no_new_privs: process.no_new_privileges().unwrap_or(false),
        umask: user.umask(),
        terminal: process.terminal().unwrap_or(false),
        oom_score_adj: process.oom_score_adj(),
        seccomp: None,
    })
}

/// Why a config failed to load when the reason is a capability name the sandbox does
/// not know (the OCI library says only that deserializing failed).
fn unknown_capability(config: &Path) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(config).ok()?).ok()?;
    let sets = v.pointer("/process/capabilities")?.as_object()?;
    sets.iter().find_map(|(set, names)| {
        let bad = names.as_array()?.iter().find_map(|n| {
            // Spelled as the OCI library accepts them: any case, "CAP_" optional.
            let n = n.as_str()?;
            let upper = n.to_uppercase();
            let mut bare = upper.as_str();
            while let Some(rest) = bare.strip_prefix("CAP_") {
                bare = rest;
            }
            caps::from_name(&format!("CAP_{bare}"))
                .is_none()
                .then_some(n)
        })?;
        Some(format!(
            "process.capabilities.{set}: unknown capability {bad:?}"
        ))
    })
}

/// `process.capabilities` as the sandbox's capability sets (a missing list: none).
fn cap_sets(c: &oci_spec::runtime::LinuxCapabilities) -> Result<CapSets, String> {
    let mask = |set: &Option<oci_spec::runtime::Capabilities>| {
        let names: Vec<String> = set.iter().flatten().map(|c| format!("CAP_{c}")).collect();
        caps::mask_of(names.iter().map(String::as_str))
            .map_err(|n| format!("process.capabilities: unknown capability {n:?}"))
    };
    Ok(CapSets {
        bounding: mask(c.bounding())?,
        effective: mask(c.effective())?,
        inheritable: mask(c.inheritable())?,
        permitted: mask(c.permitted())?,
        ambient: mask(c.ambient())?,
    })
}

/// What linux.sysctl sets: the domain name, the IPC sysctls, and whether
/// kernel.hostname was given (refused: the hostname field sets it).
struct Sysctls {
    domainname: Option<String>,
    ipc: Vec<(String, String)>,
    hostname: bool,
}

/// linux.sysctl: as runc, only the sysctls a container has its own copy of (SysV IPC,
/// mqueue, the UTS names, the network); others are refused. kernel.domainname sets the
/// sandbox's domain name, the kernel.msg*/sem/shm* ones its IPC limits; mqueue,
/// kernel.shm_rmid_forced and network ones are accepted but change nothing yet.
fn sysctls(map: Option<&std::collections::HashMap<String, String>>) -> Result<Sysctls, String> {
    const IPC: &[&str] = &[
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let mut out = Sysctls {
        domainname: None,
        ipc: Vec::new(),
        hostname: false,
    };
    for (key, value) in map.into_iter().flatten() {
        let key = key.replace('/', ".");
        match key.as_str() {
            "kernel.domainname" => out.domainname = Some(value.clone()),
            "kernel.hostname" => out.hostname = true,
            "kernel.shm_rmid_forced" => {
                tracing::debug!(value, "kernel.shm_rmid_forced accepted without effect");
            }
            k if IPC.contains(&k) => {
                out.ipc
                    .push((k.trim_start_matches("kernel.").to_string(), value.clone()));
            }
            k if k.starts_with("fs.mqueue.") || k.starts_with("net.") => {
                tracing::debug!(key = k, value, "sysctl accepted without effect");
            }
            k => {
                return Err(format!(
                    "linux.sysctl {k}: not a sysctl a container has its own copy of"
                ))
            }
        }
    }
    Ok(out)
}

/// A bind mount's source (absolute) and whether it is writable.
pub type Bind = (PathBuf, bool);

/// The config's mounts as the sandbox makes them, and the bind mount sources the gofer
/// serves. proc at /proc, sysfs at /sys and the /dev family are the sandbox's own
/// already; other kinds than bind, tmpfs, proc and sysfs are refused.
fn mounts(spec: &Spec) -> Result<(Vec<MountSpec>, Vec<Bind>), String> {
    let mut out = Vec::new();
    let mut binds = Vec::new();
    for m in spec.mounts().as_deref().unwrap_or_default() {
        let dest = m.destination();
        let d = dest.to_string_lossy().into_owned();
        if !dest.is_absolute() {
            return Err(format!("mount destination {d:?} is not absolute"));
        }
        let options = m.options().clone().unwrap_or_default();
        let has = |o: &str| options.iter().any(|x| x == o);
        let typ = m.typ().clone().unwrap_or_default();
        let bind = typ == "bind" || has("bind") || has("rbind");
        let under = |top: &str| d == top || d.starts_with(&format!("{top}/"));
        let kind = if bind {
            let source = m
                .source()
                .clone()
                .ok_or_else(|| format!("bind mount at {d} has no source"))?;
            let source = std::fs::canonicalize(&source)
                .map_err(|e| format!("bind mount source {}: {e}", source.display()))?;
            binds.push((source, !has("ro")));
            MountKind::Bind {
                index: (binds.len() - 1) as u32,
            }
        } else {
            match typ.as_str() {
                "proc" if d == "/proc" => continue,
                "sysfs" if d == "/sys" => continue,
                "tmpfs" if d == "/dev" || d == "/dev/shm" => continue,
                "devpts" | "mqueue" | "cgroup" | "cgroup2" if under("/dev") || under("/sys") => {
                    continue
                }
                "proc" => MountKind::Proc,
                "sysfs" => MountKind::Sysfs,
                "tmpfs" => MountKind::Tmpfs {
                    size: option_value(&options, "size").map(parse_size).transpose()?,
                    mode: option_value(&options, "mode")
                        .map(|v| u32::from_str_radix(v, 8).map_err(|_| format!("tmpfs mode={v:?}")))
                        .transpose()?,
                },
                other => return Err(format!("mount type {other:?} at {d} is not supported")),
            }
        };
        out.push(MountSpec {
            destination: d,
            kind,
            read_only: has("ro"),
            no_exec: has("noexec"),
            no_suid: has("nosuid"),
            no_dev: has("nodev"),
        });
    }
    Ok((out, binds))
}

fn option_value<'a>(options: &'a [String], key: &str) -> Option<&'a str> {
    options
        .iter()
        .find_map(|o| o.strip_prefix(key)?.strip_prefix('='))
}

/// A size: bytes, or with a k/m/g suffix (a tmpfs `size=`; a % of RAM is not
/// supported).
pub fn parse_size(v: &str) -> Result<u64, String> {
    let (digits, mult) = match v.char_indices().last() {
        Some((i, 'k' | 'K')) => (&v[..i], 1 << 10),
        Some((i, 'm' | 'M')) => (&v[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&v[..i], 1 << 30),
        _ => (v, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("bad size {v:?} (bytes, or with a k, m or g suffix)"))
}

/// Makes a mount's destination in the root filesystem if it is missing, as runc does:
/// the directories on the way and, for a bind mount of a file, an empty file. The walk
/// goes one name at a time from the rootfs with O_NOFOLLOW, so a symlink in the image
/// can never make it create anything outside the root: it refuses instead.
fn ensure_destination(rootfs: &Path, dest: &str, is_dir: bool) -> Result<(), String> {
    use nix::fcntl::{openat, OFlag};
    use nix::sys::stat::Mode;
    let fail = |e: nix::Error| format!("mount destination {dest}: {e}");
    let mut dir = nix::fcntl::open(
        rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(fail)?;
    let names: Vec<&str> = dest.split('/').filter(|n| !n.is_empty()).collect();
    for (i, name) in names.iter().enumerate() {
        if *name == ".." || *name == "." {
            return Err(format!(
                "mount destination {dest}: must not contain . or .."
            ));
        }
        let last = i + 1 == names.len();
        let open = |d: &std::os::fd::OwnedFd| {
            openat(
                d,
                *name,
                OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
        };
        let next = match open(&dir) {
            Ok(fd) => fd,
            Err(nix::errno::Errno::ENOENT) => {
                if last && !is_dir {
                    let f = openat(
                        &dir,
                        *name,
                        OFlag::O_CREAT
                            | OFlag::O_EXCL
                            | OFlag::O_WRONLY
                            | OFlag::O_NOFOLLOW
                            | OFlag::O_CLOEXEC,
                        Mode::from_bits_truncate(0o644),
                    )
                    .map_err(fail)?;
                    drop(f);
                } else {
                    nix::sys::stat::mkdirat(&dir, *name, Mode::from_bits_truncate(0o755))
                        .map_err(fail)?;
                }
                open(&dir).map_err(fail)?
            }
            Err(e) => return Err(fail(e)),
        };
        let st = nix::sys::stat::fstat(&next).map_err(fail)?;
        let kind = st.st_mode & libc::S_IFMT;
        if kind == libc::S_IFLNK {
            return Err(format!(
                "mount destination {dest}: {name} is a symlink in the image (not followed)"
            ));
        }
        if !last && kind != libc::S_IFDIR {
            return Err(format!(
                "mount destination {dest}: {name} is not a directory"
            ));
        }
        dir = next;
    }
    Ok(())
}

/// The RLIMIT_* number of a config's rlimit type.
fn rlimit_resource(t: oci_spec::runtime::PosixRlimitType) -> u32 {
    use oci_spec::runtime::PosixRlimitType as T;
    match t {
        T::RlimitCpu => libc::RLIMIT_CPU,
        T::RlimitFsize => libc::RLIMIT_FSIZE,
        T::RlimitData => libc::RLIMIT_DATA,
        T::RlimitStack => libc::RLIMIT_STACK,
        T::RlimitCore => libc::RLIMIT_CORE,
        T::RlimitRss => libc::RLIMIT_RSS,
        T::RlimitNproc => libc::RLIMIT_NPROC,
        T::RlimitNofile => libc::RLIMIT_NOFILE,
        T::RlimitMemlock => libc::RLIMIT_MEMLOCK,
        T::RlimitAs => libc::RLIMIT_AS,
        T::RlimitLocks => libc::RLIMIT_LOCKS,
        T::RlimitSigpending => libc::RLIMIT_SIGPENDING,
        T::RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        T::RlimitNice => libc::RLIMIT_NICE,
        T::RlimitRtprio => libc::RLIMIT_RTPRIO,
        T::RlimitRttime => libc::RLIMIT_RTTIME,
    }
}
