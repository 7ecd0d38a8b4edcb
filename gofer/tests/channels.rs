//! Channels, the handshake, malformed traffic in both directions, and server lifetime.

mod common;

use std::fs::File;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;

use common::{raw_call, raw_exchange, seqpacket_pair, start_raw, Gofer, TempTree, FILE_CONTENTS};
use gofer::protocol::{Header, Op, Request, Response, MAX_MESSAGE_SIZE, PROTOCOL_VERSION};
use gofer::{Client, Error, Handle};
use nix::sys::socket::{recv, recvmsg, send, ControlMessageOwned, MsgFlags};

fn handshake(sock: &OwnedFd) -> Handle {
    match raw_call(
        sock,
        &Request::Version {
            version: PROTOCOL_VERSION,
        },
    ) {
        Response::Version { root, .. } => root,
        other => panic!("unexpected handshake response {other:?}"),
    }
}

/// Sends `request` and returns the response with the one descriptor it must carry.
fn call_for_fd(sock: &OwnedFd, request: &Request<'_>) -> (Response, OwnedFd) {
    let mut msg = Vec::new();
    request.encode(&mut msg).unwrap();
    send(sock.as_raw_fd(), &msg, MsgFlags::MSG_NOSIGNAL).unwrap();
    let mut buf = vec![0u8; MAX_MESSAGE_SIZE];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let received = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .unwrap();
    let len = received.bytes;
    let mut fds = Vec::new();
    for c in received.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(raw) = c {
            fds.extend(raw);
        }
    }
    assert_eq!(fds.len(), 1, "exactly one descriptor");
    // SAFETY: the kernel installed this descriptor in our table during recvmsg above and
    // nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    (Response::decode(&buf[..len]).unwrap(), fd)
}

fn error_errno(response: &Response) -> i32 {
    match response {
        Response::Error { errno, .. } => *errno,
        other => panic!("expected an error response, got {other:?}"),
    }
}

#[test]
fn new_channel_is_served_independently_and_shares_handles() {
    let raw = start_raw(TempTree::standard(), true);
    let root = handshake(&raw.sock);

    let (response, second) = call_for_fd(&raw.sock, &Request::NewChannel);
    let walked = match raw_call(
        &second,
        &Request::Walk {
            dir: root,
            names: vec![b"file.txt"],
        },
    ) {
        Response::Walk(reply) => reply.walked,
        other => panic!("{other:?}"),
    };
    let (handle, stat) = walked[0];
    let on_first = raw_call(&raw.sock, &Request::Stat { handle });

    assert_eq!(response, Response::NewChannel);
    assert_eq!(on_first, Response::Stat(stat));
}

#[test]
fn new_channels_serve_concurrent_requests_from_many_threads() {
    let gofer = Arc::new(Gofer::standard());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let gofer = Arc::clone(&gofer);
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let reply = gofer.client.walk(gofer.root, &[b"file.txt"]).unwrap();
                    let (handle, _) = reply.walked[0];
                    let mut contents = Vec::new();
                    File::from(gofer.client.open(handle, libc::O_RDONLY).unwrap())
                        .read_to_end(&mut contents)
                        .unwrap();
                    assert_eq!(contents, FILE_CONTENTS);
                    gofer.client.close(&[handle]).unwrap();
                }
            })
        })
        .collect();

    for thread in threads {
        thread.join().expect("worker thread");
    }
    let count = gofer.client.channel_count();
    assert!(
        (1..=gofer::client::DEFAULT_MAX_CHANNELS).contains(&count),
        "{count} channels"
    );
}

#[test]
fn malformed_datagrams_get_einval_responses_and_the_server_keeps_serving() {
    let raw = start_raw(TempTree::standard(), true);
    let root = handshake(&raw.sock);
    let unknown_op = Header {
        op: 77,
        flags: 0,
        payload_len: 0,
    }
    .as_bytes_vec();
    let mut bad_length = Header {
        op: Op::Stat as u16,
        flags: 0,
        payload_len: 100,
    }
    .as_bytes_vec();
    bad_length.extend_from_slice(&[0; 8]);
    let garbage: &[&[u8]] = &[b"\x01", &unknown_op, &bad_length, &[0xff; 40]];

    let errnos: Vec<i32> = garbage
        .iter()
        .map(|msg| error_errno(&Response::decode(&raw_exchange(&raw.sock, msg)).unwrap()))
        .collect();
    let after = raw_call(&raw.sock, &Request::Stat { handle: root });

    assert_eq!(errnos, vec![libc::EINVAL; garbage.len()]);
    assert!(matches!(after, Response::Stat(stat) if stat.is_dir()));
}

#[test]
fn malformed_datagram_response_echoes_the_op_it_could_read() {
    let raw = start_raw(TempTree::standard(), true);
    handshake(&raw.sock);
    let mut msg = Header {
        op: Op::Walk as u16,
        flags: 0,
        payload_len: 4,
    }
    .as_bytes_vec();
    msg.extend_from_slice(&[1, 2, 3, 4]);

    let response = Response::decode(&raw_exchange(&raw.sock, &msg)).unwrap();

    assert_eq!(
        response,
        Response::Error {
            op: Op::Walk as u16,
            errno: libc::EINVAL
        }
    );
}

