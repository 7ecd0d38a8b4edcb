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
    let out = moat(&["gofer", "--root", "/", "--sock-fd", "79"]);
    assert_eq!(out.status.code(), Some(2));
}
