//! The seed file: the initial state of a simulated workspace, in YAML. Unknown fields are
//! refused so a typo does not silently seed nothing; every error names the file and the field.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::Value;

use crate::local_file::{self, LocalFileError};
use crate::world::{
    AclPrincipal, Compute, Denial, Deployment, Experiment, FederationPolicy, LoggedModel, Metric,
    Model, ModelVersion, OAuthClient, Prompt, PromptVersion, Run, SmokeReply, StoredFile, Timings,
    TokenInfo, Warehouse, World, split_volume_path, workspace_key,
};

/// The largest file a seed reads: the seed itself and each `from_file` entry. Only regular files
/// are read (a FIFO or a device is refused rather than waited on).
pub const MAX_SEED_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// A seed that could not be read or applied.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The seed file could not be read: missing, not a regular file, or larger than
    /// [`MAX_SEED_FILE_BYTES`].
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        source: LocalFileError,
    },
    /// A `from_file` entry could not be read, for the same reasons.
    #[error("{file}: {field}: cannot read {path}: {source}")]
    FromFile {
        /// The seed file.
        file: String,
        /// The field path of the entry (`catalogs[0].schemas[0].volumes[0].files.v7/decision.md`).
        field: String,
        /// The path the entry names, resolved against the seed file's directory.
        path: String,
        /// The cause.
        source: LocalFileError,
    },
    /// The YAML is malformed or has unknown fields.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A value is inconsistent with the rest of the seed.
    #[error("{file}: {field}: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// The field path.
        field: String,
        /// Why.
        reason: String,
    },
}

impl SeedError {
    /// A short category for logs.
    pub fn category(&self) -> &'static str {
        match self {
            SeedError::Read { .. } | SeedError::FromFile { .. } => "read",
            SeedError::Parse { .. } => "parse",
            SeedError::Invalid { .. } => "invalid",
        }
    }
}

/// File content in a seed: exactly one of inline text, a JSON/YAML value rendered as JSON, or a
/// file relative to the seed file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedContent {
    /// Inline text.
    #[serde(default)]
    pub content: Option<String>,
    /// A value written as pretty JSON.
    #[serde(default)]
    pub json: Option<Value>,
    /// A path relative to the seed file.
    #[serde(default)]
    pub from_file: Option<String>,
}

/// A volume and its files.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedVolume {
    /// The volume name.
    pub name: String,
    /// Files by path within the volume.
    #[serde(default)]
    pub files: BTreeMap<String, SeedContent>,
    /// Empty directories within the volume.
    #[serde(default)]
    pub directories: Vec<String>,
}

/// A model version.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedModelVersion {
    /// The number.
    pub version: i64,
    /// The status (default READY).
    #[serde(default = "ready")]
    pub status: String,
    /// The producing run.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The logged model id (`m-<32 hex>`).
    #[serde(default)]
    pub model_id: Option<String>,
    /// The artifact source.
    #[serde(default)]
    pub source: Option<String>,
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
    /// Model version tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn ready() -> String {
    "READY".into()
}

/// A registered model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedModel {
    /// The name (within the schema for Unity Catalog; bare for the workspace registry).
    pub name: String,
    /// The owner.
    #[serde(default)]
    pub owner: Option<String>,
    /// Free text.
    #[serde(default)]
    pub comment: Option<String>,
    /// Versions.
    #[serde(default)]
    pub versions: Vec<SeedModelVersion>,
    /// Alias → version.
    #[serde(default)]
    pub aliases: BTreeMap<String, i64>,
}

/// A prompt version.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPromptVersion {
    /// The number.
    pub version: i64,
    /// The template text (stored JSON-encoded, as MLflow does).
    pub template: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// A prompt.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPrompt {
    /// The name within the schema.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Versions.
    #[serde(default)]
    pub versions: Vec<SeedPromptVersion>,
    /// Alias → version.
    #[serde(default)]
    pub aliases: BTreeMap<String, i64>,
}

/// A schema.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSchema {
    /// The name.
    pub name: String,
    /// Volumes.
    #[serde(default)]
    pub volumes: Vec<SeedVolume>,
    /// Table names.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Unity Catalog function names (the managed MCP server's tools).
    #[serde(default)]
    pub functions: Vec<String>,
    /// Vector search index names (the tools of the schema's vector search MCP server).
    #[serde(default)]
    pub vector_indexes: Vec<String>,
    /// Registered models.
    #[serde(default)]
    pub models: Vec<SeedModel>,
    /// Prompts.
    #[serde(default)]
    pub prompts: Vec<SeedPrompt>,
}

