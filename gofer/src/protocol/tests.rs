use super::*;

fn sample_stat(seed: i64) -> Stat {
    Stat {
        dev: 0x801,
        ino: 1000 + seed as u64,
        mode: libc::S_IFREG | 0o644,
        nlink: 2,
        uid: 1000,
        gid: 100,
        rdev: 0,
        size: 4096 + seed,
        blksize: 4096,
        blocks: 8,
        atime_sec: 1_700_000_000,
        atime_nsec: 1,
        mtime_sec: 1_700_000_001,
        mtime_nsec: 2,
        ctime_sec: 1_700_000_002,
        ctime_nsec: 3,
        btime_sec: 0,
        btime_nsec: 0,
    }
}

fn sample_statfs() -> StatFs {
    StatFs {
        fs_type: 0xEF53,
        bsize: 4096,
        blocks: 1 << 20,
        bfree: 1 << 19,
        bavail: 1 << 18,
        files: 65536,
        ffree: 60000,
        namelen: 255,
        frsize: 4096,
        flags: 0x20,
    }
}

fn encode_request(request: &Request<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    request.encode(&mut out).expect("request encodes");
    out
}

fn encode_response(response: &Response) -> Vec<u8> {
    let mut out = Vec::new();
    response.encode(&mut out).expect("response encodes");
    out
}

/// A raw message with the given header fields and payload.
fn raw(op: u16, flags: u16, payload: &[u8]) -> Vec<u8> {
    let header = Header {
        op,
        flags,
        payload_len: payload.len() as u32,
    };
    let mut msg = header.as_bytes().to_vec();
    msg.extend_from_slice(payload);
    msg
}

fn all_requests() -> Vec<Request<'static>> {
    vec![
        Request::Version {
            version: PROTOCOL_VERSION,
        },
        Request::Walk {
            dir: Handle(7),
            names: vec![b"usr", b"lib", b"", &[0xff; 300]],
        },
        Request::Walk {
            dir: Handle(1),
            names: vec![],
        },
        Request::Stat { handle: Handle(3) },
        Request::Open {
            handle: Handle(4),
            flags: libc::O_RDWR | libc::O_TRUNC,
        },
        Request::ReadDir {
            handle: Handle(5),
            cookie: u64::MAX - 1,
        },
        Request::ReadLink { handle: Handle(6) },
        Request::StatFs { handle: Handle(8) },
        Request::Close {
            handles: vec![Handle(2), Handle(9), Handle(u64::MAX)],
        },
        Request::Close { handles: vec![] },
        Request::NewChannel,
        Request::Create {
            dir: Handle(2),
            name: b"new.txt",
            flags: libc::O_RDWR | libc::O_APPEND,
            mode: 0o644,
            uid: 1000,
            gid: 100,
        },
        Request::MkDir {
            dir: Handle(2),
            name: b"d",
            mode: 0o2755,
            uid: 0,
            gid: 0,
        },
        Request::MkNod {
            dir: Handle(3),
            name: b"fifo",
            mode: libc::S_IFIFO | 0o600,
            rdev: 0,
            uid: 5,
            gid: 6,
        },
        Request::Symlink {
            dir: Handle(3),
            name: b"l",
            target: b"../../some where",
            uid: 1,
            gid: 2,
        },
        Request::Link {
            dir: Handle(4),
            name: b"hard",
            target: Handle(9),
        },
        Request::Unlink {
            dir: Handle(4),
            name: b"gone",
            flags: libc::AT_REMOVEDIR,
        },
        Request::Rename {
            old_dir: Handle(4),
            old_name: b"a",
            new_dir: Handle(5),
            new_name: b"bb",
            flags: libc::RENAME_EXCHANGE,
        },
        Request::SetAttr {
            handle: Handle(6),
            attr: SetAttr {
                mask: setattr::ALL,
                mode: 0o4755,
                uid: 1,
                gid: 2,
                size: 1 << 40,
                atime_sec: -5,
                atime_nsec: libc::UTIME_NOW,
                mtime_sec: 7,
                mtime_nsec: 999_999_999,
            },
        },
        Request::GetXattr {
            handle: Handle(7),
            name: b"user.x",
            size: 0,
        },
        Request::ListXattr {
            handle: Handle(7),
            size: 100,
        },
        Request::SetXattr {
            handle: Handle(7),
            name: b"trusted.y",
            value: &[0, 1, 2, 255],
            flags: libc::XATTR_CREATE,
        },
        Request::RemoveXattr {
            handle: Handle(7),
            name: b"user.x",
        },
        Request::FSync {
            handle: Handle(8),
            datasync: true,
        },
        Request::Attach { index: 3 },
        Request::Allocate {
            handle: Handle(8),
            mode: libc::FALLOC_FL_KEEP_SIZE,
            offset: 4096,
            len: u64::MAX,
        },
    ]
}

