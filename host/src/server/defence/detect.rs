//! Detectors over the decision stream: sliding windows per agent or session, each tool an
//! agent has used, and each step's running mean fuel and time. State is kept in this
//! process, by detector name, so a reload that keeps a detector keeps its counts.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::config::{Action, DetectorKind, DetectorSection, Per};
use crate::chain::{Decision, Verdict};
use crate::request::Phase;

/// How many decisions of a step its mean needs before a spike can be told.
pub const MIN_SAMPLES: u64 = 20;

/// Above this many keys, windows that hold nothing recent are dropped.
const MAX_KEYS: usize = 50_000;

/// The most tools remembered per agent.
const MAX_TOOLS_PER_AGENT: usize = 10_000;

/// A detector that fired.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// The detector's name.
    pub detector: String,
    /// What it counts.
    pub kind: &'static str,
    /// The agent whose decisions it counted.
    pub agent: String,
    /// The session of the decision that made it fire.
    pub session: String,
    /// The decision that made it fire.
    pub decision: String,
    /// That decision's tool.
    pub tool: String,
    /// How many it counted within the window.
    pub count: usize,
    /// The window, in seconds.
    pub window: u64,
    /// One line on what was seen.
    pub detail: String,
    /// What is done about it.
    pub actions: Vec<Action>,
}

/// The detectors' memory.
#[derive(Default)]
pub struct Detectors {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Hits within the window, by detector and agent or session.
    windows: HashMap<(String, String), VecDeque<SystemTime>>,
    /// The tools each agent has called.
    tools: HashMap<String, HashSet<String>>,
    /// Each step's running means: (decisions, mean fuel, mean µs).
    steps: HashMap<String, (u64, f64, f64)>,
}

impl Detectors {
    /// Counts `decision` for every detector and returns those that fire.
    pub fn observe(
        &self,
        detectors: &[DetectorSection],
        decision: &Decision,
        now: SystemTime,
    ) -> Vec<Detection> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let request = &decision.request;
        let agent = &request.principal.agent;
        let mut fired = Vec::new();
        for detector in detectors {
            let Some(detail) = state.hit(detector, decision) else {
                continue;
            };
            let key = match detector.per {
                Per::Agent => agent.clone(),
                Per::Session => request.principal.session.clone(),
            };
            let window = state
                .windows
                .entry((detector.name.clone(), key))
                .or_default();
            while window.front().is_some_and(|t| {
                now.duration_since(*t).unwrap_or(Duration::ZERO) >= detector.window
            }) {
                window.pop_front();
            }
            window.push_back(now);
            if window.len() < detector.threshold {
                continue;
            }
            let count = window.len();
            // Counted again from nothing: one detection per burst, not one per decision.
            window.clear();
            fired.push(Detection {
                detector: detector.name.clone(),
                kind: detector.kind.as_str(),
                agent: agent.clone(),
                session: request.principal.session.clone(),
                decision: decision.id.clone(),
                tool: request.action.tool.clone(),
                count,
                window: detector.window.as_secs(),
                detail,
                actions: detector.actions.clone(),
            });
        }
        state.learn(decision);
        if state.windows.len() > MAX_KEYS {
            // Only windows with a hit still inside them are kept: the rest count nothing.
            state.windows.retain(|(name, _), hits| {
                let window = detectors
                    .iter()
                    .find(|d| d.name == *name)
                    .map_or(Duration::ZERO, |d| d.window);
                hits.back()
                    .is_some_and(|t| now.duration_since(*t).unwrap_or(Duration::ZERO) < window)
            });
        }
        fired
    }
}

