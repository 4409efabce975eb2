//! `kubectl agentrelease get NAME`: a release as a tree, from its status alone. Pure: the
//! release and the time in, text out.

use agentrelease_api::conditions::types;
use agentrelease_api::status::{AgentReleaseStatus, DeploymentPhase, MetricResult};
use agentrelease_api::{AgentRelease, Condition, Phase};
use jiff::Timestamp;

use super::style::{Mark, Style, human_duration};

use crate::engine::steps::condition_order;

/// The kstatus trio, shown in the header rather than the tree.
const SUMMARY: &[&str] = &[types::READY, types::RECONCILING, types::STALLED];

/// A node of the tree: a line and its children.
struct Node {
    line: String,
    children: Vec<Node>,
}

impl Node {
    fn leaf(line: impl Into<String>) -> Node {
        Node {
            line: line.into(),
            children: Vec::new(),
        }
    }
}

/// Whether a release has come to rest: Ready, or needing a human (`--watch` stops there). A
/// status older than the spec has not come to rest whatever it says (the controller has not
/// looked at the change yet), unless the release is suspended (it will not look).
pub fn settled(release: &AgentRelease) -> bool {
    let Some(status) = &release.status else {
        return false;
    };
    let is_true = |t: &str| {
        agentrelease_api::condition::find(&status.conditions, t).is_some_and(Condition::is_true)
    };
    if status.phase == Some(Phase::Suspended) && is_true(types::SUSPENDED) {
        return true;
    }
    let observed = release.metadata.generation.is_none()
        || status.observed_generation == release.metadata.generation;
    observed
        && (is_true(types::READY)
            || is_true(types::STALLED)
            || matches!(
                status.phase,
                Some(
                    Phase::Blocked
                        | Phase::RolledBack
                        | Phase::Superseded
                        | Phase::AwaitingApproval
                )
            ))
}

/// The mark of the release as a whole.
pub fn release_mark(status: &AgentReleaseStatus) -> Mark {
    match status.phase {
        Some(Phase::Ready) => Mark::Done,
        Some(Phase::Blocked | Phase::RolledBack) => Mark::Failed,
        Some(Phase::Failed | Phase::Suspended | Phase::Superseded) => Mark::Warn,
        _ => Mark::Waiting,
    }
}

/// The tree of one release at time `now`.
pub fn render(release: &AgentRelease, now: Timestamp, style: Style) -> String {
    let name = release.metadata.name.as_deref().unwrap_or("(unnamed)");
    let namespace = release.metadata.namespace.as_deref().unwrap_or("default");
    let spec = &release.spec;
    let empty = AgentReleaseStatus::default();
    let status = release.status.as_ref().unwrap_or(&empty);
    let mut out = String::new();
    let field = |out: &mut String, label: &str, value: &str| {
        out.push_str(&format!("{:<11} {value}\n", format!("{label}:")));
    };
    field(&mut out, "Name", name);
    field(&mut out, "Namespace", namespace);
    field(&mut out, "Target", &spec.target_ref.name);
    field(
        &mut out,
        "Release",
        &format!(
            "N={}, {} version {} @{}",
            spec.version, spec.model.name, spec.model.version, spec.model.alias
        ),
    );
    if let Some(id) = &status.identity {
        field(
            &mut out,
            "Identity",
            &format!(
                "{} (logged model {}, prompt v{}, signoff {}, eval {})",
                id.digest,
                id.logged_model_id.as_deref().unwrap_or("-"),
                id.prompt_version.as_deref().unwrap_or("-"),
                id.signoff.get(..8).unwrap_or(&id.signoff),
                id.eval_summary.get(..8).unwrap_or(&id.eval_summary)
            ),
        );
    }
    let ready = agentrelease_api::condition::find(&status.conditions, types::READY);
    let phase = status.phase.map(Phase::as_str).unwrap_or("Pending");
    let mark = release_mark(status);
    let mut phase_line = format!("{} {}", style.mark(mark), style.paint(mark, phase));
    if let Some(r) = ready {
        phase_line.push_str(&format!(
            " ({}, {} ago)",
            r.reason,
            human_duration(since(r.last_transition_time, now))
        ));
    }
    if let Some(took) = took(release, status) {
        phase_line.push_str(&format!(", took {}", human_duration(took)));
    }
    field(&mut out, "Phase", &phase_line);
    if let Some(r) = ready.filter(|r| !r.message.is_empty()) {
        field(&mut out, "Message", &r.message);
    }
    if status.observed_generation.is_some()
        && release.metadata.generation.is_some()
        && status.observed_generation != release.metadata.generation
    {
        field(
            &mut out,
            "Note",
            &format!(
                "status is for generation {}, the spec is at {}; the controller has not caught up",
                status.observed_generation.unwrap_or_default(),
                release.metadata.generation.unwrap_or_default()
            ),
        );
    }
    out.push('\n');

    let mut root = Node {
        line: style.bold(name),
        children: Vec::new(),
    };
    let mut known: Vec<&str> = SUMMARY.to_vec();
    for step in condition_order() {
        known.push(step);
        let Some(c) = agentrelease_api::condition::find(&status.conditions, step) else {
            continue;
        };
        let mut node = condition_node(c, now, style);
        node.children.extend(details(step, release, status, style));
        root.children.push(node);
    }
    // Conditions this view has no special knowledge of (newer steps included), as they are.
    for c in &status.conditions {
        if known.contains(&c.type_.as_str()) {
            continue;
        }
        root.children.push(condition_node(c, now, style));
    }
    if let Some(rb) = &status.rollback {
        let to = rb
            .to_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "(removed)".into());
        let mut node = Node::leaf(format!(
            "{} Rollback  @{} {} → {}, {} ago{}",
            style.mark(Mark::Failed),
            spec.model.alias,
            rb.from_version,
            to,
            human_duration(since(rb.at, now)),
            if rb.in_progress { " (in progress)" } else { "" }
        ));
        node.children
            .push(Node::leaf(format!("reason: {}", rb.reason)));
        if let Some(r) = &rb.restored_release {
            node.children.push(Node::leaf(format!("restored {r}")));
        }
        for line in &rb.restored {
            node.children.push(Node::leaf(line.clone()));
        }
        root.children.push(node);
    }
    if let Some(d) = &status.drift {
        let mut node = Node::leaf(format!(
            "{} Drift  {}, {} ago",
            style.mark(Mark::Warn),
            if d.corrected { "corrected" } else { "reported" },
            human_duration(since(d.at, now))
        ));
        node.children
            .extend(d.items.iter().map(|i| Node::leaf(i.clone())));
        root.children.push(node);
    }
    draw(&root, &mut out);
    out
}

