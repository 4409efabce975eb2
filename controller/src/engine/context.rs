//! What a reconcile pass knows about the release before it talks to the workspace: the release's
//! identity, the target's catalog and schema, and the artifact locations of the contract.

use agentrelease_api::artifact_path::{self, PathRefusal};
use agentrelease_api::names::{self, Registry};
use agentrelease_api::{AgentReleaseSpec, ReleaseTargetSpec};

/// Who the release is. In the controller these come from the object's metadata; `apply`
/// derives stable values from the manifest so repeated runs recognise their own plan and audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The release's uid.
    pub uid: String,
    /// The spec generation.
    pub generation: i64,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl Identity {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The marker written into a deployment plan so a restarted pass finds its own plan: the
    /// release, its generation and the gate inputs (new signoff or summary content within a
    /// generation is a new plan).
    pub fn plan_marker(&self, fingerprint: &str) -> String {
        let short = fingerprint.get(..16).unwrap_or(fingerprint);
        format!("{}/{}/{short}", self.uid, self.generation)
    }
}

/// Why a release cannot be worked on with this target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    /// An artifact path falls outside `/Volumes/<catalog>/<schema>/` or is malformed.
    #[error("{field} {path:?} is refused: {why}")]
    PathRefused {
        /// The field the path came from.
        field: &'static str,
        /// The path.
        path: String,
        /// The rule it breaks (the one `agentrelease validate` applies too).
        why: PathRefusal,
    },
    /// The serving endpoint would serve the release's model at another version than the alias
    /// is moved to: callers of the endpoint and of the alias would get different models.
    #[error(
        "spec.servingEndpoint.servedEntities {entity:?} serves the release's model at version {version}, but spec.model.version (what the alias points at) is {model_version}: leave entityVersion out, or set it to {model_version}"
    )]
    ServedVersion {
        /// The served entity.
        entity: String,
        /// The version it names.
        version: String,
        /// `spec.model.version`.
        model_version: i64,
    },
    /// A name of the release or target is malformed.
    #[error("{field} {value:?} is invalid: {why}")]
    InvalidName {
        /// The field.
        field: &'static str,
        /// The value.
        value: String,
        /// Why.
        why: &'static str,
    },
}

impl ContextError {
    /// A short category for Event reasons and metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            ContextError::PathRefused { .. } => "path_refused",
            ContextError::InvalidName { .. } => "invalid_name",
            ContextError::ServedVersion { .. } => "served_version",
        }
    }
}

/// The release, its target and everything derived from them.
#[derive(Debug, Clone)]
pub struct ReleaseContext {
    /// Who.
    pub identity: Identity,
    /// The release's spec.
    pub spec: AgentReleaseSpec,
    /// The target's spec.
    pub target: ReleaseTargetSpec,
    /// The registry the model lives in.
    pub registry: Registry,
    /// `/Volumes/<catalog>/<schema>/`.
    pub volume_root: String,
    /// The signoff file.
    pub signoff_path: String,
    /// The eval summary.
    pub eval_summary_path: String,
    /// The directory of the deployment plans.
    pub plans_dir: String,
    /// The prompt (`<catalog>.<agentSchema>.system_instructions` unless overridden).
    pub prompt_name: String,
    /// `candidate_v<N>`.
    pub prompt_alias: String,
    /// Where the facts about the upstream stages come from (`spec.promotion.requires`).
    pub upstream: super::upstream::UpstreamSource,
    /// The release's namespace requires an approval of every release in it (its label
    /// `agentops.dev/approval: required`, read by the controller; `apply` has no namespace).
    pub namespace_requires_approval: bool,
    /// The target as its manifest declares it, when the pass is pointed elsewhere (`None`: it
    /// is `target`). The release identity names the declared one.
    pub declared_target: Option<ReleaseTargetSpec>,
}