impl State {
    /// Whether `decision` counts for `detector`, with what was seen.
    fn hit(&mut self, detector: &DetectorSection, decision: &Decision) -> Option<String> {
        let request = &decision.request;
        let tool = request.action.tool.as_str();
        if !detector.tools.admits(tool) {
            return None;
        }
        let escaped = crate::text::escape(tool);
        // A request for privileges is not a tool call: a held one is "denied" until an
        // operator decides, which says nothing about the agent.
        let call = request.phase != Phase::Elevation;
        match detector.kind {
            DetectorKind::Denies => (call && decision.verdict == Verdict::Deny)
                .then(|| format!("`{escaped}` denied: {}", decision.reason)),
            DetectorKind::Elevations => (call && decision.verdict == Verdict::ElevationRequired)
                .then(|| format!("`{escaped}` needed an elevation: {}", decision.reason)),
            DetectorKind::TaintedSideEffect => {
                let taint = detector
                    .labels
                    .iter()
                    .find(|label| request.labels.contains(label))?;
                (request.phase == Phase::Request).then(|| {
                    format!(
                        "`{escaped}` called in a session labelled `{}`",
                        crate::text::escape(taint)
                    )
                })
            }
            DetectorKind::FirstTool => {
                let first = request.phase == Phase::Request
                    && !self
                        .tools
                        .get(&request.principal.agent)
                        .is_some_and(|tools| tools.contains(tool));
                first.then(|| format!("first call of `{escaped}` by this agent"))
            }
            DetectorKind::Rate => {
                (request.phase == Phase::Request).then(|| format!("`{escaped}` called"))
            }
            DetectorKind::FuelSpike | DetectorKind::LatencySpike => {
                let fuel = detector.kind == DetectorKind::FuelSpike;
                decision.steps.iter().find_map(|step| {
                    let (n, mean_fuel, mean_micros) = *self.steps.get(&step.name)?;
                    let (value, mean) = if fuel {
                        (step.fuel? as f64, mean_fuel)
                    } else {
                        (step.micros as f64, mean_micros)
                    };
                    (n >= MIN_SAMPLES && mean > 0.0 && value > detector.factor * mean).then(|| {
                        format!(
                            "step `{}` used {value:.0} {} against a mean of {mean:.0}",
                            step.name,
                            if fuel { "fuel" } else { "µs" }
                        )
                    })
                })
            }
        }
    }

