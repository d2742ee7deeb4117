//! Elevations as both backends store them: an agent's request for privilege scopes for a
//! task, and — once the chain or an operator grants it — the grant itself, until it
//! expires or is revoked.
//!
//! One row holds the whole life of one request:
//!
//! ```text
//!   pending ──approve──▶ granted ──expiry──▶ expired
//!      │                    └──revoke / task end / remediation──▶ revoked
//!      ├──deny──▶ denied
//!      ├──expiry──▶ expired          (nobody decided in time)
//!      └──task end / remediation──▶ revoked
//! ```
//!
//! The chain may grant at once (`granted`) or deny at once (`denied`) without passing
//! through `pending`. Only `pending` and `granted` can change; every change is one
//! conditional update (`WHERE state = … AND expires_ms > now`), so two operators, or two
//! replicas, acting on one request at once cannot both succeed.
//!
//! `expires` means: for a pending request, when it lapses undecided; for a grant, when it
//! ends. A row past its `expires` is as good as expired even before the sweep marks it so.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use super::session::{from_millis, to_millis};

/// Where an elevation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ElevationState {
    /// Waiting for an operator.
    Pending,
    /// Granted: its scopes are the agent's in its session (and task) until it expires.
    Granted,
    /// Refused, by the chain or by an operator.
    Denied,
    /// Lapsed: a grant past its TTL, or a request nobody decided in time.
    Expired,
    /// Ended early: by an operator, by the end of its task, or by remediation.
    Revoked,
}

impl ElevationState {
    /// The state's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ElevationState::Pending => "pending",
            ElevationState::Granted => "granted",
            ElevationState::Denied => "denied",
            ElevationState::Expired => "expired",
            ElevationState::Revoked => "revoked",
        }
    }

    /// The state named `name`.
    pub fn parse(name: &str) -> Option<ElevationState> {
        [
            ElevationState::Pending,
            ElevationState::Granted,
            ElevationState::Denied,
            ElevationState::Expired,
            ElevationState::Revoked,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }

    /// Whether the state can still change.
    pub fn is_open(self) -> bool {
        matches!(self, ElevationState::Pending | ElevationState::Granted)
    }
}

impl fmt::Display for ElevationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One elevation: the request, and the grant it became. Times are kept to the millisecond
/// and serialised as RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Elevation {
    /// Its id, `elv-<uuid v7>`.
    pub id: String,
    /// The agent that asked; only it can use the grant.
    pub agent: String,
    /// The session the grant is bound to.
    pub session: String,
    /// The task the grant is bound to: when set, only decisions naming this task hold it,
    /// and ending the task revokes it.
    pub task: Option<String>,
    /// The scopes asked for, sorted and unique.
    pub scopes: Vec<String>,
    /// Why the agent says it needs them.
    pub justification: String,
    /// How long the grant lasts once granted.
    #[serde(serialize_with = "seconds")]
    pub ttl: Duration,
    /// Where it is in its life (as stored: see [`Elevation::state_at`]).
    pub state: ElevationState,
    /// The id of the chain's decision on the request (the `elevation` phase).
    pub decision: String,
    /// Who decided: `chain` or the operator's credential.
    pub decided_by: Option<String>,
    /// The reason given with a denial or a revocation.
    pub reason: Option<String>,
    /// When it was asked for.
    #[serde(serialize_with = "rfc3339")]
    pub created: SystemTime,
    /// When it was granted or denied.
    #[serde(serialize_with = "rfc3339_opt")]
    pub decided: Option<SystemTime>,
    /// Pending: when the request lapses. Granted: when the grant ends.
    #[serde(serialize_with = "rfc3339")]
    pub expires: SystemTime,
    /// When it was revoked or found expired.
    #[serde(serialize_with = "rfc3339_opt")]
    pub ended: Option<SystemTime>,
    /// Who revoked it: an operator's credential, `task-end`, or a detector.
    pub ended_by: Option<String>,
}

impl Elevation {
    /// The state at `now`: an open elevation past its `expires` is expired.
    pub fn state_at(&self, now: SystemTime) -> ElevationState {
        if self.state.is_open() && self.expires <= now {
            ElevationState::Expired
        } else {
            self.state
        }
    }

    /// Whether it grants its scopes to a decision of `agent` in `session` about `task` at
    /// `now`.
    pub fn applies(&self, agent: &str, session: &str, task: Option<&str>, now: SystemTime) -> bool {
        self.state_at(now) == ElevationState::Granted
            && self.agent == agent
            && self.session == session
            && match &self.task {
                None => true,
                Some(bound) => task == Some(bound.as_str()),
            }
    }
}

