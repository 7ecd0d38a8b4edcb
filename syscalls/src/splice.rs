//! Moving data between files without a trip through guest memory: sendfile(2),
//! splice(2), tee(2), copy_file_range(2) and vmsplice(2).
//!
//! Linux moves page references between the page cache and pipe buffers; the sentry
//! copies, through a bounded buffer, with the files' own [`FileOps`] reads and writes
//! and the pipe operations of [`PipeEnd`], so every kind of file takes the same path.
//! The checks, and the order they are made in, follow Linux's fs/splice.c and
//! fs/read_write.c, so that a guest gets the errno Linux gives.
//!
//! [`FileOps`]: sentry::vfs::FileOps

use std::sync::Arc;

use sentry::abi::Iovec;
use sentry::errno::Result;
use sentry::fs::pipe::{self, PipeEnd};
use sentry::kernel::Task;
use sentry::vfs::File;
use sentry::{bail, errno};
use zerocopy::IntoBytes;

use crate::fs::{sigpipe_on_epipe, MAX_RW_COUNT};

const SPLICE_F_NONBLOCK: u32 = 2;
/// MOVE | NONBLOCK | MORE | GIFT. MOVE, MORE and GIFT are hints a copy has no use for.
const SPLICE_F_ALL: u32 = 0xf;
/// File-to-file copies go through a buffer of this size (Linux: its internal pipe).
const CHUNK: usize = 64 * 1024;
/// Most iovecs in one vmsplice (UIO_MAXIOV).
const UIO_MAXIOV: u32 = 1024;
/// The end of the user address range access_ok accepts (x86-64, 4-level paging).
const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;
const PAGE_SIZE: u64 = 4096;

/// The file behind `fd`. O_PATH descriptors cannot be used for I/O (EBADF): Linux's
/// fdget does not even return them.
fn io_file(task: &Task, fd: i32) -> Result<Arc<File>> {
    let file = task.files.get(fd)?;
    if file.is_path_only() {
        bail!(EBADF);
    }
    Ok(file)
}

fn pipe_of(file: &File) -> Option<&PipeEnd> {
    file.ops().as_pipe()
}

fn appends(file: &File) -> bool {
    file.flags() & libc::O_APPEND as u32 != 0
}

/// Whether pread/pwrite work on `file` (Linux: FMODE_PREAD/FMODE_PWRITE, and for the
/// files moat has, FMODE_LSEEK too).
fn positioned(file: &File) -> bool {
    file.ops().supports_pread()
}

/// An optional `loff_t *` argument: None for NULL, else the value (EFAULT).
fn read_offset(task: &Task, addr: u64) -> Result<Option<i64>> {
    if addr == 0 {
        return Ok(None);
    }
    task.mm.read_obj::<i64>(addr).map(Some)
}

fn write_offset(task: &Task, addr: u64, value: Option<i64>) -> Result<()> {
    match value {
        Some(v) if addr != 0 => task.mm.write_obj(addr, &v),
        _ => Ok(()),
    }
}

/// Linux's rw_verify_area: a count that does not fit ssize_t, a negative position, or
/// a range reaching past the largest offset is EINVAL.
fn verify_area(pos: i64, count: usize) -> Result<()> {
    if count > isize::MAX as usize || pos < 0 || pos as u64 + count as u64 > i64::MAX as u64 {
        bail!(EINVAL);
    }
    Ok(())
}

/// Where a transfer reads or writes one file.
#[derive(Clone, Copy)]
enum At {
    /// At this position; the caller stores where the transfer ended (in the guest's
    /// offset, or as the file's position).
    Pos(u64),
    /// The file's own stream (ttys and pipes of the host, which keep no position).
    Stream,
}

impl At {
    /// At `offset` when the guest gave one, else at the file's position when it has
    /// one, else its stream.
    fn of(file: &File, offset: Option<i64>) -> At {
        match offset {
            Some(p) => At::Pos(p as u64),
            None if positioned(file) => At::Pos(file.position()),
            None => At::Stream,
        }
    }

    /// The position rw_verify_area checks (a stream's is 0).
    fn pos(self) -> i64 {
        match self {
            At::Pos(p) => p as i64,
            At::Stream => 0,
        }
    }

