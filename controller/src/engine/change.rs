//! The one typed change set: every write the engine can make to a workspace is a [`Change`].
//! Steps decide which changes the workspace needs and hand them to the effect module
//! ([`super::effects`]), which alone knows whether the pass applies them, only lists them
//! (`plan`), or only reports them (drift policy `Report`). A change's description names objects
//! the way the release declares them, so `plan` and `apply` describe the same change the same way
//! even before the workspace has assigned ids.

use std::time::Duration;

use super::ledger::LedgerPath;
use super::workspace::{
    AclObject, AppDefinition, DeploymentRequest, EndpointConfig, Principal, PrivilegeAssignment,
};

/// How an MLflow run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// The promotion succeeded.
    Finished,
    /// The promotion was rolled back.
    Failed,
}

impl RunOutcome {
    /// As the MLflow API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Finished => "FINISHED",
            RunOutcome::Failed => "FAILED",
        }
    }
}

/// An ACL entry to add: the principal as the release declares it (for the description) and as
/// the workspace knows it (for the request; `None` while the app's service principal is unknown,
/// which only happens in `plan` before the app exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclGrant {
    /// The principal as declared (`the app's service principal`, `group agent-ops`).
    pub label: String,
    /// The resolved principal.
    pub principal: Option<Principal>,
    /// The permission level.
    pub level: String,
}

/// A write to a workspace.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Creates (`replace: false`) or replaces a record of the release ledger (ownership, last
    /// good release, rollback hold).
    WriteLedger {
        /// Where.
        path: LedgerPath,
        /// The JSON document.
        content: String,
        /// Whether an existing record is replaced (a new claim never replaces).
        replace: bool,
        /// One line for humans.
        summary: String,
    },
    /// Writes a new deployment plan (never overwrites).
    WritePlan {
        /// The plan's version M.
        version: i64,
        /// `.../deployment_plans/v<M>/plan.md`.
        path: String,
        /// The document.
        content: String,
        /// What the plan is for (e.g. `alias @champion: 11 -> 12`).
        detail: Vec<String>,
        /// The ledger record that notes the plan (path, content), written before the upload.
        note: Option<(LedgerPath, String)>,
    },
    /// Points an alias at a version.
    SetAlias {
        /// The registered model.
        model: String,
        /// The alias.
        alias: String,
        /// What it points at now.
        from: Option<i64>,
        /// The version it will point at.
        to: i64,
    },
    /// Removes an alias.
    DeleteAlias {
        /// The registered model.
        model: String,
        /// The alias.
        alias: String,
        /// What it points at now.
        from: i64,
    },
    /// Creates the app (its compute starts).
    CreateApp(AppDefinition),
    /// Sets the app's description and resources.
    UpdateApp(AppDefinition),
    /// Starts the app's compute.
    StartApp {
        /// The app.
        name: String,
    },
    /// Stops the app's compute, so it serves nothing (a failed first release put back as it
    /// found the workspace, where the app ran no earlier deployment).
    StopApp {
        /// The app.
        name: String,
    },
    /// Deletes a serving endpoint the release found absent (a failed first release put back as
    /// it found the workspace).
    DeleteEndpoint {
        /// The endpoint.
        name: String,
    },
    /// Creates the deployment experiment.
    CreateExperiment {
        /// Its workspace path.
        path: String,
    },
    /// Creates a serving endpoint.
    CreateEndpoint {
        /// The endpoint.
        name: String,
        /// Its config.
        config: EndpointConfig,
    },
    /// Sends a new config to a serving endpoint.
    UpdateEndpoint {
        /// The endpoint.
        name: String,
        /// The config.
        config: EndpointConfig,
        /// What changes, one line each.
        diff: Vec<String>,
    },
    /// Adds ACL entries to one object (PATCH: entries not named are kept).
    GrantAcl {
        /// The object as declared (`serving endpoint skyloyalty-endpoint`).
        label: String,
        /// The object as the workspace addresses it (`None` in `plan` before it exists).
        object: Option<AclObject>,
        /// The entries.
        entries: Vec<AclGrant>,
    },
    /// Adds Unity Catalog privileges on one securable.
    AddGrants {
        /// `CATALOG`, `SCHEMA`, `FUNCTION`, ...
        securable_type: String,
        /// The securable's full name.
        full_name: String,
        /// Principal labels and their privileges, for the description.
        labels: Vec<(String, Vec<String>)>,
        /// The request (principals resolved; empty in `plan` while unknown).
        assignments: Vec<PrivilegeAssignment>,
    },
    /// Starts a new app deployment (SNAPSHOT).
    Deploy {
        /// The app.
        app: String,
        /// Source, command and environment.
        request: DeploymentRequest,
        /// What changes against the active deployment, one line each.
        diff: Vec<String>,
    },
    /// Sends the smoke request to the app (not a write, but an action `plan` lists).
    Smoke {
        /// The app's URL (`None` in `plan` before the app exists).
        url: Option<String>,
        /// The request path.
        path: String,
        /// The body (POST) or none (GET).
        body: Option<String>,
        /// The answer must contain this.
        expect: Option<String>,
        /// How long to wait for the answer.
        timeout: Duration,
    },
    /// Asks each declared MCP server for its tools (not a write, but an action `plan` lists).
    McpCheck {
        /// The servers and what they must show.
        servers: Vec<agentrelease_api::mcp::McpServerCheck>,
    },
    /// Ends an audit run found still open (its creation or its end lost an answer).
    EndAuditRun {
        /// The run.
        run_id: String,
        /// Its name, for the description.
        name: String,
        /// How it ends.
        outcome: RunOutcome,
        /// End time, ms since the epoch.
        end_ms: i64,
    },
    /// Logs the audit run (created, tagged and ended in one change).
    LogAuditRun {
        /// The deployment experiment's id (`None` in `plan` before it exists).
        experiment_id: Option<String>,
        /// The experiment's path, for the description.
        experiment_path: String,
        /// `deploy_YYYYMMDD_HHMMSS`.
        name: String,
        /// Start time, ms since the epoch.
        start_ms: i64,
        /// The run's tags.
        tags: Vec<(String, String)>,
        /// How the run ends.
        outcome: RunOutcome,
    },
}

