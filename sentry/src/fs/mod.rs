//! Filesystems and other kinds of files the sentry serves.

pub mod dev;
pub mod epoll;
pub mod eventfd;
pub mod gofer;
pub mod host;
pub mod inotify;
pub mod memfd;
pub mod overlay;
pub mod pidfd;
pub mod pipe;
pub mod proc;
pub mod signalfd;
pub mod synthetic;
pub mod sys;
pub mod timerfd;
pub mod tmpfs;
pub mod tty;
