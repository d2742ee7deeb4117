//! `[server]`: where and how the service listens.

use serde::Deserialize;

/// `[server]`: the listener, TLS and limits.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerSection {}
