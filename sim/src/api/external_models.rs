//! External models in serving endpoints (`served_entities[].external_model`): an endpoint that
//! fronts a model hosted elsewhere, as an AI gateway does. The simulator checks the shape the
//! serving API takes — `{name, provider, task, <provider>_config}` — and that credential fields
//! are secret references (`{{secrets/scope/key}}`) or plaintext fields the provider allows; it
//! never calls the provider, and invocations answer canned text naming `provider/name`.

use serde_json::{Map, Value, json};

use super::opt_field;
use crate::error::{ApiError, ApiResult};

/// Providers and the key of their settings.
pub const PROVIDERS: [(&str, &str); 9] = [
    ("openai", "openai_config"),
    ("anthropic", "anthropic_config"),
    ("cohere", "cohere_config"),
    ("amazon-bedrock", "amazon_bedrock_config"),
    ("google-cloud-vertex-ai", "google_cloud_vertex_ai_config"),
    (
        "databricks-model-serving",
        "databricks_model_serving_config",
    ),
    ("ai21labs", "ai21labs_config"),
    ("palm", "palm_config"),
    ("custom", "custom_provider_config"),
];

/// Tasks an external model may serve.
pub const TASKS: [&str; 3] = ["llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings"];

/// Validates one served entity with an `external_model` and returns it as stored.
pub fn served_entity(item: &Value, ext: &Value) -> ApiResult<Value> {
    for key in ["entity_name", "entity_version", "workload_type"] {
        if item.get(key).is_some_and(|v| !v.is_null()) {
            return Err(ApiError::invalid(format!(
                "A served entity with external_model cannot set {key}"
            )));
        }
    }
    let name = ext
        .get("name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid("Missing required field: external_model.name"))?;
    let provider = ext
        .get("provider")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some((_, config_key)) = PROVIDERS.iter().find(|(p, _)| *p == provider) else {
        return Err(ApiError::invalid(format!(
            "Invalid external_model.provider '{provider}': expected one of {}",
            PROVIDERS.map(|(p, _)| p).join(", ")
        )));
    };
    let task = ext.get("task").and_then(Value::as_str).unwrap_or_default();
    if !TASKS.contains(&task) {
        return Err(ApiError::invalid(format!(
            "Invalid external_model.task '{task}': expected one of {}",
            TASKS.join(", ")
        )));
    }
    let config = ext
        .get(*config_key)
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "external_model with provider {provider} needs {config_key}"
            ))
        })?;
    for (k, v) in config {
        let secret_field = k.ends_with("_key") || k.ends_with("_secret");
        let is_ref = v
            .as_str()
            .is_some_and(|s| s.starts_with("{{secrets/") && s.ends_with("}}"));
        if secret_field && !is_ref {
            return Err(ApiError::invalid(format!(
                "external_model.{config_key}.{k} must be a secret reference {{{{secrets/<scope>/<key>}}}}; use {k}_plaintext for a literal value"
            )));
        }
    }
    let mut e = Map::new();
    let entity_name = opt_field(item, "name")?.unwrap_or(name).to_string();
    e.insert("name".into(), json!(entity_name));
    e.insert(
        "external_model".into(),
        json!({"name": name, "provider": provider, "task": task, *config_key: config}),
    );
    Ok(Value::Object(e))
}

/// How an invocation names what answered.
pub fn answered_by(entity: &Value) -> Option<String> {
    let ext = entity.get("external_model")?;
    Some(format!(
        "{}/{}",
        ext["provider"].as_str().unwrap_or_default(),
        ext["name"].as_str().unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_api_key_is_refused_and_a_secret_reference_accepted() {
        let item = json!({"name": "gpt"});
        let ok = json!({"name": "gpt-4o", "provider": "openai", "task": "llm/v1/chat",
            "openai_config": {"openai_api_key": "{{secrets/gw/openai}}"}});
        let e = served_entity(&item, &ok).unwrap();
        assert_eq!(e["external_model"]["provider"], "openai");
        let bad = json!({"name": "gpt-4o", "provider": "openai", "task": "llm/v1/chat",
            "openai_config": {"openai_api_key": "sk-123"}});
        assert!(served_entity(&item, &bad).is_err());
        let mixed = json!({"name": "gpt", "entity_name": "a.b.c"});
        assert!(served_entity(&mixed, &ok).is_err());
    }
}
