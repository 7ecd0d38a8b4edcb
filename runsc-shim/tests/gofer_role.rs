//! `moat gofer`, the confined process, driven over its channel through every operation
//! of the protocol: each one must work under the role's own namespaces, capabilities and
//! seccomp allowlist (a call missing from the allowlist kills the gofer with SIGSYS).

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use gofer::{setattr, Client, Handle, SetAttr};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};

struct Tree(PathBuf);

impl Tree {
    fn new(tag: &str) -> Tree {
        let dir =
            std::env::temp_dir().join(format!("moat-gofer-role-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("file.txt"), b"hello gofer\n").unwrap();
        Tree(dir)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Starts `moat gofer` on `tree` and connects to it.
fn start(tree: &Tree, writable: bool) -> (Child, Client, Handle) {
    let (ours, theirs): (OwnedFd, OwnedFd) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .unwrap();
    fcntl(&theirs, FcntlArg::F_SETFD(FdFlag::empty())).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_moat"));
    cmd.args(["gofer", "--tree"])
        .arg(&tree.0)
        .args(["--sock-fd", &theirs.as_raw_fd().to_string()])
        .stdin(Stdio::null());
    if writable {
        cmd.arg("--writable");
    }
    let child = cmd.spawn().expect("start moat gofer");
    drop(theirs);
    let (client, root, _) = Client::connect(ours).expect("connect to the gofer");
    (child, client, root)
}

/// Closes the channel and checks the gofer ended cleanly (not killed by its filter).
fn finish(mut child: Child, client: Client) {
    drop(client);
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "the gofer ended with {status:?} (signal {:?})",
        status.signal()
    );
}

fn walk(client: &Client, root: Handle, name: &str) -> Handle {
    let reply = client.walk(root, &[name.as_bytes()]).unwrap();
    assert_eq!(reply.errno, 0, "walk {name}");
    reply.walked[0].0
}

#[test]
fn confined_writable_gofer_serves_every_operation() {
    let tree = Tree::new("rw");
    let (child, c, root) = start(&tree, true);
    let me = (u32::MAX, u32::MAX);
    // Reads.
    let file = walk(&c, root, "file.txt");
    let mut s = String::new();
    fs::File::from(c.open(file, libc::O_RDONLY).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "hello gofer\n");
    assert!(c.read_dir(root, 0).unwrap().entries.len() >= 4);
    c.stat_fs(root).unwrap();
    // Creation of each kind.
    let (new, _, fd) = c.create(root, b"new", libc::O_WRONLY, 0o640, me).unwrap();
    fs::File::from(fd).write_all(b"abc").unwrap();
    let (dir, _) = c.mkdir(root, b"d", 0o750, me).unwrap();
    c.mknod(dir, b"fifo", libc::S_IFIFO | 0o600, me).unwrap();
    let (link, _) = c.symlink(root, b"l", b"new", me).unwrap();
    assert_eq!(c.read_link(link).unwrap(), b"new");
    c.link(dir, b"hard", new).unwrap();
    // Attributes, all at once.
    let st = c
        .set_attr(
            new,
            SetAttr {
                mask: setattr::ALL & !(setattr::UID | setattr::GID),
                mode: 0o600,
                size: 2,
                atime_sec: 10,
                mtime_sec: 20,
                ..SetAttr::default()
            },
        )
        .unwrap();
    assert_eq!((st.mode & 0o7777, st.size, st.mtime_sec), (0o600, 2, 20));
    if nix::unistd::geteuid().is_root() {
        let st = c
            .set_attr(
                new,
                SetAttr {
                    mask: setattr::UID | setattr::GID,
                    uid: 4321,
                    gid: 8765,
                    ..SetAttr::default()
                },
            )
            .unwrap();
        assert_eq!((st.uid, st.gid), (4321, 8765));
    }
    c.set_xattr(new, b"user.k", b"v", 0).unwrap();
    assert_eq!(c.get_xattr(new, b"user.k", 0).unwrap(), b"v");
    assert!(!c.list_xattr(new, 0).unwrap().is_empty());
    c.remove_xattr(new, b"user.k").unwrap();
    c.fsync(new, false).unwrap();
    c.allocate(new, 0, 0, 4096).unwrap();
    // Renames and removals.
    c.rename((root, b"new"), (dir, b"moved"), 0).unwrap();
    c.unlink(dir, b"moved", 0).unwrap();
    c.unlink(dir, b"hard", 0).unwrap();
    c.unlink(dir, b"fifo", 0).unwrap();
    c.unlink(root, b"d", libc::AT_REMOVEDIR).unwrap();
    c.unlink(root, b"l", 0).unwrap();
    // A second channel works the same way.
    let other = std::thread::scope(|s| {
        s.spawn(|| walk(&c, root, "sub")).join().unwrap();
        s.spawn(|| c.stat(root).unwrap()).join().unwrap()
    });
    assert!(other.is_dir());
    finish(child, c);
    let mut names: Vec<String> = fs::read_dir(&tree.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["file.txt", "sub"]);
}

#[test]
fn confined_read_only_gofer_serves_reads_and_refuses_changes() {
    let tree = Tree::new("ro");
    let (child, c, root) = start(&tree, false);
    let file = walk(&c, root, "file.txt");
    assert_eq!(c.stat(file).unwrap().size, 12);
    // The mount itself is read-only in the gofer's namespace: even the host fd it
    // donates cannot write.
    assert_eq!(
        c.open(file, libc::O_RDWR).unwrap_err().to_string(),
        gofer::Error::Errno(libc::EROFS).to_string()
    );
    assert!(matches!(
        c.mkdir(root, b"x", 0o755, (u32::MAX, u32::MAX)),
        Err(gofer::Error::Errno(libc::EROFS))
    ));
    assert!(matches!(
        c.get_xattr(file, b"user.none", 0),
        Err(gofer::Error::Errno(libc::ENODATA))
    ));
    c.fsync(file, true).unwrap();
    finish(child, c);
    assert_eq!(fs::metadata(tree.0.join("file.txt")).unwrap().size(), 12);
}
