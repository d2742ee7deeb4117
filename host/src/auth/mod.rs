//! Who is calling: API keys and JWTs mapped to an agent identity, so a service never takes
//! the principal from the request body.

use serde::Deserialize;

/// `[auth]`: the credentials a service accepts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuthSection {}
