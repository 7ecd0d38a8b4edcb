//! The operations that change the served tree, checked against the host's view of it.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use common::{Gofer, TempTree};
use gofer::{setattr, Error, SetAttr};

fn writable() -> Gofer {
    Gofer::start(TempTree::standard(), false)
}

fn errno<T: std::fmt::Debug>(r: Result<T, Error>) -> i32 {
    match r {
        Err(Error::Errno(e)) => e,
        other => panic!("expected an errno, got {other:?}"),
    }
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

const ME: (u32, u32) = (u32::MAX, u32::MAX);

#[test]
fn create_makes_a_new_file_with_the_exact_mode_and_donates_it_open() {
    let g = writable();
    let (handle, stat, fd) = g
        .client
        .create(g.root, b"new.txt", libc::O_RDWR, 0o640, ME)
        .expect("create");
    assert!(stat.is_regular());
    assert_eq!(stat.mode & 0o7777, 0o640);
    let mut f = fs::File::from(fd);
    f.write_all(b"written through").unwrap();
    assert_eq!(
        fs::read(g.tree.join("new.txt")).unwrap(),
        b"written through"
    );
    let meta = fs::metadata(g.tree.join("new.txt")).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(meta.ino(), stat.ino);
    assert_eq!(g.client.stat(handle).unwrap().size, 15);
    // Never an existing file, nor anything through a symlink.
    assert_eq!(
        errno(g.client.create(g.root, b"new.txt", libc::O_RDWR, 0o600, ME)),
        libc::EEXIST
    );
    assert_eq!(
        errno(
            g.client
                .create(g.root, b"dangling", libc::O_RDWR, 0o600, ME)
        ),
        libc::EEXIST
    );
    assert!(!g.tree.join("nowhere").exists());
}

#[test]
fn new_files_get_the_owner_the_request_names() {
    if !is_root() {
        return; // only root may give files away
    }
    let g = writable();
    let ids = (1234, 5678);
    g.client
        .create(g.root, b"f", libc::O_WRONLY, 0o4755, ids)
        .unwrap();
    g.client.mkdir(g.root, b"d", 0o2750, ids).unwrap();
    g.client.symlink(g.root, b"l", b"f", ids).unwrap();
    for (name, mode) in [("f", Some(0o4755)), ("d", Some(0o2750)), ("l", None)] {
        let meta = fs::symlink_metadata(g.tree.join(name)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), ids, "{name}");
        if let Some(mode) = mode {
            // Set-id bits survive the chown (the gofer sets the mode after it).
            assert_eq!(meta.mode() & 0o7777, mode, "{name}");
        }
    }
}

#[test]
fn mkdir_mknod_symlink_and_link_make_what_they_say() {
    let g = writable();
    let (_, st) = g.client.mkdir(g.root, b"d", 0o700, ME).unwrap();
    assert!(st.is_dir());
    assert!(g.tree.join("d").is_dir());
    let (_, st) = g
        .client
        .mknod(g.root, b"p", libc::S_IFIFO | 0o600, ME)
        .unwrap();
    assert_eq!(st.file_type(), libc::S_IFIFO);
    assert_eq!(
        errno(g.client.mknod(g.root, b"dev", libc::S_IFCHR | 0o600, ME)),
        libc::EPERM
    );
    let (_, st) = g
        .client
        .symlink(g.root, b"s", b"../outside/target", ME)
        .unwrap();
    assert!(st.is_symlink());
    assert_eq!(
        fs::read_link(g.tree.join("s")).unwrap().to_str(),
        Some("../outside/target")
    );
    let (file, _) = g.walk_path("file.txt");
    let (_, st) = g.client.link(g.root, b"hard", file).unwrap();
    assert_eq!(st.nlink, 2);
    assert_eq!(
        fs::metadata(g.tree.join("hard")).unwrap().ino(),
        fs::metadata(g.tree.join("file.txt")).unwrap().ino()
    );
    let (dir, _) = g.walk_path("dir");
    assert_eq!(errno(g.client.link(g.root, b"dirlink", dir)), libc::EPERM);
}

