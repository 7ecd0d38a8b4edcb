//! The sentry: moat's application kernel.
//!
//! It holds all guest state — tasks, memory maps, file tables, mounts — and implements
//! Linux for guest programs whose every system call it catches. See ARCHITECTURE.md.
//!
//! Kernel logic is free of `unsafe`; raw pointers, ptrace and the stub live in
//! `platform`, and guest-memory copies in `mm::memfile`.

#![deny(unsafe_code)]

pub mod abi;
pub mod boot;
pub mod errno;
pub mod fs;
pub mod kernel;
pub mod loader;
#[allow(unsafe_code)]
pub mod mm;
pub mod net;
#[allow(unsafe_code)]
pub mod platform;
pub mod vfs;
