//! Changing credentials: the set*id family, setgroups, capget/capset.
//!
//! The rules are Linux's: a task with CAP_SETUID (CAP_SETGID for groups) may set any
//! id; others may only move between their real, effective and saved ids. The
//! filesystem id follows the effective one. A change of uid changes the capability
//! sets as commoncap does ([`Credentials::fix_setuid`]).

use sentry::errno::Result;
use sentry::kernel::caps::{self, CAP_SETGID, CAP_SETUID};
use sentry::kernel::creds::Credentials;
use sentry::kernel::Task;
use sentry::{bail, errno};

const UNCHANGED: u32 = u32::MAX;
/// Most supplementary groups (NGROUPS_MAX).
const NGROUPS_MAX: usize = 65536;

fn may_setuid(task: &Task) -> bool {
    task.creds.capable(CAP_SETUID)
}

fn may_setgid(task: &Task) -> bool {
    task.creds.capable(CAP_SETGID)
}

/// Changes the uids with `f`, then the capabilities as the change demands.
fn change_uids(task: &mut Task, f: impl FnOnce(&mut Credentials)) {
    let old = task.creds.clone();
    f(&mut task.creds);
    task.creds.fix_setuid(&old);
}

/// The rule setresuid and setresgid share: from the current (real, effective, saved)
/// ids, the new ones (`None` leaves one unchanged). Without privilege each new id must
/// be one of the current three.
fn new_ids(
    privileged: bool,
    cur: (u32, u32, u32),
    want: (Option<u32>, Option<u32>, Option<u32>),
) -> Result<(u32, u32, u32)> {
    let allowed = |id: u32| id == cur.0 || id == cur.1 || id == cur.2;
    if !privileged
        && [want.0, want.1, want.2]
            .into_iter()
            .flatten()
            .any(|id| !allowed(id))
    {
        bail!(EPERM);
    }
    Ok((
        want.0.unwrap_or(cur.0),
        want.1.unwrap_or(cur.1),
        want.2.unwrap_or(cur.2),
    ))
}

/// setresuid's core: `None` leaves an id unchanged; fsuid follows euid.
fn set_uids(task: &mut Task, r: Option<u32>, e: Option<u32>, s: Option<u32>) -> Result<u64> {
    let c = &task.creds;
    let (uid, euid, suid) = new_ids(may_setuid(task), (c.uid, c.euid, c.suid), (r, e, s))?;
    change_uids(task, |c| {
        (c.uid, c.euid, c.suid, c.fsuid) = (uid, euid, suid, euid)
    });
    Ok(0)
}

/// setresgid's core: `None` leaves an id unchanged; fsgid follows egid.
fn set_gids(task: &mut Task, r: Option<u32>, e: Option<u32>, s: Option<u32>) -> Result<u64> {
    let c = &task.creds;
    let (gid, egid, sgid) = new_ids(may_setgid(task), (c.gid, c.egid, c.sgid), (r, e, s))?;
    let c = &mut task.creds;
    (c.gid, c.egid, c.sgid, c.fsgid) = (gid, egid, sgid, egid);
    Ok(0)
}

fn opt(id: u32) -> Option<u32> {
    (id != UNCHANGED).then_some(id)
}

pub fn setresuid(task: &mut Task, r: u32, e: u32, s: u32) -> Result<u64> {
    set_uids(task, opt(r), opt(e), opt(s))
}

pub fn setresgid(task: &mut Task, r: u32, e: u32, s: u32) -> Result<u64> {
    set_gids(task, opt(r), opt(e), opt(s))
}

pub fn setuid(task: &mut Task, uid: u32) -> Result<u64> {
    if uid == UNCHANGED {
        bail!(EINVAL);
    }
    if may_setuid(task) {
        return set_uids(task, Some(uid), Some(uid), Some(uid));
    }
    if uid != task.creds.uid && uid != task.creds.suid {
        bail!(EPERM);
    }
    set_uids(task, None, Some(uid), None)
}

pub fn setgid(task: &mut Task, gid: u32) -> Result<u64> {
    if gid == UNCHANGED {
        bail!(EINVAL);
    }
    if may_setgid(task) {
        return set_gids(task, Some(gid), Some(gid), Some(gid));
    }
    if gid != task.creds.gid && gid != task.creds.sgid {
        bail!(EPERM);
    }
    set_gids(task, None, Some(gid), None)
}

