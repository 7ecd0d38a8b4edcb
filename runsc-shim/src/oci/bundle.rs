//! An OCI bundle's config.json, checked and turned into what the sandbox runs.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use sentry::boot::{BootConfig, RootMode};
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
}

/// A bundle, checked.
pub struct Bundle {
    /// The bundle directory (absolute).
    pub dir: PathBuf,
    /// The plan to run it.
    pub plan: Plan,
    /// The config's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// Loads and checks the bundle at `dir`.
pub fn load(dir: &Path, id: &str) -> Result<Bundle, String> {
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("bundle {}: {e}", dir.display()))?;
    let config = dir.join("config.json");
    if !config.is_file() {
        return Err(format!("bundle {}: no config.json", dir.display()));
    }
    let spec = Spec::load(&config).map_err(|e| format!("{}: {e}", config.display()))?;
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
    let args = process.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(format!("{}: process.args is empty", config.display()));
    }
    if process.terminal().unwrap_or(false) {
        return Err(format!(
            "{}: process.terminal is not supported yet (moat has no console support)",
            config.display()
        ));
    }
    let cwd = process.cwd();
    if !cwd.is_absolute() {
        return Err(format!(
            "{}: process.cwd {} is not absolute",
            config.display(),
            cwd.display()
        ));
    }
    let user = process.user();
    let writable = !root.readonly().unwrap_or(false);
    let pids_limit = spec
        .linux()
        .as_ref()
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.pids().as_ref())
        .map(|p| p.limit())
        .filter(|&l| l > 0)
        .map_or(sentry::kernel::DEFAULT_PIDS_LIMIT, |l| l as usize);
    let boot = BootConfig {
        argv: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        env: process
            .env()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(String::into_bytes)
            .collect(),
        cwd: cwd.as_os_str().as_bytes().to_vec(),
        hostname: spec.hostname().clone().unwrap_or_else(|| id.to_string()),
        uid: user.uid(),
        gid: user.gid(),
        groups: user.additional_gids().clone().unwrap_or_default(),
        strace: false,
        platform: "ptrace".to_string(),
        root: if writable {
            RootMode::WriteThrough
        } else {
            RootMode::ReadOnly
        },
        pids_limit,
    };
    let annotations = spec
        .annotations()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok(Bundle {
        dir,
        plan: Plan {
            boot,
            rootfs,
            writable,
        },
        annotations,
    })
}
