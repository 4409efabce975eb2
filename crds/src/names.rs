//! Databricks naming rules shared by the CEL rules of the CRDs and by the Rust-side checks.
//!
//! Each rule is written once as an RE2-compatible regular expression (the dialect of CEL's
//! `matches`, understood unchanged by the `regex` crate) so the API server, `agentrelease validate`
//! and the engine can never disagree.

/// One part of a Unity Catalog name (catalog, schema, model, volume, prompt): no period, no
/// whitespace, no slash, no control character (Unity Catalog's own rule), at most 255 characters.
pub const UC_NAME_PART: &str = r"[^.\s/[:cntrl:]]{1,255}";

/// A model name: either a bare workspace-registry name (one part) or a three-part Unity Catalog
/// name `catalog.schema.model`.
pub const MODEL_NAME: &str =
    r"^[^.\s/[:cntrl:]]{1,255}([.][^.\s/[:cntrl:]]{1,255}[.][^.\s/[:cntrl:]]{1,255})?$";

/// A three-part Unity Catalog name `catalog.schema.name`.
pub const THREE_PART_NAME: &str =
    r"^[^.\s/[:cntrl:]]{1,255}[.][^.\s/[:cntrl:]]{1,255}[.][^.\s/[:cntrl:]]{1,255}$";

/// A Unity Catalog table the operator queries over SQL (`catalog.schema.table`): each part
/// letters, digits, `_` and `-` only, so the name can be quoted with backticks and never carries
/// SQL of its own.
pub const SQL_TABLE_NAME: &str =
    r"^[A-Za-z0-9_-]{1,255}[.][A-Za-z0-9_-]{1,255}[.][A-Za-z0-9_-]{1,255}$";

/// A SQL warehouse id: letters and digits.
pub const WAREHOUSE_ID: &str = r"^[A-Za-z0-9]{1,64}$";

/// A two-part Unity Catalog name `catalog.schema`.
pub const TWO_PART_NAME: &str = r"^[^.\s/[:cntrl:]]{1,255}[.][^.\s/[:cntrl:]]{1,255}$";

/// A single Unity Catalog identifier (a catalog, a schema, a volume).
pub const ONE_PART_NAME: &str = r"^[^.\s/[:cntrl:]]{1,255}$";

/// A model alias: letters, digits, `_` and `-` (MLflow's rule). `latest` and `v<digits>` are
/// reserved by MLflow and refused separately.
pub const ALIAS: &str = r"^[A-Za-z0-9_-]{1,255}$";

/// Aliases MLflow reserves: `latest` in any case.
pub const RESERVED_ALIAS_LATEST: &str = r"^(?i)latest$";

/// Aliases MLflow reserves: `v` followed by digits (they read as version references).
pub const RESERVED_ALIAS_VERSION: &str = r"^[vV][0-9]+$";

/// A Databricks App name: 2 to 30 characters, lowercase letters, digits and hyphens, starting and
/// ending with a letter or digit.
pub const APP_NAME: &str = r"^[a-z0-9][a-z0-9-]{0,28}[a-z0-9]$";

/// A serving endpoint name: letters, digits, `-` and `_`, at most 63 characters.
pub const ENDPOINT_NAME: &str = r"^[A-Za-z0-9_-]{1,63}$";

/// A served entity name inside an endpoint (the key traffic routes refer to).
pub const SERVED_ENTITY_NAME: &str = r"^[A-Za-z0-9_-]{1,63}$";

/// An environment variable name.
pub const ENV_NAME: &str = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$";

/// A logged model id as MLflow 3 issues it (`m-` and 32 lowercase hex digits).
pub const LOGGED_MODEL_ID: &str = r"^m-[0-9a-f]{32}$";

/// A Kubernetes object name (a lowercase DNS subdomain).
pub const K8S_NAME: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// The key of an app resource (what `valueFrom` refers to).
pub const APP_RESOURCE_KEY: &str = r"^[A-Za-z0-9_-]{1,128}$";

/// A model version written as a string (serving endpoints take it that way).
pub const VERSION_STRING: &str = r"^[1-9][0-9]{0,9}$";

/// A duration in Go's notation as Kubernetes tools write it (`30s`, `5m`, `1h30m`).
pub const DURATION: &str = r"^([0-9]+(ms|s|m|h))+$";

/// Environment variables the operator sets on every app deployment; a release may not set them.
pub const RESERVED_ENV: [&str; 7] = [
    "MLFLOW_ACTIVE_MODEL_ID",
    "ENABLE_MLFLOW_TRACING",
    "MLFLOW_EXPERIMENT_ID",
    "APP_ENVIRONMENT",
    "LLM_GATEWAY_BASE_URL",
    "LLM_GATEWAY_MODEL",
    "MCP_GATEWAY_BASE_URL",
];

/// Splits a model name into its registry: three parts live in Unity Catalog, one part in the
/// workspace MLflow registry. Returns `None` for any other shape.
pub fn registry_of(model_name: &str) -> Option<Registry> {
    match model_name.split('.').count() {
        1 if !model_name.is_empty() => Some(Registry::WorkspaceRegistry),
        3 if model_name.split('.').all(|p| !p.is_empty()) => Some(Registry::UnityCatalog),
        _ => None,
    }
}

/// Where a registered model lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry {
    /// Unity Catalog (`catalog.schema.model`).
    UnityCatalog,
    /// The workspace MLflow model registry (a bare name).
    WorkspaceRegistry,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_follows_the_number_of_parts() {
        assert_eq!(
            registry_of("main.agents.skyloyalty"),
            Some(Registry::UnityCatalog)
        );
        assert_eq!(registry_of("skyloyalty"), Some(Registry::WorkspaceRegistry));
        assert_eq!(registry_of("main.skyloyalty"), None);
        assert_eq!(registry_of("a..b"), None);
        assert_eq!(registry_of(""), None);
    }
}
