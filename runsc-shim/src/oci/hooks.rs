//! The config's lifecycle hooks, run on the host as runc runs them: each hook's program
//! gets the container's state JSON on stdin, its `args` (the first being argv[0]) and
//! only its own `env`, and is killed after `timeout` seconds.
//!
//! prestart and createRuntime run at `create` once the sandbox is ready (a failure fails
//! `create`); poststart runs after `start` and poststop at `delete` (failures there are
//! warnings, as the spec says). createContainer and startContainer would run inside the
//! container: a sandbox cannot run host programs there, so configs with them are refused.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::runtime::{Hook, Hooks};

/// The hooks moat runs, saved at `create` in `<state dir>/hooks.json`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Saved {
    /// prestart then createRuntime.
    pub create: Vec<Hook>,
    /// poststart.
    pub poststart: Vec<Hook>,
    /// poststop.
    pub poststop: Vec<Hook>,
}

/// Picks the hooks of a config, refusing the ones that would run inside the container.
pub fn from_config(hooks: Option<&Hooks>) -> Result<Saved, String> {
    let Some(h) = hooks else {
        return Ok(Saved::default());
    };
    let list = |v: &Option<Vec<Hook>>| v.clone().unwrap_or_default();
    if !list(h.create_container()).is_empty() || !list(h.start_container()).is_empty() {
        return Err(
            "hooks.createContainer and hooks.startContainer are not supported (they would run \
             inside the sandbox)"
                .into(),
        );
    }
    let mut create = list(h.prestart());
    create.extend(list(h.create_runtime()));
    Ok(Saved {
        create,
        poststart: list(h.poststart()),
        poststop: list(h.poststop()),
    })
}

/// Saves the hooks in the container's state directory.
pub fn save(dir: &Path, saved: &Saved) -> Result<(), String> {
    let json = serde_json::to_vec(saved).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("hooks.json"), json).map_err(|e| format!("cannot save hooks: {e}"))
}

/// The hooks saved for a container (none if there is no file).
pub fn load(dir: &Path) -> Saved {
    std::fs::read(dir.join("hooks.json"))
        .ok()
        .and_then(|j| serde_json::from_slice(&j).ok())
        .unwrap_or_default()
}

/// Runs `hooks` in order with `state` on their stdin; stops at the first failure.
pub fn run(hooks: &[Hook], state: &str) -> Result<(), String> {
    for hook in hooks {
        run_one(hook, state)?;
    }
    Ok(())
}

fn run_one(hook: &Hook, state: &str) -> Result<(), String> {
    let path = hook.path();
    let what = || format!("hook {}", path.display());
    let args = hook.args().clone().unwrap_or_default();
    let mut cmd = Command::new(path);
    if let Some((argv0, rest)) = args.split_first() {
        cmd.arg0(argv0).args(rest);
    }
    cmd.env_clear();
    for kv in hook.env().clone().unwrap_or_default() {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", what()))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error.
        let _ = stdin.write_all(state.as_bytes());
    }
    let deadline = hook
        .timeout()
        .filter(|&t| t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    loop {
        match child.try_wait().map_err(|e| format!("{}: {e}", what()))? {
            Some(st) if st.success() => return Ok(()),
            Some(st) => return Err(format!("{} failed: {st}", what())),
            None => {}
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{} timed out", what()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
