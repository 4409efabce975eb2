//! Permissions and grants (`PermissionsApplied`): the declared ACL entries (the app's own service
//! principal resolved from the app; serving endpoints by their id) and Unity Catalog privileges.
//! Reads the current state and sends only what is missing — PATCH for ACLs, `changes` with `add`
//! for grants — so entries this release does not declare are never dropped. A principal that
//! already holds a higher level keeps it.

use std::collections::BTreeMap;

use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::release::{DriftPolicy, PermissionObjectType};

use crate::engine::desired::{self, DeclaredAcl, DeclaredGrant};
use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::{AclObject, Principal, PrivilegeAssignment, Workspace};

/// Runs the step.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> StepResult {
    let acls = desired::acl_entries(pass.ctx);
    let grants = desired::grants(pass.ctx);
    if acls.is_empty() && grants.is_empty() {
        return StepResult::NotApplicable;
    }
    let app_sp = pass
        .artifacts
        .app
        .as_ref()
        .and_then(|a| a.service_principal_client_id.clone());
    let drift = pass.was_done(types::PERMISSIONS_APPLIED);
    let report_only = drift && pass.ctx.spec.policy.drift == DriftPolicy::Report;

    // ACLs, one read (and at most one PATCH) per object.
    let mut by_object: BTreeMap<(u8, String), Vec<&DeclaredAcl>> = BTreeMap::new();
    for acl in &acls {
        let kind = match acl.object.kind {
            PermissionObjectType::ServingEndpoint => 0,
            PermissionObjectType::App => 1,
            PermissionObjectType::SqlWarehouse => 2,
        };
        by_object
            .entry((kind, acl.object.name.clone()))
            .or_default()
            .push(acl);
    }
    let mut ensured = 0usize;
    for ((kind, name), entries) in by_object {
        let object = match resolve_object(pass, kind, &name).await {
            Ok(Some(object)) => object,
            Ok(None) => {
                if !pass.applying() {
                    for e in &entries {
                        pass.plan(
                            "permissions",
                            format!(
                                "grant {} on {} to {}",
                                e.level,
                                e.object.describe(),
                                e.principal.describe()
                            ),
                            vec![],
                        );
                    }
                    continue;
                }
                return StepResult::blocked(
                    crate::engine::pass::WORKSPACE_REJECTED,
                    format!("{} does not exist", entries[0].object.describe()),
                );
            }
            Err(result) => return result,
        };
        let current = match pass.ws.get_permissions(&object).await {
            Ok(c) => c,
            Err(e) => return StepResult::from_workspace(&e),
        };
        let mut missing: Vec<(Principal, String)> = Vec::new();
        for e in &entries {
            let Some(principal) = e.principal.resolve(app_sp.as_deref()) else {
                if pass.applying() {
                    return StepResult::waiting(
                        reasons::WAITING,
                        "the app's service principal is not known yet",
                        std::time::Duration::from_secs(5),
                    );
                }
                pass.plan(
                    "permissions",
                    format!(
                        "grant {} on {} to {}",
                        e.level,
                        object.describe(),
                        e.principal.describe()
                    ),
                    vec![],
                );
                continue;
            };
            ensured += 1;
            let held = current
                .iter()
                .filter(|c| same_principal(&c.principal, &principal))
                .flat_map(|c| c.levels.iter())
                .map(|l| rank(kind, l))
                .max()
                .unwrap_or(0);
            if held < rank(kind, &e.level) {
                missing.push((principal, e.level.clone()));
            }
        }
        if missing.is_empty() {
            continue;
        }
        let lines: Vec<String> = missing
            .iter()
            .map(|(p, l)| format!("{l} on {} to {p}", object.describe()))
            .collect();
        if drift {
            pass.drift
                .extend(lines.iter().map(|l| format!("missing permission {l}")));
        }
        if report_only {
            continue;
        }
        if !pass.applying() {
            for l in lines {
                pass.plan("permissions", format!("grant {l}"), vec![]);
            }
            continue;
        }
        if let Err(e) = pass.ws.update_permissions(&object, &missing).await {
            return StepResult::from_workspace(&e);
        }
        if drift {
            pass.drift_corrected = true;
        }
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
        let current = match pass.ws.get_grants(&securable_type, &full_name).await {
            Ok(c) => c,
            Err(e) => return StepResult::from_workspace(&e),
        };
        let mut changes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for g in &entries {
            let Some(principal) = g.principal.resolve(app_sp.as_deref()) else {
                if pass.applying() {
                    return StepResult::waiting(
                        reasons::WAITING,
                        "the app's service principal is not known yet",
                        std::time::Duration::from_secs(5),
                    );
                }
                pass.plan(
                    "permissions",
                    format!(
                        "grant {} on {securable_type} {full_name} to {}",
                        g.privileges.join(", "),
                        g.principal.describe()
                    ),
                    vec![],
                );
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
                privileges += 1;
                if !all && !held.iter().any(|h| h.eq_ignore_ascii_case(p)) {
                    changes.entry(name.clone()).or_default().push(p.clone());
                }
            }
        }
        if changes.is_empty() {
            continue;
        }
        let lines: Vec<String> = changes
            .iter()
            .map(|(p, privs)| {
                format!(
                    "{} on {securable_type} {full_name} to {p}",
                    privs.join(", ")
                )
            })
            .collect();
        if drift {
            pass.drift
                .extend(lines.iter().map(|l| format!("missing grant {l}")));
        }
        if report_only {
            continue;
        }
        if !pass.applying() {
            for l in lines {
                pass.plan("permissions", format!("grant {l}"), vec![]);
            }
            continue;
        }
        let assignments: Vec<PrivilegeAssignment> = changes
            .into_iter()
            .map(|(principal, privileges)| PrivilegeAssignment {
                principal,
                privileges,
            })
            .collect();
        if let Err(e) = pass
            .ws
            .add_grants(&securable_type, &full_name, &assignments)
            .await
        {
            return StepResult::from_workspace(&e);
        }
        if drift {
            pass.drift_corrected = true;
        }
    }

    StepResult::done(
        reasons::PERMISSIONS_APPLIED,
        format!("{ensured} ACL entries and {privileges} privileges in place"),
    )
}

/// The object an ACL applies to; serving endpoints are addressed by id.
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
            if let Some(id) = own {
                return Ok(Some(AclObject::ServingEndpoint(id)));
            }
            match pass.ws.get_endpoint(name).await {
                Ok(Some(e)) => Ok(Some(AclObject::ServingEndpoint(e.id))),
                Ok(None) => Ok(None),
                Err(e) => Err(StepResult::from_workspace(&e)),
            }
        }
        1 => {
            let exists = pass.artifacts.app.as_ref().is_some_and(|a| a.name == name);
            if exists || pass.applying() {
                Ok(Some(AclObject::App(name.to_string())))
            } else {
                match pass.ws.get_app(name).await {
                    Ok(Some(_)) => Ok(Some(AclObject::App(name.to_string()))),
                    Ok(None) => Ok(None),
                    Err(e) => Err(StepResult::from_workspace(&e)),
                }
            }
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

/// The order of levels per object kind (0 endpoint, 1 app, 2 warehouse); unknown levels rank 0.
pub fn rank(kind: u8, level: &str) -> u8 {
    let order: &[&str] = match kind {
        0 => &["CAN_VIEW", "CAN_QUERY", "CAN_MANAGE"],
        1 => &["CAN_USE", "CAN_MANAGE"],
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
    }
}
