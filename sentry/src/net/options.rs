//! SOL_SOCKET options every family keeps the same way: buffer sizes, timeouts and
//! the flags Linux stores for any socket.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::errno;
use crate::errno::Result;

/// Linux's default and largest requestable buffer sizes (net.core.wmem_default,
/// wmem_max; the rmem pair is the same).
pub const DEFAULT_BUF: usize = 212_992;
const MAX_BUF_REQUEST: usize = 212_992;
/// The smallest send and receive buffers (SOCK_MIN_SNDBUF, SOCK_MIN_RCVBUF).
const MIN_SNDBUF: usize = 4608;
const MIN_RCVBUF: usize = 2304;

/// Flags stored and reported back, with no further effect on a socket the sentry has.
const STORED_FLAGS: &[i32] = &[
    libc::SO_DEBUG,
    libc::SO_REUSEADDR,
    libc::SO_DONTROUTE,
    libc::SO_BROADCAST,
    libc::SO_KEEPALIVE,
    libc::SO_OOBINLINE,
    libc::SO_NO_CHECK,
    libc::SO_PRIORITY,
    libc::SO_REUSEPORT,
    libc::SO_RCVLOWAT,
    libc::SO_TIMESTAMP,
    libc::SO_TIMESTAMPNS,
    libc::SO_MARK,
    libc::SO_RXQ_OVFL,
    libc::SO_ZEROCOPY,
    libc::SO_BUSY_POLL,
];

/// The options of one socket.
#[derive(Clone, Debug)]
pub struct CommonOptions {
    /// SO_SNDBUF (as reported: twice what was asked).
    pub sndbuf: usize,
    /// SO_RCVBUF.
    pub rcvbuf: usize,
    /// SO_RCVTIMEO (None: wait forever).
    pub rcvtimeo: Option<Duration>,
    /// SO_SNDTIMEO.
    pub sndtimeo: Option<Duration>,
    /// SO_LINGER (l_onoff, l_linger).
    pub linger: (i32, i32),
    /// SO_PASSCRED.
    pub passcred: bool,
    flags: BTreeMap<i32, i32>,
}

impl Default for CommonOptions {
    fn default() -> CommonOptions {
        CommonOptions {
            sndbuf: DEFAULT_BUF,
            rcvbuf: DEFAULT_BUF,
            rcvtimeo: None,
            sndtimeo: None,
            linger: (0, 0),
            passcred: false,
            flags: BTreeMap::new(),
        }
    }
}

/// An int option's value: EINVAL when shorter than an int.
pub fn int_value(value: &[u8]) -> Result<i32> {
    let b: [u8; 4] = value
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| errno!(EINVAL))?;
    Ok(i32::from_ne_bytes(b))
}

