//! A tree that changes under the gofer cannot lead it outside: while another thread
//! keeps swapping a directory with a symlink to a directory outside the served tree
//! (an atomic RENAME_EXCHANGE, as a guest with write access or a host process could),
//! every walk, open, listing and link read the gofer answers stays inside.

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{Gofer, TempTree};
use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};

const INSIDE: &[u8] = b"inside the tree\n";
const OUTSIDE: &[u8] = b"OUTSIDE THE TREE\n";

#[test]
fn swapping_a_directory_for_a_symlink_never_leads_the_gofer_outside() {
    let outside = TempTree::empty();
    fs::write(outside.join("secret"), OUTSIDE).unwrap();
    fs::write(outside.join("outside-only"), OUTSIDE).unwrap();

    let tree = TempTree::empty();
    fs::create_dir(tree.join("d")).unwrap();
    fs::write(tree.join("d/secret"), INSIDE).unwrap();
    symlink(&outside.path, tree.join("evil")).unwrap();
    let (d, evil) = (tree.join("d"), tree.join("evil"));
    let gofer = Gofer::start(tree, false);

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                renameat2(AT_FDCWD, &d, AT_FDCWD, &evil, RenameFlags::RENAME_EXCHANGE)
                    .expect("RENAME_EXCHANGE");
                swaps += 1;
            }
            swaps
        })
    };

    let (mut saw_dir, mut saw_link) = (0, 0);
    for _ in 0..3000 {
        for first in [b"d".as_slice(), b"evil".as_slice()] {
            let reply = gofer
                .client
                .walk(gofer.root, &[first, b"secret"])
                .expect("walk");
            let handles: Vec<_> = reply.walked.iter().map(|(h, _)| *h).collect();
            match reply.walked.as_slice() {
                [(_, st)] if st.is_symlink() => {
                    // The walk stopped at the symlink without following it; its target
                    // is only text.
                    saw_link += 1;
                    let target = gofer.client.read_link(handles[0]).expect("readlink");
                    assert_eq!(target, outside.path.as_os_str().as_encoded_bytes());
                }
                [(dir, _), (file, st)] => {
                    saw_dir += 1;
                    assert!(!st.is_symlink());
                    let mut contents = Vec::new();
                    fs::File::from(gofer.client.open(*file, libc::O_RDONLY).expect("open"))
                        .read_to_end(&mut contents)
                        .unwrap();
                    assert_eq!(contents, INSIDE, "the gofer read a file outside its tree");
                    // Listing the walked directory lists the tree's directory, whatever
                    // its name is now.
                    let listing = gofer.client.read_dir(*dir, 0).expect("readdir");
                    assert!(
                        listing.entries.iter().all(|e| e.name != b"outside-only"),
                        "the gofer listed a directory outside its tree"
                    );
                }
                // Anything shorter must be an error (no name is ever missing: the
                // exchange is atomic).
                [] | [_] => assert_ne!(reply.errno, 0, "short walk without an error"),
                more => panic!("walked {} components of 2", more.len()),
            }
            if !handles.is_empty() {
                gofer.client.close(&handles).expect("close");
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().expect("swapper");
    assert!(swaps > 0);
    // Both names were seen as both kinds many times; the check above ran each time.
    assert!(saw_dir > 0 && saw_link > 0, "dir {saw_dir} link {saw_link}");
    gofer.shutdown().expect("shutdown");
}
