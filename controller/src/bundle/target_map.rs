//! A bundle target as a ReleaseTarget: the workspace host from `workspace.host`, the catalog and
//! schema from the variables that name them, the AI gateway from the gateway variables (or the
//! app's `LLM_GATEWAY_*` / `MCP_GATEWAY_BASE_URL` environment), the app environment from a
//! variable or the target's name. What the bundle cannot say (the credentials Secret, the
//! deployment experiment when no experiment resource names one) gets a placeholder and a `# TODO`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Imported, Unmapped, k8s_name};

/// Variable names read as the catalog, schema, prompt schema and gateway settings, in order of
/// preference.
pub(super) const CATALOG_VARS: &[&str] = &["catalog", "catalog_name", "uc_catalog"];
pub(super) const SCHEMA_VARS: &[&str] = &["schema", "schema_name", "uc_schema"];
const AGENT_SCHEMA_VARS: &[&str] = &["agent_schema", "prompt_schema"];
const LLM_URL_VARS: &[&str] = &["llm_gateway_base_url", "llm_base_url", "gateway_url"];
const LLM_MODEL_VARS: &[&str] = &["llm_gateway_model", "llm_model", "gateway_model"];
const MCP_URL_VARS: &[&str] = &["mcp_gateway_base_url", "mcp_base_url", "mcp_gateway_url"];
const ENV_VARS: &[&str] = &["app_environment", "environment"];
const EXPERIMENT_VARS: &[&str] = &[
    "deployment_experiment",
    "experiment_path",
    "experiment_name",
];

/// What the target map reads besides the configuration: gateway settings taken from an app's
/// environment (`LLM_GATEWAY_BASE_URL`...), which a release may not set itself.
#[derive(Debug, Default, Clone)]
pub struct GatewayFromApps {
    /// `LLM_GATEWAY_BASE_URL`.
    pub llm_base_url: Option<String>,
    /// `LLM_GATEWAY_MODEL`.
    pub llm_model: Option<String>,
    /// `MCP_GATEWAY_BASE_URL`.
    pub mcp_base_url: Option<String>,
    /// `APP_ENVIRONMENT`.
    pub app_environment: Option<String>,
}

pub(super) fn first_var(vars: &BTreeMap<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| match vars.get(*n)? {
        Value::String(s) if !s.is_empty() && !s.contains("${") => Some(s.clone()),
        _ => None,
    })
}