fn all_responses() -> Vec<Response> {
    vec![
        Response::Version {
            version: PROTOCOL_VERSION,
            root: Handle(1),
            root_stat: sample_stat(0),
        },
        Response::Walk(WalkReply {
            walked: vec![(Handle(10), sample_stat(1)), (Handle(11), sample_stat(2))],
            errno: libc::ENOENT,
        }),
        Response::Walk(WalkReply::default()),
        Response::Stat(sample_stat(3)),
        Response::Open,
        Response::ReadDir(ReadDirReply {
            entries: vec![
                DirEntry {
                    ino: 1,
                    next_cookie: 10,
                    d_type: libc::DT_DIR,
                    name: b".".to_vec(),
                },
                DirEntry {
                    ino: 2,
                    next_cookie: u64::MAX,
                    d_type: libc::DT_REG,
                    name: vec![b'x'; 255],
                },
            ],
            end: true,
        }),
        Response::ReadDir(ReadDirReply::default()),
        Response::ReadLink(b"../target with spaces".to_vec()),
        Response::ReadLink(Vec::new()),
        Response::StatFs(sample_statfs()),
        Response::Close,
        Response::NewChannel,
        Response::Created {
            op: Op::Create,
            handle: Handle(12),
            stat: sample_stat(4),
        },
        Response::Created {
            op: Op::Link,
            handle: Handle(13),
            stat: sample_stat(5),
        },
        Response::SetAttr(sample_stat(6)),
        Response::Created {
            op: Op::Attach,
            handle: Handle(14),
            stat: sample_stat(7),
        },
        Response::Xattr {
            op: Op::GetXattr,
            data: vec![1, 2, 3],
        },
        Response::Xattr {
            op: Op::ListXattr,
            data: b"user.a\0user.b\0".to_vec(),
        },
        Response::Done { op: Op::Rename },
        Response::Done { op: Op::Allocate },
        Response::Error {
            op: Op::Open as u16,
            errno: libc::EROFS,
        },
        Response::Error {
            op: 0xbeef,
            errno: libc::EINVAL,
        },
    ]
}

#[test]
fn every_request_survives_an_encode_decode_round_trip() {
    for request in all_requests() {
        let bytes = encode_request(&request);
        assert_eq!(Request::decode(&bytes), Ok(request));
    }
}

#[test]
fn every_response_survives_an_encode_decode_round_trip() {
    for response in all_responses() {
        let bytes = encode_response(&response);
        assert_eq!(Response::decode(&bytes), Ok(response));
    }
}

#[test]
fn encoded_header_declares_the_payload_length_and_op() {
    let bytes = encode_request(&Request::Stat { handle: Handle(3) });
    assert_eq!(bytes.len(), HEADER_SIZE + 8);
    assert_eq!(&bytes[..HEADER_SIZE], &[3, 0, 0, 0, 8, 0, 0, 0]);
    assert_eq!(&bytes[HEADER_SIZE..], &3u64.to_le_bytes());
}

#[test]
fn error_response_sets_the_error_flag_and_echoes_the_op() {
    let bytes = encode_response(&Response::Error {
        op: Op::Walk as u16,
        errno: libc::EBADF,
    });
    assert_eq!(peek_op(&bytes), Some(Op::Walk as u16));
    assert_eq!(&bytes[2..4], &FLAG_ERROR.to_le_bytes());
}

