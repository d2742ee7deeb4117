//! The operator's side of `lampart serve`: a small HTTP client for its admin routes, used
//! by `lampart grants`. It talks to the running service rather than to the state store, so
//! every change goes through the same checks and audit records as one made over HTTP.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use lampart::config::ChainConfig;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Where the service is and the operator's credential.
#[derive(Debug, Args)]
pub struct Connection {
    /// The service's URL, e.g. `https://lampart.internal:7766`. Default: `LAMPART_SERVER`,
    /// else the `[server] listen` address of `--config`, else http://127.0.0.1:7766.
    #[arg(long, global = true)]
    server: Option<String>,
    /// A chain config whose `[server]` section says where the service listens.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
    /// A file holding the operator's API key or JWT. Default: `LAMPART_TOKEN`.
    #[arg(long, global = true)]
    token_file: Option<PathBuf>,
    /// A PEM file of a CA certificate to trust, for a service with its own certificate.
    #[arg(long, global = true)]
    ca_file: Option<PathBuf>,
}

/// A client for one service.
pub struct Admin {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Connection {
    /// Resolves the URL and the credential and builds the client.
    pub fn connect(&self) -> anyhow::Result<Admin> {
        let base = match (
            &self.server,
            std::env::var("LAMPART_SERVER").ok(),
            &self.config,
        ) {
            (Some(url), _, _) => url.clone(),
            (None, Some(url), _) if !url.is_empty() => url,
            (None, _, Some(path)) => {
                let config = ChainConfig::load(path)?;
                let server = config.server.unwrap_or_default();
                let scheme = if server.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                let mut addr = server.listen;
                if addr.ip().is_unspecified() {
                    addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
                }
                format!("{scheme}://{addr}")
            }
            (None, _, None) => format!("http://{}", lampart::server::config::DEFAULT_LISTEN),
        };
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server `{base}` is not an http:// or https:// URL");
        }
        let token = match &self.token_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("reading --token-file {}", path.display()))?,
            None => std::env::var("LAMPART_TOKEN").unwrap_or_default(),
        };
        let token = token.trim().to_owned();
        if token.is_empty() {
            bail!("no operator credential: set LAMPART_TOKEN or pass --token-file");
        }
        lampart::mcp::upstream::install_crypto_provider();
        let mut builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(30));
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading --ca-file {}", path.display()))?;
            let cert = reqwest::Certificate::from_pem(&pem).with_context(|| {
                format!("--ca-file {} is not a PEM certificate", path.display())
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder.build().context("building the HTTP client")?;
        Ok(Admin {
            base,
            token,
            client,
        })
    }
}

impl Admin {
    /// Sends `body` (JSON, when given) to `path` and returns the JSON answer; an error
    /// answer becomes an error naming its status and the service's message.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .client
            .request(method, &url)
            .header("authorization", format!("Bearer {}", self.token));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the service at {}", self.base))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("reading the answer of {url}"))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(value);
        }
        let message = value
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| value.to_string(), str::to_owned);
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            bail!("{status}: {message} (the credential must be an operator's)");
        }
        bail!("{status}: {message}")
    }
}

/// `text` made safe to put in a URL path segment.
pub fn segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
