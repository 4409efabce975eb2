//! The SQL Statement Execution API: a statement is sent to a warehouse with named parameters,
//! waited on for up to `wait_timeout`, and asked for again by id while it runs. And a SQL
//! warehouse read by id (`GET /api/2.0/sql/warehouses/{id}`).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// A named parameter of a statement (`:name` in the SQL text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementParameter {
    /// The name, without the colon.
    pub name: String,
    /// The value, as a string (the server casts it to `type`).
    pub value: String,
    /// The SQL type, e.g. `STRING`.
    #[serde(rename = "type")]
    pub type_: String,
}

/// The error of a failed statement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StatementError {
    /// The error code.
    #[serde(default)]
    pub error_code: Option<String>,
    /// What the warehouse said.
    #[serde(default)]
    pub message: Option<String>,
}

/// Where a statement stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StatementStatus {
    /// `PENDING`, `RUNNING`, `SUCCEEDED`, `FAILED`, `CANCELED`, `CLOSED`.
    #[serde(default)]
    pub state: String,
    /// Set when it failed.
    #[serde(default)]
    pub error: Option<StatementError>,
}

/// The first chunk of an inline result (`JSON_ARRAY` format: each value a string or null).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StatementResult {
    /// Rows.
    #[serde(default)]
    pub data_array: Vec<Vec<Option<String>>>,
}

/// A column of the result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ColumnInfo {
    /// The name.
    #[serde(default)]
    pub name: String,
}

/// The result's schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResultSchema {
    /// Columns, in order.
    #[serde(default)]
    pub columns: Vec<ColumnInfo>,
}

/// The result's description.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ResultManifest {
    /// The schema.
    #[serde(default)]
    pub schema: ResultSchema,
}

/// A statement as the API answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StatementResponse {
    /// The id to ask for it again by.
    #[serde(default)]
    pub statement_id: String,
    /// Its state.
    #[serde(default)]
    pub status: StatementStatus,
    /// The result's description, once it succeeded.
    #[serde(default)]
    pub manifest: Option<ResultManifest>,
    /// The first chunk of rows, once it succeeded.
    #[serde(default)]
    pub result: Option<StatementResult>,
}

/// A SQL warehouse (`GetWarehouseResponse`; the fields the operator reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Warehouse {
    /// The id.
    #[serde(default)]
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// `RUNNING`, `STOPPED`, `STARTING`, ...
    #[serde(default)]
    pub state: Option<String>,
}

impl Client {
    /// A SQL warehouse by id.
    pub async fn get_warehouse(&self, id: &str) -> Result<Warehouse> {
        let p = format!("/api/2.0/sql/warehouses/{}", encode_segment(id));
        self.json(Method::GET, "/api/2.0/sql/warehouses/{id}", &p, &[], None)
            .await
    }

    /// Sends `statement` to `warehouse_id` and waits up to `wait_timeout` (e.g. `"10s"`) for it;
    /// a statement still running then is left running (`CONTINUE`) and asked for by id.
    pub async fn execute_statement(
        &self,
        warehouse_id: &str,
        statement: &str,
        parameters: &[StatementParameter],
        wait_timeout: &str,
    ) -> Result<StatementResponse> {
        self.json(
            Method::POST,
            "/api/2.0/sql/statements",
            "/api/2.0/sql/statements",
            &[],
            Some(json!({
                "warehouse_id": warehouse_id,
                "statement": statement,
                "parameters": parameters,
                "wait_timeout": wait_timeout,
                "on_wait_timeout": "CONTINUE",
                "format": "JSON_ARRAY",
                "disposition": "INLINE",
            })),
        )
        .await
    }

    /// A statement by id.
    pub async fn get_statement(&self, statement_id: &str) -> Result<StatementResponse> {
        self.json(
            Method::GET,
            "/api/2.0/sql/statements/{statement_id}",
            &format!("/api/2.0/sql/statements/{}", encode_segment(statement_id)),
            &[],
            None,
        )
        .await
    }
}
