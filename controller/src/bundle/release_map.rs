//! A bundle app resource as an AgentRelease skeleton: the app's name, description, source folder,
//! `config.command`, `config.env` and resources, and its permissions. What a bundle never says —
//! N, the registered model and version, its logged model id, the evaluation thresholds — gets a
//! placeholder that validates and a `# TODO`, so the folder passes `agentrelease validate` as
//! written and a reviewer sees what to fill in. The placeholders never release anything by
//! themselves: the gates look for the artifacts of N=1 and the model version, and block when
//! they are not there.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::target_map::{CATALOG_VARS, GatewayFromApps, SCHEMA_VARS, first_var};
use super::{Imported, Unmapped, k8s_name};

/// Environment variables the operator sets from the release and its target; an app's own value is
/// not carried over (the gateway ones move to the ReleaseTarget).
const OPERATOR_ENV: &[&str] = &[
    "MLFLOW_ACTIVE_MODEL_ID",
    "ENABLE_MLFLOW_TRACING",
    "MLFLOW_EXPERIMENT_ID",
    "APP_ENVIRONMENT",
    "LLM_GATEWAY_BASE_URL",
    "LLM_GATEWAY_MODEL",
    "MCP_GATEWAY_BASE_URL",
];

/// The annotation naming the app's source folder in the repository, relative to the manifest;
/// `agentrelease validate` reads its `app.yaml` from there.
pub const SOURCE_DIR_ANNOTATION: &str = "agentops.dev/source-dir";

/// Where the inputs of one app are.
pub struct AppInput<'a> {
    /// The bundle target.
    pub target: &'a str,
    /// The app's key under `resources.apps`.
    pub key: &'a str,
    /// The app, resolved for the target.
    pub app: &'a Value,
    /// The resolved configuration.
    pub config: &'a Value,
    /// The variables' values for the target.
    pub vars: &'a BTreeMap<String, Value>,
    /// The bundle's root directory.
    pub bundle_root: &'a Path,
    /// Where the manifests are written (for the relative source folder).
    pub output_dir: Option<&'a Path>,
}

