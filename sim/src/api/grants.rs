//! Unity Catalog grants (`/api/2.1/unity-catalog/permissions/{securable_type}/{full_name}`):
//! GET direct privileges (paged), PATCH `changes` with add / remove, effective privileges with
//! inheritance from catalog and schema. Securable types are case-insensitive; models are FUNCTION.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::{Query, ok};
use crate::error::{ApiError, ApiResult, parse_body};
use crate::shared::SharedState;
use crate::world::World;

fn privileges_for(securable_type: &str) -> &'static [&'static str] {
    match securable_type {
        "CATALOG" => &[
            "ALL_PRIVILEGES",
            "USE_CATALOG",
            "USE_SCHEMA",
            "CREATE_SCHEMA",
            "CREATE_TABLE",
            "CREATE_FUNCTION",
            "CREATE_MODEL",
            "CREATE_VOLUME",
            "CREATE_MATERIALIZED_VIEW",
            "SELECT",
            "MODIFY",
            "EXECUTE",
            "READ_VOLUME",
            "WRITE_VOLUME",
            "REFRESH",
            "BROWSE",
            "MANAGE",
            "APPLY_TAG",
        ],
        "SCHEMA" => &[
            "ALL_PRIVILEGES",
            "USE_SCHEMA",
            "CREATE_TABLE",
            "CREATE_FUNCTION",
            "CREATE_MODEL",
            "CREATE_VOLUME",
            "CREATE_MATERIALIZED_VIEW",
            "SELECT",
            "MODIFY",
            "EXECUTE",
            "READ_VOLUME",
            "WRITE_VOLUME",
            "REFRESH",
            "MANAGE",
            "APPLY_TAG",
        ],
        "FUNCTION" => &["ALL_PRIVILEGES", "EXECUTE", "MANAGE", "APPLY_TAG"],
        "TABLE" => &["ALL_PRIVILEGES", "SELECT", "MODIFY", "MANAGE", "APPLY_TAG"],
        "VOLUME" => &[
            "ALL_PRIVILEGES",
            "READ_VOLUME",
            "WRITE_VOLUME",
            "MANAGE",
            "APPLY_TAG",
        ],
        _ => &[],
    }
}

fn securable(world: &World, raw_type: &str, full_name: &str) -> ApiResult<String> {
    let t = raw_type.to_ascii_uppercase().replace('-', "_");
    let t = if t == "REGISTERED_MODEL" {
        "FUNCTION".to_string()
    } else {
        t
    };
    if privileges_for(&t).is_empty() {
        return Err(ApiError::invalid(format!(
            "Unsupported securable type '{raw_type}': the simulator serves catalog, schema, table, volume and function"
        )));
    }
    if !world.securable_exists(&t, full_name) {
        return Err(ApiError::not_found(format!(
            "{} '{full_name}' does not exist.",
            t.to_ascii_lowercase()
        )));
    }
    Ok(t)
}

fn principal_exists(world: &World, p: &str) -> bool {
    world.users.contains(p) || world.groups.contains(p) || world.service_principals.contains_key(p)
}

fn assignments(world: &World, t: &str, full_name: &str, only: Option<&str>) -> Vec<Value> {
    world
        .grants
        .get(&format!("{t}/{full_name}"))
        .into_iter()
        .flatten()
        .filter(|(p, privs)| !privs.is_empty() && only.is_none_or(|o| o == p.as_str()))
        .map(|(p, privs)| json!({"principal": p, "privileges": privs}))
        .collect()
}