    fn advance(&mut self, n: usize) {
        if let At::Pos(p) = self {
            *p += n as u64;
        }
    }

    /// Stores where the transfer ended: in `offset` if the guest gave one, else as the
    /// file's position.
    fn store(self, file: &File, offset: &mut Option<i64>) {
        match (self, offset) {
            (At::Pos(end), Some(o)) => *o = end as i64,
            (At::Pos(end), None) => file.set_position(end),
            (At::Stream, _) => {}
        }
    }
}

fn read_at(file: &File, at: At, buf: &mut [u8]) -> Result<usize> {
    match at {
        At::Pos(p) => file.pread(buf, p),
        At::Stream => file.read(buf),
    }
}

fn write_at(file: &File, at: At, buf: &[u8]) -> Result<usize> {
    match at {
        At::Pos(p) => file.pwrite(buf, p),
        At::Stream => file.write(buf),
    }
}

/// Writes all of `data`, or as much as `file` takes before a short write or an error.
/// Returns the bytes written and the error that stopped it early, if any.
fn write_all_at(file: &File, to: &mut At, data: &[u8]) -> (usize, Option<sentry::errno::Errno>) {
    let mut done = 0;
    while done < data.len() {
        match write_at(file, *to, &data[done..]) {
            Ok(0) => break,
            Ok(n) => {
                done += n;
                to.advance(n);
            }
            Err(e) => return (done, Some(e)),
        }
    }
    (done, None)
}

/// Linux's splice_file_to_pipe: waits for room in the pipe, then reads from `input`
/// at most what fits, in one read.
fn file_to_pipe(
    task: &mut Task,
    input: &File,
    from: &mut At,
    pipe: &PipeEnd,
    count: usize,
    nonblocking: bool,
) -> Result<usize> {
    let room = sigpipe_on_epipe(task, pipe.wait_for_room(nonblocking))?;
    if count == 0 {
        return Ok(0);
    }
    if !input.ops().can_splice_read() {
        bail!(EINVAL);
    }
    let mut buf = vec![0u8; count.min(room).min(MAX_RW_COUNT)];
    let n = read_at(input, *from, &mut buf)?;
    from.advance(n);
    pipe.append(&buf[..n]);
    Ok(n)
}

/// Linux's splice from a pipe to a file: waits for data as read(2) does, takes up to
/// `count` bytes and writes them; what the file does not take goes back into the pipe.
fn pipe_to_file(
    task: &mut Task,
    pipe: &PipeEnd,
    output: &File,
    to: &mut At,
    count: usize,
    nonblocking: bool,
) -> Result<usize> {
    if !output.ops().can_splice_write() {
        bail!(EINVAL);
    }
    let data = pipe.take(count, nonblocking)?;
    let (written, err) = write_all_at(output, to, &data);
    pipe.untake(&data[written..]);
    match err {
        Some(e) if written == 0 => sigpipe_on_epipe(task, Err(e)),
        _ => Ok(written),
    }
}

/// Linux's do_splice_direct: copies up to `count` bytes from `input` to `output` in
/// chunks until the input ends or the output stops taking data. Returns the bytes
/// copied, or the error if none were.
fn file_to_file(
    task: &mut Task,
    input: &File,
    from: &mut At,
    output: &File,
    to: &mut At,
    count: usize,
) -> Result<usize> {
    // The input must be seekable: data read from a stream and not written would be lost.
    if !positioned(input) || (count > 0 && !input.ops().can_splice_read()) {
        bail!(EINVAL);
    }
    let mut buf = vec![0u8; CHUNK.min(count)];
    let mut done = 0;
    while done < count {
        let want = CHUNK.min(count - done);
        let n = match read_at(input, *from, &mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        };
        // Linux finds out at the first write, after a read that was not empty.
        if !output.ops().can_splice_write() {
            bail!(EINVAL);
        }
        let (written, err) = write_all_at(output, to, &buf[..n]);
        from.advance(written);
        done += written;
        if written < n {
            return match err {
                Some(e) if done == 0 => sigpipe_on_epipe(task, Err(e)),
                _ => Ok(done),
            };
        }
    }
    Ok(done)
}

