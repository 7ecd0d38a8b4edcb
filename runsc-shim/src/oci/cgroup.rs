//! The container's host cgroup: as runc does, the monitor puts itself (and so the gofer
//! and the sentry it starts) into `linux.cgroupsPath` and applies `linux.resources.cpu`
//! there, so the host kernel limits the sandbox's CPU. (Memory and pids are the
//! sentry's own accounting: see the memory limit and the pids limit.)
//!
//! cgroup v2 (a unified hierarchy at /sys/fs/cgroup) uses cpu.max and cpu.weight; v1
//! uses the cpu controller's cpu.cfs_quota_us, cpu.cfs_period_us and cpu.shares, and
//! also joins cpuacct and pids so the engine's accounting sees the sandbox. A relative
//! path is taken under the monitor's current cgroup, as runc takes it; a systemd-style
//! `slice:prefix:name` becomes `slice/prefix-name.scope`. The directories made are
//! recorded in the state directory and removed by `delete`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const ROOT: &str = "/sys/fs/cgroup";
/// The v1 controllers the sandbox joins.
const V1_CONTROLLERS: &[&str] = &["cpu", "cpuacct", "pids"];

/// What the config asks of the host cgroup.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spec {
    /// linux.cgroupsPath.
    pub path: Option<String>,
    /// cpu.shares.
    pub shares: Option<u64>,
    /// cpu quota (µs per period; negative: none).
    pub quota: Option<i64>,
    /// cpu period (µs).
    pub period: Option<u64>,
}

impl Spec {
    /// From an OCI config of container `id` (CPU limits without a cgroupsPath go to
    /// `/ID`).
    pub fn from_config(spec: &oci_spec::runtime::Spec, id: &str) -> Spec {
        let linux = spec.linux().as_ref();
        let cpu = linux
            .and_then(|l| l.resources().as_ref())
            .and_then(|r| r.cpu().as_ref());
        let mut s = Spec {
            path: linux
                .and_then(|l| l.cgroups_path().as_ref())
                .map(|p| p.to_string_lossy().into_owned())
                .filter(|p| !p.is_empty()),
            shares: cpu.and_then(|c| c.shares()),
            quota: cpu.and_then(|c| c.quota()),
            period: cpu.and_then(|c| c.period()),
        };
        if s.path.is_none() && s.wants_cpu() {
            s.path = Some(format!("/{id}"));
        }
        s
    }

    fn wants_cpu(&self) -> bool {
        self.shares.is_some() || self.quota.is_some_and(|q| q > 0)
    }
}

/// The path under a hierarchy root for `path` (see the module doc).
fn relative(path: &str, current: &str) -> PathBuf {
    let parts: Vec<&str> = path.split(':').collect();
    let p = if parts.len() == 3 && !path.starts_with('/') {
        format!("{}/{}-{}.scope", parts[0], parts[1], parts[2])
    } else {
        path.to_string()
    };
    if p.starts_with('/') {
        PathBuf::from(p.trim_start_matches('/'))
    } else {
        Path::new(current.trim_start_matches('/')).join(p)
    }
}

/// This process's cgroup in hierarchy `which` ("" for v2, else a v1 controller).
fn current(which: &str) -> String {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    for line in text.lines() {
        let mut f = line.splitn(3, ':');
        let (_, ctrls, path) = (f.next(), f.next().unwrap_or(""), f.next().unwrap_or("/"));
        if (which.is_empty() && ctrls.is_empty()) || ctrls.split(',').any(|c| c == which) {
            return path.to_string();
        }
    }
    "/".to_string()
}

fn write(dir: &Path, file: &str, value: &str) -> Result<(), String> {
    std::fs::write(dir.join(file), value)
        .map_err(|e| format!("cgroup {}: {file}={value}: {e}", dir.display()))
}

/// Puts this process into the cgroup `spec` names and applies its CPU limits. Returns
/// the directories it made (for `remove`). With no path and no CPU limits, nothing.
pub fn enter(spec: &Spec) -> Result<Vec<PathBuf>, String> {
    let Some(path) = spec.path.as_deref().filter(|p| !p.is_empty()) else {
        if spec.wants_cpu() {
            return Err("linux.resources.cpu needs linux.cgroupsPath".into());
        }
        return Ok(Vec::new());
    };
    let pid = std::process::id().to_string();
    let mut made = Vec::new();
    let unified = Path::new(ROOT).join("cgroup.controllers").exists();
    let make = |dir: &Path, made: &mut Vec<PathBuf>| -> Result<(), String> {
        if !dir.exists() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot make cgroup {}: {e}", dir.display()))?;
            made.push(dir.to_path_buf());
        }
        Ok(())
    };
    if unified {
        let dir = Path::new(ROOT).join(relative(path, &current("")));
        make(&dir, &mut made)?;
        if let Some(shares) = spec.shares {
            // runc's conversion of shares (2..262144) to a weight (1..10000).
            let weight = 1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142;
            write(&dir, "cpu.weight", &weight.to_string())?;
        }
        if let Some(q) = spec.quota.filter(|&q| q > 0) {
            let period = spec.period.unwrap_or(100_000);
            write(&dir, "cpu.max", &format!("{q} {period}"))?;
        }
        write(&dir, "cgroup.procs", &pid)?;
        return Ok(made);
    }
    for ctrl in V1_CONTROLLERS {
        let base = Path::new(ROOT).join(ctrl);
        if !base.exists() {
            if *ctrl == "cpu" && spec.wants_cpu() {
                return Err("no cpu cgroup controller to apply linux.resources.cpu".into());
            }
            continue;
        }
        let dir = base.join(relative(path, &current(ctrl)));
        make(&dir, &mut made)?;
        if *ctrl == "cpu" {
            if let Some(shares) = spec.shares {
                write(&dir, "cpu.shares", &shares.to_string())?;
            }
            if let Some(period) = spec.period {
                write(&dir, "cpu.cfs_period_us", &period.to_string())?;
            }
            if let Some(q) = spec.quota.filter(|&q| q > 0) {
                write(&dir, "cpu.cfs_quota_us", &q.to_string())?;
            }
        }
        write(&dir, "cgroup.procs", &pid)?;
    }
    Ok(made)
}

/// Removes the cgroups `enter` made, deepest first. The sandbox's processes die with
/// their monitor, a moment after it: a cgroup still busy is tried again for up to a
/// second, then left.
pub fn remove(made: &[PathBuf]) {
    for dir in made.iter().rev() {
        for _ in 0..100 {
            match std::fs::remove_dir(dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                _ => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_absolute_relative_or_systemd_style() {
        assert_eq!(relative("/a/b", "/x"), PathBuf::from("a/b"));
        assert_eq!(relative("a/b", "/x/y"), PathBuf::from("x/y/a/b"));
        assert_eq!(
            relative("machine.slice:libpod:abc", "/"),
            PathBuf::from("machine.slice/libpod-abc.scope")
        );
    }

    #[test]
    fn cpu_limits_without_a_path_are_refused() {
        let spec = Spec {
            quota: Some(50_000),
            ..Spec::default()
        };
        assert!(enter(&spec).is_err());
        assert_eq!(enter(&Spec::default()).unwrap(), Vec::<PathBuf>::new());
    }
}
