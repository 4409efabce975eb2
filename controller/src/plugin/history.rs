//! `kubectl agentrelease history NAME|--target T`: past releases of an agent on a target, from
//! the releases' status. Pure: the releases in, rows and text out.

use agentrelease_api::AgentRelease;
use agentrelease_api::conditions::types;
use agentrelease_api::status::HistoryOutcome;
use jiff::Timestamp;
use serde::Serialize;

/// Which releases to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The agent (registered model) of this release, on its target.
    SameAgentAs(String),
    /// Every release on this target.
    Target(String),
}

/// One past release or promotion.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    /// When it happened.
    pub at: Timestamp,
    /// The AgentRelease.
    pub release: String,
    /// N.
    pub version: i64,
    /// The model version.
    pub model_version: i64,
    /// How it ended (a history outcome, or the phase of a release never promoted).
    pub outcome: String,
    /// Who signed off (engineering, stakeholder), and who authorised an override.
    pub approved_by: Vec<String>,
    /// The deployment plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_path: Option<String>,
    /// The audit run's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_run: Option<String>,
}

/// The releases `scope` selects among `all` (one namespace); `None` when the named release is
/// not among them.
pub fn select<'a>(all: &'a [AgentRelease], scope: &Scope) -> Option<Vec<&'a AgentRelease>> {
    match scope {
        Scope::Target(t) => Some(
            all.iter()
                .filter(|r| &r.spec.target_ref.name == t)
                .collect(),
        ),
        Scope::SameAgentAs(name) => {
            let me = all
                .iter()
                .find(|r| r.metadata.name.as_deref() == Some(name))?;
            Some(
                all.iter()
                    .filter(|r| {
                        r.spec.target_ref.name == me.spec.target_ref.name
                            && r.spec.model.name == me.spec.model.name
                    })
                    .collect(),
            )
        }
    }
}

fn outcome_word(o: HistoryOutcome) -> &'static str {
    match o {
        HistoryOutcome::Promoted => "Promoted",
        HistoryOutcome::Released => "Released",
        HistoryOutcome::RolledBack => "RolledBack",
        HistoryOutcome::Superseded => "Superseded",
    }
}

/// The rows of `releases`, oldest first: each promotion in their history, and a row for a
/// release never promoted (its phase, when its Ready condition last changed).
pub fn rows(releases: &[&AgentRelease]) -> Vec<Row> {
    let mut out = Vec::new();
    for r in releases {
        let name = r.metadata.name.clone().unwrap_or_default();
        let Some(status) = &r.status else { continue };
        let mut approved_by = Vec::new();
        if let Some(s) = &status.signoff {
            approved_by.extend(s.engineering.approver.clone());
            approved_by.extend(s.stakeholder.approver.clone());
            if let Some(o) = &s.override_ {
                approved_by.extend(o.approved_by.as_ref().map(|a| format!("{a} (override)")));
            }
        }
        let audit = status.audit.as_ref();
        for h in &status.history {
            out.push(Row {
                at: h.at,
                release: name.clone(),
                version: h.version,
                model_version: h.model_version,
                outcome: outcome_word(h.outcome).to_string(),
                approved_by: approved_by.clone(),
                plan_path: h.plan_path.clone(),
                audit_run: audit
                    .filter(|a| a.promotion.ends_with(&format!("/{}", h.model_version)))
                    .map(|a| a.run_name.clone()),
            });
        }
        if status.history.is_empty()
            && let Some(ready) = agentrelease_api::condition::find(&status.conditions, types::READY)
        {
            out.push(Row {
                at: ready.last_transition_time,
                release: name.clone(),
                version: r.spec.version,
                model_version: r.spec.model.version,
                outcome: status
                    .phase
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "Pending".into()),
                approved_by,
                plan_path: status.plan.as_ref().map(|p| p.path.clone()),
                audit_run: audit.map(|a| a.run_name.clone()),
            });
        }
    }
    out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.release.cmp(&b.release)));
    out
}

/// The rows as a table.
pub fn render(rows: &[Row]) -> String {
    if rows.is_empty() {
        return "no releases found\n".to_string();
    }
    let header = [
        "WHEN",
        "RELEASE",
        "N",
        "MODEL VERSION",
        "OUTCOME",
        "APPROVED BY",
        "PLAN",
        "AUDIT RUN",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.at.to_string(),
                r.release.clone(),
                r.version.to_string(),
                r.model_version.to_string(),
                r.outcome.clone(),
                if r.approved_by.is_empty() {
                    "-".into()
                } else {
                    r.approved_by.join(", ")
                },
                r.plan_path.clone().unwrap_or_else(|| "-".into()),
                r.audit_run.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(&header, &cells)
}

/// Left-aligned columns separated by three spaces, as kubectl prints them.
pub fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == N {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}   "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}
