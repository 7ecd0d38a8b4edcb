//! The gofer's namespaces, root and capabilities, entered first thing in `moat gofer`,
//! in this order:
//! 1. `/proc/self/fd` (the server reopens handles through it) and the mount table are
//!    opened while the host's `/proc` is still reachable,
//! 2. (started unprivileged only) a user namespace mapping the caller's ids to
//!    themselves, so the steps below are allowed,
//! 3. new mount, IPC, UTS and network namespaces (no host network at all),
//! 4. every mount made private, the served tree bound (with its submounts) at `/root`
//!    of an empty tmpfs, each extra tree (a bind mount of the container's) at `/b<N>`,
//!    that tmpfs `pivot_root`ed into, and the host's tree detached: from here the only
//!    files the gofer can name are the container's,
//! 5. host kernel pseudo-filesystems under the tree (proc, sysfs, devtmpfs, cgroup, ...)
//!    unmounted, and every remaining mount made `nosuid,nodev,noexec` (and `ro` unless the
//!    tree is served writable): even a subverted gofer can neither open a device node
//!    nor write a read-only tree,
//! 6. every capability dropped (bounding, inheritable and ambient sets too) except the
//!    file ones its mode needs: [`READ_CAPS`], plus [`WRITE_CAPS`] when writable.
//!
//! no_new_privs and the seccomp allowlist ([`super::gofer`]) come last, once the server
//! is ready to serve.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use caps::{CapSet, Capability, CapsHashSet};
use nix::fcntl::{open, openat, OFlag, AT_FDCWD};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::Mode;
use nix::sys::statvfs::{statvfs, FsFlags};
use nix::unistd::{chdir, getegid, geteuid, mkdir, pivot_root};

use super::{make_mounts_private, step, JailError};

/// Capabilities every gofer keeps: reading and listing any file of the tree whatever
/// its owner and mode (the sentry makes the guest's own permission checks), and
/// `O_NOATIME` on files it does not own.
pub const READ_CAPS: &[Capability] = &[
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_DAC_READ_SEARCH,
    Capability::CAP_FOWNER,
];

/// Capabilities a writable gofer also keeps: giving new files the guest's owner and
/// keeping set-id bits on files the guest writes or chowns as Linux would.
pub const WRITE_CAPS: &[Capability] = &[Capability::CAP_CHOWN, Capability::CAP_FSETID];

/// Host filesystem types never served: their contents describe the host (processes,
/// devices, kernel state), not the container's files. Mounts of them inside the tree
/// are unmounted; the directories under them show as they are on the tree's own
/// filesystem (usually empty).
const HOST_PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "debugfs",
    "tracefs",
    "securityfs",
    "cgroup",
    "cgroup2",
    "bpf",
    "configfs",
    "pstore",
    "efivarfs",
    "fusectl",
    "mqueue",
    "binfmt_misc",
    "selinuxfs",
    "nsfs",
    "hugetlbfs",
    "autofs",
    "rpc_pipefs",
];

/// The most mounts unmounted from the tree before giving up.
const MAX_UNMOUNTS: usize = 1000;

fn caps_step<T>(step: &'static str, r: Result<T, caps::errors::CapsError>) -> Result<T, JailError> {
    r.map_err(|err| JailError::Caps { step, err })
}

/// What a confined gofer serves from.
pub struct Confined {
    /// The served tree's root (the gofer's `/root`), `O_PATH`.
    pub root: OwnedFd,
    /// The extra trees' roots (`/b<N>`), `O_PATH`, in the order given.
    pub extra_roots: Vec<OwnedFd>,
    /// `/proc/self/fd` of the gofer, opened before the host's `/proc` went away.
    pub proc_self_fd: OwnedFd,
}

/// A further tree to serve (a bind mount's source), and whether it is writable.
pub struct ExtraTree<'a> {
    /// The host path (a directory or a file).
    pub source: &'a Path,
    /// Served writable.
    pub writable: bool,
}

