//! The HTTP surface: routes, their handlers, and what every request passes (a deadline and
//! the request metrics).
//!
//! | Route | Who | What |
//! |---|---|---|
//! | `POST /v1/decide` | agent | one request (JSON) → one decision |
//! | `POST /v1/decide/batch` | agent | requests as JSON lines → decisions as JSON lines, in order |
//! | `GET /healthz` | anyone | the process serves |
//! | `GET /readyz` | anyone | chain loaded, audit log writable, session store reachable |
//! | `GET /metrics` | anyone | Prometheus text format |
//! | `POST /v1/admin/reload`, `GET /v1/admin/reload` | operator | reload the chain / the last reload's outcome |
//! | `GET /v1/sessions`, `GET /v1/sessions/{id}`, `DELETE /v1/sessions/{id}` | operator | session state |
//! | `POST /v1/elevations` | agent | ask for scopes for a task: granted, held or denied |
//! | `GET /v1/elevations`, `GET /v1/elevations/{id}` | operator, or an agent for its own | elevations and their state |
//! | `POST /v1/elevations/{id}/approve`, `…/deny` | operator | decide a held request |
//! | `POST /v1/elevations/{id}/revoke` | operator, or an agent for its own | end a grant early |
//! | `POST /v1/tasks/{id}/end` | agent (operator: with `agent`) | revoke the task's grants |
//! | `GET /v1/quarantines`, `POST /v1/quarantines/{agent}`, `DELETE /v1/quarantines/{agent}` | operator | quarantined agents |

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Service;
use super::decide::{self, line_error, stops_batch};
use super::elevation;
use super::error::ApiError;
use super::principal::{self, PrincipalError};
use super::reload::Cause;
use crate::auth::{AuthFailure, Identity};
use crate::state::{ElevationFilter, ElevationState, SessionId, Transition};

type Shared = State<Arc<Service>>;

/// The service's routes, with the body limit, the request deadline and request metrics.
pub fn router(service: Arc<Service>) -> Router {
    let max_body = service.server.max_body.0;
    Router::new()
        .route("/v1/decide", post(decide_one))
        .route("/v1/decide/batch", post(decide_batch))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/admin/reload", post(reload).get(reload_status))
        .route("/v1/sessions", get(list_sessions))
        .route("/v1/sessions/{id}", get(get_session).delete(delete_session))
        .route("/v1/elevations", post(ask_elevation).get(list_elevations))
        .route("/v1/elevations/{id}", get(get_elevation))
        .route("/v1/elevations/{id}/{change}", post(change_elevation))
        .route("/v1/tasks/{id}/end", post(end_task))
        .route("/v1/quarantines", get(list_quarantines))
        .route("/v1/quarantines/{agent}", post(quarantine).delete(release))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&service),
            observe,
        ))
        .merge(crate::mcp::http::routes(&service))
        .with_state(service)
}

/// Every request: answered within the request timeout (408 otherwise) and counted.
async fn observe(State(service): Shared, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response =
        match tokio::time::timeout(service.server.request_timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "the request was not complete within {}",
                    humantime::format_duration(service.server.request_timeout)
                ),
            )
            .into_response(),
        };
    service
        .metrics
        .http(&route, response.status().as_u16(), started.elapsed());
    response
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see the README for the service's routes")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this route does not take that method",
    )
}

/// The credential's identity, or 401 (counted by reason).
pub(crate) fn authenticate(service: &Service, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let authorization = headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
    service
        .auth
        .load()
        .authenticate(authorization, service.now())
        .map_err(|failure| {
            service.metrics.auth_failure(failure_reason(&failure));
            let mut error = ApiError::unauthenticated(failure.to_string());
            error.challenge = Some(failure.challenge());
            error
        })
}

/// A refused credential's reason, as a metric label.
fn failure_reason(failure: &AuthFailure) -> &'static str {
    match failure {
        AuthFailure::Missing => "missing",
        AuthFailure::Malformed => "malformed",
        AuthFailure::UnknownKey => "unknown-key",
        AuthFailure::InvalidToken(_) => "invalid-token",
        AuthFailure::Expired => "expired",
        AuthFailure::NotYetValid => "not-yet-valid",
    }
}

