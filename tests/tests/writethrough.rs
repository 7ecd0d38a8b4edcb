//! `moat do --overlay none`: the root is the host's tree, written through the gofer (as
//! runc writes an OCI bundle's root). Guests see Linux's behaviour and the host sees
//! exactly what the guest did.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use moat_tests::{assert_outputs_match, guest, rootfs_dir, run_moat, run_native, Linkage};

/// A scratch directory under the host's /tmp, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("moat-wt-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn fsmutate_matches_native(linkage: Linkage, tag: &str) {
    let program = guest("fsmutate", linkage);
    let (native_dir, moat_dir) = (
        Scratch::new(&format!("native-{tag}")),
        Scratch::new(&format!("moat-{tag}")),
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
    let root = Scratch::new("root");
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

#[test]
fn shared_mappings_follow_writes_and_writable_ones_are_refused() {
    let dir = Scratch::new("mmap");
    let file = dir.0.join("f");
    let code = format!(
        "import mmap, os\n\
         fd = os.open({file:?}, os.O_RDWR | os.O_CREAT, 0o644)\n\
         os.write(fd, b'a' * 8192)\n\
         m = mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ)\n\
         print(m[10:13])\n\
         os.pwrite(fd, b'XYZ', 10)\n\
         print(m[10:13])\n\
         try:\n    mmap.mmap(fd, 8192, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)\n    print('mapped')\n\
         except OSError as e:\n    print('errno', e.errno)\n",
        file = file.to_str().unwrap()
    );
    let out = run_moat(
        &["--overlay", "none"],
        "/usr/bin/python3",
        &["-c", &code],
        &[],
        None,
    );
    // A read-only shared mapping sees the write at once; a writable one would keep its
    // pages in the sentry, so it is refused with ENODEV rather than losing writes.
    assert_eq!(
        out.stdout,
        format!("b'aaa'\nb'XYZ'\nerrno {ENODEV}\n"),
        "{}",
        out.stderr
    );
    let data = fs::read(&file).unwrap();
    assert_eq!(&data[10..13], b"XYZ");
}

const ENODEV: i32 = 19;
