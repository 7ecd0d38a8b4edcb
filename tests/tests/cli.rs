//! The options of `moat do` do what they say: environment, working
//! directory, root filesystem, platform, debug log, stdio pass-through.

use moat_tests::{
    assert_guest_matches_native_with, assert_same_as_native, assert_same_as_native_with,
    fixtures_dir, guest, rootfs_dir, run_moat, run_moat_cli, run_native, Linkage, BASE_ENV,
};
use Linkage::Static;

#[test]
fn env_option_adds_a_variable() {
    let hello = guest("hello", Static);
    let native = run_native(&hello, &[], &[("MOAT_TEST_GREETING", "hi")], None);
    let moat = run_moat(&["-e", "MOAT_TEST_GREETING=hi"], &hello, &[], &[], None);
    assert_eq!(moat, native);
}

#[test]
fn env_option_overrides_a_callers_variable() {
    let hello = guest("hello", Static);
    let moat = run_moat(&["-e", "LANG=C.UTF-8"], &hello, &[], &[], None);
    assert_eq!(moat.status, 0, "stderr:\n{}", moat.stderr);
    assert!(
        moat.stdout.contains("env LANG: C.UTF-8\n"),
        "stdout:\n{}",
        moat.stdout
    );
    assert!(
        moat.stdout.contains(&format!("envc: {}\n", BASE_ENV.len())),
        "stdout:\n{}",
        moat.stdout
    );
}

#[test]
fn env_clear_starts_the_guest_with_an_empty_environment() {
    let moat = run_moat(&["--env-clear"], guest("hello", Static), &[], &[], None);
    assert_eq!(moat.status, 0, "stderr:\n{}", moat.stderr);
    assert!(
        moat.stdout.contains("envc: 0\n"),
        "stdout:\n{}",
        moat.stdout
    );
    assert!(
        moat.stdout.contains("env PATH: (unset)\n"),
        "stdout:\n{}",
        moat.stdout
    );
}

#[test]
fn env_clear_keeps_variables_given_with_env_option() {
    let moat = run_moat(
        &["--env-clear", "-e", "MOAT_TEST_GREETING=hi"],
        guest("hello", Static),
        &[],
        &[],
        None,
    );
    assert_eq!(moat.status, 0, "stderr:\n{}", moat.stderr);
    assert!(
        moat.stdout.contains("envc: 1\n"),
        "stdout:\n{}",
        moat.stdout
    );
    assert!(
        moat.stdout.contains("env MOAT_TEST_GREETING: hi\n"),
        "stdout:\n{}",
        moat.stdout
    );
}

#[test]
fn cwd_option_sets_the_guests_working_directory() {
    let moat = run_moat(&["--cwd", "/etc"], "/bin/pwd", &[], &[], None);
    assert_eq!(
        (moat.status, moat.stdout.as_str()),
        (0, "/etc\n"),
        "stderr:\n{}",
        moat.stderr
    );
}

#[test]
fn working_directory_defaults_to_the_callers() {
    let native = assert_same_as_native("/bin/pwd", &[]);
    assert_eq!(native.stdout, format!("{}\n", fixtures_dir()));
}

#[test]
fn rootfs_option_replaces_the_root() {
    let moat = run_moat(
        &["--rootfs", rootfs_dir(), "--cwd", "/"],
        "/cat",
        &["/marker.txt"],
        &[],
        None,
    );
    assert_eq!(
        (moat.status, moat.stdout.as_str()),
        (0, "moat test rootfs\n"),
        "stderr:\n{}",
        moat.stderr
    );
}

#[test]
fn rootfs_option_hides_the_hosts_files() {
    let moat = run_moat(
        &["--rootfs", rootfs_dir(), "--cwd", "/"],
        "/cat",
        &["/etc/os-release"],
        &[],
        None,
    );
    assert_eq!(
        moat.status, 1,
        "the host's /etc/os-release is visible under --rootfs:\n{}",
        moat.stdout
    );
    assert!(
        moat.stderr.contains("No such file or directory"),
        "stderr:\n{}",
        moat.stderr
    );
}

#[test]
fn stdin_is_passed_through() {
    let input = b"line one\nline two\n";
    let native = assert_same_as_native_with(&[], "/bin/cat", &[], &[], Some(input));
    assert_eq!(native.stdout.as_bytes(), input);
}

