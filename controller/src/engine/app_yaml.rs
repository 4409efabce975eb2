//! The app's own `app.yaml` against the release: the documents' common mistake is an `env` or
//! `command` in `app.yaml` that the release (like a bundle's `config` block) also sets. The
//! deployment's `command` and `env_vars` override `app.yaml`, so the release's values win; a
//! value set in both places is reported — the same value as a duplicate to remove, a different
//! one as a contradiction that `app.yaml` loses. The operator's own variables
//! (`MLFLOW_ACTIVE_MODEL_ID`...) set in `app.yaml` are overridden too. Pure: the caller reads the
//! file (from the repository in `validate`, from the workspace in a pass).

use std::path::Path;

use agentrelease_api::release::AppSpec;
use serde_json::Value;

use crate::manifest;

/// The file names the Apps runtime reads, in its order.
pub const FILE_NAMES: [&str; 2] = ["app.yaml", "app.yml"];

/// The largest `app.yaml` read.
pub const MAX_BYTES: u64 = 256 * 1024;

/// Variables the operator sets in every deployment.
const OPERATOR_ENV: &[&str] = &[
    "MLFLOW_ACTIVE_MODEL_ID",
    "ENABLE_MLFLOW_TRACING",
    "MLFLOW_EXPERIMENT_ID",
    "APP_ENVIRONMENT",
    "LLM_GATEWAY_BASE_URL",
    "LLM_GATEWAY_MODEL",
    "MCP_GATEWAY_BASE_URL",
];

/// One value that `app.yaml` and the release both set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conflict {
    /// The same command in both: the one in `app.yaml` is dead weight.
    CommandDuplicated,
    /// Two different commands: the release's runs.
    CommandContradicted {
        /// `app.yaml`'s.
        app_yaml: Vec<String>,
        /// The release's.
        release: Vec<String>,
    },
    /// The same variable with the same value in both.
    EnvDuplicated {
        /// The variable.
        name: String,
    },
    /// The same variable with different values: the release's is used.
    EnvContradicted {
        /// The variable.
        name: String,
        /// `app.yaml`'s value (or `valueFrom: key`).
        app_yaml: String,
        /// The release's.
        release: String,
    },
    /// A variable the operator sets from the release and its target.
    EnvSetByOperator {
        /// The variable.
        name: String,
    },
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::CommandDuplicated => f.write_str(
                "command is also set by the release (same value); remove it from app.yaml",
            ),
            Conflict::CommandContradicted { app_yaml, release } => write!(
                f,
                "command {app_yaml:?} contradicts the release's {release:?}; the release's runs"
            ),
            Conflict::EnvDuplicated { name } => write!(
                f,
                "env {name} is also set by the release (same value); remove it from app.yaml"
            ),
            Conflict::EnvContradicted {
                name,
                app_yaml,
                release,
            } => write!(
                f,
                "env {name}={app_yaml} contradicts the release's {name}={release}; the release's value is used"
            ),
            Conflict::EnvSetByOperator { name } => write!(
                f,
                "env {name} is set by the operator from the release and its target; app.yaml's value is overridden"
            ),
        }
    }
}

/// Why an `app.yaml` could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum AppYamlError {
    /// Not YAML.
    #[error("does not parse: {0}")]
    Yaml(String),
    /// Not the shape the Apps runtime reads.
    #[error("{field}: {reason}")]
    Shape {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

impl AppYamlError {
    /// A short category for messages and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            AppYamlError::Yaml(_) => "yaml",
            AppYamlError::Shape { .. } => "shape",
        }
    }
}

