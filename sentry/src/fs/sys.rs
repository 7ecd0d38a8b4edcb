//! sysfs, minimal and honest: the CPU topology programs size their thread pools by,
//! and a cgroup v2 view of the sandbox's own limits. Nothing here comes from the
//! host's /sys.

use std::sync::Arc;

use super::synthetic::{StaticDir, StaticFile};
use crate::vfs::{anon_dev, Inode};

/// What the sandbox's sysfs describes.
pub struct SysConfig {
    /// CPUs the sandbox runs on.
    pub cpus: usize,
    /// The sandbox's task limit (pids.max).
    pub pids_limit: usize,
    /// The sandbox's memory limit in bytes (memory.max), if any.
    pub memory_limit: Option<u64>,
}

impl SysConfig {
    /// The sandbox's: every host CPU it may run on, its task and memory limits.
    pub fn for_sandbox(kernel: &crate::kernel::Kernel) -> SysConfig {
        SysConfig {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            pids_limit: kernel.options.pids_limit,
            memory_limit: kernel.memory_file.limit(),
        }
    }
}

/// The root of a new sysfs.
pub fn new_sysfs(config: &SysConfig) -> Arc<dyn Inode> {
    let dev = anon_dev();
    let file = |s: String| -> Arc<dyn Inode> { StaticFile::new(dev, s.into_bytes()) };
    let dir = |c: Vec<(&str, Arc<dyn Inode>)>| -> Arc<dyn Inode> { StaticDir::new(dev, c) };
    let n = config.cpus.max(1);
    let range = if n == 1 {
        "0\n".to_string()
    } else {
        format!("0-{}\n", n - 1)
    };
    let names: Vec<String> = (0..n).map(|i| format!("cpu{i}")).collect();
    let mut cpu_children: Vec<(&str, Arc<dyn Inode>)> = vec![
        ("online", file(range.clone())),
        ("possible", file(range.clone())),
        ("present", file(range.clone())),
        ("offline", file("\n".to_string())),
        ("kernel_max", file(format!("{}\n", n - 1))),
    ];
    for (i, name) in names.iter().enumerate() {
        // Each CPU its own core of one package: the sandbox promises no more.
        let topology = dir(vec![
            ("core_id", file(format!("{i}\n"))),
            ("physical_package_id", file("0\n".to_string())),
            ("thread_siblings_list", file(format!("{i}\n"))),
            ("core_siblings_list", file(range.clone())),
            ("core_cpus_list", file(format!("{i}\n"))),
            ("package_cpus_list", file(range.clone())),
        ]);
        cpu_children.push((
            name,
            dir(vec![
                ("online", file("1\n".to_string())),
                ("topology", topology),
            ]),
        ));
    }
    let cgroup = dir(vec![
        ("cgroup.controllers", file("cpu memory pids\n".to_string())),
        ("cpu.max", file("max 100000\n".to_string())),
        (
            "memory.max",
            file(
                config
                    .memory_limit
                    .map_or("max\n".to_string(), |b| format!("{b}\n")),
            ),
        ),
        ("pids.max", file(format!("{}\n", config.pids_limit))),
    ]);
    dir(vec![
        (
            "devices",
            dir(vec![("system", dir(vec![("cpu", dir(cpu_children))]))]),
        ),
        ("fs", dir(vec![("cgroup", cgroup)])),
        ("kernel", dir(Vec::new())),
        ("class", dir(Vec::new())),
        ("bus", dir(Vec::new())),
    ])
}
