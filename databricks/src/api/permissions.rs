//! The Permissions API for workspace objects.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// An object with an ACL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AclObjectType {
    /// `serving-endpoints/{endpoint id}`.
    ServingEndpoint,
    /// `apps/{name}`.
    App,
    /// `warehouses/{id}`.
    Warehouse,
    /// `experiments/{experiment id}`.
    Experiment,
}

impl AclObjectType {
    fn segment(self) -> &'static str {
        match self {
            AclObjectType::ServingEndpoint => "serving-endpoints",
            AclObjectType::App => "apps",
            AclObjectType::Warehouse => "warehouses",
            AclObjectType::Experiment => "experiments",
        }
    }
}

/// One entry to send: exactly one principal key is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessControlRequest {
    /// A user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// A group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// A service principal (application id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_principal_name: Option<String>,
    /// The level.
    pub permission_level: String,
}

/// A level held.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Permission {
    /// The level.
    #[serde(default)]
    pub permission_level: String,
    /// Whether it is inherited.
    #[serde(default)]
    pub inherited: bool,
}

/// An entry read back.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccessControlResponse {
    /// A user.
    #[serde(default)]
    pub user_name: Option<String>,
    /// A group.
    #[serde(default)]
    pub group_name: Option<String>,
    /// A service principal.
    #[serde(default)]
    pub service_principal_name: Option<String>,
    /// Levels held.
    #[serde(default)]
    pub all_permissions: Vec<Permission>,
}

/// An object's ACL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ObjectPermissions {
    /// Entries.
    #[serde(default)]
    pub access_control_list: Vec<AccessControlResponse>,
}

impl Client {
    fn acl_path(object: AclObjectType, id: &str) -> String {
        format!(
            "/api/2.0/permissions/{}/{}",
            object.segment(),
            encode_segment(id)
        )
    }

    fn acl_route(object: AclObjectType) -> &'static str {
        match object {
            AclObjectType::ServingEndpoint => "/api/2.0/permissions/serving-endpoints/{id}",
            AclObjectType::App => "/api/2.0/permissions/apps/{name}",
            AclObjectType::Warehouse => "/api/2.0/permissions/warehouses/{id}",
            AclObjectType::Experiment => "/api/2.0/permissions/experiments/{id}",
        }
    }

    /// An object's ACL (direct and inherited).
    pub async fn get_permissions(
        &self,
        object: AclObjectType,
        id: &str,
    ) -> Result<ObjectPermissions> {
        self.json(
            Method::GET,
            Self::acl_route(object),
            &Self::acl_path(object, id),
            &[],
            None,
        )
        .await
    }

    /// Upserts entries (PATCH; entries not named are kept).
    pub async fn update_permissions(
        &self,
        object: AclObjectType,
        id: &str,
        entries: &[AccessControlRequest],
    ) -> Result<ObjectPermissions> {
        self.write_acl(Method::PATCH, object, id, entries).await
    }

    /// Replaces the direct entries (PUT).
    pub async fn set_permissions(
        &self,
        object: AclObjectType,
        id: &str,
        entries: &[AccessControlRequest],
    ) -> Result<ObjectPermissions> {
        self.write_acl(Method::PUT, object, id, entries).await
    }

    async fn write_acl(
        &self,
        method: Method,
        object: AclObjectType,
        id: &str,
        entries: &[AccessControlRequest],
    ) -> Result<ObjectPermissions> {
        self.json(
            method,
            Self::acl_route(object),
            &Self::acl_path(object, id),
            &[],
            Some(json!({"access_control_list": entries})),
        )
        .await
    }
}
