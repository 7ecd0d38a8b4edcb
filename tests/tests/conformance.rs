//! Guest programs agree with Linux: each runs natively and under `moat do`,
//! static and dynamic, and both runs must exit the same way and print the
//! same lines. The guests (tests/guest/*.c) state what each line must be; the
//! native run proves those expectations on the host kernel.

use moat_tests::{
    assert_guest_matches_native, assert_same_as_native, fixture, fixtures_dir, guest, Linkage,
};
use Linkage::{Dynamic, Static};

#[test]
fn files_static_matches_native() {
    assert_guest_matches_native(guest("files", Static), &[fixtures_dir()]);
}

#[test]
fn files_dynamic_matches_native() {
    assert_guest_matches_native(guest("files", Dynamic), &[fixtures_dir()]);
}

#[test]
fn fds_static_matches_native() {
    assert_guest_matches_native(guest("fds", Static), &[]);
}

#[test]
fn fds_dynamic_matches_native() {
    assert_guest_matches_native(guest("fds", Dynamic), &[]);
}

#[test]
fn mm_static_matches_native() {
    assert_guest_matches_native(guest("mm", Static), &[fixtures_dir()]);
}

#[test]
fn mm_dynamic_matches_native() {
    assert_guest_matches_native(guest("mm", Dynamic), &[fixtures_dir()]);
}

#[test]
fn info_static_matches_native() {
    assert_guest_matches_native(guest("info", Static), &[]);
}

#[test]
fn info_dynamic_matches_native() {
    assert_guest_matches_native(guest("info", Dynamic), &[]);
}

#[test]
fn efault_static_matches_native() {
    assert_guest_matches_native(guest("efault", Static), &[fixtures_dir()]);
}

#[test]
fn efault_dynamic_matches_native() {
    assert_guest_matches_native(guest("efault", Dynamic), &[fixtures_dir()]);
}

#[test]
fn rawsyscall_static_matches_native() {
    assert_guest_matches_native(guest("rawsyscall", Static), &[]);
}

#[test]
fn rawsyscall_dynamic_matches_native() {
    assert_guest_matches_native(guest("rawsyscall", Dynamic), &[]);
}

#[test]
fn hello_static_sees_same_argv_and_environment_as_native() {
    assert_guest_matches_native(guest("hello", Static), &["one", "two words", ""]);
}

#[test]
fn hello_dynamic_sees_same_argv_and_environment_as_native() {
    assert_guest_matches_native(guest("hello", Dynamic), &["one", "two words", ""]);
}

#[test]
fn cat_static_reads_fixture_like_native() {
    let file = fixture("file.txt");
    assert_guest_matches_native(guest("cat", Static), &[file.to_str().unwrap()]);
}

#[test]
fn cat_dynamic_reads_fixture_like_native() {
    let file = fixture("file.txt");
    assert_guest_matches_native(guest("cat", Dynamic), &[file.to_str().unwrap()]);
}

#[test]
fn exit_status_7_static_matches_native() {
    let native = assert_same_as_native(guest("exit_codes", Static), &["7"]);
    assert_eq!(native.status, 7);
}

#[test]
fn exit_status_7_dynamic_matches_native() {
    let native = assert_same_as_native(guest("exit_codes", Dynamic), &["7"]);
    assert_eq!(native.status, 7);
}

#[test]
fn exit_status_0_static_matches_native() {
    let native = assert_same_as_native(guest("exit_codes", Static), &["0"]);
    assert_eq!(native.status, 0);
}

#[test]
fn exit_status_255_dynamic_matches_native() {
    let native = assert_same_as_native(guest("exit_codes", Dynamic), &["255"]);
    assert_eq!(native.status, 255);
}

#[test]
fn exit_status_is_taken_modulo_256_like_native() {
    let native = assert_same_as_native(guest("exit_codes", Static), &["258"]);
    assert_eq!(native.status, 2);
}

#[test]
fn null_write_static_dies_of_sigsegv_like_native() {
    let native = assert_same_as_native(guest("segv", Static), &[]);
    assert_eq!(native.status, 128 + 11);
}

#[test]
fn null_write_dynamic_dies_of_sigsegv_like_native() {
    let native = assert_same_as_native(guest("segv", Dynamic), &[]);
    assert_eq!(native.status, 128 + 11);
}

#[test]
fn abort_static_dies_of_sigabrt_like_native() {
    let native = assert_same_as_native(guest("abort", Static), &[]);
    assert_eq!(native.status, 128 + 6);
}

#[test]
fn abort_dynamic_dies_of_sigabrt_like_native() {
    let native = assert_same_as_native(guest("abort", Dynamic), &[]);
    assert_eq!(native.status, 128 + 6);
}

#[test]
fn signals_static_matches_native() {
    assert_guest_matches_native(guest("signals", Static), &[]);
}

#[test]
fn signals_dynamic_matches_native() {
    assert_guest_matches_native(guest("signals", Dynamic), &[]);
}

#[test]
fn auxv_and_initial_stack_static_match_native() {
    assert_guest_matches_native(guest("auxv", Static), &[]);
}