/// The conflicts between the text of an `app.yaml` and the release's app.
pub fn conflicts(text: &str, app: &AppSpec) -> Result<Vec<Conflict>, AppYamlError> {
    let doc = manifest::parse_str(Path::new("app.yaml"), text)
        .map_err(|e| AppYamlError::Yaml(e.reason()))?
        .into_iter()
        .next();
    let Some(doc) = doc else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    match doc.value.get("command") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let command: Option<Vec<String>> = items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect();
            let Some(command) = command else {
                return Err(AppYamlError::Shape {
                    field: "command",
                    reason: "a list of strings",
                });
            };
            if !app.command.is_empty() {
                out.push(if command == app.command {
                    Conflict::CommandDuplicated
                } else {
                    Conflict::CommandContradicted {
                        app_yaml: command,
                        release: app.command.clone(),
                    }
                });
            }
        }
        Some(_) => {
            return Err(AppYamlError::Shape {
                field: "command",
                reason: "a list of strings",
            });
        }
    }
    let env = match doc.value.get("env") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            return Err(AppYamlError::Shape {
                field: "env",
                reason: "a list of name/value entries",
            });
        }
    };
    for entry in env {
        let Some(name) = entry.get("name").and_then(Value::as_str) else {
            return Err(AppYamlError::Shape {
                field: "env",
                reason: "every entry has a name",
            });
        };
        if OPERATOR_ENV.contains(&name) {
            out.push(Conflict::EnvSetByOperator { name: name.into() });
            continue;
        }
        let Some(ours) = app.env.iter().find(|e| e.name == name) else {
            continue;
        };
        let theirs = describe(
            entry.get("value").map(scalar).as_deref(),
            entry.get("valueFrom").and_then(Value::as_str),
        );
        let mine = describe(ours.value.as_deref(), ours.value_from.as_deref());
        out.push(if theirs == mine {
            Conflict::EnvDuplicated { name: name.into() }
        } else {
            Conflict::EnvContradicted {
                name: name.into(),
                app_yaml: theirs,
                release: mine,
            }
        });
    }
    Ok(out)
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn describe(value: Option<&str>, value_from: Option<&str>) -> String {
    match (value, value_from) {
        (Some(v), _) => v.to_string(),
        (None, Some(r)) => format!("(valueFrom {r})"),
        (None, None) => "(empty)".into(),
    }
}

/// One line naming the file and every conflict, for a condition message.
pub fn summary(path: &str, conflicts: &[Conflict]) -> String {
    let parts: Vec<String> = conflicts.iter().map(ToString::to_string).collect();
    format!("{path}: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrelease_api::release::EnvVar;

    fn app() -> AppSpec {
        AppSpec {
            name: "a".into(),
            description: None,
            source_code_path: "/Workspace/a".into(),
            command: vec!["python".into(), "app.py".into()],
            env: vec![
                EnvVar {
                    name: "LOG_LEVEL".into(),
                    value: Some("INFO".into()),
                    value_from: None,
                },
                EnvVar {
                    name: "WH".into(),
                    value: None,
                    value_from: Some("warehouse".into()),
                },
            ],
            resources: Vec::new(),
        }
    }

    #[test]
    fn duplicates_and_contradictions_are_told_apart() {
        let text = "command: [python, app.py]\nenv:\n  - name: LOG_LEVEL\n    value: WARNING\n  - name: WH\n    valueFrom: warehouse\n  - name: OTHER\n    value: x\n  - name: MLFLOW_ACTIVE_MODEL_ID\n    value: m-1\n";
        let found = conflicts(text, &app()).unwrap();
        assert_eq!(
            found,
            [
                Conflict::CommandDuplicated,
                Conflict::EnvContradicted {
                    name: "LOG_LEVEL".into(),
                    app_yaml: "WARNING".into(),
                    release: "INFO".into()
                },
                Conflict::EnvDuplicated { name: "WH".into() },
                Conflict::EnvSetByOperator {
                    name: "MLFLOW_ACTIVE_MODEL_ID".into()
                },
            ]
        );
        assert_eq!(
            found[1].to_string(),
            "env LOG_LEVEL=WARNING contradicts the release's LOG_LEVEL=INFO; the release's value is used"
        );
    }

    #[test]
    fn a_different_command_contradicts_and_no_release_command_is_no_conflict() {
        let found = conflicts("command: [gunicorn, app:app]\n", &app()).unwrap();
        assert!(matches!(found[..], [Conflict::CommandContradicted { .. }]));
        let mut bare = app();
        bare.command.clear();
        bare.env.clear();
        assert!(
            conflicts(
                "command: [gunicorn]\nenv:\n  - name: A\n    value: b\n",
                &bare
            )
            .unwrap()
            .is_empty()
        );
    }

    #[test]
    fn a_malformed_app_yaml_is_an_error_not_a_panic() {
        assert!(matches!(
            conflicts("command: python app.py\n", &app()),
            Err(AppYamlError::Shape {
                field: "command",
                ..
            })
        ));
        assert!(matches!(
            conflicts("env: [\n", &app()),
            Err(AppYamlError::Yaml(_))
        ));
        assert!(conflicts("# only a comment\n", &app()).unwrap().is_empty());
    }
}