pub fn sendfile(
    task: &mut Task,
    out_fd: i32,
    in_fd: i32,
    offset: u64,
    count: usize,
) -> Result<u64> {
    let mut pos = read_offset(task, offset)?;
    let result = do_sendfile(task, out_fd, in_fd, &mut pos, count);
    // Linux stores the offset back even when the transfer failed.
    write_offset(task, offset, pos)?;
    result
}

fn do_sendfile(
    task: &mut Task,
    out_fd: i32,
    in_fd: i32,
    offset: &mut Option<i64>,
    count: usize,
) -> Result<u64> {
    let input = io_file(task, in_fd)?;
    if !input.is_readable() {
        bail!(EBADF);
    }
    if offset.is_some() && !positioned(&input) {
        bail!(ESPIPE);
    }
    let mut from = At::of(&input, *offset);
    verify_area(from.pos(), count)?;
    let count = count.min(MAX_RW_COUNT);
    let output = io_file(task, out_fd)?;
    if !output.is_writable() {
        bail!(EBADF);
    }
    // No filesystem of moat limits files below Linux's MAX_LFS_FILESIZE, so the
    // EOVERFLOW of a range past the largest file cannot happen: verify_area already
    // keeps the range below it.
    let n = match pipe_of(&output) {
        Some(pipe) => file_to_pipe(task, &input, &mut from, pipe, count, output.nonblocking())?,
        None => {
            let mut to = At::of(&output, None);
            verify_area(to.pos(), count)?;
            if appends(&output) {
                bail!(EINVAL);
            }
            let n = file_to_file(task, &input, &mut from, &output, &mut to, count)?;
            if n > 0 {
                // sendfile takes no offset for its output: the file's position moves.
                to.store(&output, &mut None);
            }
            n
        }
    };
    if n > 0 {
        from.store(&input, offset);
    }
    Ok(n as u64)
}

pub fn splice(
    task: &mut Task,
    fd_in: i32,
    off_in: u64,
    fd_out: i32,
    off_out: u64,
    len: usize,
    flags: u32,
) -> Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    if flags & !SPLICE_F_ALL != 0 {
        bail!(EINVAL);
    }
    let input = io_file(task, fd_in)?;
    let output = io_file(task, fd_out)?;
    let (in_pipe, out_pipe) = (pipe_of(&input), pipe_of(&output));
    if (in_pipe.is_some() && off_in != 0) || (out_pipe.is_some() && off_out != 0) {
        bail!(ESPIPE);
    }
    let mut pos_out = read_offset(task, off_out)?;
    let mut pos_in = read_offset(task, off_in)?;
    if !input.is_readable() || !output.is_writable() {
        bail!(EBADF);
    }
    let nonblocking = flags & SPLICE_F_NONBLOCK != 0;
    let n = match (in_pipe, out_pipe) {
        (Some(from), Some(to)) => {
            if from.same_pipe(to) {
                bail!(EINVAL);
            }
            let nonblocking = nonblocking || input.nonblocking() || output.nonblocking();
            let moved = pipe::transfer(from, to, len, nonblocking, true);
            sigpipe_on_epipe(task, moved)?
        }
        (Some(from), None) => {
            if pos_out.is_some() && !positioned(&output) {
                bail!(EINVAL);
            }
            let mut to = At::of(&output, pos_out);
            if appends(&output) {
                bail!(EINVAL);
            }
            verify_area(to.pos(), len)?;
            let nonblocking = nonblocking || input.nonblocking();
            let n = pipe_to_file(task, from, &output, &mut to, len, nonblocking)?;
            to.store(&output, &mut pos_out);
            n
        }
        (None, Some(to)) => {
            if pos_in.is_some() && !positioned(&input) {
                bail!(EINVAL);
            }
            let mut from = At::of(&input, pos_in);
            verify_area(from.pos(), len)?;
            let nonblocking = nonblocking || output.nonblocking();
            let n = file_to_pipe(task, &input, &mut from, to, len, nonblocking)?;
            from.store(&input, &mut pos_in);
            n
        }
        (None, None) => bail!(EINVAL),
    };
    write_offset(task, off_out, pos_out)?;
    write_offset(task, off_in, pos_in)?;
    Ok(n as u64)
}

