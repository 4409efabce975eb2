//! Unity Catalog grants.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// A principal's privileges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivilegeAssignment {
    /// The principal.
    #[serde(default)]
    pub principal: String,
    /// The privileges.
    #[serde(default)]
    pub privileges: Vec<String>,
}

/// A change of a principal's privileges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionsChange {
    /// The principal.
    pub principal: String,
    /// Privileges to add.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Privileges to remove.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

#[derive(Deserialize)]
struct GrantsPage {
    #[serde(default)]
    privilege_assignments: Vec<PrivilegeAssignment>,
    #[serde(default)]
    next_page_token: Option<String>,
}

impl Client {
    /// The direct privileges on a securable (every page).
    pub async fn get_grants(
        &self,
        securable_type: &str,
        full_name: &str,
    ) -> Result<Vec<PrivilegeAssignment>> {
        let route = "/api/2.1/unity-catalog/permissions/{securable_type}/{full_name}";
        let p = format!(
            "/api/2.1/unity-catalog/permissions/{}/{}",
            encode_segment(&securable_type.to_ascii_lowercase()),
            encode_segment(full_name)
        );
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..1000 {
            let mut q = vec![("max_results", "0".to_string())];
            if let Some(t) = &token {
                q = vec![
                    ("max_results", "1000".to_string()),
                    ("page_token", t.clone()),
                ];
            }
            let page: GrantsPage = self.json(Method::GET, route, &p, &q, None).await?;
            out.extend(page.privilege_assignments);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        Ok(out)
    }

    /// Applies grant changes.
    pub async fn update_grants(
        &self,
        securable_type: &str,
        full_name: &str,
        changes: &[PermissionsChange],
    ) -> Result<()> {
        let route = "/api/2.1/unity-catalog/permissions/{securable_type}/{full_name}";
        let p = format!(
            "/api/2.1/unity-catalog/permissions/{}/{}",
            encode_segment(&securable_type.to_ascii_lowercase()),
            encode_segment(full_name)
        );
        self.json::<serde_json::Value>(
            Method::PATCH,
            route,
            &p,
            &[],
            Some(json!({"changes": changes})),
        )
        .await?;
        Ok(())
    }
}
