//! `agentrelease import bundle`: a Databricks Asset Bundle (`databricks.yml`, its includes,
//! variables and targets) turned into ReleaseTargets and AgentRelease skeletons.
//!
//! For each bundle target the configuration is resolved as the bundle CLI resolves it (includes
//! merged, the target's overrides merged in, variables and `${...}` references substituted); a
//! ReleaseTarget is written per target and an AgentRelease per app resource and target. Nothing
//! the importer cannot map is dropped silently: each such part is listed ([`Unmapped`]), as is
//! every reference only a deployment can resolve, and unknown keys are reported as
//! `databricks bundle validate` reports them (`unknown field: served_models`).

pub mod emit;
pub mod glob;
pub mod load;
pub mod release_map;
pub mod schema;
pub mod target_map;
pub mod variables;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::manifest::ManifestError;

/// Why a bundle could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A bundle file could not be read or parsed.
    #[error("{0}")]
    Read(#[source] ManifestError),
    /// A directory without a root file.
    #[error(
        "{dir}: no databricks.yml (or databricks.yaml, bundle.yml, bundle.yaml) in this directory"
    )]
    NoRootFile {
        /// The directory.
        dir: PathBuf,
    },
    /// A directory could not be listed.
    #[error("{path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not shaped like a bundle file.
    #[error("{file}:{line}: {}{reason}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
    Shape {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// The field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// An include without glob characters names no file.
    #[error("{file}: include {pattern:?} names no file")]
    IncludeMissing {
        /// The root file.
        file: PathBuf,
        /// The include.
        pattern: String,
    },
    /// The includes match too many files.
    #[error(
        "{file}: the includes match {count} files, more than {}",
        load::MAX_INCLUDED_FILES
    )]
    TooManyIncludes {
        /// The root file.
        file: PathBuf,
        /// How many.
        count: usize,
    },
    /// An included file has includes of its own (the bundle CLI refuses them).
    #[error("{file}:{line}: include: only the root file of a bundle may include files")]
    NestedInclude {
        /// The included file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
    },
    /// A resource defined in two files.
    #[error("{file}:{line}: {resource} is already defined in another file of the bundle")]
    DuplicateResource {
        /// The later file.
        file: PathBuf,
        /// 1-based line.
        line: u64,
        /// `resources.<kind>.<key>`.
        resource: String,
    },
    /// A variable assigned without being declared.
    #[error("variable {name} {}", match target { Some(t) => format!("is not defined but is assigned a value in target {t}"), None => "has not been defined".to_string() })]
    UndeclaredVariable {
        /// The variable.
        name: String,
        /// The target assigning it, or None for `--var`.
        target: Option<String>,
    },
    /// A `--var` flag without `=`.
    #[error("--var {flag:?}: expected name=value")]
    VarFlag {
        /// The flag's value.
        flag: String,
    },
    /// `--target` names a target the bundle does not have.
    #[error("{file}: target {target:?} is not defined (targets: {known})")]
    UnknownTarget {
        /// The root file.
        file: PathBuf,
        /// The target asked for.
        target: String,
        /// The targets defined.
        known: String,
    },
    /// The bundle defines no targets.
    #[error("{file}: the bundle defines no targets; a ReleaseTarget needs a target's workspace")]
    NoTargets {
        /// The root file.
        file: PathBuf,
    },
}

impl BundleError {
    /// A short category for messages and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            BundleError::Read(_) => "read",
            BundleError::NoRootFile { .. } => "no_root_file",
            BundleError::Io { .. } => "io",
            BundleError::Shape { .. } => "shape",
            BundleError::IncludeMissing { .. } => "include_missing",
            BundleError::TooManyIncludes { .. } => "too_many_includes",
            BundleError::NestedInclude { .. } => "nested_include",
            BundleError::DuplicateResource { .. } => "duplicate_resource",
            BundleError::UndeclaredVariable { .. } => "undeclared_variable",
            BundleError::VarFlag { .. } => "var_flag",
            BundleError::UnknownTarget { .. } => "unknown_target",
            BundleError::NoTargets { .. } => "no_targets",
        }
    }
}

