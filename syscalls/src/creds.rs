//! Changing credentials: the set*id family, setgroups, capget/capset.
//!
//! The rules are Linux's: a task with CAP_SETUID (here: effective uid 0) may set any
//! id; others may only move between their real, effective and saved ids. The
//! filesystem id follows the effective one.

use sentry::errno::Result;
use sentry::kernel::Task;
use sentry::{bail, errno};

const UNCHANGED: u32 = u32::MAX;
/// Most supplementary groups (NGROUPS_MAX).
const NGROUPS_MAX: usize = 65536;

fn privileged(task: &Task) -> bool {
    task.creds.euid == 0
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
    let (uid, euid, suid) = new_ids(privileged(task), (c.uid, c.euid, c.suid), (r, e, s))?;
    let c = &mut task.creds;
    (c.uid, c.euid, c.suid, c.fsuid) = (uid, euid, suid, euid);
    Ok(0)
}

/// setresgid's core: `None` leaves an id unchanged; fsgid follows egid.
fn set_gids(task: &mut Task, r: Option<u32>, e: Option<u32>, s: Option<u32>) -> Result<u64> {
    let c = &task.creds;
    let (gid, egid, sgid) = new_ids(privileged(task), (c.gid, c.egid, c.sgid), (r, e, s))?;
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
    if privileged(task) {
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
    if privileged(task) {
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
    if !privileged(task)
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
    if !privileged(task)
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
    let c = &mut task.creds;
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
}

pub fn setfsuid(task: &mut Task, uid: u32) -> Result<u64> {
    let c = &task.creds;
    let old = c.fsuid;
    if uid != UNCHANGED && (privileged(task) || [c.uid, c.euid, c.suid, c.fsuid].contains(&uid)) {
        task.creds.fsuid = uid;
    }
    Ok(old as u64)
}

pub fn setfsgid(task: &mut Task, gid: u32) -> Result<u64> {
    let c = &task.creds;
    let old = c.fsgid;
    if gid != UNCHANGED && (privileged(task) || [c.gid, c.egid, c.sgid, c.fsgid].contains(&gid)) {
        task.creds.fsgid = gid;
    }
    Ok(old as u64)
}

pub fn setgroups(task: &mut Task, size: i32, list: u64) -> Result<u64> {
    if size < 0 || size as usize > NGROUPS_MAX {
        bail!(EINVAL);
    }
    if !privileged(task) {
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

/// `struct __user_cap_header_struct`.
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// Capabilities a root task holds in the sandbox (CAP_CHOWN .. CAP_CHECKPOINT_RESTORE).
const ALL_CAPS: u64 = (1 << 41) - 1;

pub fn capget(task: &mut Task, header: u64, data: u64) -> Result<u64> {
    let hdr: [u32; 2] = task.mm.read_obj(header)?;
    if hdr[0] != LINUX_CAPABILITY_VERSION_3 && hdr[0] != 0x2007_1026 {
        task.mm
            .write_obj(header, &[LINUX_CAPABILITY_VERSION_3, hdr[1]])?;
        bail!(EINVAL);
    }
    if hdr[1] as i32 != 0 && hdr[1] as i32 != task.tid {
        let found = task.kernel.tree.lock().thread(hdr[1] as i32).is_some();
        if !found {
            bail!(ESRCH);
        }
    }
    if data != 0 {
        let caps = if task.creds.euid == 0 { ALL_CAPS } else { 0 };
        // Two __user_cap_data_struct { effective, permitted, inheritable } (low, high).
        let words: [u32; 6] = [
            caps as u32,
            caps as u32,
            0,
            (caps >> 32) as u32,
            (caps >> 32) as u32,
            0,
        ];
        task.mm.write_obj(data, &words)?;
    }
    Ok(0)
}

pub fn capset(task: &mut Task, header: u64, data: u64) -> Result<u64> {
    let hdr: [u32; 2] = task.mm.read_obj(header)?;
    if hdr[0] != LINUX_CAPABILITY_VERSION_3 && hdr[0] != 0x2007_1026 {
        bail!(EINVAL);
    }
    if hdr[1] as i32 != 0 && hdr[1] as i32 != task.tid {
        bail!(EPERM);
    }
    let words: [u32; 6] = task.mm.read_obj(data)?;
    let permitted = words[1] as u64 | ((words[4] as u64) << 32);
    let effective = words[0] as u64 | ((words[3] as u64) << 32);
    let held = if task.creds.euid == 0 { ALL_CAPS } else { 0 };
    if permitted & !held != 0 || effective & !permitted != 0 {
        return Err(errno!(EPERM));
    }
    // The sandbox models capabilities by uid alone: dropping them is accepted and
    // recorded nowhere yet.
    Ok(0)
}