/// A change to an open elevation, applied only if it is still in the state the change
/// expects and not past its `expires`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Pending → granted, lasting `ttl` from `at`.
    Approve {
        /// The operator's credential.
        by: String,
        /// How long the grant lasts.
        ttl: Duration,
    },
    /// Pending → denied.
    Deny {
        /// The operator's credential.
        by: String,
        /// Why.
        reason: String,
    },
    /// Pending or granted → revoked.
    Revoke {
        /// Who: an operator's credential, `task-end`, a detector.
        by: String,
        /// Why.
        reason: String,
    },
}

impl Transition {
    /// The states the change may start from.
    pub fn from(&self) -> &'static [ElevationState] {
        match self {
            Transition::Approve { .. } | Transition::Deny { .. } => &[ElevationState::Pending],
            Transition::Revoke { .. } => &[ElevationState::Pending, ElevationState::Granted],
        }
    }

    /// Applies the change to `elevation` at `now`, if it may; returns whether it did.
    pub fn apply(&self, elevation: &mut Elevation, now: SystemTime) -> bool {
        if !self.from().contains(&elevation.state) || elevation.expires <= now {
            return false;
        }
        let now = from_millis(to_millis(now));
        match self {
            Transition::Approve { by, ttl } => {
                elevation.state = ElevationState::Granted;
                elevation.decided_by = Some(by.clone());
                elevation.decided = Some(now);
                elevation.ttl = *ttl;
                elevation.expires = now + *ttl;
            }
            Transition::Deny { by, reason } => {
                elevation.state = ElevationState::Denied;
                elevation.decided_by = Some(by.clone());
                elevation.decided = Some(now);
                elevation.reason = Some(reason.clone());
            }
            Transition::Revoke { by, reason } => {
                elevation.state = ElevationState::Revoked;
                elevation.ended = Some(now);
                elevation.ended_by = Some(by.clone());
                elevation.reason = Some(reason.clone());
            }
        }
        true
    }
}

/// Marks `elevation` expired if it is open and past its `expires` at `now`; returns whether
/// it did. It ended when it expired, not when this noticed.
pub fn expire(elevation: &mut Elevation, now: SystemTime) -> bool {
    if elevation.state_at(now) != ElevationState::Expired || !elevation.state.is_open() {
        return false;
    }
    elevation.state = ElevationState::Expired;
    elevation.ended = Some(elevation.expires);
    true
}

/// What a change asked of an open elevation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// It was made: the elevation as it is now.
    Yes(Elevation),
    /// It could not be: the elevation is not in a state it applies to (decided, ended, or
    /// past its `expires`), as it is now.
    No(Elevation),
    /// There is no elevation with that id.
    Missing,
}

/// Which elevations a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElevationFilter {
    /// Only this agent's.
    pub agent: Option<String>,
    /// Only those in this state at the time of listing.
    pub state: Option<ElevationState>,
    /// Only those bound to this task.
    pub task: Option<String>,
}

impl ElevationFilter {
    /// Whether `elevation` is shown at `now`.
    pub fn shows(&self, elevation: &Elevation, now: SystemTime) -> bool {
        self.agent.as_ref().is_none_or(|a| *a == elevation.agent)
            && self.state.is_none_or(|s| s == elevation.state_at(now))
            && self
                .task
                .as_ref()
                .is_none_or(|t| elevation.task.as_ref() == Some(t))
    }
}

/// An elevation as a row: the columns both backends store, in [`COLUMNS`] order.
pub(crate) struct Row {
    pub id: String,
    pub agent: String,
    pub session_id: String,
    pub task: Option<String>,
    pub scopes: String,
    pub justification: String,
    pub ttl_ms: i64,
    pub state: String,
    pub decision: String,
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    pub created_ms: i64,
    pub decided_ms: Option<i64>,
    pub expires_ms: i64,
    pub ended_ms: Option<i64>,
    pub ended_by: Option<String>,
}

/// The columns of the `elevations` table, in [`Row`] order.
pub(crate) const COLUMNS: &str = "id, agent, session_id, task, scopes, justification, ttl_ms, state, decision, decided_by, reason, created_ms, decided_ms, expires_ms, ended_ms, ended_by";

impl Row {
    /// The row of `elevation`.
    pub(crate) fn of(elevation: &Elevation) -> Row {
        Row {
            id: elevation.id.clone(),
            agent: elevation.agent.clone(),
            session_id: elevation.session.clone(),
            task: elevation.task.clone(),
            scopes: serde_json::to_string(&elevation.scopes).unwrap_or_else(|_| "[]".into()),
            justification: elevation.justification.clone(),
            ttl_ms: super::session::duration_millis(elevation.ttl),
            state: elevation.state.as_str().to_owned(),
            decision: elevation.decision.clone(),
            decided_by: elevation.decided_by.clone(),
            reason: elevation.reason.clone(),
            created_ms: to_millis(elevation.created),
            decided_ms: elevation.decided.map(to_millis),
            expires_ms: to_millis(elevation.expires),
            ended_ms: elevation.ended.map(to_millis),
            ended_by: elevation.ended_by.clone(),
        }
    }