/// Seconds from `then` to `now`.
fn since(then: Timestamp, now: Timestamp) -> i64 {
    now.as_second() - then.as_second()
}

/// How long the release took to become Ready: from its creation (or its first condition) to
/// the Ready transition.
fn took(release: &AgentRelease, status: &AgentReleaseStatus) -> Option<i64> {
    let ready = agentrelease_api::condition::find(&status.conditions, types::READY)
        .filter(|c| c.is_true())?;
    let start = release
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .or_else(|| {
            status
                .conditions
                .iter()
                .map(|c| c.last_transition_time.as_second())
                .min()
        })?;
    Some(ready.last_transition_time.as_second() - start)
}

fn condition_node(c: &Condition, now: Timestamp, style: Style) -> Node {
    let mark = Mark::of_condition(c);
    let mut node = Node::leaf(format!(
        "{} {:<19} {:<22} {} ago",
        style.mark(mark),
        c.type_,
        c.reason,
        human_duration(since(c.last_transition_time, now))
    ));
    // A done step's message repeats the details below it; one that is not done says why.
    if !matches!(mark, Mark::Done | Mark::Skipped) && !c.message.is_empty() {
        node.children
            .push(Node::leaf(style.paint(mark, &c.message)));
    }
    node
}

fn metric_line(m: &MetricResult, style: Style) -> String {
    let mark = if m.passed { Mark::Done } else { Mark::Failed };
    let observed = m
        .observed
        .map(|v| v.to_string())
        .unwrap_or_else(|| "missing".into());
    let bounds = match (m.min, m.max) {
        (Some(min), Some(max)) => format!("within [{min}, {max}]"),
        (Some(min), None) => format!("≥ {min}"),
        (None, Some(max)) => format!("≤ {max}"),
        (None, None) => String::new(),
    };
    let mut line = format!(
        "{} {:<22} {:>10}  {bounds}",
        style.mark(mark),
        m.metric,
        observed
    );
    if let Some(r) = m.reason.as_ref().filter(|_| !m.passed) {
        line.push_str(&format!("  ({r})"));
    }
    line.trim_end().to_string()
}

