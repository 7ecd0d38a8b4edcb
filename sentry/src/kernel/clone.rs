//! clone, fork and vfork: new processes (and, with CLONE_VM, new threads).

use std::sync::Arc;

use tracing::warn;

use super::task::{Completion, ExitStatus, Task, TaskShared, ThreadGroup};
use crate::errno;
use crate::errno::Result;

/// clone's flag bits.
pub mod flags {
    pub const CSIGNAL: u64 = 0xff;
    pub const CLONE_VM: u64 = 0x100;
    pub const CLONE_FS: u64 = 0x200;
    pub const CLONE_FILES: u64 = 0x400;
    pub const CLONE_SIGHAND: u64 = 0x800;
    pub const CLONE_PIDFD: u64 = 0x1000;
    pub const CLONE_PTRACE: u64 = 0x2000;
    pub const CLONE_VFORK: u64 = 0x4000;
    pub const CLONE_PARENT: u64 = 0x8000;
    pub const CLONE_THREAD: u64 = 0x1_0000;
    pub const CLONE_NEWNS: u64 = 0x2_0000;
    pub const CLONE_SYSVSEM: u64 = 0x4_0000;
    pub const CLONE_SETTLS: u64 = 0x8_0000;
    pub const CLONE_PARENT_SETTID: u64 = 0x10_0000;
    pub const CLONE_CHILD_CLEARTID: u64 = 0x20_0000;
    pub const CLONE_DETACHED: u64 = 0x40_0000;
    pub const CLONE_UNTRACED: u64 = 0x80_0000;
    pub const CLONE_CHILD_SETTID: u64 = 0x100_0000;
    pub const CLONE_NEWCGROUP: u64 = 0x200_0000;
    pub const CLONE_NEWUTS: u64 = 0x400_0000;
    pub const CLONE_NEWIPC: u64 = 0x800_0000;
    pub const CLONE_NEWUSER: u64 = 0x1000_0000;
    pub const CLONE_NEWPID: u64 = 0x2000_0000;
    pub const CLONE_NEWNET: u64 = 0x4000_0000;
    pub const CLONE_IO: u64 = 0x8000_0000;
    pub const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
    /// Namespace flags: the sandbox does not nest namespaces yet.
    pub const NAMESPACES: u64 = CLONE_NEWNS
        | CLONE_NEWCGROUP
        | CLONE_NEWUTS
        | CLONE_NEWIPC
        | CLONE_NEWUSER
        | CLONE_NEWPID
        | CLONE_NEWNET;
}
use flags::*;

/// What clone was asked to do.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    /// CLONE_* flags (without the exit signal).
    pub flags: u64,
    /// Signal sent to the parent when the child exits.
    pub exit_signal: i32,
    /// New stack pointer (0: the parent's).
    pub stack: u64,
    /// Where CLONE_PARENT_SETTID writes the child's tid.
    pub parent_tid: u64,
    /// Where CLONE_CHILD_SETTID writes, and CLONE_CHILD_CLEARTID clears, the tid.
    pub child_tid: u64,
    /// CLONE_SETTLS: the child's fs base.
    pub tls: u64,
}

impl CloneArgs {
    /// Checks the flag combinations Linux rejects.
    fn validate(&self) -> Result<()> {
        let f = self.flags;
        if f & CLONE_THREAD != 0 && f & CLONE_SIGHAND == 0 {
            return Err(errno!(EINVAL));
        }
        if f & CLONE_SIGHAND != 0 && f & CLONE_VM == 0 {
            return Err(errno!(EINVAL));
        }
        if f & CLONE_FS != 0 && f & CLONE_NEWNS != 0 {
            return Err(errno!(EINVAL));
        }
        if f & CLONE_THREAD != 0 && f & CLONE_PIDFD != 0 {
            return Err(errno!(EINVAL));
        }
        if !(0..=64).contains(&self.exit_signal) {
            return Err(errno!(EINVAL));
        }
        if f & NAMESPACES & !CLONE_NEWNS != 0 {
            return Err(errno!(
                EPERM,
                "nested namespaces other than mount are not supported"
            ));
        }
        Ok(())
    }
}

