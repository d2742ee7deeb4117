//! `lampart serve`: the decision point as an HTTP service.
//!
//! A request goes transport → [`Service`] (credential, body, session state) → host → chain →
//! engine → audit, and the answer is sent only once the decision's record is durable and the
//! session's new labels are stored.
//!
//! Decisions run on the thread that read their request: they are short (bounded by each
//! step's deadline) and CPU-bound, so handing them to another thread would only add a
//! context switch. The runtime has one thread per core unless `[server] threads` says
//! otherwise, and the engine's instance pool is sized for that many decisions at once.

pub mod config;
pub mod decide;
pub mod defence;
pub mod elevation;
pub mod error;
pub mod events;
pub mod listen;
pub mod metrics;
pub mod principal;
pub mod reload;
pub mod routes;
pub mod run;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::auth::Authenticator;
use crate::clock::Clock;
use crate::config::ChainConfig;
use crate::host::Host;
use crate::state::Store;
use config::ServerSection;
use error::ApiError;
use metrics::Metrics;
use reload::Reloader;

/// Everything a request handler needs: shared by every connection.
pub struct Service {
    /// The chain, the audit log and what the log masks.
    pub host: Arc<Host>,
    /// The credentials accepted now (swapped on reload).
    pub auth: ArcSwap<Authenticator>,
    /// Session state.
    pub store: Store,
    /// What the service measures.
    pub metrics: Arc<Metrics>,
    /// Reloads and their outcome.
    pub reloader: Reloader,
    /// The config the service started with: sections only a restart applies are compared
    /// against it on reload.
    pub started: ChainConfig,
    /// The listener and limits.
    pub server: ServerSection,
    /// The time sessions, grants and credentials are checked against.
    pub clock: Clock,
    /// Detectors' memory and the alerts waiting for delivery.
    pub defence: defence::Defence,
    pending: AtomicUsize,
}

impl Service {
    /// A service over a loaded host, its credentials and its session store.
    pub fn new(host: Arc<Host>, auth: Authenticator, store: Store) -> Service {
        let loaded = host.current();
        let started = loaded.config().clone();
        let server = started.server.clone().unwrap_or_default();
        let metrics = Arc::new(Metrics::new(host.audit().map(|log| log.metrics())));
        let reloader = Reloader::new(loaded.chain().revision());
        drop(loaded);
        Service {
            host,
            auth: ArcSwap::from_pointee(auth),
            store,
            metrics,
            reloader,
            started,
            server,
            clock: Clock::system(),
            defence: defence::Defence::default(),
            pending: AtomicUsize::new(0),
        }
    }

    /// The same service on another clock (a manual one, to test expiry without waiting).
    pub fn with_clock(mut self, clock: Clock) -> Service {
        self.clock = clock;
        self
    }

    /// The time sessions, grants and credentials are checked against.
    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// A place among the decisions in progress, or 503 when `max-pending` are already.
    pub fn admit(&self) -> Result<Admitted<'_>, ApiError> {
        let before = self.pending.fetch_add(1, Ordering::AcqRel);
        let slot = Admitted(&self.pending);
        if before >= self.server.max_pending {
            self.metrics.overloaded();
            return Err(ApiError::unavailable(
                "overloaded",
                format!(
                    "{} decisions are in progress, the most this server takes at once; try again shortly",
                    self.server.max_pending
                ),
            ));
        }
        Ok(slot)
    }
}

/// A decision in progress; leaving it frees its place.
pub struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