#[test]
fn messages_shorter_than_a_header_are_rejected() {
    for len in 0..HEADER_SIZE {
        let bytes = vec![0u8; len];
        assert_eq!(Request::decode(&bytes), Err(WireError::ShortHeader { len }));
        assert_eq!(
            Response::decode(&bytes),
            Err(WireError::ShortHeader { len })
        );
    }
}

#[test]
fn payload_length_that_disagrees_with_the_datagram_is_rejected() {
    let mut bytes = encode_request(&Request::Stat { handle: Handle(3) });
    bytes.push(0);
    assert_eq!(
        Request::decode(&bytes),
        Err(WireError::LengthMismatch {
            declared: 8,
            actual: 9
        })
    );
    bytes.truncate(HEADER_SIZE + 4);
    assert_eq!(
        Request::decode(&bytes),
        Err(WireError::LengthMismatch {
            declared: 8,
            actual: 4
        })
    );
}

#[test]
fn unknown_ops_are_rejected() {
    assert_eq!(
        Request::decode(&raw(0, 0, &[])),
        Err(WireError::UnknownOp(0))
    );
    assert_eq!(
        Request::decode(&raw(42, 0, &[])),
        Err(WireError::UnknownOp(42))
    );
    assert_eq!(
        Response::decode(&raw(42, 0, &[])),
        Err(WireError::UnknownOp(42))
    );
}

#[test]
fn requests_with_flags_set_are_rejected() {
    assert_eq!(
        Request::decode(&raw(Op::NewChannel as u16, FLAG_ERROR, &[])),
        Err(WireError::BadFlags { op: 9, flags: 1 })
    );
    assert_eq!(
        Response::decode(&raw(Op::NewChannel as u16, 4, &[])),
        Err(WireError::BadFlags { op: 9, flags: 4 })
    );
}

#[test]
fn payload_too_short_for_its_fixed_part_is_rejected() {
    let msg = raw(Op::Stat as u16, 0, &[1, 2, 3, 4]);
    assert_eq!(Request::decode(&msg), Err(WireError::Truncated("handle")));
    let msg = raw(Op::Stat as u16, 0, &[0; 100]);
    assert_eq!(Response::decode(&msg), Err(WireError::Truncated("stat")));
}

#[test]
fn trailing_bytes_after_the_payload_are_rejected() {
    let msg = raw(Op::NewChannel as u16, 0, &[0]);
    assert_eq!(Request::decode(&msg), Err(WireError::TrailingBytes(1)));
    let mut payload = 3u64.to_le_bytes().to_vec();
    payload.extend_from_slice(&[0; 3]);
    let msg = raw(Op::Stat as u16, 0, &payload);
    assert_eq!(Request::decode(&msg), Err(WireError::TrailingBytes(3)));
}

#[test]
fn walk_name_overrunning_the_payload_is_rejected() {
    let mut payload = Vec::new();
    payload.extend_from_slice(&1u64.to_le_bytes()); // dir
    payload.extend_from_slice(&1u32.to_le_bytes()); // one name
    payload.extend_from_slice(&0u32.to_le_bytes()); // reserved
    payload.extend_from_slice(&10u16.to_le_bytes()); // claims 10 bytes...
    payload.extend_from_slice(b"abc"); // ...has 3
    let msg = raw(Op::Walk as u16, 0, &payload);
    assert_eq!(
        Request::decode(&msg),
        Err(WireError::Truncated("walk name"))
    );
}

#[test]
fn walk_with_more_names_than_it_carries_is_rejected() {
    let mut payload = Vec::new();
    payload.extend_from_slice(&1u64.to_le_bytes());
    payload.extend_from_slice(&2u32.to_le_bytes());
    payload.extend_from_slice(&0u32.to_le_bytes());
    payload.extend_from_slice(&1u16.to_le_bytes());
    payload.push(b'a');
    let msg = raw(Op::Walk as u16, 0, &payload);
    assert_eq!(
        Request::decode(&msg),
        Err(WireError::Truncated("walk name length"))
    );
}

#[test]
fn walk_with_more_than_255_names_is_rejected_before_allocating() {
    let mut payload = Vec::new();
    payload.extend_from_slice(&1u64.to_le_bytes());
    payload.extend_from_slice(&u32::MAX.to_le_bytes());
    payload.extend_from_slice(&0u32.to_le_bytes());
    let msg = raw(Op::Walk as u16, 0, &payload);
    assert!(matches!(
        Request::decode(&msg),
        Err(WireError::TooMany {
            what: "walk names",
            ..
        })
    ));
}