impl Task {
    /// clone(2) family. Returns the child's tid.
    pub fn clone_task(&mut self, args: CloneArgs) -> Result<i32> {
        args.validate()?;
        if args.flags & CLONE_NEWNS != 0 && !self.creds.capable(super::caps::CAP_SYS_ADMIN) {
            return Err(errno!(EPERM));
        }
        if args.flags & CLONE_VM != 0 {
            return self.clone_vm(args);
        }
        self.fork_process(args)
    }

    /// A new thread group for a child process, inheriting what a child inherits.
    fn child_thread_group(&self, tid: i32) -> Arc<ThreadGroup> {
        let tg = ThreadGroup::new(tid);
        *tg.actions.lock() = self.tg.actions.lock().clone();
        *tg.limits.lock() = self.tg.limits.lock().clone();
        *tg.oom_score_adj.lock() = *self.tg.oom_score_adj.lock();
        *tg.pgid.lock() = *self.tg.pgid.lock();
        *tg.sid.lock() = *self.tg.sid.lock();
        *tg.tty.lock() = self.tg.tty.lock().clone();
        tg
    }

    /// Reserves a tid for a new task in `tg` (a new process unless `thread`), counted
    /// against the pids limit under the same lock.
    fn register_child(&self, args: &CloneArgs, thread: bool) -> Result<(i32, Arc<ThreadGroup>)> {
        let kernel = &self.kernel;
        let mut tree = kernel.tree.lock();
        if kernel.is_shutting_down() {
            return Err(errno!(ENOMEM, "the sandbox is shutting down"));
        }
        if tree.thread_count() >= kernel.options.pids_limit {
            return Err(errno!(EAGAIN, "sandbox pids limit reached"));
        }
        let tid = kernel.allocate_tid();
        let tg = if thread {
            self.tg.clone()
        } else {
            self.child_thread_group(tid)
        };
        let shared = TaskShared::new(tid);
        *shared.sched.lock() = self.shared.sched.lock().for_child();
        tree.add_thread(shared, tg.clone());
        if !thread {
            let parent = if args.flags & CLONE_PARENT != 0 {
                tree.parent_of(self.pid())
            } else {
                self.pid()
            };
            tree.add_process(tg.clone(), parent, args.exit_signal);
        }
        Ok((tid, tg))
    }

    /// Undoes [`Task::register_child`] when the child could not be started.
    fn unregister_child(&self, tid: i32, thread: bool) {
        let mut tree = self.kernel.tree.lock();
        tree.remove_thread(tid);
        if !thread {
            tree.forget_process(tid);
        }
    }