#[test]
fn auxv_and_initial_stack_dynamic_match_native() {
    assert_guest_matches_native(guest("auxv", Dynamic), &[]);
}

#[test]
fn execve_errors_and_script_chains_static_match_native() {
    assert_guest_matches_native(guest("exec", Static), &[fixtures_dir()]);
}

#[test]
fn execve_errors_and_script_chains_dynamic_match_native() {
    assert_guest_matches_native(guest("exec", Dynamic), &[fixtures_dir()]);
}

#[test]
fn signal_frames_handlers_and_restarts_static_match_native() {
    assert_guest_matches_native(guest("sigframes", Static), &[]);
}

#[test]
fn signal_frames_handlers_and_restarts_dynamic_match_native() {
    assert_guest_matches_native(guest("sigframes", Dynamic), &[]);
}

#[test]
fn processes_fork_wait_signals_groups_static_match_native() {
    assert_guest_matches_native(guest("procs", Static), &[]);
}

#[test]
fn processes_fork_wait_signals_groups_dynamic_match_native() {
    assert_guest_matches_native(guest("procs", Dynamic), &[]);
}

#[test]
fn threads_futexes_vfork_and_exec_from_thread_static_match_native() {
    assert_guest_matches_native(guest("threads", Static), &[]);
}

#[test]
fn threads_futexes_vfork_and_exec_from_thread_dynamic_match_native() {
    assert_guest_matches_native(guest("threads", Dynamic), &[]);
}

#[test]
fn readiness_poll_select_epoll_eventfd_timerfd_timers_pidfd_static_match_native() {
    assert_guest_matches_native(guest("readiness", Static), &[]);
}

#[test]
fn readiness_poll_select_epoll_eventfd_timerfd_timers_pidfd_dynamic_match_native() {
    assert_guest_matches_native(guest("readiness", Dynamic), &[]);
}

#[test]
fn memfd_names_shared_mappings_and_seals_static_match_native() {
    assert_guest_matches_native(guest("memfd", Static), &[]);
}

#[test]
fn memfd_names_shared_mappings_and_seals_dynamic_match_native() {
    assert_guest_matches_native(guest("memfd", Dynamic), &[]);
}

#[test]
fn signalfd_records_readiness_fork_exec_and_errors_static_match_native() {
    assert_guest_matches_native(guest("signalfd", Static), &[]);
}

#[test]
fn signalfd_records_readiness_fork_exec_and_errors_dynamic_match_native() {
    assert_guest_matches_native(guest("signalfd", Dynamic), &[]);
}

#[test]
fn sched_nice_values_policies_attrs_and_permissions_static_match_native() {
    assert_guest_matches_native(guest("sched", Static), &[]);
}

#[test]
fn sched_nice_values_policies_attrs_and_permissions_dynamic_match_native() {
    assert_guest_matches_native(guest("sched", Dynamic), &[]);
}

#[test]
fn remote_process_vm_kcmp_pidfd_getfd_and_advice_static_match_native() {
    assert_guest_matches_native(guest("remote", Static), &[]);
}

#[test]
fn remote_process_vm_kcmp_pidfd_getfd_and_advice_dynamic_match_native() {
    assert_guest_matches_native(guest("remote", Dynamic), &[]);
}

#[test]
fn openat2_open_how_checks_static_match_native() {
    assert_guest_matches_native(guest("openat2", Static), &[]);
}

#[test]
fn openat2_open_how_checks_dynamic_match_native() {
    assert_guest_matches_native(guest("openat2", Dynamic), &[]);
}

#[test]
fn cpu_time_accounting_clocks_and_cpu_timers_static_match_native() {
    assert_guest_matches_native(guest("cputime", Static), &[]);
}

#[test]
fn cpu_time_accounting_clocks_and_cpu_timers_dynamic_match_native() {
    assert_guest_matches_native(guest("cputime", Dynamic), &[]);
}

// The scratch directory is made in /tmp: natively the host's, under moat the host's
// /tmp seen through the overlay root (changes stay in the sandbox).
#[test]
fn file_creation_removal_rename_attributes_and_xattrs_static_match_native() {
    assert_guest_matches_native(guest("fsmutate", Static), &["/tmp"]);
}

#[test]
fn file_creation_removal_rename_attributes_and_xattrs_dynamic_match_native() {
    assert_guest_matches_native(guest("fsmutate", Dynamic), &["/tmp"]);
}

// flock, POSIX record and OFD locks on a mkstemp file in /tmp (the overlay's, under moat).
#[test]
fn file_locks_flock_posix_and_ofd_static_match_native() {
    assert_guest_matches_native(guest("locks", Static), &["/tmp"]);
}

#[test]
fn file_locks_flock_posix_and_ofd_dynamic_match_native() {
    assert_guest_matches_native(guest("locks", Dynamic), &["/tmp"]);
}

// sendfile, splice, tee, copy_file_range and vmsplice, with the scratch files in /tmp
// (the host's natively, the overlay's under moat) and /dev/shm for a second filesystem.
#[test]
fn splice_tee_sendfile_copy_file_range_static_match_native() {
    assert_guest_matches_native(guest("splice", Static), &["/tmp"]);
}

