//! Permissions and grants (`PermissionsApplied`): the declared ACL entries (the app's own service
//! principal resolved from the app; serving endpoints by their id) and Unity Catalog privileges.
//! Reads the current state and sends only what is missing — PATCH for ACLs, `changes` with `add`
//! for grants — so entries this release does not declare are never dropped. A principal that
//! already holds a higher level keeps it.
//!
//! Beyond what the manifest lists, the app's service principal gets what its app needs:
//! `CAN_QUERY` on each serving endpoint among the app's resources, and `CAN_EDIT` on the
//! tracing experiment (the deployment experiment its `MLFLOW_EXPERIMENT_ID` names, and the
//! target's `tracing.experimentId` when that is another one), where its traces are logged.

use std::collections::BTreeMap;

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::release::PermissionObjectType;

use crate::engine::change::{AclGrant, Change};
use crate::engine::desired::{self, DeclaredAcl, DeclaredGrant};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::{AclEntry, AclObject, Principal, PrivilegeAssignment, Workspace};
use crate::engine::steps::StepInfo;

/// The step's place in the pipeline.
pub const INFO: StepInfo = StepInfo {
    name: "permissions",
    condition: agentrelease_api::conditions::types::PERMISSIONS_APPLIED,
    phase: agentrelease_api::conditions::Phase::Deploying,
    applies: |ctx| {
        // With an app: its access to the tracing experiment and to the endpoints it uses.
        !ctx.spec.permissions.is_empty() || !ctx.spec.grants.is_empty() || ctx.spec.app.is_some()
    },
    ..StepInfo::DEFAULT
};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let mut acls = desired::acl_entries(pass.ctx);
    acls.extend(desired::resource_acl_entries(pass.ctx));
    let grants = desired::grants(pass.ctx);
    if acls.is_empty() && grants.is_empty() && pass.ctx.spec.app.is_none() {
        return StepResult::NotApplicable;
    }
    let app_sp = pass
        .artifacts
        .app
        .as_ref()
        .and_then(|a| a.service_principal_client_id.clone());

    // ACLs, one read (and at most one PATCH) per object.
    let mut by_object: BTreeMap<(u8, String), Vec<&DeclaredAcl>> = BTreeMap::new();
    for acl in &acls {
        by_object
            .entry((kind_of(acl.object.kind), acl.object.name.clone()))
            .or_default()
            .push(acl);
    }
    let mut ensured = 0usize;
    for ((kind, name), entries) in by_object {
        let label = entries[0].object.describe();
        let object = match resolve_object(pass, kind, &name).await {
            Ok(object) => object,
            Err(result) => return result,
        };
        let current = match &object {
            Some(object) => match pass.artifacts.acls.remove(object) {
                Some(read) => read,
                None => match pass.ws.get_permissions(object).await {
                    Ok(c) => c,
                    Err(e) => return StepResult::from_workspace(&e),
                },
            },
            None => Vec::new(),
        };
        let missing = missing_acl(kind, &entries, &current, app_sp.as_deref());
        ensured += entries.len() - missing.len();
        if missing.is_empty() {
            continue;
        }
        let lines: Vec<String> = missing
            .iter()
            .map(|g| format!("missing permission {} on {label} to {}", g.level, g.label))
            .collect();
        let cause = pass.cause(types::PERMISSIONS_APPLIED, || lines.join("; "));
        let change = Change::GrantAcl {
            label,
            object,
            entries: missing,
        };
        if let Err(e) = pass.effect(change, cause).await {
            return StepResult::from_workspace(&e);
        }
    }

    match tracing_access(pass, app_sp.as_deref()).await {
        Ok(n) => ensured += n,
        Err(result) => return result,
    }

    // Grants, one read (and at most one update) per securable.
    let mut by_securable: BTreeMap<(String, String), Vec<&DeclaredGrant>> = BTreeMap::new();
    for g in &grants {
        by_securable
            .entry((g.securable_type.clone(), g.full_name.clone()))
            .or_default()
            .push(g);
    }
    let mut privileges = 0usize;
    for ((securable_type, full_name), entries) in by_securable {
        let cached = pass
            .artifacts
            .grants
            .remove(&(securable_type.clone(), full_name.clone()));
        let current = match cached {
            Some(read) => read,
            None => match pass.ws.get_grants(&securable_type, &full_name).await {
                Ok(c) => c,
                Err(e) => return StepResult::from_workspace(&e),
            },
        };
        let (labels, assignments, held) = missing_grants(&entries, &current, app_sp.as_deref());
        privileges += held;
        if labels.is_empty() {
            continue;
        }
        let cause = pass.cause(types::PERMISSIONS_APPLIED, || {
            labels
                .iter()
                .map(|(p, privs)| {
                    format!(
                        "missing grant {} on {securable_type} {full_name} to {p}",
                        privs.join(", ")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        });
        let change = Change::AddGrants {
            securable_type,
            full_name,
            labels,
            assignments,
        };
        if let Err(e) = pass.effect(change, cause).await {
            return StepResult::from_workspace(&e);
        }
    }

    StepResult::done(
        reasons::PERMISSIONS_APPLIED,
        format!("{ensured} ACL entries and {privileges} privileges in place"),
    )
}

/// Rank table of experiment levels (see [`rank`]).
const EXPERIMENT: u8 = 3;

/// `CAN_EDIT` for the app's service principal on the tracing experiments; the entries in place.
async fn tracing_access<W: Workspace, C: Clock>(
    pass: &mut Pass<'_, W, C>,
    app_sp: Option<&str>,
) -> Result<usize, StepResult> {
    if pass.ctx.spec.app.is_none() {
        return Ok(0);
    }
    let deployment = match pass.status.experiment_id.clone() {
        Some(id) => Some(id),
        None => crate::engine::steps::audit::experiment_id(pass).await?,
    };
    let declared = pass
        .ctx
        .target
        .tracing
        .as_ref()
        .and_then(|t| t.experiment_id.clone());
    let mut ids: Vec<Option<String>> = vec![deployment];
    if declared.is_some() && declared != ids[0] {
        ids.push(declared);
    }
    let principal = app_sp.map(|id| Principal::ServicePrincipal(id.to_string()));
    let mut ensured = 0;
    for id in ids {
        let label = match &id {
            Some(id) => format!("experiment {id}"),
            None => format!("experiment {}", pass.ctx.target.experiments.deployment),
        };
        let object = id.map(AclObject::Experiment);
        let current = match (&object, &principal) {
            (Some(object), Some(_)) => match pass.ws.get_permissions(object).await {
                Ok(c) => c,
                Err(e) => return Err(StepResult::from_workspace(&e)),
            },
            _ => Vec::new(),
        };
        let held = principal
            .as_ref()
            .map(|p| {
                current
                    .iter()
                    .filter(|c| same_principal(&c.principal, p))
                    .flat_map(|c| c.levels.iter())
                    .map(|l| rank(EXPERIMENT, l))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        if held >= rank(EXPERIMENT, "CAN_EDIT") {
            ensured += 1;
            continue;
        }
        let cause = pass.cause(types::PERMISSIONS_APPLIED, || {
            format!("missing permission CAN_EDIT on {label} to the app's service principal")
        });
        let change = Change::GrantAcl {
            label,
            object,
            entries: vec![AclGrant {
                label: "the app's service principal".into(),
                principal: principal.clone(),
                level: "CAN_EDIT".into(),
            }],
        };
        if let Err(e) = pass.effect(change, cause).await {
            return Err(StepResult::from_workspace(&e));
        }
    }
    Ok(ensured)
}

fn kind_of(kind: PermissionObjectType) -> u8 {
    match kind {
        PermissionObjectType::ServingEndpoint => 0,
        PermissionObjectType::App => 1,
        PermissionObjectType::SqlWarehouse => 2,
    }
}

/// The declared entries an object lacks (pure): a principal holding the level or a higher one
/// has it; an unresolved principal (the app's, before the app exists) lacks everything.
pub fn missing_acl(
    kind: u8,
    entries: &[&DeclaredAcl],
    current: &[AclEntry],
    app_sp: Option<&str>,
) -> Vec<AclGrant> {
    let mut missing = Vec::new();
    for e in entries {
        let principal = e.principal.resolve(app_sp);
        let held = principal
            .as_ref()
            .map(|p| {
                current
                    .iter()
                    .filter(|c| same_principal(&c.principal, p))
                    .flat_map(|c| c.levels.iter())
                    .map(|l| rank(kind, l))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        if held < rank(kind, &e.level) {
            missing.push(AclGrant {
                label: e.principal.describe(),
                principal,
                level: e.level.clone(),
            });
        }
    }
    missing
}

/// The privileges a securable lacks (pure): labels for the description, the request, and how
/// many declared privileges are already held.
#[allow(clippy::type_complexity)]
pub fn missing_grants(
    entries: &[&DeclaredGrant],
    current: &[PrivilegeAssignment],
    app_sp: Option<&str>,
) -> (Vec<(String, Vec<String>)>, Vec<PrivilegeAssignment>, usize) {
    let mut labels: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut changes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut held_count = 0usize;
    for g in entries {
        let label = g.principal.describe();
        let Some(principal) = g.principal.resolve(app_sp) else {
            labels
                .entry(label)
                .or_default()
                .extend(g.privileges.clone());
            continue;
        };
        let name = principal.name().to_string();
        let held: Vec<&String> = current
            .iter()
            .filter(|a| a.principal.eq_ignore_ascii_case(&name))
            .flat_map(|a| a.privileges.iter())
            .collect();
        let all = held.iter().any(|p| p.as_str() == "ALL_PRIVILEGES");
        for p in &g.privileges {
            if all || held.iter().any(|h| h.eq_ignore_ascii_case(p)) {
                held_count += 1;
            } else {
                labels.entry(label.clone()).or_default().push(p.clone());
                changes.entry(name.clone()).or_default().push(p.clone());
            }
        }
    }
    let assignments = changes
        .into_iter()
        .map(|(principal, privileges)| PrivilegeAssignment {
            principal,
            privileges,
        })
        .collect();
    (labels.into_iter().collect(), assignments, held_count)
}

/// The object an ACL applies to; serving endpoints are addressed by id. `None` when it does not
/// exist yet (the release's own app or endpoint, in `plan`); the preflight checked the others.
async fn resolve_object<W: Workspace, C: Clock>(
    pass: &Pass<'_, W, C>,
    kind: u8,
    name: &str,
) -> Result<Option<AclObject>, StepResult> {
    match kind {
        0 => {
            let own = pass
                .artifacts
                .endpoint
                .as_ref()
                .filter(|e| e.name == name)
                .map(|e| e.id.clone());
            if let Some(id) = own.or_else(|| pass.artifacts.endpoint_ids.get(name).cloned()) {
                return Ok(Some(AclObject::ServingEndpoint(id)));
            }
            match pass.ws.get_endpoint(name).await {
                Ok(Some(e)) => Ok(Some(AclObject::ServingEndpoint(e.id))),
                Ok(None) => Ok(None),
                Err(e) => Err(StepResult::from_workspace(&e)),
            }
        }
        1 => {
            let own = pass.ctx.spec.app.as_ref().is_some_and(|a| a.name == name);
            let exists = pass.artifacts.app.as_ref().is_some_and(|a| a.name == name);
            Ok((exists || !own).then(|| AclObject::App(name.to_string())))
        }
        _ => Ok(Some(AclObject::SqlWarehouse(name.to_string()))),
    }
}

fn same_principal(a: &Principal, b: &Principal) -> bool {
    match (a, b) {
        (Principal::User(x), Principal::User(y)) => x.eq_ignore_ascii_case(y),
        (Principal::Group(x), Principal::Group(y)) => x == y,
        (Principal::ServicePrincipal(x), Principal::ServicePrincipal(y)) => {
            x.eq_ignore_ascii_case(y)
        }
        _ => false,
    }
}

/// The order of levels per object kind (0 endpoint, 1 app, 2 warehouse, 3 experiment); unknown
/// levels rank 0.
pub fn rank(kind: u8, level: &str) -> u8 {
    let order: &[&str] = match kind {
        0 => &["CAN_VIEW", "CAN_QUERY", "CAN_MANAGE"],
        1 => &["CAN_USE", "CAN_MANAGE"],
        EXPERIMENT => &["CAN_READ", "CAN_EDIT", "CAN_MANAGE"],
        _ => &[
            "CAN_VIEW",
            "CAN_MONITOR",
            "CAN_USE",
            "CAN_MANAGE",
            "IS_OWNER",
        ],
    };
    order
        .iter()
        .position(|l| *l == level)
        .map(|p| p as u8 + 1)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_levels_satisfy_lower_ones() {
        assert!(rank(0, "CAN_MANAGE") > rank(0, "CAN_QUERY"));
        assert!(rank(1, "CAN_MANAGE") > rank(1, "CAN_USE"));
        assert!(rank(2, "IS_OWNER") > rank(2, "CAN_USE"));
        assert_eq!(rank(0, "SOMETHING"), 0);
        assert!(rank(EXPERIMENT, "CAN_MANAGE") > rank(EXPERIMENT, "CAN_EDIT"));
        assert!(rank(EXPERIMENT, "CAN_READ") < rank(EXPERIMENT, "CAN_EDIT"));
    }
}
