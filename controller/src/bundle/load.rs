//! Reading a Databricks Asset Bundle from disk: the root `databricks.yml` (or `.yaml`, or
//! `bundle.yml`) and the files its `include:` globs name, merged as the bundle CLI merges them
//! (mappings key by key, sequences appended, a later scalar wins; one resource key defined twice is
//! an error). Every file is read as the rest of the CLI reads manifests: a regular file of at most
//! 4 MiB.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::BundleError;
use super::glob;
use crate::manifest::{self, Document};

/// The names the bundle CLI looks for in a bundle's root directory, in its order.
pub const ROOT_FILE_NAMES: [&str; 4] = [
    "databricks.yml",
    "databricks.yaml",
    "bundle.yml",
    "bundle.yaml",
];

/// How many files `include:` may bring in (a glob like `**/*.yml` over a large tree is a mistake).
pub const MAX_INCLUDED_FILES: usize = 256;

/// A bundle as read: the merged configuration (targets not yet applied) and the documents it came
/// from, for locating problems.
#[derive(Debug)]
pub struct LoadedBundle {
    /// The bundle's root directory (where the root file is); paths in it are relative to this.
    pub root: PathBuf,
    /// The root file.
    pub root_file: PathBuf,
    /// The merged configuration of the root file and its includes.
    pub config: Value,
    /// Each file's document, the root first.
    pub documents: Vec<Document>,
}

/// The root file for a path given on the command line: a file as given, or the first of
/// [`ROOT_FILE_NAMES`] in a directory.
pub fn root_file(path: &Path) -> Result<PathBuf, BundleError> {
    if path.is_dir() {
        ROOT_FILE_NAMES
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.exists())
            .ok_or_else(|| BundleError::NoRootFile {
                dir: path.to_path_buf(),
            })
    } else {
        Ok(path.to_path_buf())
    }
}

/// Reads the bundle whose root file (or directory) is `path`.
pub fn load(path: &Path) -> Result<LoadedBundle, BundleError> {
    let root_file = root_file(path)?;
    let root = root_file
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let root_doc = one_document(&root_file)?;
    let mut config = root_doc.value.clone();
    let includes = include_patterns(&root_doc)?;
    let mut documents = vec![root_doc];
    let mut files: Vec<PathBuf> = Vec::new();
    for pattern in &includes {
        let matched = glob::expand(&root, pattern).map_err(|source| BundleError::Io {
            path: root.clone(),
            source,
        })?;
        if matched.is_empty() {
            // The bundle CLI refuses an include that matches nothing only when it has no glob
            // characters (a plain file name that is missing).
            if !glob::has_magic(pattern) {
                return Err(BundleError::IncludeMissing {
                    file: root_file.clone(),
                    pattern: pattern.clone(),
                });
            }
        }
        for file in matched {
            if file == root_file || files.contains(&file) {
                continue;
            }
            files.push(file);
        }
    }
    if files.len() > MAX_INCLUDED_FILES {
        return Err(BundleError::TooManyIncludes {
            file: root_file,
            count: files.len(),
        });
    }
    for file in files {
        let doc = one_document(&file)?;
        if doc.value.get("include").is_some() {
            return Err(BundleError::NestedInclude {
                file: file.clone(),
                line: doc.line_of("include"),
            });
        }
        merge_into(&mut config, doc.value.clone(), "", &doc)?;
        documents.push(doc);
    }
    Ok(LoadedBundle {
        root,
        root_file,
        config,
        documents,
    })
}

/// The one YAML document of a bundle file (a bundle file holds one mapping).
fn one_document(path: &Path) -> Result<Document, BundleError> {
    let (mut docs, mut errors) = manifest::load_file(path).map_err(BundleError::Read)?;
    if !errors.is_empty() {
        return Err(BundleError::Read(errors.remove(0)));
    }
    if docs.len() > 1 {
        return Err(BundleError::Shape {
            file: path.to_path_buf(),
            line: docs[1].line,
            field: String::new(),
            reason: "a bundle file holds one YAML document".into(),
        });
    }
    let Some(doc) = docs.pop() else {
        // An empty file contributes nothing.
        return manifest::parse_str(path, "{}")
            .map_err(BundleError::Read)?
            .pop()
            .ok_or_else(|| BundleError::Shape {
                file: path.to_path_buf(),
                line: 0,
                field: String::new(),
                reason: "empty".into(),
            });
    };
    if !doc.value.is_object() {
        return Err(BundleError::Shape {
            file: path.to_path_buf(),
            line: doc.line,
            field: String::new(),
            reason: "a bundle file is a mapping".into(),
        });
    }
    Ok(doc)
}

