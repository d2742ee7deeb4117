//! Runtime defence: detectors watch the stream of decisions, and what they see is recorded,
//! counted and acted on before the decision that made them fire is answered — quarantine
//! the agent, revoke its grants, end the session, alert.
//!
//! A detection is an audit event (`detection`), a metric (`lampart_detections_total`) and,
//! with `alert`, a JSON line in `[alerts] file` and a POST to `[alerts] webhook`. A
//! quarantine is in the state store, so every replica enforces it; detector counts are kept
//! per process (see [`detect`]).
//!
//! # Detectors as plugins, later
//!
//! A detector is a function of the decision stream: it sees each decision (as its audit
//! record has it) and the state it kept, and answers whether it fires. As a WASM plugin it
//! would be a third world of the WIT, `detector`, exporting `observe(decision-record,
//! state: list<u8>) -> tuple<option<detection>, list<u8>>`: the host would keep each
//! detector's state (per agent or session, as now) in the state store and hand it in and
//! out, so the plugin stays a pure, deterministic function under the same fuel and memory
//! limits as the rest, and every detection could be replayed from the audit log. The
//! actions stay the host's: a plugin names them, the host takes them.

pub mod config;
pub mod detect;

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::Service;
use super::decide::state_error;
use super::error::ApiError;
use super::events;
use crate::chain::Decision;
use crate::state::{Quarantine, SessionId, Transition};
use config::Action;
use detect::{Detection, Detectors};

/// How many alerts may wait for delivery; beyond it they are dropped (and counted).
const ALERT_QUEUE: usize = 1024;

/// The detectors' memory and the alerts waiting for delivery.
pub struct Defence {
    detectors: Detectors,
    alerts: mpsc::Sender<Value>,
    pending: Mutex<Option<mpsc::Receiver<Value>>>,
}

impl Default for Defence {
    fn default() -> Self {
        let (alerts, pending) = mpsc::channel(ALERT_QUEUE);
        Defence {
            detectors: Detectors::default(),
            alerts,
            pending: Mutex::new(Some(pending)),
        }
    }
}

/// Runs the detectors on a recorded decision and takes the actions of those that fire.
/// Fails (503) when an action on the state store fails: the decision is then not answered.
pub async fn observe(service: &Service, decision: &Decision) -> Result<(), ApiError> {
    let loaded = service.host.current();
    let detectors = &loaded.config().detector;
    if detectors.is_empty() {
        return Ok(());
    }
    let fired = service
        .defence
        .detectors
        .observe(detectors, decision, service.now());
    drop(loaded);
    for detection in fired {
        service
            .metrics
            .detection(&detection.detector, detection.kind);
        tracing::warn!(
            detector = %detection.detector,
            agent = %detection.agent,
            detail = %detection.detail,
            "detector fired"
        );
        events::record(service, "detection", as_map(&detection)).await?;
        remediate(service, &detection).await?;
    }
    Ok(())
}

/// Takes a detection's actions.
async fn remediate(service: &Service, detection: &Detection) -> Result<(), ApiError> {
    let by = format!("detector:{}", detection.detector);
    let reason = format!(
        "{} ({} within {} s)",
        detection.detail, detection.count, detection.window
    );
    let now = service.now();
    for action in &detection.actions {
        match action {
            Action::Quarantine => {
                let quarantine = Quarantine {
                    agent: detection.agent.clone(),
                    reason: reason.clone(),
                    by: by.clone(),
                    since: now,
                };
                quarantine_agent(service, quarantine, None).await?;
            }
            Action::RevokeGrants => {
                let change = Transition::Revoke {
                    by: by.clone(),
                    reason: reason.clone(),
                };
                let revoked = service
                    .store
                    .revoke_all(&detection.agent, None, &change, now)
                    .await
                    .map_err(|e| state_error(service, e))?;
                for elevation in revoked {
                    let mut fields = as_map(&elevation);
                    if let Some(id) = fields.remove("id") {
                        fields.insert("elevation".into(), id);
                    }
                    events::record(service, "elevation.revoked", fields).await?;
                }
            }
            Action::EndSession => {
                let Ok(session) = SessionId::new(detection.session.clone()) else {
                    continue;
                };
                let ended = service
                    .store
                    .delete(&session)
                    .await
                    .map_err(|e| state_error(service, e))?;
                if ended {
                    let mut fields = Map::new();
                    fields.insert("session".into(), json!(detection.session));
                    fields.insert("agent".into(), json!(detection.agent));
                    fields.insert("by".into(), json!(by));
                    events::record(service, "session.ended", fields).await?;
                }
            }
            Action::Alert => {
                let mut alert = as_map(detection);
                alert.insert(
                    "time".into(),
                    json!(humantime::format_rfc3339_millis(now).to_string()),
                );
                alert.insert("source".into(), json!("lampart"));
                if service
                    .defence
                    .alerts
                    .try_send(Value::Object(alert))
                    .is_err()
                {
                    service.metrics.alert("queue", "dropped");
                    tracing::error!(detector = %detection.detector, "alert queue full; alert dropped");
                }
            }
        }
    }
    Ok(())
}

