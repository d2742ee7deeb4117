//! Reloading the chain while decisions run: the new config and plugins are loaded and
//! checked off to the side, then swapped in at once; decisions in flight finish on the chain
//! they started with; a config or plugin that fails to load keeps the last good chain, and
//! says why (log, metric, `GET /v1/admin/reload`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::sync::mpsc;

use super::Service;
use crate::auth::Authenticator;
use crate::digest::Digest;

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    /// `SIGHUP`.
    Signal,
    /// A watched file changed.
    Watch,
    /// `POST /v1/admin/reload`.
    Admin,
}

impl Cause {
    /// The cause's name in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Signal => "signal",
            Cause::Watch => "watch",
            Cause::Admin => "admin",
        }
    }
}

/// The outcome of the last reload, for operators.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadStatus {
    /// The revision deciding now.
    pub revision: Digest,
    /// When the running chain was loaded (RFC 3339).
    pub loaded_at: String,
    /// The last reload attempt, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Attempt>,
}

/// One reload attempt.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// What asked for it.
    pub cause: Cause,
    /// When (RFC 3339).
    pub at: String,
    /// Whether the new chain is deciding now.
    pub ok: bool,
    /// The revision it loaded, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<Digest>,
    /// Why it failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Serialises reloads and remembers how the last one went.
pub struct Reloader {
    running: tokio::sync::Mutex<()>,
    status: Mutex<ReloadStatus>,
}

fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

impl Reloader {
    /// A reloader for a chain of `revision`, loaded now.
    pub fn new(revision: Digest) -> Reloader {
        Reloader {
            running: tokio::sync::Mutex::new(()),
            status: Mutex::new(ReloadStatus {
                revision,
                loaded_at: rfc3339(SystemTime::now()),
                last: None,
            }),
        }
    }

    /// How the last reload went.
    pub fn status(&self) -> ReloadStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads the config and its plugins again and, if all of it loads, swaps it in. One
    /// reload runs at a time; decisions never wait for one.
    pub async fn reload(&self, service: &Arc<Service>, cause: Cause) -> Attempt {
        let _one = self.running.lock().await;
        let worker = Arc::clone(service);
        let built = tokio::task::spawn_blocking(move || prepare(&worker))
            .await
            .unwrap_or_else(|e| Err(format!("the reload panicked: {e}")));
        let at = rfc3339(SystemTime::now());
        let attempt = match built {
            Ok((loaded, auth)) => {
                let revision = loaded.chain().revision();
                service.auth.store(Arc::new(auth));
                service.host.install(loaded);
                tracing::info!(cause = cause.as_str(), %revision, "chain reloaded");
                Attempt {
                    cause,
                    at: at.clone(),
                    ok: true,
                    revision: Some(revision),
                    error: None,
                }
            }
            Err(error) => {
                tracing::error!(cause = cause.as_str(), %error, "reload failed; the running chain is kept");
                Attempt {
                    cause,
                    at: at.clone(),
                    ok: false,
                    revision: None,
                    error: Some(error),
                }
            }
        };
        service.metrics.reload(cause.as_str(), attempt.ok);
        let mut status = self.status.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(revision) = attempt.revision {
            status.revision = revision;
            status.loaded_at = at;
        }
        status.last = Some(attempt.clone());
        attempt
    }
}

/// Builds the new chain and credentials, refusing changes only a restart applies.
fn prepare(service: &Service) -> Result<(crate::host::Loaded, Authenticator), String> {
    let loaded = service.host.prepare().map_err(|e| e.to_string())?;
    let config = loaded.config();
    if config.server != service.started.server {
        return Err(
            "[server] changed; it applies only at restart, so the running chain is kept".into(),
        );
    }
    if config.state != service.started.state {
        return Err(
            "[state] changed; it applies only at restart, so the running chain is kept".into(),
        );
    }
    if config.upstream != service.started.upstream {
        return Err(
            "[[upstream]] changed; it applies only at restart, so the running chain is kept".into(),
        );
    }
    let auth =
        Authenticator::load(config.auth.as_ref(), loaded.base_dir()).map_err(|e| e.to_string())?;
    Ok((loaded, auth))
}

/// The files whose change triggers a reload: the config and every plugin it names.
pub fn watched_files(service: &Service) -> Vec<PathBuf> {
    let loaded = service.host.current();
    let mut files: Vec<PathBuf> = service
        .host
        .source()
        .map(PathBuf::from)
        .into_iter()
        .collect();
    files.extend(
        loaded
            .config()
            .step
            .iter()
            .map(|step| loaded.base_dir().join(&step.plugin)),
    );
    files
}

/// Watches the config and plugin files and asks for a reload (on `tx`) when one changes,
/// after changes have settled for a moment. The watch list is renewed after every reload.
pub fn watch(
    files: Vec<PathBuf>,
    tx: mpsc::UnboundedSender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let names: Vec<PathBuf> = files.iter().map(|f| absolute(f)).collect();
    let wanted = names.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && event.paths.iter().any(|p| wanted.contains(&absolute(p)))
        {
            let _ = tx.send(());
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "cannot watch files; reload with SIGHUP or the admin endpoint"))
    .ok()?;
    let mut dirs: Vec<PathBuf> = names
        .iter()
        .filter_map(|f| f.parent().map(PathBuf::from))
        .collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch directory");
        }
    }
    Some(watcher)
}

fn absolute(path: &std::path::Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// How long file changes must settle before a reload: editors write a file in steps.
pub const SETTLE: Duration = Duration::from_millis(300);
