//! The declared state of the workspace, computed from the release and its target (pure): the app
//! deployment's environment, the serving endpoint's config, the ACL entries and the grants.

use std::collections::BTreeMap;

use agentrelease_api::release::{PermissionObjectType, PrincipalRef, PrincipalType};

use super::context::ReleaseContext;
use super::workspace::{EndpointConfig, EnvEntry, Principal, RouteConfig, ServedEntityConfig};

/// A principal as declared: fixed, or the app's service principal (known once the app exists).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeclaredPrincipal {
    /// A named principal.
    Fixed(Principal),
    /// The service principal of the release's app.
    AppServicePrincipal,
}

impl DeclaredPrincipal {
    /// From the API type.
    pub fn from_ref(p: &PrincipalRef) -> Self {
        let name = p.name.clone().unwrap_or_default();
        match p.type_ {
            PrincipalType::User => DeclaredPrincipal::Fixed(Principal::User(name)),
            PrincipalType::Group => DeclaredPrincipal::Fixed(Principal::Group(name)),
            PrincipalType::ServicePrincipal => {
                DeclaredPrincipal::Fixed(Principal::ServicePrincipal(name))
            }
            PrincipalType::AppServicePrincipal => DeclaredPrincipal::AppServicePrincipal,
        }
    }

    /// Resolves it with the app's service principal application id, when known.
    pub fn resolve(&self, app_sp: Option<&str>) -> Option<Principal> {
        match self {
            DeclaredPrincipal::Fixed(p) => Some(p.clone()),
            DeclaredPrincipal::AppServicePrincipal => {
                app_sp.map(|id| Principal::ServicePrincipal(id.to_string()))
            }
        }
    }

    /// How it reads in a plan.
    pub fn describe(&self) -> String {
        match self {
            DeclaredPrincipal::Fixed(p) => p.to_string(),
            DeclaredPrincipal::AppServicePrincipal => "the app's service principal".to_string(),
        }
    }
}

/// An object of a declared ACL entry, by name (endpoints are resolved to their id later).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeclaredObject {
    /// The kind.
    pub kind: PermissionObjectType,
    /// Endpoint name, app name or warehouse id.
    pub name: String,
}

impl DeclaredObject {
    /// How it reads.
    pub fn describe(&self) -> String {
        match self.kind {
            PermissionObjectType::ServingEndpoint => format!("serving endpoint {}", self.name),
            PermissionObjectType::App => format!("app {}", self.name),
            PermissionObjectType::SqlWarehouse => format!("SQL warehouse {}", self.name),
        }
    }
}

/// A declared ACL entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredAcl {
    /// The object.
    pub object: DeclaredObject,
    /// The principal.
    pub principal: DeclaredPrincipal,
    /// The level.
    pub level: String,
}

/// A declared grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredGrant {
    /// Securable type as the grants API spells it.
    pub securable_type: String,
    /// Full name.
    pub full_name: String,
    /// The principal.
    pub principal: DeclaredPrincipal,
    /// Privileges.
    pub privileges: Vec<String>,
}

/// The environment of the app deployment, sorted by name: the operator's variables and the
/// release's own. `model_id` is the promoted version's logged model (checked by the preflight);
/// `experiment_id` is the deployment experiment's id, when known.
pub fn app_env(
    ctx: &ReleaseContext,
    model_id: Option<&str>,
    experiment_id: Option<&str>,
) -> Vec<EnvEntry> {
    let literal = |name: &str, value: &str| EnvEntry {
        name: name.to_string(),
        value: Some(value.to_string()),
        value_from: None,
    };
    let mut env = Vec::new();
    if let Some(id) = model_id {
        env.push(literal("MLFLOW_ACTIVE_MODEL_ID", id));
    }
    env.push(literal("ENABLE_MLFLOW_TRACING", "true"));
    if let Some(id) = experiment_id {
        env.push(literal("MLFLOW_EXPERIMENT_ID", id));
    }
    env.push(literal("APP_ENVIRONMENT", &ctx.target.app_environment));
    if let Some(g) = &ctx.target.gateway {
        if let Some(v) = &g.llm_base_url {
            env.push(literal("LLM_GATEWAY_BASE_URL", v));
        }
        if let Some(v) = &g.llm_model {
            env.push(literal("LLM_GATEWAY_MODEL", v));
        }
        if let Some(v) = &g.mcp_base_url {
            env.push(literal("MCP_GATEWAY_BASE_URL", v));
        }
    }
    if let Some(app) = &ctx.spec.app {
        for e in &app.env {
            env.push(EnvEntry {
                name: e.name.clone(),
                value: e.value.clone(),
                value_from: e.value_from.clone(),
            });
        }
    }
    env.sort();
    env
}

/// The serving endpoint's config: served entities (defaulting to the release's model and
/// version) and routes (all traffic on the single entity unless declared).
pub fn endpoint_config(ctx: &ReleaseContext) -> Option<EndpointConfig> {
    let endpoint = ctx.spec.serving_endpoint.as_ref()?;
    let served_entities: Vec<ServedEntityConfig> = endpoint
        .served_entities
        .iter()
        .map(|e| match &e.external_model {
            Some(x) => external_entity(&e.name, x),
            None => ServedEntityConfig {
                name: e.name.clone(),
                entity_name: e
                    .entity_name
                    .clone()
                    .unwrap_or_else(|| ctx.spec.model.name.clone()),
                entity_version: e
                    .entity_version
                    .clone()
                    .unwrap_or_else(|| ctx.spec.model.version.to_string()),
                workload_size: e.workload_size.as_str().to_string(),
                scale_to_zero_enabled: e.scale_to_zero_enabled,
                workload_type: e.workload_type.clone(),
                environment_vars: e.environment_vars.clone(),
                external_model: None,
            },
        })
        .collect();
    let routes = match &endpoint.traffic {
        Some(routes) => routes
            .iter()
            .map(|r| RouteConfig {
                served_entity_name: r.served_entity_name.clone(),
                traffic_percentage: i64::from(r.traffic_percentage),
            })
            .collect(),
        None => served_entities
            .first()
            .map(|e| RouteConfig {
                served_entity_name: e.name.clone(),
                traffic_percentage: 100,
            })
            .into_iter()
            .collect(),
    };
    Some(EndpointConfig {
        served_entities,
        routes,
    })
}