/// Confines the calling (single-threaded) gofer to the tree at `root` (and `extra`).
pub fn enter(root: &Path, writable: bool, extra: &[ExtraTree<'_>]) -> Result<Confined, JailError> {
    let proc_self_fd = step(
        "open /proc/self/fd",
        open(
            "/proc/self/fd",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        ),
    )?;
    let (uid, gid) = (geteuid().as_raw(), getegid().as_raw());
    if uid != 0 {
        // Unprivileged: a user namespace of our own ids lets us build the mount
        // namespace below; file access stays exactly the caller's.
        step("unshare(CLONE_NEWUSER)", unshare(CloneFlags::CLONE_NEWUSER))?;
        write_proc("/proc/self/setgroups", "deny")?;
        write_proc("/proc/self/uid_map", &format!("{uid} {uid} 1"))?;
        write_proc("/proc/self/gid_map", &format!("{gid} {gid} 1"))?;
    }
    let flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWNET;
    step("unshare(mount, ipc, uts, net namespaces)", unshare(flags))?;
    make_mounts_private()?;
    // The served tree is bound onto a directory of an empty tmpfs laid over a directory
    // every Linux system has (the host's /proc: its fd table is already open above).
    let base = "/proc";
    step(
        "mount a tmpfs to stage the root in",
        mount(
            Some("none"),
            base,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=64k,mode=0700"),
        ),
    )?;
    let staged = "/proc/root";
    step("mkdir the staging point", mkdir(staged, Mode::S_IRWXU))?;
    step(
        "bind the served tree",
        mount(
            Some(root),
            staged,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        ),
    )?;
    for (i, tree) in extra.iter().enumerate() {
        let at = format!("/proc/b{i}");
        let is_dir = step(
            "stat a bind mount's source",
            nix::sys::stat::stat(tree.source),
        )?
        .st_mode
            & libc::S_IFMT
            == libc::S_IFDIR;
        if is_dir {
            step(
                "mkdir a bind mount point",
                mkdir(at.as_str(), Mode::S_IRWXU),
            )?;
        } else {
            step(
                "make a bind mount point",
                nix::sys::stat::mknod(
                    at.as_str(),
                    nix::sys::stat::SFlag::S_IFREG,
                    Mode::S_IRUSR,
                    0,
                ),
            )?;
        }
        step(
            "bind an extra tree",
            mount(
                Some(tree.source),
                at.as_str(),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            ),
        )?;
    }
    step("chdir to the staging tmpfs", chdir(base))?;
    step("pivot_root", pivot_root(".", "."))?;
    step("detach the host's root", umount2(".", MntFlags::MNT_DETACH))?;
    step("chdir /", chdir("/"))?;
    // One at a time, re-reading the table each time: unmounting a mount point removes
    // its topmost mount, which may be one stacked on the pseudo-filesystem (and a lazy
    // unmount takes every mount below that point with it).
    // Started unprivileged, mounts that came with the tree are locked to it and stay
    // (the server shows them as empty directories).
    let mut locked = std::collections::HashSet::new();
    for _ in 0..MAX_UNMOUNTS {
        let mounts = step("read the mount table", read_mounts(&proc_self_fd))?;
        let Some(m) = mounts.iter().find(|m| {
            m.path != "/"
                && HOST_PSEUDO_FS.contains(&m.fs_type.as_str())
                && !locked.contains(&m.path)
        }) else {
            break;
        };
        match umount2(m.path.as_str(), MntFlags::MNT_DETACH) {
            Ok(()) => {}
            Err(e) if uid != 0 => {
                tracing::debug!(path = m.path, %e, "a host pseudo-filesystem stays mounted");
                locked.insert(m.path.clone());
            }
            Err(errno) => {
                return Err(JailError::Step {
                    step: "unmount a host pseudo-filesystem",
                    errno,
                })
            }
        }
    }
    let remaining = step("read the mount table", read_mounts(&proc_self_fd))?;
    for m in &remaining {
        // Each mount is writable only inside a tree served writable.
        let in_tree = |top: &str| m.path == top || m.path.starts_with(&format!("{top}/"));
        let rw = if in_tree("/root") {
            writable
        } else {
            extra
                .iter()
                .enumerate()
                .any(|(i, t)| t.writable && in_tree(&format!("/b{i}")))
        };
        restrict_mount(&m.path, rw)?;
    }
    let open_path = |p: &str| {
        step(
            "open a served tree",
            openat(
                AT_FDCWD,
                p,
                OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            ),
        )
    };
    let root = open_path("/root")?;
    let extra_roots = (0..extra.len())
        .map(|i| open_path(&format!("/b{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    drop_capabilities(writable || extra.iter().any(|t| t.writable))?;
    Ok(Confined {
        root,
        extra_roots,
        proc_self_fd,
    })
}

fn write_proc(path: &'static str, value: &str) -> Result<(), JailError> {
    std::fs::write(path, value).map_err(|e| JailError::Step {
        step: path,
        errno: nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })
}

/// One line of `/proc/self/mountinfo`, the parts used here.
#[derive(Debug, PartialEq)]
struct MountEntry {
    /// The mount point, relative to our root, unescaped.
    path: String,
    /// The filesystem type.
    fs_type: String,
}

/// The mounts visible from our root, through the `/proc/self/fd` directory of the
/// host's procfs (its `..` is our `/proc/<pid>`).
fn read_mounts(proc_self_fd: &OwnedFd) -> nix::Result<Vec<MountEntry>> {
    let fd = openat(
        proc_self_fd.as_fd(),
        "../mountinfo",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut text = String::new();
    std::fs::File::from(fd)
        .read_to_string(&mut text)
        .map_err(|e| nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
    Ok(parse_mountinfo(&text))
}

/// Parses mountinfo: `id parent major:minor root mount-point options [optional...] -
/// fstype source super-options`.
fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let path = fields.nth(4)?;
            let mut rest = fields.skip_while(|f| *f != "-");
            rest.next()?;
            let fs_type = rest.next()?;
            Some(MountEntry {
                path: unescape_octal(path),
                fs_type: fs_type.to_owned(),
            })
        })
        .collect()
}

/// Undoes mountinfo's `\ooo` escapes (space, tab, newline, backslash).
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let oct = bytes.get(i + 1..i + 4).and_then(|d| {
                std::str::from_utf8(d)
                    .ok()
                    .and_then(|d| u8::from_str_radix(d, 8).ok())
            });
            if let Some(b) = oct {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Remounts the mount at `path` nosuid, nodev, noexec (and read-only unless
/// `writable`), keeping the flags it already has.
fn restrict_mount(path: &str, writable: bool) -> Result<(), JailError> {
    let have = step("statvfs of a mount", statvfs(path))?.flags();
    let mut flags = MsFlags::MS_REMOUNT
        | MsFlags::MS_BIND
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC;
    for (st, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if have.contains(st) {
            flags |= ms;
        }
    }
    if !writable {
        flags |= MsFlags::MS_RDONLY;
    }
    step(
        "restrict a mount (nosuid, nodev, noexec, ro)",
        mount(None::<&str>, path, None::<&str>, flags, None::<&str>),
    )
}

fn drop_capabilities(writable: bool) -> Result<(), JailError> {
    let mut keep: CapsHashSet = READ_CAPS.iter().copied().collect();
    if writable {
        keep.extend(WRITE_CAPS.iter().copied());
    }
    if geteuid().as_raw() != 0 {
        // Unprivileged, the capabilities held are only those of our own user namespace,
        // over files we own anyway.
        keep.clear();
    }
    // The bounding set first: dropping from it needs CAP_SETPCAP, dropped below.
    for cap in caps::all() {
        if !keep.contains(&cap) {
            caps_step(
                "drop from the bounding set",
                caps::drop(None, CapSet::Bounding, cap),
            )?;
        }
    }
    caps_step("clear the ambient set", caps::clear(None, CapSet::Ambient))?;
    caps_step(
        "clear the inheritable set",
        caps::clear(None, CapSet::Inheritable),
    )?;
    caps_step(
        "set the effective set",
        caps::set(None, CapSet::Effective, &keep),
    )?;
    caps_step(
        "set the permitted set",
        caps::set(None, CapSet::Permitted, &keep),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_give_path_and_type() {
        let text = "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n\
                    30 22 0:5 / /my\\040dir rw master:1 - tmpfs none rw\n\
                    31 22 0:6 / /x rw - ext4 /dev/sda rw\n";
        assert_eq!(
            parse_mountinfo(text),
            vec![
                MountEntry {
                    path: "/proc".into(),
                    fs_type: "proc".into()
                },
                MountEntry {
                    path: "/my dir".into(),
                    fs_type: "tmpfs".into()
                },
                MountEntry {
                    path: "/x".into(),
                    fs_type: "ext4".into()
                },
            ]
        );
    }

    #[test]
    fn malformed_mountinfo_lines_are_skipped() {
        assert!(parse_mountinfo("garbage\n1 2 3\n").is_empty());
        assert_eq!(unescape_octal("a\\0"), "a\\0");
        assert_eq!(unescape_octal("a\\134b"), "a\\b");
    }
}
