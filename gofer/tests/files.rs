//! Open, ReadDir, ReadLink and StatFs against a real directory tree.

mod common;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{Read, Write};

use common::{Gofer, TempTree, FILE_CONTENTS};
use gofer::Error;
use nix::fcntl::{fcntl, FcntlArg, OFlag};

#[test]
fn open_donates_a_descriptor_that_reads_the_file() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("file.txt");

    let fd = gofer.client.open(handle, libc::O_RDONLY).unwrap();

    let mut contents = Vec::new();
    File::from(fd).read_to_end(&mut contents).unwrap();
    assert_eq!(contents, FILE_CONTENTS);
}

#[test]
fn donated_descriptor_has_the_requested_access_mode_and_close_on_exec() {
    let gofer = Gofer::start(TempTree::standard(), false);
    let (handle, _) = gofer.walk_path("file.txt");

    let fd = gofer
        .client
        .open(handle, libc::O_WRONLY | libc::O_APPEND)
        .unwrap();

    let status = OFlag::from_bits_retain(fcntl(&fd, FcntlArg::F_GETFL).unwrap());
    assert_eq!(status & OFlag::O_ACCMODE, OFlag::O_WRONLY);
    assert!(status.contains(OFlag::O_APPEND));
    let fd_flags = fcntl(&fd, FcntlArg::F_GETFD).unwrap();
    assert_eq!(fd_flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
}

#[test]
fn open_of_a_directory_returns_eisdir() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("dir");

    let err = gofer.client.open(handle, libc::O_RDONLY).unwrap_err();

    assert!(matches!(err, Error::Errno(libc::EISDIR)), "{err:?}");
}

#[test]
fn open_of_a_fifo_returns_enxio_without_blocking() {
    let gofer = Gofer::standard();
    let (handle, stat) = gofer.walk_path("fifo");

    let err = gofer.client.open(handle, libc::O_RDONLY).unwrap_err();

    assert_eq!(stat.file_type(), libc::S_IFIFO);
    assert!(matches!(err, Error::Errno(libc::ENXIO)), "{err:?}");
}

#[test]
fn open_of_a_symlink_returns_eloop() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("link");

    let err = gofer.client.open(handle, libc::O_RDONLY).unwrap_err();

    assert!(matches!(err, Error::Errno(libc::ELOOP)), "{err:?}");
}

#[test]
fn open_with_creation_flags_or_a_bad_access_mode_returns_einval() {
    let gofer = Gofer::start(TempTree::standard(), false);
    let (handle, _) = gofer.walk_path("file.txt");
    let bad = [
        libc::O_RDONLY | libc::O_CREAT,
        libc::O_RDWR | libc::O_EXCL,
        libc::O_RDONLY | libc::O_DIRECTORY,
        libc::O_RDONLY | libc::O_PATH,
        libc::O_ACCMODE,
    ];

    let errnos: Vec<i32> = bad
        .iter()
        .map(|&flags| gofer.client.open(handle, flags).unwrap_err().errno())
        .collect();

    assert_eq!(errnos, vec![libc::EINVAL; bad.len()]);
}

#[test]
fn open_for_writing_on_a_read_only_server_returns_erofs() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("file.txt");
    let writes = [libc::O_WRONLY, libc::O_RDWR, libc::O_RDONLY | libc::O_TRUNC];

    let errnos: Vec<i32> = writes
        .iter()
        .map(|&flags| gofer.client.open(handle, flags).unwrap_err().errno())
        .collect();

    assert_eq!(errnos, vec![libc::EROFS; writes.len()]);
    assert_eq!(
        fs::read(gofer.tree.join("file.txt")).unwrap(),
        FILE_CONTENTS
    );
}

#[test]
fn open_for_writing_on_a_writable_server_writes_through_to_the_host() {
    let gofer = Gofer::start(TempTree::standard(), false);
    let (handle, _) = gofer.walk_path("dir/sub/deep.txt");

    let fd = gofer
        .client
        .open(handle, libc::O_WRONLY | libc::O_TRUNC)
        .unwrap();
    File::from(fd).write_all(b"rewritten").unwrap();

    assert_eq!(
        fs::read(gofer.tree.join("dir/sub/deep.txt")).unwrap(),
        b"rewritten"
    );
}

