//! Path resolution: walking a path through dentries and mounts, following symlinks.

use std::sync::Arc;

use super::dentry::{MountNamespace, Path};
use super::inode::FileType;
use crate::errno;
use crate::errno::Result;
use crate::kernel::creds::Credentials;

/// Longest path, including the terminating NUL.
pub const PATH_MAX: usize = 4096;
/// Longest file name component.
pub const NAME_MAX: usize = 255;
/// Most symlinks followed while resolving one path (Linux's MAXSYMLINKS).
pub const MAX_SYMLINKS: u32 = 40;

/// Resolves paths for one task: its mount namespace, root and working directory.
pub struct Resolver<'a> {
    /// The mount namespace.
    pub mounts: &'a MountNamespace,
    /// The task's root (chroot) — `..` never climbs above it.
    pub root: &'a Path,
    /// Whose search permission on each directory is checked (None: the kernel's own
    /// lookups, unchecked).
    pub creds: Option<&'a Credentials>,
}

/// What the last component of a path turned out to be, for callers that create files.
pub struct ParentAndName {
    /// The directory the last component lives in.
    pub parent: Path,
    /// The last component (empty if the path was `/` or ended in `.`/`..`).
    pub name: Vec<u8>,
    /// The path ended with a slash.
    pub trailing_slash: bool,
    /// What kind of last component it was.
    pub last: LastComponent,
}

/// The kind of a path's last component (Linux's LAST_NORM/LAST_DOT/LAST_DOTDOT/
/// LAST_ROOT): calls that create or remove names treat the special ones specially.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LastComponent {
    /// An ordinary name.
    Normal,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// The path was `/`.
    Root,
}

impl Resolver<'_> {
    /// Resolves `path` from `start` (used when `path` is relative). `follow_last`:
    /// whether a symlink as the last component is followed (a trailing slash always
    /// follows it).
    pub fn resolve(&self, start: &Path, path: &[u8], follow_last: bool) -> Result<Path> {
        if path.is_empty() {
            return Err(errno!(ENOENT));
        }
        if path.len() >= PATH_MAX {
            return Err(errno!(ENAMETOOLONG));
        }
        let mut symlinks = 0;
        self.walk(start, path, follow_last, &mut symlinks)
    }

    /// Resolves all but the last component of `path`, for calls that create or remove
    /// the last one.
    pub fn resolve_parent(&self, start: &Path, path: &[u8]) -> Result<ParentAndName> {
        if path.is_empty() {
            return Err(errno!(ENOENT));
        }
        if path.len() >= PATH_MAX {
            return Err(errno!(ENAMETOOLONG));
        }
        let trimmed = trim_trailing_slashes(path);
        let trailing_slash = trimmed.len() != path.len();
        let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        let mut symlinks = 0;
        let parent = if dir.is_empty() {
            start.clone()
        } else {
            self.walk(start, dir, true, &mut symlinks)?
        };
        if parent.file_type() != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        if name.len() > NAME_MAX {
            return Err(errno!(ENAMETOOLONG));
        }
        let last = match name {
            b"." => LastComponent::Dot,
            b".." => LastComponent::DotDot,
            b"/" | b"" => LastComponent::Root,
            _ => LastComponent::Normal,
        };
        let name = if last == LastComponent::Normal {
            name.to_vec()
        } else {
            Vec::new()
        };
        Ok(ParentAndName {
            parent,
            name,
            trailing_slash,
            last,
        })
    }

    fn walk(
        &self,
        start: &Path,
        path: &[u8],
        follow_last: bool,
        symlinks: &mut u32,
    ) -> Result<Path> {
        let mut cur = if path.first() == Some(&b'/') {
            self.root.clone()
        } else {
            start.clone()
        };
        let trailing_slash = path.last() == Some(&b'/');
        let components: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        for (i, &name) in components.iter().enumerate() {
            let last = i + 1 == components.len();
            if cur.file_type() != FileType::Directory {
                return Err(errno!(ENOTDIR));
            }
            if name.len() > NAME_MAX {
                return Err(errno!(ENAMETOOLONG));
            }
            self.check_search(&cur)?;
            match name {
                b"." => continue,
                b".." => {
                    cur = self.parent_of(&cur);
                    continue;
                }
                _ => {}
            }
            let dentry = cur.dentry.child(name)?;
            let mut next = Path {
                mount: cur.mount.clone(),
                dentry,
            };
            if let Some(mounted) = self.mounts.mounted_at(&next) {
                next = mounted;
            }
            if next.file_type() == FileType::Symlink && (!last || follow_last || trailing_slash) {
                *symlinks += 1;
                if *symlinks > MAX_SYMLINKS {
                    return Err(errno!(ELOOP));
                }
                if let Some(place) = next.inode().magic_link() {
                    next = place?;
                } else {
                    let target = next.inode().readlink()?;
                    if target.is_empty() {
                        return Err(errno!(ENOENT));
                    }
                    next = self.walk(&cur, &target, true, symlinks)?;
                }
            }
            cur = next;
        }
        if trailing_slash && cur.file_type() != FileType::Directory {
            return Err(errno!(ENOTDIR));
        }
        Ok(cur)
    }

    /// EACCES unless the credentials may search directory `dir`.
    fn check_search(&self, dir: &Path) -> Result<()> {
        let Some(creds) = self.creds else {
            return Ok(());
        };
        let st = dir.inode().stat()?;
        if creds.may_access(false, st.mode, st.uid, st.gid, 1, true) {
            Ok(())
        } else {
            Err(errno!(EACCES))
        }
    }

    /// If `path` is the root of a mount other than the namespace root, the mountpoint
    /// it covers (what `..` and absolute paths continue from).
    fn covered_mountpoint(path: &Path) -> Option<Path> {
        if !Arc::ptr_eq(&path.dentry, path.mount.root()) {
            return None;
        }
        path.mount
            .mountpoint()
            .map(|(mount, dentry)| Path { mount, dentry })
    }

    /// The parent of `path`, staying at the task's root and crossing mount boundaries.
    pub fn parent_of(&self, path: &Path) -> Path {
        let mut cur = path.clone();
        while !cur.same(self.root) {
            if let Some(below) = Self::covered_mountpoint(&cur) {
                cur = below;
                continue;
            }
            let parent = cur.dentry.parent().unwrap_or_else(|| cur.dentry.clone());
            return Path {
                mount: cur.mount.clone(),
                dentry: parent,
            };
        }
        cur
    }

    /// The absolute path of `path` as seen from the task's root (for getcwd and /proc).
    /// The second value is false if `path` is not under the root (getcwd then prefixes
    /// "(unreachable)").
    pub fn absolute(&self, path: &Path) -> (Vec<u8>, bool) {
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut cur = path.clone();
        let reachable = loop {
            if cur.same(self.root) {
                break true;
            }
            if let Some(below) = Self::covered_mountpoint(&cur) {
                cur = below;
                continue;
            }
            let Some(parent) = cur.dentry.parent() else {
                break false;
            };
            parts.push(cur.dentry.name());
            cur = Path {
                mount: cur.mount.clone(),
                dentry: parent,
            };
        };
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        if out.is_empty() {
            out.push(b'/');
        }
        (out, reachable)
    }
}

fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}