/// A catalog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedCatalog {
    /// The name.
    pub name: String,
    /// Schemas.
    #[serde(default)]
    pub schemas: Vec<SeedSchema>,
}

/// A dataset input of a run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDatasetInput {
    /// The dataset's name.
    pub name: String,
    /// The digest.
    pub digest: String,
    /// The `mlflow.data.context` tag (`training`, `evaluation`, ...).
    #[serde(default)]
    pub context: Option<String>,
    /// The source type (default `delta`).
    #[serde(default)]
    pub source_type: Option<String>,
    /// The source.
    #[serde(default)]
    pub source: Option<String>,
}

/// A run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRun {
    /// The id.
    pub run_id: String,
    /// The name.
    #[serde(default)]
    pub run_name: Option<String>,
    /// The status (default FINISHED).
    #[serde(default)]
    pub status: Option<String>,
    /// Metrics.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Params.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Dataset inputs.
    #[serde(default)]
    pub dataset_inputs: Vec<SeedDatasetInput>,
    /// Model inputs: the ids of the logged models the run used (an evaluation run's are the
    /// models it evaluated), served as `inputs.model_inputs[].model_id`.
    #[serde(default)]
    pub model_inputs: Vec<String>,
}

/// A logged model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedLoggedModel {
    /// `m-<32 hex>`.
    pub model_id: String,
    /// The name.
    pub name: String,
    /// The producing run.
    #[serde(default)]
    pub source_run_id: Option<String>,
}

/// An experiment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedExperiment {
    /// The workspace path.
    pub name: String,
    /// The id (generated when absent).
    #[serde(default)]
    pub id: Option<String>,
    /// Runs.
    #[serde(default)]
    pub runs: Vec<SeedRun>,
    /// Logged models.
    #[serde(default)]
    pub logged_models: Vec<SeedLoggedModel>,
}

/// A token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedToken {
    /// The token.
    pub token: String,
    /// Who it authenticates (a user or a service principal's application id).
    pub principal: String,
}

/// A service principal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedServicePrincipal {
    /// The application id (a UUID).
    pub application_id: String,
    /// The display name.
    pub display_name: String,
    /// An OAuth secret, enabling M2M token requests for it.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Federation policies: OIDC tokens they accept are exchanged for tokens of this service
    /// principal (workload identity federation, `client_id` = the application id).
    #[serde(default)]
    pub federation_policies: Vec<SeedFederationPolicy>,
}

/// A service principal federation policy: which OIDC tokens the token exchange accepts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFederationPolicy {
    /// The required `iss` claim, e.g. `https://token.actions.githubusercontent.com` or the
    /// cluster's service account issuer.
    pub issuer: String,
    /// The accepted audiences: the token's `aud` must name one.
    pub audiences: Vec<String>,
    /// The required value of the subject claim, e.g.
    /// `system:serviceaccount:agentrelease-system:agentrelease` or
    /// `repo:org/repo:environment:prod`.
    pub subject: String,
    /// The claim holding the subject; `sub` by default.
    #[serde(default)]
    pub subject_claim: Option<String>,
}

/// A denial.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDenial {
    /// The principal.
    pub principal: String,
    /// The method, all when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// A path glob (`*` within a segment, `**` across).
    pub path: String,
}

/// The workspace tree.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedWorkspace {
    /// Folders.
    #[serde(default)]
    pub directories: Vec<String>,
    /// Files by path.
    #[serde(default)]
    pub files: BTreeMap<String, SeedContent>,
}

/// A SQL warehouse.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedWarehouse {
    /// The id.
    pub id: String,
    /// The name.
    pub name: String,
}

/// A serving endpoint, ready at start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedEndpoint {
    /// The name.
    pub name: String,
    /// The config (`served_entities`, `traffic_config`), as the API takes it.
    pub config: Value,
}

/// An app deployment that already succeeded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedDeployment {
    /// The source folder.
    pub source_code_path: String,
    /// The command.
    #[serde(default)]
    pub command: Vec<String>,
    /// Env vars (`{name, value}` / `{name, value_from}`).
    #[serde(default)]
    pub env_vars: Vec<Value>,
}

