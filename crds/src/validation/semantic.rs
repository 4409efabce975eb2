//! Rules the CRD's CEL cannot express (or would express at a cost the API server refuses):
//! duplicate entries that would fight each other, and checks across a release and its target;
//! plus the artifact path rule, which the CEL rule also states but the engine applies in Rust
//! ([`crate::artifact_path::check`]), so `validate` applies the very same function.

use std::collections::BTreeMap;

use super::Problem;
use crate::artifact_path;
use crate::origin;
use crate::release::{PermissionObjectType, PrincipalRef};
use crate::{AgentRelease, ReleaseTarget};

/// Checks of one AgentRelease on its own.
pub fn check_release(release: &AgentRelease, problems: &mut Vec<Problem>) {
    let spec = &release.spec;

    for (field, path) in artifact_paths(release) {
        if let Err(why) = artifact_path::check(path, artifact_path::VOLUMES) {
            problems.push(Problem::new(
                format!("spec.artifacts.{field}"),
                format!("{path:?} is refused: {why}"),
            ));
        }
    }

    let mut seen: BTreeMap<(String, PermissionObjectType, String), usize> = BTreeMap::new();
    for (i, p) in spec.permissions.iter().enumerate() {
        let key = (
            principal_key(&p.principal),
            p.object.type_,
            p.object.name.clone().unwrap_or_default(),
        );
        if let Some(first) = seen.insert(key, i) {
            problems.push(Problem::new(
                format!("spec.permissions[{i}]"),
                format!(
                    "Duplicate value: permissions[{first}] already sets this principal's level on this object; keep one entry"
                ),
            ));
        }
    }

    let mut grants: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for (i, g) in spec.grants.iter().enumerate() {
        let key = (
            g.securable_type.as_str().to_string(),
            g.full_name.to_lowercase(),
            principal_key(&g.principal),
        );
        if let Some(first) = grants.insert(key, i) {
            problems.push(Problem::new(
                format!("spec.grants[{i}]"),
                format!(
                    "Duplicate value: grants[{first}] already grants to this principal on this securable; merge the privileges into one entry"
                ),
            ));
        }
    }
}

fn principal_key(p: &PrincipalRef) -> String {
    format!(
        "{:?}:{}",
        p.type_,
        p.name.as_deref().unwrap_or("").to_lowercase()
    )
}

/// Checks of one ReleaseTarget on its own: the host against [`crate::host`] (unless a CEL rule
/// already refused it), experiment paths without `..`.
pub fn check_target(target: &ReleaseTarget, problems: &mut Vec<Problem>) {
    let spec = &target.spec;
    // The CEL rules see the host as the API server's URL parser does; the client reads it as
    // the URL standard does (numeric IPv4 notations, IDNA). One problem per field is enough.
    if !problems.iter().any(|p| p.path == "spec.host")
        && let Err(e) = crate::host::check_workspace_host(&spec.host, spec.allow_insecure_http)
    {
        problems.push(Problem::new("spec.host", e.to_string()));
    }
    for (i, t) in spec.trusted_origins.iter().enumerate() {
        let field = format!("spec.trustedOrigins[{i}].origin");
        if !problems.iter().any(|p| p.path == field)
            && let Err(e) = origin::check_trusted_origin(&t.origin, spec.allow_insecure_http)
        {
            problems.push(Problem::new(field, e.to_string()));
        }
    }
    for (field, path) in [
        ("development", spec.experiments.development.as_deref()),
        ("evaluation", spec.experiments.evaluation.as_deref()),
        ("deployment", Some(spec.experiments.deployment.as_str())),
    ] {
        if let Some(path) = path
            && path.split('/').any(|seg| seg == "..")
        {
            problems.push(Problem::new(
                format!("spec.experiments.{field}"),
                "experiment paths may not contain '..'",
            ));
        }
    }
}

/// Checks of a release against the target it refers to, when both are known: overridden
/// artifact paths must lie under the target's `/Volumes/<catalog>/<schema>/`; a custom MCP
/// server's origin must be one the target's requests may go to ([`crate::origin`]).
pub fn check_release_against_target(
    release: &AgentRelease,
    target: &ReleaseTarget,
) -> Vec<Problem> {
    let root = artifact_path::target_root(&target.spec.catalog, &target.spec.schema);
    let mut problems: Vec<Problem> = artifact_paths(release)
        .filter_map(|(field, path)| {
            let why = artifact_path::check(path, &root).err()?;
            Some(Problem::new(
                format!("spec.artifacts.{field}"),
                format!("{path:?} is refused: {why}"),
            ))
        })
        .collect();
    problems.extend(untrusted_mcp_servers(release, target));
    problems
}

/// The custom MCP servers whose origin the target does not let requests go to. An app domain
/// that only the workspace's id could tie to it is left to the operator, which learns the id
/// from the workspace (a target whose host or trusted origins break their rules is reported on
/// its own).
fn untrusted_mcp_servers(release: &AgentRelease, target: &ReleaseTarget) -> Vec<Problem> {
    let spec = &target.spec;
    let Ok(workspace) = crate::host::check_workspace_host(&spec.host, spec.allow_insecure_http)
    else {
        return Vec::new();
    };
    let Ok(policy) =
        origin::OriginPolicy::new(&workspace, &spec.trusted_origins, spec.allow_insecure_http)
    else {
        return Vec::new();
    };
    let servers = release
        .spec
        .verification
        .as_ref()
        .map(|v| v.mcp_servers.as_slice())
        .unwrap_or_default();
    servers
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.url.starts_with('/'))
        .filter_map(|(i, s)| match policy.judge(&s.url) {
            Ok(_) | Err(origin::Untrusted::UnboundApp { .. }) => None,
            Err(why) => Some(Problem::new(
                format!("spec.verification.mcpServers[{i}].url"),
                format!(
                    "refused for ReleaseTarget {}: {why}",
                    target.metadata.name.as_deref().unwrap_or("")
                ),
            )),
        })
        .collect()
}

/// The overridden artifact paths of a release, by field name.
fn artifact_paths(release: &AgentRelease) -> impl Iterator<Item = (&'static str, &str)> {
    let artifacts = release.spec.artifacts.as_ref();
    [
        (
            "signoffPath",
            artifacts.and_then(|a| a.signoff_path.as_deref()),
        ),
        (
            "evalSummaryPath",
            artifacts.and_then(|a| a.eval_summary_path.as_deref()),
        ),
    ]
    .into_iter()
    .filter_map(|(field, path)| Some((field, path?)))
}