#[test]
fn stderr_is_passed_through() {
    let moat = run_moat(&[], "/bin/sh", &["-c", "echo to-stderr >&2"], &[], None);
    assert_eq!(
        (moat.status, moat.stdout.as_str()),
        (0, ""),
        "stderr:\n{}",
        moat.stderr
    );
    assert!(
        moat.stderr.contains("to-stderr\n"),
        "stderr:\n{}",
        moat.stderr
    );
}

#[test]
fn guest_arguments_that_look_like_options_reach_the_guest() {
    let native = assert_same_as_native("/bin/echo", &["-n", "--strace", "-e", "x"]);
    assert_eq!(native.stdout, "--strace -e x");
}

#[test]
fn ptrace_platform_runs_files_guest_like_native() {
    assert_guest_matches_native_with(
        &["--platform", "ptrace"],
        guest("files", Static),
        &[fixtures_dir()],
    );
}

#[test]
fn ptrace_platform_runs_dynamic_host_program_like_native() {
    let native = assert_same_as_native_with(
        &["--platform", "ptrace"],
        "/bin/ls",
        &["-la", "/etc"],
        &[],
        None,
    );
    assert_eq!(native.status, 0);
}

#[test]
fn debug_log_option_writes_the_log_file() {
    let log = std::env::temp_dir().join(format!("moat-tests-debug-log-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let moat = run_moat(
        &["--debug-log", log.to_str().unwrap()],
        "/bin/true",
        &[],
        &[],
        None,
    );
    let written = std::fs::read_to_string(&log);
    let _ = std::fs::remove_file(&log);
    assert_eq!(moat.status, 0, "stderr:\n{}", moat.stderr);
    assert!(
        !written.expect("the debug log was not created").is_empty(),
        "the debug log is empty"
    );
}

#[test]
fn volume_option_binds_host_directories_and_files() {
    let dir = std::env::temp_dir().join(format!("moat-cli-vol-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f"), "volume data\n").unwrap();
    let d = dir.to_str().unwrap();
    let out = run_moat_cli(&[
        "do",
        "-v",
        &format!("{d}:/mnt"),
        "-v",
        &format!("{d}/f:/etc/hostname:ro"),
        "/bin/sh",
        "-c",
        "cat /mnt/f /etc/hostname; echo new > /mnt/new; (echo x > /etc/hostname) 2>/dev/null || echo refused",
    ]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "volume data\nvolume data\nrefused\n");
    // The writable volume writes to the host (the root's overlay does not apply to it).
    assert_eq!(std::fs::read_to_string(dir.join("new")).unwrap(), "new\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("f")).unwrap(),
        "volume data\n"
    );
    let bad = run_moat_cli(&["do", "-v", "no-colon", "/bin/true"]);
    assert_eq!(bad.status, 125);
    assert!(bad.stderr.contains("HOST:GUEST"), "{}", bad.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

// --memory-limit: the sandbox's processes together get at most that much memory; the
// OOM killer takes the biggest process beyond it (the shell that started it lives on),
// and /proc/meminfo, sysinfo (free) and the cgroup view show the limit.
#[test]
fn memory_limit_oom_kills_the_biggest_process_and_is_shown_inside() {
    let hog = guest("memhog", Static);
    let hog = hog.to_str().unwrap();
    let script = format!(
        "{hog} 16; echo status $?; {hog} 200; echo status $?; \
         grep MemTotal /proc/meminfo; cat /sys/fs/cgroup/memory.max; free | grep Mem: | tr -s ' ' | cut -d' ' -f2"
    );
    let out = run_moat_cli(&["do", "--memory-limit", "64m", "/bin/sh", "-c", &script]);
    assert_eq!(out.status, 0, "stderr:\n{}", out.stderr);
    assert_eq!(
        out.stdout,
        "done\nstatus 0\nstatus 137\nMemTotal:          65536 kB\n67108864\n65536\n"
    );
    let out = run_moat_cli(&["do", "--memory-limit", "lots", "/bin/true"]);
    assert_ne!(out.status, 0);
    assert!(out.stderr.contains("--memory-limit"), "{}", out.stderr);
}
