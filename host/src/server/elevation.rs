//! Privilege elevation: an agent asks for scopes for a task, the chain decides (the
//! `elevation` phase), an operator approves or denies what the chain held, and the grant
//! ends by itself — at its TTL, when its task ends, or when it is revoked.
//!
//! Every step is an audit record: the chain's decision on the request (a decision record of
//! phase `elevation`), then events `elevation.granted`, `elevation.held`,
//! `elevation.denied`, `elevation.approved`, `elevation.revoked` and `elevation.expired`.
//! A decision that used a grant names it in its record (`grants_used`).
//!
//! What the chain sees: `action.tool` is [`TOOL`], `action.args` holds `scopes`,
//! `justification`, `ttl` (seconds) and, when the agent gave it, `decision` (the id of the
//! decision that required the scopes). Its verdict becomes:
//!
//! | chain verdict | the request |
//! |---|---|
//! | allow | granted at once, by the chain |
//! | elevation-required (a policy requires e.g. `approval:human`) | held for an operator |
//! | deny by the chain's default (no policy decided) | held, or denied with `[elevation] undecided = "deny"` |
//! | any other deny | denied |

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::Service;
use super::config::Undecided;
use super::decide::{decide_recorded, state_error};
use super::error::ApiError;
use super::events;
use crate::auth::Identity;
use crate::chain::{Reason, Verdict};
use crate::request::{Action, Phase, Principal, Request};
use crate::state::{Changed, Elevation, ElevationFilter, ElevationState, SessionId, Transition};

/// The tool name a request for privileges is decided under.
pub const TOOL: &str = "lampart.elevate";

/// The most scopes one request may ask for.
pub const MAX_SCOPES: usize = 32;
/// The longest scope, in bytes.
pub const MAX_SCOPE_BYTES: usize = 128;
/// The longest justification or reason, in bytes.
pub const MAX_TEXT_BYTES: usize = 2048;
/// The longest task id, in bytes.
pub const MAX_TASK_BYTES: usize = 256;

/// An agent's request for privileges, as `POST /v1/elevations` takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    /// The session the grant is for.
    pub session: String,
    /// The task the grant is for; ending it revokes the grant.
    #[serde(default)]
    pub task: Option<String>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Why the agent needs them.
    pub justification: String,
    /// How long the grant should last (`"10m"`); `[elevation] default-ttl` when absent.
    #[serde(default)]
    pub ttl: Option<String>,
    /// The decision that required the scopes, when the agent is answering one.
    #[serde(default)]
    pub decision: Option<String>,
}

/// An operator's approval (`POST /v1/elevations/{id}/approve`); every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// How long the grant lasts from now; the TTL the agent asked for when absent.
    #[serde(default)]
    pub ttl: Option<String>,
    /// A note kept in the audit record.
    #[serde(default)]
    pub note: Option<String>,
}

/// A denial or revocation (`…/deny`, `…/revoke`, `/v1/tasks/{id}/end`); every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Refuse {
    /// Why; kept in the elevation and the audit record.
    #[serde(default)]
    pub reason: Option<String>,
    /// Ending a task as an operator: whose task it is.
    #[serde(default)]
    pub agent: Option<String>,
}

