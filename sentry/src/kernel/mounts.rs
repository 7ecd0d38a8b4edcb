//! Changing the mount tree on behalf of a task: mount(2), umount2(2), pivot_root(2),
//! chroot(2) and unsharing the mount namespace, with Linux's checks.

use std::sync::Arc;

use super::caps::{CAP_SYS_ADMIN, CAP_SYS_CHROOT};
use super::fs_context::FsContext;
use super::Task;
use crate::errno;
use crate::errno::Result;
use crate::fs::proc::ProcFs;
use crate::fs::sys::{new_sysfs, SysConfig};
use crate::fs::tmpfs::{TmpFs, TmpfsLimits};
use crate::platform::PAGE_SIZE;
use crate::vfs::{FileType, Inode, MountFlags, NewOwner, Path};

const MS_RDONLY: u64 = 1;
const MS_NOSUID: u64 = 2;
const MS_NODEV: u64 = 4;
const MS_NOEXEC: u64 = 8;
const MS_REMOUNT: u64 = 32;
const MS_BIND: u64 = 4096;
const MS_MOVE: u64 = 8192;
const MS_REC: u64 = 16384;
const MS_UNBINDABLE: u64 = 1 << 17;
const MS_PRIVATE: u64 = 1 << 18;
const MS_SLAVE: u64 = 1 << 19;
const MS_SHARED: u64 = 1 << 20;
const MS_NOUSER: u64 = 1 << 31;
const MS_MGC_VAL: u64 = 0xc0ed_0000;
const MS_MGC_MSK: u64 = 0xffff_0000;
const PROPAGATION: u64 = MS_SHARED | MS_PRIVATE | MS_SLAVE | MS_UNBINDABLE;

/// umount2 flags.
pub const MNT_FORCE: u32 = 1;
/// Detach now, release when no longer in use.
pub const MNT_DETACH: u32 = 2;
/// Mark for expiry (EAGAIN), unmount on the second call.
pub const MNT_EXPIRE: u32 = 4;
/// Do not follow a symlink as the last component.
pub const UMOUNT_NOFOLLOW: u32 = 8;

/// What mount(2) was asked, with its strings copied in.
pub struct MountRequest {
    /// The source (device, or the path of a bind mount).
    pub source: Option<Vec<u8>>,
    /// Where to mount.
    pub target: Vec<u8>,
    /// The filesystem type.
    pub fs_type: Option<Vec<u8>>,
    /// MS_* flags.
    pub flags: u64,
    /// The filesystem's options.
    pub data: Option<Vec<u8>>,
}

fn mount_flags(flags: u64) -> MountFlags {
    MountFlags {
        read_only: flags & MS_RDONLY != 0,
        no_exec: flags & MS_NOEXEC != 0,
        no_suid: flags & MS_NOSUID != 0,
        no_dev: flags & MS_NODEV != 0,
    }
}

/// A number with an optional k/m/g/t/p/e suffix (tmpfs's memparse).
fn parse_size(v: &str) -> Option<u64> {
    let (digits, shift) = match v.as_bytes().last()? {
        b'k' | b'K' => (&v[..v.len() - 1], 10),
        b'm' | b'M' => (&v[..v.len() - 1], 20),
        b'g' | b'G' => (&v[..v.len() - 1], 30),
        b't' | b'T' => (&v[..v.len() - 1], 40),
        b'p' | b'P' => (&v[..v.len() - 1], 50),
        b'e' | b'E' => (&v[..v.len() - 1], 60),
        _ => (v, 0),
    };
    let n: u64 = if let Some(hex) = digits.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()?
    } else {
        digits.parse().ok()?
    };
    n.checked_mul(1u64 << shift)
}

/// Options every filesystem accepts in mount(2)'s data (superblock flags).
fn is_generic_option(key: &str) -> bool {
    matches!(
        key,
        "ro" | "rw"
            | "sync"
            | "async"
            | "dirsync"
            | "mand"
            | "nomand"
            | "lazytime"
            | "nolazytime"
            | "silent"
            | "source"
    )
}