/// An int option as getsockopt returns it.
pub fn int_bytes(v: i32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

fn timeval_value(value: &[u8]) -> Result<Option<Duration>> {
    if value.len() < 16 {
        return Err(errno!(EINVAL));
    }
    let sec = i64::from_ne_bytes(value[..8].try_into().expect("8 bytes"));
    let usec = i64::from_ne_bytes(value[8..16].try_into().expect("8 bytes"));
    if !(0..1_000_000).contains(&usec) {
        return Err(errno!(EDOM));
    }
    if sec < 0 {
        // Linux warns and times out at once.
        return Ok(Some(Duration::ZERO));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    Ok(Some(
        Duration::from_secs(sec as u64) + Duration::from_micros(usec as u64),
    ))
}

fn timeval_bytes(t: Option<Duration>) -> Vec<u8> {
    let t = t.unwrap_or_default();
    let mut b = (t.as_secs() as i64).to_ne_bytes().to_vec();
    b.extend_from_slice(&(t.subsec_micros() as i64).to_ne_bytes());
    b
}

impl CommonOptions {
    /// getsockopt(SOL_SOCKET, `name`) for the options kept here; None for others.
    pub fn get(&self, name: i32) -> Option<Vec<u8>> {
        Some(match name {
            libc::SO_SNDBUF => int_bytes(self.sndbuf as i32),
            libc::SO_RCVBUF => int_bytes(self.rcvbuf as i32),
            libc::SO_RCVTIMEO => timeval_bytes(self.rcvtimeo),
            libc::SO_SNDTIMEO => timeval_bytes(self.sndtimeo),
            libc::SO_PASSCRED => int_bytes(self.passcred as i32),
            libc::SO_LINGER => {
                let mut b = self.linger.0.to_ne_bytes().to_vec();
                b.extend_from_slice(&self.linger.1.to_ne_bytes());
                b
            }
            _ if STORED_FLAGS.contains(&name) => {
                int_bytes(self.flags.get(&name).copied().unwrap_or(0))
            }
            _ => return None,
        })
    }

    /// setsockopt(SOL_SOCKET, `name`) for the options kept here; ENOPROTOOPT for others.
    pub fn set(&mut self, name: i32, value: &[u8]) -> Result<()> {
        match name {
            libc::SO_SNDBUF | libc::SO_SNDBUFFORCE => {
                let v = (int_value(value)?.max(0) as usize).min(MAX_BUF_REQUEST);
                self.sndbuf = (v * 2).max(MIN_SNDBUF);
            }
            libc::SO_RCVBUF | libc::SO_RCVBUFFORCE => {
                let v = (int_value(value)?.max(0) as usize).min(MAX_BUF_REQUEST);
                self.rcvbuf = (v * 2).max(MIN_RCVBUF);
            }
            libc::SO_RCVTIMEO => self.rcvtimeo = timeval_value(value)?,
            libc::SO_SNDTIMEO => self.sndtimeo = timeval_value(value)?,
            libc::SO_PASSCRED => self.passcred = int_value(value)? != 0,
            libc::SO_LINGER => {
                if value.len() < 8 {
                    return Err(errno!(EINVAL));
                }
                let onoff = i32::from_ne_bytes(value[..4].try_into().expect("4 bytes"));
                let secs = i32::from_ne_bytes(value[4..8].try_into().expect("4 bytes"));
                self.linger = ((onoff != 0) as i32, secs);
            }
            _ if STORED_FLAGS.contains(&name) => {
                let v = int_value(value)?;
                let boolean = !matches!(
                    name,
                    libc::SO_PRIORITY | libc::SO_RCVLOWAT | libc::SO_MARK | libc::SO_BUSY_POLL
                );
                self.flags
                    .insert(name, if boolean { (v != 0) as i32 } else { v });
            }
            _ => return Err(errno!(ENOPROTOOPT)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_sizes_are_doubled_and_clamped_like_linux() {
        let mut o = CommonOptions::default();
        o.set(libc::SO_SNDBUF, &65536i32.to_ne_bytes()).unwrap();
        assert_eq!(o.sndbuf, 131072);
        o.set(libc::SO_SNDBUF, &1i32.to_ne_bytes()).unwrap();
        assert_eq!(o.sndbuf, MIN_SNDBUF);
        o.set(libc::SO_RCVBUF, &i32::MAX.to_ne_bytes()).unwrap();
        assert_eq!(o.rcvbuf, 2 * MAX_BUF_REQUEST);
    }

    #[test]
    fn short_values_are_einval_and_bad_timeouts_edom() {
        let mut o = CommonOptions::default();
        let e = o.set(libc::SO_KEEPALIVE, &[1, 0]).unwrap_err();
        assert_eq!(e.code(), libc::EINVAL);
        let mut tv = 0i64.to_ne_bytes().to_vec();
        tv.extend_from_slice(&2_000_000i64.to_ne_bytes());
        let e = o.set(libc::SO_RCVTIMEO, &tv).unwrap_err();
        assert_eq!(e.code(), libc::EDOM);
    }

    #[test]
    fn stored_flags_read_back_as_booleans() {
        let mut o = CommonOptions::default();
        o.set(libc::SO_KEEPALIVE, &7i32.to_ne_bytes()).unwrap();
        assert_eq!(o.get(libc::SO_KEEPALIVE).unwrap(), int_bytes(1));
        assert!(o.get(9999).is_none());
    }
}
