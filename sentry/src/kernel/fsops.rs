//! Filesystem changes on behalf of a task: creating, linking, removing and renaming
//! names, and changing attributes — with Linux's VFS rules (permissions, sticky and
//! setgid directories, read-only mounts, mountpoints, `.` and `..`) applied before the
//! filesystem is asked, and the dentry cache kept in step after.

use std::sync::Arc;

use super::caps::{CAP_CHOWN, CAP_FOWNER, CAP_FSETID, CAP_MKNOD, CAP_SETFCAP, CAP_SYS_ADMIN};
use super::creds::Credentials;
use super::Task;
use crate::errno;
use crate::errno::Result;
use crate::fs::inotify;
use crate::vfs::{
    FileType, LastComponent, NewOwner, NodeKind, ParentAndName, Path, RenameFlags, SetAttr, Stat,
    TimeSet, XattrSet,
};

const MAY_WRITE: u32 = 2;
const MAY_EXEC: u32 = 1;

impl Credentials {
    /// Whether `gid` is the filesystem group or a supplementary group.
    pub fn in_group(&self, gid: u32) -> bool {
        self.fsgid == gid || self.groups.contains(&gid)
    }

    fn may(&self, st: &Stat, want: u32) -> bool {
        self.may_access(
            false,
            st.mode,
            st.uid,
            st.gid,
            want,
            st.file_type() == FileType::Directory,
        )
    }

    /// Owner of the file or holding CAP_FOWNER (Linux's inode_owner_or_capable).
    fn owns(&self, st: &Stat) -> bool {
        self.fsuid == st.uid || self.capable(CAP_FOWNER)
    }
}

impl Task {
    /// EROFS unless `p`'s mount is writable.
    fn writable_mount(p: &Path) -> Result<()> {
        if p.mount.flags().read_only {
            return Err(errno!(EROFS));
        }
        Ok(())
    }

    /// May the task add or remove names in directory `dir` (Linux's may_create and
    /// the directory half of may_delete)?
    fn may_change_dir(&self, dir: &Path) -> Result<Stat> {
        if dir.dentry.is_deleted() {
            return Err(errno!(ENOENT));
        }
        let st = dir.inode().stat()?;
        if !self.creds.may(&st, MAY_WRITE | MAY_EXEC) {
            return Err(errno!(EACCES));
        }
        Self::writable_mount(dir)?;
        Ok(st)
    }

    /// The sticky-directory rule: in a sticky directory only the file's owner, the
    /// directory's owner or a privileged task may remove or rename a file.
    fn sticky_allows(&self, dir: &Stat, victim: &Stat) -> bool {
        dir.mode & libc::S_ISVTX == 0
            || self.creds.fsuid == victim.uid
            || self.creds.fsuid == dir.uid
            || self.creds.capable(CAP_FOWNER)
    }

    /// Whether something is mounted on `p` (it cannot be removed or renamed: EBUSY).
    fn is_mountpoint(&self, p: &Path) -> bool {
        self.fs.mounts().mounted_at(p).is_some()
    }

    /// Owner, group and mode of a new file in directory `dir` (umask already applied
    /// to `mode`): the group and setgid bit of a setgid directory are inherited.
    fn new_owner(&self, dir: &Stat, mode: u32, is_dir: bool) -> NewOwner {
        let mut mode = mode & 0o7777;
        let gid = if dir.mode & libc::S_ISGID != 0 {
            if is_dir {
                mode |= libc::S_ISGID;
            }
            dir.gid
        } else {
            self.creds.fsgid
        };
        // A setgid executable in a group the creator is not in loses setgid.
        if !is_dir
            && mode & (libc::S_ISGID | libc::S_IXGRP) == (libc::S_ISGID | libc::S_IXGRP)
            && !self.creds.in_group(gid)
            && !self.creds.capable(CAP_FSETID)
        {
            mode &= !libc::S_ISGID;
        }
        NewOwner {
            mode,
            uid: self.creds.fsuid,
            gid,
        }
    }

