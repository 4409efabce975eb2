//! SCIM: service principals and the current user.

use reqwest::Method;
use serde::Deserialize;

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// A service principal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServicePrincipal {
    /// The SCIM id.
    #[serde(default)]
    pub id: String,
    /// The application id.
    #[serde(default, rename = "applicationId")]
    pub application_id: String,
    /// The display name.
    #[serde(default, rename = "displayName")]
    pub display_name: Option<String>,
    /// Whether active.
    #[serde(default)]
    pub active: Option<bool>,
}

/// The calling identity.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Me {
    /// The SCIM id.
    #[serde(default)]
    pub id: String,
    /// The user name (or application id).
    #[serde(default, rename = "userName")]
    pub user_name: String,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default, rename = "Resources")]
    resources: Vec<ServicePrincipal>,
}

impl Client {
    /// Service principals with an application id (pages until an empty one).
    pub async fn find_service_principals(
        &self,
        application_id: &str,
    ) -> Result<Vec<ServicePrincipal>> {
        let route = "/api/2.0/preview/scim/v2/ServicePrincipals";
        let filter = format!("applicationId eq \"{}\"", application_id.replace('"', ""));
        let mut out = Vec::new();
        let mut start = 1usize;
        for _ in 0..100 {
            let page: Page = self
                .json(
                    Method::GET,
                    route,
                    route,
                    &[
                        ("filter", filter.clone()),
                        ("startIndex", start.to_string()),
                        ("count", "100".into()),
                    ],
                    None,
                )
                .await?;
            if page.resources.is_empty() {
                break;
            }
            start += page.resources.len();
            out.extend(page.resources);
        }
        Ok(out)
    }

    /// A service principal by SCIM id.
    pub async fn get_service_principal(&self, id: &str) -> Result<ServicePrincipal> {
        let p = format!(
            "/api/2.0/preview/scim/v2/ServicePrincipals/{}",
            encode_segment(id)
        );
        self.json(
            Method::GET,
            "/api/2.0/preview/scim/v2/ServicePrincipals/{id}",
            &p,
            &[],
            None,
        )
        .await
    }

    /// The calling identity (a cheap credentials check).
    pub async fn current_user(&self) -> Result<Me> {
        let route = "/api/2.0/preview/scim/v2/Me";
        self.json(Method::GET, route, route, &[], None).await
    }
}
