//! Workspace objects (folders and files of the workspace tree).

use base64::Engine;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;

use crate::client::Client;
use crate::error::Result;

/// A workspace object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ObjectInfo {
    /// `DIRECTORY`, `FILE`, `NOTEBOOK`, `REPO`, ...
    #[serde(default)]
    pub object_type: String,
    /// The path.
    #[serde(default)]
    pub path: String,
}

impl Client {
    /// A workspace object's status.
    pub async fn get_status(&self, path: &str) -> Result<ObjectInfo> {
        self.json(
            Method::GET,
            "/api/2.0/workspace/get-status",
            "/api/2.0/workspace/get-status",
            &[("path", path.to_string())],
            None,
        )
        .await
    }

    /// Creates a folder and its parents.
    pub async fn mkdirs(&self, path: &str) -> Result<()> {
        self.json::<serde_json::Value>(
            Method::POST,
            "/api/2.0/workspace/mkdirs",
            "/api/2.0/workspace/mkdirs",
            &[],
            Some(json!({"path": path})),
        )
        .await?;
        Ok(())
    }

    /// Imports a file (format AUTO).
    pub async fn import_file(&self, path: &str, content: &[u8], overwrite: bool) -> Result<()> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        self.json::<serde_json::Value>(
            Method::POST,
            "/api/2.0/workspace/import",
            "/api/2.0/workspace/import",
            &[],
            Some(
                json!({"path": path, "content": encoded, "format": "AUTO", "overwrite": overwrite}),
            ),
        )
        .await?;
        Ok(())
    }

    /// Exports a workspace file's content (`direct_download`), refusing more than `max_bytes`
    /// (`TooLarge`).
    pub async fn export_file(&self, path: &str, max_bytes: u64) -> Result<bytes::Bytes> {
        let answer = self
            .send(
                Method::GET,
                "/api/2.0/workspace/export",
                "/api/2.0/workspace/export",
                &[
                    ("path", path.to_string()),
                    ("direct_download", "true".to_string()),
                ],
                crate::client::Body::Empty,
                max_bytes,
            )
            .await?;
        Ok(answer.body)
    }

    /// Deletes a workspace object (not recursive).
    pub async fn delete_object(&self, path: &str) -> Result<()> {
        self.json::<serde_json::Value>(
            Method::POST,
            "/api/2.0/workspace/delete",
            "/api/2.0/workspace/delete",
            &[],
            Some(json!({"path": path, "recursive": false})),
        )
        .await?;
        Ok(())
    }
}