pub fn setreuid(task: &mut Task, r: u32, e: u32) -> Result<u64> {
    let (r, e) = (opt(r), opt(e));
    let c = task.creds.clone();
    if !may_setuid(task)
        && (r.is_some_and(|r| r != c.uid && r != c.euid)
            || e.is_some_and(|e| e != c.uid && e != c.euid && e != c.suid))
    {
        bail!(EPERM);
    }
    // The saved id follows the new effective one when the real one is set or the
    // effective one changes to something other than the old real id.
    let new_e = e.unwrap_or(c.euid);
    let s = (r.is_some() || e.is_some_and(|e| e != c.uid)).then_some(new_e);
    set_uids_unchecked(task, r, e, s);
    Ok(0)
}

pub fn setregid(task: &mut Task, r: u32, e: u32) -> Result<u64> {
    let (r, e) = (opt(r), opt(e));
    let c = task.creds.clone();
    if !may_setgid(task)
        && (r.is_some_and(|r| r != c.gid && r != c.egid)
            || e.is_some_and(|e| e != c.gid && e != c.egid && e != c.sgid))
    {
        bail!(EPERM);
    }
    let new_e = e.unwrap_or(c.egid);
    let s = (r.is_some() || e.is_some_and(|e| e != c.gid)).then_some(new_e);
    let cr = &mut task.creds;
    if let Some(r) = r {
        cr.gid = r;
    }
    if let Some(e) = e {
        cr.egid = e;
    }
    if let Some(s) = s {
        cr.sgid = s;
    }
    cr.fsgid = cr.egid;
    Ok(0)
}

fn set_uids_unchecked(task: &mut Task, r: Option<u32>, e: Option<u32>, s: Option<u32>) {
    change_uids(task, |c| {
        if let Some(r) = r {
            c.uid = r;
        }
        if let Some(e) = e {
            c.euid = e;
        }
        if let Some(s) = s {
            c.suid = s;
        }
        c.fsuid = c.euid;
    });
}

pub fn setfsuid(task: &mut Task, uid: u32) -> Result<u64> {
    let c = &task.creds;
    let old = c.fsuid;
    if uid != UNCHANGED
        && uid != old
        && (may_setuid(task) || [c.uid, c.euid, c.suid, c.fsuid].contains(&uid))
    {
        task.creds.fsuid = uid;
        task.creds.fix_setfsuid(old);
    }
    Ok(old as u64)
}

pub fn setfsgid(task: &mut Task, gid: u32) -> Result<u64> {
    let c = &task.creds;
    let old = c.fsgid;
    if gid != UNCHANGED && (may_setgid(task) || [c.gid, c.egid, c.sgid, c.fsgid].contains(&gid)) {
        task.creds.fsgid = gid;
    }
    Ok(old as u64)
}

pub fn setgroups(task: &mut Task, size: i32, list: u64) -> Result<u64> {
    if size < 0 || size as usize > NGROUPS_MAX {
        bail!(EINVAL);
    }
    if !may_setgid(task) {
        bail!(EPERM);
    }
    let mut groups = vec![0u32; size as usize];
    if size > 0 {
        task.mm.copy_in(
            list,
            zerocopy::IntoBytes::as_mut_bytes(groups.as_mut_slice()),
        )?;
    }
    groups.sort_unstable();
    task.creds.groups = groups;
    Ok(0)
}

/// Versions of `struct __user_cap_header_struct`: v1 has one 32-bit data struct, v2
/// (deprecated) and v3 two.
const LINUX_CAPABILITY_VERSION_1: u32 = 0x1998_0330;
const LINUX_CAPABILITY_VERSION_2: u32 = 0x2007_1026;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// The header's version and pid, and how many `__user_cap_data_struct`s follow. An
/// unknown version is answered with v3 written back into the header and EINVAL.
fn read_header(task: &Task, header: u64) -> Result<(i32, usize)> {
    let hdr: [u32; 2] = task.mm.read_obj(header)?;
    let words = match hdr[0] {
        LINUX_CAPABILITY_VERSION_1 => 1,
        LINUX_CAPABILITY_VERSION_2 | LINUX_CAPABILITY_VERSION_3 => 2,
        _ => {
            task.mm.write_obj(header, &LINUX_CAPABILITY_VERSION_3)?;
            bail!(EINVAL);
        }
    };
    Ok((hdr[1] as i32, words))
}

