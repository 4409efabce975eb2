//! The AgentReleaseApproval object `approve` creates, built without its Rust type (it is handled
//! as a dynamic object so the plugin works with any operator version that serves it).

use agentrelease_api::AgentRelease;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

/// The kind.
pub const KIND: &str = "AgentReleaseApproval";
/// The plural.
pub const PLURAL: &str = "agentreleaseapprovals";

/// An approval of one release's N and model version by one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The AgentRelease approved.
    pub release_name: String,
    /// Its N.
    pub version: i64,
    /// Its model version.
    pub model_version: i64,
    /// Who approves (the requester, as the API server names them).
    pub approved_by: String,
    /// `--comment`.
    pub comment: Option<String>,
}

impl Approval {
    /// The approval of `release` by `user`.
    pub fn of(release: &AgentRelease, user: &str, comment: Option<String>) -> Approval {
        Approval {
            release_name: release.metadata.name.clone().unwrap_or_default(),
            version: release.spec.version,
            model_version: release.spec.model.version,
            approved_by: user.to_string(),
            comment,
        }
    }

    /// `<release>-v<N>-m<modelVersion>`: one approval per release, N and model version.
    pub fn name(&self) -> String {
        format!(
            "{}-v{}-m{}",
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
    fn an_approval_names_release_n_and_model_version() {
        let a = Approval {
            release_name: "skyloyalty-v7".into(),
            version: 7,
            model_version: 12,
            approved_by: "alice@example.com".into(),
            comment: Some("ship it".into()),
        };
        assert_eq!(a.name(), "skyloyalty-v7-v7-m12");
        let o = serde_json::to_value(a.to_object("agents")).expect("json");
        assert_eq!(o["apiVersion"], "agentops.dev/v1alpha1");
        assert_eq!(o["kind"], "AgentReleaseApproval");
        assert_eq!(o["metadata"]["namespace"], "agents");
        assert_eq!(
            o["spec"],
            json!({"release": "skyloyalty-v7", "n": 7, "modelVersion": "12",
                   "approvedBy": "alice@example.com", "comment": "ship it"})
        );
        let typed: agentrelease_api::approval::AgentReleaseApprovalSpec =
            serde_json::from_value(o["spec"].clone()).expect("the CRD's spec");
        assert!(typed.covers("skyloyalty-v7", 7, "12"));
    }
}
