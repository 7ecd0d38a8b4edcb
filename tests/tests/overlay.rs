//! The overlay root: a guest changes files that existed before it started, and sees
//! what it would see natively, while the host's files stay as they were.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use moat_tests::{assert_outputs_match, guest, run_moat, run_native, Linkage, Scratch};

/// Lays out the fixture tests/guest/overlay.c describes.
fn build_fixture(dir: &Path) {
    let write = |rel: &str, data: &[u8], mode: u32| {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
    };
    write("file", b"lower data\n", 0o644);
    let big: Vec<u8> = (0..1usize << 20)
        .map(|i| {
            if (256 << 10..512 << 10).contains(&i) {
                0
            } else {
                (i % 251) as u8
            }
        })
        .collect();
    write("big", &big, 0o644);
    write("ro", b"read only\n", 0o444);
    write("dir/a", b"a\n", 0o644);
    write("dir/b", b"b\n", 0o644);
    write("dir/sub/c", b"c\n", 0o644);
    fs::create_dir(dir.join("empty")).unwrap();
    symlink("file", dir.join("link")).unwrap();
    write("hard1", b"shared\n", 0o644);
    fs::hard_link(dir.join("hard1"), dir.join("hard2")).unwrap();
    write("deep/x/y/z", b"z\n", 0o644);
}

/// Every path under `dir` with its type, mode, size, link count, mtime and content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let content = if m.is_file() {
                format!("{:x}", fnv(&fs::read(&p).unwrap()))
            } else if m.file_type().is_symlink() {
                fs::read_link(&p).unwrap().display().to_string()
            } else {
                todo.push(p.clone());
                String::new()
            };
            out.insert(
                p.strip_prefix(dir).unwrap().to_path_buf(),
                format!(
                    "mode={:o} size={} nlink={} mtime={}.{} ino={} {content}",
                    m.mode(),
                    m.size(),
                    m.nlink(),
                    m.mtime(),
                    m.mtime_nsec(),
                    m.ino()
                ),
            );
        }
    }
    out
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn overlay_matches_native(linkage: Linkage, tag: &str) {
    let scratch = Scratch::new(&format!("overlay-{tag}"));
    let native_dir = scratch.0.join("native");
    let moat_dir = scratch.0.join("moat");
    build_fixture(&native_dir);
    build_fixture(&moat_dir);
    let program = guest("overlay", linkage);
    let native = run_native(&program, &[native_dir.to_str().unwrap()], &[], None);
    assert!(
        native.status == 0,
        "the native run failed its own checks:\n{}{}",
        native.stdout,
        native.stderr
    );
    let before = snapshot(&moat_dir);
    let moat = run_moat(&[], &program, &[moat_dir.to_str().unwrap()], &[], None);
    assert_outputs_match("overlay (on a host directory)", &native, &moat);
    assert_eq!(
        snapshot(&moat_dir),
        before,
        "the guest's changes reached the host's files"
    );
}

#[test]
fn overlay_changes_static_match_native_and_leave_the_host_alone() {
    overlay_matches_native(Linkage::Static, "static");
}

#[test]
fn overlay_changes_dynamic_match_native_and_leave_the_host_alone() {
    overlay_matches_native(Linkage::Dynamic, "dynamic");
}

/// `moat do` writes to /etc never reach the host's /etc; the guest sees its own.
#[test]
fn writes_to_etc_stay_in_the_sandbox() {
    let name = format!("moat-overlay-probe-{}", std::process::id());
    let script = format!(
        "echo sandboxed > /etc/{name} && cat /etc/{name} && rm /etc/hostname && \
         ls /etc/hostname 2>/dev/null; echo $?"
    );
    let out = run_moat(&[], "/bin/sh", &["-c", &script], &[], None);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "sandboxed\n2\n");
    assert!(!Path::new("/etc").join(&name).exists());
    assert!(Path::new("/etc/hostname").exists());
}