pub fn capget(task: &mut Task, header: u64, data: u64) -> Result<u64> {
    let hdr = read_header(task, header);
    // With no data pointer, capget only probes the version: EINVAL is success.
    if data == 0 {
        return match hdr {
            Err(e) if e.code() == libc::EINVAL => Ok(0),
            Err(e) => Err(e),
            Ok(_) => Ok(0),
        };
    }
    let (pid, words) = hdr?;
    if pid < 0 {
        bail!(EINVAL);
    }
    let sets = if pid == 0 || pid == task.tid {
        task.creds.caps
    } else {
        let (target, _) = task
            .kernel
            .tree
            .lock()
            .thread(pid)
            .ok_or_else(|| errno!(ESRCH))?;
        target.view().map(|v| v.creds.caps).unwrap_or_default()
    };
    // __user_cap_data_struct { effective, permitted, inheritable } per 32 bits.
    let mut out = Vec::with_capacity(words * 3);
    for i in 0..words {
        for set in [sets.effective, sets.permitted, sets.inheritable] {
            out.push((set >> (32 * i)) as u32);
        }
    }
    task.mm
        .copy_out(data, zerocopy::IntoBytes::as_bytes(out.as_slice()))?;
    Ok(0)
}

pub fn capset(task: &mut Task, header: u64, data: u64) -> Result<u64> {
    let (pid, words) = read_header(task, header)?;
    // Only a task's own capabilities can be set.
    if pid != 0 && pid != task.tid {
        bail!(EPERM);
    }
    let mut raw = [0u32; 6];
    task.mm.copy_in(
        data,
        &mut zerocopy::IntoBytes::as_mut_bytes(&mut raw[..])[..words * 12],
    )?;
    let set = |j: usize| u64::from(raw[j]) | (u64::from(raw[3 + j]) << 32);
    task.creds.set_caps(set(0), set(1), set(2))?;
    Ok(0)
}

/// Capability numbers past the last are EINVAL.
pub(crate) fn cap_arg(cap: u64) -> Result<u32> {
    if !caps::valid(cap) {
        bail!(EINVAL);
    }
    Ok(cap as u32)
}

/// The prctl options about capabilities and securebits (None: not one of them).
pub(crate) fn cap_prctl(task: &mut Task, option: i32, args: [u64; 4]) -> Option<Result<u64>> {
    let c = &mut task.creds;
    let [arg2, arg3, arg4, arg5] = args;
    Some(match option {
        libc::PR_CAPBSET_READ => {
            cap_arg(arg2).map(|cap| u64::from(c.caps.bounding & caps::bit(cap) != 0))
        }
        libc::PR_CAPBSET_DROP => c.drop_bounding(arg2).map(|()| 0),
        libc::PR_GET_KEEPCAPS => Ok(u64::from(c.secure(caps::SECBIT_KEEP_CAPS))),
        libc::PR_SET_KEEPCAPS => c.set_keepcaps(arg2).map(|()| 0),
        libc::PR_GET_SECUREBITS => Ok(u64::from(c.securebits)),
        libc::PR_SET_SECUREBITS => c.set_securebits(arg2).map(|()| 0),
        libc::PR_CAP_AMBIENT => ambient(c, arg2, arg3, arg4 | arg5),
        _ => return None,
    })
}

/// PR_CAP_AMBIENT's operations.
fn ambient(c: &mut Credentials, op: u64, cap: u64, rest: u64) -> Result<u64> {
    if op == libc::PR_CAP_AMBIENT_CLEAR_ALL as u64 {
        if cap | rest != 0 {
            bail!(EINVAL);
        }
        c.caps.ambient = 0;
        return Ok(0);
    }
    if rest != 0 {
        bail!(EINVAL);
    }
    let cap = cap_arg(cap)?;
    match op as i32 {
        libc::PR_CAP_AMBIENT_IS_SET => Ok(u64::from(c.caps.ambient & caps::bit(cap) != 0)),
        libc::PR_CAP_AMBIENT_RAISE => c.raise_ambient(cap).map(|()| 0),
        libc::PR_CAP_AMBIENT_LOWER => {
            c.caps.ambient &= !caps::bit(cap);
            Ok(0)
        }
        _ => Err(errno!(EINVAL)),
    }
}
