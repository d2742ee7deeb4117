//! Audit records of what is not a chain's decision: a grant approved, expired or revoked; an
//! MCP upstream failing. Each is `{"type": "event", "event": <name>, "time": …, …}` in the
//! same hash-chained log as the decisions, and is durable before anyone acts on it.

use serde_json::{Map, Value, json};

use super::Service;
use super::error::ApiError;
use crate::audit::Receipt;

/// Records `event` with `fields` and waits until it is durable. `Ok(None)` when the service
/// keeps no audit log; a record that cannot be made durable is an error (503).
pub async fn record(
    service: &Service,
    event: &str,
    fields: Map<String, Value>,
) -> Result<Option<Receipt>, ApiError> {
    let mut record = Map::new();
    record.insert("type".into(), json!("event"));
    record.insert("event".into(), json!(event));
    record.insert(
        "time".into(),
        json!(humantime::format_rfc3339_millis(service.now()).to_string()),
    );
    record.extend(fields);
    let Some(pending) = service.host.submit(record) else {
        return Ok(None);
    };
    pending.durable().await.map(Some).map_err(|e| {
        tracing::error!(error = %e, event, "an audit event could not be recorded");
        ApiError::unavailable(
            "audit-unavailable",
            format!("the `{event}` event could not be recorded: {e}"),
        )
    })
}
