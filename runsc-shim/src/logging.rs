//! Logging for the internal roles: strace lines to stderr, everything else to the debug
//! log when one is given.

use std::fs::File;

use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Installs the subscriber for a role.
pub fn init(role: &'static str, log_fd: Option<i32>) {
    let strace = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_filter(filter_fn(|m| m.target() == "strace"));
    let debug = log_fd.and_then(crate::fds::adopt).map(|fd| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::sync::Mutex::new(File::from(fd)))
            .with_ansi(false)
            .with_thread_names(true)
            .with_filter(LevelFilter::DEBUG)
    });
    let errors = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_filter(LevelFilter::ERROR);
    let _ = tracing_subscriber::registry()
        .with(strace)
        .with(debug)
        .with(errors)
        .try_init();
    tracing::debug!(role, pid = std::process::id(), "started");
}
