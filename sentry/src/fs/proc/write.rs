//! The procfs files that take writes: a thread's comm, a process's OOM adjustment
//! (oom_score_adj and the legacy oom_adj), the hostname and domainname sysctls and the
//! System V IPC limits.
//! Every other generated file refuses a write with EINVAL, as a Linux file without a
//! write method does.

use super::{FileKind, PidFile, ProcFile, SysFile};
use crate::errno;
use crate::errno::Result;
use crate::kernel::current_ids;

/// OOM_SCORE_ADJ_MAX; the minimum is its negation.
const OOM_SCORE_ADJ_MAX: i32 = 1000;
/// The legacy oom_adj range: OOM_DISABLE (-17) ..= OOM_ADJUST_MAX (15).
const OOM_DISABLE: i32 = -17;
const OOM_ADJUST_MAX: i32 = 15;
/// The longest sysctl string (the utsname fields hold 64 bytes and a NUL).
const UTS_LEN: usize = 64;

/// oom_adj as Linux derives it from oom_score_adj.
pub(super) fn legacy_oom_adj(score_adj: i16) -> i32 {
    let v = score_adj as i32;
    if v == OOM_SCORE_ADJ_MAX {
        OOM_ADJUST_MAX
    } else {
        v * -OOM_DISABLE / OOM_SCORE_ADJ_MAX
    }
}

impl ProcFile {
    /// write(2) at `offset`: how much was taken.
    pub(super) fn write(&self, buf: &[u8], offset: u64) -> Result<usize> {
        match self.kind {
            FileKind::Pid(PidFile::Comm) => self.write_comm(buf),
            FileKind::Pid(PidFile::OomScoreAdj) => self.write_oom(buf, false),
            FileKind::Pid(PidFile::OomAdj) => self.write_oom(buf, true),
            FileKind::Sys(SysFile::Hostname) | FileKind::Sys(SysFile::Domainname) => {
                self.write_uts(buf, offset)
            }
            FileKind::Sys(SysFile::Ipc(sysctl)) => {
                sysctl.write(&self.fs.kernel()?.ipc, buf)?;
                Ok(buf.len())
            }
            _ => Err(errno!(EINVAL)),
        }
    }

    /// Renames the thread (only a thread of the writer's own process), keeping at
    /// most 15 bytes; the whole write counts as taken.
    fn write_comm(&self, buf: &[u8]) -> Result<usize> {
        if current_ids().0 != self.tgid {
            return Err(errno!(EINVAL));
        }
        let (tg, _) = self.fs.process(self.tgid).map_err(|_| errno!(ESRCH))?;
        let task = tg
            .tasks
            .lock()
            .iter()
            .find(|t| t.tid == self.tid)
            .cloned()
            .ok_or_else(|| errno!(ESRCH))?;
        task.set_comm(&buf[..buf.len().min(15)]);
        Ok(buf.len())
    }

    /// oom_score_adj (-1000..=1000) or oom_adj (-17..=15): lowering the value below
    /// what a privileged writer last set needs CAP_SYS_RESOURCE (oom_adj: below the
    /// current value).
    fn write_oom(&self, buf: &[u8], legacy: bool) -> Result<usize> {
        // Linux reads at most 12 bytes (PROC_NUMBUF - 1).
        let text = &buf[..buf.len().min(12)];
        let value = parse_int(text).ok_or_else(|| errno!(EINVAL))?;
        let value = if legacy {
            if !(OOM_DISABLE..=OOM_ADJUST_MAX).contains(&value) {
                return Err(errno!(EINVAL));
            }
            if value == OOM_ADJUST_MAX {
                OOM_SCORE_ADJ_MAX
            } else {
                value * OOM_SCORE_ADJ_MAX / -OOM_DISABLE
            }
        } else {
            if !(-OOM_SCORE_ADJ_MAX..=OOM_SCORE_ADJ_MAX).contains(&value) {
                return Err(errno!(EINVAL));
            }
            value
        } as i16;
        let (tg, _) = self.fs.process(self.tgid).map_err(|_| errno!(ESRCH))?;
        let privileged = self
            .fs
            .reader()
            .is_some_and(|v| v.creds.capable(crate::kernel::caps::CAP_SYS_RESOURCE));
        let mut adj = tg.oom_score_adj.lock();
        let floor = if legacy { adj.value } else { adj.min };
        if value < floor && !privileged {
            return Err(errno!(EACCES));
        }
        adj.value = value;
        if !legacy && privileged {
            adj.min = value;
        }
        Ok(buf.len())
    }

    /// The hostname or domainname sysctl: the bytes written replace the name from
    /// `offset` on, up to a newline or NUL, as sethostname(2) would set it.
    fn write_uts(&self, buf: &[u8], offset: u64) -> Result<usize> {
        let kernel = self.fs.kernel()?;
        let mut uts = kernel.uts.lock();
        let name = match self.kind {
            FileKind::Sys(SysFile::Hostname) => &mut uts.hostname,
            _ => &mut uts.domainname,
        };
        let old = name.as_bytes();
        let kept = old.len().min(UTS_LEN);
        // Writes may continue a name but not leave a gap in it.
        if offset > kept as u64 {
            return Ok(buf.len());
        }
        let mut new = old[..offset as usize].to_vec();
        for &c in buf {
            if c == 0 || c == b'\n' || new.len() >= UTS_LEN {
                break;
            }
            new.push(c);
        }
        *name = String::from_utf8_lossy(&new).into_owned();
        Ok(buf.len())
    }
}

/// An integer as Linux's kstrtoint(s, 0) reads it after stripping white space: an
/// optional sign, then decimal, 0x hexadecimal or 0 octal digits, and at most one
/// trailing newline (already stripped here with the rest of the white space).
fn parse_int(text: &[u8]) -> Option<i32> {
    let s = std::str::from_utf8(text).ok()?;
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\0');
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, h)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    i32::try_from(if neg { -v } else { v }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_as_kstrtoint_with_base_0() {
        assert_eq!(parse_int(b" 5 \n"), Some(5));
        assert_eq!(parse_int(b"-1000"), Some(-1000));
        assert_eq!(parse_int(b"0x10"), Some(16));
        assert_eq!(parse_int(b"010"), Some(8));
        assert_eq!(parse_int(b"+7"), Some(7));
        assert_eq!(parse_int(b""), None);
        assert_eq!(parse_int(b"x"), None);
        assert_eq!(parse_int(b"1 2"), None);
        assert_eq!(parse_int(b"-"), None);
    }

    #[test]
    fn legacy_oom_adj_scales_and_saturates() {
        assert_eq!(legacy_oom_adj(0), 0);
        assert_eq!(legacy_oom_adj(1000), 15);
        assert_eq!(legacy_oom_adj(-1000), -17);
        assert_eq!(legacy_oom_adj(500), 8);
    }
}
