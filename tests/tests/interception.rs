//! Proof that guests run on moat's kernel, not the host's: under moat a
//! guest sees the sentry's identity, system calls are traced by moat, and
//! what Linux does not implement fails the way Linux fails it.
//!
//! These tests cannot pass natively: each looks for a difference a
//! pass-through runner would not make (the harness check with
//! tests/fake-moat.sh fails exactly the tests marked "sentry identity").

use moat_tests::{
    assert_guest_matches_native, fixtures_dir, guest, run_moat, run_moat_cli, run_native, Linkage,
};
use Linkage::Static;

#[test]
fn uname_release_is_the_sentrys_not_the_hosts() {
    // sentry identity
    let host = run_native("/bin/uname", &["-r"], &[], None);
    let guest = run_moat(&[], "/bin/uname", &["-r"], &[], None);
    assert_eq!(
        guest.status, 0,
        "uname -r failed under moat:\n{}",
        guest.stderr
    );
    assert!(
        !guest.stdout.trim().is_empty(),
        "uname -r printed nothing under moat"
    );
    assert_ne!(
        guest.stdout, host.stdout,
        "under moat, uname -r reports the host kernel's release"
    );
}

#[test]
fn uname_sysname_is_linux() {
    let guest = run_moat(&[], "/bin/uname", &["-s"], &[], None);
    assert_eq!(
        (guest.status, guest.stdout.as_str()),
        (0, "Linux\n"),
        "stderr:\n{}",
        guest.stderr
    );
}

#[test]
fn first_guest_process_is_pid_1() {
    // sentry identity
    let guest = run_moat(&[], guest("pid", Static), &[], &[], None);
    assert_eq!(guest.status, 0, "stderr:\n{}", guest.stderr);
    assert_eq!(guest.stdout, "getpid: 1\ngetppid: 0\ngettid: 1\n");
}

#[test]
fn syscalls_the_host_implements_but_moat_does_not_never_reach_the_host() {
    // sentry identity: natively these return the host's errors, under moat ENOSYS.
    let native = run_native(guest("unimplemented", Static), &[], &[], None);
    assert!(
        !native.stdout.contains("ENOSYS"),
        "the host lacks one of them:\n{}",
        native.stdout
    );
    let sandboxed = run_moat(&[], guest("unimplemented", Static), &[], &[], None);
    assert_eq!(sandboxed.status, 0, "stderr:\n{}", sandboxed.stderr);
    assert_eq!(
        sandboxed.stdout,
        "io_uring_setup: -1 errno=ENOSYS\nbpf: -1 errno=ENOSYS\nuserfaultfd: -1 errno=ENOSYS\n"
    );
}

#[test]
fn syscall_number_linux_lacks_returns_enosys() {
    let guest = run_moat(&[], guest("rawsyscall", Static), &[], &[], None);
    assert_eq!(
        guest.status, 0,
        "stdout:\n{}stderr:\n{}",
        guest.stdout, guest.stderr
    );
    assert!(
        guest.stdout.contains("syscall_1000: -1 errno=ENOSYS\n"),
        "stdout:\n{}",
        guest.stdout
    );
}

#[test]
fn strace_option_reports_exit_group_on_stderr() {
    let traced = run_moat(&["--strace"], "/bin/true", &[], &[], None);
    assert_eq!(traced.status, 0, "stderr:\n{}", traced.stderr);
    assert!(
        traced.stderr.contains("exit_group("),
        "no exit_group( in stderr:\n{}",
        traced.stderr
    );
    assert_eq!(
        traced.stdout, "",
        "strace output must not go to the guest's stdout"
    );
}

#[test]
fn segfaulting_guest_exits_139() {
    let guest = run_moat(&[], guest("segv", Static), &[], &[], None);
    assert_eq!(guest.status, 128 + 11, "stderr:\n{}", guest.stderr);
}

#[test]
fn aborting_guest_exits_134() {
    let guest = run_moat(&[], guest("abort", Static), &[], &[], None);
    assert_eq!(guest.status, 128 + 6, "stderr:\n{}", guest.stderr);
}

#[test]
fn guest_exit_status_is_moats_exit_status() {
    let guest = run_moat(&[], guest("exit_codes", Static), &["7"], &[], None);
    assert_eq!(guest.status, 7, "stderr:\n{}", guest.stderr);
}

#[test]
fn bad_pointers_fail_with_efault_and_the_guest_survives() {
    assert_guest_matches_native(guest("efault", Static), &[fixtures_dir()]);
}

#[test]
fn nonexistent_program_fails_with_a_message_naming_it() {
    let run = run_moat(&[], "/nonexistent", &[], &[], None);
    assert_ne!(run.status, 0, "moat do /nonexistent succeeded");
    assert!(
        run.stderr.contains("/nonexistent"),
        "the error does not name the program:\n{}",
        run.stderr
    );
}

#[test]
fn help_mentions_do() {
    let help = run_moat_cli(&["--help"]);
    assert_eq!(help.status, 0, "stderr:\n{}", help.stderr);
    assert!(help.stdout.contains("do"), "moat --help:\n{}", help.stdout);
}

#[test]
fn do_help_documents_strace() {
    let help = run_moat_cli(&["do", "--help"]);
    assert_eq!(help.status, 0, "stderr:\n{}", help.stderr);
    assert!(
        help.stdout.contains("--strace"),
        "moat do --help:\n{}",
        help.stdout
    );
}

#[test]
fn sentry_survives_every_syscall_with_adversarial_arguments() {
    let run = run_moat(&[], guest("fuzz", Static), &[], &[], None);
    assert_eq!(
        run.status, 0,
        "the fuzzing guest did not finish; stderr:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("panicked"),
        "the sentry panicked:\n{}",
        run.stderr
    );
}

/// Whether moat's vDSO can read the clock from the TSC on this host (the rule of
/// sentry::kernel::vdso::probe_host_tsc): otherwise every clock read traps.
fn host_tsc_is_usable() -> bool {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .unwrap_or_default();
    let clocksource =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap_or_default();
    flags.split_whitespace().any(|f| f == "constant_tsc")
        && flags.split_whitespace().any(|f| f == "nonstop_tsc")
        && clocksource.trim() == "tsc"
}

#[test]
fn clock_gettime_through_the_vdso_does_not_trap() {
    // 1000 clock_gettime calls through the C library, then one raw system call.
    let traced = run_moat(
        &["--strace"],
        guest("vdso", Static),
        &["loop", "1000"],
        &[],
        None,
    );
    assert_eq!(traced.status, 0, "stderr:\n{}", traced.stderr);
    let traps = traced.stderr.matches("clock_gettime(").count();
    let expected = if host_tsc_is_usable() { 1 } else { 1001 };
    assert_eq!(traps, expected, "stderr:\n{}", traced.stderr);
}
