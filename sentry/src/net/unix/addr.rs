//! `struct sockaddr_un`: parsing what the guest passes and building what it reads.

use crate::errno;
use crate::errno::Result;

/// `offsetof(struct sockaddr_un, sun_path)`: the family's two bytes.
pub const FAMILY_LEN: usize = 2;
/// `sizeof(struct sockaddr_un)`.
pub const SOCKADDR_UN_LEN: usize = 110;

/// A unix socket's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UnixAddr {
    /// A filesystem path (without the terminating NUL).
    Path(Vec<u8>),
    /// An abstract name (the bytes after the leading NUL, NULs included).
    Abstract(Vec<u8>),
}

/// What a bind(2) or connect(2) address asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A name.
    Name(UnixAddr),
    /// Only the family (bind: autobind).
    FamilyOnly,
}

/// Parses a raw address of `AF_UNIX`: EINVAL for a short or long length or another
/// family.
pub fn parse(raw: &[u8]) -> Result<Request> {
    if raw.len() < FAMILY_LEN || raw.len() > SOCKADDR_UN_LEN {
        return Err(errno!(EINVAL));
    }
    if family(raw) != libc::AF_UNIX {
        return Err(errno!(EINVAL));
    }
    let path = &raw[FAMILY_LEN..];
    Ok(match path.first() {
        None => Request::FamilyOnly,
        Some(0) => Request::Name(UnixAddr::Abstract(path[1..].to_vec())),
        Some(_) => {
            // The path ends at the first NUL, or at the end of the address.
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            Request::Name(UnixAddr::Path(path[..end].to_vec()))
        }
    })
}

/// The family of a raw address (at least two bytes long).
pub fn family(raw: &[u8]) -> i32 {
    u16::from_ne_bytes([raw[0], raw[1]]) as i32
}

/// The raw address getsockname/getpeername/accept/recvfrom report: the family alone
/// for an unnamed socket; a path with its terminating NUL; an abstract name exactly.
pub fn to_raw(addr: Option<&UnixAddr>) -> Vec<u8> {
    let mut raw = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    match addr {
        None => {}
        Some(UnixAddr::Path(p)) => {
            raw.extend_from_slice(p);
            raw.push(0);
        }
        Some(UnixAddr::Abstract(name)) => {
            raw.push(0);
            raw.extend_from_slice(name);
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(path: &[u8]) -> Vec<u8> {
        let mut r = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        r.extend_from_slice(path);
        r
    }

    #[test]
    fn paths_end_at_the_first_nul_and_abstract_names_keep_theirs() {
        assert_eq!(
            parse(&raw(b"/tmp/s\0junk")).unwrap(),
            Request::Name(UnixAddr::Path(b"/tmp/s".to_vec()))
        );
        assert_eq!(
            parse(&raw(b"\0a\0b")).unwrap(),
            Request::Name(UnixAddr::Abstract(b"a\0b".to_vec()))
        );
        assert_eq!(parse(&raw(b"")).unwrap(), Request::FamilyOnly);
    }

    #[test]
    fn bad_lengths_and_families_are_einval() {
        assert_eq!(parse(&[1]).unwrap_err().code(), libc::EINVAL);
        assert_eq!(parse(&raw(&[b'a'; 109])).unwrap_err().code(), libc::EINVAL);
        assert_eq!(parse(&[2, 0, b'a']).unwrap_err().code(), libc::EINVAL);
    }

    #[test]
    fn reported_paths_carry_their_nul() {
        let a = UnixAddr::Path(b"/s".to_vec());
        assert_eq!(to_raw(Some(&a)).len(), FAMILY_LEN + 3);
        assert_eq!(to_raw(None).len(), FAMILY_LEN);
    }
}
