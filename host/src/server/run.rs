//! Starting and stopping the service: load, listen, reload on signal or file change, and on
//! SIGTERM stop accepting, finish the requests in flight, and flush the audit log.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use super::Service;
use super::listen::{self, ListenOptions};
use super::reload::{self, Cause};
use super::routes;

/// How often expired sessions are purged from the store.
const PURGE_EVERY: Duration = Duration::from_secs(60);

/// How often grants and held requests past their time are marked expired (and recorded).
/// A grant past its time is never used, whether or not this has marked it.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// How long requests in flight may take to finish after a stop was asked.
const DRAIN: Duration = Duration::from_secs(30);

/// Serves until SIGTERM or SIGINT; `ready` is called with the bound address once the
/// service accepts connections.
pub async fn run(
    service: Arc<Service>,
    listen_override: Option<SocketAddr>,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let server = service.server.clone();
    let tls = match &server.tls {
        None => None,
        Some(tls) => {
            let base = service.host.current().base_dir().to_path_buf();
            Some(
                listen::tls_acceptor(&base.join(&tls.cert_file), &base.join(&tls.key_file))
                    .map_err(std::io::Error::other)?,
            )
        }
    };
    let addr = listen_override.unwrap_or(server.listen);
    let listener = listen::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    let bound = listener.local_addr()?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(on_signals(Arc::clone(&service), stop_tx)?));
    if server.watch {
        tasks.push(tokio::spawn(on_file_changes(Arc::clone(&service))));
    }
    tasks.push(tokio::spawn(purge(Arc::clone(&service))));
    tasks.push(tokio::spawn(sweep(Arc::clone(&service))));
    tasks.push(tokio::spawn(super::defence::deliver(Arc::clone(&service))));

    ready(bound);
    let options = ListenOptions {
        tls,
        max_connections: server.max_connections,
        header_timeout: server.header_timeout,
        drain_timeout: DRAIN,
    };
    let metrics = Arc::clone(&service.metrics);
    listen::serve(
        listener,
        routes::router(Arc::clone(&service)),
        options,
        metrics,
        stop_rx,
    )
    .await;
    for task in tasks {
        task.abort();
    }
    tracing::info!("stopped accepting; requests in flight have finished");
    Ok(())
}

/// SIGHUP reloads; SIGTERM and SIGINT stop.
fn on_signals(
    service: Arc<Service>,
    stop: watch::Sender<bool>,
) -> std::io::Result<impl Future<Output = ()>> {
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        loop {
            tokio::select! {
                _ = hup.recv() => {
                    service.reloader.reload(&service, Cause::Signal).await;
                }
                _ = term.recv() => break,
                _ = int.recv() => break,
            }
        }
        tracing::info!("stopping: no new connections; finishing requests in flight");
        let _ = stop.send(true);
    })
}

/// Reloads when the config or a plugin file changes (after the changes settle).
async fn on_file_changes(service: Arc<Service>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut watcher = reload::watch(reload::watched_files(&service), tx.clone());
    while rx.recv().await.is_some() {
        tokio::time::sleep(reload::SETTLE).await;
        while rx.try_recv().is_ok() {}
        let attempt = service.reloader.reload(&service, Cause::Watch).await;
        if attempt.ok {
            // The plugins may have moved: watch what the new chain names.
            drop(watcher.take());
            watcher = reload::watch(reload::watched_files(&service), tx.clone());
        }
    }
}

/// Purges expired sessions now and then.
async fn purge(service: Arc<Service>) {
    let mut every = tokio::time::interval(PURGE_EVERY);
    loop {
        every.tick().await;
        match service.store.purge_expired(service.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(sessions = n, "expired sessions purged"),
            Err(err) => {
                service.metrics.state_error();
                tracing::warn!(error = %err, "purging expired sessions failed");
            }
        }
    }
}

/// Marks grants and held requests past their time as expired, now and then.
async fn sweep(service: Arc<Service>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        match super::elevation::sweep(&service).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(elevations = n, "elevations expired"),
            Err(err) => tracing::warn!(error = %err.message, "expiring elevations failed"),
        }
    }
}
