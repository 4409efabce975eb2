//! The deployment plan document written to `deployment_plans/v<M>/plan.md` (pure rendering).
//!
//! The front matter carries the marker `agentrelease_marker: <release uid>/<generation>/<gate
//! inputs>`; a pass
//! that finds it in an existing plan records that plan instead of writing a second one. A move
//! of the alias to a lower version is called out (`alias_downgrade: true` and a line under
//! Promotion).

use std::fmt::Write as _;

use agentrelease_api::status::{MetricResult, SignoffRecord};
use jiff::Timestamp;

use super::context::ReleaseContext;
use super::desired;

/// The front-matter key of the marker.
pub const MARKER_KEY: &str = "agentrelease_marker";

/// The marker line for a release generation.
pub fn marker_line(marker: &str) -> String {
    format!("{MARKER_KEY}: {marker}")
}

/// Whether a plan document carries the marker (an exact line of its front matter).
pub fn has_marker(document: &str, marker: &str) -> bool {
    let expected = marker_line(marker);
    let mut lines = document.lines().map(|l| l.trim_end_matches('\r'));
    if lines.next().map(str::trim_end) != Some("---") {
        return false;
    }
    for line in lines {
        let line = line.trim_end();
        if line == "---" {
            return false;
        }
        if line == expected {
            return true;
        }
    }
    false
}

/// What the plan records.
pub struct PlanInput<'a> {
    /// The release.
    pub ctx: &'a ReleaseContext,
    /// M.
    pub plan_version: i64,
    /// Where the alias points now.
    pub alias_from: Option<i64>,
    /// The signoff as read.
    pub signoff: Option<&'a SignoffRecord>,
    /// The evaluation verdicts.
    pub evaluation: &'a [MetricResult],
    /// The release identity's digest the plan is written for.
    pub fingerprint: &'a str,
    /// The logged model id the app is deployed with.
    pub model_id: Option<&'a str>,
    /// The approval the release is released under (`spec.policy.approval: Required`).
    pub approval: Option<&'a agentrelease_api::promotion_status::ApprovalRecord>,
    /// When.
    pub written_at: Timestamp,
}

/// Renders the plan.
pub fn render(input: &PlanInput<'_>) -> String {
    let ctx = input.ctx;
    let spec = &ctx.spec;
    let id = &ctx.identity;
    let alias = &spec.model.alias;
    let from = input
        .alias_from
        .map(|v| v.to_string())
        .unwrap_or_else(|| "null".into());
    let mut out = String::new();
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "{}", marker_line(&id.plan_marker(input.fingerprint)));
    let _ = writeln!(out, "release: {}", id.key());
    let _ = writeln!(out, "generation: {}", id.generation);
    let _ = writeln!(out, "version: {}", ctx.n());
    let _ = writeln!(out, "plan_version: {}", input.plan_version);
    let _ = writeln!(out, "model: {}", yaml_str(&spec.model.name));
    let _ = writeln!(out, "model_version: {}", spec.model.version);
    let _ = writeln!(out, "alias: {}", yaml_str(alias));
    let _ = writeln!(out, "alias_from: {from}");
    let _ = writeln!(out, "alias_to: {}", spec.model.version);
    let downgrade = input.alias_from.filter(|from| spec.model.version < *from);
    if downgrade.is_some() {
        let _ = writeln!(out, "alias_downgrade: true");
    }
    let _ = writeln!(out, "identity: {}", input.fingerprint);
    let _ = writeln!(
        out,
        "written_at: {}",
        input.written_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    );
    let _ = writeln!(out, "---");
    let _ = writeln!(
        out,
        "# Deployment plan v{} — {} (N={})\n",
        input.plan_version,
        id.key(),
        ctx.n()
    );

    let _ = writeln!(out, "## Promotion\n");
    let _ = writeln!(
        out,
        "- `{}@{alias}`: {} → {}",
        spec.model.name,
        input
            .alias_from
            .map(|v| format!("version {v}"))
            .unwrap_or_else(|| "(no alias yet)".into()),
        format_args!("version {}", spec.model.version)
    );
    if let Some(from) = downgrade {
        let _ = writeln!(
            out,
            "- **downgrade**: the alias moves from version {from} to the lower version {}; a revert, gated like any release",
            spec.model.version
        );
    }
    let _ = writeln!(
        out,
        "- artifacts: signoff `{}`, eval summary `{}`, prompt `{}@{}`\n",
        ctx.signoff_path, ctx.eval_summary_path, ctx.prompt_name, ctx.prompt_alias
    );

    if let Some(app) = &spec.app {
        let _ = writeln!(out, "## App `{}`\n", app.name);
        let _ = writeln!(out, "- source: `{}` (SNAPSHOT)", app.source_code_path);
        if !app.command.is_empty() {
            let _ = writeln!(out, "- command: `{}`", app.command.join(" "));
        }
        let experiment = format!("<id of {}>", ctx.target.experiments.deployment);
        let _ = writeln!(out, "- environment:");
        for line in desired::env_lines(&desired::app_env(ctx, input.model_id, Some(&experiment))) {
            let _ = writeln!(out, "  - `{line}`");
        }
        let _ = writeln!(out);
    }

    if let Some(config) = desired::endpoint_config(ctx) {
        let name = spec
            .serving_endpoint
            .as_ref()
            .map(|e| e.name.as_str())
            .unwrap_or_default();
        let _ = writeln!(out, "## Serving endpoint `{name}`\n");
        for e in &config.served_entities {
            let _ = writeln!(
                out,
                "- served entity `{}`: `{}` version {} ({}, scale to zero {})",
                e.name, e.entity_name, e.entity_version, e.workload_size, e.scale_to_zero_enabled
            );
        }
        for r in &config.routes {
            let _ = writeln!(
                out,
                "- route: {}% → `{}`",
                r.traffic_percentage, r.served_entity_name
            );
        }
        let _ = writeln!(out);
    }

    let acls = desired::acl_entries(ctx);
    let grants = desired::grants(ctx);
    if !acls.is_empty() || !grants.is_empty() {
        let _ = writeln!(out, "## Permissions and grants\n");
        for a in &acls {
            let _ = writeln!(
                out,
                "- {} on {}: {}",
                a.level,
                a.object.describe(),
                a.principal.describe()
            );
        }
        for g in &grants {
            let _ = writeln!(
                out,
                "- {} on {} `{}`: {}",
                g.privileges.join(", "),
                g.securable_type,
                g.full_name,
                g.principal.describe()
            );
        }
        let _ = writeln!(out);
    }

    if let Some(approval) = input.approval {
        let _ = writeln!(out, "## Approval\n");
        let _ = writeln!(out, "- {}\n", super::steps::approved::describe(approval));
    }

    let _ = writeln!(out, "## Signoff\n");
    match input.signoff {
        Some(s) => {
            for (label, d) in [
                ("engineering", &s.engineering),
                ("stakeholder", &s.stakeholder),
            ] {
                let _ = write!(
                    out,
                    "- {label}: {}",
                    d.decision.as_deref().unwrap_or("(missing)")
                );
                if let Some(by) = &d.approver {
                    let _ = write!(out, " by {by}");
                }
                if let Some(date) = &d.date {
                    let _ = write!(out, " on {date}");
                }
                if let Some(c) = &d.conditions {
                    let _ = write!(out, " — conditions: {c}");
                }
                let _ = writeln!(out);
            }
            match &s.override_ {
                Some(o) => {
                    let _ = writeln!(
                        out,
                        "- **override**: engineering {}, stakeholder {}; approved by {}; reason: {}",
                        o.engineering_decision.as_deref().unwrap_or("-"),
                        o.stakeholder_decision.as_deref().unwrap_or("-"),
                        o.approved_by.as_deref().unwrap_or("(not stated)"),
                        o.reason.as_deref().unwrap_or("(not stated)")
                    );
                }
                None => {
                    let _ = writeln!(out, "- override: none");
                }
            }
        }
        None => {
            let _ = writeln!(out, "- (not read)");
        }
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Evaluation\n");
    if input.evaluation.is_empty() {
        let _ = writeln!(out, "No thresholds declared.");
    } else {
        let _ = writeln!(out, "| metric | observed | bound | verdict |");
        let _ = writeln!(out, "|---|---|---|---|");
        for m in input.evaluation {
            let bound = match (m.min, m.max) {
                (Some(a), Some(b)) => format!("{a} ≤ x ≤ {b}"),
                (Some(a), None) => format!("≥ {a}"),
                (None, Some(b)) => format!("≤ {b}"),
                (None, None) => "-".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {bound} | {} |",
                m.metric,
                m.observed
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "-".into()),
                if m.passed { "pass" } else { "fail" }
            );
        }
    }
    out
}