/// The options of a mount(2) data string, split into (key, value).
fn options(data: &Option<Vec<u8>>) -> Result<Vec<(String, Option<String>)>> {
    let Some(data) = data else {
        return Ok(Vec::new());
    };
    let text = std::str::from_utf8(data).map_err(|_| errno!(EINVAL))?;
    Ok(text
        .split(',')
        .filter(|o| !o.is_empty())
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (o.to_string(), None),
        })
        .collect())
}

impl Task {
    /// A new tmpfs from mount(2)'s options (size, nr_blocks, nr_inodes, mode, uid, gid).
    fn new_tmpfs(&self, data: &Option<Vec<u8>>) -> Result<Arc<dyn Inode>> {
        let mut limits = TmpfsLimits::default();
        let mut owner = NewOwner {
            mode: 0o1777,
            uid: self.creds.fsuid,
            gid: self.creds.fsgid,
        };
        for (key, value) in options(data)? {
            if is_generic_option(&key) {
                continue;
            }
            let v = value.as_deref().ok_or_else(|| errno!(EINVAL));
            match key.as_str() {
                "size" => {
                    let v = v?;
                    limits.max_pages = match v.strip_suffix('%') {
                        // A share of the memory the sandbox may use (its default size
                        // is taken as the whole).
                        Some(pct) => {
                            let pct: u64 = pct.parse().map_err(|_| errno!(EINVAL))?;
                            TmpfsLimits::default().max_pages * 2 * pct / 100
                        }
                        None => parse_size(v)
                            .ok_or_else(|| errno!(EINVAL))?
                            .div_ceil(PAGE_SIZE),
                    };
                }
                "nr_blocks" => {
                    limits.max_pages = parse_size(v?).ok_or_else(|| errno!(EINVAL))?;
                }
                "nr_inodes" => {
                    limits.max_inodes = parse_size(v?).ok_or_else(|| errno!(EINVAL))?;
                }
                "mode" => {
                    owner.mode = u32::from_str_radix(v?, 8).map_err(|_| errno!(EINVAL))? & 0o7777;
                }
                "uid" => owner.uid = v?.parse().map_err(|_| errno!(EINVAL))?,
                "gid" => owner.gid = v?.parse().map_err(|_| errno!(EINVAL))?,
                "huge" | "mpol" | "inode32" | "inode64" | "noswap" => {}
                _ => return Err(errno!(EINVAL, "tmpfs: unknown option {key}")),
            }
        }
        Ok(TmpFs::new_root(
            self.kernel.memory_file.clone(),
            limits,
            owner,
        ))
    }

