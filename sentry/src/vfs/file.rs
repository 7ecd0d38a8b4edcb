//! Open file descriptions: the [`FileOps`] every kind of file implements, and [`File`],
//! the per-open state (status flags, offset) that file descriptors point at.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use super::dentry::Path;
use super::inode::Stat;
use crate::abi;
use crate::errno;
use crate::errno::Result;
use crate::fs::inotify;
use crate::mm::Mappable;

/// lseek's whence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeekWhence {
    /// SEEK_SET.
    Set,
    /// SEEK_CUR.
    Current,
    /// SEEK_END.
    End,
    /// SEEK_DATA.
    Data,
    /// SEEK_HOLE.
    Hole,
}

/// One directory entry for getdents.
#[derive(Clone, Debug)]
pub struct DirEntry {
    /// Inode number.
    pub ino: u64,
    /// `DT_*` type.
    pub d_type: u8,
    /// Name.
    pub name: Vec<u8>,
}

impl DirEntry {
    /// The `.` and `..` entries a directory listing starts with.
    pub fn dots(ino: u64, parent_ino: u64) -> Vec<DirEntry> {
        [(ino, &b"."[..]), (parent_ino, &b".."[..])]
            .into_iter()
            .map(|(ino, name)| DirEntry {
                ino,
                d_type: libc::DT_DIR,
                name: name.to_vec(),
            })
            .collect()
    }
}

/// Serves a positioned read from file contents held in memory: copies what `data`
/// has from `offset` on into `buf`, and returns how much.
pub fn read_from_bytes(data: &[u8], buf: &mut [u8], offset: Option<u64>) -> usize {
    let off = offset.unwrap_or(0).min(data.len() as u64) as usize;
    let n = buf.len().min(data.len() - off);
    buf[..n].copy_from_slice(&data[off..off + n]);
    n
}

/// Serializes `struct linux_dirent64` records into a guest-sized buffer.
pub struct DirentWriter {
    buf: Vec<u8>,
    cap: usize,
}

impl DirentWriter {
    /// A writer for a buffer of `cap` bytes.
    pub fn new(cap: usize) -> DirentWriter {
        DirentWriter {
            buf: Vec::new(),
            cap,
        }
    }

