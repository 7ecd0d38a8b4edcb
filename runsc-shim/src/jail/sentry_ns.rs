//! The sentry's namespaces and empty root, entered first thing in `moat boot`, in this
//! order:
//! 1. a user namespace in which the sentry keeps its ids but holds no host privilege
//!    (started as root, it is host `nobody`),
//! 2. new mount, IPC, UTS and network namespaces (no host network at all),
//! 3. every mount made private, then `pivot_root` into an empty, read-only tmpfs and
//!    the host's tree detached: from here no host path exists for the sentry.
//!
//! What the sentry needs later (the gofer channel, stdio, the debug log) arrives as
//! file descriptors, and the memory file is a memfd.

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{chdir, getegid, geteuid, pivot_root};

use super::{make_mounts_private, step, JailError};

/// The host uid/gid a sentry started as root runs as.
const NOBODY: u32 = 65534;

/// Moves the calling (single-threaded) sentry into its namespaces and empty root.
pub fn enter(netns: Option<&str>) -> Result<(), JailError> {
    // A network namespace to join is joined first, with the host privileges that takes.
    if let Some(path) = netns {
        let f = std::fs::File::open(path).map_err(io_to_nix);
        let f = step("open the network namespace", f)?;
        step(
            "join the network namespace",
            nix::sched::setns(&f, CloneFlags::CLONE_NEWNET),
        )?;
    }
    let (uid, gid) = (geteuid().as_raw(), getegid().as_raw());
    // The sentry never needs host privileges after boot. Started as root, it becomes
    // host `nobody` inside its namespace, so it can neither signal nor ptrace host
    // processes; otherwise its ids map to themselves.
    let (host_uid, host_gid) = if uid == 0 {
        (NOBODY, NOBODY)
    } else {
        (uid, gid)
    };
    if uid == 0 {
        // A new user namespace may only map its creator's own ids: become nobody
        // first (no supplementary groups either), then map root inside onto it.
        let nobody_g = nix::unistd::Gid::from_raw(NOBODY);
        let nobody_u = nix::unistd::Uid::from_raw(NOBODY);
        step("setgroups", nix::unistd::setgroups(&[]))?;
        step(
            "become nobody (gid)",
            nix::unistd::setresgid(nobody_g, nobody_g, nobody_g),
        )?;
        step(
            "become nobody (uid)",
            nix::unistd::setresuid(nobody_u, nobody_u, nobody_u),
        )?;
        // The uid change made us non-dumpable, which makes /proc/self root-owned.
        step("set dumpable", nix::sys::prctl::set_dumpable(true))?;
    }
    step("unshare(CLONE_NEWUSER)", unshare(CloneFlags::CLONE_NEWUSER))?;
    step(
        "write /proc/self/setgroups",
        std::fs::write("/proc/self/setgroups", "deny").map_err(io_to_nix),
    )?;
    step(
        "write /proc/self/uid_map",
        std::fs::write("/proc/self/uid_map", format!("{uid} {host_uid} 1")).map_err(io_to_nix),
    )?;
    step(
        "write /proc/self/gid_map",
        std::fs::write("/proc/self/gid_map", format!("{gid} {host_gid} 1")).map_err(io_to_nix),
    )?;
    let (u, g) = (
        nix::unistd::Uid::from_raw(uid),
        nix::unistd::Gid::from_raw(gid),
    );
    step("setresgid", nix::unistd::setresgid(g, g, g))?;
    step("setresuid", nix::unistd::setresuid(u, u, u))?;
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_NEWUTS;
    if netns.is_none() {
        flags |= CloneFlags::CLONE_NEWNET;
    }
    step("unshare(mount, ipc, uts, net namespaces)", unshare(flags))?;
    make_mounts_private()?;
    // An empty tmpfs over a directory every Linux system has, which becomes the root.
    let empty = "/proc";
    let tmpfs_flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    step(
        "mount the empty root",
        mount(
            Some("none"),
            empty,
            Some("tmpfs"),
            tmpfs_flags,
            Some("size=4k,mode=0555"),
        ),
    )?;
    step("chdir to the empty root", chdir(empty))?;
    step("pivot_root", pivot_root(".", "."))?;
    step("detach the host's root", umount2(".", MntFlags::MNT_DETACH))?;
    step("chdir /", chdir("/"))?;
    step(
        "make the root read-only",
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | tmpfs_flags,
            None::<&str>,
        ),
    )?;
    Ok(())
}

fn io_to_nix(e: std::io::Error) -> nix::Error {
    nix::Error::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}