/// Decides on an agent's request for privileges and stores the outcome.
pub async fn ask(service: &Service, identity: &Identity, ask: Ask) -> Result<Value, ApiError> {
    let agent = identity.agent.clone().ok_or_else(|| {
        ApiError::forbidden(
            "this credential is an operator's and names no agent, so it cannot ask for privileges",
        )
    })?;
    let section = service.host.current().config().elevation.clone();
    let session =
        SessionId::new(ask.session.clone()).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let scopes = scopes(&ask.scopes)?;
    text("justification", &ask.justification, true)?;
    if let Some(task) = &ask.task {
        bounded("task", task, MAX_TASK_BYTES)?;
    }
    let ttl = match &ask.ttl {
        None => section.default_ttl,
        Some(text) => ttl(text, section.max_ttl)?,
    };

    let mut roles = identity.roles.clone();
    roles.sort();
    let mut args = Map::new();
    args.insert("scopes".into(), json!(scopes));
    args.insert("justification".into(), json!(ask.justification));
    args.insert("ttl".into(), json!(ttl.as_secs()));
    if let Some(decision) = &ask.decision {
        bounded("decision", decision, MAX_TASK_BYTES)?;
        args.insert("decision".into(), json!(decision));
    }
    let request = Request {
        id: None,
        phase: Phase::Elevation,
        principal: Principal {
            agent: agent.clone(),
            roles,
            session: session.to_string(),
            task: ask.task.clone(),
        },
        action: Action {
            tool: TOOL.to_owned(),
            args: Value::Object(args),
            resource: None,
        },
        output: None,
        grants: Vec::new(),
        labels: Vec::new(),
    };
    let decided = decide_recorded(service, identity, request).await?;
    let decision = &decided.decision;
    let now = service.now();
    let (state, decided_by, reason, expires) = match (decision.verdict, &decision.reason) {
        (Verdict::Allow, _) => (ElevationState::Granted, Some("chain"), None, now + ttl),
        (Verdict::Deny, Reason::ChainDefault { .. }) if section.undecided == Undecided::Hold => (
            ElevationState::Pending,
            None,
            None,
            now + section.pending_ttl,
        ),
        (Verdict::ElevationRequired, _) => (
            ElevationState::Pending,
            None,
            None,
            now + section.pending_ttl,
        ),
        (Verdict::Deny, reason) => (
            ElevationState::Denied,
            Some("chain"),
            Some(reason.to_string()),
            now,
        ),
    };
    let elevation = Elevation {
        id: format!("elv-{}", uuid::Uuid::now_v7()),
        agent,
        session: session.to_string(),
        task: ask.task,
        scopes,
        justification: ask.justification,
        ttl,
        state,
        decision: decision.id.clone(),
        decided_by: decided_by.map(str::to_owned),
        reason,
        created: now,
        decided: (state != ElevationState::Pending).then_some(now),
        expires,
        ended: None,
        ended_by: None,
    };
    let event = match state {
        ElevationState::Granted => "elevation.granted",
        ElevationState::Pending => "elevation.held",
        _ => "elevation.denied",
    };
    // Recorded before it is stored: no grant is ever in force without its record.
    events::record(service, event, fields(&elevation, Some(identity))).await?;
    service
        .store
        .insert_elevation(&elevation)
        .await
        .map_err(|e| state_error(service, e))?;
    let mut answer = json!(elevation);
    answer["explanation"] = json!(decision.reason.to_string());
    Ok(answer)
}

/// Applies an operator's or an agent's change to one elevation, records it, and answers the
/// elevation as it is now: 404 unknown (or another agent's), 409 when its state does not
/// allow the change.
pub async fn change(
    service: &Service,
    identity: &Identity,
    id: &str,
    change: Transition,
) -> Result<Value, ApiError> {
    let now = service.now();
    if !identity.operator {
        // An agent may only give up its own privileges.
        let own = service
            .store
            .elevation(id)
            .await
            .map_err(|e| state_error(service, e))?
            .is_some_and(|e| Some(&e.agent) == identity.agent.as_ref());
        if !own {
            return Err(not_found(id));
        }
    }
    let elevation = match service
        .store
        .transition(id, &change, now)
        .await
        .map_err(|e| state_error(service, e))?
    {
        Changed::Missing => return Err(not_found(id)),
        Changed::No(elevation) => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "conflict",
                format!(
                    "elevation `{id}` is {}, so it cannot be {}",
                    elevation.state_at(now),
                    match change {
                        Transition::Approve { .. } => "approved",
                        Transition::Deny { .. } => "denied",
                        Transition::Revoke { .. } => "revoked",
                    }
                ),
            ));
        }
        Changed::Yes(elevation) => elevation,
    };
    let event = match &change {
        Transition::Approve { .. } => "elevation.approved",
        Transition::Deny { .. } => "elevation.denied",
        Transition::Revoke { .. } => "elevation.revoked",
    };
    if let Err(err) = events::record(service, event, fields(&elevation, Some(identity))).await {
        if matches!(change, Transition::Approve { .. }) {
            // An approval that cannot be recorded is taken back.
            let undo = Transition::Revoke {
                by: "lampart".into(),
                reason: "the approval could not be recorded".into(),
            };
            let _ = service.store.transition(id, &undo, now).await;
        }
        return Err(err);
    }
    Ok(json!(elevation))
}

/// Revokes every open elevation of `agent` bound to `task` and records each revocation.
pub async fn end_task(
    service: &Service,
    identity: &Identity,
    agent: &str,
    task: &str,
) -> Result<Value, ApiError> {
    bounded("task", task, MAX_TASK_BYTES)?;
    let change = Transition::Revoke {
        by: "task-end".into(),
        reason: format!("task `{task}` ended"),
    };
    let revoked = service
        .store
        .revoke_all(agent, Some(task), &change, service.now())
        .await
        .map_err(|e| state_error(service, e))?;
    for elevation in &revoked {
        events::record(
            service,
            "elevation.revoked",
            fields(elevation, Some(identity)),
        )
        .await?;
    }
    let ids: Vec<&str> = revoked.iter().map(|e| e.id.as_str()).collect();
    Ok(json!({ "agent": agent, "task": task, "revoked": ids }))
}

