//! The chart's Grafana dashboard and PrometheusRule use only metrics the controller's `/metrics`
//! exposes.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use agentrelease::telemetry::metrics::Metrics;

fn chart(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/agentrelease")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// Every `agentrelease_*` name in a text.
fn names_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("agentrelease_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        // Skip words that merely contain the prefix (e.g. `kube_agentrelease_x`).
        let before = rest[..i].chars().last();
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.insert(tail[..end].to_string());
        }
        rest = &tail[end..];
    }
    out
}

/// The sample names `/metrics` exposes once every metric has been recorded.
fn exposed() -> BTreeSet<String> {
    let m = Metrics::new();
    m.reconciled("ready", Duration::from_millis(5));
    m.failed("kube");
    m.step("signoff", "blocked", "SignoffRejected");
    m.step_duration("AppDeployed", 30.0);
    m.databricks_call(
        "/api/2.0/apps/{name}",
        "GET",
        "rate_limited",
        Duration::from_millis(3),
    );
    m.release_phase("ns/a", Some("Ready"));
    m.set_leader(true);
    m.encode()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_dashboard_and_the_alerts_use_only_exposed_metrics() {
    let exposed = exposed();
    let dashboard = chart("dashboards/agentrelease.json");
    serde_json::from_str::<serde_json::Value>(&dashboard).expect("the dashboard is JSON");
    let rules = chart("templates/prometheusrule.yaml");
    for (what, text) in [("dashboard", &dashboard), ("PrometheusRule", &rules)] {
        let used = names_in(text);
        assert!(!used.is_empty(), "{what} uses no metric");
        let unknown: Vec<_> = used.difference(&exposed).collect();
        assert!(
            unknown.is_empty(),
            "{what} uses metrics /metrics does not expose: {unknown:?}\nexposed: {exposed:?}"
        );
    }
}

#[test]
fn the_dashboard_covers_what_operators_ask_for() {
    let used = names_in(&chart("dashboards/agentrelease.json"));
    for needed in [
        "agentrelease_releases",
        "agentrelease_step_duration_seconds_bucket",
        "agentrelease_step_outcomes_total",
        "agentrelease_databricks_requests_total",
        "agentrelease_reconcile_failures_total",
    ] {
        assert!(used.contains(needed), "the dashboard lacks {needed}");
    }
}
