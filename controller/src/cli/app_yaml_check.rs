//! `validate`'s look at each release's `app.yaml`: when the app's source folder is in the
//! repository, its `app.yaml` (or `app.yml`) is compared with the release's `command` and `env`
//! and every duplicate or contradiction is a warning (the release's values win). The folder is
//! found from the release's `agentops.dev/source-dir` annotation (a path relative to the
//! manifest, as `import bundle` writes it), or from a workspace seed among the files that maps
//! `<sourceCodePath>/app.yaml` to a file (`from_file`, relative to the seed) or inline `content`.
//! Warnings never change the exit code.

use std::path::Path;

use agentrelease_api::AgentRelease;
use serde_json::Value;

use crate::bundle::release_map::SOURCE_DIR_ANNOTATION;
use crate::cli::validate::LocatedProblem;
use crate::engine::app_yaml;
use crate::manifest::Document;

/// Where an `app.yaml` was found, and its text.
struct Found {
    /// As shown in the warning.
    shown: String,
    text: Result<String, String>,
}

/// The warnings about the `app.yaml` of every release in `releases`, reading seeds among `others`.
pub fn warnings(releases: &[(Document, AgentRelease)], others: &[Document]) -> Vec<LocatedProblem> {
    let mut out = Vec::new();
    for (doc, release) in releases {
        let Some(app) = &release.spec.app else {
            continue;
        };
        let Some(found) = locate(doc, release, &app.source_code_path, others) else {
            continue;
        };
        let label = format!(
            "AgentRelease/{}",
            release.metadata.name.as_deref().unwrap_or("(unnamed)")
        );
        let mut warn = |field: &str, message: String| {
            out.push(LocatedProblem {
                file: doc.file.display().to_string(),
                line: doc.line_of(field),
                object: Some(label.clone()),
                field: field.to_string(),
                message,
            });
        };
        let text = match found.text {
            Ok(text) => text,
            Err(why) => {
                warn("spec.app", format!("{}: not read: {why}", found.shown));
                continue;
            }
        };
        match app_yaml::conflicts(&text, app) {
            Ok(conflicts) => {
                for c in conflicts {
                    let field = match &c {
                        app_yaml::Conflict::CommandDuplicated
                        | app_yaml::Conflict::CommandContradicted { .. } => {
                            "spec.app.command".to_string()
                        }
                        app_yaml::Conflict::EnvDuplicated { name }
                        | app_yaml::Conflict::EnvContradicted { name, .. } => {
                            match app.env.iter().position(|e| &e.name == name) {
                                Some(i) => format!("spec.app.env[{i}]"),
                                None => "spec.app.env".to_string(),
                            }
                        }
                        app_yaml::Conflict::EnvSetByOperator { .. } => "spec.app".to_string(),
                    };
                    warn(&field, format!("{}: {c}", found.shown));
                }
            }
            Err(e) => warn("spec.app", format!("{}: {e}", found.shown)),
        }
    }
    out
}

fn locate(
    doc: &Document,
    release: &AgentRelease,
    source_code_path: &str,
    others: &[Document],
) -> Option<Found> {
    let base = doc.file.parent().unwrap_or(Path::new("."));
    if let Some(dir) = release
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(SOURCE_DIR_ANNOTATION))
    {
        let dir = base.join(dir);
        return app_yaml::FILE_NAMES
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.exists())
            .map(|p| read(&p));
    }
    let source = source_code_path.trim_end_matches('/');
    for seed in others {
        let Some(files) = seed
            .value
            .get("workspace")
            .and_then(|w| w.get("files"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        for name in app_yaml::FILE_NAMES {
            let key = format!("{source}/{name}");
            let Some(entry) = files.get(&key) else {
                continue;
            };
            if let Some(text) = entry.get("content").and_then(Value::as_str) {
                return Some(Found {
                    shown: format!("{} ({key})", seed.file.display()),
                    text: Ok(text.to_string()),
                });
            }
            if let Some(rel) = entry.get("from_file").and_then(Value::as_str) {
                let seed_dir = seed.file.parent().unwrap_or(Path::new("."));
                return Some(read(&seed_dir.join(rel)));
            }
        }
    }
    None
}

fn read(path: &Path) -> Found {
    Found {
        shown: path.display().to_string(),
        text: agentrelease_sim::local_file::read_to_string(path, app_yaml::MAX_BYTES)
            .map_err(|e| e.to_string()),
    }
}