    /// Creates `kind` as the last component of `target` (already resolved to its
    /// parent) with permission bits `mode` (before umask; symlinks ignore it).
    pub fn create_node(&self, target: &ParentAndName, kind: NodeKind, mode: u32) -> Result<Path> {
        if target.last != LastComponent::Normal {
            return Err(errno!(EEXIST));
        }
        let is_dir = kind == NodeKind::Directory;
        if target.trailing_slash && !is_dir {
            // "name/" may only be created as a directory.
            return Err(if kind == NodeKind::Regular {
                errno!(EISDIR)
            } else {
                errno!(ENOENT)
            });
        }
        if target.parent.dentry.child(&target.name).is_ok() {
            return Err(errno!(EEXIST));
        }
        let dir = self.may_change_dir(&target.parent)?;
        let mode = match kind {
            NodeKind::Symlink(_) => 0o777,
            _ => mode & !self.fs.umask() & 0o7777,
        };
        let owner = self.new_owner(&dir, mode, is_dir);
        let ft = kind.file_type();
        let inode = target.parent.inode().create(&target.name, kind, owner)?;
        let dentry = target.parent.dentry.add_child(&target.name, inode);
        inotify::entry_event(&target.parent, &target.name, ft, inotify::IN_CREATE, 0);
        Ok(Path {
            mount: target.parent.mount.clone(),
            dentry,
        })
    }

    /// mknodat/mkdirat/symlinkat: creates `path` relative to `dirfd`.
    pub fn mknod_at(&self, dirfd: i32, path: &[u8], kind: NodeKind, mode: u32) -> Result<()> {
        if matches!(kind, NodeKind::CharDevice(_) | NodeKind::BlockDevice(_))
            && !self.creds.capable(CAP_MKNOD)
        {
            return Err(errno!(EPERM));
        }
        let target = self.lookup_parent(dirfd, path)?;
        self.create_node(&target, kind, mode).map(|_| ())
    }

    /// A new unnamed regular file in directory `dir` (O_TMPFILE).
    pub fn create_unnamed(&self, dir: &Path, mode: u32) -> Result<Arc<dyn crate::vfs::Inode>> {
        let st = self.may_change_dir(dir)?;
        let owner = self.new_owner(&st, mode & !self.fs.umask(), false);
        dir.inode().create_unnamed(owner)
    }

    /// unlinkat(2): removes a name (`rmdir`: an empty directory).
    pub fn unlink_at(&self, dirfd: i32, path: &[u8], rmdir: bool) -> Result<()> {
        let target = self.lookup_parent(dirfd, path)?;
        match target.last {
            LastComponent::Normal => {}
            LastComponent::Dot if rmdir => return Err(errno!(EINVAL)),
            LastComponent::DotDot if rmdir => return Err(errno!(ENOTEMPTY)),
            LastComponent::Root if rmdir => return Err(errno!(EBUSY)),
            _ => return Err(errno!(EISDIR)),
        }
        let victim = Path {
            mount: target.parent.mount.clone(),
            dentry: target.parent.dentry.child(&target.name)?,
        };
        let is_dir = victim.file_type() == FileType::Directory;
        if rmdir && !is_dir {
            return Err(errno!(ENOTDIR));
        }
        if !rmdir && target.trailing_slash {
            return Err(if is_dir {
                errno!(EISDIR)
            } else {
                errno!(ENOTDIR)
            });
        }
        let dir = self.may_change_dir(&target.parent)?;
        let vst = victim.inode().stat()?;
        if !self.sticky_allows(&dir, &vst) {
            return Err(errno!(EPERM));
        }
        if self.is_mountpoint(&victim) {
            return Err(errno!(EBUSY));
        }
        let parent = target.parent.inode();
        if rmdir {
            parent.rmdir(&target.name)?;
        } else {
            parent.unlink(&target.name)?;
            inotify::self_event(victim.inode(), inotify::IN_ATTRIB);
        }
        target.parent.dentry.forget_child(&target.name);
        let ft = victim.file_type();
        // If this was the file's last use, IN_DELETE_SELF comes first, as in Linux.
        drop(victim);
        inotify::entry_event(&target.parent, &target.name, ft, inotify::IN_DELETE, 0);
        Ok(())
    }