/// A YAML scalar for a free-form value: quoted with JSON rules (a JSON string is valid YAML).
fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_from(alias_from: Option<i64>) -> String {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples");
        let read = |f: &str| std::fs::read_to_string(root.join(f)).expect("sample");
        let release: agentrelease_api::AgentRelease =
            serde_saphyr::from_str(&read("agentrelease.yaml")).expect("release");
        let target: agentrelease_api::ReleaseTarget =
            serde_saphyr::from_str(&read("releasetarget.yaml")).expect("target");
        let identity = crate::engine::Identity {
            uid: "u".into(),
            generation: 1,
            namespace: "agents".into(),
            name: "skyloyalty-v7".into(),
        };
        let ctx = ReleaseContext::new(identity, &release.spec, &target.spec).expect("context");
        render(&PlanInput {
            ctx: &ctx,
            plan_version: 3,
            alias_from,
            signoff: None,
            evaluation: &[],
            fingerprint: "f",
            model_id: None,
            approval: None,
            written_at: Timestamp::UNIX_EPOCH,
        })
    }

    #[test]
    fn a_move_to_a_lower_version_is_called_out_as_a_downgrade() {
        // The sample releases version 12.
        let down = render_from(Some(13));
        assert!(down.contains("\nalias_downgrade: true\n"), "{down}");
        assert!(
            down.contains(
                "- **downgrade**: the alias moves from version 13 to the lower version 12"
            ),
            "{down}"
        );
        for up in [
            render_from(Some(11)),
            render_from(None),
            render_from(Some(12)),
        ] {
            assert!(!up.contains("downgrade"), "{up}");
        }
    }

    #[test]
    fn marker_is_found_only_in_the_front_matter() {
        let doc = "---\nagentrelease_marker: uid-1/3\nrelease: a/b\n---\nbody\n";
        assert!(has_marker(doc, "uid-1/3"));
        assert!(!has_marker(doc, "uid-1/4"));
        assert!(!has_marker(doc, "uid-1/"));
        let body_only = "---\nrelease: a/b\n---\nagentrelease_marker: uid-1/3\n";
        assert!(!has_marker(body_only, "uid-1/3"));
        assert!(has_marker(
            "---\r\nagentrelease_marker: u/1\r\n---\r\n",
            "u/1"
        ));
    }
}