/// Quarantines an agent (if it is not already) and records it. `operator` is the credential
/// of an operator who asked; `None` for a detector. Returns the quarantine in force.
pub async fn quarantine_agent(
    service: &Service,
    quarantine: Quarantine,
    operator: Option<&str>,
) -> Result<Quarantine, ApiError> {
    let existing = service
        .store
        .quarantine(&quarantine)
        .await
        .map_err(|e| state_error(service, e))?;
    if let Some(existing) = existing {
        return Ok(existing);
    }
    let mut fields = as_map(&quarantine);
    if let Some(credential) = operator {
        fields.insert("credential".into(), json!(credential));
    }
    events::record(service, "agent.quarantined", fields).await?;
    Ok(quarantine)
}

/// Delivers alerts until the service stops: each to the `[alerts]` file (appended, synced)
/// and webhook (with retries and backoff), as the config says at the time. Only the first
/// call takes the queue; later calls return at once.
pub async fn deliver(service: std::sync::Arc<Service>) {
    let receiver = service
        .defence
        .pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let Some(mut receiver) = receiver else {
        return;
    };
    crate::mcp::upstream::install_crypto_provider();
    let client = reqwest::Client::new();
    while let Some(alert) = receiver.recv().await {
        let loaded = service.host.current();
        let alerts = loaded.config().alerts.clone().unwrap_or_default();
        let base = loaded.base_dir().to_path_buf();
        drop(loaded);
        if let Some(file) = &alerts.file {
            let path = base.join(file);
            let line = format!("{alert}\n");
            let written = tokio::task::spawn_blocking(move || append(&path, line.as_bytes())).await;
            match written {
                Ok(Ok(())) => service.metrics.alert("file", "sent"),
                Ok(Err(e)) => {
                    service.metrics.alert("file", "failed");
                    tracing::error!(error = %e, "alert not written to [alerts] file");
                }
                Err(e) => tracing::error!(error = %e, "alert writer stopped"),
            }
        }
        if let Some(url) = &alerts.webhook {
            let mut delay = Duration::from_millis(200);
            let mut outcome = "failed";
            for attempt in 0..=alerts.retries {
                let mut request = client
                    .post(url)
                    .timeout(alerts.timeout)
                    .header("content-type", "application/json")
                    .body(alert.to_string());
                for (name, value) in &alerts.webhook_headers {
                    request = request.header(name, value);
                }
                match request.send().await {
                    Ok(answer) if answer.status().is_success() => {
                        outcome = "sent";
                        break;
                    }
                    Ok(answer) => {
                        tracing::warn!(status = %answer.status(), attempt, "alert webhook refused the alert")
                    }
                    Err(e) => tracing::warn!(error = %e, attempt, "alert webhook unreachable"),
                }
                if attempt < alerts.retries {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
            service.metrics.alert("webhook", outcome);
        }
    }
}

/// Appends `bytes` to the file at `path` (created 0600 if absent) and syncs it.
fn append(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_data()
}

fn as_map<T: serde::Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}