    /// linkat(2): `new` becomes another name of `old`'s file.
    pub fn link_to(&self, old: &Path, newdirfd: i32, new: &[u8]) -> Result<()> {
        let target = self.lookup_parent(newdirfd, new)?;
        if target.last != LastComponent::Normal {
            return Err(errno!(EEXIST));
        }
        if old.file_type() == FileType::Directory {
            return Err(errno!(EPERM));
        }
        if target.trailing_slash {
            return Err(errno!(ENOENT));
        }
        if target.parent.dentry.child(&target.name).is_ok() {
            return Err(errno!(EEXIST));
        }
        self.may_change_dir(&target.parent)?;
        if !Arc::ptr_eq(&old.mount, &target.parent.mount)
            || old.inode().fs_id() != target.parent.inode().fs_id()
        {
            return Err(errno!(EXDEV));
        }
        // fs.protected_hardlinks: only the owner, or one who may read and write the
        // file, may link to it.
        let st = old.inode().stat()?;
        let safe_to_link = st.file_type() == FileType::Regular
            && st.mode & libc::S_ISUID == 0
            && self.creds.may(&st, 4 | MAY_WRITE);
        if !self.creds.owns(&st) && !safe_to_link {
            return Err(errno!(EPERM));
        }
        // A removed file cannot get a name back; an O_TMPFILE file (without O_EXCL)
        // can.
        if st.nlink == 0 && !old.dentry.is_linkable() {
            return Err(errno!(ENOENT));
        }
        target.parent.inode().link(&target.name, old.inode())?;
        target
            .parent
            .dentry
            .add_child(&target.name, old.inode().clone());
        inotify::self_event(old.inode(), inotify::IN_ATTRIB);
        inotify::entry_event(
            &target.parent,
            &target.name,
            old.file_type(),
            inotify::IN_CREATE,
            0,
        );
        Ok(())
    }

    /// renameat2(2).
    pub fn rename_at(
        &self,
        olddirfd: i32,
        old: &[u8],
        newdirfd: i32,
        new: &[u8],
        flags: RenameFlags,
    ) -> Result<()> {
        let from = self.lookup_parent(olddirfd, old)?;
        let to = self.lookup_parent(newdirfd, new)?;
        if from.last != LastComponent::Normal || to.last != LastComponent::Normal {
            return Err(errno!(EBUSY));
        }
        let src = Path {
            mount: from.parent.mount.clone(),
            dentry: from.parent.dentry.child(&from.name)?,
        };
        let src_dir = src.file_type() == FileType::Directory;
        if (from.trailing_slash || to.trailing_slash) && !src_dir {
            return Err(errno!(ENOTDIR));
        }
        let dst = to.parent.dentry.child(&to.name).ok().map(|dentry| Path {
            mount: to.parent.mount.clone(),
            dentry,
        });
        if !Arc::ptr_eq(&from.parent.mount, &to.parent.mount) {
            return Err(errno!(EXDEV));
        }
        if flags.exchange && dst.is_none() {
            return Err(errno!(ENOENT));
        }
        if flags.noreplace && dst.is_some() {
            return Err(errno!(EEXIST));
        }
        if let Some(d) = &dst {
            if Arc::ptr_eq(d.inode(), src.inode()) || Arc::ptr_eq(&d.dentry, &src.dentry) {
                return Ok(());
            }
        }
        // A directory cannot move into itself or below itself, nor can the destination
        // directory of an exchange.
        if src_dir && to.parent.dentry.is_within(&src.dentry) {
            return Err(errno!(EINVAL));
        }
        if let Some(d) = dst.as_ref().filter(|_| flags.exchange) {
            if d.file_type() == FileType::Directory && from.parent.dentry.is_within(&d.dentry) {
                return Err(errno!(EINVAL));
            }
        }
        let from_dir = self.may_change_dir(&from.parent)?;
        let to_dir = self.may_change_dir(&to.parent)?;
        let src_st = src.inode().stat()?;
        if !self.sticky_allows(&from_dir, &src_st) {
            return Err(errno!(EPERM));
        }
        if let Some(d) = &dst {
            let dst_st = d.inode().stat()?;
            if !self.sticky_allows(&to_dir, &dst_st) {
                return Err(errno!(EPERM));
            }
            if self.is_mountpoint(d) {
                return Err(errno!(EBUSY));
            }
            if !flags.exchange {
                match (src_dir, d.file_type() == FileType::Directory) {
                    (true, false) => return Err(errno!(ENOTDIR)),
                    (false, true) => return Err(errno!(EISDIR)),
                    _ => {}
                }
            }
        }
        if self.is_mountpoint(&src) {
            return Err(errno!(EBUSY));
        }
        // Moving a directory to a new parent rewrites its "..": it must be writable.
        let moves_dir = !from.parent.same(&to.parent);
        if src_dir && moves_dir && !self.creds.may(&src_st, MAY_WRITE) {
            return Err(errno!(EACCES));
        }
        if !Arc::ptr_eq(from.parent.inode(), to.parent.inode())
            && from.parent.inode().fs_id() != to.parent.inode().fs_id()
        {
            return Err(errno!(EXDEV));
        }
        from.parent
            .inode()
            .rename(&from.name, to.parent.inode(), &to.name, flags)?;
        crate::vfs::Dentry::move_child(
            &from.parent.dentry,
            &from.name,
            &to.parent.dentry,
            &to.name,
            flags.exchange,
        );
        if inotify::active() {
            let moved = |from_dir: &Path, old: &[u8], to_dir: &Path, new: &[u8], p: &Path| {
                let cookie = inotify::new_cookie();
                let ft = p.file_type();
                inotify::entry_event(from_dir, old, ft, inotify::IN_MOVED_FROM, cookie);
                inotify::entry_event(to_dir, new, ft, inotify::IN_MOVED_TO, cookie);
            };
            moved(&from.parent, &from.name, &to.parent, &to.name, &src);
            match &dst {
                Some(d) if flags.exchange => {
                    inotify::self_event(src.inode(), inotify::IN_MOVE_SELF);
                    moved(&to.parent, &to.name, &from.parent, &from.name, d);
                    inotify::self_event(d.inode(), inotify::IN_MOVE_SELF);
                }
                Some(d) => {
                    inotify::self_event(d.inode(), inotify::IN_ATTRIB);
                    inotify::self_event(src.inode(), inotify::IN_MOVE_SELF);
                }
                None => inotify::self_event(src.inode(), inotify::IN_MOVE_SELF),
            }
        }
        // A replaced file's last use may end here (IN_DELETE_SELF after the move's
        // events, as in Linux).
        drop(dst);
        Ok(())
    }

