//! `lampart serve`: the decision point as an HTTP service.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use lampart::auth::Authenticator;
use lampart::config::ChainConfig;
use lampart::host::{Host, HostOptions, base_dir};
use lampart::server::Service;
use lampart::server::run::run as serve;
use lampart::state::Store;
use serde_json::json;

/// Arguments of `lampart serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The chain config (with `[server]`, `[auth]` and `[state]` sections).
    #[arg(long, short)]
    config: PathBuf,
    /// Listen here instead of the config's `[server] listen` (port 0: any free port).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Record decisions in this directory instead of the config's `[audit] dir`.
    #[arg(long, conflicts_with = "no_audit")]
    audit_dir: Option<PathBuf>,
    /// Record nothing, even if the config has an `[audit]` section.
    #[arg(long)]
    no_audit: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = ChainConfig::load(&args.config)?;
    let threads = config
        .server
        .as_ref()
        .and_then(|s| s.threads)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .max(1);
    let options = HostOptions {
        audit_dir: args.audit_dir.clone(),
        no_audit: args.no_audit,
        default_cache_dir: super::default_cache_dir(),
        concurrency: threads,
        reloadable: true,
    };
    let base = base_dir(&args.config);
    let auth = Authenticator::load(config.auth.as_ref(), &base)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("lampart-serve")
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let store = runtime.block_on(Store::open(
        &config.state.clone().unwrap_or_default(),
        &base,
    ))?;
    let host = Arc::new(Host::load(&args.config, &options)?);
    if !auth.accepts_anyone() {
        tracing::warn!(
            "no credentials are configured ([auth]): the service decides for no one until some are"
        );
    }
    let service = Arc::new(Service::new(Arc::clone(&host), auth, store));
    let revision = host.current().chain().revision();
    let tls = service.server.tls.is_some();
    runtime.block_on(serve(Arc::clone(&service), args.listen, |addr| {
        let scheme = if tls { "https" } else { "http" };
        tracing::info!(%addr, %revision, "serving");
        // One line on standard output, for whoever started the service.
        println!(
            "{}",
            json!({ "listening": format!("{scheme}://{addr}"), "revision": revision })
        );
    }))?;
    let store = service.store.clone();
    runtime.block_on(store.close());
    drop(service);
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match Arc::try_unwrap(host) {
        Ok(host) => host.close()?,
        // Something still holds the host: dropping the last holder flushes the log too.
        Err(_) => tracing::warn!("the audit log is flushed as the last task ends"),
    }
    Ok(ExitCode::SUCCESS)
}
