//! Prometheus metrics (OpenMetrics text): reconciles by result, reconcile duration, step outcomes
//! by step and reason, Databricks calls by route and outcome (429s included), releases by phase,
//! and leadership.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of a reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `ready`, `progressing`, `blocked`, `failed`, `suspended`, `deleted`, `error`.
    pub result: String,
}

/// Labels of a step outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    /// The step.
    pub step: String,
    /// `done`, `waiting`, `blocked`, `failed`.
    pub outcome: String,
    /// The condition reason.
    pub reason: String,
}

/// Labels of a Databricks call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// The route template (`/api/2.1/unity-catalog/models/{full_name}/aliases/{alias}`).
    pub route: String,
    /// The HTTP method.
    pub method: String,
    /// `success`, `not_found`, `rate_limited`, `transient`, ...
    pub outcome: String,
}

/// Labels of a step duration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepNameLabels {
    /// The step's condition.
    pub step: String,
}

/// Labels of a phase gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabels {
    /// The phase.
    pub phase: String,
}

/// Labels of an error category.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CategoryLabels {
    /// The error category.
    pub category: String,
}

/// Labels of a registered model.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ModelLabels {
    /// The registered model's name.
    pub model: String,
}

/// Every metric of the operator.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    failures: Family<CategoryLabels, Counter>,
    reconcile_duration: Histogram,
    steps: Family<StepLabels, Counter>,
    step_duration: Family<StepNameLabels, Histogram, fn() -> Histogram>,
    calls: Family<CallLabels, Counter>,
    call_duration: Family<CallLabels, Histogram, fn() -> Histogram>,
    phases: Family<PhaseLabels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    leader: Gauge<i64, std::sync::atomic::AtomicI64>,
    release_phase: Mutex<HashMap<String, String>>,
    new_versions: Family<ModelLabels, Counter>,
    behind: Gauge<i64, std::sync::atomic::AtomicI64>,
    releases_behind: Mutex<std::collections::HashSet<String>>,
}

fn step_histogram() -> Histogram {
    Histogram::new([1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0])
}

