//! The structural part of the API server's validation, on the CRD's openAPIV3Schema: types,
//! required fields, enums, string and list bounds, list-map key uniqueness, and — as with
//! `kubectl apply --validate=strict` — unknown fields. `metadata` gets the object-meta rules.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::Problem;

/// Fields of ObjectMeta a manifest may carry.
const METADATA_FIELDS: [&str; 6] = [
    "name",
    "namespace",
    "labels",
    "annotations",
    "generateName",
    "finalizers",
];

/// Fields of ObjectMeta the server owns; present in exported objects, harmless, not validated.
const SERVER_METADATA_FIELDS: [&str; 8] = [
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "ownerReferences",
];

/// Checks `obj` against the root openAPIV3Schema of its CRD.
pub fn check(schema: &Value, obj: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    let Some(map) = obj.as_object() else {
        problems.push(Problem::new("", "a manifest must be a mapping"));
        return problems;
    };
    check_metadata(map.get("metadata"), &mut problems);
    if map.contains_key("status") {
        problems.push(Problem::new(
            "status",
            "status is written by the operator; remove it from the manifest",
        ));
    }
    let props = schema.get("properties").and_then(Value::as_object);
    for (key, value) in map {
        match key.as_str() {
            "apiVersion" | "kind" | "metadata" | "status" => {}
            _ => match props.and_then(|p| p.get(key)) {
                Some(sub) => walk(sub, value, key, &mut problems),
                None => problems.push(unknown_field(key)),
            },
        }
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for field in required.iter().filter_map(Value::as_str) {
            if map.get(field).is_none_or(Value::is_null) {
                problems.push(Problem::new(field, "Required value"));
            }
        }
    }
    if !map.contains_key("spec") {
        problems.push(Problem::new("spec", "Required value"));
    }
    problems
}

fn unknown_field(path: &str) -> Problem {
    if path.ends_with("served_models") || path.ends_with("servedModels") {
        return Problem::new(path, super::LEGACY_SERVED_MODELS);
    }
    Problem::new(
        path,
        "unknown field (the API server would drop it; check the spelling and the indentation)",
    )
}

