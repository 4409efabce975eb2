//! Typed Databricks REST client.
