//! The `moat` command line: help, argument errors, and the generated compatibility
//! table. (Having integration tests here also makes `cargo test --workspace` build the
//! `moat` binary before any test runs, which the `tests/` suite relies on.)

use std::process::Command;

fn moat(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(args)
        .output()
        .expect("run moat")
}

#[test]
fn do_without_a_command_is_a_usage_error() {
    let out = moat(&["do"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CMD"));
}

#[test]
fn unknown_platform_is_refused_with_a_clear_message() {
    let out = moat(&["do", "--platform", "kvm", "/bin/true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown platform"));
}

#[test]
fn malformed_env_option_is_refused() {
    let out = moat(&["do", "-e", "NOEQUALS", "/bin/true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEY=VALUE"));
}

#[test]
fn missing_rootfs_is_refused() {
    let out = moat(&["do", "--rootfs", "/nonexistent-rootfs", "/bin/true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-rootfs"));
}

#[test]
fn compatibility_table_in_the_repository_is_generated_from_the_syscall_table() {
    let out = moat(&["syscalls", "--markdown"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../syscalls/COMPATIBILITY.md"
    ))
    .expect("syscalls/COMPATIBILITY.md exists");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        committed,
        "regenerate with: cargo run -p runsc-shim -- syscalls --markdown > syscalls/COMPATIBILITY.md"
    );
}

#[test]
fn internal_roles_refuse_descriptors_that_are_not_open() {
    let out = moat(&["boot", "--gofer-fd", "77", "--config-fd", "78"]);
    assert_eq!(out.status.code(), Some(125));
    let out = moat(&["gofer", "--tree", "/", "--sock-fd", "79"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The status lines of a process, by pid.
fn proc_status(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default()
}

/// Children of any thread of process `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .map(|t| std::fs::read_to_string(t.path().join("children")).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

#[test]
fn running_sentry_is_confined_by_seccomp_namespaces_and_an_empty_root() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_moat"))
        .args(["do", "/bin/sleep", "2"])
        .spawn()
        .expect("start moat do");
    // Find `moat boot` among moat do's children, and the stub among its children.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let (boot, stub) = loop {
        let boot = children_of(child.id()).into_iter().find(|&p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.starts_with(b"/") && c.windows(5).any(|w| w == b"boot\0"))
        });
        if let Some(boot) = boot {
            if let Some(&stub) = children_of(boot).first() {
                break (boot, stub);
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sentry with a stub appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    for pid in [boot, stub] {
        let status = proc_status(pid);
        assert!(
            status.contains("\nSeccomp:\t2\n"),
            "pid {pid} is not in seccomp filter mode:\n{status}"
        );
        assert!(
            status.contains("\nNoNewPrivs:\t1\n"),
            "pid {pid} lacks no_new_privs:\n{status}"
        );
    }
    for ns in ["mnt", "net", "ipc", "uts"] {
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).expect("own ns");
        let sentry = std::fs::read_link(format!("/proc/{boot}/ns/{ns}")).expect("sentry ns");
        assert_ne!(host, sentry, "the sentry shares the host's {ns} namespace");
    }
    let root: Vec<_> = std::fs::read_dir(format!("/proc/{boot}/root"))
        .expect("sentry root")
        .collect();
    assert!(root.is_empty(), "the sentry's root is not empty: {root:?}");
    assert!(child.wait().expect("wait").success());
}
