//! One decision through the service: the session's labels in, the chain's verdict, the
//! audit record made durable, the session's new labels stored, and only then the answer.
//!
//! Fail closed: when the record cannot be made durable or the session's labels cannot be
//! read or stored, the caller gets an error (503), never a verdict it could act on. A
//! quarantined agent's request is denied without running the chain. Detectors see every
//! decision once it is recorded, and what they do (a quarantine, a revocation) is done
//! before the decision is answered.

use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Service;
use super::error::ApiError;
use crate::audit::Receipt;
use crate::auth::Identity;
use crate::chain::{Decision, Reason, StepVerdict};
use crate::record;
use crate::request::Request;
use crate::state::{Elevation, SessionId, StateError};

/// A decision made, recorded and applied to its session.
#[derive(Debug)]
pub struct Decided {
    /// The chain's decision.
    pub decision: Decision,
    /// Where the audit log holds its record, when the service keeps one.
    pub receipt: Option<Receipt>,
    /// The grants whose scopes a policy required and the agent held through them.
    pub grants_used: Vec<String>,
}

/// Decides on one request made by `identity` and answers what `check` prints for it.
pub async fn decide(
    service: &Service,
    identity: &Identity,
    request: Request,
) -> Result<Value, ApiError> {
    let decided = decide_recorded(service, identity, request).await?;
    Ok(record::decision_output(
        &decided.decision,
        decided.receipt.as_ref().map(|r| (r.seq, r.hash.as_str())),
    ))
}

/// Decides on one request made by `identity`: the session's labels and grants in, the
/// decision recorded durably, the session's new labels stored. Every transport (the HTTP
/// API, the MCP proxy) decides through this.
///
/// The request's grants are the scopes of the elevations granted to its agent in its
/// session (and task) that are in force now; whatever the request held is replaced. A
/// request without a session holds none.
pub async fn decide_recorded(
    service: &Service,
    identity: &Identity,
    mut request: Request,
) -> Result<Decided, ApiError> {
    let agent = request.principal.agent.clone();
    let session = match request.principal.session.as_str() {
        "" => None,
        id => Some(SessionId::new(id).map_err(|e| ApiError::bad_request(e.to_string()))?),
    };
    let now = service.now();
    if let Some(id) = &session {
        let stored = service
            .store
            .session(id, &agent, now)
            .await
            .map_err(|e| state_error(service, e))?;
        if let Some(stored) = stored {
            request.labels = stored.labels;
        }
    }
    let grants = match &session {
        None => Vec::new(),
        Some(id) => service
            .store
            .grants(&agent, id, request.principal.task.as_deref(), now)
            .await
            .map_err(|e| state_error(service, e))?,
    };
    let mut scopes: Vec<String> = grants.iter().flat_map(|g| g.scopes.clone()).collect();
    scopes.sort_unstable();
    scopes.dedup();
    request.grants = scopes;
    let quarantine = service
        .store
        .quarantined(&agent)
        .await
        .map_err(|e| state_error(service, e))?;
    let _slot = service.admit()?;
    let started = Instant::now();
    let loaded = service.host.current();
    let decision = match quarantine {
        // The chain does not run for a quarantined agent; the refusal is recorded all the same.
        Some(q) => loaded.chain().refuse(
            request,
            Reason::Quarantined {
                by: q.by,
                reason: q.reason,
            },
        ),
        None => loaded.decide(request),
    };
    let grants_used = used(&decision, &grants);
    let record = loaded.record(&decision).map(|mut record| {
        // Which credential spoke for the agent: the record shows how the principal was known.
        record.insert("credential".into(), json!(identity.credential.to_string()));
        if !grants_used.is_empty() {
            record.insert("grants_used".into(), json!(grants_used));
        }
        record
    });
    drop(loaded);
    service.metrics.decision(&decision, started.elapsed());

    let receipt = match record.and_then(|record| service.host.submit(record)) {
        None => None,
        Some(pending) => Some(pending.durable().await.map_err(|e| {
            tracing::error!(error = %e, "audit record not durable; the decision is withheld");
            ApiError::unavailable(
                "audit-unavailable",
                format!("the decision could not be recorded, so it is withheld: {e}"),
            )
        })?),
    };

    if let Some(id) = &session {
        let added: Vec<String> = decision
            .labels
            .iter()
            .filter(|label| !decision.request.labels.contains(label))
            .cloned()
            .collect();
        service
            .store
            .touch(id, &agent, &added, now)
            .await
            .map_err(|e| state_error(service, e))?;
    }
    if !matches!(decision.reason, Reason::Quarantined { .. }) {
        super::defence::observe(service, &decision).await?;
    }
    Ok(Decided {
        decision,
        receipt,
        grants_used,
    })
}

/// The ids of the grants holding a scope that some step of the decision required.
fn used(decision: &Decision, grants: &[Elevation]) -> Vec<String> {
    if grants.is_empty() {
        return Vec::new();
    }
    let required: Vec<&String> = decision
        .steps
        .iter()
        .filter_map(|step| match &step.verdict {
            StepVerdict::Require(scopes) => Some(scopes),
            _ => None,
        })
        .flatten()
        .collect();
    grants
        .iter()
        .filter(|grant| grant.scopes.iter().any(|scope| required.contains(&scope)))
        .map(|grant| grant.id.clone())
        .collect()
}

/// The answer for a failed session store operation: 403 for a session another agent owns,
/// 503 (nothing decided, or the decision withheld) otherwise.
pub fn state_error(service: &Service, err: StateError) -> ApiError {
    match err {
        StateError::NotOwner { .. } => ApiError::forbidden(err.to_string()),
        err => {
            service.metrics.state_error();
            tracing::error!(error = %err, "session store failed");
            ApiError::unavailable("state-unavailable", format!("session state: {err}"))
        }
    }
}

/// One line of a batch answer: the decision, or what was wrong with the line.
pub fn line_error(line: usize, err: &ApiError) -> Value {
    json!({ "line": line, "status": err.status.as_u16(), "code": err.code, "error": err.message })
}

/// Whether a status is one the whole batch stops on (the service cannot decide any more).
pub fn stops_batch(err: &ApiError) -> bool {
    err.status == StatusCode::SERVICE_UNAVAILABLE
}