    /// Appends one record whose `d_off` is `next_off`; false if it does not fit.
    pub fn push(&mut self, e: &DirEntry, next_off: u64) -> bool {
        let reclen = (19 + e.name.len() + 1).next_multiple_of(8);
        if self.buf.len() + reclen > self.cap {
            return false;
        }
        self.buf.extend_from_slice(&e.ino.to_le_bytes());
        self.buf.extend_from_slice(&next_off.to_le_bytes());
        self.buf.extend_from_slice(&(reclen as u16).to_le_bytes());
        self.buf.push(e.d_type);
        self.buf.extend_from_slice(&e.name);
        self.buf
            .resize(self.buf.len() + reclen - 19 - e.name.len(), 0);
        true
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Serves getdents from a complete listing: entries from index `pos` until the buffer
/// is full. EINVAL if not even the first remaining entry fits. Returns the new index.
pub fn fill_dirents(entries: &[DirEntry], pos: u64, out: &mut DirentWriter) -> Result<u64> {
    let mut i = pos as usize;
    while let Some(e) = entries.get(i) {
        if !out.push(e, i as u64 + 1) {
            if out.is_empty() {
                return Err(errno!(EINVAL));
            }
            break;
        }
        i += 1;
    }
    Ok(i as u64)
}

/// The operations of one kind of open file. Defaults give the errno Linux gives for a
/// file that does not support the operation.
pub trait FileOps: Send + Sync + 'static {
    /// Whether read/write without an offset use and advance the description's offset
    /// (regular files, directories), as opposed to streams (pipes, ttys, host fds).
    fn uses_offset(&self) -> bool {
        false
    }

    /// Whether pread/pwrite are allowed (ESPIPE otherwise).
    fn supports_pread(&self) -> bool {
        self.uses_offset()
    }

    /// Whether splice(2), sendfile(2) and copy_file_range(2) may read from this file
    /// (Linux: its file operations have `splice_read`): by default, files that can be
    /// read at a position. Pipes are spliced through their own path, not asked.
    fn can_splice_read(&self) -> bool {
        self.supports_pread()
    }

    /// Whether splice(2) and sendfile(2) may write to this file (`splice_write`).
    fn can_splice_write(&self) -> bool {
        self.supports_pread()
    }

    /// Reads into `buf`, at `offset` for positioned files, else from the stream.
    fn read(&self, _file: &File, _buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        Err(errno!(EINVAL))
    }

    /// Writes `buf`, at `offset` for positioned files, else to the stream.
    fn write(&self, _file: &File, _buf: &[u8], _offset: Option<u64>) -> Result<usize> {
        Err(errno!(EINVAL))
    }

    /// Attributes.
    fn stat(&self) -> Result<Stat>;

    /// Computes a new offset for lseek; the default serves positioned files by size.
    fn seek(&self, _file: &File, current: u64, offset: i64, whence: SeekWhence) -> Result<u64> {
        seek_by_size(self, current, offset, whence)
    }

    /// Lists directory entries from index `pos`, appending to `out`; returns the new
    /// position. ENOTDIR for anything but directories.
    fn getdents(&self, _file: &File, _pos: u64, _out: &mut DirentWriter) -> Result<u64> {
        Err(errno!(ENOTDIR))
    }

    /// ioctl(2) commands the file understands; `arg` is the guest argument. Commands
    /// that need guest memory get a copier.
    fn ioctl(&self, _file: &File, _cmd: u32, _arg: u64, _mem: &dyn IoctlMemory) -> Result<u64> {
        Err(errno!(ENOTTY))
    }

    /// The object mmap maps (ENODEV if the file cannot be mapped).
    fn mappable(&self) -> Result<Arc<dyn Mappable>> {
        Err(errno!(ENODEV))
    }

    /// statfs(2) via fstatfs.
    fn statfs(&self) -> Result<abi::Statfs> {
        Ok(abi::Statfs::in_memory())
    }

    /// The queue notified when this file's readiness may have changed (None: readiness
    /// can only be polled, e.g. host fds).
    fn readiness_queue(&self) -> Option<&crate::kernel::wait::WaitQueue> {
        None
    }

    /// Readiness for poll: `POLL*` bits among `mask` that are ready now.
    fn readiness(&self, mask: u32) -> u32 {
        mask & (libc::POLLIN | libc::POLLOUT) as u32
    }

    /// fsync(2)/fdatasync(2): flushes what the file's backing keeps elsewhere (the
    /// sentry's own files live in its memory: nothing to do).
    fn fsync(&self, _datasync: bool) -> Result<()> {
        Ok(())
    }

    /// Called before a shared mapping of this file, opened for writing, is made (its
    /// pages may then be written through the mapping): a file that must write such
    /// pages back somewhere gets ready to, or refuses.
    fn map_shared_writable(&self) -> Result<()> {
        Ok(())
    }

    /// The name /proc/[pid]/fd shows as `anon_inode:[name]` for a file without a path.
    fn anon_name(&self) -> &'static str {
        "unknown"
    }

    /// The pipe end, if this is one (for F_GETPIPE_SZ/F_SETPIPE_SZ).
    fn as_pipe(&self) -> Option<&crate::fs::pipe::PipeEnd> {
        None
    }

    /// The POSIX message queue, if this is an mq descriptor (mq_timedsend...).
    fn as_mqueue(&self) -> Option<&crate::kernel::ipc::mqueue::MqFile> {
        None
    }

    /// The timerfd, if this is one (timerfd_settime/gettime).
    fn as_timerfd(&self) -> Option<&crate::fs::timerfd::TimerFd> {
        None
    }

    /// The signalfd, if this is one (signalfd4 on an existing fd).
    fn as_signalfd(&self) -> Option<&crate::fs::signalfd::SignalFd> {
        None
    }

    /// The pidfd, if this is one (pidfd_send_signal, waitid P_PIDFD).
    fn as_pidfd(&self) -> Option<&crate::fs::pidfd::PidFd> {
        None
    }

    /// The tmpfs file, if this is one (memfd seals).
    fn as_tmpfs(&self) -> Option<&Arc<crate::fs::tmpfs::TmpInode>> {
        None
    }

