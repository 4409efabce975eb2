//! The bundle keys this importer knows, checked as `databricks bundle validate` checks them: a key
//! the bundle schema does not have is a warning `unknown field: <key>` at the file and line where
//! it is written. The legacy serving shape `served_models` is not in the schema the documents
//! follow (`served_entities` replaces it), so it is reported the same way. Only the parts of the
//! schema the importer reads are checked (the top level, targets, workspace, variables, apps and
//! serving endpoints); the insides of other resources (jobs, pipelines...) are not.

use crate::manifest::Document;

/// One `unknown field` warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    /// The file.
    pub file: String,
    /// 1-based line of the key.
    pub line: u64,
    /// Dotted path of the mapping holding the key.
    pub at: String,
    /// The key.
    pub key: String,
}

impl std::fmt::Display for UnknownField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.file, self.line)?;
        if !self.at.is_empty() {
            write!(f, "{}: ", self.at)?;
        }
        write!(f, "unknown field: {}", self.key)
    }
}

const TOP: &[&str] = &[
    "bundle",
    "include",
    "variables",
    "workspace",
    "resources",
    "targets",
    "environments",
    "artifacts",
    "sync",
    "permissions",
    "presets",
    "run_as",
    "experimental",
    "scripts",
    "python",
];
const BUNDLE: &[&str] = &[
    "name",
    "uuid",
    "compute_id",
    "cluster_id",
    "databricks_cli_version",
    "deployment",
    "git",
    "engine",
];
const WORKSPACE: &[&str] = &[
    "host",
    "profile",
    "auth_type",
    "root_path",
    "file_path",
    "artifact_path",
    "state_path",
    "resource_path",
    "client_id",
    "account_id",
    "azure_client_id",
    "azure_tenant_id",
    "azure_environment",
    "azure_login_app_id",
    "azure_use_msi",
    "azure_workspace_resource_id",
    "google_service_account",
    "experimental_is_unified_host",
    "workspace_id",
];
const VARIABLE: &[&str] = &["description", "default", "lookup", "type"];
const TARGET: &[&str] = &[
    "default",
    "mode",
    "bundle",
    "workspace",
    "variables",
    "resources",
    "artifacts",
    "sync",
    "permissions",
    "presets",
    "run_as",
    "git",
    "compute_id",
    "cluster_id",
];
const RESOURCES: &[&str] = &[
    "apps",
    "jobs",
    "pipelines",
    "models",
    "registered_models",
    "experiments",
    "model_serving_endpoints",
    "schemas",
    "volumes",
    "clusters",
    "dashboards",
    "quality_monitors",
    "secret_scopes",
    "sql_warehouses",
    "database_instances",
    "database_catalogs",
    "synced_database_tables",
    "alerts",
];
const APP: &[&str] = &[
    "name",
    "description",
    "source_code_path",
    "config",
    "resources",
    "permissions",
    "user_api_scopes",
    "budget_policy_id",
    "compute_size",
    "lifecycle",
];
const APP_CONFIG: &[&str] = &["command", "env"];
const APP_ENV: &[&str] = &["name", "value", "valueFrom", "value_from"];
const APP_RESOURCE: &[&str] = &[
    "name",
    "description",
    "sql_warehouse",
    "serving_endpoint",
    "secret",
    "job",
    "experiment",
    "uc_securable",
    "database",
    "genie_space",
];
const PERMISSION: &[&str] = &["level", "user_name", "group_name", "service_principal_name"];
const ENDPOINT: &[&str] = &[
    "name",
    "description",
    "config",
    "permissions",
    "rate_limits",
    "tags",
    "ai_gateway",
    "route_optimized",
    "budget_policy_id",
    "email_notifications",
    "lifecycle",
];
const ENDPOINT_CONFIG: &[&str] = &["served_entities", "traffic_config", "auto_capture_config"];
const SERVED_ENTITY: &[&str] = &[
    "name",
    "entity_name",
    "entity_version",
    "workload_size",
    "workload_type",
    "scale_to_zero_enabled",
    "environment_vars",
    "external_model",
    "instance_profile_arn",
    "min_provisioned_throughput",
    "max_provisioned_throughput",
    "provisioned_model_units",
    "burst_scaling_enabled",
];