impl ReleaseContext {
    /// Resolves the context; refuses malformed names and any artifact path outside the target's
    /// catalog and schema.
    pub fn new(
        identity: Identity,
        spec: &AgentReleaseSpec,
        target: &ReleaseTargetSpec,
    ) -> Result<Self, ContextError> {
        for (field, value) in [
            ("spec.catalog", target.catalog.as_str()),
            ("spec.schema", target.schema.as_str()),
            ("spec.agentSchema", target.prompt_schema()),
            ("spec.volumes.signoffs", target.volumes.signoffs.as_str()),
            ("spec.volumes.evalRuns", target.volumes.eval_runs.as_str()),
            (
                "spec.volumes.deploymentPlans",
                target.volumes.deployment_plans.as_str(),
            ),
        ] {
            check_identifier(field, value)?;
        }
        let registry = names::registry_of(&spec.model.name).ok_or(ContextError::InvalidName {
            field: "spec.model.name",
            value: spec.model.name.clone(),
            why: "a model name has one part (workspace registry) or three (Unity Catalog)",
        })?;
        if spec.version < 1 {
            return Err(ContextError::InvalidName {
                field: "spec.version",
                value: spec.version.to_string(),
                why: "N must be a positive integer",
            });
        }
        if let Some(endpoint) = spec.serving_endpoint.as_ref() {
            let model_version = spec.model.version;
            for e in &endpoint.served_entities {
                let of_model = e.external_model.is_none()
                    && e.entity_name
                        .as_deref()
                        .is_none_or(|n| n == spec.model.name);
                if let Some(version) = e
                    .entity_version
                    .as_ref()
                    .filter(|v| of_model && v.trim() != model_version.to_string())
                {
                    return Err(ContextError::ServedVersion {
                        entity: e.name.clone(),
                        version: version.clone(),
                        model_version,
                    });
                }
            }
        }
        let n = spec.version;
        let volume_root = artifact_path::target_root(&target.catalog, &target.schema);
        let overrides = spec.artifacts.clone().unwrap_or_default();
        let signoff_path = overrides.signoff_path.clone().unwrap_or_else(|| {
            format!("{volume_root}{}/v{n}/decision.md", target.volumes.signoffs)
        });
        let eval_summary_path = overrides.eval_summary_path.clone().unwrap_or_else(|| {
            format!(
                "{volume_root}{}/v{n}/summary.json",
                target.volumes.eval_runs
            )
        });
        let plans_dir = format!("{volume_root}{}", target.volumes.deployment_plans);
        check_artifact_path("the signoff path", &signoff_path, &volume_root)?;
        check_artifact_path("the eval summary path", &eval_summary_path, &volume_root)?;
        check_artifact_path("the deployment plans directory", &plans_dir, &volume_root)?;
        let prompt_name = match overrides.prompt_name {
            Some(name) => {
                if names::registry_of(&name) != Some(Registry::UnityCatalog) {
                    return Err(ContextError::InvalidName {
                        field: "spec.artifacts.promptName",
                        value: name,
                        why: "a prompt is a three-part Unity Catalog name",
                    });
                }
                name
            }
            None => format!(
                "{}.{}.system_instructions",
                target.catalog,
                target.prompt_schema()
            ),
        };
        Ok(ReleaseContext {
            identity,
            spec: spec.clone(),
            target: target.clone(),
            registry,
            volume_root,
            signoff_path,
            eval_summary_path,
            plans_dir,
            prompt_name,
            prompt_alias: format!("candidate_v{n}"),
            upstream: super::upstream::UpstreamSource::default(),
            namespace_requires_approval: false,
            declared_target: None,
        })
    }

    /// N.
    pub fn n(&self) -> i64 {
        self.spec.version
    }

    /// The path of deployment plan version `m`.
    pub fn plan_path(&self, m: i64) -> String {
        format!("{}/v{m}/plan.md", self.plans_dir)
    }

    /// The model's name.
    pub fn model(&self) -> &str {
        &self.spec.model.name
    }

    /// The folder of the release ledger in the target's workspace.
    pub fn ledger_root(&self) -> &str {
        super::ledger::DEFAULT_ROOT
    }

    /// The release lock's record in the ledger (one per alias: the release's primary object).
    pub fn lock_path(&self) -> super::ledger::LedgerPath {
        super::lock::path(
            self.ledger_root(),
            &self.spec.model.name,
            &self.spec.model.alias,
        )
    }

    /// The objects the release owns while it is the current release of its agent
    /// ([`super::ledger::owned_by`]).
    pub fn owned_objects(&self) -> Vec<super::ledger::Owned> {
        super::ledger::owned_by(&self.spec)
    }

    /// The release as an owner of workspace objects, claiming at `at`.
    pub fn claim(&self, at: jiff::Timestamp) -> super::ledger::Claim {
        super::ledger::Claim {
            agent: self.spec.model.name.clone(),
            n: self.spec.version,
            release: self.identity.key(),
            model_version: self.spec.model.version,
            at: agentrelease_api::condition::truncate_to_seconds(at).to_string(),
        }
    }

