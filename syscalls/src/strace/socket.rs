//! Socket addresses and protocols:
//! `{sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::args::{c_int, c_uint};
use super::flags::{Xlat, AF, AF_INET, AF_INET6, AF_NETLINK, AF_UNIX, IPPROTO, NETLINK};
use super::guest::Fields;
use super::quote::{quote, Escape, MAX_STRLEN};
use super::GuestMemory;

/// `sizeof(struct sockaddr_storage)`: no address is longer.
const SOCKADDR_MAX: u64 = 128;

/// socket(2)'s protocol, named for the internet and netlink families.
pub(super) fn protocol(family: u64, protocol: u64) -> String {
    let protocol = c_uint(protocol);
    match c_uint(family) {
        AF_INET | AF_INET6 => IPPROTO.format(protocol),
        AF_NETLINK => NETLINK.format(protocol),
        _ => c_int(protocol).to_string(),
    }
}

const SOL_SOCKET: u64 = 1;
const SOL_TCP: u64 = 6;

const LEVEL: Xlat = Xlat {
    unknown: "SOL_???",
    items: &[
        (0, "SOL_IP"),
        (SOL_SOCKET, "SOL_SOCKET"),
        (SOL_TCP, "SOL_TCP"),
        (17, "SOL_UDP"),
        (41, "SOL_IPV6"),
        (58, "SOL_ICMPV6"),
        (255, "SOL_RAW"),
        (263, "SOL_PACKET"),
        (270, "SOL_NETLINK"),
    ],
};

const SO: Xlat = Xlat {
    unknown: "SO_???",
    items: &[
        (1, "SO_DEBUG"),
        (2, "SO_REUSEADDR"),
        (3, "SO_TYPE"),
        (4, "SO_ERROR"),
        (5, "SO_DONTROUTE"),
        (6, "SO_BROADCAST"),
        (7, "SO_SNDBUF"),
        (8, "SO_RCVBUF"),
        (9, "SO_KEEPALIVE"),
        (10, "SO_OOBINLINE"),
        (11, "SO_NO_CHECK"),
        (12, "SO_PRIORITY"),
        (13, "SO_LINGER"),
        (14, "SO_BSDCOMPAT"),
        (15, "SO_REUSEPORT"),
        (16, "SO_PASSCRED"),
        (17, "SO_PEERCRED"),
        (18, "SO_RCVLOWAT"),
        (19, "SO_SNDLOWAT"),
        (20, "SO_RCVTIMEO_OLD"),
        (21, "SO_SNDTIMEO_OLD"),
        (25, "SO_BINDTODEVICE"),
        (26, "SO_ATTACH_FILTER"),
        (27, "SO_DETACH_FILTER"),
        (28, "SO_PEERNAME"),
        (29, "SO_TIMESTAMP_OLD"),
        (30, "SO_ACCEPTCONN"),
        (31, "SO_PEERSEC"),
        (32, "SO_SNDBUFFORCE"),
        (33, "SO_RCVBUFFORCE"),
        (34, "SO_PASSSEC"),
        (36, "SO_MARK"),
        (38, "SO_PROTOCOL"),
        (39, "SO_DOMAIN"),
        (40, "SO_RXQ_OVFL"),
        (42, "SO_PEEK_OFF"),
        (46, "SO_BUSY_POLL"),
        (49, "SO_INCOMING_CPU"),
        (50, "SO_ATTACH_BPF"),
        (57, "SO_COOKIE"),
        (59, "SO_PEERGROUPS"),
        (60, "SO_ZEROCOPY"),
        (66, "SO_RCVTIMEO_NEW"),
        (67, "SO_SNDTIMEO_NEW"),
        (77, "SO_PEERPIDFD"),
    ],
};