/// One manifest written by the import.
#[derive(Debug, Clone)]
pub struct Imported {
    /// Its file name in the output directory.
    pub file_name: String,
    /// Comment lines on top.
    pub header: Vec<String>,
    /// The object.
    pub value: Value,
    /// `# TODO` and other comments, by dotted field path.
    pub comments: BTreeMap<String, String>,
}

impl Imported {
    /// The manifest as YAML text.
    pub fn to_yaml(&self) -> String {
        emit::to_yaml(&self.header, &self.value, &self.comments)
    }
}

/// A part of the bundle the import did not carry over, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unmapped {
    /// The bundle target it was seen in.
    pub target: String,
    /// The bundle field.
    pub field: String,
    /// Why it was not carried over.
    pub reason: String,
}

impl Unmapped {
    /// An unmapped part.
    pub fn new(target: &str, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Unmapped {
            target: target.to_string(),
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// What the import produced.
#[derive(Debug, Default)]
pub struct Import {
    /// The bundle targets imported, in order.
    pub targets: Vec<String>,
    /// The manifests.
    pub manifests: Vec<Imported>,
    /// What was not carried over.
    pub unmapped: Vec<Unmapped>,
    /// Unknown keys, as `bundle validate` reports them.
    pub unknown_fields: Vec<schema::UnknownField>,
}

/// What to import.
pub struct Request<'a> {
    /// The bundle's root file or directory.
    pub path: &'a Path,
    /// One target, or all of them.
    pub target: Option<&'a str>,
    /// Variable values from outside the files.
    pub overrides: &'a variables::Overrides,
    /// Where the manifests will be written (source folders are given relative to it).
    pub output_dir: Option<&'a Path>,
}

/// Resource kinds an AgentRelease has no place for (the apps are mapped; a single registered
/// model and experiment feed the release and target).
const RESOURCE_KINDS_READ: &[&str] = &["apps", "registered_models", "experiments"];

/// Top-level sections of a bundle that an AgentRelease or ReleaseTarget has no place for.
const SECTIONS_NOT_MAPPED: &[&str] = &[
    "artifacts",
    "sync",
    "permissions",
    "presets",
    "run_as",
    "experimental",
    "scripts",
    "python",
];

/// Imports the bundle.
pub fn import(request: &Request<'_>) -> Result<Import, BundleError> {
    let loaded = load::load(request.path)?;
    let mut out = Import::default();
    for doc in &loaded.documents {
        out.unknown_fields.extend(schema::unknown_fields(doc));
    }
    out.unknown_fields
        .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    let targets: Vec<String> = loaded
        .config
        .get("targets")
        .or(loaded.config.get("environments"))
        .and_then(Value::as_object)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    if targets.is_empty() {
        return Err(BundleError::NoTargets {
            file: loaded.root_file.clone(),
        });
    }
    let chosen: Vec<String> = match request.target {
        Some(t) if targets.iter().any(|x| x == t) => vec![t.to_string()],
        Some(t) => {
            return Err(BundleError::UnknownTarget {
                file: loaded.root_file.clone(),
                target: t.to_string(),
                known: targets.join(", "),
            });
        }
        None => targets,
    };
    for target in &chosen {
        import_target(&loaded, target, request, &mut out)?;
    }
    out.targets = chosen;
    Ok(out)
}

fn import_target(
    loaded: &load::LoadedBundle,
    target: &str,
    request: &Request<'_>,
    out: &mut Import,
) -> Result<(), BundleError> {
    let target_value = loaded
        .config
        .get("targets")
        .or(loaded.config.get("environments"))
        .and_then(|t| t.get(target))
        .cloned()
        .unwrap_or(Value::Null);
    let vars = variables::values(&loaded.config, target, &target_value, request.overrides)?;
    let mut config = load::apply_target(&loaded.config, &target_value);
    let unresolved = variables::substitute(
        &mut config,
        &variables::Scope {
            variables: &vars,
            target,
        },
    );
    for (name, decl) in config
        .get("variables")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if !vars.contains_key(name) {
            let why = if decl.get("lookup").is_some()
                || target_value
                    .get("variables")
                    .and_then(|v| v.get(name))
                    .and_then(|v| v.get("lookup"))
                    .is_some()
            {
                "a lookup variable: resolved by the bundle CLI against the workspace; pass --var to import it"
            } else {
                "no value: no default, no target value and no --var"
            };
            out.unmapped
                .push(Unmapped::new(target, format!("variables.{name}"), why));
        }
    }
    for u in unresolved {
        out.unmapped.push(Unmapped::new(
            target,
            u.field,
            format!(
                "${{{}}} is known only when the bundle is deployed; left as written",
                u.reference
            ),
        ));
    }
    if let Some(mode) = target_value.get("mode").and_then(Value::as_str) {
        out.unmapped.push(Unmapped::new(
            target,
            format!("targets.{target}.mode"),
            format!("mode {mode}: the bundle CLI's deployment mode (development-mode name prefixes and paused schedules, production-mode checks) has no equivalent"),
        ));
    }
    for section in SECTIONS_NOT_MAPPED {
        if config.get(*section).is_some() {
            out.unmapped.push(Unmapped::new(
                target,
                *section,
                "no AgentRelease or ReleaseTarget equivalent",
            ));
        }
    }
    let resources = config.get("resources").and_then(Value::as_object);
    for (kind, entries) in resources.into_iter().flatten() {
        if RESOURCE_KINDS_READ.contains(&kind.as_str()) {
            continue;
        }
        for key in entries.as_object().into_iter().flatten().map(|(k, _)| k) {
            let why = if kind == "model_serving_endpoints" {
                "serving endpoints are not imported; declare spec.servingEndpoint (servedEntities) in the release if it serves the agent"
            } else {
                "not an app: an AgentRelease deploys apps and serving endpoints only"
            };
            out.unmapped.push(Unmapped::new(
                target,
                format!("resources.{kind}.{key}"),
                why,
            ));
        }
    }

    let apps: Vec<(String, Value)> = config
        .get("resources")
        .and_then(|r| r.get("apps"))
        .and_then(Value::as_object)
        .map(|a| a.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut releases = Vec::new();
    let mut from_apps = target_map::GatewayFromApps::default();
    for (key, app) in &apps {
        let (release, gateway) = release_map::release(
            &release_map::AppInput {
                target,
                key,
                app,
                config: &config,
                vars: &vars,
                bundle_root: &loaded.root,
                output_dir: request.output_dir,
            },
            &mut out.unmapped,
        );
        from_apps.llm_base_url = from_apps.llm_base_url.or(gateway.llm_base_url);
        from_apps.llm_model = from_apps.llm_model.or(gateway.llm_model);
        from_apps.mcp_base_url = from_apps.mcp_base_url.or(gateway.mcp_base_url);
        from_apps.app_environment = from_apps.app_environment.or(gateway.app_environment);
        releases.push(release);
    }
    if apps.is_empty() {
        out.unmapped.push(Unmapped::new(
            target,
            "resources.apps",
            "the bundle has no app: no AgentRelease written for this target",
        ));
    }
    out.manifests.push(target_map::release_target(
        target,
        &config,
        &vars,
        &from_apps,
        &mut out.unmapped,
    ));
    out.manifests.extend(releases);
    Ok(())
}

/// A Kubernetes object name from a bundle key: lowercase, `_` and other characters as `-`,
/// at most 63 characters, starting and ending with a letter or digit.
pub fn k8s_name(raw: &str) -> String {
    let mut s: String = raw
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    s.truncate(63);
    let s = s.trim_matches('-').to_string();
    if s.is_empty() { "imported".into() } else { s }
}
