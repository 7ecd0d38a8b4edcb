//! Processes under moat: a fork bomb is contained by the sandbox's pids limit and the
//! sandbox leaves no host process behind.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use moat_tests::{guest, moat_bin, Linkage};

/// Every process below `pid` (children of any of its threads, recursively).
fn descendants(pid: u32, out: &mut BTreeSet<u32>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for t in tasks.flatten() {
        let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
        for k in kids
            .split_whitespace()
            .filter_map(|k| k.parse::<u32>().ok())
        {
            // Walk known processes again too: they may have new children since.
            out.insert(k);
            descendants(k, out);
        }
    }
}

#[test]
fn fork_bomb_gets_eagain_under_pids_limit_and_leaves_no_host_process() {
    // Output goes to files, not pipes: a leaked process holding a pipe must fail this
    // test, not hang it.
    let dir = std::env::temp_dir().join(format!("moat-forkbomb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let stdout_path = dir.join("stdout");
    let stderr_path = dir.join("stderr");
    let mut child = Command::new(moat_bin())
        .args(["do", "--pids-limit", "64"])
        .arg(guest("forkbomb", Linkage::Static))
        .stdout(Stdio::from(
            std::fs::File::create(&stdout_path).expect("stdout file"),
        ))
        .stderr(Stdio::from(
            std::fs::File::create(&stderr_path).expect("stderr file"),
        ))
        .spawn()
        .expect("start moat");
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        descendants(child.id(), &mut seen);
        if let Some(st) = child.try_wait().expect("wait moat") {
            break st;
        }
        assert!(Instant::now() < deadline, "the sandbox did not end");
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        status.success(),
        "moat exited with {status:?}; stderr: {stderr}"
    );
    assert_eq!(stdout, "fork failed with EAGAIN\n", "stderr: {stderr}");
    assert!(seen.len() > 32, "saw only {seen:?}: the bomb never ran?");
    // The sandbox is gone: none of its host processes (gofer, sentry, stubs) remain.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: Vec<u32> = seen
            .iter()
            .copied()
            .filter(|p| std::path::Path::new(&format!("/proc/{p}")).exists())
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "host processes left behind: {alive:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
