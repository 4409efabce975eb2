//! Single objects read to learn that they exist: a vector search index
//! (`GET /api/2.0/vector-search/indexes/{index_name}`), a Genie space
//! (`GET /api/2.0/genie/spaces/{space_id}`), the keys of a secret scope
//! (`GET /api/2.0/secrets/list?scope=`) and a Lakebase database instance
//! (`GET /api/2.0/database/instances/{name}`). A missing one is `NotFound`
//! (`RESOURCE_DOES_NOT_EXIST`).

use reqwest::Method;
use serde::Deserialize;

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// Where a vector search index stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct VectorIndexStatus {
    /// Whether it answers queries.
    #[serde(default)]
    pub ready: Option<bool>,
    /// The platform's message.
    #[serde(default)]
    pub message: Option<String>,
}

/// A vector search index (`VectorIndex`; the fields the operator reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct VectorIndex {
    /// `catalog.schema.index`.
    #[serde(default)]
    pub name: String,
    /// The vector search endpoint serving it.
    #[serde(default)]
    pub endpoint_name: Option<String>,
    /// Its status.
    #[serde(default)]
    pub status: Option<VectorIndexStatus>,
}

/// A Genie space (`GenieSpace`; the fields the operator reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GenieSpace {
    /// The id.
    #[serde(default)]
    pub space_id: String,
    /// The title.
    #[serde(default)]
    pub title: String,
}

/// A key of a secret scope (never its value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SecretMetadata {
    /// The key.
    #[serde(default)]
    pub key: String,
    /// Last change, epoch milliseconds.
    #[serde(default)]
    pub last_updated_timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct SecretList {
    #[serde(default)]
    secrets: Vec<SecretMetadata>,
}

/// A Lakebase database instance (`DatabaseInstance`; the fields the operator reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DatabaseInstance {
    /// The name.
    #[serde(default)]
    pub name: String,
    /// `AVAILABLE`, `STARTING`, `STOPPED`, ...
    #[serde(default)]
    pub state: Option<String>,
}

impl Client {
    /// A vector search index by its full name.
    pub async fn get_vector_index(&self, index_name: &str) -> Result<VectorIndex> {
        let p = format!(
            "/api/2.0/vector-search/indexes/{}",
            encode_segment(index_name)
        );
        self.json(
            Method::GET,
            "/api/2.0/vector-search/indexes/{index_name}",
            &p,
            &[],
            None,
        )
        .await
    }

    /// A Genie space by id.
    pub async fn get_genie_space(&self, space_id: &str) -> Result<GenieSpace> {
        let p = format!("/api/2.0/genie/spaces/{}", encode_segment(space_id));
        self.json(
            Method::GET,
            "/api/2.0/genie/spaces/{space_id}",
            &p,
            &[],
            None,
        )
        .await
    }

    /// The keys of a secret scope (metadata only; needs `READ` on the scope).
    pub async fn list_secrets(&self, scope: &str) -> Result<Vec<SecretMetadata>> {
        let list: SecretList = self
            .json(
                Method::GET,
                "/api/2.0/secrets/list",
                "/api/2.0/secrets/list",
                &[("scope", scope.to_string())],
                None,
            )
            .await?;
        Ok(list.secrets)
    }

    /// A Lakebase database instance by name.
    pub async fn get_database_instance(&self, name: &str) -> Result<DatabaseInstance> {
        let p = format!("/api/2.0/database/instances/{}", encode_segment(name));
        self.json(
            Method::GET,
            "/api/2.0/database/instances/{name}",
            &p,
            &[],
            None,
        )
        .await
    }
}
