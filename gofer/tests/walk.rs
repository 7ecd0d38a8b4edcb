//! Walk, Stat and Close against a real directory tree.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;

use common::{Gofer, TempTree};
use gofer::{Error, Handle};

#[test]
fn walk_returns_a_handle_and_stat_per_component() {
    let gofer = Gofer::standard();

    let reply = gofer
        .client
        .walk(gofer.root, &[b"dir", b"sub", b"deep.txt"])
        .unwrap();

    assert_eq!(reply.errno, 0);
    let inos: Vec<u64> = reply.walked.iter().map(|(_, stat)| stat.ino).collect();
    let expected: Vec<u64> = ["dir", "dir/sub", "dir/sub/deep.txt"]
        .iter()
        .map(|p| fs::symlink_metadata(gofer.tree.join(p)).unwrap().ino())
        .collect();
    assert_eq!(inos, expected);
    let (_, deep) = reply.walked[2];
    assert!(deep.is_regular());
    assert_eq!(deep.size, 4);
}

#[test]
fn walk_hands_out_distinct_handles_for_each_component() {
    let gofer = Gofer::standard();

    let reply = gofer.client.walk(gofer.root, &[b"dir", b"sub"]).unwrap();

    let (first, second) = (reply.walked[0].0, reply.walked[1].0);
    assert_ne!(first, second);
    assert_ne!(first, gofer.root);
}

#[test]
fn walk_stops_after_symlink_without_following_it() {
    let gofer = Gofer::standard();

    let reply = gofer.client.walk(gofer.root, &[b"link", b"sub"]).unwrap();

    assert_eq!(reply.errno, 0);
    assert_eq!(reply.walked.len(), 1);
    let (_, stat) = reply.walked[0];
    assert!(stat.is_symlink());
    let host = fs::symlink_metadata(gofer.tree.join("link")).unwrap();
    assert_eq!(stat.ino, host.ino());
}

#[test]
fn walk_reports_enoent_after_the_components_it_walked() {
    let gofer = Gofer::standard();

    let reply = gofer
        .client
        .walk(gofer.root, &[b"dir", b"missing", b"x"])
        .unwrap();

    assert_eq!(reply.walked.len(), 1);
    assert_eq!(reply.errno, libc::ENOENT);
}

#[test]
fn walk_through_a_regular_file_reports_enotdir() {
    let gofer = Gofer::standard();

    let reply = gofer.client.walk(gofer.root, &[b"file.txt", b"x"]).unwrap();

    assert_eq!(reply.walked.len(), 1);
    assert_eq!(reply.errno, libc::ENOTDIR);
}

#[test]
fn walk_rejects_dot_dotdot_empty_slash_and_nul_names_with_einval() {
    let gofer = Gofer::standard();
    let bad: [&[u8]; 6] = [b".", b"..", b"", b"dir/sub", b"a\0b", b"/"];

    let errnos: Vec<(usize, i32)> = bad
        .iter()
        .map(|name| {
            let reply = gofer.client.walk(gofer.root, &[b"dir", name]).unwrap();
            (reply.walked.len(), reply.errno)
        })
        .collect();

    assert_eq!(errnos, vec![(1, libc::EINVAL); bad.len()]);
}

#[test]
fn walk_rejects_names_longer_than_255_bytes_with_enametoolong() {
    let gofer = Gofer::standard();
    let long = vec![b'a'; 256];
    let huge = vec![b'a'; 70_000];

    let long_reply = gofer.client.walk(gofer.root, &[b"dir", &long]).unwrap();
    let huge_reply = gofer.client.walk(gofer.root, &[&huge]).unwrap();

    assert_eq!(
        (long_reply.walked.len(), long_reply.errno),
        (1, libc::ENAMETOOLONG)
    );
    assert_eq!(
        (huge_reply.walked.len(), huge_reply.errno),
        (0, libc::ENAMETOOLONG)
    );
}