/// The known keys of the mapping at a normalised path (map keys as `*`, list items as `[]`), or
/// None when the mapping is not checked.
fn known(pattern: &str) -> Option<&'static [&'static str]> {
    // A target's overrides have the top level's shape.
    let pattern = pattern.strip_prefix("targets.*.").unwrap_or(pattern);
    Some(match pattern {
        "" => TOP,
        "bundle" => BUNDLE,
        "workspace" => WORKSPACE,
        "variables.*" => VARIABLE,
        "targets.*" => TARGET,
        "resources" => RESOURCES,
        "resources.apps.*" => APP,
        "resources.apps.*.config" => APP_CONFIG,
        "resources.apps.*.config.env[]" => APP_ENV,
        "resources.apps.*.resources[]" | "resources.apps.*.config.resources[]" => APP_RESOURCE,
        "resources.apps.*.permissions[]" | "resources.model_serving_endpoints.*.permissions[]" => {
            PERMISSION
        }
        "resources.model_serving_endpoints.*" => ENDPOINT,
        "resources.model_serving_endpoints.*.config" => ENDPOINT_CONFIG,
        "resources.model_serving_endpoints.*.config.served_entities[]" => SERVED_ENTITY,
        _ => return None,
    })
}

/// Whether the children of the mapping at `pattern` are named by the user (so their keys become `*`).
fn keyed(pattern: &str) -> bool {
    let pattern = pattern.strip_prefix("targets.*.").unwrap_or(pattern);
    matches!(pattern, "variables" | "targets")
        || (pattern.starts_with("resources.") && !pattern[10..].contains(['.', '[']))
}

/// The unknown keys of one bundle file.
pub fn unknown_fields(doc: &Document) -> Vec<UnknownField> {
    let mut out = Vec::new();
    walk(doc, &doc.value, "", "", &mut out);
    out.sort_by_key(|u| u.line);
    out
}

fn walk(
    doc: &Document,
    value: &serde_json::Value,
    path: &str,
    pattern: &str,
    out: &mut Vec<UnknownField>,
) {
    match value {
        serde_json::Value::Object(map) => {
            let known = known(pattern);
            let keyed = keyed(pattern);
            for (k, v) in map {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if let Some(known) = known
                    && !known.contains(&k.as_str())
                {
                    out.push(UnknownField {
                        file: doc.file.display().to_string(),
                        line: doc.line_of(&child),
                        at: path.to_string(),
                        key: k.clone(),
                    });
                    continue;
                }
                let segment = if keyed { "*" } else { k.as_str() };
                let child_pattern = if pattern.is_empty() {
                    segment.to_string()
                } else {
                    format!("{pattern}.{segment}")
                };
                walk(doc, v, &child, &child_pattern, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(
                    doc,
                    item,
                    &format!("{path}[{i}]"),
                    &format!("{pattern}[]"),
                    out,
                );
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn served_models_and_typos_are_unknown_fields_at_their_line() {
        let text = "\
bundle:
  name: x
resources:
  model_serving_endpoints:
    ep:
      name: ep
      config:
        served_models:
          - model_name: m
  apps:
    a:
      name: a
      sourcecode_path: ./app
targets:
  prod:
    workspace:
      hots: https://x
";
        let doc = crate::manifest::parse_str(Path::new("databricks.yml"), text)
            .unwrap()
            .remove(0);
        let found: Vec<String> = unknown_fields(&doc)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "databricks.yml:8: resources.model_serving_endpoints.ep.config: unknown field: served_models",
                "databricks.yml:13: resources.apps.a: unknown field: sourcecode_path",
                "databricks.yml:17: targets.prod.workspace: unknown field: hots",
            ]
        );
    }
}