    /// chmod(2) of the file at `p`.
    pub fn chmod(&self, p: &Path, mode: u32) -> Result<()> {
        let st = p.inode().stat()?;
        if !self.creds.owns(&st) {
            return Err(errno!(EPERM));
        }
        Self::writable_mount(p)?;
        let mut mode = mode & 0o7777;
        // Only a member of the file's group (or a privileged task) may set setgid.
        if mode & libc::S_ISGID != 0
            && !self.creds.in_group(st.gid)
            && !self.creds.capable(CAP_FSETID)
        {
            mode &= !libc::S_ISGID;
        }
        p.inode().setattr(&SetAttr {
            mode: Some(mode),
            ..Default::default()
        })?;
        inotify::dentry_event(&p.dentry, inotify::IN_ATTRIB);
        Ok(())
    }

    /// chown(2) of the file at `p` (None: leave that id).
    pub fn chown(&self, p: &Path, uid: Option<u32>, gid: Option<u32>) -> Result<()> {
        let st = p.inode().stat()?;
        let uid = uid.filter(|&u| u != u32::MAX);
        let gid = gid.filter(|&g| g != u32::MAX);
        let capable = self.creds.capable(CAP_CHOWN);
        let owner = self.creds.fsuid == st.uid;
        let uid_ok = uid.is_none_or(|u| (owner && u == st.uid) || capable);
        let gid_ok =
            gid.is_none_or(|g| capable || (owner && (g == st.gid || self.creds.in_group(g))));
        if !uid_ok || !gid_ok {
            return Err(errno!(EPERM));
        }
        Self::writable_mount(p)?;
        let mut attr = SetAttr {
            uid,
            gid,
            ..Default::default()
        };
        // A change of owner drops setuid, and setgid of group-executable files.
        if st.file_type() != FileType::Directory && (uid.is_some() || gid.is_some()) {
            let mut mode = st.mode & 0o7777;
            mode &= !libc::S_ISUID;
            if mode & libc::S_IXGRP != 0 {
                mode &= !libc::S_ISGID;
            }
            if mode != st.mode & 0o7777 {
                attr.mode = Some(mode);
            }
        }
        p.inode().setattr(&attr)?;
        inotify::dentry_event(&p.dentry, inotify::IN_ATTRIB);
        Ok(())
    }