#[test]
fn walk_of_a_255_byte_name_succeeds() {
    let tree = TempTree::empty();
    let name = "n".repeat(255);
    fs::write(tree.join(&name), b"").unwrap();
    let gofer = Gofer::start(tree, true);

    let reply = gofer.client.walk(gofer.root, &[name.as_bytes()]).unwrap();

    assert_eq!((reply.walked.len(), reply.errno), (1, 0));
}

#[test]
fn walk_of_more_names_than_one_request_carries_is_split_transparently() {
    let tree = TempTree::empty();
    let depth = 300;
    fs::create_dir_all(tree.join(vec!["d"; depth].join("/"))).unwrap();
    let gofer = Gofer::start(tree, true);
    let names = vec![&b"d"[..]; depth];

    let reply = gofer.client.walk(gofer.root, &names).unwrap();

    assert_eq!(reply.errno, 0);
    assert_eq!(reply.walked.len(), depth);
    assert!(reply.walked.iter().all(|(_, stat)| stat.is_dir()));
}

#[test]
fn walk_of_no_names_walks_nothing() {
    let gofer = Gofer::standard();

    let reply = gofer.client.walk(gofer.root, &[]).unwrap();

    assert_eq!((reply.walked.len(), reply.errno), (0, 0));
}

#[test]
fn walk_from_an_unknown_handle_returns_ebadf() {
    let gofer = Gofer::standard();

    let err = gofer.client.walk(Handle(9999), &[b"dir"]).unwrap_err();

    assert!(matches!(err, Error::Errno(libc::EBADF)), "{err:?}");
}

#[test]
fn stat_reports_the_current_host_metadata() {
    let gofer = Gofer::standard();
    let (handle, before) = gofer.walk_path("file.txt");
    fs::write(gofer.tree.join("file.txt"), b"grown to a longer length").unwrap();

    let after = gofer.client.stat(handle).unwrap();

    assert_eq!(before.size, common::FILE_CONTENTS.len() as i64);
    assert_eq!(after.size, 24);
    assert_eq!(after.ino, before.ino);
}

#[test]
fn connect_returns_the_root_handle_and_its_directory_stat() {
    let gofer = Gofer::standard();

    let host = fs::metadata(&gofer.tree.path).unwrap();

    assert!(gofer.root_stat.is_dir());
    assert_eq!(gofer.root_stat.ino, host.ino());
    assert_eq!(gofer.client.stat(gofer.root).unwrap(), gofer.root_stat);
}

#[test]
fn close_releases_handles_and_later_use_returns_ebadf() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("dir");

    gofer.client.close(&[handle]).unwrap();

    let err = gofer.client.stat(handle).unwrap_err();
    assert_eq!(err.errno(), libc::EBADF);
}

#[test]
fn close_of_the_root_handle_returns_einval_and_closes_nothing() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("dir");

    let err = gofer.client.close(&[handle, gofer.root]).unwrap_err();

    assert_eq!(err.errno(), libc::EINVAL);
    assert!(gofer.client.stat(handle).is_ok());
    assert!(gofer.client.stat(gofer.root).is_ok());
}

#[test]
fn close_of_an_unknown_or_repeated_handle_returns_ebadf() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("dir");

    let unknown = gofer.client.close(&[Handle(12345)]).unwrap_err();
    let repeated = gofer.client.close(&[handle, handle]).unwrap_err();

    assert_eq!(unknown.errno(), libc::EBADF);
    assert_eq!(repeated.errno(), libc::EBADF);
    assert!(gofer.client.stat(handle).is_ok());
}

#[test]
fn closed_handles_are_never_handed_out_again() {
    let gofer = Gofer::standard();
    let (first, _) = gofer.walk_path("dir");
    gofer.client.close(&[first]).unwrap();

    let (second, _) = gofer.walk_path("dir");

    assert_ne!(first, second);
}