/// An operator's identity, or 401/403.
fn operator(service: &Service, headers: &HeaderMap) -> Result<Identity, ApiError> {
    let identity = authenticate(service, headers)?;
    if !identity.operator {
        return Err(ApiError::forbidden(
            "this route needs an operator credential",
        ));
    }
    Ok(identity)
}

/// The body, after checking its content type against `types` and its size.
fn body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    types: &[&str],
    max: usize,
) -> Result<Bytes, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !types.contains(&essence.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!(
                "content type `{content_type}` is not accepted here; send {}",
                types.join(" or ")
            ),
        ));
    }
    body.map_err(|rejection| match rejection {
        BytesRejection::FailedToBufferBody(
            axum::extract::rejection::FailedToBufferBody::LengthLimitError(_),
        ) => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!("the body is over the limit of {max} bytes ([server] max-body)"),
        ),
        other => ApiError::bad_request(format!("the body could not be read: {other}")),
    })
}

/// Parses one request body (strict JSON) and binds it to the credential's identity.
fn request_of(text: &[u8], identity: &Identity) -> Result<crate::request::Request, ApiError> {
    let text = std::str::from_utf8(text)
        .map_err(|e| ApiError::bad_request(format!("the request is not UTF-8: {e}")))?;
    let value = crate::strict_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("the request is not valid JSON: {e}")))?;
    principal::bind(value, identity).map_err(|e: PrincipalError| {
        if e.is_forbidden() {
            ApiError::forbidden(e.to_string())
        } else {
            ApiError::bad_request(e.to_string())
        }
    })
}

async fn decide_one(
    State(service): Shared,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let identity = authenticate(&service, &headers)?;
    let bytes = body(
        &headers,
        raw,
        &["application/json"],
        service.server.max_body.0,
    )?;
    let request = request_of(&bytes, &identity)?;
    let answer = decide::decide(&service, &identity, request).await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// The content types of a batch: JSON lines under any of its common names.
const JSON_LINES: &[&str] = &[
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
    "application/jsonlines",
];

async fn decide_batch(
    State(service): Shared,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let identity = authenticate(&service, &headers)?;
    let bytes = body(&headers, raw, JSON_LINES, service.server.max_body.0)?;
    let mut out = String::new();
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let answer = match request_of(line, &identity) {
            Ok(request) => decide::decide(&service, &identity, request).await,
            Err(err) => Err(err),
        };
        let value = match answer {
            Ok(value) => value,
            Err(err) if stops_batch(&err) => {
                // The service cannot decide now: say so for this line and stop; lines after it
                // were not decided.
                out.push_str(&line_error(index + 1, &err).to_string());
                out.push('\n');
                break;
            }
            Err(err) => line_error(index + 1, &err),
        };
        out.push_str(&value.to_string());
        out.push('\n');
    }
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        out,
    )
        .into_response())
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

async fn readyz(State(service): Shared) -> Response {
    let revision = service.host.current().chain().revision();
    let audit = match service.host.audit() {
        None => json!("off"),
        Some(log) => match log.stopped() {
            None => json!("ok"),
            Some(err) => json!(err.to_string()),
        },
    };
    let store = match tokio::time::timeout(Duration::from_secs(2), service.store.ping()).await {
        Ok(Ok(())) => json!("ok"),
        Ok(Err(err)) => json!(err.to_string()),
        Err(_) => json!("no answer within 2 s"),
    };
    let ready = (audit == "ok" || audit == "off") && store == "ok";
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    json_response(
        status,
        &json!({ "ready": ready, "revision": revision, "audit": audit, "state": store }),
    )
}

async fn metrics(State(service): Shared) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        service.metrics.render(),
    )
        .into_response()
}

async fn reload(State(service): Shared, headers: HeaderMap) -> Result<Response, ApiError> {
    operator(&service, &headers)?;
    let attempt = service.reloader.reload(&service, Cause::Admin).await;
    let status = if attempt.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(json_response(status, &json!(attempt)))
}

