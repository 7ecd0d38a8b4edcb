//! devfs: the sandbox's own /dev. Device nodes are served by the sentry; no host device
//! is ever opened for the guest.

use std::sync::Arc;

use super::synthetic::{StaticDir, StaticSymlink, SyntheticAttr};
use super::tty::devpts::{ConsoleNode, DevPts, DevTtyNode, PtmxNode};
use crate::errno;
use crate::errno::Result;
use crate::vfs::{anon_dev, makedev, File, FileOps, FileType, Inode, SeekWhence, Stat};

/// The character devices devfs provides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharDevice {
    /// /dev/null (1:3): reads EOF, swallows writes.
    Null,
    /// /dev/zero (1:5): reads zeros, swallows writes.
    Zero,
    /// /dev/full (1:7): reads zeros, writes fail with ENOSPC.
    Full,
    /// /dev/random (1:8).
    Random,
    /// /dev/urandom (1:9).
    Urandom,
}

impl CharDevice {
    fn rdev(self) -> u64 {
        match self {
            CharDevice::Null => makedev(1, 3),
            CharDevice::Zero => makedev(1, 5),
            CharDevice::Full => makedev(1, 7),
            CharDevice::Random => makedev(1, 8),
            CharDevice::Urandom => makedev(1, 9),
        }
    }

    fn mode(self) -> u32 {
        0o666
    }
}

/// A device node inode.
pub struct DeviceNode {
    attr: SyntheticAttr,
    device: CharDevice,
}

impl DeviceNode {
    /// A node for `device` on filesystem `dev`.
    pub fn new(dev: u64, device: CharDevice) -> Arc<DeviceNode> {
        let mut attr = SyntheticAttr::new(dev, libc::S_IFCHR | device.mode());
        attr.rdev = device.rdev();
        Arc::new(DeviceNode { attr, device })
    }
}

impl Inode for DeviceNode {
    fn fs_id(&self) -> usize {
        self.attr.dev as usize
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn stat(&self) -> Result<Stat> {
        Ok(self.attr.stat(0, 1))
    }

    fn file_type(&self) -> FileType {
        FileType::CharDevice
    }

    fn open(self: Arc<Self>, _flags: u32) -> Result<Arc<dyn FileOps>> {
        Ok(Arc::new(DeviceFile {
            device: self.device,
            node: self,
        }))
    }
}

/// Opens the device numbered `rdev` through `node` (a device node of any filesystem:
/// its attributes are the file's); None if the sandbox has no such device.
pub fn open_device(rdev: u64, node: Arc<dyn Inode>) -> Option<Arc<dyn FileOps>> {
    let device = [
        CharDevice::Null,
        CharDevice::Zero,
        CharDevice::Full,
        CharDevice::Random,
        CharDevice::Urandom,
    ]
    .into_iter()
    .find(|d| d.rdev() == rdev)?;
    Some(Arc::new(DeviceFile { device, node }))
}

struct DeviceFile {
    device: CharDevice,
    node: Arc<dyn Inode>,
}

impl FileOps for DeviceFile {
    fn supports_epoll(&self) -> bool {
        false
    }

    fn supports_pread(&self) -> bool {
        true
    }

    // As Linux's drivers/char/mem.c: /dev/null has no splice_read, /dev/full no
    // splice_write.
    fn can_splice_read(&self) -> bool {
        self.device != CharDevice::Null
    }

    fn can_splice_write(&self) -> bool {
        self.device != CharDevice::Full
    }

    fn read(&self, _file: &File, buf: &mut [u8], _offset: Option<u64>) -> Result<usize> {
        match self.device {
            CharDevice::Null => Ok(0),
            CharDevice::Zero | CharDevice::Full => {
                buf.fill(0);
                Ok(buf.len())
            }
            CharDevice::Random | CharDevice::Urandom => {
                crate::kernel::random::fill(buf);
                Ok(buf.len())
            }
        }
    }

    fn write(&self, _file: &File, buf: &[u8], _offset: Option<u64>) -> Result<usize> {
        match self.device {
            CharDevice::Full => Err(errno!(ENOSPC)),
            _ => Ok(buf.len()),
        }
    }

    fn seek(&self, _file: &File, _current: u64, _offset: i64, _whence: SeekWhence) -> Result<u64> {
        // Character devices accept any seek and stay at 0.
        Ok(0)
    }

    fn stat(&self) -> Result<Stat> {
        self.node.stat()
    }
}

/// The root directory of a new devfs instance; its /dev/ptmx opens ptys in `devpts`
/// (mounted on its `pts` directory).
pub fn new_devfs(devpts: Arc<DevPts>) -> Arc<dyn Inode> {
    let dev = anon_dev();
    let node = |d| -> Arc<dyn Inode> { DeviceNode::new(dev, d) };
    let link = |t| -> Arc<dyn Inode> { StaticSymlink::new(dev, t) };
    StaticDir::new(
        dev,
        vec![
            ("null", node(CharDevice::Null)),
            ("zero", node(CharDevice::Zero)),
            ("full", node(CharDevice::Full)),
            ("random", node(CharDevice::Random)),
            ("urandom", node(CharDevice::Urandom)),
            ("tty", DevTtyNode::new(dev)),
            ("console", ConsoleNode::new(dev)),
            ("ptmx", PtmxNode::new_in_devfs(dev, devpts)),
            // Where the sandbox mounts its devpts.
            ("pts", StaticDir::new(dev, Vec::new())),
            // Where the sandbox mounts its POSIX shared memory tmpfs.
            ("shm", StaticDir::new(dev, Vec::new())),
            ("fd", link("/proc/self/fd")),
            ("stdin", link("/proc/self/fd/0")),
            ("stdout", link("/proc/self/fd/1")),
            ("stderr", link("/proc/self/fd/2")),
        ],
    )
}