const TCP: Xlat = Xlat {
    unknown: "TCP_???",
    items: &[
        (1, "TCP_NODELAY"),
        (2, "TCP_MAXSEG"),
        (3, "TCP_CORK"),
        (4, "TCP_KEEPIDLE"),
        (5, "TCP_KEEPINTVL"),
        (6, "TCP_KEEPCNT"),
        (7, "TCP_SYNCNT"),
        (8, "TCP_LINGER2"),
        (9, "TCP_DEFER_ACCEPT"),
        (10, "TCP_WINDOW_CLAMP"),
        (11, "TCP_INFO"),
        (12, "TCP_QUICKACK"),
        (13, "TCP_CONGESTION"),
        (14, "TCP_MD5SIG"),
        (18, "TCP_USER_TIMEOUT"),
        (23, "TCP_FASTOPEN"),
        (25, "TCP_NOTSENT_LOWAT"),
        (30, "TCP_FASTOPEN_CONNECT"),
    ],
};

/// A socket option level: `SOL_SOCKET`, `SOL_TCP`.
pub(super) fn level(level: u64) -> String {
    LEVEL.format(c_uint(level))
}

/// A socket option, named for the socket and TCP levels, else in decimal.
pub(super) fn option(level: u64, name: u64) -> String {
    let name = c_uint(name);
    match c_uint(level) {
        SOL_SOCKET => SO.format(name),
        SOL_TCP => TCP.format(name),
        _ => c_int(name).to_string(),
    }
}

/// The `len`-byte socket address at `addr`.
pub(super) fn sockaddr(mem: &dyn GuestMemory, addr: u64, len: u64) -> Option<String> {
    let len = usize::try_from(len.min(SOCKADDR_MAX)).ok()?;
    if len < 2 {
        return None;
    }
    let sa = Fields::read(mem, addr, len)?;
    let family = u64::from(sa.u16(0));
    let body = match family {
        AF_UNIX => unix(&sa),
        AF_INET if len >= 8 => inet(&sa),
        AF_INET6 if len >= 24 => inet6(&sa),
        AF_NETLINK if len >= 12 => netlink(&sa),
        _ => other(&sa),
    };
    let sep = if body.is_empty() { "" } else { ", " };
    Some(format!("{{sa_family={}{sep}{body}}}", AF.format(family)))
}

/// `sun_path="/run/x.sock"`, or `sun_path=@"name"` for an abstract address.
fn unix(sa: &Fields) -> String {
    let path = sa.bytes(2, sa.len().saturating_sub(2));
    match path.split_first() {
        None => String::new(),
        Some((0, abstract_name)) => {
            format!("sun_path=@{}", quote(abstract_name, false, Escape::Octal))
        }
        Some(_) => {
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            format!("sun_path={}", quote(&path[..end], false, Escape::Octal))
        }
    }
}

fn inet(sa: &Fields) -> String {
    let ip = Ipv4Addr::from(sa.be32(4));
    format!(
        "sin_port=htons({}), sin_addr=inet_addr(\"{ip}\")",
        sa.be16(2)
    )
}

fn inet6(sa: &Fields) -> String {
    let octets: [u8; 16] = sa.bytes(8, 16).try_into().unwrap_or([0; 16]);
    format!(
        "sin6_port=htons({}), sin6_flowinfo=htonl({}), \
         inet_pton(AF_INET6, \"{}\", &sin6_addr), sin6_scope_id={}",
        sa.be16(2),
        sa.be32(4),
        Ipv6Addr::from(octets),
        sa.u32(24),
    )
}

fn netlink(sa: &Fields) -> String {
    format!("nl_pid={}, nl_groups={:08x}", sa.u32(4), sa.u32(8))
}

/// Any other family: the raw address bytes.
fn other(sa: &Fields) -> String {
    let data = sa.bytes(2, sa.len().saturating_sub(2));
    let shown = &data[..data.len().min(MAX_STRLEN)];
    format!(
        "sa_data={}",
        quote(shown, data.len() > shown.len(), Escape::Octal)
    )
}
