//! One agent's MCP connection through Lampart: the agent's side is served here, the
//! upstream server's side is a client this relay opens for it, and every message between
//! them passes through.
//!
//! What is decided (each decision recorded before anything moves on):
//!
//! | Message | Decision | Effect |
//! |---|---|---|
//! | `tools/call` | request phase (tool, arguments, `resource` = upstream) | deny or elevation-required: an `isError` result naming the reason; allow: forwarded with the arguments as redacted |
//! | its result | response phase (the result as JSON) | deny: an `isError` result; allow: passed on as redacted |
//! | `tools/list` | response phase, tool `tools/list` | tools outside the upstream's `tools` globs left out; deny: an error |
//! | `resources/read` | response phase, tool `resources/read`, arguments `{uri}` | deny: an error |
//! | `prompts/get` | response phase, tool `prompts/get`, arguments `{name, arguments}` | deny: an error |
//!
//! Everything else (ping, completion, logging level, lists of resources and prompts,
//! subscriptions, notifications both ways, the server's own requests to the client) is
//! relayed as it is. Labels the decisions add stick to the relay's Lampart session, one per
//! MCP session, so they carry across the calls of one agent run.

// The relay forwards every method of the protocol versions it negotiates, the deprecated
// ones (logging, resource subscriptions) included.
#![allow(deprecated)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, CallToolResult,
    CancelledNotification, CancelledNotificationParam, ClientNotification, ClientRequest,
    ClientResult, CompleteRequest, CompleteRequestParams, CompleteResult, CustomNotification,
    CustomRequest, CustomResult, GetPromptRequest, GetPromptRequestParams, GetPromptResponse,
    GetPromptResult, InitializeRequestParams, InitializeResult, ListPromptsRequest,
    ListPromptsResult, ListResourceTemplatesRequest, ListResourceTemplatesResult,
    ListResourcesRequest, ListResourcesResult, ListToolsRequest, ListToolsResult,
    PaginatedRequestParams, PingRequest, ProgressNotification, ProgressNotificationParam,
    ProgressToken, ProtocolVersion, ReadResourceRequest, ReadResourceRequestParams,
    ReadResourceResponse, ReadResourceResult, RequestId, RootsListChangedNotification,
    ServerNotification, ServerRequest, ServerResult, SetLevelRequest, SetLevelRequestParams,
    SubscribeRequest, SubscribeRequestParams, UnsubscribeRequest, UnsubscribeRequestParams,
};
use rmcp::service::{
    NotificationContext, PeerRequestOptions, RequestContext, RunningService, ServiceError,
};
use rmcp::{ErrorData as McpError, Peer, RoleClient, RoleServer, ServerHandler};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::config::ToolFilter;
use super::upstream::{self, Target, UpstreamClient};
use crate::auth::Identity;
use crate::chain::{Decision, Verdict};
use crate::request::{Action, Phase, Principal, Request, ToolOutput};
use crate::server::Service;
use crate::server::decide::decide_recorded;
use crate::server::events;

/// Takes the answer a forwarded request must have, or gives back what came instead.
macro_rules! pick {
    ($variant:ident) => {
        |answer| match answer {
            ServerResult::$variant(result) => Ok(result),
            other => Err(Box::new(other)),
        }
    };
}

/// The `_meta` key under which refusals carry the decision, for clients that read it.
pub const META_KEY: &str = "dev.lampart/decision";

/// The protocol versions the relay negotiates: those with an `initialize` handshake, which
/// is where an MCP session (and so a Lampart session) begins.
fn supported_versions() -> &'static [ProtocolVersion] {
    ProtocolVersion::known_up_to(&ProtocolVersion::LATEST_WITH_INITIALIZE)
}

/// One agent's MCP connection, relayed to one upstream server. Cheap to clone.
#[derive(Clone)]
pub struct Relay(Arc<Shared>);

