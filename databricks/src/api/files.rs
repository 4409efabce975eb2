//! The Files API for Unity Catalog volumes.

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;

use crate::client::{Body, Client, decode, encode_path};
use crate::error::Result;

/// An entry of a volume directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DirectoryEntry {
    /// The full path.
    #[serde(default)]
    pub path: String,
    /// The last segment.
    #[serde(default)]
    pub name: String,
    /// Whether it is a directory.
    #[serde(default)]
    pub is_directory: bool,
    /// The size in bytes (files).
    #[serde(default)]
    pub file_size: Option<i64>,
    /// Last modification, epoch milliseconds.
    #[serde(default)]
    pub last_modified: Option<i64>,
}

#[derive(Deserialize)]
struct ListPage {
    #[serde(default)]
    contents: Vec<DirectoryEntry>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// Metadata of a volume file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMetadata {
    /// Its size.
    pub content_length: Option<u64>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
}

impl Client {
    /// Downloads a volume file, refusing more than `max_bytes` (`TooLarge`).
    pub async fn download_file(&self, path: &str, max_bytes: u64) -> Result<Bytes> {
        let p = format!("/api/2.0/fs/files{}", encode_path(path));
        let answer = self
            .send(
                Method::GET,
                "/api/2.0/fs/files{path}",
                &p,
                &[],
                Body::Empty,
                max_bytes,
            )
            .await?;
        Ok(answer.body)
    }

    /// Uploads a volume file; with `overwrite = false` an existing file is `AlreadyExists`.
    pub async fn upload_file(&self, path: &str, content: &Bytes, overwrite: bool) -> Result<()> {
        let p = format!("/api/2.0/fs/files{}", encode_path(path));
        self.send(
            Method::PUT,
            "/api/2.0/fs/files{path}",
            &p,
            &[("overwrite", overwrite.to_string())],
            Body::Raw(content),
            64 * 1024,
        )
        .await?;
        Ok(())
    }

    /// A file's metadata (HEAD).
    pub async fn file_metadata(&self, path: &str) -> Result<FileMetadata> {
        let p = format!("/api/2.0/fs/files{}", encode_path(path));
        let answer = self
            .send(
                Method::HEAD,
                "/api/2.0/fs/files{path}",
                &p,
                &[],
                Body::Empty,
                0,
            )
            .await?;
        let header = |name: reqwest::header::HeaderName| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(FileMetadata {
            content_length: header(reqwest::header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        })
    }

    /// Lists a volume directory (every page).
    pub async fn list_directory(&self, path: &str) -> Result<Vec<DirectoryEntry>> {
        let p = format!("/api/2.0/fs/directories{}", encode_path(path));
        let route = "/api/2.0/fs/directories{path}";
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let mut q = vec![("page_size", "1000".to_string())];
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let answer = self
                .send(Method::GET, route, &p, &q, Body::Empty, 16 * 1024 * 1024)
                .await?;
            let page: ListPage = decode(route, &answer.body)?;
            out.extend(page.contents);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }

    /// Creates a volume directory and its parents.
    pub async fn create_directory(&self, path: &str) -> Result<()> {
        let p = format!("/api/2.0/fs/directories{}", encode_path(path));
        self.send(
            Method::PUT,
            "/api/2.0/fs/directories{path}",
            &p,
            &[],
            Body::Empty,
            64 * 1024,
        )
        .await?;
        Ok(())
    }
}
