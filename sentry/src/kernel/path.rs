//! Path lookups and opens on behalf of a task: `*at()` semantics (AT_FDCWD, dirfds,
//! AT_EMPTY_PATH) and open(2)'s flag rules, on top of the VFS resolver.

use std::sync::Arc;

use super::Task;
use crate::errno;
use crate::errno::Result;
use crate::fs::inotify;
use crate::vfs::{wants_write, File, FileType, LastComponent, ParentAndName, Path, Resolver};

impl Task {
    /// The directory a relative path starts from: the cwd for AT_FDCWD, else `dirfd`'s
    /// path (EBADF, ENOTDIR).
    pub fn start_dir(&self, dirfd: i32) -> Result<Path> {
        if dirfd == libc::AT_FDCWD {
            return Ok(self.fs.cwd());
        }
        let file = self.files.get(dirfd)?;
        let path = file.path().cloned().ok_or_else(|| errno!(ENOTDIR))?;
        if path.file_type() != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        Ok(path)
    }

    /// Where a walk of the non-empty `path` starts: the root for an absolute path,
    /// else `dirfd` (ENOENT for an empty path).
    fn walk_start(&self, dirfd: i32, path: &[u8]) -> Result<Path> {
        match path.first() {
            None => Err(errno!(ENOENT)),
            Some(b'/') => Ok(self.fs.root()),
            Some(_) => self.start_dir(dirfd),
        }
    }

    /// Resolves `path` relative to `dirfd`.
    pub fn lookup(&self, dirfd: i32, path: &[u8], follow: bool) -> Result<Path> {
        let start = self.walk_start(dirfd, path)?;
        let (mounts, root) = self.fs.mounts_and_root();
        Resolver {
            mounts: &mounts,
            root: &root,
            creds: Some(&self.creds),
        }
        .resolve(&start, path, follow)
    }

    /// Resolves `path` relative to `dirfd`, or `dirfd` itself when `path` is empty and
    /// `empty_ok` (AT_EMPTY_PATH).
    pub fn lookup_at(&self, dirfd: i32, path: &[u8], follow: bool, empty_ok: bool) -> Result<Path> {
        if path.is_empty() && empty_ok {
            if dirfd == libc::AT_FDCWD {
                return Ok(self.fs.cwd());
            }
            return self
                .files
                .get(dirfd)?
                .path()
                .cloned()
                .ok_or_else(|| errno!(EBADF));
        }
        self.lookup(dirfd, path, follow)
    }

    /// Resolves all but the last component of `path` relative to `dirfd`, for calls
    /// that create or remove that last component.
    pub fn lookup_parent(&self, dirfd: i32, path: &[u8]) -> Result<ParentAndName> {
        let start = self.walk_start(dirfd, path)?;
        let (mounts, root) = self.fs.mounts_and_root();
        Resolver {
            mounts: &mounts,
            root: &root,
            creds: Some(&self.creds),
        }
        .resolve_parent(&start, path)
    }

    /// The absolute path of `path` from this task's root, and whether it is reachable.
    pub fn absolute_path(&self, path: &Path) -> (Vec<u8>, bool) {
        let (mounts, root) = self.fs.mounts_and_root();
        Resolver {
            mounts: &mounts,
            root: &root,
            creds: None,
        }
        .absolute(path)
    }

    /// Where open(O_CREAT) creates `path`: its parent and last name, after following
    /// a trailing symlink chain (O_CREAT through a dangling symlink creates its
    /// target) unless `follow` is false.
    fn creation_target(&self, dirfd: i32, path: &[u8], follow: bool) -> Result<ParentAndName> {
        let mut target = self.lookup_parent(dirfd, path)?;
        let (mounts, root) = self.fs.mounts_and_root();
        let resolver = Resolver {
            mounts: &mounts,
            root: &root,
            creds: Some(&self.creds),
        };
        let mut hops = 0;
        while follow && target.last == LastComponent::Normal {
            let Ok(d) = target.parent.dentry.child(&target.name) else {
                break;
            };
            if d.file_type() != FileType::Symlink {
                break;
            }
            hops += 1;
            if hops > crate::vfs::MAX_SYMLINKS {
                return Err(errno!(ELOOP));
            }
            let link = d.inode().readlink()?;
            target = resolver.resolve_parent(&target.parent, &link)?;
        }
        Ok(target)
    }