async fn reload_status(State(service): Shared, headers: HeaderMap) -> Result<Response, ApiError> {
    operator(&service, &headers)?;
    Ok(json_response(
        StatusCode::OK,
        &json!(service.reloader.status()),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

async fn list_sessions(
    State(service): Shared,
    headers: HeaderMap,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    operator(&service, &headers)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let sessions = service
        .store
        .list(service.now(), query.limit.min(10_000))
        .await
        .map_err(|e| decide::state_error(&service, e))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "sessions": sessions }),
    ))
}

fn session_id(id: &str) -> Result<SessionId, ApiError> {
    SessionId::new(id).map_err(|e| ApiError::bad_request(e.to_string()))
}

async fn get_session(
    State(service): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    operator(&service, &headers)?;
    let id = session_id(&id)?;
    match service
        .store
        .get(&id, service.now())
        .await
        .map_err(|e| decide::state_error(&service, e))?
    {
        Some(session) => Ok(json_response(StatusCode::OK, &json!(session))),
        None => Err(ApiError::not_found(format!(
            "no live session `{}`",
            id.as_str()
        ))),
    }
}

async fn delete_session(
    State(service): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    operator(&service, &headers)?;
    let id = session_id(&id)?;
    if service
        .store
        .delete(&id)
        .await
        .map_err(|e| decide::state_error(&service, e))?
    {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::not_found(format!("no session `{}`", id.as_str())))
    }
}

/// An optional JSON body: the type's defaults when empty, else strict JSON of its fields.
fn optional_body<T: Default + serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
    max: usize,
) -> Result<T, ApiError> {
    if matches!(&raw, Ok(bytes) if bytes.is_empty()) {
        return Ok(T::default());
    }
    json_body(headers, raw, max)
}

/// A JSON body of `T`'s fields: strict JSON, unknown fields refused.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    raw: Result<Bytes, BytesRejection>,
    max: usize,
) -> Result<T, ApiError> {
    let bytes = body(headers, raw, &["application/json"], max)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
    let value = crate::strict_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request(format!("the body is not as expected: {e}")))
}

async fn ask_elevation(
    State(service): Shared,
    headers: HeaderMap,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let identity = authenticate(&service, &headers)?;
    let ask: elevation::Ask = json_body(&headers, raw, service.server.max_body.0)?;
    let answer = elevation::ask(&service, &identity, ask).await?;
    Ok(json_response(StatusCode::OK, &answer))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ElevationQuery {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default = "default_limit")]
    limit: usize,
}

async fn list_elevations(
    State(service): Shared,
    headers: HeaderMap,
    query: Result<Query<ElevationQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let identity = authenticate(&service, &headers)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let state = match query.state.as_deref() {
        None => None,
        Some(name) => Some(ElevationState::parse(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`state` `{}` is not one of pending, granted, denied, expired, revoked",
                crate::text::escape(name)
            ))
        })?),
    };
    let filter = ElevationFilter {
        agent: query.agent,
        state,
        task: query.task,
    };
    let answer = elevation::list(&service, &identity, filter, query.limit.min(10_000)).await?;
    Ok(json_response(StatusCode::OK, &answer))
}

async fn get_elevation(
    State(service): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let identity = authenticate(&service, &headers)?;
    let answer = elevation::get(&service, &identity, &id).await?;
    Ok(json_response(StatusCode::OK, &answer))
}

