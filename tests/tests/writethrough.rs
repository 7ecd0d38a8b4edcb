//! `moat do --overlay none`: the root is the host's tree, written through the gofer (as
//! runc writes an OCI bundle's root). Guests see Linux's behaviour and the host sees
//! exactly what the guest did.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use moat_tests::{assert_outputs_match, guest, rootfs_dir, run_moat, run_native, Linkage, Scratch};

fn fsmutate_matches_native(linkage: Linkage, tag: &str) {
    let program = guest("fsmutate", linkage);
    let (native_dir, moat_dir) = (
        Scratch::new(&format!("wt-native-{tag}")),
        Scratch::new(&format!("wt-moat-{tag}")),
    );
    let native = run_native(&program, &[native_dir.path()], &[], None);
    assert_eq!(native.status, 0, "native run failed:\n{}", native.stdout);
    let moat = run_moat(
        &["--overlay", "none"],
        &program,
        &[moat_dir.path()],
        &[],
        None,
    );
    assert_outputs_match("--overlay none fsmutate", &native, &moat);
}

// The 330 checks of tests/guest/fsmutate.c (create, link, rename, attributes, xattrs,
// O_TMPFILE, FIFOs, holes, permissions) on host files through the gofer.
#[test]
fn file_changes_on_the_hosts_tree_static_match_native() {
    fsmutate_matches_native(Linkage::Static, "static");
}

#[test]
fn file_changes_on_the_hosts_tree_dynamic_match_native() {
    fsmutate_matches_native(Linkage::Dynamic, "dynamic");
}

#[test]
fn the_host_sees_what_the_guest_wrote() {
    // A copy of the test rootfs with busybox, so the guest has a shell.
    let root = Scratch::new("wt-root");
    for entry in fs::read_dir(rootfs_dir()).unwrap().flatten() {
        fs::copy(entry.path(), root.0.join(entry.file_name())).unwrap();
    }
    fs::create_dir(root.0.join("bin")).unwrap();
    fs::copy("/bin/busybox", root.0.join("bin/busybox")).expect("busybox-static");
    let script = "echo data > /made && mkdir -m 750 /dir && mv /made /dir/moved \
                  && ln -s moved /dir/link && chmod 604 /dir/moved \
                  && touch -d @1000000000 /dir/moved && rm /marker.txt && echo done";
    let out = run_moat(
        &["--overlay", "none", "--rootfs", root.path()],
        "/bin/busybox",
        &["sh", "-c", script],
        &[],
        None,
    );
    assert_eq!(
        (out.status, out.stdout.as_str()),
        (0, "done\n"),
        "{}",
        out.stderr
    );
    let moved = fs::metadata(root.0.join("dir/moved")).unwrap();
    assert_eq!(fs::read(root.0.join("dir/moved")).unwrap(), b"data\n");
    assert_eq!(moved.permissions().mode() & 0o7777, 0o604);
    assert_eq!(moved.mtime(), 1_000_000_000);
    assert_eq!(
        fs::metadata(root.0.join("dir")).unwrap().mode() & 0o7777,
        0o750
    );
    assert_eq!(
        fs::read_link(root.0.join("dir/link")).unwrap().to_str(),
        Some("moved")
    );
    assert!(!root.0.join("marker.txt").exists());
    assert!(!root.0.join("made").exists());
}

/// Runs `program args... DIR` natively and under `moat do --overlay none`, each on its own
/// fresh host directory, and asserts both print the same.
fn same_on_host_files(tag: &str, program: &str, args: &[&str]) -> String {
    let (native_dir, moat_dir) = (
        Scratch::new(&format!("wt-n-{tag}")),
        Scratch::new(&format!("wt-m-{tag}")),
    );
    let native_args: Vec<&str> = args.iter().copied().chain([native_dir.path()]).collect();
    let moat_args: Vec<&str> = args.iter().copied().chain([moat_dir.path()]).collect();
    let native = run_native(program, &native_args, &[], None);
    assert_eq!(native.status, 0, "native: {}", native.stderr);
    let moat = run_moat(&["--overlay", "none"], program, &moat_args, &[], None);
    assert_outputs_match(&format!("--overlay none {program} ({tag})"), &native, &moat);
    native.stdout
}

// Shared mappings of host files: a read-only one sees write(); a writable one's stores
// are seen by read() and other mappings at once, and reach the host file on msync and
// on close.
#[test]
fn shared_mappings_of_host_files_are_coherent_and_written_back() {
    let code = "import mmap, os, sys\n\
path = os.path.join(sys.argv[1], 'f')\n\
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)\n\
os.write(fd, b'a' * 8192)\n\
r = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ)\n\
os.pwrite(fd, b'XYZ', 10)\n\
print(r[10:13])\n\
w = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)\n\
w[0:3] = b'QQQ'\n\
w[4100:4103] = b'RRR'\n\
print(os.pread(fd, 3, 0), os.pread(fd, 3, 4100), r[0:3])\n\
w.flush()\n\
with open(path, 'rb') as f:\n    d = f.read()\n\
print(d[0:3], d[4100:4103], len(d))\n\
w[8000:8003] = b'END'\n\
w.close(); r.close(); os.close(fd)\n\
with open(path, 'rb') as f:\n    print(f.read()[8000:8003])\n";
    let out = same_on_host_files("mmap", "/usr/bin/python3", &["-c", code]);
    assert_eq!(
        out,
        "b'XYZ'\nb'QQQ' b'RRR' b'QQQ'\nb'QQQ' b'RRR' 8192\nb'END'\n"
    );
}

// sqlite3 in WAL mode (its -shm index is a shared writable mapping) and with a rollback
// journal, on host files.
#[test]
fn sqlite3_on_host_files_matches_native() {
    let script = "set -e; cd \"$0\"\n\
for mode in wal delete; do\n\
sqlite3 db-$mode \"PRAGMA journal_mode=$mode; CREATE TABLE t(x); \
 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 500) \
 INSERT INTO t SELECT i FROM n;\"\n\
sqlite3 db-$mode 'SELECT count(*), sum(x) FROM t; PRAGMA integrity_check;'\n\
done\n";
    let out = same_on_host_files("sqlite", "/bin/sh", &["-c", script]);
    assert_eq!(out, "wal\n500|125250\nok\ndelete\n500|125250\nok\n");
}