    /// Reads a row of [`COLUMNS`] from either backend.
    pub(crate) fn read<R: sqlx::Row>(row: &R) -> Result<Row, sqlx::Error>
    where
        usize: sqlx::ColumnIndex<R>,
        for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        Ok(Row {
            id: row.try_get(0)?,
            agent: row.try_get(1)?,
            session_id: row.try_get(2)?,
            task: row.try_get(3)?,
            scopes: row.try_get(4)?,
            justification: row.try_get(5)?,
            ttl_ms: row.try_get(6)?,
            state: row.try_get(7)?,
            decision: row.try_get(8)?,
            decided_by: row.try_get(9)?,
            reason: row.try_get(10)?,
            created_ms: row.try_get(11)?,
            decided_ms: row.try_get(12)?,
            expires_ms: row.try_get(13)?,
            ended_ms: row.try_get(14)?,
            ended_by: row.try_get(15)?,
        })
    }

    /// The elevation the row holds; a row this code could not have written is an error.
    pub(crate) fn into_elevation(self) -> Result<Elevation, sqlx::Error> {
        let corrupt =
            |what: &str| sqlx::Error::Decode(format!("elevation {}: {what}", self.id).into());
        let state = ElevationState::parse(&self.state).ok_or_else(|| corrupt("unknown state"))?;
        let scopes: Vec<String> =
            serde_json::from_str(&self.scopes).map_err(|_| corrupt("scopes are not a list"))?;
        Ok(Elevation {
            scopes,
            state,
            ttl: Duration::from_millis(u64::try_from(self.ttl_ms).unwrap_or(0)),
            created: from_millis(self.created_ms),
            decided: self.decided_ms.map(from_millis),
            expires: from_millis(self.expires_ms),
            ended: self.ended_ms.map(from_millis),
            id: self.id,
            agent: self.agent,
            session: self.session_id,
            task: self.task,
            justification: self.justification,
            decision: self.decision,
            decided_by: self.decided_by,
            reason: self.reason,
            ended_by: self.ended_by,
        })
    }
}

fn seconds<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(duration.as_secs())
}

fn rfc3339<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_millis(*time))
}

fn rfc3339_opt<S: Serializer>(time: &Option<SystemTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match time {
        Some(time) => rfc3339(time, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn pending() -> Elevation {
        Elevation {
            id: "elv-1".into(),
            agent: "bot".into(),
            session: "s".into(),
            task: Some("t".into()),
            scopes: vec!["payments:large".into()],
            justification: "invoice".into(),
            ttl: Duration::from_secs(600),
            state: ElevationState::Pending,
            decision: "d".into(),
            decided_by: None,
            reason: None,
            created: at(0),
            decided: None,
            expires: at(3600),
            ended: None,
            ended_by: None,
        }
    }

    #[test]
    fn approval_starts_the_grant_s_ttl() {
        let mut e = pending();
        let approve = Transition::Approve {
            by: "ops".into(),
            ttl: Duration::from_secs(300),
        };
        assert!(approve.apply(&mut e, at(100)));
        assert_eq!(e.state, ElevationState::Granted);
        assert_eq!(e.expires, at(400));
        assert!(e.applies("bot", "s", Some("t"), at(399)));
        assert!(!e.applies("bot", "s", Some("t"), at(400)), "expired");
        assert!(!e.applies("bot", "s", None, at(200)), "another task");
        assert!(
            !e.applies("bot", "s2", Some("t"), at(200)),
            "another session"
        );
        assert!(!e.applies("eve", "s", Some("t"), at(200)), "another agent");
        assert_eq!(e.state_at(at(400)), ElevationState::Expired);
        // Decided once only.
        assert!(!approve.apply(&mut e, at(200)));
    }

    #[test]
    fn nothing_changes_a_closed_or_lapsed_elevation() {
        let mut e = pending();
        let deny = Transition::Deny {
            by: "ops".into(),
            reason: "no".into(),
        };
        assert!(!deny.apply(&mut e, at(3600)), "lapsed");
        assert!(deny.apply(&mut e, at(10)));
        let revoke = Transition::Revoke {
            by: "ops".into(),
            reason: "r".into(),
        };
        assert!(!revoke.apply(&mut e, at(20)), "denied is final");
    }

    #[test]
    fn rows_round_trip() {
        let e = pending();
        let back = Row::of(&e).into_elevation().unwrap();
        assert_eq!(back, e);
        let mut row = Row::of(&e);
        row.state = "limbo".into();
        assert!(row.into_elevation().is_err());
    }
}