    /// A digest of what the release asks for (the suspend switch aside), the same in the
    /// controller and in `apply`: a rollback hold recorded in the workspace lasts while it is
    /// unchanged.
    pub fn spec_digest(&self) -> String {
        let mut spec = self.spec.clone();
        spec.policy.suspend = false;
        spec.policy.suspend_reason = None;
        let text = serde_json::to_string(&spec).unwrap_or_default();
        super::fingerprint::digest(&[&text])
    }
}

fn check_identifier(field: &'static str, value: &str) -> Result<(), ContextError> {
    let bad = value.is_empty()
        || value.len() > 255
        || value
            .chars()
            .any(|c| c == '.' || c == '/' || c.is_whitespace() || c.is_control());
    if bad {
        return Err(ContextError::InvalidName {
            field,
            value: value.to_string(),
            why: "one Unity Catalog name without dots, slashes, spaces or control characters",
        });
    }
    Ok(())
}

/// Refuses a path that is not a clean absolute path under `root`
/// ([`agentrelease_api::artifact_path::check`]).
pub fn check_artifact_path(
    field: &'static str,
    path: &str,
    root: &str,
) -> Result<(), ContextError> {
    artifact_path::check(path, root).map_err(|why| ContextError::PathRefused {
        field,
        path: path.to_string(),
        why,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "/Volumes/main/agents/";

    #[test]
    fn accepts_paths_under_the_root() {
        assert!(
            check_artifact_path("f", "/Volumes/main/agents/signoffs/v7/decision.md", ROOT).is_ok()
        );
    }

    #[test]
    fn refuses_escapes_and_malformed_paths() {
        for bad in [
            "/Volumes/main/agents/../finance/x.md",
            "/Volumes/main/agents/./x.md",
            "/Volumes/main/agents//x.md",
            "/Volumes/main/agents/x/",
            "/Volumes/main/agentsx/x.md",
            "/Volumes/other/agents/x.md",
            "Volumes/main/agents/x.md",
            "/Volumes/main/agents/x\u{0}.md",
            "/Volumes/main/agents/x\n.md",
            "/Volumes/main/agents/a\\b.md",
            "/Volumes/main/agents/",
        ] {
            assert!(check_artifact_path("f", bad, ROOT).is_err(), "{bad}");
        }
    }

    fn sample_specs() -> (AgentReleaseSpec, ReleaseTargetSpec) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples");
        let read = |f: &str| std::fs::read_to_string(root.join(f)).unwrap();
        let release: agentrelease_api::AgentRelease =
            serde_saphyr::from_str(&read("agentrelease.yaml")).unwrap();
        let target: agentrelease_api::ReleaseTarget =
            serde_saphyr::from_str(&read("releasetarget.yaml")).unwrap();
        (release.spec, target.spec)
    }

    fn identity() -> Identity {
        Identity {
            uid: "u".into(),
            generation: 1,
            namespace: "default".into(),
            name: "r".into(),
        }
    }

    #[test]
    fn the_context_refuses_each_path_validate_refuses_with_the_same_reason() {
        let (spec, target) = sample_specs();
        for (path, why) in [
            (
                "/Volumes/main/agents/./signoffs/v7/decision.md",
                "it has a '.' or '..' segment",
            ),
            (
                "/Volumes/main/agents/signoffs\\v7\\decision.md",
                "it contains a backslash",
            ),
            (
                "/Volumes/main/agents/signoffs/v7/decision.md\u{0}",
                "it contains a control character (such as NUL or a newline)",
            ),
            (
                "/Volumes/main/agents/signoffs/v7\n/decision.md",
                "it contains a control character (such as NUL or a newline)",
            ),
            (
                "/Volumes/main/agents/signoffs/v7/",
                "it has an empty segment ('//' or a trailing '/')",
            ),
        ] {
            let mut spec = spec.clone();
            spec.artifacts = Some(agentrelease_api::release::ArtifactOverrides {
                signoff_path: Some(path.into()),
                ..Default::default()
            });
            let err = ReleaseContext::new(identity(), &spec, &target).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("the signoff path {path:?} is refused: {why}")
            );
        }
    }
}
