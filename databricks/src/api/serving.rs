//! Model Serving endpoints. Requests can only carry `served_entities` (the legacy
//! `served_models` shape cannot be sent); answers may carry both.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// A served entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedEntity {
    /// The served entity's name.
    #[serde(default)]
    pub name: String,
    /// The model (empty for an external model).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entity_name: String,
    /// The model version (a string in this API; empty for an external model).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entity_version: String,
    /// `Small`, `Medium`, `Large` (empty for an external model).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workload_size: String,
    /// Scale to zero.
    #[serde(default)]
    pub scale_to_zero_enabled: bool,
    /// Compute type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_type: Option<String>,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment_vars: BTreeMap<String, String>,
    /// A model hosted outside Databricks: `{name, provider, task, <provider>_config}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_model: Option<Value>,
}

/// A traffic route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// The served entity.
    #[serde(default, alias = "served_model_name")]
    pub served_entity_name: String,
    /// Percent.
    #[serde(default)]
    pub traffic_percentage: i64,
}

/// Traffic config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficConfig {
    /// Routes.
    #[serde(default)]
    pub routes: Vec<Route>,
}

/// An endpoint config as read back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EndpointConfigOutput {
    /// The version.
    #[serde(default)]
    pub config_version: Option<i64>,
    /// Served entities.
    #[serde(default)]
    pub served_entities: Vec<ServedEntity>,
    /// Traffic.
    #[serde(default)]
    pub traffic_config: Option<TrafficConfig>,
}

/// An endpoint's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EndpointState {
    /// `READY`, `NOT_READY`.
    #[serde(default)]
    pub ready: Option<String>,
    /// `NOT_UPDATING`, `IN_PROGRESS`, `UPDATE_FAILED`, `UPDATE_CANCELED`.
    #[serde(default)]
    pub config_update: Option<String>,
}

/// A serving endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ServingEndpoint {
    /// The hex id (what permissions are keyed by).
    #[serde(default)]
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The state.
    #[serde(default)]
    pub state: EndpointState,
    /// The active config.
    #[serde(default)]
    pub config: Option<EndpointConfigOutput>,
}

/// A config to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointConfigInput {
    /// Served entities.
    pub served_entities: Vec<ServedEntity>,
    /// Traffic.
    pub traffic_config: TrafficConfig,
}

impl Client {
    /// Creates an endpoint.
    pub async fn create_endpoint(
        &self,
        name: &str,
        config: &EndpointConfigInput,
    ) -> Result<ServingEndpoint> {
        let config = Self::to_value("/api/2.0/serving-endpoints", config)?;
        self.json(
            Method::POST,
            "/api/2.0/serving-endpoints",
            "/api/2.0/serving-endpoints",
            &[],
            Some(json!({"name": name, "config": config})),
        )
        .await
    }

    /// An endpoint.
    pub async fn get_endpoint(&self, name: &str) -> Result<ServingEndpoint> {
        let p = format!("/api/2.0/serving-endpoints/{}", encode_segment(name));
        self.json(
            Method::GET,
            "/api/2.0/serving-endpoints/{name}",
            &p,
            &[],
            None,
        )
        .await
    }

    /// Replaces an endpoint's config.
    pub async fn update_endpoint_config(
        &self,
        name: &str,
        config: &EndpointConfigInput,
    ) -> Result<ServingEndpoint> {
        let p = format!("/api/2.0/serving-endpoints/{}/config", encode_segment(name));
        let body = Self::to_value("/api/2.0/serving-endpoints/{name}/config", config)?;
        self.json(
            Method::PUT,
            "/api/2.0/serving-endpoints/{name}/config",
            &p,
            &[],
            Some(body),
        )
        .await
    }

    /// Deletes an endpoint.
    pub async fn delete_endpoint(&self, name: &str) -> Result<()> {
        let p = format!("/api/2.0/serving-endpoints/{}", encode_segment(name));
        self.json::<Value>(
            Method::DELETE,
            "/api/2.0/serving-endpoints/{name}",
            &p,
            &[],
            None,
        )
        .await?;
        Ok(())
    }
}