/// Marks every elevation past its time as expired and records each. Returns how many.
pub async fn sweep(service: &Service) -> Result<usize, ApiError> {
    let expired = service
        .store
        .expire_elevations(service.now())
        .await
        .map_err(|e| state_error(service, e))?;
    for elevation in &expired {
        events::record(service, "elevation.expired", fields(elevation, None)).await?;
    }
    Ok(expired.len())
}

/// The elevations `identity` may see that `filter` shows: an agent sees only its own.
pub async fn list(
    service: &Service,
    identity: &Identity,
    mut filter: ElevationFilter,
    limit: usize,
) -> Result<Value, ApiError> {
    if !identity.operator {
        filter.agent = identity.agent.clone();
    }
    let found = service
        .store
        .elevations(&filter, service.now(), limit)
        .await
        .map_err(|e| state_error(service, e))?;
    Ok(json!({ "elevations": found }))
}

/// One elevation, for an operator or the agent that asked for it.
pub async fn get(service: &Service, identity: &Identity, id: &str) -> Result<Value, ApiError> {
    let found = service
        .store
        .elevation(id)
        .await
        .map_err(|e| state_error(service, e))?
        .filter(|e| identity.operator || Some(&e.agent) == identity.agent.as_ref())
        .ok_or_else(|| not_found(id))?;
    let mut answer = json!(found);
    answer["state"] = json!(found.state_at(service.now()));
    Ok(answer)
}

/// The TTL `text` asks for, refused above `max`.
pub fn ttl(text: &str, max: Duration) -> Result<Duration, ApiError> {
    let ttl = humantime::parse_duration(text).map_err(|e| {
        ApiError::bad_request(format!(
            "`ttl` `{text}` is not a duration like \"10m\": {e}"
        ))
    })?;
    if ttl.is_zero() {
        return Err(ApiError::bad_request("`ttl` must be longer than zero"));
    }
    if ttl > max {
        return Err(ApiError::bad_request(format!(
            "`ttl` {} is longer than [elevation] max-ttl {}",
            humantime::format_duration(ttl),
            humantime::format_duration(max)
        )));
    }
    Ok(ttl)
}

/// A reason or note: at most [`MAX_TEXT_BYTES`], without control characters.
pub fn text(field: &str, text: &str, required: bool) -> Result<(), ApiError> {
    if required && text.trim().is_empty() {
        return Err(ApiError::bad_request(format!("`{field}` is empty")));
    }
    bounded(field, text, MAX_TEXT_BYTES)
}

fn bounded(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.len() > max {
        return Err(ApiError::bad_request(format!(
            "`{field}` is {} bytes long; the limit is {max}",
            text.len()
        )));
    }
    if crate::text::escape(text) != text {
        return Err(ApiError::bad_request(format!(
            "`{field}` holds a control character"
        )));
    }
    Ok(())
}

/// The scopes asked for, checked, sorted and unique.
fn scopes(asked: &[String]) -> Result<Vec<String>, ApiError> {
    if asked.is_empty() {
        return Err(ApiError::bad_request(
            "`scopes` is empty: ask for at least one",
        ));
    }
    if asked.len() > MAX_SCOPES {
        return Err(ApiError::bad_request(format!(
            "`scopes` holds {} scopes; the limit is {MAX_SCOPES}",
            asked.len()
        )));
    }
    for scope in asked {
        let fine = !scope.is_empty()
            && scope.len() <= MAX_SCOPE_BYTES
            && scope.bytes().all(|b| b.is_ascii_graphic() && b != b',');
        if !fine {
            return Err(ApiError::bad_request(format!(
                "scope `{}` is not 1 to {MAX_SCOPE_BYTES} printable ASCII characters without spaces or commas",
                crate::text::escape(scope)
            )));
        }
    }
    let mut scopes = asked.to_vec();
    scopes.sort_unstable();
    scopes.dedup();
    Ok(scopes)
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!(
        "no elevation `{}` of yours",
        crate::text::escape(id)
    ))
}

/// An event record's fields for `elevation`, changed by `identity` (by the service itself
/// when `None`).
fn fields(elevation: &Elevation, identity: Option<&Identity>) -> Map<String, Value> {
    let mut fields = match json!(elevation) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    // The elevation's own id goes under `elevation`: `id` is a decision's in the log.
    if let Some(id) = fields.remove("id") {
        fields.insert("elevation".into(), id);
    }
    if let Some(identity) = identity {
        fields.insert("credential".into(), json!(identity.credential.to_string()));
    }
    fields
}