#[test]
fn close_with_a_count_beyond_the_limit_is_rejected() {
    let count = MAX_CLOSE_HANDLES as u32 + 1;
    let mut payload = count.to_le_bytes().to_vec();
    payload.extend_from_slice(&0u32.to_le_bytes());
    let msg = raw(Op::Close as u16, 0, &payload);
    assert!(matches!(
        Request::decode(&msg),
        Err(WireError::TooMany {
            what: "handles",
            ..
        })
    ));
}

#[test]
fn close_with_fewer_handles_than_its_count_is_rejected() {
    let mut payload = 2u32.to_le_bytes().to_vec();
    payload.extend_from_slice(&0u32.to_le_bytes());
    payload.extend_from_slice(&5u64.to_le_bytes());
    let msg = raw(Op::Close as u16, 0, &payload);
    assert_eq!(Request::decode(&msg), Err(WireError::Truncated("handle")));
}

#[test]
fn messages_larger_than_the_limit_are_rejected() {
    let msg = raw(Op::ReadLink as u16, 0, &vec![b'a'; MAX_MESSAGE_SIZE]);
    let len = msg.len();
    assert_eq!(Request::decode(&msg), Err(WireError::Oversize { len }));
    assert_eq!(Response::decode(&msg), Err(WireError::Oversize { len }));
}

#[test]
fn error_response_must_carry_a_positive_errno() {
    for errno in [0i32, -5] {
        let mut payload = errno.to_le_bytes().to_vec();
        payload.extend_from_slice(&0u32.to_le_bytes());
        let msg = raw(Op::Stat as u16, FLAG_ERROR, &payload);
        assert_eq!(Response::decode(&msg), Err(WireError::BadErrno(errno)));
    }
}

#[test]
fn walk_reply_with_negative_errno_or_too_many_components_is_rejected() {
    let negative = raw(Op::Walk as u16, 0, &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    assert_eq!(Response::decode(&negative), Err(WireError::BadErrno(-1)));
    let mut payload = 0i32.to_le_bytes().to_vec();
    payload.extend_from_slice(&256u32.to_le_bytes());
    assert!(matches!(
        Response::decode(&raw(Op::Walk as u16, 0, &payload)),
        Err(WireError::TooMany { .. })
    ));
}

#[test]
fn readdir_reply_with_bad_end_flag_or_overrunning_name_is_rejected() {
    let mut payload = 0u32.to_le_bytes().to_vec();
    payload.extend_from_slice(&2u32.to_le_bytes());
    assert_eq!(
        Response::decode(&raw(Op::ReadDir as u16, 0, &payload)),
        Err(WireError::BadValue {
            what: "end flag",
            value: 2
        })
    );
    let mut good = encode_response(&Response::ReadDir(ReadDirReply {
        entries: vec![DirEntry {
            ino: 1,
            next_cookie: 2,
            d_type: 0,
            name: b"abcdef".to_vec(),
        }],
        end: false,
    }));
    // Drop the last name byte but keep the header consistent with the datagram.
    good.pop();
    let payload_len = (good.len() - HEADER_SIZE) as u32;
    good[4..8].copy_from_slice(&payload_len.to_le_bytes());
    assert_eq!(
        Response::decode(&good),
        Err(WireError::Truncated("directory entry name"))
    );
}

#[test]
fn encoding_more_than_255_walk_names_fails() {
    let names = vec![&b"a"[..]; MAX_WALK_NAMES + 1];
    let request = Request::Walk {
        dir: Handle(1),
        names,
    };
    assert!(matches!(
        request.encode(&mut Vec::new()),
        Err(WireError::TooMany { .. })
    ));
}

#[test]
fn encoding_a_message_beyond_the_size_limit_fails() {
    let response = Response::ReadLink(vec![b'a'; MAX_PAYLOAD_SIZE + 1]);
    assert!(matches!(
        response.encode(&mut Vec::new()),
        Err(WireError::Oversize { .. })
    ));
    let exact = Response::ReadLink(vec![b'a'; MAX_PAYLOAD_SIZE]);
    assert_eq!(exact.encode(&mut Vec::new()), Ok(()));
}

#[test]
fn encoding_a_walk_name_longer_than_a_u16_can_count_fails() {
    let long = vec![b'a'; 70_000];
    let request = Request::Walk {
        dir: Handle(1),
        names: vec![&long],
    };
    assert_eq!(
        request.encode(&mut Vec::new()),
        Err(WireError::NameTooLong { len: 70_000 })
    );
}

#[test]
fn full_readdir_budget_fits_in_one_message() {
    let name_len = 255;
    let per_entry = DirEntry::wire_size(name_len);
    let entries = (0..READDIR_ENTRY_BUDGET / per_entry)
        .map(|i| DirEntry {
            ino: i as u64,
            next_cookie: i as u64 + 1,
            d_type: libc::DT_REG,
            name: vec![b'n'; name_len],
        })
        .collect();
    let response = Response::ReadDir(ReadDirReply {
        entries,
        end: false,
    });
    let bytes = encode_response(&response);
    assert!(bytes.len() <= MAX_MESSAGE_SIZE);
    assert_eq!(Response::decode(&bytes), Ok(response));
}

/// A small deterministic generator, so corruption tests need no extra crates.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn decoding_any_prefix_or_corruption_of_valid_messages_never_panics() {
    let mut messages: Vec<Vec<u8>> = all_requests().iter().map(encode_request).collect();
    messages.extend(all_responses().iter().map(encode_response));
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for msg in &messages {
        for len in 0..=msg.len() {
            let _ = Request::decode(&msg[..len]);
            let _ = Response::decode(&msg[..len]);
        }
        for _ in 0..500 {
            let mut corrupt = msg.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % corrupt.len();
                corrupt[at] = rng.next() as u8;
            }
            let _ = Request::decode(&corrupt);
            let _ = Response::decode(&corrupt);
        }
    }
}

