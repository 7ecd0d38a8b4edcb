use std::sync::Arc;

use super::{Endpoint, Kind};
use crate::fs::pipe::Pipe;
use crate::net::unix::Names;
use crate::net::{Caller, Control, Received, RecvRequest, Ucred};
use crate::vfs::File;

const ME: Ucred = Ucred {
    pid: 7,
    uid: 1000,
    gid: 1000,
};
const CALLER: Caller = Caller {
    real: ME,
    effective: ME,
};

fn pair(kind: Kind) -> (Arc<Endpoint>, Arc<Endpoint>) {
    Endpoint::pair(kind, &Names::new(), ME)
}

fn send(ep: &Arc<Endpoint>, data: &[u8]) -> crate::errno::Result<usize> {
    ep.send(None, &CALLER, data, None, Control::default(), true)
}

fn recv(ep: &Endpoint, len: usize, flags: i32) -> crate::errno::Result<Received> {
    ep.recv(RecvRequest {
        len,
        flags,
        nonblocking: true,
    })
}

fn code<T>(r: crate::errno::Result<T>) -> i32 {
    r.err().map_or(0, |e| e.code())
}

#[test]
fn stream_writes_merge_and_a_partial_read_leaves_the_rest() {
    let (a, b) = pair(Kind::Stream);
    send(&a, b"hello").unwrap();
    send(&a, b"world").unwrap();
    assert_eq!(recv(&b, 7, 0).unwrap().data, b"hellowo");
    assert_eq!(a.unsent(), 3);
    assert_eq!(recv(&b, 7, libc::MSG_PEEK).unwrap().data, b"rld");
    assert_eq!(b.unread().unwrap(), 3);
    assert_eq!(recv(&b, 7, 0).unwrap().data, b"rld");
    assert_eq!(a.unsent(), 0);
    assert_eq!(code(recv(&b, 7, 0)), libc::EAGAIN);
}

#[test]
fn datagrams_keep_their_boundaries_and_report_truncation() {
    let (a, b) = pair(Kind::Dgram);
    send(&a, b"first").unwrap();
    send(&a, b"").unwrap();
    let got = recv(&b, 3, 0).unwrap();
    assert_eq!((got.data.as_slice(), got.full_len), (&b"fir"[..], 5));
    assert_eq!(got.flags, libc::MSG_TRUNC);
    assert_eq!(recv(&b, 3, 0).unwrap().full_len, 0);
    assert_eq!(code(recv(&b, 3, 0)), libc::EAGAIN);
}

#[test]
fn shut_wr_is_eof_for_the_peer_and_epipe_for_oneself() {
    let (a, b) = pair(Kind::Stream);
    send(&a, b"tail").unwrap();
    a.shutdown(2);
    assert_eq!(code(send(&a, b"x")), libc::EPIPE);
    assert_eq!(recv(&b, 10, 0).unwrap().data, b"tail");
    assert!(recv(&b, 10, 0).unwrap().data.is_empty());
    send(&b, b"back").unwrap();
    assert_eq!(recv(&a, 10, 0).unwrap().data, b"back");
}

#[test]
fn closing_with_unread_data_resets_the_peer_once() {
    let (a, b) = pair(Kind::Stream);
    send(&a, b"unread").unwrap();
    b.close();
    assert_eq!(code(recv(&a, 10, 0)), libc::ECONNRESET);
    assert!(recv(&a, 10, 0).unwrap().data.is_empty());
    assert_eq!(code(send(&a, b"x")), libc::EPIPE);
}

#[test]
fn a_full_send_buffer_is_eagain_until_the_peer_reads() {
    let (a, b) = pair(Kind::Stream);
    a.set_options(|o| o.set(libc::SO_SNDBUF, &2304i32.to_ne_bytes()))
        .unwrap();
    let sndbuf = a.options().sndbuf;
    assert_eq!(send(&a, &vec![1; sndbuf + 100]).unwrap(), sndbuf);
    assert_eq!(code(send(&a, b"x")), libc::EAGAIN);
    assert_eq!(a.readiness() & libc::POLLOUT as u32, 0);
    recv(&b, sndbuf, 0).unwrap();
    assert_ne!(a.readiness() & libc::POLLOUT as u32, 0);
    assert_eq!(send(&a, b"x").unwrap(), 1);
}

#[test]
fn passed_files_end_a_stream_read_at_their_message() {
    let (a, b) = pair(Kind::Stream);
    let (r, _w) = Pipe::new_pair();
    let file = File::new(r, libc::O_RDONLY as u32, None);
    let control = Control {
        rights: vec![file],
        creds: None,
    };
    a.send(None, &CALLER, b"with", None, control, true).unwrap();
    send(&a, b"after").unwrap();
    let got = recv(&b, 100, 0).unwrap();
    assert_eq!((got.data.as_slice(), got.rights.len()), (&b"with"[..], 1));
    assert_eq!(recv(&b, 100, 0).unwrap().data, b"after");
}

#[test]
fn a_fresh_pair_is_writable_and_readable_once_data_arrives() {
    let (a, b) = pair(Kind::Seqpacket);
    let (pollin, pollout) = (libc::POLLIN as u32, libc::POLLOUT as u32);
    assert_eq!(b.readiness() & (pollin | pollout), pollout);
    send(&a, b"x").unwrap();
    assert_eq!(b.readiness() & (pollin | pollout), pollin | pollout);
}

#[test]
fn a_datagram_to_a_closed_peer_is_refused() {
    let (a, b) = pair(Kind::Dgram);
    b.close();
    assert_eq!(code(send(&a, b"x")), libc::ECONNREFUSED);
    assert_eq!(code(send(&a, b"x")), libc::ENOTCONN);
}
