//! Bundle variables and `${...}` substitution, as the bundle CLI resolves them for one target.
//!
//! A variable's value is, from strongest to weakest: `--var name=value`, the environment variable
//! `BUNDLE_VAR_<name>`, the target's `variables.<name>` (a plain value, or `default:`), the
//! top-level `default`. Assigning a variable that is not declared is an error, as in the bundle
//! CLI. A `lookup:` variable needs the workspace to resolve, so it stays unresolved (and is
//! listed). References resolved: `${var.x}` (and `${variables.x.value}`), `${bundle.target}`,
//! `${bundle.name}`, `${workspace.host}` and the other `workspace.*` fields the configuration
//! sets (with the bundle CLI's defaults for `root_path` and `file_path` when it names no user),
//! and `${resources.<kind>.<key>.name}`. Anything else (`${workspace.current_user.userName}`,
//! `${resources.jobs.x.id}`) is known only at deploy time; it is left as written and listed.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::BundleError;

/// How many rounds of substitution run (a variable may name another).
const MAX_ROUNDS: usize = 8;

/// A reference that could not be resolved, where it appears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// Dotted path of the field holding it.
    pub field: String,
    /// The reference, e.g. `workspace.current_user.userName`.
    pub reference: String,
}

/// Variable values given outside the files: `--var` flags and `BUNDLE_VAR_*` variables.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--var name=value`, in order.
    pub flags: Vec<(String, String)>,
    /// `BUNDLE_VAR_<name>` values, by name.
    pub environment: BTreeMap<String, String>,
}

/// Parses one `--var name=value` flag.
pub fn parse_flag(flag: &str) -> Result<(String, String), BundleError> {
    match flag.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(BundleError::VarFlag {
            flag: flag.to_string(),
        }),
    }
}

/// The value of every declared variable for `target` (a `lookup:` variable or one without any
/// value is absent), or the error the bundle CLI would give.
pub fn values(
    config: &Value,
    target_name: &str,
    target: &Value,
    overrides: &Overrides,
) -> Result<BTreeMap<String, Value>, BundleError> {
    let declared: Map<String, Value> = config
        .get("variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for (name, decl) in &declared {
        match decl {
            Value::Object(o) => {
                if let Some(d) = o.get("default") {
                    out.insert(name.clone(), d.clone());
                }
            }
            Value::Null => {}
            other => {
                out.insert(name.clone(), other.clone());
            }
        }
    }
    if let Some(tv) = target.get("variables").and_then(Value::as_object) {
        for (name, v) in tv {
            if !declared.contains_key(name) {
                return Err(BundleError::UndeclaredVariable {
                    name: name.clone(),
                    target: Some(target_name.to_string()),
                });
            }
            match v {
                Value::Object(o) if o.contains_key("default") => {
                    out.insert(name.clone(), o["default"].clone());
                }
                Value::Object(o) if o.contains_key("lookup") => {
                    out.remove(name);
                }
                Value::Object(_) => {}
                other => {
                    out.insert(name.clone(), other.clone());
                }
            }
        }
    }
    for (name, value) in &overrides.environment {
        if declared.contains_key(name) {
            out.insert(name.clone(), Value::String(value.clone()));
        }
    }
    for (name, value) in &overrides.flags {
        if !declared.contains_key(name) {
            return Err(BundleError::UndeclaredVariable {
                name: name.clone(),
                target: None,
            });
        }
        out.insert(name.clone(), Value::String(value.clone()));
    }
    Ok(out)
}

/// What `${...}` references resolve against.
pub struct Scope<'a> {
    /// The variables' values.
    pub variables: &'a BTreeMap<String, Value>,
    /// The target's name.
    pub target: &'a str,
}

/// Substitutes every reference in `config` that can be resolved; returns the references left.
pub fn substitute(config: &mut Value, scope: &Scope<'_>) -> Vec<Unresolved> {
    let mut left = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let snapshot = config.clone();
        left.clear();
        let changed = walk(config, "", &snapshot, scope, &mut left);
        if !changed {
            break;
        }
    }
    left
}

fn walk(
    value: &mut Value,
    path: &str,
    root: &Value,
    scope: &Scope<'_>,
    left: &mut Vec<Unresolved>,
) -> bool {
    match value {
        Value::String(s) => match substitute_str(s, root, scope) {
            (Some(new), unresolved) => {
                left.extend(unresolved.into_iter().map(|reference| Unresolved {
                    field: path.to_string(),
                    reference,
                }));
                let changed = &new != value;
                *value = new;
                changed
            }
            (None, unresolved) => {
                left.extend(unresolved.into_iter().map(|reference| Unresolved {
                    field: path.to_string(),
                    reference,
                }));
                false
            }
        },
        Value::Array(items) => {
            let mut changed = false;
            for (i, item) in items.iter_mut().enumerate() {
                changed |= walk(item, &format!("{path}[{i}]"), root, scope, left);
            }
            changed
        }
        Value::Object(map) => {
            let mut changed = false;
            for (k, v) in map.iter_mut() {
                // The declarations themselves are not configuration.
                if path.is_empty() && (k == "variables" || k == "targets") {
                    continue;
                }
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                changed |= walk(v, &child, root, scope, left);
            }
            changed
        }
        _ => false,
    }
}

/// The references `${...}` in `s`, with their byte ranges.
fn references(s: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = s[from..].find("${").map(|i| i + from) {
        let Some(end) = s[start..].find('}').map(|i| i + start) else {
            break;
        };
        let inner = &s[start + 2..end];
        if !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.[]".contains(c))
        {
            out.push((start, end + 1, inner));
        }
        from = end + 1;
    }
    out
}