    /// A new process with a copy-on-write copy of this one.
    fn fork_process(&mut self, args: CloneArgs) -> Result<i32> {
        let (tid, tg) = self.register_child(&args, false)?;
        let prepared = (|| -> Result<(Arc<crate::mm::MemoryManager>, Vec<u8>)> {
            let child_mm = Arc::new(self.mm.fork()?);
            let space = self.mm.address_space();
            Ok((child_mm, self.ctx.fpstate(&space)?))
        })();
        let (child_mm, xsave) = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.unregister_child(tid, false);
                return Err(e);
            }
        };
        let mut child = self.new_child(tid, tg, child_mm, &args);
        self.init_child_state(&mut child, &args, tid)?;
        spawn_task_thread(child, Start::NewStub(xsave))?;
        Ok(tid)
    }

    /// A new thread, or a new process sharing this address space (vfork,
    /// posix_spawn): its host thread is a new thread of this task's stub.
    fn clone_vm(&mut self, args: CloneArgs) -> Result<i32> {
        let thread = args.flags & CLONE_THREAD != 0;
        let (tid, tg) = self.register_child(&args, thread)?;
        let space = self.mm.address_space();
        let token = match space.spawn_thread() {
            Ok(t) => t,
            Err(e) => {
                self.unregister_child(tid, thread);
                return Err(e);
            }
        };
        let mut child = self.new_child(tid, tg, self.mm.clone(), &args);
        self.init_child_state(&mut child, &args, tid)?;
        let vfork = (args.flags & CLONE_VFORK != 0).then(|| Arc::new(Completion::default()));
        child.vfork_done = vfork.clone();
        spawn_task_thread(child, Start::Attach(space, token))?;
        if let Some(done) = vfork {
            done.wait(self);
        }
        Ok(tid)
    }

    fn new_child(
        &self,
        tid: i32,
        tg: Arc<ThreadGroup>,
        mm: Arc<crate::mm::MemoryManager>,
        args: &CloneArgs,
    ) -> Task {
        let files = if args.flags & CLONE_FILES != 0 {
            self.files.clone()
        } else {
            Arc::new(self.files.fork())
        };
        let fs = if args.flags & CLONE_FS != 0 {
            self.fs.clone()
        } else if args.flags & CLONE_NEWNS != 0 {
            Arc::new(self.fs.fork_namespace())
        } else {
            Arc::new(self.fs.fork())
        };
        Task::new(
            self.kernel.clone(),
            tid,
            tg,
            mm,
            files,
            fs,
            self.creds.clone(),
            self.kernel.platform.new_context(),
        )
    }

    /// Registers and TLS of a new task, and the tid writes clone was asked for.
    fn init_child_state(&mut self, child: &mut Task, args: &CloneArgs, tid: i32) -> Result<()> {
        child.regs = self.regs;
        child.regs.set_return(0);
        child.regs.0.orig_rax = u64::MAX;
        if args.stack != 0 {
            child.regs.0.rsp = args.stack;
        }
        if args.flags & CLONE_SETTLS != 0 {
            child.regs.0.fs_base = args.tls;
        }
        child.set_signal_mask(self.signal_mask());
        // A new thread starts without an alternate stack; a new process keeps it.
        if args.flags & CLONE_THREAD == 0 {
            child.altstack = self.altstack;
        }
        child.set_comm(&self.comm());
        child.exe = self.exe.clone();
        self.inherit_seccomp(child);
        // /proc shows the child from the moment clone returns, not once it first runs.
        child.publish_view();
        if args.flags & CLONE_CHILD_CLEARTID != 0 {
            child.clear_child_tid = args.child_tid;
        }
        if args.flags & CLONE_CHILD_SETTID != 0 {
            child.mm.write_obj(args.child_tid, &tid)?;
        }
        if args.flags & CLONE_PARENT_SETTID != 0 {
            self.mm.write_obj(args.parent_tid, &tid)?;
        }
        Ok(())
    }
}

/// How a new task's host thread gets onto the platform.
enum Start {
    /// A forked process: a stub of its own (created, and so traced, by this thread),
    /// with the parent's FPU state.
    NewStub(Vec<u8>),
    /// A thread (or vfork child) sharing the parent's address space: take over the
    /// stub thread the parent made.
    Attach(Arc<dyn crate::platform::AddressSpace>, i64),
}

/// Runs `task` on a new host thread.
fn spawn_task_thread(mut task: Task, start: Start) -> Result<()> {
    let name = format!("task-{}", task.tid);
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let attached = match start {
                Start::Attach(space, token) => space.attach_thread(token),
                Start::NewStub(xsave) => {
                    let kernel = task.kernel.clone();
                    kernel
                        .platform
                        .new_address_space(kernel.memory_file.fd())
                        .map(|space| {
                            task.mm.set_address_space(space.clone());
                            if let Err(e) = task.ctx.set_fpstate(&space, &xsave) {
                                warn!(tid = task.tid, "cannot copy the FPU state: {e:?}");
                            }
                        })
                }
            };
            if let Err(e) = attached {
                warn!(
                    tid = task.tid,
                    "cannot start the task on the platform: {e:?}"
                );
                task.exit_group(ExitStatus::Signaled {
                    signo: libc::SIGKILL,
                    core: false,
                });
            }
            task.run();
        })
        .map(|_| ())
        .map_err(|e| errno!(EAGAIN, "cannot start a task thread: {e}"))
}