fn call_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("agentrelease");
        let reconciles = Family::<ResultLabels, Counter>::default();
        let failures = Family::<CategoryLabels, Counter>::default();
        let reconcile_duration =
            Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]);
        let steps = Family::<StepLabels, Counter>::default();
        let calls = Family::<CallLabels, Counter>::default();
        let step_duration =
            Family::<StepNameLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                step_histogram,
            );
        let call_duration =
            Family::<CallLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                call_histogram,
            );
        let phases = Family::<PhaseLabels, Gauge<i64, std::sync::atomic::AtomicI64>>::default();
        let leader = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        registry.register("reconciles", "Reconciles by result", reconciles.clone());
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by error category",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            reconcile_duration.clone(),
        );
        registry.register(
            "step_outcomes",
            "Pipeline step outcomes by step, outcome and reason",
            steps.clone(),
        );
        registry.register(
            "step_duration_seconds",
            "How long a pipeline step took, from the step before it completing to it completing",
            step_duration.clone(),
        );
        registry.register(
            "databricks_requests",
            "Databricks API requests (each attempt) by route template, method and outcome",
            calls.clone(),
        );
        registry.register(
            "databricks_request_duration_seconds",
            "Databricks API request latency by route template, method and outcome",
            call_duration.clone(),
        );
        registry.register("releases", "AgentReleases by phase", phases.clone());
        registry.register(
            "leader",
            "1 when this instance holds the leader lease (or runs without leader election)",
            leader.clone(),
        );
        let new_versions = Family::<ModelLabels, Counter>::default();
        let behind = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        registry.register(
            "new_model_versions",
            "READY model versions newer than a release's declared one, counted once per version and release (Event NewModelVersion), by registered model",
            new_versions.clone(),
        );
        registry.register(
            "releases_with_newer_model_versions",
            "AgentReleases whose registered model has a READY version newer than the declared one",
            behind.clone(),
        );
        Metrics {
            registry,
            new_versions,
            behind,
            releases_behind: Mutex::new(std::collections::HashSet::new()),
            reconciles,
            failures,
            reconcile_duration,
            steps,
            step_duration,
            calls,
            call_duration,
            phases,
            leader,
            release_phase: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a reconcile and its duration.
    pub fn reconciled(&self, result: &str, took: Duration) {
        self.reconciles
            .get_or_create(&ResultLabels {
                result: result.to_string(),
            })
            .inc();
        self.reconcile_duration.observe(took.as_secs_f64());
    }

    /// Counts a failed reconcile by category.
    pub fn failed(&self, category: &str) {
        self.failures
            .get_or_create(&CategoryLabels {
                category: category.to_string(),
            })
            .inc();
    }

    /// Counts a step outcome.
    pub fn step(&self, step: &str, outcome: &str, reason: &str) {
        self.steps
            .get_or_create(&StepLabels {
                step: step.to_string(),
                outcome: outcome.to_string(),
                reason: reason.to_string(),
            })
            .inc();
    }

    /// Records how long a step took.
    pub fn step_duration(&self, step: &str, seconds: f64) {
        self.step_duration
            .get_or_create(&StepNameLabels {
                step: step.to_string(),
            })
            .observe(seconds);
    }

    /// Counts a Databricks request attempt.
    pub fn databricks_call(&self, route: &str, method: &str, outcome: &str, took: Duration) {
        let labels = CallLabels {
            route: route.to_string(),
            method: method.to_string(),
            outcome: outcome.to_string(),
        };
        self.calls.get_or_create(&labels).inc();
        self.call_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Records the phase of a release (`None` when it is gone).
    pub fn release_phase(&self, key: &str, phase: Option<&str>) {
        let Ok(mut map) = self.release_phase.lock() else {
            return;
        };
        if let Some(old) = map.remove(key) {
            self.phases.get_or_create(&PhaseLabels { phase: old }).dec();
        }
        if let Some(phase) = phase {
            self.phases
                .get_or_create(&PhaseLabels {
                    phase: phase.to_string(),
                })
                .inc();
            map.insert(key.to_string(), phase.to_string());
        }
    }

    /// Counts a newer model version noticed (one Event `NewModelVersion`).
    pub fn new_model_version(&self, model: &str) {
        self.new_versions
            .get_or_create(&ModelLabels {
                model: model.to_string(),
            })
            .inc();
    }

    /// Records how many newer READY model versions the release `key` has.
    pub fn newer_model_versions(&self, key: &str, count: usize) {
        let Ok(mut set) = self.releases_behind.lock() else {
            return;
        };
        if count > 0 {
            set.insert(key.to_string());
        } else {
            set.remove(key);
        }
        self.behind
            .set(i64::try_from(set.len()).unwrap_or(i64::MAX));
    }

    /// Forgets the phase of every release `keep` says is gone (a release deleted without a
    /// finalizer is never reconciled again, so nothing else would).
    pub fn retain_releases(&self, keep: impl Fn(&str) -> bool) {
        let Ok(mut map) = self.release_phase.lock() else {
            return;
        };
        let gone: Vec<String> = map.keys().filter(|k| !keep(k)).cloned().collect();
        for key in gone {
            if let Some(old) = map.remove(&key) {
                self.phases.get_or_create(&PhaseLabels { phase: old }).dec();
            }
        }
        drop(map);
        if let Ok(mut set) = self.releases_behind.lock() {
            set.retain(|k| keep(k));
            self.behind
                .set(i64::try_from(set.len()).unwrap_or(i64::MAX));
        }
    }

    /// Records leadership.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The steps `new` completed that `old` had not, with how long each took: from the latest
/// completion of an earlier step in `order` to its own (the time it could run until it was done).
pub fn completed_steps(
    order: &[&str],
    old: Option<&agentrelease_api::AgentReleaseStatus>,
    new: &agentrelease_api::AgentReleaseStatus,
) -> Vec<(String, f64)> {
    use agentrelease_api::condition::find;
    let Some(old) = old else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut start: Option<i64> = None;
    for step in order {
        let Some(c) = find(&new.conditions, step).filter(|c| c.is_true()) else {
            continue;
        };
        let at = c.last_transition_time.as_second();
        let newly = find(&old.conditions, step).is_some_and(|o| !o.is_true());
        if newly && let Some(from) = start {
            out.push((step.to_string(), (at - from).max(0) as f64));
        }
        start = Some(start.map_or(at, |s| s.max(at)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_lasts_from_the_completion_before_it_to_its_own() {
        use agentrelease_api::{Condition, ConditionStatus};
        let t = |s: i64| jiff::Timestamp::from_second(1_800_000_000 + s).expect("t");
        let c = |ty: &str, st: ConditionStatus, at: i64| {
            Condition::new(ty, st, "R", "", Some(1), t(at))
        };
        let old = agentrelease_api::AgentReleaseStatus {
            conditions: vec![
                c("A", ConditionStatus::True, 0),
                c("B", ConditionStatus::True, 10),
                c("C", ConditionStatus::False, 0),
            ],
            ..Default::default()
        };
        let mut new = old.clone();
        new.conditions[2] = c("C", ConditionStatus::True, 95);
        assert_eq!(
            completed_steps(&["A", "B", "C"], Some(&old), &new),
            [("C".to_string(), 85.0)]
        );
        assert!(completed_steps(&["A", "B", "C"], Some(&new), &new).is_empty());
        assert!(completed_steps(&["A", "B", "C"], None, &new).is_empty());
    }

    #[test]
    fn exposes_every_family() {
        let m = Metrics::new();
        m.reconciled("ready", Duration::from_millis(20));
        m.step("signoff", "blocked", "SignoffRejected");
        m.databricks_call(
            "/api/2.0/apps/{name}",
            "GET",
            "rate_limited",
            Duration::from_millis(3),
        );
        m.release_phase("ns/a", Some("Ready"));
        m.release_phase("ns/a", Some("Blocked"));
        m.set_leader(true);
        let text = m.encode();
        assert!(
            text.contains("agentrelease_reconciles_total{result=\"ready\"} 1"),
            "{text}"
        );
        assert!(text.contains("agentrelease_step_outcomes_total{step=\"signoff\",outcome=\"blocked\",reason=\"SignoffRejected\"} 1"), "{text}");
        assert!(text.contains("outcome=\"rate_limited\"} 1"), "{text}");
        assert!(
            text.contains("agentrelease_releases{phase=\"Blocked\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("agentrelease_releases{phase=\"Ready\"} 0"),
            "{text}"
        );
        assert!(text.contains("agentrelease_leader 1"), "{text}");
    }
}
