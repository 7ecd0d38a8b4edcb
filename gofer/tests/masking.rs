//! The host's kernel pseudo-filesystems are never served, even when the served tree
//! contains them (a container root that is the host's `/`).

mod common;

use common::seqpacket_pair;
use gofer::{serve, Client, ServerConfig};
use nix::fcntl::{open, OFlag};
use nix::sys::stat::Mode;

fn serve_host_root() -> Client {
    let (ours, theirs) = seqpacket_pair();
    let root = open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .expect("open /");
    std::thread::spawn(move || serve(root, theirs, ServerConfig::default()));
    Client::connect(ours).expect("connect").0
}

#[test]
fn host_proc_is_an_empty_directory_that_cannot_be_walked_into() {
    let client = serve_host_root();
    let root = gofer::Handle(1);
    let reply = client.walk(root, &[b"proc", b"self"]).expect("walk");
    assert_eq!(reply.walked.len(), 1, "only /proc itself is walked");
    assert!(reply.walked[0].1.is_dir());
    assert_eq!(reply.errno, libc::ENOENT);
    let listing = client.read_dir(reply.walked[0].0, 0).expect("read_dir");
    let names: Vec<&[u8]> = listing.entries.iter().map(|e| e.name.as_slice()).collect();
    assert_eq!(names, vec![&b"."[..], &b".."[..]]);
    assert!(listing.end);
}

#[test]
fn host_sysfs_hides_its_entries() {
    let client = serve_host_root();
    let reply = client
        .walk(gofer::Handle(1), &[b"sys", b"kernel"])
        .expect("walk");
    assert_eq!(reply.walked.len(), 1);
    assert_eq!(reply.errno, libc::ENOENT);
}