/// What the agent's side and the upstream's side share.
pub(crate) struct Shared {
    service: Arc<Service>,
    /// How to reach the upstream server.
    target: Target,
    /// The upstream's name: the `resource` of every decision.
    name: String,
    tools: ToolFilter,
    timeout: Duration,
    /// The Lampart session the MCP session maps to.
    session: String,
    /// Who the agent is: fixed for `lampart mcp`, bound by the first request over HTTP.
    identity: OnceLock<Identity>,
    /// The agent's `initialize` parameters, sent on to the upstream (again on reconnect).
    client_info: OnceLock<InitializeRequestParams>,
    /// The agent, for what the upstream sends it.
    agent: OnceLock<Peer<RoleServer>>,
    /// The upstream connection; reopened on the next request after it closes.
    upstream: tokio::sync::Mutex<Option<RunningService<RoleClient, UpstreamClient>>>,
    /// The upstream's `initialize` answer, given to the agent as Lampart's.
    info: RwLock<Option<InitializeResult>>,
    /// Progress tokens of forwarded requests → the agent's own tokens.
    progress: Mutex<HashMap<ProgressToken, ProgressToken>>,
}

/// What a relay is built from.
pub struct RelaySpec {
    /// How to reach the upstream server.
    pub target: Target,
    /// Its name, the `resource` of decisions.
    pub name: String,
    /// The tools agents may call through it.
    pub tools: ToolFilter,
    /// The longest wait for one answer.
    pub timeout: Duration,
    /// The agent, when known before the first request (`lampart mcp`).
    pub identity: Option<Identity>,
    /// The Lampart session; a fresh one when absent.
    pub session: Option<String>,
}

impl Relay {
    /// A relay for one MCP session of `service`.
    pub fn new(service: Arc<Service>, spec: RelaySpec) -> Relay {
        let identity = OnceLock::new();
        if let Some(fixed) = spec.identity {
            let _ = identity.set(fixed);
        }
        Relay(Arc::new(Shared {
            service,
            target: spec.target,
            name: spec.name,
            tools: spec.tools,
            timeout: spec.timeout,
            session: spec
                .session
                .unwrap_or_else(|| format!("mcp-{}", uuid::Uuid::now_v7())),
            identity,
            client_info: OnceLock::new(),
            agent: OnceLock::new(),
            upstream: tokio::sync::Mutex::new(None),
            info: RwLock::new(None),
            progress: Mutex::new(HashMap::new()),
        }))
    }

    /// The Lampart session this MCP session's decisions belong to.
    pub fn session(&self) -> &str {
        &self.0.session
    }

    /// Closes the upstream connection (and ends a stdio server's process).
    pub async fn close(&self) {
        if let Some(mut running) = self.0.upstream.lock().await.take() {
            let _ = running.close().await;
        }
    }
}