#[test]
fn names_that_are_not_one_plain_component_are_refused() {
    let g = writable();
    for bad in [&b".."[..], b".", b"", b"a/b", b"x\0y"] {
        assert_eq!(
            errno(g.client.mkdir(g.root, bad, 0o755, ME)),
            libc::EINVAL,
            "{bad:?}"
        );
        assert_eq!(errno(g.client.unlink(g.root, bad, 0)), libc::EINVAL);
    }
    assert_eq!(
        errno(g.client.mkdir(g.root, &[b'n'; 256], 0o755, ME)),
        libc::ENAMETOOLONG
    );
    // Making something inside a file is ENOTDIR.
    let (file, _) = g.walk_path("file.txt");
    assert_eq!(errno(g.client.mkdir(file, b"x", 0o755, ME)), libc::ENOTDIR);
}

#[test]
fn unlink_and_rename_follow_the_hosts_rules() {
    let g = writable();
    assert_eq!(errno(g.client.unlink(g.root, b"dir", 0)), libc::EISDIR);
    assert_eq!(
        errno(g.client.unlink(g.root, b"dir", libc::AT_REMOVEDIR)),
        libc::ENOTEMPTY
    );
    g.client.unlink(g.root, b"file.txt", 0).unwrap();
    assert!(!g.tree.join("file.txt").exists());
    g.client
        .rename((g.root, b"link"), (g.root, b"renamed"), 0)
        .unwrap();
    assert!(fs::symlink_metadata(g.tree.join("renamed")).is_ok());
    let (dir, _) = g.walk_path("dir");
    assert_eq!(
        errno(
            g.client
                .rename((g.root, b"renamed"), (dir, b"sub"), libc::RENAME_NOREPLACE)
        ),
        libc::EEXIST
    );
    g.client
        .rename((g.root, b"renamed"), (dir, b"sub"), libc::RENAME_EXCHANGE)
        .unwrap();
    assert!(fs::symlink_metadata(g.tree.join("dir/sub"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(g.tree.join("renamed/deep.txt").exists());
    assert_eq!(
        errno(g.client.rename((g.root, b"fifo"), (g.root, b"x"), 1 << 20)),
        libc::EINVAL
    );
}

#[test]
fn set_attr_changes_mode_size_and_times_in_one_call() {
    let g = writable();
    let (file, _) = g.walk_path("file.txt");
    let st = g
        .client
        .set_attr(
            file,
            SetAttr {
                mask: setattr::MODE | setattr::SIZE | setattr::ATIME | setattr::MTIME,
                mode: 0o600,
                size: 5,
                atime_sec: 1_000_000,
                atime_nsec: 5,
                mtime_sec: 2_000_000,
                mtime_nsec: 7,
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!(st.mode & 0o7777, 0o600);
    assert_eq!(st.size, 5);
    assert_eq!((st.atime_sec, st.atime_nsec), (1_000_000, 5));
    assert_eq!((st.mtime_sec, st.mtime_nsec), (2_000_000, 7));
    let meta = fs::metadata(g.tree.join("file.txt")).unwrap();
    assert_eq!(meta.len(), 5);
    assert_eq!(meta.mtime(), 2_000_000);
    // Only the masked fields change.
    let st = g
        .client
        .set_attr(
            file,
            SetAttr {
                mask: setattr::MTIME,
                mtime_sec: 3,
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!((st.atime_sec, st.mtime_sec, st.size), (1_000_000, 3, 5));
    let (dir, _) = g.walk_path("dir");
    let size_only = SetAttr {
        mask: setattr::SIZE,
        ..SetAttr::default()
    };
    assert_eq!(errno(g.client.set_attr(dir, size_only)), libc::EISDIR);
    let bad_mask = SetAttr {
        mask: 1 << 20,
        ..SetAttr::default()
    };
    assert_eq!(errno(g.client.set_attr(file, bad_mask)), libc::EINVAL);
}

#[test]
fn extended_attributes_round_trip_through_the_host() {
    let g = writable();
    let (file, _) = g.walk_path("file.txt");
    assert_eq!(
        errno(g.client.get_xattr(file, b"user.moat", 0)),
        libc::ENODATA
    );
    g.client
        .set_xattr(file, b"user.moat", b"value\0bytes", 0)
        .unwrap();
    assert_eq!(
        g.client.get_xattr(file, b"user.moat", 0).unwrap(),
        b"value\0bytes"
    );
    assert_eq!(
        errno(g.client.get_xattr(file, b"user.moat", 3)),
        libc::ERANGE
    );
    assert_eq!(
        errno(
            g.client
                .set_xattr(file, b"user.moat", b"x", libc::XATTR_CREATE)
        ),
        libc::EEXIST
    );
    let names = g.client.list_xattr(file, 0).unwrap();
    assert!(names.split(|&b| b == 0).any(|n| n == b"user.moat"));
    g.client.remove_xattr(file, b"user.moat").unwrap();
    assert_eq!(
        errno(g.client.remove_xattr(file, b"user.moat")),
        libc::ENODATA
    );
    assert_eq!(errno(g.client.get_xattr(file, b"", 0)), libc::ERANGE);
}

#[test]
fn fsync_and_allocate_act_on_the_host_file() {
    let g = writable();
    let (file, _) = g.walk_path("file.txt");
    g.client.fsync(file, false).unwrap();
    g.client.fsync(file, true).unwrap();
    g.client.allocate(file, 0, 0, 1 << 16).unwrap();
    assert_eq!(
        fs::metadata(g.tree.join("file.txt")).unwrap().len(),
        1 << 16
    );
    let mut head = vec![0; 5];
    fs::File::open(g.tree.join("file.txt"))
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    assert_eq!(head, b"hello");
    let (dir, _) = g.walk_path("dir");
    assert_eq!(errno(g.client.allocate(dir, 0, 0, 1)), libc::EISDIR);
}

#[test]
fn a_read_only_server_refuses_every_change_with_erofs() {
    let g = Gofer::standard();
    let (file, _) = g.walk_path("file.txt");
    let before = fs::read(g.tree.join("file.txt")).unwrap();
    assert_eq!(
        errno(g.client.create(g.root, b"n", libc::O_RDWR, 0o644, ME)),
        libc::EROFS
    );
    assert_eq!(errno(g.client.mkdir(g.root, b"n", 0o755, ME)), libc::EROFS);
    assert_eq!(
        errno(g.client.mknod(g.root, b"n", libc::S_IFIFO, ME)),
        libc::EROFS
    );
    assert_eq!(errno(g.client.symlink(g.root, b"n", b"t", ME)), libc::EROFS);
    assert_eq!(errno(g.client.link(g.root, b"n", file)), libc::EROFS);
    assert_eq!(errno(g.client.unlink(g.root, b"file.txt", 0)), libc::EROFS);
    assert_eq!(
        errno(g.client.rename((g.root, b"file.txt"), (g.root, b"n"), 0)),
        libc::EROFS
    );
    let attr = SetAttr {
        mask: setattr::SIZE,
        ..SetAttr::default()
    };
    assert_eq!(errno(g.client.set_attr(file, attr)), libc::EROFS);
    assert_eq!(
        errno(g.client.set_xattr(file, b"user.x", b"", 0)),
        libc::EROFS
    );
    assert_eq!(errno(g.client.remove_xattr(file, b"user.x")), libc::EROFS);
    assert_eq!(errno(g.client.allocate(file, 0, 0, 10)), libc::EROFS);
    // Reading attributes and syncing change nothing and are allowed.
    assert_eq!(errno(g.client.get_xattr(file, b"user.x", 0)), libc::ENODATA);
    g.client.fsync(file, false).unwrap();
    assert_eq!(fs::read(g.tree.join("file.txt")).unwrap(), before);
    assert!(!g.tree.join("n").exists());
}
