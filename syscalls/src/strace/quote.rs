//! Quoting of guest strings and buffers the way strace shows them:
//! `"root:x:0:0\n"...`, `NULL`, or the bare address when the memory is unreadable.

use std::fmt::Write;

use super::guest::{read_cstring, read_exact};
use super::GuestMemory;

/// How many bytes of a string or buffer strace shows by default (`-s 32`).
pub(super) const MAX_STRLEN: usize = 32;

/// Paths are shown whole, up to PATH_MAX, as strace does.
pub(super) const PATH_MAX: usize = 4096;

/// How non-printable bytes are escaped.
#[derive(Clone, Copy)]
pub(super) enum Escape {
    /// C escapes and `\ooo` octal (strace's default).
    Octal,
    /// Every byte as `\xHH` (what strace does for random bytes).
    Hex,
}

/// `NULL` for 0, else the address in hex.
pub(super) fn pointer(addr: u64) -> String {
    if addr == 0 {
        "NULL".to_owned()
    } else {
        format!("{addr:#x}")
    }
}

/// `0` for 0, else `0x...`, like C's `%#x`.
pub(super) fn hex(value: u64) -> String {
    if value == 0 {
        "0".to_owned()
    } else {
        format!("{value:#x}")
    }
}

/// Quotes `bytes`, with `...` after the closing quote when the string went on.
pub(super) fn quote(bytes: &[u8], truncated: bool, escape: Escape) -> String {
    let mut out = String::with_capacity(bytes.len() + 5);
    out.push('"');
    for (i, &byte) in bytes.iter().enumerate() {
        match escape {
            Escape::Hex => {
                let _ = write!(out, "\\x{byte:02x}");
            }
            Escape::Octal => push_escaped(&mut out, byte, bytes.get(i + 1).copied()),
        }
    }
    out.push('"');
    if truncated {
        out.push_str("...");
    }
    out
}

/// Appends one byte, escaped. Octal escapes use as few digits as possible unless the
/// next byte is an octal digit, which would otherwise be read as part of the escape.
fn push_escaped(out: &mut String, byte: u8, next: Option<u8>) {
    let simple = match byte {
        b'"' => "\\\"",
        b'\\' => "\\\\",
        b'\n' => "\\n",
        b'\t' => "\\t",
        b'\r' => "\\r",
        0x0b => "\\v",
        0x0c => "\\f",
        0x20..=0x7e => {
            out.push(char::from(byte));
            return;
        }
        _ => "",
    };
    if !simple.is_empty() {
        out.push_str(simple);
    } else if next.is_some_and(|n| (b'0'..=b'7').contains(&n)) {
        let _ = write!(out, "\\{byte:03o}");
    } else {
        let _ = write!(out, "\\{byte:o}");
    }
}

/// The NUL-terminated string at `addr`, showing at most `limit` bytes.
pub(super) fn cstring(mem: &dyn GuestMemory, addr: u64, limit: usize) -> String {
    if addr == 0 {
        return pointer(addr);
    }
    match read_cstring(mem, addr, limit) {
        Some((bytes, truncated)) => quote(&bytes, truncated, Escape::Octal),
        None => pointer(addr),
    }
}

/// The `len`-byte buffer at `addr`, showing at most [`MAX_STRLEN`] bytes.
pub(super) fn buffer(mem: &dyn GuestMemory, addr: u64, len: u64, escape: Escape) -> String {
    let shown = usize::try_from(len).unwrap_or(usize::MAX).min(MAX_STRLEN);
    match read_exact(mem, addr, shown) {
        Some(bytes) => quote(&bytes, len > shown as u64, escape),
        None => pointer(addr),
    }
}

/// A fixed-size `char[]` field such as `utsname.sysname`: up to its first NUL, whole.
pub(super) fn char_array(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    quote(&bytes[..end], false, Escape::Octal)
}
