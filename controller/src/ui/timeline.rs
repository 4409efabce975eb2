//! The timeline page as HTML, from the releases alone. Pure: releases and the time in, a
//! document out; every value is escaped.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use agentrelease_api::conditions::types;
use agentrelease_api::status::{AgentReleaseStatus, HistoryOutcome};
use agentrelease_api::{AgentRelease, Condition};
use jiff::Timestamp;

use super::html::escape;
use crate::engine::steps::condition_order;
use crate::plugin::style::{Mark, human_duration};
use crate::plugin::tree::release_mark;

const STYLE: &str = r#"
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 24px; color: #1d2430; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 4px 0; }
.sub { color: #5b6472; margin-bottom: 20px; font-size: 13px; }
h2 { font-size: 17px; margin: 28px 0 10px 0; border-bottom: 1px solid #d5d9e0; padding-bottom: 4px; }
.release { background: #fff; border: 1px solid #d5d9e0; border-radius: 6px; padding: 12px 16px; margin: 0 0 14px 0; }
.head { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
.name { font-weight: bold; font-size: 16px; }
.meta { color: #5b6472; font-size: 13px; }
.badge { border-radius: 10px; padding: 1px 9px; font-size: 12px; font-weight: bold; color: #fff; }
.done { background: #1f883d; } .waiting { background: #0969da; } .failed { background: #cf222e; }
.warn { background: #bf8700; } .skipped { background: #8c959f; }
.msg { margin: 6px 0; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { text-align: left; padding: 2px 12px 2px 0; vertical-align: top; }
th { color: #5b6472; font-weight: normal; }
td.mark { font-weight: bold; width: 14px; }
.m-done { color: #1f883d; } .m-waiting { color: #0969da; } .m-failed { color: #cf222e; } .m-warn { color: #bf8700; } .m-skipped { color: #8c959f; }
.cols { display: flex; gap: 32px; flex-wrap: wrap; }
.box { border-left: 4px solid #bf8700; background: #fff8e5; padding: 6px 10px; margin: 8px 0; font-size: 13px; }
.box.rollback { border-color: #cf222e; background: #ffebe9; }
.empty { color: #5b6472; }
"#;

fn class(mark: Mark) -> &'static str {
    match mark {
        Mark::Done => "done",
        Mark::Waiting => "waiting",
        Mark::Failed => "failed",
        Mark::Warn => "warn",
        Mark::Skipped => "skipped",
    }
}

/// The page for `releases`, as of `now`; `source` says where they were read (shown under the
/// title).
pub fn render(releases: &[AgentRelease], now: Timestamp, source: &str) -> String {
    // Per target (namespace/name), releases by N, then by name.
    let mut by_target: BTreeMap<(String, String), Vec<&AgentRelease>> = BTreeMap::new();
    for r in releases {
        let ns = r
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let target_ns = r.spec.target_ref.namespace.clone().unwrap_or(ns);
        by_target
            .entry((target_ns, r.spec.target_ref.name.clone()))
            .or_default()
            .push(r);
    }
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"10\">\
         <title>AgentRelease timeline</title><style>{STYLE}</style></head><body>\n\
         <h1>AgentRelease timeline</h1>\n<div class=\"sub\">{} release(s) on {} target(s), \
         from {}; as of {}. Read-only.</div>\n",
        releases.len(),
        by_target.len(),
        escape(source),
        escape(
            &Timestamp::from_second(now.as_second())
                .unwrap_or(now)
                .to_string()
        )
    );
    if releases.is_empty() {
        out.push_str("<p class=\"empty\">No AgentReleases.</p>\n");
    }
    for ((ns, target), mut list) in by_target {
        list.sort_by(|a, b| {
            (a.spec.version, &a.metadata.name).cmp(&(b.spec.version, &b.metadata.name))
        });
        let _ = writeln!(
            out,
            "<section class=\"target\"><h2>Target {}/{}</h2>",
            escape(&ns),
            escape(&target)
        );
        for r in list {
            release(&mut out, r, now);
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}

fn release(out: &mut String, r: &AgentRelease, now: Timestamp) {
    let empty = AgentReleaseStatus::default();
    let status = r.status.as_ref().unwrap_or(&empty);
    let name = r.metadata.name.as_deref().unwrap_or("(unnamed)");
    let mark = release_mark(status);
    let phase = status.phase.map(|p| p.as_str()).unwrap_or("Pending");
    let _ = writeln!(
        out,
        "<article class=\"release\" id=\"{id}\"><div class=\"head\"><span class=\"name\">{name}</span>\
         <span class=\"badge {cls}\">{phase}</span><span class=\"meta\">N={n} · {model} version {mv} \
         @{alias}</span></div>",
        id = escape(&format!(
            "{}-{}",
            r.metadata.namespace.as_deref().unwrap_or("default"),
            name
        )),
        name = escape(name),
        cls = class(mark),
        phase = escape(phase),
        n = r.spec.version,
        model = escape(&r.spec.model.name),
        mv = r.spec.model.version,
        alias = escape(&r.spec.model.alias),
    );
    if let Some(ready) = agentrelease_api::condition::find(&status.conditions, types::READY)
        && !ready.message.is_empty()
    {
        let _ = writeln!(
            out,
            "<div class=\"msg\">{}: {}</div>",
            escape(&ready.reason),
            escape(&ready.message)
        );
    }
    out.push_str("<div class=\"cols\"><div>");
    steps(out, status, now);
    out.push_str("</div><div>");
    gates(out, status);
    out.push_str("</div></div>\n");
    if let Some(o) = status.signoff.as_ref().and_then(|s| s.override_.as_ref()) {
        let _ = writeln!(
            out,
            "<div class=\"box\"><b>Signoff overridden</b> by {} — {} (captured: engineering {}, \
             stakeholder {})</div>",
            escape(o.approved_by.as_deref().unwrap_or("(unnamed)")),
            escape(o.reason.as_deref().unwrap_or("(no reason)")),
            escape(o.engineering_decision.as_deref().unwrap_or("-")),
            escape(o.stakeholder_decision.as_deref().unwrap_or("-")),
        );
    }
    if let Some(rb) = &status.rollback {
        let _ = write!(
            out,
            "<div class=\"box rollback\"><b>Rolled back</b> at {}: @{} {} → {}{}. {}",
            escape(&rb.at.to_string()),
            escape(&r.spec.model.alias),
            rb.from_version,
            rb.to_version
                .map(|v| v.to_string())
                .unwrap_or_else(|| "(removed)".into()),
            if rb.in_progress { " (in progress)" } else { "" },
            escape(&rb.reason)
        );
        if let Some(restored) = &rb.restored_release {
            let _ = write!(out, " Restored {}.", escape(restored));
        }
        out.push_str("</div>\n");
    }
    history(out, status);
    out.push_str("</article>\n");
}

fn row(out: &mut String, mark: Mark, cells: &[String]) {
    let _ = write!(
        out,
        "<tr><td class=\"mark m-{}\">{}</td>",
        class(mark),
        mark.glyph()
    );
    for c in cells {
        let _ = write!(out, "<td>{c}</td>");
    }
    out.push_str("</tr>\n");
}

fn steps(out: &mut String, status: &AgentReleaseStatus, now: Timestamp) {
    out.push_str(
        "<table class=\"steps\"><tr><th></th><th>step</th><th>reason</th><th>since</th></tr>\n",
    );
    let known = |c: &&Condition| {
        !condition_order().contains(&c.type_.as_str())
            && ![types::READY, types::RECONCILING, types::STALLED].contains(&c.type_.as_str())
    };
    let ordered = condition_order()
        .iter()
        .filter_map(|t| agentrelease_api::condition::find(&status.conditions, t))
        .chain(status.conditions.iter().filter(known));
    for c in ordered {
        let mark = Mark::of_condition(c);
        row(
            out,
            mark,
            &[
                escape(&c.type_),
                format!(
                    "<span title=\"{}\">{}</span>",
                    escape(&c.message),
                    escape(&c.reason)
                ),
                format!(
                    "{} <span class=\"meta\">({} ago)</span>",
                    escape(&c.last_transition_time.to_string()),
                    human_duration(now.as_second() - c.last_transition_time.as_second())
                ),
            ],
        );
    }
    out.push_str("</table>");
}

fn gates(out: &mut String, status: &AgentReleaseStatus) {
    if !status.evaluation.is_empty() {
        out.push_str("<table class=\"gates\"><tr><th></th><th>metric</th><th>observed</th><th>threshold</th></tr>\n");
        for m in &status.evaluation {
            let bounds = match (m.min, m.max) {
                (Some(a), Some(b)) => format!("{a} … {b}"),
                (Some(a), None) => format!("≥ {a}"),
                (None, Some(b)) => format!("≤ {b}"),
                (None, None) => String::new(),
            };
            row(
                out,
                if m.passed { Mark::Done } else { Mark::Failed },
                &[
                    escape(&m.metric),
                    m.observed
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "missing".into()),
                    escape(&bounds),
                ],
            );
        }
        out.push_str("</table>");
    }
    if let Some(s) = &status.signoff {
        out.push_str("<table class=\"signoff\"><tr><th></th><th>signoff</th><th>decision</th><th>by</th></tr>\n");
        for (who, d) in [
            ("engineering", &s.engineering),
            ("stakeholder", &s.stakeholder),
        ] {
            let decision = d.decision.as_deref().unwrap_or("(missing)");
            let approving = matches!(decision, "APPROVED" | "APPROVED_WITH_CONDITIONS");
            let mark = match (approving, s.override_.is_some()) {
                (true, _) => Mark::Done,
                (false, true) => Mark::Warn,
                (false, false) => Mark::Failed,
            };
            row(
                out,
                mark,
                &[
                    who.to_string(),
                    escape(decision),
                    escape(d.approver.as_deref().unwrap_or("-")),
                ],
            );
        }
        out.push_str("</table>");
    }
    if let Some(p) = &status.plan {
        let _ = write!(
            out,
            "<div class=\"meta\">plan v{} {}</div>",
            p.version,
            escape(&p.path)
        );
    }
    if let Some(a) = &status.audit {
        let _ = write!(
            out,
            "<div class=\"meta\">audit run {} in experiment {}</div>",
            escape(&a.run_name),
            escape(&a.experiment_id)
        );
    }
}

fn history(out: &mut String, status: &AgentReleaseStatus) {
    if status.history.is_empty() {
        return;
    }
    out.push_str("<table class=\"history\"><tr><th></th><th>promotion</th><th>model version</th><th>outcome</th><th>plan</th></tr>\n");
    for h in &status.history {
        let mark = match h.outcome {
            HistoryOutcome::Released => Mark::Done,
            HistoryOutcome::Promoted => Mark::Waiting,
            HistoryOutcome::RolledBack => Mark::Failed,
            HistoryOutcome::Superseded => Mark::Skipped,
        };
        row(
            out,
            mark,
            &[
                escape(&h.at.to_string()),
                format!(
                    "{} → {}",
                    h.previous_version
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "-".into()),
                    h.model_version
                ),
                format!("{:?}", h.outcome),
                escape(h.plan_path.as_deref().unwrap_or("-")),
            ],
        );
    }
    out.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AgentRelease {
        serde_json::from_str(include_str!(
            "../../tests/fixtures/releases/overridden.json"
        ))
        .expect("fixture")
    }

    #[test]
    fn the_page_shows_steps_gates_signoff_and_override() {
        let page = render(
            &[sample()],
            "2026-12-02T06:40:00Z".parse().expect("t"),
            "a test",
        );
        for needle in [
            "Target agents/prod",
            "skyloyalty-v7",
            "AliasPromoted",
            "answer_correctness",
            "0.91",
            "≥ 0.85",
            "Signoff overridden</b> by cto@skyloyalty.example",
            "deploy_20261202_063752",
        ] {
            assert!(page.contains(needle), "{needle} missing:\n{page}");
        }
        assert!(!page.contains("<script"), "no scripts");
        assert!(!page.contains("<form"), "no write actions");
    }

    #[test]
    fn values_from_the_cluster_are_escaped() {
        let mut r = sample();
        r.metadata.name = Some("<img src=x onerror=alert(1)>".into());
        if let Some(s) = r.status.as_mut() {
            s.conditions[0].message = "\"><script>alert(1)</script>".into();
        }
        let page = render(&[r], Timestamp::UNIX_EPOCH, "x");
        assert!(!page.contains("<img src=x"), "{page}");
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    }
}
