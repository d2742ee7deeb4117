//! Writing to the host's log.
//!
//! Lines are tagged by the host with the step's name and cut at its size limit;
//! logging never changes a decision. Off wasm (unit tests) lines go to
//! [`crate::testing`].

use crate::LogLevel;

/// Writes one line at the given level.
pub fn log(level: LogLevel, message: &str) {
    crate::host::log(level, message);
}

/// Detail for the plugin's author.
pub fn debug(message: &str) {
    log(LogLevel::Debug, message);
}

/// Normal operation.
pub fn info(message: &str) {
    log(LogLevel::Info, message);
}

/// Something odd the operator may want to know.
pub fn warn(message: &str) {
    log(LogLevel::Warn, message);
}

/// Something failed.
pub fn error(message: &str) {
    log(LogLevel::Error, message);
}