fn include_patterns(doc: &Document) -> Result<Vec<String>, BundleError> {
    match doc.value.get("include") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(BundleError::Shape {
                    file: doc.file.clone(),
                    line: doc.line_of(&format!("include[{i}]")),
                    field: format!("include[{i}]"),
                    reason: "an include is a file name or glob".into(),
                }),
            })
            .collect(),
        Some(_) => Err(BundleError::Shape {
            file: doc.file.clone(),
            line: doc.line_of("include"),
            field: "include".into(),
            reason: "include is a list of file names or globs".into(),
        }),
    }
}

/// Merges `other` into `base` as the bundle CLI does: mappings key by key, sequences appended,
/// anything else replaced. A resource (`resources.<kind>.<key>`) defined in two files is an error,
/// as in the bundle CLI.
pub fn merge_into(
    base: &mut Value,
    other: Value,
    path: &str,
    from: &Document,
) -> Result<(), BundleError> {
    match (base, other) {
        (Value::Object(b), Value::Object(o)) => {
            for (key, value) in o {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let resource_entry = path.starts_with("resources.") && !path[10..].contains('.');
                match b.get_mut(&key) {
                    Some(existing) if resource_entry => {
                        if !existing.is_null() {
                            return Err(BundleError::DuplicateResource {
                                file: from.file.clone(),
                                line: from.line_of(&child),
                                resource: child,
                            });
                        }
                        *existing = value;
                    }
                    Some(existing) => merge_into(existing, value, &child, from)?,
                    None => {
                        b.insert(key, value);
                    }
                }
            }
            Ok(())
        }
        (Value::Array(b), Value::Array(o)) => {
            b.extend(o);
            Ok(())
        }
        (b, Value::Null) if !b.is_null() => Ok(()),
        (b, o) => {
            *b = o;
            Ok(())
        }
    }
}

/// Merges a target's overrides into a copy of the configuration (`bundle`, `workspace`,
/// `artifacts`, `resources`, `sync`, `permissions`, `presets` deep-merged; `run_as` replaced; the
/// variables handled by [`super::variables`]).
pub fn apply_target(config: &Value, target: &Value) -> Value {
    let mut out = config.clone();
    let Some(obj) = out.as_object_mut() else {
        return out;
    };
    for field in [
        "bundle",
        "workspace",
        "artifacts",
        "resources",
        "sync",
        "permissions",
        "presets",
    ] {
        let Some(over) = target.get(field) else {
            continue;
        };
        match obj.get_mut(field) {
            Some(existing) => deep_merge(existing, over.clone()),
            None => {
                obj.insert(field.to_string(), over.clone());
            }
        }
    }
    if let Some(run_as) = target.get("run_as") {
        obj.insert("run_as".into(), run_as.clone());
    }
    out
}

/// Mappings merged key by key, sequences appended, anything else replaced.
fn deep_merge(base: &mut Value, other: Value) {
    match (base, other) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(o)) => b.extend(o),
        (b, o) => *b = o,
    }
}

/// An empty mapping.
pub fn empty_map() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_target_deep_merges_workspace_and_resources() {
        let config = json!({
            "workspace": {"host": "https://a", "root_path": "/r"},
            "resources": {"apps": {"x": {"name": "x", "config": {"command": ["a"], "env": [{"name": "A", "value": "1"}]}}}}
        });
        let target = json!({
            "workspace": {"host": "https://b"},
            "resources": {"apps": {"x": {"config": {"env": [{"name": "B", "value": "2"}]}}}},
            "run_as": {"service_principal_name": "sp"}
        });
        let merged = apply_target(&config, &target);
        assert_eq!(
            merged["workspace"],
            json!({"host": "https://b", "root_path": "/r"})
        );
        assert_eq!(
            merged["resources"]["apps"]["x"]["config"]["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        );
        assert_eq!(
            merged["resources"]["apps"]["x"]["config"]["command"],
            json!(["a"])
        );
        assert_eq!(merged["run_as"]["service_principal_name"], "sp");
    }
}
