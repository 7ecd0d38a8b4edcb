//! moat's own processes confine themselves: each test starts a sandbox whose guest
//! waits on its stdin, inspects the running gofer and sentry from the host through
//! /proc, then lets the guest finish.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use moat_tests::{moat_bin, rootfs_dir};

/// A running `moat do --rootfs <rootfs> /cat` (copying its stdin) and its two roles.
struct Sandbox {
    moat: Child,
    gofer: u32,
    sentry: u32,
}

impl Sandbox {
    fn start() -> Sandbox {
        let moat = Command::new(moat_bin())
            .args(["do", "--rootfs", rootfs_dir(), "/cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start moat");
        let (mut gofer, mut sentry) = (None, None);
        // The roles confine themselves as they start; wait until both have a seccomp
        // filter (the last step of each), or fail after a generous deadline.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            for pid in children_of(moat.id()) {
                let role = cmdline(pid).get(1).cloned().unwrap_or_default();
                let confined = status_field(pid, "Seccomp").as_deref() == Some("2");
                match role.as_str() {
                    "gofer" if confined => gofer = Some(pid),
                    "boot" if confined => sentry = Some(pid),
                    _ => {}
                }
            }
            if gofer.is_some() && sentry.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Sandbox {
            gofer: gofer.expect("the gofer never installed its seccomp filter"),
            sentry: sentry.expect("the sentry never installed its seccomp filter"),
            moat,
        }
    }

    /// Lets the guest (`/cat`) echo a line and exit; returns what it printed.
    fn finish(mut self) -> String {
        let mut stdin = self.moat.stdin.take().expect("stdin");
        stdin.write_all(b"still works\n").expect("write");
        drop(stdin);
        let out = self.moat.wait_with_output().expect("wait for moat");
        assert!(
            out.status.success(),
            "moat failed: {:?} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised comm: state ppid ...
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        let ppid = after.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn status_field(pid: u32, name: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == name).then(|| v.trim().to_owned())
    })
}

fn caps(pid: u32, set: &str) -> u64 {
    let hex = status_field(pid, set).unwrap_or_else(|| panic!("no {set} for {pid}"));
    u64::from_str_radix(&hex, 16).expect("hex capability set")
}

fn ns(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap_or_else(|e| panic!("readlink ns/{kind} of {pid}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// (mount point, options, filesystem type) of each mount `pid` sees.
fn mounts(pid: u32) -> Vec<(String, String, String)> {
    std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .expect("read mountinfo")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let dash = f
                .iter()
                .position(|x| *x == "-")
                .expect("mountinfo separator");
            (f[4].to_owned(), f[5].to_owned(), f[dash + 1].to_owned())
        })
        .collect()
}

fn names_in(dir: impl AsRef<Path>) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

const CAP_DAC_OVERRIDE: u64 = 1 << 1;
const CAP_DAC_READ_SEARCH: u64 = 1 << 2;
const CAP_FOWNER: u64 = 1 << 3;

#[test]
fn gofer_sees_only_the_rootfs_through_its_own_mount_namespace() {
    let sandbox = Sandbox::start();
    let g = sandbox.gofer;
    for kind in ["mnt", "net", "ipc", "uts"] {
        assert_ne!(
            ns(&g.to_string(), kind),
            ns("self", kind),
            "gofer shares the host's {kind} namespace"
        );
    }
    // Its root holds the served tree (at /root) and nothing else of the host's.
    assert_eq!(
        names_in(format!("/proc/{g}/root")),
        BTreeSet::from(["root".to_string()])
    );
    assert_eq!(
        names_in(format!("/proc/{g}/root/root")),
        names_in(rootfs_dir())
    );
    let table = mounts(g);
    assert!(!table.is_empty());
    for (point, options, fs_type) in &table {
        assert!(
            !["proc", "sysfs", "devtmpfs", "cgroup", "cgroup2", "devpts"]
                .contains(&fs_type.as_str()),
            "host pseudo-filesystem {fs_type} still mounted at {point}"
        );
        let opts: BTreeSet<&str> = options.split(',').collect();
        for wanted in ["ro", "nosuid", "nodev", "noexec"] {
            assert!(
                opts.contains(wanted),
                "mount {point} lacks {wanted}: {options}"
            );
        }
    }
    assert_eq!(sandbox.finish(), "still works\n");
}

#[test]
fn gofer_keeps_only_the_file_capabilities_and_runs_under_seccomp() {
    let sandbox = Sandbox::start();
    let g = sandbox.gofer;
    let wanted = CAP_DAC_OVERRIDE | CAP_DAC_READ_SEARCH | CAP_FOWNER;
    if nix_is_root() {
        assert_eq!(caps(g, "CapEff"), wanted);
        assert_eq!(caps(g, "CapPrm"), wanted);
        assert_eq!(caps(g, "CapBnd"), wanted);
    }
    assert_eq!(caps(g, "CapInh"), 0);
    assert_eq!(caps(g, "CapAmb"), 0);
    assert_eq!(status_field(g, "NoNewPrivs").as_deref(), Some("1"));
    assert_eq!(status_field(g, "Seccomp").as_deref(), Some("2"));
    assert_eq!(sandbox.finish(), "still works\n");
}

#[test]
fn sentry_runs_unprivileged_in_an_empty_root_under_seccomp() {
    let sandbox = Sandbox::start();
    let s = sandbox.sentry;
    for kind in ["user", "mnt", "net", "ipc", "uts"] {
        assert_ne!(
            ns(&s.to_string(), kind),
            ns("self", kind),
            "sentry shares the host's {kind} namespace"
        );
    }
    // Started as root, it is host nobody.
    if nix_is_root() {
        let uid = status_field(s, "Uid").expect("Uid");
        assert!(
            uid.split_whitespace().all(|u| u == "65534"),
            "sentry uids: {uid}"
        );
    }
    assert!(
        names_in(format!("/proc/{s}/root")).is_empty(),
        "the sentry's root is not empty"
    );
    let table = mounts(s);
    assert_eq!(table.len(), 1, "sentry mounts: {table:?}");
    assert!(table[0].1.split(',').any(|o| o == "ro"));
    assert_eq!(status_field(s, "NoNewPrivs").as_deref(), Some("1"));
    assert_eq!(status_field(s, "Seccomp").as_deref(), Some("2"));
    assert_eq!(sandbox.finish(), "still works\n");
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