    /// The pty master, if this is one (TIOCGPTPEER).
    fn as_pty_master(&self) -> Option<&crate::fs::tty::pty::MasterFile> {
        None
    }

    /// The epoll instance, if this is one (epoll_ctl, epoll_wait).
    fn as_epoll(&self) -> Option<&crate::fs::epoll::Epoll> {
        None
    }

    /// The socket, if this is one (bind, connect, sendmsg and the other socket calls;
    /// ENOTSOCK otherwise).
    fn as_socket(&self) -> Option<&dyn crate::net::Socket> {
        None
    }

    /// The inotify instance, if this is one (inotify_add_watch, inotify_rm_watch).
    fn as_inotify(&self) -> Option<&crate::fs::inotify::Inotify> {
        None
    }

    /// Whether epoll may watch this file (EPERM otherwise: regular files and
    /// directories have no readiness to wait for).
    fn supports_epoll(&self) -> bool {
        true
    }

    /// Status flags this kind of file lets F_SETFL change (besides O_NONBLOCK/O_APPEND).
    fn on_set_flags(&self, _flags: u32) -> Result<()> {
        Ok(())
    }
}

/// lseek for a positioned file whose data is all of `ops.stat().size` bytes (no holes):
/// FileOps::seek's default.
pub fn seek_by_size<F: FileOps + ?Sized>(
    ops: &F,
    current: u64,
    offset: i64,
    whence: SeekWhence,
) -> Result<u64> {
    if !ops.uses_offset() {
        return Err(errno!(ESPIPE));
    }
    let base = match whence {
        SeekWhence::Set => 0,
        SeekWhence::Current => current as i64,
        SeekWhence::End => ops.stat()?.size as i64,
        SeekWhence::Data | SeekWhence::Hole => {
            let size = ops.stat()?.size as i64;
            if offset < 0 || offset >= size {
                return Err(errno!(ENXIO));
            }
            return Ok(if whence == SeekWhence::Data {
                offset as u64
            } else {
                size as u64
            });
        }
    };
    let new = base.checked_add(offset).ok_or_else(|| errno!(EOVERFLOW))?;
    if new < 0 {
        return Err(errno!(EINVAL));
    }
    Ok(new as u64)
}

/// An open directory of any filesystem: the inode's `readdir` is asked for the entries
/// at the first getdents and again after a rewind to 0; reads between see that
/// snapshot, as a directory stream may.
pub struct DirFile {
    inode: Arc<dyn super::Inode>,
    listing: Mutex<Option<Vec<DirEntry>>>,
}

impl DirFile {
    /// An open directory of `inode`.
    pub fn new(inode: Arc<dyn super::Inode>) -> Arc<DirFile> {
        Arc::new(DirFile {
            inode,
            listing: Mutex::new(None),
        })
    }
}

impl FileOps for DirFile {
    fn supports_epoll(&self) -> bool {
        false
    }

    fn uses_offset(&self) -> bool {
        true
    }

    fn can_splice_read(&self) -> bool {
        false
    }

    fn read(&self, _file: &File, _buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        Err(errno!(EISDIR))
    }

    fn stat(&self) -> Result<Stat> {
        self.inode.stat()
    }

    fn getdents(&self, _file: &File, pos: u64, out: &mut DirentWriter) -> Result<u64> {
        let mut listing = self.listing.lock();
        if pos == 0 || listing.is_none() {
            *listing = Some(self.inode.readdir()?);
        }
        fill_dirents(listing.as_ref().expect("listed"), pos, out)
    }

    fn statfs(&self) -> Result<abi::Statfs> {
        self.inode.statfs()
    }
}

/// Guest memory for ioctl arguments.
pub trait IoctlMemory {
    /// Copies from guest memory.
    fn copy_in(&self, addr: u64, buf: &mut [u8]) -> Result<()>;
    /// Copies to guest memory.
    fn copy_out(&self, addr: u64, buf: &[u8]) -> Result<()>;
}

/// Status flags F_SETFL may change.
const SETFL_MASK: u32 =
    (libc::O_APPEND | libc::O_NONBLOCK | libc::O_ASYNC | libc::O_DIRECT | libc::O_NOATIME) as u32;

