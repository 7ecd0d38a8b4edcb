//! memfd_create(2): anonymous tmpfs files, and the seals fcntl(F_ADD_SEALS) puts on them.
//!
//! Every memfd is an unnamed regular file of one internal tmpfs that is mounted
//! nowhere (Linux's shm mount), so its data lives in the memory file like any tmpfs
//! file's and a MAP_SHARED mapping of it is shared with every other process mapping
//! it. Its dentry is named `memfd:NAME` and deleted from the start, so /proc shows
//! `/memfd:NAME (deleted)`.

use std::sync::Arc;

use super::tmpfs::{TmpFs, TmpInode, TmpfsLimits};
use crate::errno;
use crate::errno::Result;
use crate::kernel::creds::Credentials;
use crate::kernel::Kernel;
use crate::vfs::{Dentry, File, Mount, NewOwner, Path};

/// Prevents further seals.
pub const F_SEAL_SEAL: u32 = 0x01;
/// Prevents shrinking.
pub const F_SEAL_SHRINK: u32 = 0x02;
/// Prevents growing.
pub const F_SEAL_GROW: u32 = 0x04;
/// Prevents writes (and shared writable mappings).
pub const F_SEAL_WRITE: u32 = 0x08;
/// Prevents future writes; existing writable mappings stay.
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
/// Prevents changing the execute bits.
pub const F_SEAL_EXEC: u32 = 0x20;
/// Every seal.
pub const F_ALL_SEALS: u32 =
    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

/// Close on exec.
pub const MFD_CLOEXEC: u32 = 0x1;
/// Allow F_ADD_SEALS.
pub const MFD_ALLOW_SEALING: u32 = 0x2;
/// Huge pages (not supported).
pub const MFD_HUGETLB: u32 = 0x4;
/// Not executable, and sealed so (implies MFD_ALLOW_SEALING).
pub const MFD_NOEXEC_SEAL: u32 = 0x8;
/// Executable.
pub const MFD_EXEC: u32 = 0x10;

/// Longest name (NAME_MAX less the `memfd:` prefix).
pub const MFD_NAME_MAX: usize = 249;

/// The internal tmpfs mount memfds live on, made at the first memfd_create.
fn shm_mount(kernel: &Kernel) -> &Arc<Mount> {
    kernel.shm_mount.get_or_init(|| {
        let root = TmpFs::new_root(
            kernel.memory_file.clone(),
            TmpfsLimits::default(),
            NewOwner {
                mode: 0o1777,
                uid: 0,
                gid: 0,
            },
        );
        Mount::detached(root, "tmpfs")
    })
}

/// EINVAL unless `flags` are memfd_create flags moat supports.
pub fn check_flags(flags: u32) -> Result<()> {
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC) != 0
        || flags & (MFD_EXEC | MFD_NOEXEC_SEAL) == MFD_EXEC | MFD_NOEXEC_SEAL
    {
        return Err(errno!(EINVAL));
    }
    if flags & MFD_HUGETLB != 0 {
        return Err(errno!(EINVAL, "memfd_create: MFD_HUGETLB is not supported"));
    }
    Ok(())
}

/// memfd_create(2): a new memfd named `name` (without the NUL, length already
/// checked) created with `flags` (MFD_CLOEXEC is the caller's to apply). Returns the
/// open description, read-write.
pub fn create(kernel: &Kernel, creds: &Credentials, name: &[u8], flags: u32) -> Result<Arc<File>> {
    check_flags(flags)?;
    let noexec = flags & MFD_NOEXEC_SEAL != 0;
    let mount = shm_mount(kernel);
    let dir = mount.root();
    let inode = dir.inode().create_unnamed(NewOwner {
        mode: if noexec { 0o666 } else { 0o777 },
        uid: creds.fsuid,
        gid: creds.fsgid,
    })?;
    let tmp = inode
        .as_any()
        .downcast_ref::<TmpInode>()
        .expect("a tmpfs inode");
    tmp.set_seals(if noexec {
        F_SEAL_EXEC
    } else if flags & MFD_ALLOW_SEALING != 0 {
        0
    } else {
        F_SEAL_SEAL
    });
    let mut shown = b"memfd:".to_vec();
    shown.extend_from_slice(name);
    let path = Path {
        mount: mount.clone(),
        dentry: Dentry::new_anonymous(dir, inode.clone(), shown),
    };
    let flags = (libc::O_RDWR | libc::O_LARGEFILE) as u32;
    let ops = inode.open(flags)?;
    Ok(File::new(ops, flags, Some(path)))
}
