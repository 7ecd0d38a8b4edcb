//! Randomness for guests (getrandom, /dev/urandom, AT_RANDOM, address randomization).

/// Fills `buf` with random bytes from the host's CSPRNG.
pub fn fill(buf: &mut [u8]) {
    let mut done = 0;
    while done < buf.len() {
        // getrandom(2) with no flags never fails for buffers once the pool is ready,
        // except EINTR; retry on any error.
        if let Ok(n) = crate::abi::hostcall::getrandom(&mut buf[done..]) {
            done += n;
        }
    }
}

/// A random u64.
pub fn u64() -> u64 {
    let mut b = [0u8; 8];
    fill(&mut b);
    u64::from_ne_bytes(b)
}