#[test]
fn splice_tee_sendfile_copy_file_range_dynamic_match_native() {
    assert_guest_matches_native(guest("splice", Dynamic), &["/tmp"]);
}

// inotify watches on a directory and its files in /tmp and /dev/shm (tmpfs both
// natively and under moat): every event of every operation, in order.
#[test]
fn inotify_events_and_watch_rules_static_match_native() {
    assert_guest_matches_native(guest("inotify", Static), &["/tmp", "/dev/shm"]);
}

#[test]
fn inotify_events_and_watch_rules_dynamic_match_native() {
    assert_guest_matches_native(guest("inotify", Dynamic), &["/tmp", "/dev/shm"]);
}

// mount, umount2, bind mounts, remount, MS_MOVE, noexec, chroot, pivot_root and
// unshare(CLONE_NEWNS), natively in a private mount namespace (the host's mounts are
// never touched) and under moat.
#[test]
fn mount_umount_bind_chroot_pivot_root_static_match_native() {
    assert_guest_matches_native(guest("mount", Static), &["/tmp"]);
}

#[test]
fn mount_umount_bind_chroot_pivot_root_dynamic_match_native() {
    assert_guest_matches_native(guest("mount", Dynamic), &["/tmp"]);
}

// Pseudo-terminals: devpts, the line discipline, controlling terminals and job control.
#[test]
fn pty_line_discipline_and_job_control_static_match_native() {
    assert_guest_matches_native(guest("pty", Static), &[]);
}

#[test]
fn pty_line_discipline_and_job_control_dynamic_match_native() {
    assert_guest_matches_native(guest("pty", Dynamic), &[]);
}

// Unix domain sockets: socketpairs, connect/accept on a path in a scratch directory
// under /tmp (the overlay's, under moat) and on abstract names, datagrams, SCM_RIGHTS
// and SCM_CREDENTIALS across fork, shutdown and SIGPIPE, readiness and a 1 MiB transfer.
#[test]
fn unix_sockets_static_match_native() {
    assert_guest_matches_native(guest("unix", Static), &["/tmp"]);
}

#[test]
fn unix_sockets_dynamic_match_native() {
    assert_guest_matches_native(guest("unix", Dynamic), &["/tmp"]);
}

// Capabilities: capget/capset, the bounding and ambient sets over execve, set*id
// fixups, securebits, and privileged calls failing once their capability is dropped
// (natively as root, narrowed first to a fixed list so nothing depends on the host's).
#[test]
fn caps_sets_transitions_and_checks_static_match_native() {
    assert_guest_matches_native(guest("caps", Static), &["/tmp"]);
}

#[test]
fn caps_sets_transitions_and_checks_dynamic_match_native() {
    assert_guest_matches_native(guest("caps", Dynamic), &["/tmp"]);
}

// The vDSO, found through AT_SYSINFO_EHDR and its own symbol table: clocks agreeing
// with the clock_gettime system call, never going back (threads, fork), [vdso] and
// [vvar] in maps, and a vDSO again after fork and exec.
#[test]
fn vdso_clocks_symbols_maps_fork_and_exec_static_match_native() {
    assert_guest_matches_native(guest("vdso", Static), &[]);
}

#[test]
fn vdso_clocks_symbols_maps_fork_and_exec_dynamic_match_native() {
    assert_guest_matches_native(guest("vdso", Dynamic), &[]);
}

// seccomp filters a guest attaches to itself: load-time checks, every action, stacked
// filters, strict mode, fork/exec inheritance, TSYNC, no_new_privs, restart_syscall.
#[test]
fn seccomp_filters_actions_strict_mode_and_tsync_static_match_native() {
    assert_guest_matches_native(guest("seccomp", Static), &[]);
}

#[test]
fn seccomp_filters_actions_strict_mode_and_tsync_dynamic_match_native() {
    assert_guest_matches_native(guest("seccomp", Dynamic), &[]);
}

// System V IPC, the sandbox's own namespace (natively, the host's: the guest uses only
// IPC_PRIVATE and pid-derived keys, and removes what it makes): shared memory shared
// across fork and between attachments, IPC_RMID while attached, semaphores blocking and
// waking between processes with SEM_UNDO at exit, message type selection, and errnos.
#[test]
fn sysvipc_shm_sem_msg_static_match_native() {
    assert_guest_matches_native(guest("sysvipc", Static), &[]);
}

#[test]
fn sysvipc_shm_sem_msg_dynamic_match_native() {
    assert_guest_matches_native(guest("sysvipc", Dynamic), &[]);
}

// POSIX message queues: priorities, blocking, non-blocking and timed sends and receives
// between processes, poll readiness, mq_notify signals and the errno cases (natively the
// host's queues: the name carries the pid and is unlinked).
#[test]
fn posix_message_queues_static_match_native() {
    assert_guest_matches_native(guest("mqueue", Static), &[]);
}

#[test]
fn posix_message_queues_dynamic_match_native() {
    assert_guest_matches_native(guest("mqueue", Dynamic), &[]);
}
