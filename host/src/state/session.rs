//! A session as both backends store it: its id, its owner, its labels and its times.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// The longest session id accepted, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 256;

/// A session id as the client chose it: 1 to 256 bytes of printable text (no control
/// characters, line separators or bidirectional controls).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(String);

/// Why a session id is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionIdError {
    /// It is empty.
    #[error("session id is empty")]
    Empty,
    /// It is longer than [`MAX_SESSION_ID_BYTES`].
    #[error("session id is {0} bytes long; the limit is {MAX_SESSION_ID_BYTES}")]
    TooLong(usize),
    /// It holds a character that is not printable.
    #[error("session id `{0}` holds a control character")]
    NotPrintable(String),
}

impl SessionId {
    /// Checks `id` and wraps it.
    pub fn new(id: impl Into<String>) -> Result<SessionId, SessionIdError> {
        let id = id.into();
        if id.is_empty() {
            return Err(SessionIdError::Empty);
        }
        if id.len() > MAX_SESSION_ID_BYTES {
            return Err(SessionIdError::TooLong(id.len()));
        }
        let escaped = crate::text::escape(&id);
        if escaped != id {
            return Err(SessionIdError::NotPrintable(escaped));
        }
        Ok(SessionId(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for SessionId {
    type Err = SessionIdError;
    fn from_str(id: &str) -> Result<SessionId, SessionIdError> {
        SessionId::new(id)
    }
}

impl TryFrom<String> for SessionId {
    type Error = SessionIdError;
    fn try_from(id: String) -> Result<SessionId, SessionIdError> {
        SessionId::new(id)
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A session as stored: times are kept to the millisecond. Serialised with its times as RFC
/// 3339 strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// The id the client chose.
    pub id: String,
    /// The agent that owns it: the first one that used it.
    pub agent: String,
    /// Its labels, sorted and without duplicates. They only ever accumulate.
    pub labels: Vec<String>,
    /// When it was started.
    #[serde(serialize_with = "rfc3339")]
    pub created: SystemTime,
    /// When it was last written: its last use, give or take the writes skipped while its
    /// expiry was far away (see [`Store::touch`](super::Store::touch)).
    #[serde(serialize_with = "rfc3339")]
    pub updated: SystemTime,
    /// When it expires unless used again.
    #[serde(serialize_with = "rfc3339")]
    pub expires: SystemTime,
}

impl Session {
    /// Whether the session has expired at `now`: an expired session is as if absent.
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires <= now
    }

    /// Whether every label of `labels` is already one of the session's.
    pub fn has_all(&self, labels: &[String]) -> bool {
        labels.iter().all(|l| self.labels.binary_search(l).is_ok())
    }

    /// Adds `labels` to the session's, keeping them sorted and unique. Returns whether any
    /// was new.
    pub(crate) fn add_labels(&mut self, labels: &[String]) -> bool {
        let mut added = false;
        for label in labels {
            if let Err(at) = self.labels.binary_search(label) {
                self.labels.insert(at, label.clone());
                added = true;
            }
        }
        added
    }
}

fn rfc3339<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_millis(*time))
}

/// `time` in milliseconds since the Unix epoch, as the stores keep it (earlier times count
/// as the epoch; later than `i64::MAX` ms as that).
pub(crate) fn to_millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The time `millis` milliseconds after the Unix epoch (negative counts as the epoch).
pub(crate) fn from_millis(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}

/// `duration` in milliseconds, at most `i64::MAX`.
pub(crate) fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// Labels sorted and without duplicates.
pub(crate) fn normalise(labels: &[String]) -> Vec<String> {
    let mut labels = labels.to_vec();
    labels.sort_unstable();
    labels.dedup();
    labels
}

/// What a use of a session at `now` must write, decided from what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Nothing: the session is the agent's, already has every label, and its expiry is more
    /// than 90% of the TTL away.
    Nothing,
    /// Start the session afresh (absent or expired): owner, times and labels all new.
    Start,
    /// Extend the session's expiry and add labels.
    Extend,
    /// Refuse: another agent owns the session.
    NotOwner(String),
}

/// Decides what a use of `stored` by `agent` at `now` (in ms), adding `labels`, must write.
pub(crate) fn plan(
    stored: Option<&Session>,
    agent: &str,
    labels: &[String],
    now: i64,
    ttl: i64,
) -> Plan {
    let Some(session) = stored else {
        return Plan::Start;
    };
    let expires = to_millis(session.expires);
    if expires <= now {
        return Plan::Start;
    }
    if session.agent != agent {
        return Plan::NotOwner(session.agent.clone());
    }
    // The write is skipped while more than 90% of the TTL remains.
    let far = ttl - ttl / 10;
    if session.has_all(labels) && expires.saturating_sub(now) > far {
        Plan::Nothing
    } else {
        Plan::Extend
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_checked() {
        assert_eq!(SessionId::new("s-1").unwrap().as_str(), "s-1");
        assert_eq!(SessionId::new("日本 🦀").unwrap().to_string(), "日本 🦀");
        assert_eq!(SessionId::new(""), Err(SessionIdError::Empty));
        assert!(SessionId::new("x".repeat(256)).is_ok());
        let err = SessionId::new("x".repeat(257)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "session id is 257 bytes long; the limit is 256"
        );
        for bad in ["a\nb", "tab\there", "\u{1b}[2K", "rtl\u{202e}", "del\u{7f}"] {
            let err = SessionId::new(bad).unwrap_err();
            assert!(matches!(err, SessionIdError::NotPrintable(_)), "{bad:?}");
            assert!(!err.to_string().contains('\n'));
        }
    }

    #[test]
    fn sessions_serialise_with_rfc3339_times() {
        let session = Session {
            id: "s".into(),
            agent: "a".into(),
            labels: vec!["pii".into()],
            created: from_millis(1_700_000_000_123),
            updated: from_millis(1_700_000_000_123),
            expires: from_millis(1_700_086_400_123),
        };
        let json = serde_json::to_value(&session).unwrap();
        assert_eq!(json["created"], "2023-11-14T22:13:20.123Z");
        assert_eq!(json["expires"], "2023-11-15T22:13:20.123Z");
        assert_eq!(json["labels"], serde_json::json!(["pii"]));
    }

    #[test]
    fn millis_round_trip_and_saturate() {
        assert_eq!(to_millis(from_millis(42)), 42);
        assert_eq!(to_millis(UNIX_EPOCH - Duration::from_secs(1)), 0);
        assert_eq!(from_millis(-5), UNIX_EPOCH);
    }

    #[test]
    fn a_busy_session_is_not_rewritten_until_a_tenth_of_its_ttl_has_passed() {
        let ttl = 1_000_000;
        let session = Session {
            id: "s".into(),
            agent: "a".into(),
            labels: vec!["x".into()],
            created: from_millis(0),
            updated: from_millis(0),
            expires: from_millis(ttl),
        };
        let x = ["x".to_string()];
        let y = ["y".to_string()];
        assert_eq!(plan(None, "a", &[], 0, ttl), Plan::Start);
        assert_eq!(plan(Some(&session), "a", &x, 0, ttl), Plan::Nothing);
        assert_eq!(plan(Some(&session), "a", &[], 99_999, ttl), Plan::Nothing);
        assert_eq!(plan(Some(&session), "a", &[], 100_000, ttl), Plan::Extend);
        assert_eq!(plan(Some(&session), "a", &y, 0, ttl), Plan::Extend);
        assert_eq!(
            plan(Some(&session), "b", &[], 0, ttl),
            Plan::NotOwner("a".into())
        );
        // Expired: anyone starts it afresh.
        assert_eq!(plan(Some(&session), "b", &[], ttl, ttl), Plan::Start);
    }
}
