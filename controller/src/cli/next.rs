//! `agentrelease next -f release.yaml`: the manifest of the next release — N+1, the newest READY
//! model version, its logged model id, the artifact paths of N+1 — on stdout, for a CI job
//! triggered when a model version is created to commit or open as a pull request. It reads the
//! workspace as `plan` does (the same `--host` and credentials flags, or the embedded
//! simulator) and writes nothing. Exit code 3 when no release has a newer READY version.
//!
//! The manifest is the given one with only the fields of the next release changed, so comments
//! aside it stays what the team wrote: `metadata.name` (a `-v<N>` suffix becomes `-v<N+1>`),
//! `spec.version`, `spec.model.version`, `spec.model.loggedModelId` (and every other string
//! holding the old id, such as a verification's expected substring), served entity names ending
//! in `-<old version>`, and overridden artifact paths with a `/v<N>/` segment.

use std::path::PathBuf;

use agentrelease_api::AgentRelease;
use serde_json::Value;

use super::apply::{self, Environment, WorkspaceArgs};
use super::validate::{self, OutputFormat};
use crate::connection::WorkspaceFactory;
use crate::engine::newer;
use crate::engine::workspace::{ModelVersionInfo, Workspace as _};

/// The exit code when no release has a newer READY model version.
pub const NO_NEWER_VERSION: i32 = 3;

/// Arguments of `agentrelease next`.
#[derive(Debug, Clone, clap::Args)]
pub struct NextArgs {
    /// Manifest files or directories (the AgentRelease and its ReleaseTarget).
    #[arg(short = 'f', long = "filename", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Also read the subdirectories of the given directories.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// The workspace.
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
}

/// What the next release takes from the model version (pure input of [`next_manifest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextVersion {
    /// The model version.
    pub version: i64,
    /// Its logged model id.
    pub logged_model_id: Option<String>,
    /// Its source (`models:/m-...`).
    pub source: Option<String>,
}

impl From<&ModelVersionInfo> for NextVersion {
    fn from(v: &ModelVersionInfo) -> Self {
        NextVersion {
            version: v.version,
            logged_model_id: v.model_id.clone(),
            source: v.source.clone(),
        }
    }
}

/// The manifest of the next release (pure): `document` is the release as written.
pub fn next_manifest(document: &Value, release: &AgentRelease, next: &NextVersion) -> Value {
    let n = release.spec.version;
    let old_version = release.spec.model.version;
    let mut doc = document.clone();
    if let Some(name) = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string)
    {
        doc["metadata"]["name"] = Value::String(bump_suffix(
            &name,
            &format!("-v{n}"),
            &format!("-v{}", n + 1),
        ));
    }
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "managedFields",
        ] {
            meta.remove(key);
        }
    }
    if let Some(obj) = doc.as_object_mut() {
        obj.remove("status");
    }
    let old_id = release.spec.model.logged_model_id.clone();
    if let (Some(old), Some(new)) = (&old_id, &next.logged_model_id) {
        replace_strings(&mut doc, old, new);
    }
    let spec = &mut doc["spec"];
    spec["version"] = Value::from(n + 1);
    spec["model"]["version"] = Value::from(next.version);
    match &next.logged_model_id {
        Some(id) => spec["model"]["loggedModelId"] = Value::String(id.clone()),
        None => {
            if let Some(model) = spec["model"].as_object_mut() {
                model.remove("loggedModelId");
            }
        }
    }
    if let Some(entities) = spec
        .pointer_mut("/servingEndpoint/servedEntities")
        .and_then(Value::as_array_mut)
    {
        for entity in entities {
            if let Some(name) = entity
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
            {
                entity["name"] = Value::String(bump_suffix(
                    &name,
                    &format!("-{old_version}"),
                    &format!("-{}", next.version),
                ));
            }
        }
    }
    if let Some(artifacts) = spec.get_mut("artifacts").and_then(Value::as_object_mut) {
        for key in ["signoffPath", "evalSummaryPath"] {
            if let Some(path) = artifacts
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
            {
                artifacts.insert(
                    key.to_string(),
                    Value::String(path.replacen(&format!("/v{n}/"), &format!("/v{}/", n + 1), 1)),
                );
            }
        }
    }
    doc
}

fn bump_suffix(text: &str, from: &str, to: &str) -> String {
    match text.strip_suffix(from) {
        Some(stem) => format!("{stem}{to}"),
        None => text.to_string(),
    }
}

fn replace_strings(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s.contains(from) => *s = s.replace(from, to),
        Value::Array(items) => items.iter_mut().for_each(|v| replace_strings(v, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_strings(v, from, to)),
        _ => {}
    }
}

