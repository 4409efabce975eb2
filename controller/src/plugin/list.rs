//! `kubectl agentrelease get` without a name, and `-o json|yaml`: releases as kubectl lists them.

use std::io::Write;

use agentrelease_api::AgentRelease;
use agentrelease_api::conditions::types;

use super::{Output, PluginError};

/// `value` as `-o json` or `-o yaml` prints it.
pub fn print_object(
    out: &mut impl Write,
    value: &impl serde::Serialize,
    format: Output,
) -> Result<(), PluginError> {
    let text = match format {
        Output::Json => serde_json::to_string_pretty(value)
            .map(|s| s + "\n")
            .map_err(|e| PluginError::Encode(e.to_string()))?,
        Output::Yaml => {
            serde_saphyr::to_string(value).map_err(|e| PluginError::Encode(e.to_string()))?
        }
    };
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// A `List` of releases, as `kubectl get -o json` prints several objects.
pub fn list_object(releases: &[AgentRelease]) -> serde_json::Value {
    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": releases})
}

/// The releases as `kubectl get ar` would list them.
pub fn list_table(releases: &[AgentRelease], namespaces: bool, now: jiff::Timestamp) -> String {
    if releases.is_empty() {
        return "No AgentReleases found.\n".into();
    }
    let rows: Vec<[String; 8]> = releases
        .iter()
        .map(|r| {
            let status = r.status.as_ref();
            let ready =
                status.and_then(|s| agentrelease_api::condition::find(&s.conditions, types::READY));
            let age = r
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| super::style::human_duration(now.as_second() - t.0.as_second()))
                .unwrap_or_else(|| "-".into());
            [
                r.metadata.namespace.clone().unwrap_or_default(),
                r.metadata.name.clone().unwrap_or_default(),
                r.spec.target_ref.name.clone(),
                r.spec.version.to_string(),
                status
                    .and_then(|s| s.phase)
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "-".into()),
                ready
                    .map(|c| c.status.as_str().to_string())
                    .unwrap_or_else(|| "-".into()),
                ready
                    .map(|c| c.reason.clone())
                    .unwrap_or_else(|| "-".into()),
                age,
            ]
        })
        .collect();
    let header = [
        "NAMESPACE",
        "NAME",
        "TARGET",
        "N",
        "PHASE",
        "READY",
        "REASON",
        "AGE",
    ];
    if namespaces {
        super::history::table(&header, &rows)
    } else {
        let header: [&str; 7] = [
            header[1], header[2], header[3], header[4], header[5], header[6], header[7],
        ];
        let rows: Vec<[String; 7]> = rows
            .into_iter()
            .map(|[_, a, b, c, d, e, f, g]| [a, b, c, d, e, f, g])
            .collect();
        super::history::table(&header, &rows)
    }
}