impl Shared {
    /// The agent behind this request: fixed, or the credential of the HTTP request, which
    /// must be the one that opened the MCP session.
    fn caller(&self, context: &RequestContext<RoleServer>) -> Result<Identity, McpError> {
        let presented = context
            .extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Identity>());
        let bound = match presented {
            Some(identity) => self.identity.get_or_init(|| identity.clone()),
            None => self.identity.get().ok_or_else(|| {
                McpError::invalid_request("no authenticated agent for this MCP session", None)
            })?,
        };
        if presented.is_some_and(|identity| identity.credential != bound.credential) {
            return Err(McpError::invalid_request(
                "this MCP session was opened with another credential",
                None,
            ));
        }
        if bound.agent.is_none() {
            return Err(McpError::invalid_request(
                "the credential names no agent; Lampart decides MCP calls only for agents",
                None,
            ));
        }
        Ok(bound.clone())
    }

    /// The upstream's peer, connecting (again) when there is no open connection.
    async fn upstream(self: &Arc<Self>) -> Result<Peer<RoleClient>, McpError> {
        let mut slot = self.upstream.lock().await;
        if let Some(running) = slot.as_ref() {
            if !running.peer().is_transport_closed() {
                return Ok(running.peer().clone());
            }
            tracing::warn!(upstream = %self.name, "the MCP server's connection closed; reconnecting");
        }
        let info =
            self.client_info.get().cloned().ok_or_else(|| {
                McpError::invalid_request("the MCP session is not initialized", None)
            })?;
        let client = UpstreamClient::new(Arc::downgrade(self), info);
        let running = upstream::connect(&self.target, client, self.timeout)
            .await
            .map_err(|e| upstream_unavailable(&self.name, &e))?;
        if let Some(result) = running.peer().peer_info() {
            *self.info.write().expect("info lock") = Some(initialize_result(&result)?);
        }
        let peer = running.peer().clone();
        *slot = Some(running);
        Ok(peer)
    }

    /// Sends `request` to the upstream and waits for its answer, which `pick` takes apart,
    /// relaying progress and cancellation; a failure, or an answer of the wrong kind, is an
    /// error, recorded in the audit log.
    async fn forward<T>(
        self: &Arc<Self>,
        caller: &Identity,
        request: ClientRequest,
        context: &RequestContext<RoleServer>,
        pick: impl FnOnce(ServerResult) -> Result<T, Box<ServerResult>>,
    ) -> Result<T, McpError> {
        let method = request.method().to_owned();
        let result = self
            .forward_quietly(request, context)
            .await
            .and_then(|answer| pick(answer).map_err(|other| unexpected(&method, &other)));
        if let Err(error) = &result {
            self.note(
                caller,
                "mcp.upstream-error",
                json!({ "method": method, "error": error.message }),
            )
            .await;
        }
        result
    }

    async fn forward_quietly(
        self: &Arc<Self>,
        request: ClientRequest,
        context: &RequestContext<RoleServer>,
    ) -> Result<ServerResult, McpError> {
        let peer = self.upstream().await?;
        let handle = peer
            .send_cancellable_request(request, PeerRequestOptions::with_timeout(self.timeout))
            .await
            .map_err(|e| self.service_error(e))?;
        let (id, token) = (handle.id.clone(), handle.progress_token.clone());
        if let Some(theirs) = context.meta.get_progress_token() {
            self.progress_map().insert(token.clone(), theirs);
        }
        let answer = tokio::select! {
            answer = handle.await_response() => answer.map_err(|e| self.service_error(e)),
            () = context.ct.cancelled() => {
                cancel(&peer, id).await;
                Err(McpError::internal_error("the request was cancelled", None))
            }
        };
        self.progress_map().remove(&token);
        answer
    }

    fn progress_map(&self) -> std::sync::MutexGuard<'_, HashMap<ProgressToken, ProgressToken>> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A failed exchange with the upstream, as the agent is told.
    fn service_error(&self, error: ServiceError) -> McpError {
        match error {
            ServiceError::McpError(error) => error,
            ServiceError::Timeout { timeout } => McpError::internal_error(
                format!(
                    "the MCP server `{}` did not answer within {}",
                    self.name,
                    humantime::format_duration(timeout)
                ),
                None,
            ),
            ServiceError::TransportClosed => McpError::internal_error(
                format!(
                    "the MCP server `{}` closed the connection before answering",
                    self.name
                ),
                None,
            ),
            other => upstream_unavailable(&self.name, &other.to_string()),
        }
    }

    /// Decides on one request, recorded before the answer: a decision that cannot be made
    /// or recorded is an error, and nothing is forwarded.
    async fn decide(&self, caller: &Identity, request: Request) -> Result<Decision, McpError> {
        decide_recorded(&self.service, caller, request)
            .await
            .map(|decided| decided.decision)
            .map_err(|e| {
                McpError::internal_error(
                    format!(
                        "Lampart could not decide, so nothing was passed on: {}",
                        e.message
                    ),
                    None,
                )
            })
    }

    fn request(
        &self,
        caller: &Identity,
        phase: Phase,
        tool: &str,
        args: Value,
        output: Option<Value>,
    ) -> Request {
        Request {
            id: None,
            phase,
            principal: Principal {
                agent: caller.agent.clone().unwrap_or_default(),
                roles: caller.roles.clone(),
                session: self.session.clone(),
                task: None,
            },
            action: Action {
                tool: tool.to_owned(),
                args,
                resource: Some(self.name.clone()),
            },
            output: output.map(ToolOutput::Json),
            grants: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Records an event that is not a decision: an upstream failure, a refused tool.
    async fn note(&self, caller: &Identity, event: &str, detail: Value) {
        let mut record = Map::new();
        record.insert("agent".into(), json!(caller.agent));
        record.insert("credential".into(), json!(caller.credential.to_string()));
        record.insert("session".into(), json!(self.session));
        record.insert("upstream".into(), json!(self.name));
        if let Value::Object(detail) = detail {
            record.extend(detail);
        }
        // A failure is logged by the helper; the relay answers the agent either way.
        let _ = events::record(&self.service, event, record).await;
    }

    /// Passes a result through the response phase as `tool`: the result, as redacted, or
    /// the decision that refused it.
    async fn pass_back<T: Serialize + DeserializeOwned>(
        &self,
        caller: &Identity,
        tool: &str,
        args: Value,
        result: T,
    ) -> Result<Result<T, Decision>, McpError> {
        let output = to_json(&result)?;
        let request = self.request(caller, Phase::Response, tool, args, Some(output));
        let decision = self.decide(caller, request).await?;
        if decision.verdict != Verdict::Allow {
            return Ok(Err(decision));
        }
        match decision.redacted {
            None => Ok(Ok(result)),
            Some(redacted) => from_json(redacted).map(Ok),
        }
    }

    /// As [`Shared::pass_back`], with a refusal as a JSON-RPC error.
    async fn inspect<T: Serialize + DeserializeOwned>(
        &self,
        caller: &Identity,
        tool: &str,
        args: Value,
        result: T,
    ) -> Result<T, McpError> {
        self.pass_back(caller, tool, args, result)
            .await?
            .map_err(|decision| {
                McpError::internal_error(withheld(tool, &decision), Some(decision_meta(&decision)))
            })
    }

    async fn call_tool(
        self: &Arc<Self>,
        mut params: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, McpError> {
        let caller = self.caller(&context)?;
        let tool = params.name.to_string();
        let args = Value::Object(params.arguments.clone().unwrap_or_default());
        if !self.tools.admits(&tool) {
            self.note(
                &caller,
                "mcp.tool-not-exposed",
                json!({ "tool": tool, "tools": self.tools.globs() }),
            )
            .await;
            return Ok(error_result(
                format!(
                    "Lampart denied this call: the tool `{tool}` of `{}` is not offered to agents",
                    self.name
                ),
                None,
            ));
        }
        let decision = self
            .decide(
                &caller,
                self.request(&caller, Phase::Request, &tool, args.clone(), None),
            )
            .await?;
        if decision.verdict != Verdict::Allow {
            return Ok(error_result(
                format!(
                    "Lampart {} this call to `{tool}`: {}",
                    if decision.verdict == Verdict::Deny {
                        "denied"
                    } else {
                        "held back"
                    },
                    refusal_text(&decision)
                ),
                Some(&decision),
            ));
        }
        let args = decision.redacted.clone().unwrap_or(args);
        params.arguments = args.as_object().cloned();
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        let result = self
            .forward(&caller, request, &context, pick!(CallToolResult))
            .await?;
        Ok(self
            .pass_back(&caller, &tool, args, result)
            .await?
            .unwrap_or_else(|decision| error_result(withheld(&tool, &decision), Some(&decision))))
    }

    async fn list_tools(
        self: &Arc<Self>,
        params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self.caller(&context)?;
        let request = ListToolsRequest {
            params,
            ..Default::default()
        };
        let request = ClientRequest::ListToolsRequest(request);
        let mut list = self
            .forward(&caller, request, &context, pick!(ListToolsResult))
            .await?;
        list.tools.retain(|tool| self.tools.admits(&tool.name));
        self.inspect(&caller, "tools/list", json!({}), list).await
    }
}

/// The upstream's `initialize` answer, given to the agent as Lampart's own.
fn initialize_result(info: &rmcp::model::ServerPeerInfo) -> Result<InitializeResult, McpError> {
    let mut value = to_json(info)?;
    if value.get("serverInfo").is_none() {
        value["serverInfo"] = json!({ "name": "lampart", "version": env!("CARGO_PKG_VERSION") });
    }
    from_json(value)
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, McpError> {
    serde_json::to_value(value)
        .map_err(|e| McpError::internal_error(format!("an answer could not be read: {e}"), None))
}

/// An answer after redaction; one that no longer fits its type is withheld (fail closed).
fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, McpError> {
    serde_json::from_value(value).map_err(|e| {
        McpError::internal_error(
            format!("Lampart withheld an answer whose redaction left it malformed: {e}"),
            None,
        )
    })
}

fn unexpected(method: &str, answer: &ServerResult) -> McpError {
    let kind = serde_json::to_value(answer)
        .ok()
        .and_then(|v| {
            v.as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
        })
        .unwrap_or_default();
    McpError::internal_error(
        format!("the MCP server answered `{method}` with something else (fields: {kind})"),
        None,
    )
}

fn upstream_unavailable(name: &str, error: &str) -> McpError {
    McpError::internal_error(
        format!("the MCP server `{name}` is unavailable: {error}"),
        None,
    )
}

async fn cancel(peer: &Peer<RoleClient>, id: RequestId) {
    let notification = CancelledNotification::new(CancelledNotificationParam::new(
        Some(id),
        Some("cancelled by the client".into()),
    ));
    let _ = peer
        .send_notification(ClientNotification::CancelledNotification(notification))
        .await;
}

/// What the agent is told when the chain refuses a tool's answer.
fn withheld(tool: &str, decision: &Decision) -> String {
    format!(
        "Lampart withheld the answer of `{tool}`: {}",
        refusal_text(decision)
    )
}

/// Why a decision refused, for the model to read and adapt to.
fn refusal_text(decision: &Decision) -> String {
    let reason = decision.reason.to_string();
    match decision.missing_scopes().len() {
        0 => format!("{reason} (decision {})", decision.id),
        n => format!(
            "{reason}. Ask the operator to grant {} to this agent for this task, quoting decision {}; then try again",
            if n == 1 { "it" } else { "them" },
            decision.id,
        ),
    }
}

fn decision_meta(decision: &Decision) -> Value {
    let mut meta = json!({ "id": decision.id, "verdict": decision.verdict });
    if !decision.missing_scopes().is_empty() {
        meta["missingScopes"] = json!(decision.missing_scopes());
    }
    meta
}

/// A tool result with `isError: true`: the model reads the text and can adapt.
fn error_result(text: String, decision: Option<&Decision>) -> CallToolResult {
    let mut result = json!({
        "content": [{ "type": "text", "text": text }],
        "isError": true,
    });
    if let Some(decision) = decision {
        result["_meta"] = json!({ META_KEY: decision_meta(decision) });
    }
    serde_json::from_value(result).expect("a text tool result is a CallToolResult")
}

impl ServerHandler for Relay {
    fn get_info(&self) -> InitializeResult {
        self.0
            .info
            .read()
            .expect("info lock")
            .clone()
            .unwrap_or_default()
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Borrowed(supported_versions())
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, McpError> {
        let shared = &self.0;
        let caller = shared.caller(&context)?;
        context.peer.set_peer_info(request.clone());
        let _ = shared.agent.set(context.peer.clone());
        if shared.client_info.set(request).is_err() {
            return Err(McpError::invalid_request(
                "the MCP session is already initialized",
                None,
            ));
        }
        if let Err(error) = shared.upstream().await {
            shared
                .note(
                    &caller,
                    "mcp.upstream-error",
                    json!({ "method": "initialize", "error": error.message }),
                )
                .await;
            return Err(error);
        }
        Ok(self.get_info())
    }

    async fn ping(&self, context: RequestContext<RoleServer>) -> Result<(), McpError> {
        let caller = self.0.caller(&context)?;
        let request = ClientRequest::PingRequest(PingRequest::default());
        self.0
            .forward(&caller, request, &context, pick!(EmptyResult))
            .await
            .map(|_| ())
    }

    async fn complete(
        &self,
        params: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let caller = self.0.caller(&context)?;
        let request = ClientRequest::CompleteRequest(CompleteRequest::new(params));
        self.0
            .forward(&caller, request, &context, pick!(CompleteResult))
            .await
    }

    async fn set_level(
        &self,
        params: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let caller = self.0.caller(&context)?;
        let request = ClientRequest::SetLevelRequest(SetLevelRequest::new(params));
        self.0
            .forward(&caller, request, &context, pick!(EmptyResult))
            .await
            .map(|_| ())
    }

    async fn get_prompt(
        &self,
        params: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let caller = self.0.caller(&context)?;
        let args = json!({ "name": params.name, "arguments": params.arguments });
        let request = ClientRequest::GetPromptRequest(GetPromptRequest::new(params));
        let result: GetPromptResult = self
            .0
            .forward(&caller, request, &context, pick!(GetPromptResult))
            .await?;
        self.0
            .inspect(&caller, "prompts/get", args, result)
            .await
            .map(GetPromptResponse::from)
    }

    async fn list_prompts(
        &self,
        params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let caller = self.0.caller(&context)?;
        let request = ListPromptsRequest {
            params,
            ..Default::default()
        };
        let request = ClientRequest::ListPromptsRequest(request);
        self.0
            .forward(&caller, request, &context, pick!(ListPromptsResult))
            .await
    }

    async fn list_resources(
        &self,
        params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let caller = self.0.caller(&context)?;
        let request = ListResourcesRequest {
            params,
            ..Default::default()
        };
        let request = ClientRequest::ListResourcesRequest(request);
        self.0
            .forward(&caller, request, &context, pick!(ListResourcesResult))
            .await
    }

    async fn list_resource_templates(
        &self,
        params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let caller = self.0.caller(&context)?;
        let request = ListResourceTemplatesRequest {
            params,
            ..Default::default()
        };
        let request = ClientRequest::ListResourceTemplatesRequest(request);
        self.0
            .forward(
                &caller,
                request,
                &context,
                pick!(ListResourceTemplatesResult),
            )
            .await
    }

    async fn read_resource(
        &self,
        params: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let caller = self.0.caller(&context)?;
        let args = json!({ "uri": params.uri });
        let request = ClientRequest::ReadResourceRequest(ReadResourceRequest::new(params));
        let result: ReadResourceResult = self
            .0
            .forward(&caller, request, &context, pick!(ReadResourceResult))
            .await?;
        self.0
            .inspect(&caller, "resources/read", args, result)
            .await
            .map(ReadResourceResponse::from)
    }

    async fn subscribe(
        &self,
        params: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let caller = self.0.caller(&context)?;
        let request = ClientRequest::SubscribeRequest(SubscribeRequest::new(params));
        self.0
            .forward(&caller, request, &context, pick!(EmptyResult))
            .await
            .map(|_| ())
    }

    async fn unsubscribe(
        &self,
        params: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        let caller = self.0.caller(&context)?;
        let request = ClientRequest::UnsubscribeRequest(UnsubscribeRequest::new(params));
        self.0
            .forward(&caller, request, &context, pick!(EmptyResult))
            .await
            .map(|_| ())
    }

    async fn call_tool(
        &self,
        params: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        self.0
            .call_tool(params, context)
            .await
            .map(CallToolResponse::from)
    }

    async fn list_tools(
        &self,
        params: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        self.0.list_tools(params, context).await
    }

    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        let caller = self.0.caller(&context)?;
        let request = ClientRequest::CustomRequest(request);
        self.0
            .forward(&caller, request, &context, pick!(CustomResult))
            .await
    }

    async fn on_progress(
        &self,
        notification: ProgressNotificationParam,
        _context: NotificationContext<RoleServer>,
    ) {
        self.0
            .notify_upstream(ClientNotification::ProgressNotification(
                ProgressNotification::new(notification),
            ))
            .await;
    }

    async fn on_roots_list_changed(&self, _context: NotificationContext<RoleServer>) {
        self.0
            .notify_upstream(ClientNotification::RootsListChangedNotification(
                RootsListChangedNotification::default(),
            ))
            .await;
    }

    async fn on_custom_notification(
        &self,
        notification: CustomNotification,
        _context: NotificationContext<RoleServer>,
    ) {
        self.0
            .notify_upstream(ClientNotification::CustomNotification(notification))
            .await;
    }
}

impl Shared {
    /// Relays a notification from the agent to the upstream, when connected.
    async fn notify_upstream(&self, notification: ClientNotification) {
        let peer = self
            .upstream
            .lock()
            .await
            .as_ref()
            .map(|running| running.peer().clone());
        if let Some(peer) = peer {
            let _ = peer.send_notification(notification).await;
        }
    }

    /// Relays a request the upstream makes of the agent (sampling, roots, elicitation).
    pub(crate) async fn relay_to_agent(
        &self,
        request: ServerRequest,
    ) -> Result<ClientResult, McpError> {
        let agent = self
            .agent
            .get()
            .ok_or_else(|| McpError::internal_error("the client is not connected yet", None))?;
        agent.send_request(request).await.map_err(|e| match e {
            ServiceError::McpError(error) => error,
            other => McpError::internal_error(format!("the client did not answer: {other}"), None),
        })
    }

    /// Relays a notification from the upstream to the agent, with progress tokens mapped
    /// back to the agent's own.
    pub(crate) async fn notify_agent(&self, notification: ServerNotification) {
        let Some(agent) = self.agent.get() else {
            return;
        };
        let notification = match notification {
            ServerNotification::ProgressNotification(mut progress) => {
                let theirs = self
                    .progress_map()
                    .get(&progress.params.progress_token)
                    .cloned();
                match theirs {
                    Some(token) => progress.params.progress_token = token,
                    // Progress for no request the agent made: nothing to tell it.
                    None => return,
                }
                ServerNotification::ProgressNotification(progress)
            }
            // It names a request by the upstream session's id, which means nothing (or
            // another request) in the agent's session.
            ServerNotification::CancelledNotification(_) => return,
            other => other,
        };
        let _ = agent.send_notification(notification).await;
    }
}

/// Keeps `Weak<Shared>` private to this module and the upstream client.
pub(crate) type SharedRef = Weak<Shared>;