    /// utimensat(2) of the file at `p`: `None` leaves a time alone (UTIME_OMIT).
    pub fn set_times(
        &self,
        p: &Path,
        atime: Option<TimeSet>,
        mtime: Option<TimeSet>,
    ) -> Result<()> {
        if atime.is_none() && mtime.is_none() {
            return Ok(());
        }
        let st = p.inode().stat()?;
        let only_now =
            atime.is_none_or(|t| t == TimeSet::Now) && mtime.is_none_or(|t| t == TimeSet::Now);
        if !self.creds.owns(&st) {
            if !only_now {
                return Err(errno!(EPERM));
            }
            if !self.creds.may(&st, MAY_WRITE) {
                return Err(errno!(EACCES));
            }
        }
        Self::writable_mount(p)?;
        p.inode().setattr(&SetAttr {
            atime,
            mtime,
            ..Default::default()
        })?;
        // Linux's fsnotify_change: both times is a utime call (IN_ATTRIB); one alone
        // reads as an access or a modification.
        let mask = match (atime.is_some(), mtime.is_some()) {
            (true, true) => inotify::IN_ATTRIB,
            (true, false) => inotify::IN_ACCESS,
            _ => inotify::IN_MODIFY,
        };
        inotify::dentry_event(&p.dentry, mask);
        Ok(())
    }

    /// truncate(2) of the file at `p` (permission to write it is checked here;
    /// ftruncate checks the description instead).
    pub fn truncate_path(&self, p: &Path, size: u64, check_access: bool) -> Result<()> {
        match p.file_type() {
            FileType::Directory => return Err(errno!(EISDIR)),
            FileType::Regular => {}
            _ => return Err(errno!(EINVAL)),
        }
        if check_access {
            let st = p.inode().stat()?;
            if !self.creds.may(&st, MAY_WRITE) {
                return Err(errno!(EACCES));
            }
        }
        Self::writable_mount(p)?;
        p.inode().setattr(&SetAttr {
            size: Some(size),
            ..Default::default()
        })?;
        inotify::dentry_event(&p.dentry, inotify::IN_MODIFY);
        Ok(())
    }

    /// Checks an extended attribute name's namespace and the task's right to read
    /// (`write` false) or change it on the file at `p`.
    pub fn check_xattr(&self, p: &Path, name: &[u8], write: bool) -> Result<()> {
        let st = p.inode().stat()?;
        if name.starts_with(b"user.") {
            // user.* only on regular files and directories (sticky directories: the
            // owner only).
            match st.file_type() {
                FileType::Regular | FileType::Directory => {}
                _ if write => return Err(errno!(EPERM)),
                _ => return Err(errno!(ENODATA)),
            }
            if write
                && st.file_type() == FileType::Directory
                && st.mode & libc::S_ISVTX != 0
                && !self.creds.owns(&st)
            {
                return Err(errno!(EPERM));
            }
            let want = if write { MAY_WRITE } else { 4 };
            if !self.creds.may(&st, want) {
                return Err(errno!(EACCES));
            }
        } else if name.starts_with(b"trusted.") {
            if !self.creds.capable(CAP_SYS_ADMIN) {
                return Err(if write {
                    errno!(EPERM)
                } else {
                    errno!(ENODATA)
                });
            }
        } else if name.starts_with(b"security.") {
            // File capabilities need CAP_SETFCAP, other security attributes
            // CAP_SYS_ADMIN.
            let cap = if name == super::caps::XATTR_NAME {
                CAP_SETFCAP
            } else {
                CAP_SYS_ADMIN
            };
            if write && !self.creds.capable(cap) {
                return Err(errno!(EPERM));
            }
        } else {
            return Err(errno!(EOPNOTSUPP));
        }
        if write {
            Self::writable_mount(p)?;
        }
        Ok(())
    }

    /// setxattr(2) on the file at `p`.
    pub fn set_xattr(&self, p: &Path, name: &[u8], value: &[u8], how: XattrSet) -> Result<()> {
        self.check_xattr(p, name, true)?;
        p.inode().setxattr(name, value, how)?;
        inotify::dentry_event(&p.dentry, inotify::IN_ATTRIB);
        Ok(())
    }
}