/// An app that exists at start (compute ACTIVE).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedApp {
    /// The name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Resources, as the API takes them.
    #[serde(default)]
    pub resources: Vec<Value>,
    /// Its active deployment.
    #[serde(default)]
    pub deployment: Option<SeedDeployment>,
    /// Its canned reply.
    #[serde(default)]
    pub reply: Option<SmokeReply>,
}

/// A Unity Catalog grant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedGrant {
    /// `catalog`, `schema`, `function` (models), `volume`, `table`.
    pub securable_type: String,
    /// The full name.
    pub full_name: String,
    /// The principal.
    pub principal: String,
    /// Privileges.
    pub privileges: Vec<String>,
}

/// The AI gateway's tables (three-part names; created as Unity Catalog tables).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedAiGateway {
    /// The payload (inference) table.
    pub payload_table: String,
    /// The usage table.
    pub usage_table: String,
}

/// A workspace seed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// The workspace id.
    #[serde(default)]
    pub workspace_id: Option<i64>,
    /// Durations of long operations.
    #[serde(default)]
    pub timings: Option<Timings>,
    /// The default canned reply of apps.
    #[serde(default)]
    pub app_reply: Option<SmokeReply>,
    /// Users (emails).
    #[serde(default)]
    pub users: Vec<String>,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Service principals.
    #[serde(default)]
    pub service_principals: Vec<SeedServicePrincipal>,
    /// Personal access tokens.
    #[serde(default)]
    pub tokens: Vec<SeedToken>,
    /// Requests refused with 403 per principal.
    #[serde(default)]
    pub denials: Vec<SeedDenial>,
    /// Unity Catalog.
    #[serde(default)]
    pub catalogs: Vec<SeedCatalog>,
    /// The workspace model registry.
    #[serde(default)]
    pub registry_models: Vec<SeedModel>,
    /// MLflow experiments.
    #[serde(default)]
    pub experiments: Vec<SeedExperiment>,
    /// SQL warehouses.
    #[serde(default)]
    pub warehouses: Vec<SeedWarehouse>,
    /// The workspace tree.
    #[serde(default)]
    pub workspace: SeedWorkspace,
    /// Serving endpoints.
    #[serde(default)]
    pub serving_endpoints: Vec<SeedEndpoint>,
    /// Apps.
    #[serde(default)]
    pub apps: Vec<SeedApp>,
    /// Unity Catalog grants.
    #[serde(default)]
    pub grants: Vec<SeedGrant>,
    /// Genie spaces, by id, with their titles (each a managed MCP server).
    #[serde(default)]
    pub genie_spaces: BTreeMap<String, String>,
    /// Secret scopes by name, with the keys they hold (no values: no API returns them).
    #[serde(default)]
    pub secret_scopes: BTreeMap<String, Vec<String>>,
    /// Lakebase database instances by name.
    #[serde(default)]
    pub database_instances: Vec<String>,
    /// The AI gateway's payload and usage tables, which the apps' chat calls fill.
    #[serde(default)]
    pub ai_gateway: Option<SeedAiGateway>,
    /// Where relative `from_file` paths resolve.
    #[serde(skip)]
    base_dir: Option<PathBuf>,
    /// The file name used in errors.
    #[serde(skip)]
    source: String,
}

impl Seed {
    /// Parses a seed; `base_dir` resolves `from_file` paths.
    pub fn from_yaml_str(text: &str, base_dir: Option<&Path>) -> Result<Seed, SeedError> {
        Self::parse(text, base_dir, "<seed>")
    }

    /// Reads and parses a seed file.
    pub fn from_yaml_file(path: &Path) -> Result<Seed, SeedError> {
        let file = path.display().to_string();
        let text = local_file::read_to_string(path, MAX_SEED_FILE_BYTES).map_err(|source| {
            SeedError::Read {
                file: file.clone(),
                source,
            }
        })?;
        Self::parse(&text, path.parent(), &file)
    }