/// What status knows about a step, as child lines.
fn details(
    step: &str,
    release: &AgentRelease,
    status: &AgentReleaseStatus,
    style: Style,
) -> Vec<Node> {
    let mut out = Vec::new();
    match step {
        types::EVALUATION_PASSED => {
            out.extend(
                status
                    .evaluation
                    .iter()
                    .map(|m| Node::leaf(metric_line(m, style))),
            );
        }
        types::SIGNOFF_APPROVED => {
            if let Some(s) = &status.signoff {
                for (who, d) in [
                    ("engineering", &s.engineering),
                    ("stakeholder", &s.stakeholder),
                ] {
                    let decision = d.decision.as_deref().unwrap_or("(missing)");
                    let approving = matches!(decision, "APPROVED" | "APPROVED_WITH_CONDITIONS");
                    let mark = match (approving, &s.override_) {
                        (true, _) => Mark::Done,
                        (false, Some(_)) => Mark::Warn,
                        (false, None) => Mark::Failed,
                    };
                    let mut line = format!("{} {who:<12} {decision}", style.mark(mark));
                    if let Some(a) = &d.approver {
                        line.push_str(&format!(" by {a}"));
                    }
                    if let Some(date) = &d.date {
                        line.push_str(&format!(" on {date}"));
                    }
                    if let Some(c) = &d.conditions {
                        line.push_str(&format!(" (conditions: {c})"));
                    }
                    out.push(Node::leaf(line));
                }
                if let Some(o) = &s.override_ {
                    let mut node = Node::leaf(format!(
                        "{} override     approved by {}",
                        style.mark(Mark::Warn),
                        o.approved_by.as_deref().unwrap_or("(unnamed)")
                    ));
                    if let Some(r) = &o.reason {
                        node.children.push(Node::leaf(format!("reason: {r}")));
                    }
                    node.children.push(Node::leaf(format!(
                        "captured: engineering {}, stakeholder {}",
                        o.engineering_decision.as_deref().unwrap_or("-"),
                        o.stakeholder_decision.as_deref().unwrap_or("-")
                    )));
                    out.push(node);
                }
                out.push(Node::leaf(format!("file {}", s.path)));
            }
        }
        types::APPROVED => {
            if let Some(a) = &status.approval {
                out.push(Node::leaf(crate::engine::steps::approved::describe(a)));
            }
        }
        types::PLAN_RECORDED => {
            if let Some(p) = &status.plan {
                out.push(Node::leaf(format!("plan v{} {}", p.version, p.path)));
            }
        }
        types::ALIAS_PROMOTED => {
            if let Some(to) = status.promoted_version {
                let from = status
                    .previous_version
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "(none)".into());
                out.push(Node::leaf(format!(
                    "{}@{} {from} → {to}",
                    release.spec.model.name, release.spec.model.alias
                )));
            }
        }
        types::APP_DEPLOYED => {
            if let Some(d) = &status.deployment {
                let mut line = format!(
                    "deployment {} {}, started {}",
                    d.id,
                    deployment_state(d.state),
                    d.started_at
                );
                if let Some(m) = &d.message {
                    line.push_str(&format!(": {m}"));
                }
                out.push(Node::leaf(line));
            }
            if let Some(url) = &status.app_url {
                out.push(Node::leaf(format!("app {url}")));
            }
        }
        types::ENDPOINT_READY => {
            if let Some(v) = status.endpoint_config_version {
                let name = release
                    .spec
                    .serving_endpoint
                    .as_ref()
                    .map(|e| e.name.as_str())
                    .unwrap_or("endpoint");
                out.push(Node::leaf(format!("{name} config version {v}")));
            }
        }
        types::VERIFIED => {
            if let Some(v) = &status.verification {
                let mark = if v.passed { Mark::Done } else { Mark::Failed };
                let mut line = format!(
                    "{} {} attempt(s) on deployment {}",
                    style.mark(mark),
                    v.attempts,
                    v.deployment_id
                );
                if let Some(r) = &v.last_result {
                    line.push_str(&format!(": {r}"));
                }
                out.push(Node::leaf(line));
                if let Some(t) = &v.task {
                    out.push(Node::leaf(super::task_line::render(t, v.passed, style)));
                }
            }
        }
        types::AUDITED => {
            if let Some(a) = &status.audit {
                out.push(Node::leaf(format!(
                    "run {} ({}) in experiment {}",
                    a.run_name, a.run_id, a.experiment_id
                )));
            }
        }
        _ => {}
    }
    out
}

/// The deployment state as the Apps API spells it.
fn deployment_state(state: DeploymentPhase) -> &'static str {
    match state {
        DeploymentPhase::InProgress => "IN_PROGRESS",
        DeploymentPhase::Succeeded => "SUCCEEDED",
        DeploymentPhase::Failed => "FAILED",
        DeploymentPhase::Cancelled => "CANCELLED",
        DeploymentPhase::Unknown => "UNKNOWN",
    }
}

fn draw(root: &Node, out: &mut String) {
    out.push_str(&root.line);
    out.push('\n');
    draw_children(&root.children, "", out);
}

fn draw_children(children: &[Node], prefix: &str, out: &mut String) {
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        out.push_str(prefix);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&child.line);
        out.push('\n');
        let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
        draw_children(&child.children, &deeper, out);
    }
}
