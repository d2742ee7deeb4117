//! Native stand-ins for the host, for unit tests (not compiled for `wasm32`).
//!
//! Off wasm, [`crate::setting`] reads the settings installed here and [`crate::log`]
//! records lines here (and echoes them to stderr). Both are per thread, so tests
//! running in parallel do not see each other's settings.
//!
//! ```
//! use lampart_sdk::{setting, testing};
//! testing::with_settings(&[("mode", "deny")], || {
//!     assert_eq!(setting("mode").as_deref(), Some("deny"));
//!     lampart_sdk::log::warn("hello");
//! });
//! assert_eq!(setting("mode"), None);
//! let lines = testing::take_logs();
//! assert_eq!(lines.last().unwrap().1, "hello");
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::LogLevel;

thread_local! {
    static SETTINGS: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
    static LOGS: RefCell<Vec<(LogLevel, String)>> = const { RefCell::new(Vec::new()) };
}

/// Sets one setting for this thread.
pub fn set_setting(key: &str, value: &str) {
    SETTINGS.with(|s| s.borrow_mut().insert(key.to_owned(), value.to_owned()));
}

/// Removes every setting of this thread.
pub fn clear_settings() {
    SETTINGS.with(|s| s.borrow_mut().clear());
}

/// Runs `f` with exactly these settings, then clears them (also when `f` panics).
pub fn with_settings<R>(settings: &[(&str, &str)], f: impl FnOnce() -> R) -> R {
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            clear_settings();
        }
    }
    clear_settings();
    for (k, v) in settings {
        set_setting(k, v);
    }
    let _clear = Clear;
    f()
}

/// Takes the lines logged on this thread so far.
pub fn take_logs() -> Vec<(LogLevel, String)> {
    LOGS.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

pub(crate) fn setting_keys() -> Vec<String> {
    SETTINGS.with(|s| s.borrow().keys().cloned().collect())
}

pub(crate) fn lookup_setting(key: &str) -> Option<String> {
    SETTINGS.with(|s| s.borrow().get(key).cloned())
}

pub(crate) fn record_log(level: LogLevel, message: &str) {
    eprintln!("[{level:?}] {message}");
    LOGS.with(|l| l.borrow_mut().push((level, message.to_owned())));
}