/// The AgentRelease of one app, and the gateway settings its environment carried.
pub fn release(input: &AppInput<'_>, unmapped: &mut Vec<Unmapped>) -> (Imported, GatewayFromApps) {
    let AppInput {
        target,
        key,
        app,
        config,
        ..
    } = *input;
    let mut comments = BTreeMap::new();
    let mut from_apps = GatewayFromApps::default();
    let here = format!("resources.apps.{key}");
    let app_name = app
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(key)
        .to_string();
    // An app named per target (`agent-${bundle.target}`) keeps its name.
    let name = if app_name.ends_with(&format!("-{target}")) {
        k8s_name(&app_name)
    } else {
        k8s_name(&format!("{app_name}-{target}"))
    };
    // The registered model named like the app, or the only one of a bundle with one app.
    let single_app = config
        .get("resources")
        .and_then(|r| r.get("apps"))
        .and_then(Value::as_object)
        .is_some_and(|a| a.len() == 1);
    let models = registered_models(config);
    let bundle_model = models
        .iter()
        .find(|(short, _)| short == key || *short == app_name)
        .or(if single_app && models.len() == 1 {
            models.first()
        } else {
            None
        })
        .map(|(_, full)| full.clone());
    let (catalog, schema) = catalog_schema(input.vars);
    let model_name = bundle_model
        .clone()
        .unwrap_or_else(|| format!("{catalog}.{schema}.{}", key.replace('-', "_")));

    let mut app_spec = Map::new();
    app_spec.insert("name".into(), json!(app_name));
    if let Some(d) = app.get("description").and_then(Value::as_str) {
        app_spec.insert("description".into(), json!(d));
    }
    let (source, local) = source_paths(input);
    if source.contains("${") || !source.starts_with('/') {
        comments.insert(
            "spec.app.sourceCodePath".into(),
            "TODO: the workspace folder `bundle deploy` uploads the source to; the bundle puts it under the deploying user's home unless workspace.root_path or file_path is set".into(),
        );
    }
    let source_value = if source.starts_with('/') && !source.contains("${") {
        source
    } else {
        format!(
            "/Workspace/Shared/.bundle/{}/{target}/files/{}",
            bundle_name(config),
            local_rel(input)
        )
    };
    app_spec.insert("sourceCodePath".into(), json!(source_value));

    let cfg = app.get("config");
    match cfg.and_then(|c| c.get("command")) {
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            app_spec.insert("command".into(), Value::Array(items.clone()));
        }
        Some(Value::String(s)) => {
            let words: Vec<Value> = s.split_whitespace().map(|w| json!(w)).collect();
            unmapped.push(Unmapped::new(target, format!("{here}.config.command"), "a string command was split on spaces (the release's command is not run through a shell); check it"));
            app_spec.insert("command".into(), Value::Array(words));
        }
        Some(other) => unmapped.push(Unmapped::new(
            target,
            format!("{here}.config.command"),
            format!("not a list of strings: {other}"),
        )),
        None => {}
    }
    let resources = app
        .get("resources")
        .or_else(|| cfg.and_then(|c| c.get("resources")));
    let resources = app_resources(resources, &here, target, unmapped);
    let keys: Vec<&str> = resources
        .iter()
        .filter_map(|r| r.get("name").and_then(Value::as_str))
        .collect();
    let env = env_entries(cfg, &here, target, &keys, &mut from_apps, unmapped);
    if !env.is_empty() {
        app_spec.insert("env".into(), Value::Array(env));
    }
    if !resources.is_empty() {
        app_spec.insert("resources".into(), Value::Array(resources));
    }
    for field in [
        "user_api_scopes",
        "budget_policy_id",
        "compute_size",
        "lifecycle",
    ] {
        if app.get(field).is_some() {
            unmapped.push(Unmapped::new(
                target,
                format!("{here}.{field}"),
                "AgentRelease has no such field; set it on the app in the workspace",
            ));
        }
    }
    let permissions = permissions(app.get("permissions"), &here, target, unmapped);

    comments.insert("spec.version".into(), "TODO: N, the versioned artifact set (signoffs/v<N>, eval_runs/v<N>, candidate_v<N>); the bundle has none".into());
    comments.insert("spec.model.name".into(), if bundle_model.is_some() { "from the bundle's registered_models resource".into() } else { "TODO: the registered model the agent is logged as (catalog.schema.model); a guess from the app's name".into() });
    comments.insert(
        "spec.model.version".into(),
        "TODO: the model version to release".into(),
    );
    comments.insert("spec.model.loggedModelId".into(), "TODO: the version's logged model id (m-...), the app's MLFLOW_ACTIVE_MODEL_ID; a wrong one blocks (ModelIdMismatch)".into());
    comments.insert(
        "spec.model.alias".into(),
        "TODO: check the alias the release moves".into(),
    );
    comments.insert("spec.evaluation".into(), "TODO: evaluation thresholds of the agent; a placeholder (the bundle has none, and at least one is required)".into());

    let mut metadata =
        json!({"name": name, "labels": {"app.kubernetes.io/name": k8s_name(&app_name)}});
    if let Some(dir) = local {
        metadata["annotations"] = json!({SOURCE_DIR_ANNOTATION: dir});
    }
    let mut spec = json!({
        "targetRef": {"name": k8s_name(target)},
        "version": 1,
        "model": {
            "name": model_name,
            "version": 1,
            "alias": "champion",
            "loggedModelId": format!("m-{}", "0".repeat(32)),
        },
        "evaluation": {"thresholds": [{"metric": "answer_correctness", "min": 0.85}]},
        "app": Value::Object(app_spec),
    });
    if !permissions.is_empty() {
        spec["permissions"] = Value::Array(permissions);
    }
    let imported = Imported {
        file_name: format!("agentrelease-{name}.yaml"),
        header: vec![
            format!("AgentRelease skeleton imported from app {key:?} of bundle target {target:?}."),
            "Fill in every TODO (N, the model version, the thresholds), then `agentrelease validate -f` this folder.".into(),
        ],
        value: json!({
            "apiVersion": "agentops.dev/v1alpha1",
            "kind": "AgentRelease",
            "metadata": metadata,
            "spec": spec,
        }),
        comments,
    };
    (imported, from_apps)
}

