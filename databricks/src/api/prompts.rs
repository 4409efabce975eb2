//! The Unity Catalog prompt registry.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// A prompt version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PromptVersion {
    /// `catalog.schema.prompt`.
    #[serde(default)]
    pub name: String,
    /// The version (a string in this API).
    #[serde(default)]
    pub version: String,
    /// The stored template (JSON-encoded by MLflow clients).
    #[serde(default)]
    pub template: Option<String>,
}

const BASE: &str = "/api/2.0/mlflow/unity-catalog/prompts";

impl Client {
    /// The prompt version an alias names.
    pub async fn get_prompt_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<PromptVersion> {
        let p = format!(
            "{BASE}/{}/versions/by-alias/{}",
            encode_segment(name),
            encode_segment(alias)
        );
        self.json(
            Method::GET,
            "/api/2.0/mlflow/unity-catalog/prompts/{name}/versions/by-alias/{alias}",
            &p,
            &[],
            None,
        )
        .await
    }

    /// Points a prompt alias at a version.
    pub async fn set_prompt_alias(&self, name: &str, alias: &str, version: &str) -> Result<()> {
        let p = format!(
            "{BASE}/{}/aliases/{}",
            encode_segment(name),
            encode_segment(alias)
        );
        self.json::<serde_json::Value>(
            Method::POST,
            "/api/2.0/mlflow/unity-catalog/prompts/{name}/aliases/{alias}",
            &p,
            &[],
            Some(json!({"name": name, "alias": alias, "version": version})),
        )
        .await?;
        Ok(())
    }
}
