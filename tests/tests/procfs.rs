//! procfs: what a process reads about itself and its children agrees with Linux.
//!
//! The guest (tests/guest/procfs.c) checks /proc against its own system calls; host
//! tools that live on /proc (`ps`, `df`, `mount`) see the sandbox and only the sandbox
//! (so those three tests fail with tests/fake-moat.sh, which runs them on the host).
//!
//! `procfs gaps` also runs the guest's checks moat does not pass yet:
//! `moat do <GUEST_BIN_DIR>/procfs.static gaps` lists them as FAILED lines.

use std::path::Path;

use moat_tests::{assert_guest_matches_native, guest, run_moat, Linkage, Output};

#[test]
fn procfs_static_matches_native() {
    assert_guest_matches_native(guest("procfs", Linkage::Static), &[]);
}

#[test]
fn procfs_dynamic_matches_native() {
    assert_guest_matches_native(guest("procfs", Linkage::Dynamic), &[]);
}

/// Whether a host tool is installed; tests needing one it lacks are skipped.
fn have(tool: &str, test: &str) -> bool {
    let found = Path::new(tool).exists();
    if !found {
        eprintln!("note: skipping {test}: {tool} is not installed");
    }
    found
}

fn assert_succeeded(what: &str, out: &Output) {
    assert_eq!(
        out.status, 0,
        "{what} under moat failed:\n--- stdout ---\n{}--- stderr ---\n{}",
        out.stdout, out.stderr
    );
}

/// The whitespace-separated fields of each line.
fn rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|line| line.split_whitespace().collect())
        .collect()
}

#[test]
fn ps_sees_only_the_sandbox_with_pids_from_1() {
    if !have("/bin/ps", "ps_sees_only_the_sandbox_with_pids_from_1") {
        return;
    }
    // The shell is pid 1, the background sleep 2 and ps 3. The shell waits (with
    // builtins only, so no other process is made) until the sleep has replaced its
    // forked shell, so that ps reads "sleep" and not "sh" for pid 2.
    let script = "sleep 5 & \
                  until read c < /proc/$!/comm && [ \"$c\" = sleep ]; do :; done; \
                  ps -e -o pid=,ppid=,comm=; kill $!";
    let out = run_moat(&[], "/bin/sh", &["-c", script], &[], None);
    assert_succeeded("ps -e", &out);
    assert_eq!(
        rows(&out.stdout),
        vec![
            vec!["1", "0", "sh"],
            vec!["2", "1", "sleep"],
            vec!["3", "1", "ps"]
        ],
        "ps -e -o pid=,ppid=,comm= printed:\n{}--- stderr ---\n{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn df_shows_root_as_overlay_and_proc_as_proc() {
    if !have("/bin/df", "df_shows_root_as_overlay_and_proc_as_proc") {
        return;
    }
    let out = run_moat(&[], "/bin/df", &["/"], &[], None);
    assert_succeeded("df /", &out);
    let table = rows(&out.stdout);
    assert_eq!(table.len(), 2, "df / printed:\n{}", out.stdout);
    assert_eq!(table[0][0], "Filesystem", "df / printed:\n{}", out.stdout);
    assert_eq!(
        (table[1][0], *table[1].last().unwrap()),
        ("overlay", "/"),
        "df / printed:\n{}",
        out.stdout
    );

    let out = run_moat(&[], "/bin/df", &["-T", "/proc"], &[], None);
    assert_succeeded("df -T /proc", &out);
    let table = rows(&out.stdout);
    assert_eq!(table.len(), 2, "df -T /proc printed:\n{}", out.stdout);
    assert_eq!(
        (table[1][0], table[1][1], *table[1].last().unwrap()),
        ("proc", "proc", "/proc"),
        "df -T /proc printed:\n{}",
        out.stdout
    );
}

#[test]
fn mount_lists_root_as_overlay_and_proc_as_proc() {
    if !have("/bin/mount", "mount_lists_root_as_overlay_and_proc_as_proc") {
        return;
    }
    let out = run_moat(&[], "/bin/mount", &[], &[], None);
    assert_succeeded("mount", &out);
    // "<source> on <mount point> type <fstype> (<options>)"
    let mounts: Vec<(&str, &str)> = rows(&out.stdout)
        .into_iter()
        .filter(|row| row.len() >= 5 && row[1] == "on" && row[3] == "type")
        .map(|row| (row[2], row[4]))
        .collect();
    assert!(
        mounts.contains(&("/", "overlay")),
        "mount does not show / as overlay:\n{}",
        out.stdout
    );
    assert!(
        mounts.contains(&("/proc", "proc")),
        "mount does not show /proc as proc:\n{}",
        out.stdout
    );
    assert_eq!(
        mounts.len(),
        out.stdout.lines().count(),
        "mount printed lines it should not:\n{}",
        out.stdout
    );
}

/// Writing the hostname and domainname sysctls is sethostname/setdomainname: uname
/// sees the new names, a newline ends them. (Not compared with a native run, which
/// would rename the host.)
#[test]
fn hostname_sysctl_write_is_sethostname() {
    if !have("/bin/uname", "hostname_sysctl_write_is_sethostname") {
        return;
    }
    let script = "printf 'box-a\\nrest' > /proc/sys/kernel/hostname && uname -n && \
                  cat /proc/sys/kernel/hostname && \
                  echo nis-b > /proc/sys/kernel/domainname && \
                  cat /proc/sys/kernel/domainname && \
                  if echo x > /proc/sys/kernel/ostype; then echo ostype-written; fi";
    let out = run_moat(&[], "/bin/sh", &["-c", script], &[], None);
    assert_succeeded("writing /proc/sys/kernel/hostname", &out);
    assert_eq!(
        out.stdout, "box-a\nbox-a\nnis-b\n",
        "stderr:\n{}",
        out.stderr
    );
}