#[test]
fn oversized_datagram_gets_an_einval_response() {
    let raw = start_raw(TempTree::standard(), true);
    let root = handshake(&raw.sock);
    let huge = vec![0u8; MAX_MESSAGE_SIZE + 100];

    let response = Response::decode(&raw_exchange(&raw.sock, &huge)).unwrap();
    let after = raw_call(&raw.sock, &Request::Stat { handle: root });

    assert_eq!(error_errno(&response), libc::EINVAL);
    assert!(matches!(after, Response::Stat(_)));
}

#[test]
fn version_mismatch_is_refused_with_eprotonosupport() {
    let raw = start_raw(TempTree::standard(), true);

    let response = raw_call(
        &raw.sock,
        &Request::Version {
            version: PROTOCOL_VERSION + 1,
        },
    );

    assert_eq!(
        response,
        Response::Error {
            op: Op::Version as u16,
            errno: libc::EPROTONOSUPPORT
        }
    );
}

#[test]
fn requests_before_the_version_handshake_are_refused_with_eproto() {
    let raw = start_raw(TempTree::standard(), true);

    let response = raw_call(&raw.sock, &Request::Stat { handle: Handle(1) });

    assert_eq!(
        response,
        Response::Error {
            op: Op::Stat as u16,
            errno: libc::EPROTO
        }
    );
}

#[test]
fn serve_returns_ok_when_the_first_channel_closes() {
    let gofer = Gofer::standard();

    let result = gofer.shutdown();

    assert!(result.is_ok(), "{result:?}");
}

/// Runs `answer` as a fake gofer on the far end of a socketpair and connects a client.
fn connect_to_fake_gofer(answer: impl FnOnce(&OwnedFd) + Send + 'static) -> Result<Client, Error> {
    let (ours, theirs) = seqpacket_pair();
    let fake = std::thread::spawn(move || answer(&theirs));
    let result = Client::connect(ours).map(|(client, _, _)| client);
    fake.join().expect("fake gofer");
    result
}

/// Reads one request and replies with `reply`.
fn reply_once(sock: &OwnedFd, reply: &[u8]) {
    let mut buf = vec![0u8; MAX_MESSAGE_SIZE];
    recv(sock.as_raw_fd(), &mut buf, MsgFlags::empty()).unwrap();
    send(sock.as_raw_fd(), reply, MsgFlags::MSG_NOSIGNAL).unwrap();
}

fn encoded(response: &Response) -> Vec<u8> {
    let mut out = Vec::new();
    response.encode(&mut out).unwrap();
    out
}

fn version_reply() -> Vec<u8> {
    encoded(&Response::Version {
        version: PROTOCOL_VERSION,
        root: Handle(1),
        root_stat: Default::default(),
    })
}

#[test]
fn client_reports_a_malformed_response_as_a_protocol_error() {
    let result = connect_to_fake_gofer(|sock| reply_once(sock, b"nonsense"));

    assert!(
        matches!(result, Err(Error::Protocol(_))),
        "{:?}",
        result.err()
    );
}

#[test]
fn client_reports_a_response_to_another_op_as_a_protocol_error() {
    let result = connect_to_fake_gofer(|sock| reply_once(sock, &encoded(&Response::Close)));

    assert!(
        matches!(result, Err(Error::Protocol(_))),
        "{:?}",
        result.err()
    );
}

#[test]
fn client_reports_a_missing_descriptor_as_a_protocol_error() {
    let result = connect_to_fake_gofer(|sock| {
        reply_once(sock, &version_reply());
        reply_once(sock, &encoded(&Response::NewChannel));
    });

    assert!(
        matches!(result, Err(Error::Protocol(_))),
        "{:?}",
        result.err()
    );
}

#[test]
fn client_reports_a_refused_version_as_a_protocol_error_naming_the_version() {
    let refusal = Response::Error {
        op: Op::Version as u16,
        errno: libc::EPROTONOSUPPORT,
    };

    let result = connect_to_fake_gofer(move |sock| reply_once(sock, &encoded(&refusal)));

    let message = result.err().map(|e| e.to_string()).unwrap_or_default();
    let wanted = format!("protocol version {}", gofer::PROTOCOL_VERSION);
    assert!(message.contains(&wanted), "{message}");
}

#[test]
fn client_reports_a_vanished_gofer_as_an_io_error_with_eio() {
    let result = connect_to_fake_gofer(drop_socket);

    let err = result.err().expect("connect fails");
    assert!(matches!(err, Error::Io(_)), "{err:?}");
    assert_eq!(err.errno(), libc::EIO);
}

fn drop_socket(sock: &OwnedFd) {
    nix::sys::socket::shutdown(sock.as_raw_fd(), nix::sys::socket::Shutdown::Both).unwrap();
}

/// `Header::as_bytes` as an owned vector, for building raw messages.
trait AsBytesVec {
    fn as_bytes_vec(&self) -> Vec<u8>;
}

impl AsBytesVec for Header {
    fn as_bytes_vec(&self) -> Vec<u8> {
        zerocopy::IntoBytes::as_bytes(self).to_vec()
    }
}
