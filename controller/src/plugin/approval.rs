//! The AgentReleaseApproval object `approve` creates, built without its Rust type (it is handled
//! as a dynamic object so the plugin works with any operator version that serves it).

use agentrelease_api::AgentRelease;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

/// The kind.
pub const KIND: &str = "AgentReleaseApproval";
/// The plural.
pub const PLURAL: &str = "agentreleaseapprovals";

/// An approval of one release identity by one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The AgentRelease approved.
    pub release_name: String,
    /// Its N.
    pub version: i64,
    /// Its model version.
    pub model_version: i64,
    /// The release identity approved (`status.identity.digest`).
    pub identity: String,
    /// Who approves (the requester, as the API server names them).
    pub approved_by: String,
    /// `--comment`.
    pub comment: Option<String>,
}

/// Why a release cannot be approved now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotApprovable {
    /// The controller has not decided the release's identity (its gates have not read the
    /// signoff and eval summary yet).
    #[error(
        "agentrelease/{name} has no release identity yet (status.identity): its gates have not read the signoff and eval summary; see `kubectl agentrelease why {name}`"
    )]
    NoIdentity {
        /// The release.
        name: String,
    },
    /// The spec changed and the controller has not looked at the new generation: the identity
    /// in status is the old spec's, and approving it would approve something else.
    #[error(
        "agentrelease/{name} changed (generation {generation}) and the controller has not looked at it yet (observed generation {observed}); wait for it, then approve: an approval covers one release identity"
    )]
    NotObserved {
        /// The release.
        name: String,
        /// `metadata.generation`.
        generation: i64,
        /// `status.observedGeneration` (0 when absent).
        observed: i64,
    },
}

impl NotApprovable {
    /// A short category for errors shown by the plugin.
    pub fn category(&self) -> &'static str {
        match self {
            NotApprovable::NoIdentity { .. } => "no_identity",
            NotApprovable::NotObserved { .. } => "not_observed",
        }
    }
}

impl Approval {
    /// The approval of `release`'s current identity by `user`; refused while the identity in
    /// status is not the one of the release's current spec.
    pub fn of(
        release: &AgentRelease,
        user: &str,
        comment: Option<String>,
    ) -> Result<Approval, NotApprovable> {
        let name = release.metadata.name.clone().unwrap_or_default();
        let status = release.status.clone().unwrap_or_default();
        let generation = release.metadata.generation.unwrap_or(0);
        let observed = status.observed_generation.unwrap_or(0);
        if observed != generation {
            return Err(NotApprovable::NotObserved {
                name,
                generation,
                observed,
            });
        }
        let Some(identity) = status.identity else {
            return Err(NotApprovable::NoIdentity { name });
        };
        Ok(Approval {
            release_name: name,
            version: release.spec.version,
            model_version: release.spec.model.version,
            identity: identity.digest,
            approved_by: user.to_string(),
            comment,
        })
    }

    /// `<release>-v<N>-m<modelVersion>-<first 8 digits of the identity>`: one approval per
    /// release identity.
    pub fn name(&self) -> String {
        let short = self.identity.get(..8).unwrap_or(&self.identity);
        format!(
            "{}-v{}-m{}-{short}",
            self.release_name, self.version, self.model_version
        )
    }

    /// The object to create in `namespace`.
    pub fn to_object(&self, namespace: &str) -> DynamicObject {
        // The CRD's field names and types: `n`, and the model version as a string.
        let mut spec = json!({
            "release": self.release_name,
            "n": self.version,
            "modelVersion": self.model_version.to_string(),
            "approvedBy": self.approved_by,
            "identity": self.identity,
        });
        if let Some(c) = &self.comment {
            spec["comment"] = json!(c);
        }
        let mut object = DynamicObject::new(&self.name(), &api_resource()).within(namespace);
        object.data = json!({ "spec": spec });
        object
    }
}

/// The approvals' API resource.
pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(agentrelease_api::GROUP, agentrelease_api::VERSION, KIND),
        PLURAL,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_approval_names_release_n_model_version_and_identity() {
        let a = Approval {
            release_name: "skyloyalty-v7".into(),
            version: 7,
            model_version: 12,
            identity: "0123456789abcdef".into(),
            approved_by: "alice@example.com".into(),
            comment: Some("ship it".into()),
        };
        assert_eq!(a.name(), "skyloyalty-v7-v7-m12-01234567");
        let o = serde_json::to_value(a.to_object("agents")).expect("json");
        assert_eq!(o["apiVersion"], "agentops.dev/v1alpha1");
        assert_eq!(o["kind"], "AgentReleaseApproval");
        assert_eq!(o["metadata"]["namespace"], "agents");
        assert_eq!(
            o["spec"],
            json!({"release": "skyloyalty-v7", "n": 7, "modelVersion": "12",
                   "approvedBy": "alice@example.com", "comment": "ship it",
                   "identity": "0123456789abcdef"})
        );
        let typed: agentrelease_api::approval::AgentReleaseApprovalSpec =
            serde_json::from_value(o["spec"].clone()).expect("the CRD's spec");
        assert!(typed.covers("skyloyalty-v7", 7, "12", "0123456789abcdef"));
    }

    fn release(generation: i64, observed: Option<i64>, identity: Option<&str>) -> AgentRelease {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/samples");
        let text = std::fs::read_to_string(root.join("agentrelease.yaml")).expect("sample");
        let mut r: AgentRelease = serde_saphyr::from_str(&text).expect("release");
        r.metadata.generation = Some(generation);
        let mut status = agentrelease_api::AgentReleaseStatus {
            observed_generation: observed,
            ..Default::default()
        };
        status.identity = identity.map(|d| agentrelease_api::identity::ReleaseIdentityRecord {
            digest: d.into(),
            n: 7,
            model: "main.agents.skyloyalty".into(),
            model_version: 12,
            logged_model_id: None,
            signoff: "s".into(),
            eval_summary: "e".into(),
            prompt_version: None,
            spec: "p".into(),
            target: "t".into(),
        });
        r.status = Some(status);
        r
    }

    #[test]
    fn only_the_identity_of_the_observed_generation_can_be_approved() {
        let a = Approval::of(&release(3, Some(3), Some("0123456789abcdef")), "bob", None)
            .expect("approvable");
        assert_eq!(a.identity, "0123456789abcdef");
        let e =
            Approval::of(&release(4, Some(3), Some("0123456789abcdef")), "bob", None).unwrap_err();
        assert_eq!(e.category(), "not_observed");
        assert!(e.to_string().contains("generation 4"), "{e}");
        let e = Approval::of(&release(3, Some(3), None), "bob", None).unwrap_err();
        assert_eq!(e.category(), "no_identity");
    }
}
