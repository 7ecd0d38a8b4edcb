//! Filesystems and other kinds of files the sentry serves.

pub mod dev;
pub mod gofer;
pub mod host;
pub mod pipe;
pub mod synthetic;
