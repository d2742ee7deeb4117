//! Quarantined agents: every decision of a quarantined agent is denied, on every replica,
//! until an operator releases it.

use std::time::SystemTime;

use serde::{Serialize, Serializer};

use super::session::{from_millis, to_millis};

/// An agent in quarantine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quarantine {
    /// The agent.
    pub agent: String,
    /// Why: an operator's words, or the detector that fired and what it counted.
    pub reason: String,
    /// Who: an operator's credential, or `detector:<name>`.
    pub by: String,
    /// Since when.
    #[serde(serialize_with = "rfc3339")]
    pub since: SystemTime,
}

impl Quarantine {
    /// The columns as stored: agent, reason, by, since in ms.
    pub(crate) fn columns(&self) -> (&str, &str, &str, i64) {
        (&self.agent, &self.reason, &self.by, to_millis(self.since))
    }

    /// A quarantine from its stored columns.
    pub(crate) fn from_columns(agent: String, reason: String, by: String, since_ms: i64) -> Self {
        Quarantine {
            agent,
            reason,
            by,
            since: from_millis(since_ms),
        }
    }
}

fn rfc3339<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_millis(*time))
}