impl Change {
    /// The step that makes the change (plan output, metric labels).
    pub fn step(&self) -> &'static str {
        match self {
            Change::WriteLedger { .. } => "ownership",
            Change::WritePlan { .. } => "plan",
            Change::SetAlias { .. } | Change::DeleteAlias { .. } => "promote",
            Change::CreateApp(_)
            | Change::UpdateApp(_)
            | Change::StartApp { .. }
            | Change::StopApp { .. } => "app",
            Change::CreateExperiment { .. }
            | Change::LogAuditRun { .. }
            | Change::EndAuditRun { .. } => "audit",
            Change::CreateEndpoint { .. }
            | Change::UpdateEndpoint { .. }
            | Change::DeleteEndpoint { .. } => "endpoint",
            Change::GrantAcl { .. } | Change::AddGrants { .. } => "permissions",
            Change::Deploy { .. } => "deploy",
            Change::Smoke { .. } => "verify",
            Change::McpCheck { .. } => "tools",
        }
    }

    /// One line saying what the change does.
    pub fn summary(&self) -> String {
        let show = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "(none)".into());
        match self {
            Change::WriteLedger { summary, .. } => summary.clone(),
            Change::WritePlan { version, path, .. } => {
                format!("write deployment plan v{version} at {path}")
            }
            Change::SetAlias {
                model,
                alias,
                from,
                to,
            } => {
                let mut line = format!("move {model}@{alias}: {} -> {to}", show(*from));
                if self.is_downgrade() {
                    line.push_str(" (DOWNGRADE: a lower version than the alias points at now)");
                }
                line
            }
            Change::DeleteAlias { model, alias, from } => {
                format!("remove {model}@{alias} (points at {from})")
            }
            Change::CreateApp(app) => format!("create app {} (its compute starts)", app.name),
            Change::UpdateApp(app) => format!("update app {} description and resources", app.name),
            Change::StartApp { name } => format!("start app {name}"),
            Change::StopApp { name } => format!("stop app {name} (it serves nothing)"),
            Change::DeleteEndpoint { name } => format!("delete serving endpoint {name}"),
            Change::CreateExperiment { path } => format!("create experiment {path}"),
            Change::CreateEndpoint { name, .. } => format!("create serving endpoint {name}"),
            Change::UpdateEndpoint { name, .. } => format!("update serving endpoint {name} config"),
            Change::GrantAcl { label, entries, .. } => format!(
                "grant on {label}: {}",
                entries
                    .iter()
                    .map(|e| format!("{} to {}", e.level, e.label))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Change::AddGrants {
                securable_type,
                full_name,
                labels,
                ..
            } => format!(
                "grant on {securable_type} {full_name}: {}",
                labels
                    .iter()
                    .map(|(p, privs)| format!("{} to {p}", privs.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Change::Deploy { app, request, .. } => {
                format!("deploy app {app} from {}", request.source_code_path)
            }
            Change::Smoke { path, body, .. } => format!(
                "smoke request {} {path} on the app",
                if body.is_some() { "POST" } else { "GET" }
            ),
            Change::McpCheck { servers } => {
                format!("MCP tool check of {} server(s)", servers.len())
            }
            Change::EndAuditRun { name, outcome, .. } => {
                format!(
                    "end audit run {name} ({}), found still running",
                    outcome.as_str()
                )
            }
            Change::LogAuditRun {
                experiment_path,
                outcome,
                ..
            } => format!(
                "log audit run deploy_<time> ({}) in experiment {experiment_path}",
                outcome.as_str()
            ),
        }
    }

    /// Detail lines (an env diff, the served entities, the resources).
    pub fn details(&self) -> Vec<String> {
        match self {
            Change::WritePlan { detail, .. } => detail.clone(),
            Change::CreateApp(app) | Change::UpdateApp(app) => app
                .resources
                .iter()
                .map(|r| format!("resource {}: {}", r.name, r.body))
                .collect(),
            Change::CreateEndpoint { config, .. } => config_lines(config),
            Change::UpdateEndpoint { diff, .. } | Change::Deploy { diff, .. } => diff.clone(),
            Change::Smoke { expect, .. } => expect
                .iter()
                .map(|s| format!("expect the answer to contain {s:?}"))
                .collect(),
            Change::McpCheck { servers } => servers
                .iter()
                .map(|s| format!("{}: require [{}]", s.url, s.required_tools.join(", ")))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the change moves an alias to a lower model version than it points at now.
    pub fn is_downgrade(&self) -> bool {
        matches!(self, Change::SetAlias { from: Some(from), to, .. } if to < from)
    }

    /// The printable form.
    pub fn describe(&self) -> super::PlannedChange {
        super::PlannedChange {
            step: self.step(),
            summary: self.summary(),
            details: self.details(),
            after_approval: false,
            downgrade: self.is_downgrade(),
        }
    }
}

/// An endpoint config as one line per served entity and route.
pub fn config_lines(config: &EndpointConfig) -> Vec<String> {
    let mut lines: Vec<String> = config
        .served_entities
        .iter()
        .map(|e| match &e.external_model {
            Some(x) => format!(
                "served entity {}: external model {}/{} ({})",
                e.name,
                x["provider"].as_str().unwrap_or_default(),
                x["name"].as_str().unwrap_or_default(),
                x["task"].as_str().unwrap_or_default()
            ),
            None => format!(
                "served entity {}: {} version {} ({}, scale to zero {})",
                e.name, e.entity_name, e.entity_version, e.workload_size, e.scale_to_zero_enabled
            ),
        })
        .collect();
    lines.extend(config.routes.iter().map(|r| {
        format!(
            "route {}% -> {}",
            r.traffic_percentage, r.served_entity_name
        )
    }));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_name_objects_as_declared() {
        let grant = Change::GrantAcl {
            label: "serving endpoint bot".into(),
            object: None,
            entries: vec![AclGrant {
                label: "the app's service principal".into(),
                principal: None,
                level: "CAN_QUERY".into(),
            }],
        };
        assert_eq!(
            grant.summary(),
            "grant on serving endpoint bot: CAN_QUERY to the app's service principal"
        );
        assert_eq!(grant.step(), "permissions");
        let alias = Change::SetAlias {
            model: "m".into(),
            alias: "champion".into(),
            from: None,
            to: 3,
        };
        assert_eq!(alias.summary(), "move m@champion: (none) -> 3");
        assert!(!alias.describe().downgrade);
        let up = Change::SetAlias {
            model: "m".into(),
            alias: "champion".into(),
            from: Some(11),
            to: 12,
        };
        assert!(!up.is_downgrade());
        let down = Change::SetAlias {
            model: "m".into(),
            alias: "champion".into(),
            from: Some(11),
            to: 10,
        };
        assert!(down.describe().downgrade);
        assert_eq!(
            down.summary(),
            "move m@champion: 11 -> 10 (DOWNGRADE: a lower version than the alias points at now)"
        );
    }
}