/// An open file description.
pub struct File {
    ops: Arc<dyn FileOps>,
    path: Option<Path>,
    flags: AtomicU32,
    offset: Mutex<u64>,
    /// epoll interest entries watching this description, told when it goes away.
    watchers: Mutex<Vec<std::sync::Weak<dyn FileWatcher>>>,
    /// Identifies the description as the owner of its flock and OFD locks.
    lock_id: u64,
    /// Whether the description ever took a flock or OFD lock (its drop releases them).
    locked: AtomicBool,
}

/// An epoll interest entry's view of the file it watches.
pub trait FileWatcher: Send + Sync {
    /// The file description is being destroyed (its last fd was closed).
    fn file_released(&self, file: &File);
}

impl File {
    /// A new description over `ops` opened with `flags`, reached through `path`.
    pub fn new(ops: Arc<dyn FileOps>, flags: u32, path: Option<Path>) -> Arc<File> {
        let keep = flags
            & !((libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_TRUNC | libc::O_CLOEXEC)
                as u32);
        Arc::new(File {
            ops,
            path,
            flags: AtomicU32::new(keep),
            offset: Mutex::new(0),
            watchers: Mutex::new(Vec::new()),
            lock_id: super::lock::new_id(),
            locked: AtomicBool::new(false),
        })
    }

    /// The owner of the flock and OFD locks this description takes.
    pub fn lock_owner(&self) -> super::lock::Owner {
        super::lock::Owner::Description(self.lock_id)
    }

    pub(super) fn lock_id(&self) -> u64 {
        self.lock_id
    }

    /// Records that the description takes locks, so that its drop releases them.
    pub(super) fn note_locked(&self) {
        self.locked.store(true, Ordering::Relaxed);
    }

    /// Registers an epoll entry to be told when this description is destroyed.
    pub fn add_watcher(&self, w: std::sync::Weak<dyn FileWatcher>) {
        self.watchers.lock().push(w);
    }

    /// The file's operations.
    pub fn ops(&self) -> &Arc<dyn FileOps> {
        &self.ops
    }

