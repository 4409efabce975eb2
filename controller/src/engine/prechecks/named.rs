//! What the release and its target name that must exist before the first write (pure): each
//! object once, with the first field of the spec that names it, keyed by how it is read.

use std::collections::BTreeMap;

use agentrelease_api::mcp::ManagedServer;
use agentrelease_api::release::PermissionObjectType as K;

use crate::engine::context::ReleaseContext;
use crate::engine::verification::gateway;
use crate::engine::workspace::Lookup;

/// An object the release names, keyed by how the preflight reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Named {
    /// A Unity Catalog securable (type, full name): its grants are read (and kept for the
    /// permissions step).
    Securable(String, String),
    /// A SQL warehouse whose ACL the release sets: its ACL is read (and kept for the
    /// permissions step).
    WarehouseAcl(String),
    /// A serving endpoint other than the release's own (its id is kept for the permissions
    /// step).
    Endpoint(String),
    /// An app other than the release's own.
    App(String),
    /// An MLflow experiment by id (a deleted one counts as missing).
    Experiment(String),
    /// Anything else, read with its own route.
    Object(Lookup),
}

impl Named {
    /// A human description naming the object.
    pub fn describe(&self) -> String {
        match self {
            Named::Securable(kind, name) => format!("{kind} {name}"),
            Named::WarehouseAcl(id) => format!("SQL warehouse {id}"),
            Named::Endpoint(name) => format!("serving endpoint {name}"),
            Named::App(name) => format!("app {name}"),
            Named::Experiment(id) => format!("experiment {id}"),
            Named::Object(lookup) => lookup.describe(),
        }
    }

    /// The other key whose read proves this object exists too (a schema's grants, a
    /// warehouse's ACL), so the same object is never read twice in a pass.
    fn covered_by(&self) -> Option<Named> {
        let securable = |kind: &str, name: &str| Some(Named::Securable(kind.into(), name.into()));
        match self {
            Named::Object(Lookup::Schema(n)) => securable("SCHEMA", n),
            Named::Object(Lookup::Table(n)) => securable("TABLE", n),
            Named::Object(Lookup::Function(n)) => securable("FUNCTION", n),
            Named::Object(Lookup::Warehouse(id)) => Some(Named::WarehouseAcl(id.clone())),
            _ => None,
        }
    }
}

/// The object a managed MCP server's path names (pure): the schema of a whole-schema server,
/// else its one function or index; the Genie space.
pub fn mcp_object(server: &ManagedServer) -> Lookup {
    match server {
        ManagedServer::Functions {
            catalog,
            schema,
            function: Some(f),
        } => Lookup::Function(format!("{catalog}.{schema}.{f}")),
        ManagedServer::VectorSearch {
            catalog,
            schema,
            index: Some(i),
        } => Lookup::VectorIndex(format!("{catalog}.{schema}.{i}")),
        ManagedServer::Functions {
            catalog, schema, ..
        }
        | ManagedServer::VectorSearch {
            catalog, schema, ..
        } => Lookup::Schema(format!("{catalog}.{schema}")),
        ManagedServer::Genie { space_id } => Lookup::GenieSpace(space_id.clone()),
    }
}