fn check_metadata(meta: Option<&Value>, problems: &mut Vec<Problem>) {
    let Some(meta) = meta.and_then(Value::as_object) else {
        problems.push(Problem::new(
            "metadata",
            "Required value: metadata with a name",
        ));
        return;
    };
    for key in meta.keys() {
        if !METADATA_FIELDS.contains(&key.as_str())
            && !SERVER_METADATA_FIELDS.contains(&key.as_str())
        {
            problems.push(unknown_field(&format!("metadata.{key}")));
        }
    }
    match meta.get("name").and_then(Value::as_str) {
        Some(name) if is_dns_subdomain(name) => {}
        Some(name) => problems.push(Problem::new(
            "metadata.name",
            format!(
                "invalid name {name:?}: a lowercase RFC 1123 subdomain (letters, digits, '-' and '.', at most 253 characters, starting and ending with a letter or digit)"
            ),
        )),
        None if meta.contains_key("generateName") => {}
        None => problems.push(Problem::new("metadata.name", "Required value")),
    }
    if let Some(ns) = meta.get("namespace") {
        match ns.as_str() {
            Some(ns) if is_dns_label(ns) => {}
            _ => problems.push(Problem::new(
                "metadata.namespace",
                "a namespace is a lowercase RFC 1123 label (at most 63 characters)",
            )),
        }
    }
    for map_field in ["labels", "annotations"] {
        if let Some(v) = meta.get(map_field) {
            match v.as_object() {
                Some(m) => {
                    for (k, val) in m {
                        if !val.is_string() {
                            problems.push(Problem::new(
                                format!("metadata.{map_field}.{k}"),
                                "values must be strings (quote them)",
                            ));
                        }
                    }
                }
                None => problems.push(Problem::new(
                    format!("metadata.{map_field}"),
                    "must be a mapping of strings",
                )),
            }
        }
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(schema: &Value, value: &Value, path: &str, problems: &mut Vec<Problem>) {
    if value.is_null() {
        // The API server prunes nulls of non-nullable fields; a required one is then missing,
        // which the parent reports.
        return;
    }
    if schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
    {
        if !(value.is_string() || value.is_i64() || value.is_u64()) {
            problems.push(Problem::new(path, "must be an integer or a string"));
        }
        return;
    }
    let expected = schema.get("type").and_then(Value::as_str);
    let actual = type_name(value);
    let type_ok = match expected {
        None => true,
        Some("number") => value.is_number(),
        Some(t) => t == actual,
    };
    if !type_ok {
        let hint = match (expected, value) {
            (Some("string"), Value::Bool(_) | Value::Number(_)) => " (quote the value)",
            (Some("integer"), Value::Number(_)) => " (no fraction)",
            _ => "",
        };
        problems.push(Problem::new(
            path,
            format!(
                "Invalid value: {}: must be of type {}{hint}",
                short(value),
                expected.unwrap_or("?")
            ),
        ));
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let list: Vec<String> = options.iter().map(short).collect();
        problems.push(Problem::new(
            path,
            format!(
                "Unsupported value: {}: supported values: {}",
                short(value),
                list.join(", ")
            ),
        ));
    }
    match value {
        Value::String(s) => check_string(schema, s, path, problems),
        Value::Number(_) => check_number(schema, value, path, problems),
        Value::Array(items) => check_array(schema, items, path, problems),
        Value::Object(map) => check_object(schema, map, path, problems),
        _ => {}
    }
}

fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(57).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn check_string(schema: &Value, s: &str, path: &str, problems: &mut Vec<Problem>) {
    let len = s.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        problems.push(Problem::new(
            path,
            format!("Too long: may not be more than {max} characters (has {len})"),
        ));
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        let what = if min == 1 {
            "may not be empty".to_string()
        } else {
            format!("must be at least {min} characters")
        };
        problems.push(Problem::new(
            path,
            format!("Invalid value: {}: {what}", short(&Value::String(s.into()))),
        ));
    }
}

fn check_number(schema: &Value, value: &Value, path: &str, problems: &mut Vec<Problem>) {
    let Some(n) = value.as_f64() else { return };
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
        && n < min
    {
        problems.push(Problem::new(
            path,
            format!("Invalid value: {value}: must be greater than or equal to {min}"),
        ));
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
        && n > max
    {
        problems.push(Problem::new(
            path,
            format!("Invalid value: {value}: must be less than or equal to {max}"),
        ));
    }
    if let Some(format) = schema.get("format").and_then(Value::as_str) {
        let out_of_range = match format {
            "int32" => value.as_i64().is_none_or(|i| i32::try_from(i).is_err()),
            "int64" => value.as_i64().is_none(),
            _ => false,
        };
        if out_of_range {
            problems.push(Problem::new(
                path,
                format!("Invalid value: {value}: out of range for {format}"),
            ));
        }
    }
}

fn check_array(schema: &Value, items: &[Value], path: &str, problems: &mut Vec<Problem>) {
    let n = items.len() as u64;
    if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
        && n > max
    {
        problems.push(Problem::new(
            path,
            format!("Too many: {n}: must have at most {max} items"),
        ));
    }
    if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && n < min
    {
        problems.push(Problem::new(
            path,
            format!("Required value: must have at least {min} item(s)"),
        ));
    }
    if let Some(item_schema) = schema.get("items") {
        for (i, item) in items.iter().enumerate() {
            walk(item_schema, item, &format!("{path}[{i}]"), problems);
        }
    }
    match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
        Some("map") => {
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut seen = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                let key: Vec<String> = keys
                    .iter()
                    .map(|k| item.get(*k).map(Value::to_string).unwrap_or_default())
                    .collect();
                if !seen.insert(key.clone()) {
                    problems.push(Problem::new(
                        format!("{path}[{i}]"),
                        format!(
                            "Duplicate value: {} {} appears twice",
                            keys.join("/"),
                            key.join("/")
                        ),
                    ));
                }
            }
        }
        Some("set") => {
            let mut seen = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                if !seen.insert(item.to_string()) {
                    problems.push(Problem::new(
                        format!("{path}[{i}]"),
                        format!("Duplicate value: {}", short(item)),
                    ));
                }
            }
        }
        _ => {}
    }
}

