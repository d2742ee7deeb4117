//! The upstream side of a relay: an MCP client session with the real server, opened on the
//! agent's behalf (with the agent's own `initialize` parameters), over stdio to a child
//! process or over Streamable HTTP.
//!
//! What the server sends unasked (notifications, and requests such as sampling, roots and
//! elicitation) goes on to the agent.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use rmcp::model::{ClientConfig, ClientResult, ServerNotification, ServerRequest};
use rmcp::service::{NotificationContext, RequestContext, RunningService, serve_client};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{ErrorData as McpError, RoleClient};

use super::relay::SharedRef;

/// How to reach an upstream MCP server.
#[derive(Debug, Clone)]
pub enum Target {
    /// A server Lampart starts as a child process and speaks to over its stdin and stdout;
    /// its stderr is Lampart's.
    Command {
        /// The program.
        program: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// A server reached over Streamable HTTP.
    Http {
        /// Its MCP endpoint.
        url: String,
        /// Headers sent with every request.
        headers: BTreeMap<String, String>,
    },
}

/// Lampart as the upstream server's client: it answers for the agent.
pub struct UpstreamClient {
    shared: SharedRef,
    info: ClientConfig,
}

impl UpstreamClient {
    pub(crate) fn new(shared: SharedRef, info: ClientConfig) -> UpstreamClient {
        UpstreamClient { shared, info }
    }
}

impl rmcp::Service<RoleClient> for UpstreamClient {
    async fn handle_request(
        &self,
        request: ServerRequest,
        _context: RequestContext<RoleClient>,
    ) -> Result<ClientResult, McpError> {
        if let ServerRequest::PingRequest(_) = request {
            return Ok(ClientResult::empty(()));
        }
        match self.shared.upgrade() {
            Some(shared) => shared.relay_to_agent(request).await,
            None => Err(McpError::internal_error("the client has gone", None)),
        }
    }

    async fn handle_notification(
        &self,
        notification: ServerNotification,
        _context: NotificationContext<RoleClient>,
    ) -> Result<(), McpError> {
        if let Some(shared) = self.shared.upgrade() {
            shared.notify_agent(notification).await;
        }
        Ok(())
    }

    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }
}

/// Opens a session with the server at `target`: starts it or connects to it, and runs the
/// `initialize` handshake, within `timeout`.
pub async fn connect(
    target: &Target,
    client: UpstreamClient,
    timeout: Duration,
) -> Result<RunningService<RoleClient, UpstreamClient>, String> {
    let session = async {
        match target {
            Target::Command { program, args } => {
                let mut command = tokio::process::Command::new(program);
                command.args(args).kill_on_drop(true);
                let (transport, _) = TokioChildProcess::builder(command)
                    .stderr(std::process::Stdio::inherit())
                    .spawn()
                    .map_err(|e| format!("cannot start `{program}`: {e}"))?;
                serve_client(client, transport)
                    .await
                    .map_err(|e| format!("`{program}` did not complete the MCP handshake: {e}"))
            }
            Target::Http { url, headers } => {
                install_crypto_provider();
                let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
                    .custom_headers(header_map(headers)?);
                let transport = StreamableHttpClientTransport::from_config(config);
                serve_client(client, transport)
                    .await
                    .map_err(|e| format!("{url}: {e}"))
            }
        }
    };
    match tokio::time::timeout(timeout, session).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no MCP handshake within {}",
            humantime::format_duration(timeout)
        )),
    }
}

/// The configured headers, checked (the config check already refused bad ones).
pub fn header_map(
    headers: &BTreeMap<String, String>,
) -> Result<HashMap<HeaderName, HeaderValue>, String> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = HeaderName::try_from(name.as_str())
                .map_err(|_| format!("`headers`: `{name}` is not a valid header name"))?;
            let value = HeaderValue::try_from(value.as_str()).map_err(|_| {
                format!("`headers`: the value of `{name}` is not a valid header value")
            })?;
            Ok((name, value))
        })
        .collect()
}

/// Makes rustls with ring the process's TLS provider (HTTPS to upstreams uses it, as the
/// server's own TLS does); needed before the first HTTP client is built.
pub fn install_crypto_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    });
}
