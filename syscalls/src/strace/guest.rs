//! Bounded reads of guest memory for the decoder: C strings, buffers and raw structs.
//!
//! Every read is capped, so a garbage length or an unterminated string costs at most a
//! few pages, and every field access is checked, so a short read never panics.

use super::GuestMemory;

/// The most bytes read from the guest for one argument.
pub(super) const MAX_READ: usize = 4096;

/// Reads are split at page boundaries so a string ending just before an unmapped page
/// still decodes.
const PAGE_SIZE: u64 = 4096;

/// Reads forward from `addr`, at most `limit` bytes, in chunks handed to `visit` until it
/// returns true. Chunks stop at page boundaries; a chunk that cannot be read is retried
/// at half the size, down to `unit` bytes, so reading ends exactly where readable memory
/// does even when the guest memory is not page-granular.
/// Returns whether `visit` stopped the scan, or `None` for NULL or if nothing at all was
/// readable.
fn scan(
    mem: &dyn GuestMemory,
    addr: u64,
    limit: usize,
    unit: usize,
    mut visit: impl FnMut(&[u8]) -> bool,
) -> Option<bool> {
    if addr == 0 {
        return None;
    }
    let round = |n: usize| (n / unit * unit).max(unit);
    let mut done = 0;
    let mut chunk_size = PAGE_SIZE as usize;
    while done < limit {
        let Some(cursor) = addr.checked_add(done as u64) else {
            break;
        };
        let to_page_end = (PAGE_SIZE - cursor % PAGE_SIZE) as usize;
        let size = round(chunk_size.min(to_page_end).min(limit - done));
        match mem.read_bytes(cursor, size).filter(|c| c.len() == size) {
            Some(chunk) => {
                done += size;
                if visit(&chunk) {
                    return Some(true);
                }
            }
            None if size > unit => chunk_size = round(size / 2),
            None => break,
        }
    }
    (done > 0).then_some(false)
}

/// Reads the NUL-terminated string at `addr`, keeping at most `limit` bytes.
/// Returns the bytes and whether the string went on past them (or ran into unreadable
/// memory); `None` when not even its first byte is readable.
pub(super) fn read_cstring(
    mem: &dyn GuestMemory,
    addr: u64,
    limit: usize,
) -> Option<(Vec<u8>, bool)> {
    let limit = limit.min(MAX_READ);
    let mut bytes = Vec::new();
    let terminated = scan(mem, addr, limit + 1, 1, |chunk| {
        let nul = chunk.iter().position(|&b| b == 0);
        bytes.extend_from_slice(&chunk[..nul.unwrap_or(chunk.len())]);
        nul.is_some()
    })?;
    let truncated = !terminated || bytes.len() > limit;
    bytes.truncate(limit);
    Some((bytes, truncated))
}

/// Reads the NULL-terminated array of pointers at `addr`, keeping at most `max`.
/// Returns them and whether the array went on past them (or ran into unreadable memory);
/// `None` when not even its first entry is readable.
pub(super) fn read_pointers(
    mem: &dyn GuestMemory,
    addr: u64,
    max: usize,
) -> Option<(Vec<u64>, bool)> {
    let mut pointers = Vec::new();
    let terminated = scan(mem, addr, (max + 1) * 8, 8, |chunk| {
        for word in chunk.chunks_exact(8) {
            match u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) {
                0 => return true,
                pointer => pointers.push(pointer),
            }
        }
        false
    })?;
    let more = !terminated || pointers.len() > max;
    pointers.truncate(max);
    Some((pointers, more))
}

/// Reads exactly `len` bytes (capped at [`MAX_READ`]) at `addr`; `None` for NULL or
/// unreadable memory.
pub(super) fn read_exact(mem: &dyn GuestMemory, addr: u64, len: usize) -> Option<Vec<u8>> {
    let len = len.min(MAX_READ);
    if addr == 0 {
        return None;
    }
    mem.read_bytes(addr, len).filter(|b| b.len() == len)
}

/// A guest struct copied out of memory, read field by field at byte offsets
/// (little-endian, as on x86-64). Fields past the end read as zero.
pub(super) struct Fields(Vec<u8>);

impl Fields {
    /// Copies `len` bytes of the struct at `addr`; `None` for NULL or unreadable memory.
    pub(super) fn read(mem: &dyn GuestMemory, addr: u64, len: usize) -> Option<Self> {
        read_exact(mem, addr, len).map(Fields)
    }

    /// Wraps bytes already read.
    pub(super) fn from_bytes(bytes: Vec<u8>) -> Self {
        Fields(bytes)
    }

    /// The raw bytes at `offset..offset + len`, or an empty slice if out of range.
    pub(super) fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        let end = offset.saturating_add(len).min(self.0.len());
        self.0.get(offset..end).unwrap_or(&[])
    }

    fn array<const N: usize>(&self, offset: usize) -> [u8; N] {
        self.bytes(offset, N).try_into().unwrap_or([0; N])
    }

    pub(super) fn u64(&self, offset: usize) -> u64 {
        u64::from_le_bytes(self.array(offset))
    }

    pub(super) fn i64(&self, offset: usize) -> i64 {
        i64::from_le_bytes(self.array(offset))
    }

    pub(super) fn u32(&self, offset: usize) -> u32 {
        u32::from_le_bytes(self.array(offset))
    }

    pub(super) fn i32(&self, offset: usize) -> i32 {
        i32::from_le_bytes(self.array(offset))
    }

    pub(super) fn u16(&self, offset: usize) -> u16 {
        u16::from_le_bytes(self.array(offset))
    }

    /// A big-endian (network order) u16, as in `sin_port`.
    pub(super) fn be16(&self, offset: usize) -> u16 {
        u16::from_be_bytes(self.array(offset))
    }

    /// A big-endian (network order) u32, as in `sin6_flowinfo`.
    pub(super) fn be32(&self, offset: usize) -> u32 {
        u32::from_be_bytes(self.array(offset))
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}
