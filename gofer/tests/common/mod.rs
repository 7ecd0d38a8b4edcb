//! Shared fixtures: a scratch directory tree and a gofer serving it on a thread.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use gofer::protocol::{Request, Response, MAX_MESSAGE_SIZE};
use gofer::{serve, Client, Error, Handle, ServerConfig, Stat};
use nix::fcntl::{open, OFlag};
use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use nix::sys::stat::Mode;
use nix::unistd::mkfifo;

/// Contents of `file.txt` in the fixture tree.
pub const FILE_CONTENTS: &[u8] = b"hello from the gofer\n";

/// A uniquely named directory under the system temp dir, removed on drop.
pub struct TempTree {
    pub path: PathBuf,
}

impl TempTree {
    /// An empty directory.
    pub fn empty() -> TempTree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "moat-gofer-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).expect("create temp tree");
        TempTree { path }
    }

    /// The standard fixture:
    /// ```text
    /// file.txt            FILE_CONTENTS
    /// dir/sub/deep.txt    "deep"
    /// link -> dir
    /// dangling -> nowhere/at/all
    /// fifo                (a named pipe)
    /// ```
    pub fn standard() -> TempTree {
        let tree = TempTree::empty();
        fs::write(tree.join("file.txt"), FILE_CONTENTS).unwrap();
        fs::create_dir_all(tree.join("dir/sub")).unwrap();
        fs::write(tree.join("dir/sub/deep.txt"), b"deep").unwrap();
        symlink("dir", tree.join("link")).unwrap();
        symlink("nowhere/at/all", tree.join("dangling")).unwrap();
        mkfifo(&tree.join("fifo"), Mode::from_bits_truncate(0o644)).unwrap();
        tree
    }

    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A server thread serving a tree, and the sentry's end of its first channel.
pub struct RawGofer {
    pub sock: OwnedFd,
    pub server: JoinHandle<Result<(), Error>>,
    pub tree: TempTree,
}

/// Starts `serve` on a thread over a socketpair, returning the unused client end.
pub fn start_raw(tree: TempTree, read_only: bool) -> RawGofer {
    let (ours, theirs) = seqpacket_pair();
    let root = open(
        &tree.path,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .expect("open tree root");
    let config = ServerConfig {
        read_only,
        ..ServerConfig::default()
    };
    let server = std::thread::spawn(move || serve(root, theirs, config));
    RawGofer {
        sock: ours,
        server,
        tree,
    }
}

/// A connected client and the server it talks to.
pub struct Gofer {
    pub client: Client,
    pub root: Handle,
    pub root_stat: Stat,
    pub server: JoinHandle<Result<(), Error>>,
    pub tree: TempTree,
}

impl Gofer {
    /// Serves `tree` and connects a client to it.
    pub fn start(tree: TempTree, read_only: bool) -> Gofer {
        let raw = start_raw(tree, read_only);
        let (client, root, root_stat) = Client::connect(raw.sock).expect("connect to gofer");
        Gofer {
            client,
            root,
            root_stat,
            server: raw.server,
            tree: raw.tree,
        }
    }

    /// A read-only gofer over the standard tree.
    pub fn standard() -> Gofer {
        Gofer::start(TempTree::standard(), true)
    }

    /// Walks a `/`-separated relative path from the root and returns the last handle.
    pub fn walk_path(&self, path: &str) -> (Handle, Stat) {
        let names: Vec<&[u8]> = path.split('/').map(str::as_bytes).collect();
        let reply = self.client.walk(self.root, &names).expect("walk");
        assert_eq!(reply.errno, 0, "walking {path}");
        assert_eq!(reply.walked.len(), names.len(), "walking {path}");
        *reply.walked.last().expect("walked something")
    }

    /// Disconnects the client and waits for `serve` to return.
    pub fn shutdown(self) -> Result<(), Error> {
        drop(self.client);
        self.server.join().expect("server thread panicked")
    }
}

pub fn seqpacket_pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair")
}

/// Sends raw bytes as one datagram and returns the one datagram that comes back.
pub fn raw_exchange(sock: &OwnedFd, msg: &[u8]) -> Vec<u8> {
    use std::os::fd::AsRawFd;
    send(sock.as_raw_fd(), msg, MsgFlags::MSG_NOSIGNAL).expect("send");
    let mut buf = vec![0u8; MAX_MESSAGE_SIZE];
    let len = recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty()).expect("recv");
    buf.truncate(len);
    buf
}

/// Sends `request` and decodes the response (any fd it carries is discarded).
pub fn raw_call(sock: &OwnedFd, request: &Request<'_>) -> Response {
    let mut msg = Vec::new();
    request.encode(&mut msg).expect("encode");
    Response::decode(&raw_exchange(sock, &msg)).expect("decode response")
}
