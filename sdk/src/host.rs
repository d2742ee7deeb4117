//! The host imports: `log`, `setting` and `setting-keys`.
//!
//! On `wasm32` they call the host. Anywhere else (native unit tests) wit-bindgen's
//! import stubs would panic, so they go to a per-thread stand-in instead, which
//! [`crate::testing`] fills and reads.

use crate::LogLevel;

#[cfg(target_arch = "wasm32")]
pub(crate) fn log(level: LogLevel, message: &str) {
    crate::bindings::policy::lampart::plugin::host::log(level, message);
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn setting(key: &str) -> Option<String> {
    crate::bindings::policy::lampart::plugin::host::setting(key)
}

#[cfg(target_arch = "wasm32")]
pub(crate) fn setting_keys() -> Vec<String> {
    crate::bindings::policy::lampart::plugin::host::setting_keys()
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn setting_keys() -> Vec<String> {
    crate::testing::setting_keys()
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn log(level: LogLevel, message: &str) {
    crate::testing::record_log(level, message);
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn setting(key: &str) -> Option<String> {
    crate::testing::lookup_setting(key)
}
