//! Databricks Apps and their deployments.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::{Client, encode_segment};
use crate::error::Result;

/// An env var of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    /// The name.
    pub name: String,
    /// A literal value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The app resource the value comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<String>,
}

/// A status `{state, message}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StateMessage {
    /// The state.
    #[serde(default)]
    pub state: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
}

/// An app deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AppDeployment {
    /// The id.
    #[serde(default)]
    pub deployment_id: String,
    /// The source folder.
    #[serde(default)]
    pub source_code_path: Option<String>,
    /// `SNAPSHOT` or `AUTO_SYNC`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The command.
    #[serde(default)]
    pub command: Vec<String>,
    /// The environment.
    #[serde(default)]
    pub env_vars: Vec<EnvVar>,
    /// `IN_PROGRESS`, `SUCCEEDED`, `FAILED`, `CANCELLED`.
    #[serde(default)]
    pub status: StateMessage,
}

/// What to deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentRequest {
    /// The workspace folder.
    pub source_code_path: String,
    /// Always `SNAPSHOT` here.
    pub mode: String,
    /// The command (empty: app.yaml's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The environment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env_vars: Vec<EnvVar>,
}

/// An app.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct App {
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// The URL (may lack a scheme).
    #[serde(default)]
    pub url: Option<String>,
    /// Application status.
    #[serde(default)]
    pub app_status: StateMessage,
    /// Compute status.
    #[serde(default)]
    pub compute_status: StateMessage,
    /// The service principal's numeric id.
    #[serde(default)]
    pub service_principal_id: Option<i64>,
    /// The service principal's application id.
    #[serde(default)]
    pub service_principal_client_id: Option<String>,
    /// The service principal's name.
    #[serde(default)]
    pub service_principal_name: Option<String>,
    /// The last successful deployment.
    #[serde(default)]
    pub active_deployment: Option<AppDeployment>,
    /// The deployment in progress.
    #[serde(default)]
    pub pending_deployment: Option<AppDeployment>,
    /// Declared resources, as the API spells them.
    #[serde(default)]
    pub resources: Vec<Value>,
}

/// What to create or update an app with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppRequest {
    /// The name.
    pub name: String,
    /// The description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Resources, as the API spells them.
    pub resources: Vec<Value>,
}

#[derive(Deserialize)]
struct AppPage {
    #[serde(default)]
    apps: Vec<App>,
    #[serde(default)]
    next_page_token: Option<String>,
}

impl Client {
    /// Creates an app (the body is the App itself); `no_compute` leaves compute stopped.
    pub async fn create_app(&self, app: &AppRequest, no_compute: bool) -> Result<App> {
        let body = Self::to_value("/api/2.0/apps", app)?;
        self.json(
            Method::POST,
            "/api/2.0/apps",
            "/api/2.0/apps",
            &[("no_compute", no_compute.to_string())],
            Some(body),
        )
        .await
    }

    /// An app.
    pub async fn get_app(&self, name: &str) -> Result<App> {
        let p = format!("/api/2.0/apps/{}", encode_segment(name));
        self.json(Method::GET, "/api/2.0/apps/{name}", &p, &[], None)
            .await
    }

    /// Every app.
    pub async fn list_apps(&self) -> Result<Vec<App>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = vec![("page_size", "100".to_string())];
            if let Some(t) = &token {
                q.push(("page_token", t.clone()));
            }
            let page: AppPage = self
                .json(Method::GET, "/api/2.0/apps", "/api/2.0/apps", &q, None)
                .await?;
            out.extend(page.apps);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Updates an app's description and resources.
    pub async fn update_app(&self, app: &AppRequest) -> Result<App> {
        let p = format!("/api/2.0/apps/{}", encode_segment(&app.name));
        let body = Self::to_value("/api/2.0/apps/{name}", app)?;
        self.json(Method::PATCH, "/api/2.0/apps/{name}", &p, &[], Some(body))
            .await
    }

    /// Deletes an app.
    pub async fn delete_app(&self, name: &str) -> Result<()> {
        let p = format!("/api/2.0/apps/{}", encode_segment(name));
        self.json::<Value>(Method::DELETE, "/api/2.0/apps/{name}", &p, &[], None)
            .await?;
        Ok(())
    }

    /// Starts an app's compute.
    pub async fn start_app(&self, name: &str) -> Result<App> {
        let p = format!("/api/2.0/apps/{}/start", encode_segment(name));
        self.json(
            Method::POST,
            "/api/2.0/apps/{name}/start",
            &p,
            &[],
            Some(serde_json::json!({})),
        )
        .await
    }

    /// Stops an app's compute.
    pub async fn stop_app(&self, name: &str) -> Result<App> {
        let p = format!("/api/2.0/apps/{}/stop", encode_segment(name));
        self.json(
            Method::POST,
            "/api/2.0/apps/{name}/stop",
            &p,
            &[],
            Some(serde_json::json!({})),
        )
        .await
    }

    /// Creates a deployment (the body is the AppDeployment itself).
    pub async fn create_deployment(
        &self,
        app: &str,
        request: &DeploymentRequest,
    ) -> Result<AppDeployment> {
        let p = format!("/api/2.0/apps/{}/deployments", encode_segment(app));
        let body = Self::to_value("/api/2.0/apps/{name}/deployments", request)?;
        self.json(
            Method::POST,
            "/api/2.0/apps/{name}/deployments",
            &p,
            &[],
            Some(body),
        )
        .await
    }

    /// A deployment.
    pub async fn get_deployment(&self, app: &str, deployment_id: &str) -> Result<AppDeployment> {
        let p = format!(
            "/api/2.0/apps/{}/deployments/{}",
            encode_segment(app),
            encode_segment(deployment_id)
        );
        self.json(
            Method::GET,
            "/api/2.0/apps/{name}/deployments/{deployment_id}",
            &p,
            &[],
            None,
        )
        .await
    }
}