    fn parse(text: &str, base_dir: Option<&Path>, file: &str) -> Result<Seed, SeedError> {
        let mut seed: Seed = if text.trim().is_empty() {
            Seed::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| SeedError::Parse {
                file: file.to_string(),
                message: e.to_string(),
            })?
        };
        seed.base_dir = base_dir.map(Path::to_path_buf);
        seed.source = file.to_string();
        Ok(seed)
    }

    fn invalid(&self, field: impl Into<String>, reason: impl Into<String>) -> SeedError {
        SeedError::Invalid {
            file: self.source.clone(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn content(&self, field: &str, c: &SeedContent) -> Result<Bytes, SeedError> {
        match (&c.content, &c.json, &c.from_file) {
            (Some(text), None, None) => Ok(Bytes::from(text.clone())),
            (None, Some(v), None) => serde_json::to_vec_pretty(v)
                .map(Bytes::from)
                .map_err(|e| self.invalid(field, e.to_string())),
            (None, None, Some(rel)) => {
                let path = match &self.base_dir {
                    Some(dir) => dir.join(rel),
                    None => PathBuf::from(rel),
                };
                local_file::read(&path, MAX_SEED_FILE_BYTES)
                    .map(Bytes::from)
                    .map_err(|source| SeedError::FromFile {
                        file: self.source.clone(),
                        field: field.to_string(),
                        path: path.display().to_string(),
                        source,
                    })
            }
            _ => Err(self.invalid(field, "set exactly one of content, json, from_file")),
        }
    }

    /// Merges the seed into a world (objects with the same name are replaced).
    pub fn apply(&self, world: &mut World) -> Result<(), SeedError> {
        let now = world.now();
        if let Some(id) = self.workspace_id {
            world.workspace_id = id;
        }
        if let Some(t) = &self.timings {
            world.timings = t.clone();
        }
        if let Some(r) = &self.app_reply {
            world.default_reply = r.clone();
        }
        if let Some(g) = &self.ai_gateway {
            for (field, name) in [
                ("payload_table", &g.payload_table),
                ("usage_table", &g.usage_table),
            ] {
                if name.split('.').filter(|p| !p.is_empty()).count() != 3 {
                    return Err(self.invalid(
                        format!("ai_gateway.{field}"),
                        "must be a three-part name catalog.schema.table",
                    ));
                }
                world.tables.insert(name.clone());
            }
            world.observability.payload_table = Some(g.payload_table.clone());
            world.observability.usage_table = Some(g.usage_table.clone());
        }
        world.users.extend(self.users.iter().cloned());
        world.groups.extend(self.groups.iter().cloned());
        for (i, sp) in self.service_principals.iter().enumerate() {
            if uuid::Uuid::parse_str(&sp.application_id).is_err() {
                return Err(self.invalid(
                    format!("service_principals[{i}].application_id"),
                    "must be a UUID",
                ));
            }
            world.add_service_principal(sp.application_id.clone(), sp.display_name.clone());
            for (j, p) in sp.federation_policies.iter().enumerate() {
                if p.issuer.is_empty() || p.subject.is_empty() || p.audiences.is_empty() {
                    return Err(self.invalid(
                        format!("service_principals[{i}].federation_policies[{j}]"),
                        "issuer, subject and at least one audience are required",
                    ));
                }
                world.federation_policies.push(FederationPolicy {
                    principal: sp.application_id.clone(),
                    issuer: p.issuer.clone(),
                    audiences: p.audiences.clone(),
                    subject: p.subject.clone(),
                    subject_claim: p.subject_claim.clone().unwrap_or_else(|| "sub".into()),
                });
            }
            if let Some(secret) = &sp.client_secret {
                world.oauth_clients.insert(
                    sp.application_id.clone(),
                    OAuthClient {
                        secret: secret.clone(),
                        principal: sp.application_id.clone(),
                    },
                );
            }
        }
        for (i, t) in self.tokens.iter().enumerate() {
            let known = world.users.contains(&t.principal)
                || world.service_principals.contains_key(&t.principal);
            if !known {
                return Err(self.invalid(
                    format!("tokens[{i}].principal"),
                    format!(
                        "'{}' is neither a seeded user nor a service principal",
                        t.principal
                    ),
                ));
            }
            world.tokens.insert(
                t.token.clone(),
                TokenInfo {
                    principal: t.principal.clone(),
                    expires_ms: None,
                },
            );
        }
        for (id, title) in &self.genie_spaces {
            world.mcp.genie_spaces.insert(id.clone(), title.clone());
        }
        for (scope, keys) in &self.secret_scopes {
            let held = world.secret_scopes.entry(scope.clone()).or_default();
            for key in keys {
                held.insert(key.clone(), now);
            }
        }
        world
            .database_instances
            .extend(self.database_instances.iter().cloned());
        for (ci, cat) in self.catalogs.iter().enumerate() {
            world.catalogs.insert(cat.name.clone());
            for (si, schema) in cat.schemas.iter().enumerate() {
                let sfull = format!("{}.{}", cat.name, schema.name);
                let at = format!("catalogs[{ci}].schemas[{si}]");
                world.schemas.insert(sfull.clone());
                for t in &schema.tables {
                    world.tables.insert(format!("{sfull}.{t}"));
                }
                for f in &schema.functions {
                    world.functions.insert(format!("{sfull}.{f}"));
                }
                for i in &schema.vector_indexes {
                    world.mcp.vector_indexes.insert(format!("{sfull}.{i}"));
                }
                for (vi, vol) in schema.volumes.iter().enumerate() {
                    let vfull = format!("{sfull}.{}", vol.name);
                    world.volumes.insert(vfull);
                    let root = format!("/Volumes/{}/{}/{}", cat.name, schema.name, vol.name);
                    for dir in &vol.directories {
                        add_volume_dirs(world, &format!("{root}/{}", dir.trim_matches('/')), true);
                    }
                    for (rel, c) in &vol.files {
                        let field = format!("{at}.volumes[{vi}].files.{rel}");
                        let full = format!("{root}/{}", rel.trim_start_matches('/'));
                        if split_volume_path(&full).is_none_or(|(_, r)| r.is_empty()) {
                            return Err(self.invalid(field, "not a file path within the volume"));
                        }
                        let bytes = self.content(&field, c)?;
                        add_volume_dirs(world, &full, false);
                        world.files.insert(
                            full,
                            StoredFile {
                                content: bytes,
                                modified_ms: now,
                            },
                        );
                    }
                }
                for (mi, m) in schema.models.iter().enumerate() {
                    let full = format!("{sfull}.{}", m.name);
                    let model = self.model(m, &format!("{at}.models[{mi}]"), now)?;
                    world.models.insert(full, model);
                }
                for (pi, p) in schema.prompts.iter().enumerate() {
                    let field = format!("{at}.prompts[{pi}]");
                    let mut prompt = Prompt {
                        description: p.description.clone(),
                        created_ms: now,
                        ..Default::default()
                    };
                    for v in &p.versions {
                        let template = serde_json::to_string(&v.template).unwrap_or_default();
                        let mut tags = BTreeMap::new();
                        tags.insert("_mlflow_prompt_type".to_string(), "text".to_string());
                        prompt.versions.insert(
                            v.version,
                            PromptVersion {
                                template,
                                description: v.description.clone(),
                                tags,
                                created_ms: now,
                            },
                        );
                    }
                    for (alias, v) in &p.aliases {
                        if !prompt.versions.contains_key(v) {
                            return Err(self.invalid(
                                format!("{field}.aliases.{alias}"),
                                format!("version {v} is not seeded"),
                            ));
                        }
                        prompt.aliases.insert(alias.clone(), *v);
                    }
                    world.prompts.insert(format!("{sfull}.{}", p.name), prompt);
                }
            }
        }
        for (mi, m) in self.registry_models.iter().enumerate() {
            let model = self.model(m, &format!("registry_models[{mi}]"), now)?;
            world.registry.insert(m.name.clone(), model);
        }
        for (ei, e) in self.experiments.iter().enumerate() {
            let id = match &e.id {
                Some(id) => {
                    world.experiments.insert(
                        id.clone(),
                        Experiment {
                            id: id.clone(),
                            name: e.name.clone(),
                            lifecycle_stage: "active".into(),
                            created_ms: now,
                            updated_ms: now,
                            tags: BTreeMap::new(),
                        },
                    );
                    id.clone()
                }
                None => match world.experiments.values().find(|x| x.name == e.name) {
                    Some(existing) => existing.id.clone(),
                    None => {
                        crate::api::mlflow::create_experiment_in(world, &e.name, BTreeMap::new())
                    }
                },
            };
            for (ri, r) in e.runs.iter().enumerate() {
                let status = r.status.clone().unwrap_or_else(|| "FINISHED".into());
                if !["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
                    .contains(&status.as_str())
                {
                    return Err(self.invalid(
                        format!("experiments[{ei}].runs[{ri}].status"),
                        format!("unknown run status '{status}'"),
                    ));
                }
                if let Some(mi) = r.model_inputs.iter().position(|m| m.trim().is_empty()) {
                    return Err(self.invalid(
                        format!("experiments[{ei}].runs[{ri}].model_inputs[{mi}]"),
                        "a model input names no model id".to_string(),
                    ));
                }
                let model_inputs = r
                    .model_inputs
                    .iter()
                    .map(|id| serde_json::json!({"model_id": id}))
                    .collect();
                let run_name = r.run_name.clone().unwrap_or_else(|| r.run_id.clone());
                let mut tags = r.tags.clone();
                tags.insert("mlflow.runName".into(), run_name.clone());
                let dataset_inputs = r
                    .dataset_inputs
                    .iter()
                    .map(|d| {
                        let mut tags = Vec::new();
                        if let Some(ctx) = &d.context {
                            tags.push(serde_json::json!({"key": "mlflow.data.context", "value": ctx}));
                        }
                        serde_json::json!({
                            "tags": tags,
                            "dataset": {
                                "name": d.name, "digest": d.digest,
                                "source_type": d.source_type.clone().unwrap_or_else(|| "delta".into()),
                                "source": d.source.clone().unwrap_or_else(|| format!("{{\"table_name\": \"{}\"}}", d.name)),
                            }
                        })
                    })
                    .collect();
                world.runs.insert(
                    r.run_id.clone(),
                    Run {
                        run_id: r.run_id.clone(),
                        experiment_id: id.clone(),
                        run_name,
                        user_id: crate::world::ADMIN_PRINCIPAL.into(),
                        status: status.clone(),
                        start_time: now,
                        end_time: (status != "RUNNING").then_some(now),
                        lifecycle_stage: "active".into(),
                        tags,
                        params: r.params.clone(),
                        metrics: r
                            .metrics
                            .iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    Metric {
                                        value: *v,
                                        timestamp: now,
                                        step: 0,
                                    },
                                )
                            })
                            .collect(),
                        dataset_inputs,
                        model_inputs,
                    },
                );
            }
            for (li, m) in e.logged_models.iter().enumerate() {
                let valid = m
                    .model_id
                    .strip_prefix("m-")
                    .is_some_and(|h| h.len() == 32 && h.chars().all(|c| c.is_ascii_hexdigit()));
                if !valid {
                    return Err(self.invalid(
                        format!("experiments[{ei}].logged_models[{li}].model_id"),
                        "must be m-<32 hex digits>",
                    ));
                }
                world.logged_models.insert(
                    m.model_id.clone(),
                    LoggedModel {
                        model_id: m.model_id.clone(),
                        name: m.name.clone(),
                        experiment_id: id.clone(),
                        source_run_id: m.source_run_id.clone(),
                        status: "LOGGED_MODEL_READY".into(),
                        created_ms: now,
                        tags: BTreeMap::new(),
                    },
                );
            }
        }
        for w in &self.warehouses {
            world.warehouses.insert(
                w.id.clone(),
                Warehouse {
                    name: w.name.clone(),
                    creator: crate::world::ADMIN_PRINCIPAL.into(),
                },
            );
            world
                .acls
                .entry(format!("warehouses/{}", w.id))
                .or_default()
                .insert(
                    AclPrincipal::User(crate::world::ADMIN_PRINCIPAL.into()),
                    "IS_OWNER".into(),
                );
        }
        for (i, d) in self.workspace.directories.iter().enumerate() {
            let key = workspace_key(d).ok_or_else(|| {
                self.invalid(
                    format!("workspace.directories[{i}]"),
                    "must be an absolute path",
                )
            })?;
            crate::api::workspace::mkdirs_in(world, &key)
                .map_err(|e| self.invalid(format!("workspace.directories[{i}]"), e.message))?;
        }
        for (path, c) in &self.workspace.files {
            let field = format!("workspace.files.{path}");
            let key = workspace_key(path)
                .ok_or_else(|| self.invalid(&field, "must be an absolute path"))?;
            let bytes = self.content(&field, c)?;
            crate::api::workspace::write_file_in(world, &key, bytes, true)
                .map_err(|e| self.invalid(&field, e.message))?;
        }
        for (i, e) in self.serving_endpoints.iter().enumerate() {
            world.endpoints.remove(&e.name);
            crate::api::serving::create_in(
                world,
                &e.name,
                &e.config,
                Vec::new(),
                crate::world::ADMIN_PRINCIPAL,
                true,
            )
            .map_err(|err| self.invalid(format!("serving_endpoints[{i}]"), err.message))?;
        }
        for (i, a) in self.apps.iter().enumerate() {
            let field = format!("apps[{i}]");
            world.apps.remove(&a.name);
            crate::api::apps::create_app_in(
                world,
                &a.name,
                a.description.clone(),
                a.resources.clone(),
                None,
                crate::world::ADMIN_PRINCIPAL,
                true,
            )
            .map_err(|e| self.invalid(&field, e.message))?;
            let id = world.next_hex();
            let Some(app) = world.apps.get_mut(&a.name) else {
                continue;
            };
            app.compute = Compute::Active;
            if let Some(r) = &a.reply {
                app.reply = r.clone();
            }
            if let Some(d) = &a.deployment {
                app.deployments.push(Deployment {
                    id: id.clone(),
                    source_code_path: d.source_code_path.clone(),
                    mode: "SNAPSHOT".into(),
                    command: d.command.clone(),
                    env_vars: d.env_vars.clone(),
                    state: "SUCCEEDED".into(),
                    message: "App started successfully".into(),
                    creator: crate::world::ADMIN_PRINCIPAL.into(),
                    created_ms: now,
                    updated_ms: now,
                    done_at: now,
                    failure: None,
                });
                app.active_deployment = Some(id);
            }
        }
        for (i, g) in self.grants.iter().enumerate() {
            let field = format!("grants[{i}]");
            let t = g.securable_type.to_ascii_uppercase();
            if !world.securable_exists(&t, &g.full_name) {
                return Err(self.invalid(
                    &field,
                    format!("{} '{}' is not seeded", g.securable_type, g.full_name),
                ));
            }
            let known = world.users.contains(&g.principal)
                || world.groups.contains(&g.principal)
                || world.service_principals.contains_key(&g.principal);
            if !known {
                return Err(
                    self.invalid(&field, format!("principal '{}' is not seeded", g.principal))
                );
            }
            world
                .grants
                .entry(format!("{t}/{}", g.full_name))
                .or_default()
                .entry(g.principal.clone())
                .or_default()
                .extend(g.privileges.iter().map(|p| p.to_ascii_uppercase()));
        }
        for (i, d) in self.denials.iter().enumerate() {
            let pattern = crate::faults::compile_pattern(&d.path)
                .map_err(|e| self.invalid(format!("denials[{i}].path"), e))?;
            world
                .denials
                .entry(d.principal.clone())
                .or_default()
                .push(Denial {
                    method: d.method.clone(),
                    pattern,
                    source: d.path.clone(),
                });
        }
        Ok(())
    }

    fn model(&self, m: &SeedModel, field: &str, now: i64) -> Result<Model, SeedError> {
        let mut model = Model {
            owner: m
                .owner
                .clone()
                .unwrap_or_else(|| crate::world::ADMIN_PRINCIPAL.into()),
            comment: m.comment.clone(),
            created_ms: now,
            updated_ms: now,
            ..Default::default()
        };
        for (vi, v) in m.versions.iter().enumerate() {
            if v.version < 1 {
                return Err(self.invalid(
                    format!("{field}.versions[{vi}].version"),
                    "must be at least 1",
                ));
            }
            if !["READY", "PENDING_REGISTRATION", "FAILED_REGISTRATION"]
                .contains(&v.status.as_str())
            {
                return Err(self.invalid(
                    format!("{field}.versions[{vi}].status"),
                    format!("unknown status '{}'", v.status),
                ));
            }
            model.versions.insert(
                v.version,
                ModelVersion {
                    status: v.status.clone(),
                    run_id: v.run_id.clone(),
                    model_id: v.model_id.clone(),
                    source: v.source.clone().unwrap_or_else(|| match &v.model_id {
                        Some(id) => format!("models:/{id}"),
                        None => format!("dbfs:/models/{}/{}", m.name, v.version),
                    }),
                    comment: v.comment.clone(),
                    created_ms: now,
                    tags: v.tags.clone(),
                },
            );
        }
        for (alias, v) in &m.aliases {
            if !model.versions.contains_key(v) {
                return Err(self.invalid(
                    format!("{field}.aliases.{alias}"),
                    format!("version {v} is not seeded"),
                ));
            }
            model.aliases.insert(alias.clone(), *v);
        }
        Ok(model)
    }
}