/// A served entity fronting an external model: the serving API's `external_model` with the
/// provider's settings under `<provider>_config`; no model, version or workload size.
pub fn external_entity(
    name: &str,
    x: &agentrelease_api::release::ExternalModel,
) -> ServedEntityConfig {
    let mut model = serde_json::Map::new();
    model.insert("name".into(), serde_json::json!(x.name));
    model.insert("provider".into(), serde_json::json!(x.provider.as_str()));
    model.insert("task".into(), serde_json::json!(x.task));
    model.insert(x.provider.config_key().into(), serde_json::json!(x.config));
    ServedEntityConfig {
        name: name.to_string(),
        entity_name: String::new(),
        entity_version: String::new(),
        workload_size: String::new(),
        scale_to_zero_enabled: false,
        workload_type: None,
        environment_vars: BTreeMap::new(),
        external_model: Some(serde_json::Value::Object(model)),
    }
}

/// The declared ACL entries, with objects defaulting to the release's app and endpoint.
pub fn acl_entries(ctx: &ReleaseContext) -> Vec<DeclaredAcl> {
    ctx.spec
        .permissions
        .iter()
        .filter_map(|p| {
            let name = match (&p.object.name, p.object.type_) {
                (Some(name), _) => name.clone(),
                (None, PermissionObjectType::App) => ctx.spec.app.as_ref()?.name.clone(),
                (None, PermissionObjectType::ServingEndpoint) => {
                    ctx.spec.serving_endpoint.as_ref()?.name.clone()
                }
                (None, PermissionObjectType::SqlWarehouse) => return None,
            };
            Some(DeclaredAcl {
                object: DeclaredObject {
                    kind: p.object.type_,
                    name,
                },
                principal: DeclaredPrincipal::from_ref(&p.principal),
                level: p.level.as_str().to_string(),
            })
        })
        .collect()
}

/// The access the app's resources imply beyond what the manifest lists (pure): `CAN_QUERY` for
/// the app's service principal on each serving endpoint the app declares as a resource, unless
/// the manifest already declares an entry for that principal on that endpoint.
pub fn resource_acl_entries(ctx: &ReleaseContext) -> Vec<DeclaredAcl> {
    let declared = acl_entries(ctx);
    let Some(app) = &ctx.spec.app else {
        return Vec::new();
    };
    let mut out: Vec<DeclaredAcl> = Vec::new();
    for e in app
        .resources
        .iter()
        .filter_map(|r| r.serving_endpoint.as_ref())
    {
        let object = DeclaredObject {
            kind: PermissionObjectType::ServingEndpoint,
            name: e.name.clone(),
        };
        let listed = declared
            .iter()
            .chain(out.iter())
            .any(|d| d.object == object && d.principal == DeclaredPrincipal::AppServicePrincipal);
        if !listed {
            out.push(DeclaredAcl {
                object,
                principal: DeclaredPrincipal::AppServicePrincipal,
                level: "CAN_QUERY".into(),
            });
        }
    }
    out
}

/// The declared grants.
pub fn grants(ctx: &ReleaseContext) -> Vec<DeclaredGrant> {
    ctx.spec
        .grants
        .iter()
        .map(|g| DeclaredGrant {
            securable_type: g.securable_type.as_str().to_string(),
            full_name: g.full_name.clone(),
            principal: DeclaredPrincipal::from_ref(&g.principal),
            privileges: g
                .privileges
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        })
        .collect()
}

/// An env list as `NAME=value` lines (valueFrom shown as `NAME<-resource`).
pub fn env_lines(env: &[EnvEntry]) -> Vec<String> {
    env.iter()
        .map(|e| match (&e.value, &e.value_from) {
            (Some(v), _) => format!("{}={v}", e.name),
            (None, Some(from)) => format!("{} from resource {from}", e.name),
            (None, None) => format!("{}=", e.name),
        })
        .collect()
}

/// Differences between two environments as `+ NAME=v`, `- NAME=v`, `~ NAME: a -> b` lines.
pub fn env_diff(current: &[EnvEntry], desired: &[EnvEntry]) -> Vec<String> {
    let show = |e: &EnvEntry| match (&e.value, &e.value_from) {
        (Some(v), _) => v.clone(),
        (None, Some(from)) => format!("<from {from}>"),
        _ => String::new(),
    };
    let cur: BTreeMap<&str, &EnvEntry> = current.iter().map(|e| (e.name.as_str(), e)).collect();
    let want: BTreeMap<&str, &EnvEntry> = desired.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut out = Vec::new();
    for (name, d) in &want {
        match cur.get(name) {
            None => out.push(format!("+ {name}={}", show(d))),
            Some(c) if c != d => out.push(format!("~ {name}: {} -> {}", show(c), show(d))),
            _ => {}
        }
    }
    for (name, c) in &cur {
        if !want.contains_key(name) {
            out.push(format!("- {name}={}", show(c)));
        }
    }
    out
}
