//! `lampart-mcp-peer`: an MCP server built on the official Rust SDK (rmcp), the upstream
//! tool server of Lampart's MCP proxy tests and of the demo.
//!
//! It serves an inbox holding a prompt-injection email, a mail tool, a secret, and tools that
//! sleep, crash and fail (see the `peer` module). A Python twin implements the same behaviour.
//!
//! ```text
//! lampart-mcp-peer                 # MCP over stdio, until stdin closes
//! lampart-mcp-peer --http ADDR     # streamable HTTP at http://ADDR/mcp, until SIGTERM/SIGINT
//! ```
//!
//! With `--http`, once the listener is bound the server prints one line to stdout,
//! `{"listening":"http://IP:PORT/mcp"}`, so `127.0.0.1:0` can be used. If `MCP_PEER_LOG`
//! names a file, every `tools/call`, `resources/read` and `prompts/get` is appended to it
//! as a JSON line before it is handled.

mod peer;

use std::{io::Write, net::SocketAddr, process::ExitCode, sync::Arc};

use anyhow::Context;
use rmcp::{
    ServiceExt,
    service::ServerInitializeError,
    transport::{
        StreamableHttpServerConfig, StreamableHttpService, stdio,
        streamable_http_server::session::local::LocalSessionManager,
    },
};

use crate::peer::McpPeer;

/// The usage line printed on bad arguments.
const USAGE: &str = "usage: lampart-mcp-peer [--http ADDR]";

/// Where to serve.
enum Mode {
    /// MCP over stdin and stdout.
    Stdio,
    /// Streamable HTTP at `/mcp` on a listener bound to this address.
    Http(String),
}

/// Parses the command line: nothing, or `--http ADDR`.
fn parse_args(mut args: impl Iterator<Item = String>) -> Option<Mode> {
    let mode = match args.next().as_deref() {
        None => Mode::Stdio,
        Some("--http") => Mode::Http(args.next()?),
        Some(_) => return None,
    };
    args.next().is_none().then_some(mode)
}

fn main() -> ExitCode {
    let Some(mode) = parse_args(std::env::args().skip(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let served = runtime.block_on(async {
        match mode {
            Mode::Stdio => serve_stdio().await,
            Mode::Http(addr) => serve_http(&addr).await,
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lampart-mcp-peer: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Serves one session over stdio until the client closes stdin.
async fn serve_stdio() -> anyhow::Result<()> {
    let service = match McpPeer::from_env().serve(stdio()).await {
        Ok(service) => service,
        // Stdin closed before `initialize`: nothing to serve.
        Err(ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
        Err(error) => return Err(error).context("MCP handshake"),
    };
    service.waiting().await.context("serving stdio")?;
    Ok(())
}

/// Serves streamable HTTP (stateful sessions) at `/mcp` until SIGTERM or SIGINT.
async fn serve_http(addr: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let local = listener.local_addr().context("reading the bound address")?;

    let config = http_config(local);
    let cancel = config.cancellation_token.clone();
    let service = StreamableHttpService::new(
        || Ok(McpPeer::from_env()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().route_service("/mcp", service);

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, r#"{{"listening":"http://{local}/mcp"}}"#)
        .and_then(|()| stdout.flush())
        .context("announcing the address")?;
    drop(stdout);

    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            // End the sessions and their SSE streams, so the graceful shutdown can finish.
            cancel.cancel();
        })
        .await
        .context("serving HTTP")
}

/// rmcp's defaults (stateful sessions, SSE answers), with the `Host` check adapted to the
/// bound address. rmcp rejects a `Host` outside its allow-list (by default `localhost`,
/// `127.0.0.1`, `::1`, any port) with 403 against DNS rebinding. The bound IP is added to
/// the list; on an unspecified address (`0.0.0.0`, `::`, as in a container) any host is
/// accepted, since the server was then meant to be reached by any name.
fn http_config(local: SocketAddr) -> StreamableHttpServerConfig {
    let config = StreamableHttpServerConfig::default();
    let ip = local.ip();
    if ip.is_unspecified() {
        return config.disable_allowed_hosts();
    }
    let mut hosts = config.allowed_hosts.clone();
    hosts.push(ip.to_string());
    config.with_allowed_hosts(hosts)
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
