//! The plugin's I/O: the Kubernetes client from a kubeconfig, reads of AgentReleases, and the
//! few writes the plugin makes (a spec patch to suspend or resume, the reconcile annotation, an
//! approval object).

use std::path::PathBuf;

use agentrelease_api::{AgentRelease, RECONCILE_REQUESTED_AT};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::json;

/// The field manager of the plugin's writes.
pub const FIELD_MANAGER: &str = "kubectl-agentrelease";
/// The annotation `resume --reason` leaves on the release (for people; the controller does not
/// read it).
pub const RESUME_REASON: &str = "agentops.dev/resume-reason";

/// What can go wrong talking to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig could not be read or used.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// The release does not exist.
    #[error("AgentRelease {namespace}/{name} not found")]
    NotFound {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// The cluster has no AgentReleaseApproval resource.
    #[error(
        "this cluster has no AgentReleaseApproval resource (CRD agentreleaseapprovals.agentops.dev); \
         install the operator's CRDs of a version that has approvals"
    )]
    ApprovalsNotInstalled,
    /// The API server did not say who the requester is.
    #[error("the API server's SelfSubjectReview answer has no username")]
    NoUsername,
    /// Any other API error.
    #[error("{0}")]
    Api(#[from] kube::Error),
}

impl ClusterError {
    /// A short category.
    pub fn category(&self) -> &'static str {
        match self {
            ClusterError::Kubeconfig(_) => "kubeconfig",
            ClusterError::NotFound { .. } => "not_found",
            ClusterError::ApprovalsNotInstalled => "approvals_not_installed",
            ClusterError::NoUsername => "no_username",
            ClusterError::Api(_) => "api",
        }
    }
}

/// Where the cluster is.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    /// `--kubeconfig`; else `KUBECONFIG`, `~/.kube/config` or in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
    /// `-n`; else the context's namespace.
    pub namespace: Option<String>,
}

/// A client and the namespace to use.
pub struct Cluster {
    /// The client.
    pub client: Client,
    /// `-n`, or the kubeconfig context's namespace.
    pub namespace: String,
}

impl Cluster {
    /// Connects as kubectl would.
    pub async fn connect(how: &Connect) -> Result<Cluster, ClusterError> {
        let options = KubeConfigOptions {
            context: how.context.clone(),
            ..KubeConfigOptions::default()
        };
        let bad = |e: &dyn std::fmt::Display| ClusterError::Kubeconfig(e.to_string());
        let config = match &how.kubeconfig {
            Some(path) => {
                let kc = Kubeconfig::read_from(path)
                    .map_err(|e| ClusterError::Kubeconfig(format!("{}: {e}", path.display())))?;
                Config::from_custom_kubeconfig(kc, &options)
                    .await
                    .map_err(|e| bad(&e))?
            }
            None if how.context.is_some() => Config::from_kubeconfig(&options)
                .await
                .map_err(|e| bad(&e))?,
            None => Config::infer().await.map_err(|e| bad(&e))?,
        };
        let namespace = how
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).map_err(|e| bad(&e))?;
        Ok(Cluster { client, namespace })
    }

    fn releases(&self) -> Api<AgentRelease> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// One release.
    pub async fn get(&self, name: &str) -> Result<AgentRelease, ClusterError> {
        self.releases()
            .get_opt(name)
            .await?
            .ok_or_else(|| ClusterError::NotFound {
                namespace: self.namespace.clone(),
                name: name.to_string(),
            })
    }

    /// The releases of the namespace, or of every namespace.
    pub async fn list(&self, all_namespaces: bool) -> Result<Vec<AgentRelease>, ClusterError> {
        let api = if all_namespaces {
            Api::all(self.client.clone())
        } else {
            self.releases()
        };
        let mut items = api.list(&Default::default()).await?.items;
        items.sort_by(|a, b| {
            (&a.metadata.namespace, &a.metadata.name)
                .cmp(&(&b.metadata.namespace, &b.metadata.name))
        });
        Ok(items)
    }

    async fn patch(&self, name: &str, patch: serde_json::Value) -> Result<(), ClusterError> {
        self.get(name).await?;
        self.releases()
            .patch(
                name,
                &PatchParams {
                    field_manager: Some(FIELD_MANAGER.into()),
                    ..PatchParams::default()
                },
                &Patch::Merge(patch),
            )
            .await?;
        Ok(())
    }

    /// Sets `spec.policy.suspend` (and its reason), as `flux suspend` does.
    pub async fn suspend(&self, name: &str, reason: Option<&str>) -> Result<(), ClusterError> {
        self.patch(
            name,
            json!({"spec": {"policy": {"suspend": true, "suspendReason": reason}}}),
        )
        .await
    }

    /// Clears `spec.policy.suspend` and its reason; notes why in an annotation.
    pub async fn resume(&self, name: &str, reason: Option<&str>) -> Result<(), ClusterError> {
        let mut patch = json!({"spec": {"policy": {"suspend": false, "suspendReason": null}}});
        if let Some(reason) = reason {
            patch["metadata"] = json!({"annotations": {RESUME_REASON: reason}});
        }
        self.patch(name, patch).await
    }

    /// Sets the reconcile-requested-at annotation the controller honours; returns its value.
    pub async fn request_reconcile(
        &self,
        name: &str,
        at: jiff::Timestamp,
    ) -> Result<String, ClusterError> {
        let value = at.to_string();
        self.patch(
            name,
            json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT: value}}}),
        )
        .await?;
        Ok(value)
    }

    /// Who the API server says the requester is (a SelfSubjectReview).
    pub async fn whoami(&self) -> Result<String, ClusterError> {
        let api: Api<SelfSubjectReview> = Api::all(self.client.clone());
        let review = api
            .create(&PostParams::default(), &SelfSubjectReview::default())
            .await?;
        review
            .status
            .and_then(|s| s.user_info)
            .and_then(|u| u.username)
            .filter(|u| !u.is_empty())
            .ok_or(ClusterError::NoUsername)
    }

    /// Creates the approval object; returns it, or the one already there.
    pub async fn approve(
        &self,
        approval: &super::approval::Approval,
    ) -> Result<(DynamicObject, bool), ClusterError> {
        let resource = super::approval::api_resource();
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.namespace, &resource);
        let object = approval.to_object(&self.namespace);
        match api.create(&PostParams::default(), &object).await {
            Ok(created) => Ok((created, true)),
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let existing = api.get(&approval.name()).await?;
                Ok((existing, false))
            }
            Err(kube::Error::Api(s)) if s.code == 404 => Err(ClusterError::ApprovalsNotInstalled),
            Err(e) => Err(e.into()),
        }
    }
}
