//! What the service measures, in the Prometheus text format (`GET /metrics`).
//!
//! Decisions by verdict, chain and phase; step outcomes and failures by step; decision latency
//! and fuel; the audit log's queue and commit latency; reloads and their outcome; HTTP
//! requests by route and status; refused credentials; detections and alerts.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::audit::AuditMetrics;
use crate::chain::{Decision, StepVerdict};

type Labels = Vec<(&'static str, String)>;

fn latency() -> Histogram {
    // 5 µs .. ~5 s.
    Histogram::new(exponential_buckets(5e-6, 2.5, 16))
}

fn fuel() -> Histogram {
    // 1k .. ~4G instructions.
    Histogram::new(exponential_buckets(1e3, 4.0, 12))
}

/// Every metric the service keeps. Cheap to update from any thread.
pub struct Metrics {
    registry: Registry,
    decisions: Family<Labels, Counter>,
    steps: Family<Labels, Counter>,
    step_failures: Family<Labels, Counter>,
    step_fuel: Family<Labels, Histogram, fn() -> Histogram>,
    decision_seconds: Histogram,
    reloads: Family<Labels, Counter>,
    reload_failing: Gauge,
    http: Family<Labels, Counter>,
    http_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    auth_failures: Family<Labels, Counter>,
    state_errors: Counter,
    overloaded: Counter,
    connections: Gauge,
    detections: Family<Labels, Counter>,
    alerts: Family<Labels, Counter>,
}

impl Metrics {
    /// A fresh set of metrics, including the audit log's own when there is one.
    pub fn new(audit: Option<&AuditMetrics>) -> Metrics {
        let mut registry = Registry::with_prefix("lampart");
        let metrics = Metrics {
            decisions: Family::default(),
            steps: Family::default(),
            step_failures: Family::default(),
            step_fuel: Family::new_with_constructor(fuel),
            decision_seconds: latency(),
            reloads: Family::default(),
            reload_failing: Gauge::default(),
            http: Family::default(),
            http_seconds: Family::new_with_constructor(latency),
            auth_failures: Family::default(),
            state_errors: Counter::default(),
            overloaded: Counter::default(),
            connections: Gauge::default(),
            detections: Family::default(),
            alerts: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "decisions",
            "Decisions, by verdict, chain and phase",
            metrics.decisions.clone(),
        );
        registry.register(
            "step_outcomes",
            "What each step answered, by step and outcome (enforcing and monitoring steps)",
            metrics.steps.clone(),
        );
        registry.register(
            "step_failures",
            "Steps that failed, by step and kind of failure",
            metrics.step_failures.clone(),
        );
        registry.register(
            "step_fuel",
            "Fuel each step burned per call",
            metrics.step_fuel.clone(),
        );
        registry.register(
            "decision_seconds",
            "Time to decide, from the request to the verdict (before the audit record is durable)",
            metrics.decision_seconds.clone(),
        );
        registry.register(
            "reloads",
            "Chain reloads, by outcome and what caused them",
            metrics.reloads.clone(),
        );
        registry.register(
            "reload_failing",
            "1 while the last reload failed and an older chain is deciding",
            metrics.reload_failing.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            metrics.http.clone(),
        );
        registry.register(
            "http_request_seconds",
            "Time to answer an HTTP request, by route",
            metrics.http_seconds.clone(),
        );
        registry.register(
            "auth_failures",
            "Requests refused for their credentials, by reason",
            metrics.auth_failures.clone(),
        );
        registry.register(
            "state_errors",
            "Session store operations that failed",
            metrics.state_errors.clone(),
        );
        registry.register(
            "overloaded",
            "Requests and connections refused with 503 because the service was full",
            metrics.overloaded.clone(),
        );
        registry.register(
            "connections",
            "Connections open now",
            metrics.connections.clone(),
        );
        registry.register(
            "detections",
            "Detectors that fired, by detector and kind",
            metrics.detections.clone(),
        );
        registry.register(
            "alerts",
            "Alerts, by sink and outcome (sent, failed, dropped)",
            metrics.alerts.clone(),
        );
        if let Some(audit) = audit {
            registry.register(
                "audit_queued",
                "Audit records submitted and not yet durable",
                audit.queued.clone(),
            );
            registry.register(
                "audit_commit_seconds",
                "Time to write and sync one batch of audit records",
                audit.commit_seconds.clone(),
            );
            registry.register(
                "audit_batch_records",
                "Audit records per batch",
                audit.batch_records.clone(),
            );
        }
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Counts one decision and what each of its steps did.
    pub fn decision(&self, decision: &Decision, took: Duration) {
        let chain = decision.chain.clone().unwrap_or_default();
        self.decisions
            .get_or_create(&vec![
                ("verdict", decision.verdict.as_str().to_owned()),
                ("chain", chain),
                ("phase", decision.request.phase.as_str().to_owned()),
            ])
            .inc();
        self.decision_seconds.observe(took.as_secs_f64());
        for step in &decision.steps {
            let outcome = match &step.verdict {
                StepVerdict::Allow => "allow",
                StepVerdict::Deny(_) => "deny",
                StepVerdict::Require(_) => "require",
                StepVerdict::Abstain => "abstain",
                StepVerdict::Inspected => "inspected",
                StepVerdict::Failed => "failed",
            };
            self.steps
                .get_or_create(&vec![
                    ("step", step.name.clone()),
                    ("outcome", outcome.to_owned()),
                ])
                .inc();
            if let Some(error) = &step.error {
                self.step_failures
                    .get_or_create(&vec![
                        ("step", step.name.clone()),
                        ("kind", error.kind.as_str().to_owned()),
                    ])
                    .inc();
            }
            if let Some(fuel) = step.fuel {
                self.step_fuel
                    .get_or_create(&vec![("step", step.name.clone())])
                    .observe(fuel as f64);
            }
        }
    }

    /// Counts one reload attempt.
    pub fn reload(&self, cause: &str, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.reloads
            .get_or_create(&vec![
                ("outcome", outcome.to_owned()),
                ("cause", cause.to_owned()),
            ])
            .inc();
        self.reload_failing.set(i64::from(!ok));
    }

    /// Counts one answered HTTP request.
    pub fn http(&self, route: &str, status: u16, took: Duration) {
        self.http
            .get_or_create(&vec![
                ("route", route.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.http_seconds
            .get_or_create(&vec![("route", route.to_owned())])
            .observe(took.as_secs_f64());
    }

    /// Counts a refused credential.
    pub fn auth_failure(&self, reason: &str) {
        self.auth_failures
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    /// Counts a detector that fired.
    pub fn detection(&self, detector: &str, kind: &str) {
        self.detections
            .get_or_create(&vec![
                ("detector", detector.to_owned()),
                ("kind", kind.to_owned()),
            ])
            .inc();
    }

    /// Counts an alert's delivery to a sink: `sent`, `failed` (after retries) or `dropped`
    /// (the queue was full).
    pub fn alert(&self, sink: &str, outcome: &str) {
        self.alerts
            .get_or_create(&vec![
                ("sink", sink.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    /// Counts a failed session store operation.
    pub fn state_error(&self) {
        self.state_errors.inc();
    }

    /// Counts a request or connection refused because the service was full.
    pub fn overloaded(&self) {
        self.overloaded.inc();
    }

    /// The gauge of open connections.
    pub fn connections(&self) -> &Gauge {
        &self.connections
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