#[test]
fn replies_whose_op_does_not_match_their_kind_cannot_be_encoded() {
    let mut out = Vec::new();
    for bad in [
        Response::Created {
            op: Op::Unlink,
            handle: Handle(1),
            stat: sample_stat(0),
        },
        Response::Xattr {
            op: Op::SetXattr,
            data: vec![],
        },
        Response::Done { op: Op::Create },
        Response::Done { op: Op::SetAttr },
    ] {
        assert!(bad.encode(&mut out).is_err(), "{bad:?} encoded");
    }
}

#[test]
fn stray_target_value_or_flag_bytes_in_new_requests_are_rejected() {
    // A MkDir carrying a symlink target.
    let mut msg = Vec::new();
    Request::Symlink {
        dir: Handle(1),
        name: b"n",
        target: b"t",
        uid: 0,
        gid: 0,
    }
    .encode(&mut msg)
    .unwrap();
    msg[0..2].copy_from_slice(&(Op::MkDir as u16).to_le_bytes());
    assert!(matches!(
        Request::decode(&msg),
        Err(WireError::BadValue { .. })
    ));
    // A GetXattr carrying a value.
    Request::SetXattr {
        handle: Handle(1),
        name: b"user.a",
        value: b"v",
        flags: 0,
    }
    .encode(&mut msg)
    .unwrap();
    msg[0..2].copy_from_slice(&(Op::GetXattr as u16).to_le_bytes());
    assert!(matches!(
        Request::decode(&msg),
        Err(WireError::BadValue { .. })
    ));
    // An FSync whose datasync flag is neither 0 nor 1.
    Request::FSync {
        handle: Handle(1),
        datasync: true,
    }
    .encode(&mut msg)
    .unwrap();
    msg[HEADER_SIZE + 8] = 2;
    assert!(matches!(
        Request::decode(&msg),
        Err(WireError::BadValue { .. })
    ));
    // Name lengths that overrun the payload.
    Request::Unlink {
        dir: Handle(1),
        name: b"abc",
        flags: 0,
    }
    .encode(&mut msg)
    .unwrap();
    msg[HEADER_SIZE + 12] = 200;
    assert!(matches!(
        Request::decode(&msg),
        Err(WireError::Truncated(_))
    ));
}