fn check_object(schema: &Value, map: &Map<String, Value>, path: &str, problems: &mut Vec<Problem>) {
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    let preserve = schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    for (key, value) in map {
        let child = format!("{path}.{key}");
        if let Some(sub) = props.and_then(|p| p.get(key)) {
            walk(sub, value, &child, problems);
        } else if let Some(add) = additional.filter(|a| a.is_object()) {
            walk(add, value, &child, problems);
        } else if additional.and_then(Value::as_bool) == Some(true) || preserve {
            // free-form
        } else {
            problems.push(unknown_field(&child));
        }
    }
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for field in required.iter().filter_map(Value::as_str) {
            if map.get(field).is_none_or(Value::is_null) {
                problems.push(Problem::new(format!("{path}.{field}"), "Required value"));
            }
        }
    }
    let n = map.len() as u64;
    if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64)
        && n > max
    {
        problems.push(Problem::new(
            path,
            format!("Too many: {n}: must have at most {max} entries"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "maxLength": 5, "minLength": 1},
                        "n": {"type": "integer", "format": "int32"},
                        "level": {"type": "string", "enum": ["A", "B"]},
                        "items": {
                            "type": "array", "maxItems": 2,
                            "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["k"],
                            "items": {"type": "object", "properties": {"k": {"type": "string"}}}
                        },
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }
                }
            }
        })
    }

    fn paths(obj: Value) -> Vec<String> {
        check(&schema(), &obj)
            .into_iter()
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    }

    fn base(spec: Value) -> Value {
        json!({"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "ok"}, "spec": spec})
    }

    #[test]
    fn accepts_a_valid_object() {
        assert!(
            paths(base(
                json!({"name": "abc", "n": 3, "level": "A", "free": {"x": 1}})
            ))
            .is_empty()
        );
    }

    #[test]
    fn reports_unknown_fields_with_their_path() {
        let p = paths(base(json!({"name": "abc", "nmae": "x"})));
        assert_eq!(p.len(), 1);
        assert!(p[0].starts_with("spec.nmae: unknown field"), "{p:?}");
    }

    #[test]
    fn reports_types_enums_bounds_and_required() {
        let p = paths(base(
            json!({"n": "3", "level": "C", "items": [{"k": "a"}, {"k": "a"}, {"k": "b"}]}),
        ));
        let text = p.join("\n");
        assert!(
            text.contains("spec.n: Invalid value: \"3\": must be of type integer"),
            "{text}"
        );
        assert!(
            text.contains("spec.level: Unsupported value: \"C\""),
            "{text}"
        );
        assert!(text.contains("spec.items: Too many: 3"), "{text}");
        assert!(text.contains("spec.items[1]: Duplicate value"), "{text}");
        assert!(text.contains("spec.name: Required value"), "{text}");
    }

    #[test]
    fn int32_range_and_string_length() {
        let p = paths(base(json!({"name": "toolongname", "n": 5_000_000_000_i64})));
        let text = p.join("\n");
        assert!(text.contains("spec.name: Too long"), "{text}");
        assert!(text.contains("out of range for int32"), "{text}");
    }

    #[test]
    fn metadata_rules() {
        let p = paths(
            json!({"metadata": {"name": "Bad_Name", "labels": {"a": 1}, "nme": "x"}, "spec": {"name": "a"}}),
        );
        let text = p.join("\n");
        assert!(text.contains("metadata.name: invalid name"), "{text}");
        assert!(
            text.contains("metadata.labels.a: values must be strings"),
            "{text}"
        );
        assert!(text.contains("metadata.nme: unknown field"), "{text}");
    }

    #[test]
    fn status_in_a_manifest_is_reported() {
        let mut obj = base(json!({"name": "a"}));
        obj["status"] = json!({});
        assert!(paths(obj).iter().any(|p| p.starts_with("status:")));
    }
}
