//! `ChainConfig::parse` on arbitrary text: it never panics, and every error is one line that
//! starts by naming the file.

#![no_main]

use std::path::Path;

use lampart::config::ChainConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("chain.toml");
    match ChainConfig::parse(path, text) {
        Ok(config) => {
            // An accepted config has a step, and parsing is deterministic.
            assert!(!config.step.is_empty());
            assert!(ChainConfig::parse(path, text).is_ok());
        }
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.starts_with("config `chain.toml`"),
                "error does not name the file: {message:?}"
            );
            assert!(
                !message.contains(['\n', '\r']),
                "error spans lines: {message:?}"
            );
            if let Some(line) = e.line {
                assert!(
                    line >= 1 && line <= text.split('\n').count(),
                    "line {line} is not in the text: {message:?}"
                );
            }
        }
    }
});
