//! Writing an imported manifest as YAML with comments: a `# TODO` above every field the bundle
//! could not say. Strings are written double-quoted (JSON escapes are valid YAML), so no value is
//! ever read back as another type.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

/// Keys written first, in this order; the others follow in name order.
const ORDER: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "spec",
    "targetRef",
    "version",
    "host",
    "credentials",
    "catalog",
    "schema",
    "agentSchema",
    "model",
    "app",
    "description",
    "sourceCodePath",
    "command",
    "env",
    "value",
    "valueFrom",
    "resources",
];

/// The YAML text of `value`, with `header` lines on top and `comments` (by dotted field path,
/// e.g. `spec.model.version`) written above their fields.
pub fn to_yaml(header: &[String], value: &Value, comments: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "# {line}");
    }
    node(&mut out, value, "", 0, comments);
    out
}

fn rank(key: &str) -> (usize, &str) {
    (
        ORDER.iter().position(|k| *k == key).unwrap_or(ORDER.len()),
        key,
    )
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn key_text(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
        && !k.starts_with(['-', '.'])
    {
        k.to_string()
    } else {
        scalar(&Value::String(k.to_string()))
    }
}

fn comment(out: &mut String, comments: &BTreeMap<String, String>, path: &str, indent: usize) {
    if let Some(text) = comments.get(path) {
        for line in text.lines() {
            let _ = writeln!(out, "{:indent$}# {line}", "");
        }
    }
}

fn node(out: &mut String, value: &Value, path: &str, indent: usize, c: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| rank(a).cmp(&rank(b)));
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                comment(out, c, &child, indent);
                let v = &map[k];
                let _ = write!(out, "{:indent$}{}:", "", key_text(k));
                inline_or_block(out, v, &child, indent + 2, c);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let child = format!("{path}[{i}]");
                comment(out, c, &child, indent);
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        // The first key goes on the dash line.
                        let mut sub = String::new();
                        node(&mut sub, item, &child, indent + 2, c);
                        let body = sub.trim_start_matches(' ');
                        let _ = write!(out, "{:indent$}- {body}", "");
                    }
                    _ => {
                        let _ = write!(out, "{:indent$}-", "");
                        inline_or_block(out, item, &child, indent + 2, c);
                    }
                }
            }
        }
        other => {
            let _ = writeln!(out, "{:indent$}{}", "", scalar(other));
        }
    }
}

fn inline_or_block(
    out: &mut String,
    v: &Value,
    path: &str,
    indent: usize,
    c: &BTreeMap<String, String>,
) {
    match v {
        Value::Object(m) if m.is_empty() => out.push_str(" {}\n"),
        Value::Array(a) if a.is_empty() => out.push_str(" []\n"),
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) && !a.is_empty() => {
            let items: Vec<String> = a.iter().map(scalar).collect();
            let _ = writeln!(out, " [{}]", items.join(", "));
        }
        Value::Object(_) | Value::Array(_) => {
            out.push('\n');
            node(out, v, path, indent, c);
        }
        other => {
            let _ = writeln!(out, " {}", scalar(other));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_yaml_that_reads_back_the_same_with_comments() {
        let value = json!({
            "kind": "AgentRelease",
            "apiVersion": "agentops.dev/v1alpha1",
            "spec": {
                "version": 1,
                "app": {"command": ["python", "app.py"], "env": [{"name": "A", "value": "yes"}, {"name": "B", "valueFrom": "wh"}]},
                "empty": [],
                "weird key": "true"
            }
        });
        let comments: BTreeMap<String, String> =
            [("spec.version".to_string(), "TODO: N".to_string())].into();
        let text = to_yaml(&["header".into()], &value, &comments);
        assert!(text.starts_with("# header\napiVersion:"), "{text}");
        assert!(text.contains("  # TODO: N\n  version: 1\n"), "{text}");
        let back = crate::manifest::parse_str(std::path::Path::new("x.yaml"), &text)
            .unwrap()
            .remove(0);
        assert_eq!(back.value, value, "{text}");
    }
}
