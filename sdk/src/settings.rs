//! Reading a step's settings.
//!
//! The chain config gives each step a table of settings. A value that is a string in
//! the config arrives as that string; anything else (tables, arrays, numbers,
//! booleans) arrives as JSON text. [`setting_json`] reads both kinds: it parses the
//! text as JSON and, when that fails and the text does not start like a JSON array,
//! object or string (`[`, `{`, `"`), takes the raw text as a JSON string. So
//! `setting_json::<String>("mode")` reads `mode = "deny"` from the config, and a JSON
//! document may also be given as a string; a broken JSON document is reported as such.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;

/// A setting that is present but could not be read as the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    /// The setting's key.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl SettingError {
    /// A new error about setting `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setting `{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for SettingError {}

/// A source of settings: the host ([`HostSettings`]) or a map ([`MapSettings`], handy
/// in tests). Write the plugin's logic against `&dyn Settings` (or `impl Settings`) to
/// test it without a host.
pub trait Settings {
    /// The raw text of setting `key`, if the step has it.
    fn get(&self, key: &str) -> Option<String>;

    /// The keys the step has settings for, sorted.
    fn keys(&self) -> Vec<String>;

    /// Refuses any key not in `known`: a misspelled setting must be an error, not a
    /// silently ignored value.
    ///
    /// ```
    /// use lampart_sdk::{MapSettings, Settings};
    /// let s = MapSettings::new().with("rule", "[]");
    /// let err = s.check_keys(&["rules", "default"]).unwrap_err();
    /// assert_eq!(err.to_string(), "setting `rule`: unknown setting (known: `rules`, `default`)");
    /// ```
    fn check_keys(&self, known: &[&str]) -> Result<(), SettingError> {
        match self
            .keys()
            .into_iter()
            .find(|key| !known.contains(&key.as_str()))
        {
            None => Ok(()),
            Some(key) => {
                let known: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                Err(SettingError::new(
                    key,
                    format!("unknown setting (known: {})", known.join(", ")),
                ))
            }
        }
    }

    /// Setting `key` read as JSON into `T` (see the [module docs](self)); `Ok(None)`
    /// when the step does not have it.
    fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SettingError>
    where
        Self: Sized,
    {
        parse_json(key, self.get(key))
    }
}

/// The step's settings, read from the host.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostSettings;

impl Settings for HostSettings {
    fn get(&self, key: &str) -> Option<String> {
        crate::host::setting(key)
    }

    fn keys(&self) -> Vec<String> {
        crate::host::setting_keys()
    }
}

/// Settings held in a map, e.g. for unit tests.
///
/// ```
/// use lampart_sdk::{MapSettings, Settings};
/// let s = MapSettings::new().with("limit", "10").with("mode", "deny");
/// assert_eq!(s.get_json::<u32>("limit").unwrap(), Some(10));
/// assert_eq!(s.get_json::<String>("mode").unwrap().as_deref(), Some("deny"));
/// assert_eq!(s.get("other"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapSettings(pub BTreeMap<String, String>);

impl MapSettings {
    /// No settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) one setting.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }
}

impl Settings for MapSettings {
    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn keys(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

impl<S: Settings + ?Sized> Settings for &S {
    fn get(&self, key: &str) -> Option<String> {
        (**self).get(key)
    }

    fn keys(&self) -> Vec<String> {
        (**self).keys()
    }
}

/// Reads setting `key` from the host, as raw text.
pub fn setting(key: &str) -> Option<String> {
    HostSettings.get(key)
}

/// Reads setting `key` from the host as JSON into `T` (see the [module docs](self)).
pub fn setting_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, SettingError> {
    HostSettings.get_json(key)
}

/// Parses a raw setting as JSON, falling back to the raw text as a JSON string.
pub fn parse_json<T: DeserializeOwned>(
    key: &str,
    raw: Option<String>,
) -> Result<Option<T>, SettingError> {
    let Some(raw) = raw else { return Ok(None) };
    match serde_json::from_str::<T>(&raw) {
        Ok(v) => Ok(Some(v)),
        Err(json_err) => {
            let looks_like_json = raw.trim_start().starts_with(['[', '{', '"']);
            if (json_err.is_syntax() || json_err.is_eof()) && !looks_like_json {
                // Not JSON at all: a plain string setting.
                if let Ok(v) = T::deserialize(serde_json::Value::String(raw)) {
                    return Ok(Some(v));
                }
            }
            Err(SettingError::new(key, json_err.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_plain_strings() {
        let s = MapSettings::new()
            .with("a", "[1,2]")
            .with("b", "plain")
            .with("c", "\"quoted\"")
            .with("d", "[1,");
        assert_eq!(s.get_json::<Vec<u8>>("a").unwrap(), Some(vec![1, 2]));
        assert_eq!(s.get_json::<String>("b").unwrap().as_deref(), Some("plain"));
        assert_eq!(
            s.get_json::<String>("c").unwrap().as_deref(),
            Some("quoted")
        );
        let err = s.get_json::<Vec<u8>>("d").unwrap_err();
        assert!(err.to_string().starts_with("setting `d`: EOF"), "{err}");
        let err = s.get_json::<serde_json::Value>("d").unwrap_err();
        assert!(err.to_string().starts_with("setting `d`: EOF"), "{err}");
        assert_eq!(
            s.get_json::<serde_json::Value>("b").unwrap(),
            Some(serde_json::Value::String("plain".into()))
        );
        let err = s.get_json::<Vec<u8>>("b").unwrap_err();
        assert!(
            err.to_string().starts_with("setting `b`: expected value"),
            "{err}"
        );
        assert_eq!(s.get_json::<Vec<u8>>("missing").unwrap(), None);
    }

    #[test]
    fn numbers_are_not_strings() {
        let s = MapSettings::new().with("n", "10");
        let err = s.get_json::<String>("n").unwrap_err();
        assert!(err.message.contains("invalid type"), "{err}");
    }
}
