//! State that outlives one decision and one process: sessions and their labels, shared by
//! replicas through PostgreSQL or kept in an embedded SQLite file.

use serde::Deserialize;

/// `[state]`: where session state is kept.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StateSection {}
