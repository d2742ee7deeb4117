//! `lampart serve`'s MCP endpoints: each `[[upstream]]` at `/mcp/{name}`, over Streamable
//! HTTP (the SDK's server transport, with MCP sessions).
//!
//! Every request carries the agent's credential, as for `/v1/decide`: no credential, 401
//! with nothing relayed; a credential that names no agent, 403. The identity is handed to
//! the relay in the request's extensions, and the first request of an MCP session binds it:
//! later requests of that session must present the same credential.
//!
//! These routes have no request deadline (an SSE stream or a long tool call outlives it);
//! each upstream's `timeout` bounds the wait for each answer instead.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use super::relay::{Relay, RelaySpec};
use super::upstream::Target;
use crate::server::Service;
use crate::server::error::ApiError;
use crate::server::routes::authenticate;

/// The routes of every configured upstream, each behind the agent's credential.
pub fn routes<S: Clone + Send + Sync + 'static>(service: &Arc<Service>) -> Router<S> {
    let mut router = Router::new();
    for upstream in &service.started.upstream {
        let sessions = Arc::new(LocalSessionManager::default());
        let factory_service = Arc::clone(service);
        let spec = upstream.clone();
        // Every request is authenticated, so the Host check against DNS rebinding (meant for
        // unauthenticated local servers) would only refuse legitimate names.
        let config = StreamableHttpServerConfig::default()
            .with_max_request_body_bytes(service.server.max_body.0)
            .disable_allowed_hosts();
        let mcp = StreamableHttpService::new(
            move || {
                Ok(Relay::new(
                    Arc::clone(&factory_service),
                    RelaySpec {
                        target: Target::Http {
                            url: spec.url.clone(),
                            headers: spec.headers.clone(),
                        },
                        name: spec.name.clone(),
                        tools: spec.tools.clone(),
                        timeout: spec.timeout,
                        identity: None,
                        session: None,
                    },
                ))
            },
            Arc::clone(&sessions),
            config,
        );
        let limit = upstream.max_sessions;
        router = router.merge(
            Router::new()
                .route_service(&format!("/mcp/{}", upstream.name), mcp)
                .layer(middleware::from_fn(move |request: Request, next: Next| {
                    let sessions = Arc::clone(&sessions);
                    async move { session_limit(&sessions, limit, request, next).await }
                })),
        );
    }
    router.layer(middleware::from_fn_with_state(
        Arc::clone(service),
        agent_only,
    ))
}

/// Refuses a request that would open an MCP session (one without a session id) when the
/// upstream already has `limit` open.
async fn session_limit(
    sessions: &LocalSessionManager,
    limit: usize,
    request: Request,
    next: Next,
) -> Response {
    let opens = !request.headers().contains_key("mcp-session-id");
    if opens && sessions.sessions.read().await.len() >= limit {
        return ApiError::unavailable(
            "too-many-sessions",
            format!("{limit} MCP sessions are open through this upstream, the most it takes; close one or try again later"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Authenticates the request and hands the identity on; counts it as the other routes are.
async fn agent_only(
    State(service): State<Arc<Service>>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = match authenticate(&service, request.headers()) {
        Err(error) => error.into_response(),
        Ok(identity) if identity.agent.is_none() => {
            ApiError::forbidden("this credential names no agent; MCP calls are decided for agents")
                .into_response()
        }
        Ok(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
    };
    service
        .metrics
        .http(&route, response.status().as_u16(), started.elapsed());
    response
}