/// Runs `agentrelease next`; returns the exit code.
pub async fn run<E: Environment>(env: &E, args: &NextArgs) -> anyhow::Result<i32> {
    let report = validate::validate_paths(&args.files, args.recursive);
    let (jobs, workspace) = match apply::prepare(
        env,
        &args.files,
        args.recursive,
        &args.workspace,
        &super::upstream_hosts::UpstreamArgs::default(),
        OutputFormat::Json,
    )
    .await?
    {
        apply::Prepared::Ready(jobs, workspace) => (jobs, workspace),
        apply::Prepared::Refused => return Ok(1),
    };
    let mut printed = 0;
    for job in &jobs {
        let Some((doc, _)) = report.releases.iter().find(|(_, r)| {
            r.metadata.name == job.release.metadata.name
                && r.metadata.namespace == job.release.metadata.namespace
        }) else {
            continue;
        };
        let name = job.release.metadata.name.clone().unwrap_or_default();
        let target = apply::target_for(job, &workspace);
        let ctx =
            crate::engine::ReleaseContext::new(job.identity.clone(), &job.release.spec, &target)
                .map_err(|e| anyhow::anyhow!("AgentRelease/{name}: {e}"))?;
        let ws = workspace
            .factory
            .connect(&workspace.connection(&job.target.spec))?;
        let versions = ws
            .list_model_versions(ctx.model(), newer::MAX_LISTED)
            .await
            .map_err(|e| anyhow::anyhow!("AgentRelease/{name}: {e}"))?;
        let Some(versions) = versions else {
            eprintln!(
                "AgentRelease/{name}: the registered model {} does not exist",
                ctx.model()
            );
            continue;
        };
        let Some(newest) = newer::newer_ready(job.release.spec.model.version, &versions).pop()
        else {
            eprintln!(
                "AgentRelease/{name}: no READY version of {} is newer than version {}",
                ctx.model(),
                job.release.spec.model.version
            );
            continue;
        };
        let next_paths = newer::next_paths(&ctx);
        let signoff = newer::file_exists(&*ws, &next_paths.signoff)
            .await
            .unwrap_or(false);
        let summary = newer::file_exists(&*ws, &next_paths.eval_summary)
            .await
            .unwrap_or(false);
        let next = NextVersion::from(&newest);
        let manifest = next_manifest(&doc.value, &job.release, &next);
        let header = vec![
            format!(
                "The next release of {}: N={} with model version {} (generated by `agentrelease next` from AgentRelease/{name}).",
                ctx.model(),
                next_paths.n,
                next.version
            ),
            format!(
                "Model version {}: logged model {}, source {}.",
                next.version,
                next.logged_model_id.as_deref().unwrap_or("(none)"),
                next.source.as_deref().unwrap_or("(none)")
            ),
            format!(
                "Signoff {} ({}); eval summary {} ({}).",
                next_paths.signoff,
                if signoff { "exists" } else { "not written yet" },
                next_paths.eval_summary,
                if summary { "exists" } else { "not written yet" }
            ),
        ];
        if printed > 0 {
            println!("---");
        }
        print!(
            "{}",
            crate::bundle::emit::to_yaml(&header, &manifest, &Default::default())
        );
        printed += 1;
    }
    Ok(if printed == 0 { NO_NEWER_VERSION } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Value, AgentRelease) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../config/samples/agentrelease.yaml");
        let text = std::fs::read_to_string(path).unwrap();
        let value: Value = serde_saphyr::from_str(&text).unwrap();
        let release: AgentRelease = serde_saphyr::from_str(&text).unwrap();
        (value, release)
    }

    #[test]
    fn the_next_manifest_moves_n_the_model_version_and_its_logged_model_id() {
        let (doc, release) = sample();
        let next = NextVersion {
            version: 13,
            logged_model_id: Some("m-0123456789abcdef0123456789abcdef".into()),
            source: None,
        };
        let m = next_manifest(&doc, &release, &next);
        assert_eq!(m["metadata"]["name"], "skyloyalty-v8");
        assert_eq!(m["spec"]["version"], 8);
        assert_eq!(m["spec"]["model"]["version"], 13);
        assert_eq!(
            m["spec"]["model"]["loggedModelId"],
            "m-0123456789abcdef0123456789abcdef"
        );
        assert_eq!(
            m["spec"]["servingEndpoint"]["servedEntities"][0]["name"],
            "skyloyalty-13"
        );
        assert_eq!(
            m["spec"]["verification"]["expectSubstring"],
            "m-0123456789abcdef0123456789abcdef"
        );
        assert!(!m.to_string().contains("m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b"));
    }

    #[test]
    fn overridden_artifact_paths_move_to_the_next_n() {
        let (mut doc, release) = sample();
        doc["spec"]["artifacts"] = serde_json::json!({
            "signoffPath": "/Volumes/main/agents/signoffs/v7/decision.md"
        });
        let next = NextVersion {
            version: 13,
            logged_model_id: None,
            source: None,
        };
        let m = next_manifest(&doc, &release, &next);
        assert_eq!(
            m["spec"]["artifacts"]["signoffPath"],
            "/Volumes/main/agents/signoffs/v8/decision.md"
        );
        assert!(m["spec"]["model"].get("loggedModelId").is_none());
    }
}
