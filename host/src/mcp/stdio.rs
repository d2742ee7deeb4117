//! `lampart mcp`: the proxy over stdio. The agent's MCP client starts Lampart in place of
//! the server; Lampart starts the server as its child and relays between the two, deciding
//! as the relay does.
//!
//! The process serves one agent run: its MCP session is one Lampart session, its identity
//! is fixed when it starts, and it ends when the client closes its standard input (or on
//! SIGTERM/SIGINT), ending the server with it.

use std::sync::Arc;

use rmcp::ServiceExt;

use super::lines::LineTransport;
use super::relay::{Relay, RelaySpec};
use crate::server::Service;

/// Serves the agent on standard input and output until it closes them or a signal arrives.
///
/// # Errors
///
/// A one-line message when the MCP session could not start (the server did not start or
/// did not complete its handshake; the client sent no `initialize`).
pub async fn run(service: Arc<Service>, spec: RelaySpec) -> Result<(), String> {
    let relay = Relay::new(service, spec);
    tracing::info!(session = relay.session(), "relaying MCP over stdio");
    let running = relay
        .clone()
        .serve(LineTransport::new(tokio::io::stdin(), tokio::io::stdout()))
        .await
        .map_err(|e| format!("the MCP session did not start: {e}"))?;
    let cancel = running.cancellation_token();
    let ended = tokio::select! {
        ended = running.waiting() => ended.map_err(|e| e.to_string()),
        () = shutdown_signal() => {
            cancel.cancel();
            Ok(rmcp::service::QuitReason::Cancelled)
        }
    };
    relay.close().await;
    tracing::info!(reason = ?ended, "the MCP session ended");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