/// `GET .../permissions/{securable_type}/{full_name}`.
pub async fn get(
    State(s): State<SharedState>,
    Path((raw_type, full_name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let q = Query::parse(q.as_deref());
    let max = q.number("max_results")?.unwrap_or(0);
    if (1..150).contains(&max) {
        return Err(ApiError::invalid("max_results must be 0 or at least 150"));
    }
    let world = s.world();
    let t = securable(&world, &raw_type, &full_name)?;
    let all = assignments(&world, &t, &full_name, q.get("principal"));
    let (items, next) = super::page(
        &all,
        q.get("page_token"),
        if max == 0 { 1000 } else { max as usize },
    )?;
    let mut v = json!({"privilege_assignments": items});
    if let Some(next) = next {
        v["next_page_token"] = json!(next);
    }
    Ok(ok(v))
}

/// `GET .../effective-permissions/{securable_type}/{full_name}`.
pub async fn get_effective(
    State(s): State<SharedState>,
    Path((raw_type, full_name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let world = s.world();
    let t = securable(&world, &raw_type, &full_name)?;
    let parts: Vec<&str> = full_name.split('.').collect();
    let mut sources = vec![(t.clone(), full_name.clone())];
    if t != "CATALOG"
        && let Some(c) = parts.first()
    {
        sources.push(("CATALOG".into(), c.to_string()));
    }
    if parts.len() == 3
        && let (Some(c), Some(sc)) = (parts.first(), parts.get(1))
    {
        sources.push(("SCHEMA".into(), format!("{c}.{sc}")));
    }
    let mut by_principal: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for (st, name) in &sources {
        for (p, privs) in world
            .grants
            .get(&format!("{st}/{name}"))
            .into_iter()
            .flatten()
        {
            for privilege in privs {
                let mut e = json!({"privilege": privilege});
                if st != &t || name != &full_name {
                    e["inherited_from_type"] = json!(st);
                    e["inherited_from_name"] = json!(name);
                }
                by_principal.entry(p.clone()).or_default().push(e);
            }
        }
    }
    let list: Vec<Value> = by_principal
        .into_iter()
        .map(|(p, privs)| json!({"principal": p, "privileges": privs}))
        .collect();
    Ok(ok(json!({"privilege_assignments": list})))
}

/// `PATCH .../permissions/{securable_type}/{full_name}` with `changes`.
pub async fn update(
    State(s): State<SharedState>,
    Path((raw_type, full_name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    let body: Value = parse_body(&body)?;
    let changes = match body.get("changes") {
        Some(Value::Array(c)) => c.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(ApiError::invalid("changes must be a list")),
    };
    let mut world = s.world();
    let t = securable(&world, &raw_type, &full_name)?;
    let valid = privileges_for(&t);
    let mut parsed = Vec::new();
    for c in &changes {
        let principal = c
            .get("principal")
            .and_then(Value::as_str)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ApiError::invalid("Each change needs a principal"))?;
        if !principal_exists(&world, principal) {
            return Err(ApiError::invalid(format!(
                "Could not find principal with name {principal}"
            )));
        }
        let list = |key: &str| -> ApiResult<BTreeSet<String>> {
            match c.get(key) {
                None | Some(Value::Null) => Ok(BTreeSet::new()),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|p| {
                        let p = p.as_str().ok_or_else(|| {
                            ApiError::invalid(format!("{key} must list privilege names"))
                        })?;
                        let upper = p.to_ascii_uppercase().replace(' ', "_");
                        if valid.contains(&upper.as_str()) {
                            Ok(upper)
                        } else {
                            Err(ApiError::invalid(format!(
                                "Privilege {p} is not applicable to this entity ({t})"
                            )))
                        }
                    })
                    .collect(),
                Some(_) => Err(ApiError::invalid(format!("{key} must be a list"))),
            }
        };
        let (add, remove) = (list("add")?, list("remove")?);
        if let Some(both) = add.intersection(&remove).next() {
            return Err(ApiError::invalid(format!(
                "Duplicate privileges to add and delete for principal {principal}: {both}"
            )));
        }
        parsed.push((principal.to_string(), add, remove));
    }
    let entry = world.grants.entry(format!("{t}/{full_name}")).or_default();
    for (principal, add, remove) in parsed {
        let privs = entry.entry(principal.clone()).or_default();
        if remove.contains("ALL_PRIVILEGES") {
            privs.clear();
        }
        for r in &remove {
            privs.remove(r);
        }
        privs.extend(add);
        if privs.is_empty() {
            entry.remove(&principal);
        }
    }
    if body
        .get("omit_permissions_in_response")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Ok(super::empty());
    }
    Ok(ok(
        json!({"privilege_assignments": assignments(&world, &t, &full_name, None)}),
    ))
}