/// The ReleaseTarget of bundle target `target`, from its resolved configuration.
pub fn release_target(
    target: &str,
    config: &Value,
    vars: &BTreeMap<String, Value>,
    from_apps: &GatewayFromApps,
    unmapped: &mut Vec<Unmapped>,
) -> Imported {
    let name = k8s_name(target);
    let mut comments = BTreeMap::new();
    let mut todo = |field: &str, text: &str| {
        comments.insert(field.to_string(), format!("TODO: {text}"));
    };
    let bundle_name = config
        .get("bundle")
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("agent")
        .to_string();

    let host = match config
        .get("workspace")
        .and_then(|w| w.get("host"))
        .and_then(Value::as_str)
    {
        Some(h) if !h.contains("${") => h.trim_end_matches('/').to_string(),
        _ => {
            todo(
                "spec.host",
                &format!(
                    "targets.{target}.workspace.host is not set in the bundle (a profile or DATABRICKS_HOST gives it at deploy time); write the workspace URL"
                ),
            );
            "https://workspace-host.cloud.databricks.com".to_string()
        }
    };
    todo(
        "spec.credentials",
        "create this Secret in the target's namespace: key `token` (a PAT) or `client_id` and `client_secret` (OAuth M2M); or use workload identity federation (docs/ci.md)",
    );

    let catalog = first_var(vars, CATALOG_VARS).unwrap_or_else(|| {
        todo("spec.catalog", "no catalog variable in the bundle (catalog, catalog_name); the Unity Catalog catalog of the signoffs, eval runs and plans");
        "main".into()
    });
    let schema = first_var(vars, SCHEMA_VARS).unwrap_or_else(|| {
        todo("spec.schema", "no schema variable in the bundle (schema, schema_name); the schema of the signoffs, eval runs and plans");
        "agents".into()
    });
    let app_env = first_var(vars, ENV_VARS)
        .or_else(|| from_apps.app_environment.clone())
        .filter(|e| valid_environment(e))
        .unwrap_or_else(|| environment_of(target).to_string());

    let experiment = first_var(vars, EXPERIMENT_VARS)
        .filter(|p| p.starts_with('/'))
        .or_else(|| single_experiment(config))
        .unwrap_or_else(|| {
            todo("spec.experiments.deployment", "the MLflow experiment of the audit runs and the app's traces (MLFLOW_EXPERIMENT_ID); created when missing");
            format!("/Shared/{bundle_name}/{target}/deploy")
        });

    let mut spec = json!({
        "host": host,
        "credentials": {"secretName": format!("{name}-databricks")},
        "catalog": catalog,
        "schema": schema,
        "experiments": {"deployment": experiment},
        "appEnvironment": app_env,
    });
    if let Some(agent_schema) = first_var(vars, AGENT_SCHEMA_VARS) {
        spec["agentSchema"] = json!(agent_schema);
    }
    let mut gateway = serde_json::Map::new();
    let urls = [
        (
            "llmBaseUrl",
            first_var(vars, LLM_URL_VARS).or(from_apps.llm_base_url.clone()),
        ),
        (
            "llmModel",
            first_var(vars, LLM_MODEL_VARS).or(from_apps.llm_model.clone()),
        ),
        (
            "mcpBaseUrl",
            first_var(vars, MCP_URL_VARS).or(from_apps.mcp_base_url.clone()),
        ),
    ];
    for (field, value) in urls {
        let Some(value) = value else { continue };
        if field != "llmModel" && !(value.starts_with("https://") || value.starts_with("http://")) {
            unmapped.push(Unmapped::new(
                target,
                format!("gateway {field}"),
                format!("{value:?} is not an http(s) URL; left out of spec.gateway"),
            ));
            continue;
        }
        gateway.insert(field.into(), json!(value));
    }
    if !gateway.is_empty() {
        spec["gateway"] = Value::Object(gateway);
    }
    if host.starts_with("http://") {
        spec["allowInsecureHttp"] = json!(true);
        todo(
            "spec.allowInsecureHttp",
            "the bundle's host is http://; only a local simulator may be reached that way",
        );
    }
    Imported {
        file_name: format!("releasetarget-{name}.yaml"),
        header: vec![
            format!(
                "ReleaseTarget imported from bundle target {target:?} of bundle {bundle_name:?}."
            ),
            "Fill in every TODO, then `agentrelease validate -f` this folder.".into(),
        ],
        value: json!({
            "apiVersion": "agentops.dev/v1alpha1",
            "kind": "ReleaseTarget",
            "metadata": {"name": name},
            "spec": spec,
        }),
        comments,
    }
}

fn single_experiment(config: &Value) -> Option<String> {
    let experiments = config.get("resources")?.get("experiments")?.as_object()?;
    let mut names = experiments
        .values()
        .filter_map(|e| e.get("name").and_then(Value::as_str))
        .filter(|n| n.starts_with('/') && !n.contains("${"));
    let first = names.next()?;
    names.next().is_none().then(|| first.to_string())
}

fn valid_environment(e: &str) -> bool {
    let mut chars = e.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && e.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The app environment a target's name suggests.
fn environment_of(target: &str) -> &'static str {
    match target.to_ascii_lowercase().as_str() {
        "prod" | "production" | "prd" => "production",
        "staging" | "stage" | "stg" | "test" => "staging",
        _ => "development",
    }
}
