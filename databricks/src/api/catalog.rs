//! Unity Catalog schemas, functions and tables, read one at a time by full name
//! (`GET /api/2.1/unity-catalog/{schemas,functions,tables}/{full_name}`). A missing object is
//! `NotFound` (`RESOURCE_DOES_NOT_EXIST`); one the principal may not see is `PermissionDenied`.

use reqwest::Method;
use serde::Deserialize;

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// A schema (`SchemaInfo`; the fields the operator reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SchemaInfo {
    /// `catalog.schema`.
    #[serde(default)]
    pub full_name: String,
    /// The owner.
    #[serde(default)]
    pub owner: Option<String>,
}

/// A Unity Catalog function (`FunctionInfo`; the fields the operator reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct FunctionInfo {
    /// `catalog.schema.function`.
    #[serde(default)]
    pub full_name: String,
    /// `SQL` or `EXTERNAL` (Python).
    #[serde(default)]
    pub routine_body: Option<String>,
}

/// A table or view (`TableInfo`; the fields the operator reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct TableInfo {
    /// `catalog.schema.table`.
    #[serde(default)]
    pub full_name: String,
    /// `MANAGED`, `EXTERNAL`, `VIEW`, ...
    #[serde(default)]
    pub table_type: Option<String>,
}

impl Client {
    /// A schema by its full name.
    pub async fn get_schema(&self, full_name: &str) -> Result<SchemaInfo> {
        let p = format!(
            "/api/2.1/unity-catalog/schemas/{}",
            encode_segment(full_name)
        );
        self.json(
            Method::GET,
            "/api/2.1/unity-catalog/schemas/{full_name}",
            &p,
            &[],
            None,
        )
        .await
    }

    /// A Unity Catalog function by its full name.
    pub async fn get_function(&self, full_name: &str) -> Result<FunctionInfo> {
        let p = format!(
            "/api/2.1/unity-catalog/functions/{}",
            encode_segment(full_name)
        );
        self.json(
            Method::GET,
            "/api/2.1/unity-catalog/functions/{name}",
            &p,
            &[],
            None,
        )
        .await
    }

    /// A table or view by its full name.
    pub async fn get_table(&self, full_name: &str) -> Result<TableInfo> {
        let p = format!(
            "/api/2.1/unity-catalog/tables/{}",
            encode_segment(full_name)
        );
        self.json(
            Method::GET,
            "/api/2.1/unity-catalog/tables/{full_name}",
            &p,
            &[],
            None,
        )
        .await
    }
}