    /// The path it was opened at (None for pipes, sockets, host fds).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_ref()
    }

    /// Status flags and access mode, as F_GETFL reports them.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// F_SETFL: changes the settable status flags.
    pub fn set_flags(&self, flags: u32) -> Result<()> {
        self.ops.on_set_flags(flags)?;
        let old = self.flags();
        self.flags.store(
            (old & !SETFL_MASK) | (flags & SETFL_MASK),
            Ordering::Relaxed,
        );
        Ok(())
    }

    /// Whether O_NONBLOCK is set.
    pub fn nonblocking(&self) -> bool {
        self.flags() & libc::O_NONBLOCK as u32 != 0
    }

    /// Opened with O_PATH: only a handle, no I/O.
    pub fn is_path_only(&self) -> bool {
        self.flags() & libc::O_PATH as u32 != 0
    }

    /// Opened for reading (and not O_PATH).
    pub fn is_readable(&self) -> bool {
        !self.is_path_only() && super::wants_read(self.flags())
    }

    /// Opened for writing (and not O_PATH).
    pub fn is_writable(&self) -> bool {
        !self.is_path_only() && super::wants_write(self.flags())
    }

    fn check_readable(&self) -> Result<()> {
        if !self.is_readable() {
            return Err(errno!(EBADF));
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        if !self.is_writable() {
            return Err(errno!(EBADF));
        }
        Ok(())
    }

    /// read(2).
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.check_readable()?;
        if self.ops.uses_offset() {
            let mut off = self.offset.lock();
            let n = self.ops.read(self, buf, Some(*off))?;
            *off += n as u64;
            drop(off);
            Ok(self.accessed(n))
        } else {
            self.ops.read(self, buf, None).map(|n| self.accessed(n))
        }
    }

    /// Reports a read of `n` bytes to inotify (IN_ACCESS when something was read).
    fn accessed(&self, n: usize) -> usize {
        if n > 0 {
            inotify::file_event(self, inotify::IN_ACCESS);
        }
        n
    }

    /// Reports a write of `n` bytes to inotify (IN_MODIFY when something was written).
    fn modified(&self, n: usize) -> usize {
        if n > 0 {
            inotify::file_event(self, inotify::IN_MODIFY);
        }
        n
    }

    /// pread64(2).
    pub fn pread(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.check_readable()?;
        if !self.ops.supports_pread() {
            return Err(errno!(ESPIPE));
        }
        self.ops
            .read(self, buf, Some(offset))
            .map(|n| self.accessed(n))
    }

    /// write(2).
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        self.check_writable()?;
        if self.ops.uses_offset() {
            let mut off = self.offset.lock();
            let at = if self.flags() & libc::O_APPEND as u32 != 0 {
                self.ops.stat()?.size
            } else {
                *off
            };
            let n = self.ops.write(self, buf, Some(at))?;
            *off = at + n as u64;
            drop(off);
            Ok(self.modified(n))
        } else {
            self.ops.write(self, buf, None).map(|n| self.modified(n))
        }
    }

    /// pwrite64(2).
    pub fn pwrite(&self, buf: &[u8], offset: u64) -> Result<usize> {
        self.check_writable()?;
        if !self.ops.supports_pread() {
            return Err(errno!(ESPIPE));
        }
        self.ops
            .write(self, buf, Some(offset))
            .map(|n| self.modified(n))
    }

    /// lseek(2).
    pub fn seek(&self, offset: i64, whence: SeekWhence) -> Result<u64> {
        if self.is_path_only() {
            return Err(errno!(EBADF));
        }
        let mut off = self.offset.lock();
        let new = self.ops.seek(self, *off, offset, whence)?;
        *off = new;
        Ok(new)
    }

    /// getdents64(2) into a buffer of `cap` bytes.
    pub fn getdents(&self, cap: usize) -> Result<Vec<u8>> {
        if self.is_path_only() {
            return Err(errno!(EBADF));
        }
        let mut off = self.offset.lock();
        let mut w = DirentWriter::new(cap);
        *off = self.ops.getdents(self, *off, &mut w)?;
        drop(off);
        inotify::file_event(self, inotify::IN_ACCESS);
        Ok(w.into_bytes())
    }

    /// The current offset (for /proc fdinfo).
    pub fn offset(&self) -> u64 {
        *self.offset.lock()
    }

    /// The position read(2) and write(2) would use, for calls that transfer at explicit
    /// positions and then move it (sendfile, splice, copy_file_range): the description's
    /// offset, the host's for a positioned host fd, 0 for streams.
    pub fn position(&self) -> u64 {
        if self.ops.uses_offset() {
            self.offset()
        } else if self.ops.supports_pread() && !self.is_path_only() {
            let off = self.offset.lock();
            self.ops
                .seek(self, *off, 0, SeekWhence::Current)
                .unwrap_or(0)
        } else {
            0
        }
    }

    /// Moves the position to `pos` after such a transfer (nothing for streams).
    pub fn set_position(&self, pos: u64) {
        if self.ops.uses_offset() {
            *self.offset.lock() = pos;
        } else if self.ops.supports_pread() && !self.is_path_only() {
            let mut off = self.offset.lock();
            if let Ok(new) = self.ops.seek(self, *off, pos as i64, SeekWhence::Set) {
                *off = new;
            }
        }
    }

    /// Attributes: those of the inode it was opened at (a FIFO's or a device node's,
    /// not the pipe's or the device's), else the file's own.
    pub fn stat(&self) -> Result<Stat> {
        match &self.path {
            Some(p) => p.inode().stat(),
            None => self.ops.stat(),
        }
    }

    /// statfs of the filesystem the file was opened in.
    pub fn statfs(&self) -> Result<abi::Statfs> {
        match &self.path {
            Some(p) => p.statfs(),
            None => self.ops.statfs(),
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if inotify::active() {
            let mask = if self.is_writable() {
                inotify::IN_CLOSE_WRITE
            } else {
                inotify::IN_CLOSE_NOWRITE
            };
            inotify::file_event(self, mask);
        }
        if *self.locked.get_mut() {
            super::lock::release_description(self);
        }
        let watchers = std::mem::take(&mut *self.watchers.lock());
        for w in watchers.iter().filter_map(std::sync::Weak::upgrade) {
            w.file_released(self);
        }
    }
}