/// What the release names besides its own app and endpoint, each with the first field that
/// names it (pure): grant securables, app resources, ACL objects, the managed MCP servers'
/// objects (when the tool check applies), the gateway's warehouse and tables (when the gateway
/// check applies), and the tracing experiment (when the app's service principal is granted it).
pub fn named_objects(ctx: &ReleaseContext) -> BTreeMap<Named, String> {
    let mut named: BTreeMap<Named, String> = BTreeMap::new();
    let mut add = |object: Named, field: String| {
        named.entry(object).or_insert(field);
    };
    let own_endpoint = ctx.spec.serving_endpoint.as_ref().map(|e| e.name.as_str());
    let own_app = ctx.spec.app.as_ref().map(|a| a.name.as_str());
    let acl_warehouses: Vec<&str> = ctx
        .spec
        .permissions
        .iter()
        .filter(|p| p.object.type_ == K::SqlWarehouse)
        .filter_map(|p| p.object.name.as_deref())
        .collect();
    let warehouse = |id: &str| {
        if acl_warehouses.contains(&id) {
            Named::WarehouseAcl(id.to_string())
        } else {
            Named::Object(Lookup::Warehouse(id.to_string()))
        }
    };

    for (i, g) in ctx.spec.grants.iter().enumerate() {
        add(
            Named::Securable(g.securable_type.as_str().to_string(), g.full_name.clone()),
            format!("spec.grants[{i}]"),
        );
    }
    for (i, p) in ctx.spec.permissions.iter().enumerate() {
        let Some(name) = p.object.name.clone() else {
            continue;
        };
        let object = match p.object.type_ {
            K::SqlWarehouse => Named::WarehouseAcl(name),
            K::ServingEndpoint if Some(name.as_str()) != own_endpoint => Named::Endpoint(name),
            K::App if Some(name.as_str()) != own_app => Named::App(name),
            _ => continue,
        };
        add(object, format!("spec.permissions[{i}].object.name"));
    }
    if let Some(app) = &ctx.spec.app {
        for (i, r) in app.resources.iter().enumerate() {
            let field = format!("spec.app.resources[{i}] ({})", r.name);
            if let Some(u) = &r.uc_securable {
                let kind = format!("{:?}", u.securable_type);
                add(
                    Named::Securable(kind, u.securable_full_name.clone()),
                    field.clone(),
                );
            }
            if let Some(w) = &r.sql_warehouse {
                add(warehouse(&w.id), field.clone());
            }
            if let Some(x) = &r.experiment {
                add(Named::Experiment(x.experiment_id.clone()), field.clone());
            }
            if let Some(e) = r
                .serving_endpoint
                .as_ref()
                .filter(|e| Some(e.name.as_str()) != own_endpoint)
            {
                add(Named::Endpoint(e.name.clone()), field.clone());
            }
            if let Some(s) = &r.secret {
                let secret = Lookup::Secret {
                    scope: s.scope.clone(),
                    key: s.key.clone(),
                };
                add(Named::Object(secret), field.clone());
            }
            if let Some(d) = &r.database {
                let instance = Lookup::DatabaseInstance(d.instance_name.clone());
                add(Named::Object(instance), field.clone());
            }
        }
    }
    if let Some(v) = ctx.spec.verification.as_ref().filter(|_| own_app.is_some()) {
        for (i, server) in v.mcp_servers.iter().enumerate() {
            if let Some(managed) = server.managed() {
                add(
                    Named::Object(mcp_object(&managed)),
                    format!("spec.verification.mcpServers[{i}].url"),
                );
            }
        }
    }
    let target = format!("ReleaseTarget {}", ctx.spec.target_ref.name);
    if let Some(t) = gateway::tables(ctx.target.gateway.as_ref()).filter(|_| gateway::applies(ctx))
    {
        add(
            warehouse(&t.warehouse_id),
            format!("{target} spec.gateway.warehouseId"),
        );
        add(
            Named::Object(Lookup::Table(t.payload)),
            format!("{target} spec.gateway.payloadTable"),
        );
        if let Some(usage) = t.usage {
            add(
                Named::Object(Lookup::Table(usage)),
                format!("{target} spec.gateway.usageTable"),
            );
        }
    }
    // The app's service principal is granted CAN_EDIT on the tracing experiment.
    if let Some(id) = ctx
        .target
        .tracing
        .as_ref()
        .and_then(|t| t.experiment_id.clone())
        .filter(|_| own_app.is_some())
    {
        add(
            Named::Experiment(id),
            format!("{target} spec.tracing.experimentId"),
        );
    }
    let covered: Vec<Named> = named
        .keys()
        .filter(|o| o.covered_by().is_some_and(|c| named.contains_key(&c)))
        .cloned()
        .collect();
    for o in covered {
        named.remove(&o);
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(spec: serde_json::Value, target: serde_json::Value) -> ReleaseContext {
        let spec: agentrelease_api::AgentReleaseSpec = serde_json::from_value(spec).expect("spec");
        let target: agentrelease_api::ReleaseTargetSpec =
            serde_json::from_value(target).expect("target");
        let identity = crate::engine::Identity {
            uid: "u".into(),
            generation: 1,
            namespace: "ns".into(),
            name: "r".into(),
        };
        ReleaseContext::new(identity, &spec, &target).expect("ctx")
    }

    fn target(extra: serde_json::Value) -> serde_json::Value {
        let mut t = json!({
            "host": "https://x.example", "credentials": {"secretName": "s"},
            "catalog": "main", "schema": "agents", "experiments": {"deployment": "/Shared/d"}
        });
        if let (Some(t), Some(extra)) = (t.as_object_mut(), extra.as_object()) {
            t.extend(extra.clone());
        }
        t
    }

    fn object(l: Lookup) -> Named {
        Named::Object(l)
    }

    #[test]
    fn named_objects_skip_the_releases_own_and_name_each_once() {
        let ctx = ctx(
            json!({
                "targetRef": {"name": "prod"},
                "version": 7,
                "model": {"name": "main.agents.m", "version": 12},
                "app": {"name": "bot", "sourceCodePath": "/Workspace/app", "resources": [
                    {"name": "wh", "sqlWarehouse": {"id": "w1", "permission": "CAN_USE"}},
                    {"name": "own", "servingEndpoint": {"name": "ep", "permission": "CAN_QUERY"}},
                    {"name": "other", "servingEndpoint": {"name": "shared-ep", "permission": "CAN_QUERY"}},
                    {"name": "traces", "experiment": {"experimentId": "42", "permission": "CAN_EDIT"}},
                    {"name": "key", "secret": {"scope": "gw", "key": "openai", "permission": "READ"}},
                    {"name": "db", "database": {"instanceName": "lake", "databaseName": "state", "permission": "CAN_CONNECT_AND_CREATE"}}
                ]},
                "servingEndpoint": {"name": "ep", "servedEntities": [{"name": "e"}]},
                "permissions": [
                    {"principal": {"type": "Group", "name": "g"}, "object": {"type": "SqlWarehouse", "name": "w1"}, "level": "CAN_USE"},
                    {"principal": {"type": "Group", "name": "g"}, "object": {"type": "App"}, "level": "CAN_USE"}
                ],
                "grants": [{"securableType": "TABLE", "fullName": "main.agents.t",
                            "principal": {"type": "Group", "name": "g"}, "privileges": ["SELECT"]}]
            }),
            target(json!({})),
        );
        let named = named_objects(&ctx);
        assert_eq!(
            named.keys().cloned().collect::<Vec<_>>(),
            vec![
                Named::Securable("TABLE".into(), "main.agents.t".into()),
                Named::WarehouseAcl("w1".into()),
                Named::Endpoint("shared-ep".into()),
                Named::Experiment("42".into()),
                object(Lookup::Secret {
                    scope: "gw".into(),
                    key: "openai".into()
                }),
                object(Lookup::DatabaseInstance("lake".into())),
            ]
        );
        assert_eq!(
            named[&Named::WarehouseAcl("w1".into())],
            "spec.permissions[0].object.name"
        );
        assert_eq!(
            named[&Named::Endpoint("shared-ep".into())],
            "spec.app.resources[2] (other)"
        );
    }

    fn checked_release(servers: serde_json::Value) -> serde_json::Value {
        json!({
            "targetRef": {"name": "prod"},
            "version": 7,
            "model": {"name": "main.agents.m", "version": 12},
            "app": {"name": "bot", "sourceCodePath": "/Workspace/app"},
            "grants": [{"securableType": "SCHEMA", "fullName": "main.agents",
                        "principal": {"type": "Group", "name": "g"}, "privileges": ["USE_SCHEMA"]}],
            "verification": {"chat": {"prompt": "hi"}, "mcpServers": servers}
        })
    }

    #[test]
    fn managed_mcp_servers_gateway_tables_and_the_tracing_experiment_are_named_with_their_fields() {
        let ctx = ctx(
            checked_release(json!([
                {"url": "/api/2.0/mcp/functions/main/agents"},
                {"url": "/api/2.0/mcp/functions/main/tools/lookup"},
                {"url": "/api/2.0/mcp/vector-search/main/docs"},
                {"url": "/api/2.0/mcp/vector-search/main/docs/faq"},
                {"url": "/api/2.0/mcp/genie/01f0"},
                {"url": "https://mcp.example.com/mcp"}
            ])),
            target(json!({
                "gateway": {"warehouseId": "w9", "payloadTable": "main.gw.payload", "usageTable": "main.gw.usage"},
                "tracing": {"experimentId": "77"}
            })),
        );
        let named = named_objects(&ctx);
        let field = |n: Named| named.get(&n).cloned().unwrap_or_default();
        // The schema of the first server is read through its grants.
        assert_eq!(
            field(Named::Securable("SCHEMA".into(), "main.agents".into())),
            "spec.grants[0]"
        );
        assert!(!named.contains_key(&object(Lookup::Schema("main.agents".into()))));
        assert_eq!(
            field(object(Lookup::Function("main.tools.lookup".into()))),
            "spec.verification.mcpServers[1].url"
        );
        assert_eq!(
            field(object(Lookup::Schema("main.docs".into()))),
            "spec.verification.mcpServers[2].url"
        );
        assert_eq!(
            field(object(Lookup::VectorIndex("main.docs.faq".into()))),
            "spec.verification.mcpServers[3].url"
        );
        assert_eq!(
            field(object(Lookup::GenieSpace("01f0".into()))),
            "spec.verification.mcpServers[4].url"
        );
        assert_eq!(
            field(object(Lookup::Warehouse("w9".into()))),
            "ReleaseTarget prod spec.gateway.warehouseId"
        );
        assert_eq!(
            field(object(Lookup::Table("main.gw.payload".into()))),
            "ReleaseTarget prod spec.gateway.payloadTable"
        );
        assert_eq!(
            field(object(Lookup::Table("main.gw.usage".into()))),
            "ReleaseTarget prod spec.gateway.usageTable"
        );
        assert_eq!(
            field(Named::Experiment("77".into())),
            "ReleaseTarget prod spec.tracing.experimentId"
        );
        assert_eq!(named.len(), 9, "{named:?}");
    }

    #[test]
    fn the_gateway_is_named_only_when_its_check_applies() {
        let mut release = checked_release(json!([]));
        release["verification"] = json!({"path": "/"});
        let ctx = ctx(
            release,
            target(json!({
                "gateway": {"warehouseId": "w9", "payloadTable": "main.gw.payload"}
            })),
        );
        let named = named_objects(&ctx);
        assert!(
            !named
                .keys()
                .any(|n| matches!(n, Named::Object(Lookup::Table(_) | Lookup::Warehouse(_)))),
            "{named:?}"
        );
    }
}
