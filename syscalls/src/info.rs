//! System identity and information: uname, sysinfo, hostname, getrandom.

use sentry::abi::{Sysinfo, Utsname};
use sentry::errno::Result;
use sentry::kernel::{random, Task, RELEASE, VERSION};
use sentry::{bail, errno};

fn field(s: &str) -> [u8; 65] {
    let mut f = [0u8; 65];
    let n = s.len().min(64);
    f[..n].copy_from_slice(&s.as_bytes()[..n]);
    f
}

pub fn uname(task: &mut Task, buf: u64) -> Result<u64> {
    let uts = task.kernel.uts.lock().clone();
    let u = Utsname {
        sysname: field("Linux"),
        nodename: field(&uts.hostname),
        release: field(RELEASE),
        version: field(VERSION),
        machine: field("x86_64"),
        domainname: field(&uts.domainname),
    };
    task.mm.write_obj(buf, &u)?;
    Ok(0)
}

pub fn sysinfo(task: &mut Task, buf: u64) -> Result<u64> {
    // The sandbox's own memory: its limit (or the host's RAM) and what it uses.
    let host = nix::sys::sysinfo::sysinfo()?;
    let mf = &task.kernel.memory_file;
    let used = mf.frames_in_use() * 4096;
    let total = mf
        .limit()
        .unwrap_or(u64::MAX)
        .min(host.ram_total())
        .max(used);
    let procs = task.kernel.tree.lock().processes().len();
    let info = Sysinfo {
        uptime: (task.kernel.uptime_ns() / 1_000_000_000) as i64,
        totalram: total,
        freeram: total - used,
        procs: procs.min(u16::MAX as usize) as u16,
        mem_unit: 1,
        ..Default::default()
    };
    task.mm.write_obj(buf, &info)?;
    Ok(0)
}

fn read_name(task: &Task, addr: u64, len: usize) -> Result<String> {
    if len > 64 {
        bail!(EINVAL);
    }
    if !task.creds.capable(sentry::kernel::caps::CAP_SYS_ADMIN) {
        bail!(EPERM);
    }
    let b = task.mm.read_bytes(addr, len)?;
    Ok(String::from_utf8_lossy(&b).into_owned())
}

pub fn sethostname(task: &mut Task, name: u64, len: usize) -> Result<u64> {
    let n = read_name(task, name, len)?;
    task.kernel.uts.lock().hostname = n;
    Ok(0)
}

pub fn setdomainname(task: &mut Task, name: u64, len: usize) -> Result<u64> {
    let n = read_name(task, name, len)?;
    task.kernel.uts.lock().domainname = n;
    Ok(0)
}

pub fn getrandom(task: &mut Task, buf: u64, len: usize, flags: u32) -> Result<u64> {
    const GRND_NONBLOCK: u32 = 1;
    const GRND_RANDOM: u32 = 2;
    const GRND_INSECURE: u32 = 4;
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == (GRND_RANDOM | GRND_INSECURE)
    {
        bail!(EINVAL);
    }
    let len = len.min(32 * 1024 * 1024 - 1);
    if len == 0 {
        return Ok(0);
    }
    let room = task.mm.writable_prefix(buf, len);
    if room == 0 {
        return Err(errno!(EFAULT));
    }
    let mut data = vec![0u8; room];
    random::fill(&mut data);
    task.mm.copy_out(buf, &data)?;
    Ok(room as u64)
}