    /// mount(2).
    pub fn mount(&self, req: &MountRequest) -> Result<()> {
        let mut flags = req.flags;
        if flags & MS_MGC_MSK == MS_MGC_VAL {
            flags &= !MS_MGC_MSK;
        }
        let target = self.lookup(libc::AT_FDCWD, &req.target, true)?;
        if flags & MS_NOUSER != 0 {
            return Err(errno!(EINVAL));
        }
        if !self.creds.capable(CAP_SYS_ADMIN) {
            return Err(errno!(EPERM));
        }
        let ns = self.fs.mounts();
        let attached = ns.contains(&target.mount);
        if flags & MS_REMOUNT != 0 {
            // With MS_BIND only the mount's own flags change; without, the
            // filesystem's options would too (the sandbox's filesystems have none
            // that change on remount).
            if !attached || !target.is_mount_root() {
                return Err(errno!(EINVAL));
            }
            if flags & MS_BIND == 0 {
                options(&req.data)?;
            }
            target.mount.set_flags(mount_flags(flags));
            return Ok(());
        }
        if flags & MS_BIND != 0 {
            let source = req
                .source
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| errno!(EINVAL))?;
            let source = self.lookup(libc::AT_FDCWD, source, true)?;
            if !attached || !ns.contains(&source.mount) {
                return Err(errno!(EINVAL));
            }
            if (source.file_type() == FileType::Directory)
                != (target.file_type() == FileType::Directory)
            {
                return Err(errno!(ENOTDIR));
            }
            ns.bind(&target, &source, flags & MS_REC != 0);
            return Ok(());
        }
        if flags & PROPAGATION != 0 {
            // Exactly one propagation type (with MS_REC and MS_SILENT allowed).
            if !target.is_mount_root() || (flags & PROPAGATION).count_ones() != 1 {
                return Err(errno!(EINVAL));
            }
            return Ok(());
        }
        if flags & MS_MOVE != 0 {
            let source = req
                .source
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| errno!(EINVAL))?;
            let source = self.lookup(libc::AT_FDCWD, source, true)?;
            if !source.is_mount_root()
                || !ns.contains(&source.mount)
                || source.mount.mountpoint().is_none()
                || !attached
            {
                return Err(errno!(EINVAL));
            }
            if self.is_below(&target, &source.mount) {
                return Err(errno!(ELOOP));
            }
            if (source.file_type() == FileType::Directory)
                != (target.file_type() == FileType::Directory)
            {
                return Err(errno!(ENOTDIR));
            }
            ns.move_mount(&source.mount, &target);
            return Ok(());
        }
        let fs_type = req.fs_type.as_deref().ok_or_else(|| errno!(EINVAL))?;
        let mut proc_root = None;
        let (root, name): (Arc<dyn Inode>, &'static str) = match fs_type {
            b"tmpfs" => (self.new_tmpfs(&req.data)?, "tmpfs"),
            b"proc" => {
                for (key, _) in options(&req.data)? {
                    if !is_generic_option(&key)
                        && !matches!(key.as_str(), "hidepid" | "gid" | "subset")
                    {
                        return Err(errno!(EINVAL));
                    }
                }
                let r = ProcFs::new_root(&self.kernel);
                proc_root = Some(r.clone());
                (r, "proc")
            }
            b"sysfs" => {
                for (key, _) in options(&req.data)? {
                    if !is_generic_option(&key) {
                        return Err(errno!(EINVAL));
                    }
                }
                let config = SysConfig::for_sandbox(&self.kernel);
                (new_sysfs(&config), "sysfs")
            }
            b"devpts" => {
                for (key, _) in options(&req.data)? {
                    if !is_generic_option(&key)
                        && !matches!(
                            key.as_str(),
                            "newinstance" | "ptmxmode" | "mode" | "gid" | "uid" | "max"
                        )
                    {
                        return Err(errno!(EINVAL));
                    }
                }
                // The sandbox's one devpts instance, mounted again (newinstance is
                // accepted, but its ptys are the same ones /dev/ptmx hands out).
                let devpts = self.kernel.devpts.get().ok_or_else(|| errno!(ENODEV))?;
                (devpts.root(), "devpts")
            }
            _ => return Err(errno!(ENODEV)),
        };
        if target.file_type() != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        if !attached {
            return Err(errno!(EINVAL));
        }
        let source = req.source.as_deref().map_or_else(
            || "none".to_string(),
            |s| String::from_utf8_lossy(s).into_owned(),
        );
        let mount = ns.mount(&target, root, name, source, mount_flags(flags));
        if let Some(r) = proc_root {
            crate::fs::proc::attach(&r, &mount);
        }
        Ok(())
    }

    /// Whether `p` lies in `mount` or in a mount below it.
    fn is_below(&self, p: &Path, mount: &Arc<crate::vfs::Mount>) -> bool {
        let mut cur = Some(p.mount.clone());
        while let Some(m) = cur {
            if Arc::ptr_eq(&m, mount) {
                return true;
            }
            cur = m.mountpoint().map(|(parent, _)| parent);
        }
        false
    }

    /// umount2(2).
    pub fn umount(&self, target: &[u8], flags: u32) -> Result<()> {
        if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0 {
            return Err(errno!(EINVAL));
        }
        if !self.creds.capable(CAP_SYS_ADMIN) {
            return Err(errno!(EPERM));
        }
        let p = self.lookup(libc::AT_FDCWD, target, flags & UMOUNT_NOFOLLOW == 0)?;
        let ns = self.fs.mounts();
        if !p.is_mount_root() || !ns.contains(&p.mount) {
            return Err(errno!(EINVAL));
        }
        if flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0 {
            return Err(errno!(EINVAL));
        }
        if p.mount.mountpoint().is_none() {
            // The namespace's root stays.
            return Err(errno!(EBUSY));
        }
        // In use: referenced from anything but the namespace and this lookup (open
        // files, working directories, mounts on top of it).
        let busy = Arc::strong_count(&p.mount) > 2;
        if flags & MNT_EXPIRE != 0 {
            if busy {
                return Err(errno!(EBUSY));
            }
            if !p.mount.mark_expired() {
                return Err(errno!(EAGAIN));
            }
        } else if busy && flags & MNT_DETACH == 0 {
            return Err(errno!(EBUSY));
        }
        ns.detach(&p.mount);
        Ok(())
    }

    /// chroot(2).
    pub fn chroot(&self, path: &[u8]) -> Result<()> {
        let p = self.lookup(libc::AT_FDCWD, path, true)?;
        if p.file_type() != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        let st = p.inode().stat()?;
        if !self
            .creds
            .may_access(false, st.mode, st.uid, st.gid, 1, true)
        {
            return Err(errno!(EACCES));
        }
        if !self.creds.capable(CAP_SYS_CHROOT) {
            return Err(errno!(EPERM));
        }
        self.fs.set_root(p);
        Ok(())
    }

    /// pivot_root(2): `new_root` becomes the root of the namespace and of every task
    /// whose root or working directory was the old root; the old root is mounted at
    /// `put_old`.
    pub fn pivot_root(&self, new_root: &[u8], put_old: &[u8]) -> Result<()> {
        if !self.creds.capable(CAP_SYS_ADMIN) {
            return Err(errno!(EPERM));
        }
        let dir = |path: &[u8]| -> Result<Path> {
            let p = self.lookup(libc::AT_FDCWD, path, true)?;
            if p.file_type() != FileType::Directory {
                return Err(errno!(ENOTDIR));
            }
            Ok(p)
        };
        let new = dir(new_root)?;
        let old = dir(put_old)?;
        let (ns, root) = self.fs.mounts_and_root();
        if !ns.contains(&root.mount) || !ns.contains(&new.mount) {
            return Err(errno!(EINVAL));
        }
        if new.dentry.is_deleted() {
            return Err(errno!(ENOENT));
        }
        if Arc::ptr_eq(&new.mount, &root.mount) || Arc::ptr_eq(&old.mount, &root.mount) {
            return Err(errno!(EBUSY));
        }
        // The root must be a mount's root; unlike Linux's, the sandbox's root mount
        // has no parent, so it need not be attached to one.
        if !root.is_mount_root() || !new.is_mount_root() || new.mount.mountpoint().is_none() {
            return Err(errno!(EINVAL));
        }
        // put_old must be at or below new_root, and new_root below the root.
        if !self.reachable_from(&old, &new) || !self.reachable_from(&new, &root) {
            return Err(errno!(EINVAL));
        }
        ns.pivot(&new.mount, &old);
        let new_place = Path {
            mount: new.mount.clone(),
            dentry: new.mount.root().clone(),
        };
        let mut seen: Vec<Arc<FsContext>> = Vec::new();
        let threads = self.kernel.tree.lock().threads();
        for t in threads {
            let Some(view) = t.view() else { continue };
            if seen.iter().any(|f| Arc::ptr_eq(f, &view.fs)) {
                continue;
            }
            view.fs.replace_place(&ns, &root, &new_place);
            seen.push(view.fs);
        }
        self.fs.replace_place(&ns, &root, &new_place);
        Ok(())
    }

    /// Whether `p` is `top` or below it in the mount tree (Linux's is_path_reachable).
    fn reachable_from(&self, p: &Path, top: &Path) -> bool {
        let mut cur = p.clone();
        loop {
            if Arc::ptr_eq(&cur.mount, &top.mount) {
                return cur.dentry.is_within(&top.dentry);
            }
            match cur.mount.mountpoint() {
                Some((mount, dentry)) => cur = Path { mount, dentry },
                None => return false,
            }
        }
    }

    /// unshare(CLONE_NEWNS): the task gets a private copy of its mount namespace (and
    /// of its filesystem context, which must not be shared across namespaces).
    pub fn unshare_mounts(&mut self) -> Result<()> {
        if !self.creds.capable(CAP_SYS_ADMIN) {
            return Err(errno!(EPERM));
        }
        self.fs = Arc::new(self.fs.fork_namespace());
        Ok(())
    }
}