/// Reads a whole directory through the gofer, returning every name and the batch count.
fn read_whole_dir(gofer: &Gofer, path: &str) -> (Vec<Vec<u8>>, usize) {
    let (handle, _) = gofer.walk_path(path);
    let mut names = Vec::new();
    let mut cookie = 0;
    let mut batches = 0;
    loop {
        let reply = gofer.client.read_dir(handle, cookie).unwrap();
        batches += 1;
        if let Some(last) = reply.entries.last() {
            cookie = last.next_cookie;
        }
        names.extend(reply.entries.into_iter().map(|e| e.name));
        if reply.end {
            return (names, batches);
        }
    }
}

#[test]
fn read_dir_pages_through_3000_long_names_yielding_each_exactly_once() {
    let tree = TempTree::empty();
    fs::create_dir(tree.join("big")).unwrap();
    let expected: HashSet<Vec<u8>> = (0..3000)
        .map(|i| format!("{i:04}-{}", "x".repeat(240)).into_bytes())
        .collect();
    for name in &expected {
        File::create(
            tree.join("big")
                .join(String::from_utf8_lossy(name).as_ref()),
        )
        .unwrap();
    }
    let gofer = Gofer::start(tree, true);

    let (names, batches) = read_whole_dir(&gofer, "big");

    let unique: HashSet<Vec<u8>> = names.iter().cloned().collect();
    assert_eq!(names.len(), unique.len(), "no name is returned twice");
    let mut with_dots = expected;
    with_dots.insert(b".".to_vec());
    with_dots.insert(b"..".to_vec());
    assert_eq!(unique, with_dots);
    assert!(
        batches > 10,
        "3000 long names need many messages, got {batches}"
    );
}

#[test]
fn read_dir_reports_entry_types_and_inode_numbers() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("dir");

    let reply = gofer.client.read_dir(handle, 0).unwrap();

    let sub = reply.entries.iter().find(|e| e.name == b"sub").unwrap();
    assert_eq!(sub.d_type, libc::DT_DIR);
    let host_ino =
        std::os::unix::fs::MetadataExt::ino(&fs::metadata(gofer.tree.join("dir/sub")).unwrap());
    assert_eq!(sub.ino, host_ino);
}

#[test]
fn read_dir_resumed_from_a_cookie_returns_the_same_entries_again() {
    let tree = TempTree::empty();
    for i in 0..600 {
        File::create(tree.join(format!("{i:03}-{}", "y".repeat(200)))).unwrap();
    }
    let gofer = Gofer::start(tree, true);
    let handle = gofer.root;

    let first = gofer.client.read_dir(handle, 0).unwrap();
    let cookie = first.entries.last().unwrap().next_cookie;
    let second = gofer.client.read_dir(handle, cookie).unwrap();
    let again = gofer.client.read_dir(handle, cookie).unwrap();

    assert!(!first.end);
    assert_eq!(second, again);
    let first_names: HashSet<_> = first.entries.iter().map(|e| &e.name).collect();
    assert!(second
        .entries
        .iter()
        .all(|e| !first_names.contains(&e.name)));
}

#[test]
fn read_dir_of_a_regular_file_returns_enotdir() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("file.txt");

    let err = gofer.client.read_dir(handle, 0).unwrap_err();

    assert_eq!(err.errno(), libc::ENOTDIR);
}

#[test]
fn read_link_returns_the_target_bytes() {
    let gofer = Gofer::standard();
    let (link, _) = gofer.walk_path("link");
    let (dangling, _) = gofer.walk_path("dangling");

    assert_eq!(gofer.client.read_link(link).unwrap(), b"dir");
    assert_eq!(gofer.client.read_link(dangling).unwrap(), b"nowhere/at/all");
}

#[test]
fn read_link_of_a_regular_file_returns_einval() {
    let gofer = Gofer::standard();
    let (handle, _) = gofer.walk_path("file.txt");

    let err = gofer.client.read_link(handle).unwrap_err();

    assert_eq!(err.errno(), libc::EINVAL);
}

#[test]
fn stat_fs_matches_the_host_statfs() {
    let gofer = Gofer::standard();

    let statfs = gofer.client.stat_fs(gofer.root).unwrap();

    let host = nix::sys::statfs::statfs(&gofer.tree.path).unwrap();
    assert_eq!(statfs.fs_type, host.filesystem_type().0 as u64);
    assert_eq!(statfs.bsize, host.block_size() as u64);
    assert_eq!(statfs.blocks, host.blocks());
    assert_eq!(statfs.namelen, host.maximum_name_length() as u64);
    assert!(statfs.frsize > 0);
}