fn bundle_name(config: &Value) -> String {
    config
        .get("bundle")
        .and_then(|b| b.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("agent")
        .to_string()
}

fn catalog_schema(vars: &BTreeMap<String, Value>) -> (String, String) {
    (
        first_var(vars, CATALOG_VARS).unwrap_or_else(|| "main".into()),
        first_var(vars, SCHEMA_VARS).unwrap_or_else(|| "agents".into()),
    )
}

/// The registered model resources, as (name, `catalog.schema.name`).
fn registered_models(config: &Value) -> Vec<(String, String)> {
    let Some(models) = config
        .get("resources")
        .and_then(|r| r.get("registered_models"))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    models
        .values()
        .filter_map(|m| {
            let part = |f: &str| {
                m.get(f)
                    .and_then(Value::as_str)
                    .filter(|s| !s.contains("${") && !s.is_empty())
            };
            let name = part("name")?;
            Some((
                name.to_string(),
                format!("{}.{}.{name}", part("catalog_name")?, part("schema_name")?),
            ))
        })
        .collect()
}

/// The app's workspace source folder (as the bundle deploys it) and its local folder relative to
/// the output directory, when it is a local path.
fn source_paths(input: &AppInput<'_>) -> (String, Option<String>) {
    let raw = input
        .app
        .get("source_code_path")
        .and_then(Value::as_str)
        .unwrap_or(".");
    if raw.starts_with("/Workspace/") {
        return (raw.to_string(), None);
    }
    let rel = local_rel(input);
    let ws_str = |f: &str| {
        input
            .config
            .get("workspace")
            .and_then(|w| w.get(f))
            .and_then(Value::as_str)
            .filter(|v| !v.contains("${"))
            .map(str::to_string)
    };
    let base = ws_str("file_path").or_else(|| ws_str("root_path").map(|r| format!("{r}/files")));
    let workspace = match base {
        Some(b) if rel.is_empty() => b,
        Some(b) => format!("{b}/{rel}"),
        None => "${workspace.file_path}".to_string(),
    };
    let local_dir = input.bundle_root.join(&rel);
    let shown = match input.output_dir {
        Some(out) => relative(out, &local_dir),
        None => local_dir.display().to_string(),
    };
    (workspace, Some(shown))
}

/// The app's source folder relative to the bundle root, `/`-separated, without `./`.
fn local_rel(input: &AppInput<'_>) -> String {
    let raw = input
        .app
        .get("source_code_path")
        .and_then(Value::as_str)
        .unwrap_or(".");
    raw.split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect::<Vec<_>>()
        .join("/")
}

/// `to` relative to `from` (both taken as given, made absolute against the current directory).
fn relative(from: &Path, to: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (from, to) = (abs(from), abs(to));
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_string(), a.len() - common).collect();
    parts.extend(
        b[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

fn env_entries(
    cfg: Option<&Value>,
    here: &str,
    target: &str,
    resource_keys: &[&str],
    from_apps: &mut GatewayFromApps,
    unmapped: &mut Vec<Unmapped>,
) -> Vec<Value> {
    let Some(items) = cfg.and_then(|c| c.get("env")).and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("{here}.config.env[{i}]");
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            unmapped.push(Unmapped::new(target, field, "an env entry without a name"));
            continue;
        };
        let value = item.get("value").map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        let value_from = item
            .get("valueFrom")
            .or(item.get("value_from"))
            .and_then(Value::as_str);
        if OPERATOR_ENV.contains(&name) {
            let slot = match name {
                "LLM_GATEWAY_BASE_URL" => Some(&mut from_apps.llm_base_url),
                "LLM_GATEWAY_MODEL" => Some(&mut from_apps.llm_model),
                "MCP_GATEWAY_BASE_URL" => Some(&mut from_apps.mcp_base_url),
                "APP_ENVIRONMENT" => Some(&mut from_apps.app_environment),
                _ => None,
            };
            let why = match slot {
                Some(slot) => match value.clone().filter(|v| !v.contains("${")) {
                    // Carried over: the ReleaseTarget sets it.
                    Some(v) => {
                        *slot = Some(v);
                        continue;
                    }
                    None => {
                        "set by the operator from the ReleaseTarget, and its value here is not resolved; set it on the ReleaseTarget"
                    }
                },
                None => "set by the operator from the release; not carried over",
            };
            unmapped.push(Unmapped::new(target, format!("{field} ({name})"), why));
            continue;
        }
        match (value, value_from) {
            (Some(v), None) if v.contains("${") => unmapped.push(Unmapped::new(
                target,
                format!("{field} ({name})"),
                "its value is known only when the bundle is deployed; left out",
            )),
            (Some(v), None) => out.push(json!({"name": name, "value": v})),
            (None, Some(r)) if !resource_keys.contains(&r) => unmapped.push(Unmapped::new(
                target,
                format!("{field} ({name})"),
                format!("valueFrom names resource {r:?}, which was not imported; left out"),
            )),
            (None, Some(r)) => out.push(json!({"name": name, "valueFrom": r})),
            _ => unmapped.push(Unmapped::new(
                target,
                format!("{field} ({name})"),
                "needs exactly one of value and valueFrom",
            )),
        }
    }
    out
}

/// Bundle app resources (snake_case, as the Apps API) as AgentRelease app resources.
fn app_resources(
    items: Option<&Value>,
    here: &str,
    target: &str,
    unmapped: &mut Vec<Unmapped>,
) -> Vec<Value> {
    let Some(items) = items.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("{here}.resources[{i}]");
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            unmapped.push(Unmapped::new(target, field, "a resource without a name"));
            continue;
        };
        let s = |v: &Value, f: &str| {
            v.get(f)
                .and_then(Value::as_str)
                .filter(|x| !x.contains("${"))
                .map(str::to_string)
        };
        let mapped = if let Some(w) = item.get("sql_warehouse") {
            s(w, "id")
                .zip(s(w, "permission"))
                .map(|(id, p)| json!({"sqlWarehouse": {"id": id, "permission": p}}))
        } else if let Some(e) = item.get("serving_endpoint") {
            s(e, "name")
                .zip(s(e, "permission"))
                .map(|(n, p)| json!({"servingEndpoint": {"name": n, "permission": p}}))
        } else if let Some(x) = item.get("secret") {
            match (s(x, "scope"), s(x, "key"), s(x, "permission")) {
                (Some(scope), Some(key), Some(p)) => {
                    Some(json!({"secret": {"scope": scope, "key": key, "permission": p}}))
                }
                _ => None,
            }
        } else if let Some(x) = item.get("experiment") {
            s(x, "experiment_id")
                .zip(s(x, "permission"))
                .map(|(id, p)| json!({"experiment": {"experimentId": id, "permission": p}}))
        } else if let Some(x) = item.get("uc_securable") {
            match (
                s(x, "securable_full_name"),
                s(x, "securable_type"),
                s(x, "permission"),
            ) {
                (Some(n), Some(t), Some(p)) => Some(
                    json!({"ucSecurable": {"securableFullName": n, "securableType": t, "permission": p}}),
                ),
                _ => None,
            }
        } else if let Some(x) = item.get("database") {
            match (
                s(x, "instance_name"),
                s(x, "database_name"),
                s(x, "permission"),
            ) {
                (Some(i), Some(d), Some(p)) => Some(
                    json!({"database": {"instanceName": i, "databaseName": d, "permission": p}}),
                ),
                _ => None,
            }
        } else {
            let kind = item
                .as_object()
                .and_then(|o| {
                    o.keys()
                        .find(|k| !["name", "description"].contains(&k.as_str()))
                        .cloned()
                })
                .unwrap_or_default();
            unmapped.push(Unmapped::new(target, format!("{field} ({name})"), format!("resource kind {kind:?} has no AgentRelease equivalent (serving_endpoint, sql_warehouse, secret, experiment, uc_securable, database)")));
            continue;
        };
        match mapped {
            Some(Value::Object(mut m)) => {
                m.insert("name".into(), json!(name));
                if let Some(d) = item.get("description").and_then(Value::as_str) {
                    m.insert("description".into(), json!(d));
                }
                out.push(Value::Object(m));
            }
            _ => unmapped.push(Unmapped::new(target, format!("{field} ({name})"), "incomplete: a required field is missing or is not a plain string (an unresolved ${...}?)")),
        }
    }
    out
}