async fn change_elevation(
    State(service): Shared,
    headers: HeaderMap,
    Path((id, change)): Path<(String, String)>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let identity = authenticate(&service, &headers)?;
    let max = service.server.max_body.0;
    let by = identity.credential.to_string();
    let change = match change.as_str() {
        "approve" => {
            operator(&service, &headers)?;
            let approve: elevation::Approve = optional_body(&headers, raw, max)?;
            if let Some(note) = &approve.note {
                elevation::text("note", note, false)?;
            }
            let config = service.host.current().config().elevation.clone();
            let ttl = match &approve.ttl {
                Some(text) => elevation::ttl(text, config.max_ttl)?,
                None => {
                    // The TTL the agent asked for, which was checked when it asked; a lower
                    // max-ttl since then caps it.
                    let asked = service
                        .store
                        .elevation(&id)
                        .await
                        .map_err(|e| decide::state_error(&service, e))?
                        .map_or(config.default_ttl, |e| e.ttl);
                    asked.min(config.max_ttl)
                }
            };
            Transition::Approve { by, ttl }
        }
        "deny" | "revoke" => {
            if change == "deny" {
                operator(&service, &headers)?;
            }
            let refuse: elevation::Refuse = optional_body(&headers, raw, max)?;
            if refuse.agent.is_some() {
                return Err(ApiError::bad_request(
                    "`agent` is for ending a task; leave it out here",
                ));
            }
            let reason = refuse.reason.unwrap_or_default();
            elevation::text("reason", &reason, false)?;
            if change == "deny" {
                Transition::Deny { by, reason }
            } else {
                Transition::Revoke { by, reason }
            }
        }
        _ => {
            return Err(ApiError::not_found(
                "no such route: an elevation is approved, denied or revoked",
            ));
        }
    };
    let answer = elevation::change(&service, &identity, &id, change).await?;
    Ok(json_response(StatusCode::OK, &answer))
}

async fn end_task(
    State(service): Shared,
    headers: HeaderMap,
    Path(task): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let identity = authenticate(&service, &headers)?;
    let refuse: elevation::Refuse = optional_body(&headers, raw, service.server.max_body.0)?;
    let agent = match (&refuse.agent, identity.operator, &identity.agent) {
        (Some(agent), true, _) => agent.clone(),
        (Some(agent), false, Some(own)) if agent == own => agent.clone(),
        (None, _, Some(own)) => own.clone(),
        (None, true, None) => {
            return Err(ApiError::bad_request(
                "an operator ends a task for an agent: give `agent` in the body",
            ));
        }
        _ => {
            return Err(ApiError::forbidden("an agent ends only its own tasks"));
        }
    };
    let answer = elevation::end_task(&service, &identity, &agent, &task).await?;
    Ok(json_response(StatusCode::OK, &answer))
}

async fn list_quarantines(
    State(service): Shared,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    operator(&service, &headers)?;
    let all = service
        .store
        .quarantines()
        .await
        .map_err(|e| decide::state_error(&service, e))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({ "quarantines": all }),
    ))
}

async fn quarantine(
    State(service): Shared,
    headers: HeaderMap,
    Path(agent): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let identity = operator(&service, &headers)?;
    let refuse: elevation::Refuse = optional_body(&headers, raw, service.server.max_body.0)?;
    if refuse.agent.is_some() {
        return Err(ApiError::bad_request(
            "the agent is in the path; leave `agent` out",
        ));
    }
    let reason = refuse
        .reason
        .unwrap_or_else(|| "quarantined by an operator".into());
    elevation::text("reason", &reason, true)?;
    if crate::text::escape(&agent) != agent || agent.is_empty() || agent.len() > 256 {
        return Err(ApiError::bad_request(
            "the agent name is empty, too long, or holds a control character",
        ));
    }
    let credential = identity.credential.to_string();
    let quarantine = crate::state::Quarantine {
        agent,
        reason,
        by: credential.clone(),
        since: service.now(),
    };
    let now_in = super::defence::quarantine_agent(&service, quarantine, Some(&credential)).await?;
    Ok(json_response(StatusCode::OK, &json!(now_in)))
}

async fn release(
    State(service): Shared,
    headers: HeaderMap,
    Path(agent): Path<String>,
) -> Result<Response, ApiError> {
    let identity = operator(&service, &headers)?;
    let released = service
        .store
        .release(&agent)
        .await
        .map_err(|e| decide::state_error(&service, e))?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "agent `{}` is not quarantined",
                crate::text::escape(&agent)
            ))
        })?;
    let mut fields = serde_json::Map::new();
    fields.insert("agent".into(), json!(released.agent));
    fields.insert("credential".into(), json!(identity.credential.to_string()));
    fields.insert("quarantined_by".into(), json!(released.by));
    super::events::record(&service, "agent.released", fields).await?;
    Ok(json_response(StatusCode::OK, &json!(released)))
}