/// `s` with its resolvable references replaced (None when nothing changed), and the references
/// that could not be. A string that is exactly one reference takes the referenced value whole
/// (a number stays a number), as in the bundle CLI.
fn substitute_str(s: &str, root: &Value, scope: &Scope<'_>) -> (Option<Value>, Vec<String>) {
    let refs = references(s);
    if refs.is_empty() {
        return (None, Vec::new());
    }
    let mut unresolved = Vec::new();
    if refs.len() == 1 && refs[0].0 == 0 && refs[0].1 == s.len() {
        return match resolve(refs[0].2, root, scope) {
            Some(v) => (Some(v), unresolved),
            None => {
                unresolved.push(refs[0].2.to_string());
                (None, unresolved)
            }
        };
    }
    let mut out = String::new();
    let mut last = 0;
    let mut changed = false;
    for (start, end, inner) in refs {
        out.push_str(&s[last..start]);
        match resolve(inner, root, scope) {
            Some(Value::String(v)) => {
                out.push_str(&v);
                changed = true;
            }
            Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                out.push_str(&v.to_string());
                changed = true;
            }
            _ => {
                unresolved.push(inner.to_string());
                out.push_str(&s[start..end]);
            }
        }
        last = end;
    }
    out.push_str(&s[last..]);
    (changed.then_some(Value::String(out)), unresolved)
}

fn resolve(reference: &str, root: &Value, scope: &Scope<'_>) -> Option<Value> {
    let parts: Vec<&str> = reference.split('.').collect();
    match parts.as_slice() {
        ["var", name] | ["variables", name, "value"] => scope.variables.get(*name).cloned(),
        ["bundle", "target"] => Some(Value::String(scope.target.to_string())),
        ["bundle", field] => root.get("bundle")?.get(*field).cloned().filter(scalar),
        ["workspace", "current_user", ..] => None,
        ["workspace", field] => workspace_field(root, field, scope),
        ["resources", kind, key, "name"] => root
            .get("resources")?
            .get(*kind)?
            .get(*key)?
            .get("name")
            .cloned()
            .filter(scalar),
        _ => None,
    }
}

fn scalar(v: &Value) -> bool {
    matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// A `workspace.*` field: as set, or the bundle CLI's default when it does not depend on the
/// deploying user.
fn workspace_field(root: &Value, field: &str, scope: &Scope<'_>) -> Option<Value> {
    let ws = root.get("workspace");
    if let Some(v) = ws.and_then(|w| w.get(field)).filter(|v| scalar(v)) {
        return Some(v.clone());
    }
    let root_path = ws.and_then(|w| w.get("root_path")).and_then(Value::as_str);
    let derived = |suffix: &str| root_path.map(|r| Value::String(format!("{r}/{suffix}")));
    match field {
        "file_path" => derived("files"),
        "artifact_path" => derived("artifacts"),
        "state_path" => derived("state"),
        "resource_path" => derived("resources"),
        _ => {
            let _ = scope;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(config: &Value, target: &str, overrides: &Overrides) -> BTreeMap<String, Value> {
        values(config, target, &config["targets"][target], overrides).unwrap()
    }

    #[test]
    fn flags_beat_environment_beat_target_beat_default() {
        let config = json!({
            "variables": {"a": {"default": "d"}, "b": {"default": "d"}, "c": {"default": "d"}, "e": {"default": "d"}},
            "targets": {"prod": {"variables": {"a": "t", "b": "t", "c": {"default": "t"}}}}
        });
        let overrides = Overrides {
            flags: vec![("a".into(), "flag".into())],
            environment: [("b".to_string(), "env".to_string())].into(),
        };
        let v = vars(&config, "prod", &overrides);
        assert_eq!(v["a"], "flag");
        assert_eq!(v["b"], "env");
        assert_eq!(v["c"], "t");
        assert_eq!(v["e"], "d");
    }

    #[test]
    fn assigning_an_undeclared_variable_is_refused() {
        let config = json!({"variables": {}, "targets": {"prod": {"variables": {"x": 1}}}});
        let e = values(
            &config,
            "prod",
            &config["targets"]["prod"],
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "variable x is not defined but is assigned a value in target prod"
        );
        let config = json!({"variables": {}});
        let e = values(
            &config,
            "prod",
            &Value::Null,
            &Overrides {
                flags: vec![("y".into(), "1".into())],
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "variable y has not been defined");
    }

    #[test]
    fn references_resolve_in_rounds_and_unknown_ones_stay() {
        let variables: BTreeMap<String, Value> = [
            ("catalog".to_string(), json!("main")),
            ("path".to_string(), json!("${bundle.target}/x")),
            ("n".to_string(), json!(3)),
        ]
        .into();
        let mut config = json!({
            "bundle": {"name": "agent"},
            "workspace": {"host": "https://h", "root_path": "/Workspace/Shared/${bundle.name}/${bundle.target}"},
            "a": "${var.catalog}.${var.path}",
            "b": "${var.n}",
            "c": "${workspace.host}/serving-endpoints",
            "d": "${workspace.file_path}/app",
            "e": "/Users/${workspace.current_user.userName}"
        });
        let left = substitute(
            &mut config,
            &Scope {
                variables: &variables,
                target: "prod",
            },
        );
        assert_eq!(config["a"], "main.prod/x");
        assert_eq!(config["b"], 3);
        assert_eq!(config["c"], "https://h/serving-endpoints");
        assert_eq!(config["d"], "/Workspace/Shared/agent/prod/files/app");
        assert_eq!(
            left,
            [Unresolved {
                field: "e".into(),
                reference: "workspace.current_user.userName".into()
            }]
        );
    }
}