    /// Remembers the decision's tool and its steps' costs.
    fn learn(&mut self, decision: &Decision) {
        let request = &decision.request;
        if request.phase == Phase::Request {
            let tools = self
                .tools
                .entry(request.principal.agent.clone())
                .or_default();
            // Bounded: an agent calling more distinct tools than this is remarkable anyway,
            // and each further one keeps counting as a first call.
            if tools.len() < MAX_TOOLS_PER_AGENT {
                tools.insert(request.action.tool.clone());
            }
        }
        for step in &decision.steps {
            let entry = self.steps.entry(step.name.clone()).or_insert((0, 0.0, 0.0));
            entry.0 += 1;
            let n = entry.0 as f64;
            if let Some(fuel) = step.fuel {
                entry.1 += (fuel as f64 - entry.1) / n;
            }
            entry.2 += (step.micros as f64 - entry.2) / n;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::chain::{Reason, StepRecord, StepVerdict};
    use crate::config::{DefaultVerdict, Mode};
    use crate::digest::Digest;
    use crate::engine::{InstanceMode, Kind};
    use crate::request::{Action, Principal, Request};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn detector(toml: &str) -> DetectorSection {
        toml::from_str(&format!("name = \"d\"\nactions = [\"alert\"]\n{toml}")).unwrap()
    }

    fn decision(agent: &str, tool: &str, verdict: Verdict, labels: &[&str], fuel: u64) -> Decision {
        Decision {
            id: "d-1".into(),
            time: at(0),
            request: Request {
                id: None,
                phase: Phase::Request,
                principal: Principal {
                    agent: agent.into(),
                    roles: Vec::new(),
                    session: format!("{agent}-session"),
                    task: None,
                },
                action: Action {
                    tool: tool.into(),
                    args: serde_json::json!({}),
                    resource: None,
                },
                output: None,
                grants: Vec::new(),
                labels: labels.iter().map(|l| l.to_string()).collect(),
            },
            verdict,
            reason: Reason::ChainDefault {
                default: DefaultVerdict::Deny,
            },
            findings: Vec::new(),
            labels: Vec::new(),
            redacted: None,
            steps: vec![StepRecord {
                name: "rules".into(),
                plugin: Digest::of(b"p"),
                signed_by: Vec::new(),
                kind: Kind::Policy,
                mode: Mode::Enforce,
                instance: InstanceMode::Fresh,
                verdict: StepVerdict::Abstain,
                findings: Vec::new(),
                labels: Vec::new(),
                redactions: 0,
                fuel: Some(fuel),
                micros: 10,
                error: None,
            }],
            revision: Digest::of(b"r"),
            chain: None,
        }
    }

    #[test]
    fn a_burst_fires_once_when_it_reaches_the_threshold_within_the_window() {
        let detectors = Detectors::default();
        let d = [detector(
            "kind = \"denies\"\nthreshold = 3\nwindow = \"1m\"",
        )];
        let deny = decision("a", "shell", Verdict::Deny, &[], 1);
        assert!(detectors.observe(&d, &deny, at(0)).is_empty());
        assert!(detectors.observe(&d, &deny, at(10)).is_empty());
        // Another agent's denials are counted apart; an allow does not count.
        assert!(
            detectors
                .observe(&d, &decision("b", "shell", Verdict::Deny, &[], 1), at(11))
                .is_empty()
        );
        assert!(
            detectors
                .observe(&d, &decision("a", "shell", Verdict::Allow, &[], 1), at(12))
                .is_empty()
        );
        let fired = detectors.observe(&d, &deny, at(59));
        assert_eq!(fired.len(), 1);
        assert_eq!((fired[0].agent.as_str(), fired[0].count), ("a", 3));
        // Counted again from nothing; the first two have left the window by now.
        assert!(detectors.observe(&d, &deny, at(61)).is_empty());
        assert!(detectors.observe(&d, &deny, at(130)).is_empty());
        assert!(detectors.observe(&d, &deny, at(131)).is_empty());
    }

    #[test]
    fn tainted_side_effects_and_first_tools() {
        let detectors = Detectors::default();
        let d = [
            detector("kind = \"tainted-side-effect\"\ntools = [\"send_*\"]"),
            {
                let mut first = detector("kind = \"first-tool\"");
                first.name = "first".into();
                first
            },
        ];
        let clean = decision("a", "send_email", Verdict::Allow, &[], 1);
        let fired = detectors.observe(&d, &clean, at(0));
        assert_eq!(fired.len(), 1, "a first call, from a clean session");
        assert_eq!(fired[0].detector, "first");
        let tainted = decision("a", "send_email", Verdict::Allow, &["untrusted-content"], 1);
        let fired = detectors.observe(&d, &tainted, at(1));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].kind, "tainted-side-effect");
        assert!(
            fired[0].detail.contains("untrusted-content"),
            "{}",
            fired[0].detail
        );
        let read = decision("a", "read_inbox", Verdict::Allow, &["untrusted-content"], 1);
        assert_eq!(
            detectors.observe(&d, &read, at(2)).len(),
            1,
            "first read_inbox only"
        );
    }

    #[test]
    fn a_step_far_above_its_own_mean_fuel_is_a_spike() {
        let detectors = Detectors::default();
        let d = [detector("kind = \"fuel-spike\"\nfactor = 10")];
        for i in 0..MIN_SAMPLES {
            let normal = decision("a", "t", Verdict::Allow, &[], 1_000);
            assert!(detectors.observe(&d, &normal, at(i)).is_empty());
        }
        assert!(
            detectors
                .observe(&d, &decision("a", "t", Verdict::Allow, &[], 9_000), at(30))
                .is_empty()
        );
        let fired = detectors.observe(&d, &decision("a", "t", Verdict::Allow, &[], 50_000), at(31));
        assert_eq!(fired.len(), 1);
        assert!(
            fired[0].detail.contains("step `rules` used 50000 fuel"),
            "{}",
            fired[0].detail
        );
    }
}
