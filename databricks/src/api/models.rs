//! Unity Catalog registered models and the workspace model registry.

use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// An alias of a registered model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModelAlias {
    /// The alias.
    #[serde(default, alias = "alias")]
    pub alias_name: String,
    /// The version.
    #[serde(default)]
    pub version_num: i64,
}

/// A Unity Catalog registered model.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RegisteredModelInfo {
    /// `catalog.schema.model`.
    #[serde(default)]
    pub full_name: String,
    /// The owner.
    #[serde(default)]
    pub owner: Option<String>,
    /// Aliases (with `include_aliases`).
    #[serde(default)]
    pub aliases: Vec<ModelAlias>,
}

/// A model version (Unity Catalog or workspace registry).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModelVersionInfo {
    /// The version number.
    #[serde(default, deserialize_with = "int_or_string")]
    pub version: i64,
    /// `READY`, `PENDING_REGISTRATION`, `FAILED_REGISTRATION`, ...
    #[serde(default)]
    pub status: String,
    /// The producing run.
    #[serde(default)]
    pub run_id: Option<String>,
    /// The MLflow 3 logged model id.
    #[serde(default)]
    pub model_id: Option<String>,
    /// The artifact source.
    #[serde(default)]
    pub source: Option<String>,
    /// Registration time, epoch milliseconds (`created_at` in Unity Catalog,
    /// `creation_timestamp` in the workspace registry).
    #[serde(default, alias = "creation_timestamp")]
    pub created_at: Option<i64>,
    /// The version's tags, as the registry reports them.
    #[serde(default)]
    pub tags: Vec<ModelVersionTag>,
}

/// A tag of a model version.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModelVersionTag {
    /// The key.
    pub key: String,
    /// The value.
    #[serde(default)]
    pub value: String,
}

/// One page of a model's versions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModelVersionPage {
    /// The versions on this page.
    #[serde(default)]
    pub model_versions: Vec<ModelVersionInfo>,
    /// The next page, when there is one.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<i64, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    match v {
        serde_json::Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("version out of range")),
        serde_json::Value::String(s) => s.parse().map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("expected a version number")),
    }
}

#[derive(Deserialize)]
struct RegistryVersion {
    model_version: ModelVersionInfo,
}

const UC: &str = "/api/2.1/unity-catalog/models";

impl Client {
    /// A Unity Catalog registered model.
    pub async fn get_registered_model(
        &self,
        full_name: &str,
        include_aliases: bool,
    ) -> Result<RegisteredModelInfo> {
        let p = format!("{UC}/{}", encode_segment(full_name));
        self.json(
            Method::GET,
            "/api/2.1/unity-catalog/models/{full_name}",
            &p,
            &[("include_aliases", include_aliases.to_string())],
            None,
        )
        .await
    }

    /// A Unity Catalog model version.
    pub async fn get_model_version(
        &self,
        full_name: &str,
        version: i64,
    ) -> Result<ModelVersionInfo> {
        let p = format!("{UC}/{}/versions/{version}", encode_segment(full_name));
        self.json(
            Method::GET,
            "/api/2.1/unity-catalog/models/{full_name}/versions/{version}",
            &p,
            &[],
            None,
        )
        .await
    }

    /// One page of a Unity Catalog model's versions (`max_results` per page).
    pub async fn list_model_versions(
        &self,
        full_name: &str,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<ModelVersionPage> {
        let p = format!("{UC}/{}/versions", encode_segment(full_name));
        let mut query = vec![("max_results", max_results.to_string())];
        if let Some(token) = page_token {
            query.push(("page_token", token.to_string()));
        }
        self.json(
            Method::GET,
            "/api/2.1/unity-catalog/models/{full_name}/versions",
            &p,
            &query,
            None,
        )
        .await
    }

    /// The Unity Catalog model version an alias names.
    pub async fn get_model_version_by_alias(
        &self,
        full_name: &str,
        alias: &str,
    ) -> Result<ModelVersionInfo> {
        let p = format!(
            "{UC}/{}/aliases/{}",
            encode_segment(full_name),
            encode_segment(alias)
        );
        self.json(
            Method::GET,
            "/api/2.1/unity-catalog/models/{full_name}/aliases/{alias}",
            &p,
            &[],
            None,
        )
        .await
    }

    /// Points a Unity Catalog model alias at a version.
    pub async fn set_model_alias(
        &self,
        full_name: &str,
        alias: &str,
        version: i64,
    ) -> Result<ModelAlias> {
        let p = format!(
            "{UC}/{}/aliases/{}",
            encode_segment(full_name),
            encode_segment(alias)
        );
        self.json(
            Method::PUT,
            "/api/2.1/unity-catalog/models/{full_name}/aliases/{alias}",
            &p,
            &[],
            Some(json!({"full_name": full_name, "alias": alias, "version_num": version})),
        )
        .await
    }

    /// Removes a Unity Catalog model alias.
    pub async fn delete_model_alias(&self, full_name: &str, alias: &str) -> Result<()> {
        let p = format!(
            "{UC}/{}/aliases/{}",
            encode_segment(full_name),
            encode_segment(alias)
        );
        self.json::<serde_json::Value>(
            Method::DELETE,
            "/api/2.1/unity-catalog/models/{full_name}/aliases/{alias}",
            &p,
            &[],
            None,
        )
        .await?;
        Ok(())
    }

    /// A workspace-registry model version.
    pub async fn registry_get_version(&self, name: &str, version: i64) -> Result<ModelVersionInfo> {
        let v: RegistryVersion = self
            .json(
                Method::GET,
                "/api/2.0/mlflow/model-versions/get",
                "/api/2.0/mlflow/model-versions/get",
                &[("name", name.to_string()), ("version", version.to_string())],
                None,
            )
            .await?;
        Ok(v.model_version)
    }

    /// The workspace-registry version an alias names.
    pub async fn registry_get_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersionInfo> {
        let v: RegistryVersion = self
            .json(
                Method::GET,
                "/api/2.0/mlflow/registered-models/alias",
                "/api/2.0/mlflow/registered-models/alias",
                &[("name", name.to_string()), ("alias", alias.to_string())],
                None,
            )
            .await?;
        Ok(v.model_version)
    }

    /// Points a workspace-registry alias at a version.
    pub async fn registry_set_alias(&self, name: &str, alias: &str, version: i64) -> Result<()> {
        self.json::<serde_json::Value>(
            Method::POST,
            "/api/2.0/mlflow/registered-models/alias",
            "/api/2.0/mlflow/registered-models/alias",
            &[],
            Some(json!({"name": name, "alias": alias, "version": version.to_string()})),
        )
        .await?;
        Ok(())
    }

    /// Removes a workspace-registry alias. The name and alias go in the query (Databricks) and
    /// in a JSON body (open-source MLflow reads DELETE parameters from the body).
    pub async fn registry_delete_alias(&self, name: &str, alias: &str) -> Result<()> {
        self.json::<serde_json::Value>(
            Method::DELETE,
            "/api/2.0/mlflow/registered-models/alias",
            "/api/2.0/mlflow/registered-models/alias",
            &[("name", name.to_string()), ("alias", alias.to_string())],
            Some(json!({"name": name, "alias": alias})),
        )
        .await?;
        Ok(())
    }
}