fn permissions(
    items: Option<&Value>,
    here: &str,
    target: &str,
    unmapped: &mut Vec<Unmapped>,
) -> Vec<Value> {
    let Some(items) = items.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, p) in items.iter().enumerate() {
        let field = format!("{here}.permissions[{i}]");
        let level = p.get("level").and_then(Value::as_str);
        let principal = [
            ("user_name", "User"),
            ("group_name", "Group"),
            ("service_principal_name", "ServicePrincipal"),
        ]
        .iter()
        .find_map(|(f, t)| {
            p.get(*f)
                .and_then(Value::as_str)
                .map(|n| json!({"type": t, "name": n}))
        });
        match (level, principal) {
            (Some(l @ ("CAN_USE" | "CAN_MANAGE")), Some(principal)) => out.push(json!({"principal": principal, "object": {"type": "App"}, "level": l})),
            (l, _) => unmapped.push(Unmapped::new(target, field, format!("permission level {} or its principal is not one an AgentRelease sets on an app (CAN_USE, CAN_MANAGE to a user, group or service principal)", l.unwrap_or("(none)")))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_resource_is_carried_over() {
        let items = json!([{"name": "state", "database": {"instance_name": "lakebase", "database_name": "agent", "permission": "CAN_CONNECT_AND_CREATE"}}]);
        let mut unmapped = Vec::new();
        let out = app_resources(Some(&items), "resources.apps.bot", "prod", &mut unmapped);
        assert!(unmapped.is_empty());
        assert_eq!(
            out,
            vec![
                json!({"name": "state", "database": {"instanceName": "lakebase", "databaseName": "agent", "permission": "CAN_CONNECT_AND_CREATE"}})
            ]
        );
    }
}