    /// openat(2): resolves and opens `path`, applying the flag rules; O_CREAT and
    /// O_TMPFILE create the file with permission bits `mode` (less the umask).
    pub fn open_at(&self, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> Result<Arc<File>> {
        let o = |f: i32| flags & f as u32 != 0;
        if (flags & libc::O_TMPFILE as u32) == libc::O_TMPFILE as u32 {
            return self.open_unnamed(dirfd, path, flags, mode);
        }
        // O_CREAT|O_EXCL never follows a symlink in the last component.
        let exclusive_create = o(libc::O_CREAT) && o(libc::O_EXCL);
        let follow = !o(libc::O_NOFOLLOW) && !exclusive_create;
        let found = self.lookup(dirfd, path, follow);
        let mut created = false;
        let p = match found {
            Ok(p) => {
                if o(libc::O_CREAT) && o(libc::O_EXCL) {
                    return Err(errno!(EEXIST));
                }
                p
            }
            Err(e) if e.code() == libc::ENOENT && o(libc::O_CREAT) => {
                let target = self.creation_target(dirfd, path, follow)?;
                if target.trailing_slash {
                    return Err(errno!(EISDIR));
                }
                created = true;
                self.create_node(&target, crate::vfs::NodeKind::Regular, mode)?
            }
            Err(e) => return Err(e),
        };
        let ft = p.file_type();
        if o(libc::O_PATH) {
            if o(libc::O_DIRECTORY) && ft != FileType::Directory {
                return Err(errno!(ENOTDIR));
            }
            let keep = flags
                & (libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC) as u32;
            return Ok(File::new(
                Arc::new(PathOnly { path: p.clone() }),
                keep,
                Some(p),
            ));
        }
        if ft == FileType::Symlink {
            return Err(errno!(ELOOP));
        }
        if o(libc::O_DIRECTORY) && ft != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        if matches!(ft, FileType::CharDevice | FileType::BlockDevice) && p.mount.flags().no_dev {
            return Err(errno!(EACCES));
        }
        let write = wants_write(flags) || o(libc::O_TRUNC);
        if ft == FileType::Directory && (wants_write(flags) || o(libc::O_CREAT)) {
            return Err(errno!(EISDIR));
        }
        if (flags & libc::O_ACCMODE as u32) == libc::O_ACCMODE as u32 {
            return Err(errno!(EINVAL));
        }
        let st = p.inode().stat()?;
        let want =
            (if crate::vfs::wants_read(flags) { 4 } else { 0 }) | (if write { 2 } else { 0 });
        // The file this open created is opened whatever its mode says.
        if !created
            && !self.creds.may_access(
                false,
                st.mode,
                st.uid,
                st.gid,
                want,
                ft == FileType::Directory,
            )
        {
            return Err(errno!(EACCES));
        }
        if write
            && p.mount.flags().read_only
            && matches!(ft, FileType::Regular | FileType::Directory)
        {
            return Err(errno!(EROFS));
        }
        let ops = p.inode().clone().open(flags)?;
        let file = File::new(ops, flags, Some(p));
        inotify::file_event(&file, inotify::IN_OPEN);
        if o(libc::O_TRUNC) && !created && ft == FileType::Regular {
            inotify::file_event(&file, inotify::IN_MODIFY);
        }
        Ok(file)
    }

    /// open(O_TMPFILE): an unnamed regular file in directory `path`.
    fn open_unnamed(&self, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> Result<Arc<File>> {
        if !wants_write(flags) {
            return Err(errno!(EINVAL));
        }
        let dir = self.lookup(dirfd, path, true)?;
        if dir.file_type() != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        let inode = self.create_unnamed(&dir, mode)?;
        let linkable = flags & libc::O_EXCL as u32 == 0;
        let dentry = crate::vfs::Dentry::new_unnamed(&dir.dentry, inode.clone(), linkable);
        let p = Path {
            mount: dir.mount.clone(),
            dentry,
        };
        let ops = inode.open(flags & !(libc::O_TMPFILE as u32 & !libc::O_DIRECTORY as u32))?;
        let file = File::new(ops, flags & !(libc::O_DIRECTORY as u32), Some(p));
        inotify::file_event(&file, inotify::IN_OPEN);
        Ok(file)
    }
}

/// An O_PATH description: names a file, allows no I/O.
struct PathOnly {
    path: Path,
}

impl crate::vfs::FileOps for PathOnly {
    fn stat(&self) -> Result<crate::vfs::Stat> {
        self.path.inode().stat()
    }

    fn statfs(&self) -> Result<crate::abi::Statfs> {
        self.path.inode().statfs()
    }
}