pub fn tee(task: &mut Task, fd_in: i32, fd_out: i32, len: usize, flags: u32) -> Result<u64> {
    if flags & !SPLICE_F_ALL != 0 {
        bail!(EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let input = io_file(task, fd_in)?;
    let output = io_file(task, fd_out)?;
    if !input.is_readable() || !output.is_writable() {
        bail!(EBADF);
    }
    let (Some(from), Some(to)) = (pipe_of(&input), pipe_of(&output)) else {
        bail!(EINVAL);
    };
    if from.same_pipe(to) {
        bail!(EINVAL);
    }
    let nonblocking = flags & SPLICE_F_NONBLOCK != 0 || input.nonblocking() || output.nonblocking();
    let copied = pipe::transfer(from, to, len, nonblocking, false);
    Ok(sigpipe_on_epipe(task, copied)? as u64)
}

pub fn copy_file_range(
    task: &mut Task,
    fd_in: i32,
    off_in: u64,
    fd_out: i32,
    off_out: u64,
    len: usize,
    flags: u32,
) -> Result<u64> {
    let input = io_file(task, fd_in)?;
    let output = io_file(task, fd_out)?;
    let mut given_in = read_offset(task, off_in)?;
    let mut given_out = read_offset(task, off_out)?;
    let pos_in = given_in.unwrap_or_else(|| input.position() as i64);
    let pos_out = given_out.unwrap_or_else(|| output.position() as i64);
    if flags != 0 {
        bail!(EINVAL);
    }
    let count = checked_copy_range(&input, pos_in, &output, pos_out, len as u64)?;
    verify_area(pos_in, count)?;
    verify_area(pos_out, count)?;
    if count == 0 {
        return Ok(0);
    }
    let (mut from, mut to) = (At::Pos(pos_in as u64), At::Pos(pos_out as u64));
    let n = file_to_file(
        task,
        &input,
        &mut from,
        &output,
        &mut to,
        count.min(MAX_RW_COUNT),
    )?;
    if n == 0 {
        return Ok(0);
    }
    from.store(&input, &mut given_in);
    to.store(&output, &mut given_out);
    // Linux reports a failed store of either offset, after storing both.
    let stored_in = write_offset(task, off_in, given_in);
    let stored_out = write_offset(task, off_out, given_out);
    stored_in.and(stored_out)?;
    Ok(n as u64)
}

/// Linux's generic_copy_file_checks: which files copy_file_range accepts, and the count
/// shortened to the end of the input. Files of different filesystems are EXDEV: no
/// filesystem of moat has a copy_file_range of its own that could copy across.
fn checked_copy_range(
    input: &File,
    pos_in: i64,
    output: &File,
    pos_out: i64,
    len: u64,
) -> Result<usize> {
    let (st_in, st_out) = (input.stat()?, output.stat()?);
    let is = |mode: u32, kind: u32| mode & libc::S_IFMT == kind;
    if is(st_in.mode, libc::S_IFDIR) || is(st_out.mode, libc::S_IFDIR) {
        bail!(EISDIR);
    }
    if !is(st_in.mode, libc::S_IFREG) || !is(st_out.mode, libc::S_IFREG) {
        bail!(EINVAL);
    }
    if !input.is_readable() || !output.is_writable() || appends(output) {
        bail!(EBADF);
    }
    if st_in.dev != st_out.dev {
        bail!(EXDEV);
    }
    // The comparisons below are C's: offsets converted to the unsigned count's type.
    let (pin, pout) = (pos_in as u64, pos_out as u64);
    if pin.checked_add(len).is_none() || pout.checked_add(len).is_none() {
        bail!(EOVERFLOW);
    }
    let size_in = st_in.size as i64;
    let mut count = if pos_in >= size_in {
        0
    } else {
        len.min((size_in as u64).wrapping_sub(pin))
    };
    // The largest file moat's filesystems hold is Linux's MAX_LFS_FILESIZE.
    if pos_out == i64::MAX {
        bail!(EFBIG);
    }
    if pos_out >= 0 {
        count = count.min(i64::MAX as u64 - pout);
    }
    let same_file = st_in.dev == st_out.dev && st_in.ino == st_out.ino;
    if same_file && pout.wrapping_add(count) > pin && pout < pin.wrapping_add(count) {
        bail!(EINVAL);
    }
    Ok(count as usize)
}

pub fn vmsplice(task: &mut Task, fd: i32, iov: u64, nr_segs: u64, flags: u32) -> Result<u64> {
    if flags & !SPLICE_F_ALL != 0 {
        bail!(EINVAL);
    }
    let file = io_file(task, fd)?;
    let to_pipe = if file.is_writable() {
        true
    } else if file.is_readable() {
        false
    } else {
        bail!(EBADF);
    };
    // The kernel takes the segment count as an unsigned int.
    let iovs = import_iovecs(task, iov, nr_segs as u32)?;
    if iovs.iter().all(|v| v.len == 0) {
        return Ok(0);
    }
    let pipe = pipe_of(&file).ok_or_else(|| errno!(EBADF))?;
    // Only the flag makes vmsplice nonblocking, not the pipe's O_NONBLOCK.
    let nonblocking = flags & SPLICE_F_NONBLOCK != 0;
    let n = if to_pipe {
        memory_to_pipe(task, &iovs, pipe, nonblocking)?
    } else {
        pipe_to_memory(task, &iovs, pipe, nonblocking)?
    };
    Ok(n as u64)
}

/// Linux's import_iovec: at most UIO_MAXIOV segments (EINVAL), none with a negative
/// length (EINVAL) or outside user space (EFAULT); the total is cut to MAX_RW_COUNT.
fn import_iovecs(task: &Task, addr: u64, count: u32) -> Result<Vec<Iovec>> {
    if count > UIO_MAXIOV {
        bail!(EINVAL);
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut iovs = vec![Iovec::default(); count as usize];
    task.mm.copy_in(addr, iovs.as_mut_bytes())?;
    if iovs.iter().any(|v| (v.len as i64) < 0) {
        bail!(EINVAL);
    }
    let mut total = 0;
    for v in &mut iovs {
        if v.base
            .checked_add(v.len)
            .is_none_or(|end| end > TASK_SIZE_MAX)
        {
            bail!(EFAULT);
        }
        v.len = v.len.min(MAX_RW_COUNT as u64 - total);
        total += v.len;
    }
    Ok(iovs)
}

/// vmsplice to a pipe: waits for room, then copies as much of the guest's memory as
/// fits, stopping at the first page that cannot be read.
fn memory_to_pipe(
    task: &mut Task,
    iovs: &[Iovec],
    pipe: &PipeEnd,
    nonblocking: bool,
) -> Result<usize> {
    let room = sigpipe_on_epipe(task, pipe.wait_for_room(nonblocking))?;
    let mut data = Vec::new();
    'segments: for v in iovs {
        let mut at = v.base;
        let end = v.base + v.len;
        while at < end && data.len() < room {
            let page_end = (at / PAGE_SIZE + 1) * PAGE_SIZE;
            let want = (page_end.min(end) - at).min((room - data.len()) as u64) as usize;
            match task.mm.read_bytes(at, want) {
                Ok(bytes) => data.extend_from_slice(&bytes),
                Err(_) => break 'segments,
            }
            at += want as u64;
        }
        if data.len() == room {
            break;
        }
    }
    if data.is_empty() {
        bail!(EFAULT);
    }
    pipe.append(&data);
    Ok(data.len())
}

/// vmsplice from a pipe: waits for data as read(2) does, then copies it into the
/// guest's buffers in order; what does not fit a writable buffer goes back.
fn pipe_to_memory(
    task: &mut Task,
    iovs: &[Iovec],
    pipe: &PipeEnd,
    nonblocking: bool,
) -> Result<usize> {
    let total = iovs.iter().map(|v| v.len as usize).sum();
    let data = pipe.take(total, nonblocking)?;
    let mut done = 0;
    for v in iovs {
        if done == data.len() {
            break;
        }
        let want = (v.len as usize).min(data.len() - done);
        let room = task.mm.writable_prefix(v.base, want);
        if room == 0 || task.mm.copy_out(v.base, &data[done..done + room]).is_err() {
            break;
        }
        done += room;
        if room < want {
            break;
        }
    }
    pipe.untake(&data[done..]);
    if done == 0 && !data.is_empty() {
        bail!(EFAULT);
    }
    Ok(done)
}
