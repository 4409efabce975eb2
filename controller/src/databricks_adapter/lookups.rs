//! The existence reads of [`Lookup`] objects on the typed client: one GET each; `NotFound`
//! becomes `false`, every other failure keeps the client's classification.

use agentrelease_databricks as dbx;

use super::found;
use crate::engine::workspace::{Lookup, WsResult};

/// Whether `object` exists.
pub(super) async fn exists(client: &dbx::Client, object: &Lookup) -> WsResult<bool> {
    match object {
        Lookup::Schema(name) => present(client.get_schema(name).await, "read schema"),
        Lookup::Function(name) => present(client.get_function(name).await, "read function"),
        Lookup::Table(name) => present(client.get_table(name).await, "read table"),
        Lookup::VectorIndex(name) => present(
            client.get_vector_index(name).await,
            "read vector search index",
        ),
        Lookup::GenieSpace(id) => present(client.get_genie_space(id).await, "read Genie space"),
        Lookup::Warehouse(id) => present(client.get_warehouse(id).await, "read SQL warehouse"),
        Lookup::Secret { scope, key } => Ok(found(
            client.list_secrets(scope).await,
            "list secret scope",
        )?
        .is_some_and(|keys| keys.iter().any(|k| k.key == *key))),
        Lookup::DatabaseInstance(name) => present(
            client.get_database_instance(name).await,
            "read database instance",
        ),
    }
}

fn present<T>(r: dbx::Result<T>, operation: &str) -> WsResult<bool> {
    found(r, operation).map(|v| v.is_some())
}