/// Records the directories above a volume path (and the path itself when `include_self`).
fn add_volume_dirs(world: &mut World, full: &str, include_self: bool) {
    let mut cur = if include_self {
        Some(full.to_string())
    } else {
        full.rsplit_once('/').map(|(p, _)| p.to_string())
    };
    while let Some(p) = cur {
        match split_volume_path(&p) {
            Some((_, rel)) if !rel.is_empty() => {
                cur = p.rsplit_once('/').map(|(parent, _)| parent.to_string());
                world.dirs.insert(p);
            }
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimClock;

    const VOLUME_FILE: &str = "catalogs[0].schemas[0].volumes[0].files.v7/decision.md";

    fn seed_with_from_file(dir: &Path, rel: &str) -> PathBuf {
        let seed = dir.join("seed.yaml");
        std::fs::write(
            &seed,
            format!(
                "catalogs:\n  - name: main\n    schemas:\n      - name: agents\n        volumes:\n          - name: signoffs\n            files:\n              v7/decision.md: {{from_file: {rel}}}\n"
            ),
        )
        .unwrap();
        seed
    }

    fn apply_seed(path: &Path) -> Result<World, SeedError> {
        let mut world = World::new(SimClock::new(0.0), "http://sim".into());
        Seed::from_yaml_file(path)?.apply(&mut world)?;
        Ok(world)
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("seed-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn from_file_reads_a_regular_file() {
        let dir = temp_dir("regular");
        std::fs::write(dir.join("decision.md"), "---\nversion: 7\n---\n").unwrap();
        assert!(apply_seed(&seed_with_from_file(&dir, "decision.md")).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn from_file_naming_a_device_is_refused_with_the_seed_file_and_field() {
        let dir = temp_dir("device");
        let seed = seed_with_from_file(&dir, "/dev/zero");
        let started = std::time::Instant::now();
        let err = apply_seed(&seed).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(matches!(err, SeedError::FromFile { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            format!(
                "{}: {VOLUME_FILE}: cannot read /dev/zero: not a regular file (a character device)",
                seed.display()
            )
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn from_file_naming_a_fifo_is_refused_at_once() {
        let dir = temp_dir("fifo");
        let fifo = dir.join("pipe.md");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let started = std::time::Instant::now();
        let err = apply_seed(&seed_with_from_file(&dir, "pipe.md")).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let text = err.to_string();
        assert!(text.contains(VOLUME_FILE), "{text}");
        assert!(text.ends_with("not a regular file (a FIFO)"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn from_file_larger_than_the_cap_is_refused() {
        let dir = temp_dir("large");
        let big = std::fs::File::create(dir.join("big.md")).unwrap();
        big.set_len(MAX_SEED_FILE_BYTES + 1).unwrap();
        let err = apply_seed(&seed_with_from_file(&dir, "big.md")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(VOLUME_FILE), "{text}");
        assert!(text.ends_with("larger than 64 MiB"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_runs_model_inputs_are_served_and_an_empty_one_is_refused() {
        let mut world = World::new(SimClock::new(0.0), "http://sim".into());
        Seed::from_yaml_str(
            "experiments:\n  - name: /Shared/eval\n    runs:\n      - run_id: r1\n        model_inputs: [m-1]\n",
            None,
        )
        .unwrap()
        .apply(&mut world)
        .unwrap();
        assert_eq!(
            world.runs["r1"].model_inputs,
            vec![serde_json::json!({"model_id": "m-1"})]
        );
        let err = Seed::from_yaml_str(
            "experiments:\n  - name: /Shared/eval\n    runs:\n      - run_id: r2\n        model_inputs: [m-1, ' ']\n",
            None,
        )
        .unwrap()
        .apply(&mut world)
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("experiments[0].runs[0].model_inputs[1]")
                && text.contains("a model input names no model id"),
            "{text}"
        );
    }

    #[test]
    fn a_seed_that_is_a_directory_is_refused() {
        let dir = temp_dir("dir");
        let err = apply_seed(&dir).unwrap_err();
        assert!(matches!(err, SeedError::Read { .. }), "{err}");
        assert!(
            err.to_string()
                .ends_with("cannot read: not a regular file (a directory)"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
