//! A container's persisted state: `<root>/<id>/state.json`, written atomically (a
//! temporary file renamed over it), and the liveness check that turns a record whose
//! monitor process is gone into `stopped`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The OCI runtime-spec version moat implements.
pub const OCI_VERSION: &str = "1.2.0";

/// The lifecycle states of the runtime spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Created, not yet started: the sandbox is ready and the guest has not run.
    Created,
    /// The guest is running.
    Running,
    /// The guest is paused (`moat pause`).
    Paused,
    /// The guest has exited (or the sandbox died).
    Stopped,
}

impl Status {
    /// The spec's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// What moat keeps about a container.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The container's id.
    pub id: String,
    /// The last state the monitor recorded.
    pub status: Status,
    /// The monitor process (the container's process as callers see it).
    pub pid: i32,
    /// Its start time in clock ticks since boot (/proc/<pid>/stat field 22), so a
    /// recycled pid is not mistaken for it.
    pub pid_start: u64,
    /// The bundle directory (absolute).
    pub bundle: PathBuf,
    /// When the container was created (RFC 3339).
    pub created: String,
    /// The config's annotations.
    pub annotations: BTreeMap<String, String>,
    /// The user who created it.
    pub owner: String,
    /// The guest's exit status, once stopped (128+N for a signal).
    pub exit_status: Option<i32>,
}

/// `moat state`'s output: the runtime spec's state object (with runc's `created`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpecState<'a> {
    oci_version: &'static str,
    id: &'a str,
    status: &'static str,
    pid: i32,
    bundle: &'a Path,
    created: &'a str,
    owner: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

impl Record {
    /// The state as the spec reports it, with the liveness check applied.
    pub fn to_spec(&self) -> SpecState<'_> {
        let status = self.current_status();
        SpecState {
            oci_version: OCI_VERSION,
            id: &self.id,
            status: status.name(),
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            bundle: &self.bundle,
            created: &self.created,
            owner: &self.owner,
            annotations: &self.annotations,
        }
    }

    /// The recorded status, or `Stopped` if the monitor process is no longer alive.
    pub fn current_status(&self) -> Status {
        if self.status != Status::Stopped && !process_alive(self.pid, self.pid_start) {
            Status::Stopped
        } else {
            self.status
        }
    }
}

/// The directory of container `id` under `root`.
pub fn dir(root: &Path, id: &str) -> PathBuf {
    root.join(id)
}

/// Reads the record of `id`.
pub fn load(root: &Path, id: &str) -> Result<Record, String> {
    let path = dir(root, id).join("state.json");
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("container {id} does not exist"))
        }
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    serde_json::from_slice(&text).map_err(|e| format!("corrupt state {}: {e}", path.display()))
}

/// Writes the record atomically.
pub fn save(root: &Path, record: &Record) -> Result<(), String> {
    let d = dir(root, &record.id);
    let tmp = d.join("state.json.tmp");
    let json = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, json).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, d.join("state.json"))
        .map_err(|e| format!("cannot update the state of {}: {e}", record.id))
}

/// Updates the record of `id` with `change` (the monitor's transitions).
pub fn update(root: &Path, id: &str, change: impl FnOnce(&mut Record)) -> Result<(), String> {
    let mut record = load(root, id)?;
    change(&mut record);
    save(root, &record)
}

/// Field 22 of /proc/<pid>/stat (start time), None if there is no such process or it
/// is a zombie.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // after the comm: state is field 3, starttime field 22
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

fn process_alive(pid: i32, start: u64) -> bool {
    pid > 0 && start_time(pid) == Some(start)
}

/// Whether `id` is a container id moat accepts (what runc accepts: letters, digits and
/// `_ + - .`, not starting with a dot).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 1024
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b))
}

/// Now, in RFC 3339 with nanoseconds, UTC.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86400, secs % 86400);
    let (y, m, day) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_nanos()
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11016), (2000, 2, 29));
        assert_eq!(civil_from_days(20779), (2026, 11, 22));
    }

    #[test]
    fn ids_follow_runcs_rules() {
        for ok in ["a", "my-container_1.2", "X+y"] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "..", "sp ace", "nul\0"] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }
}
