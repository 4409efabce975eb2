//! Writing status with server-side apply under one field manager: the whole status each time,
//! never a read-modify-write; only when something changed.

use agentrelease_api::{AgentRelease, AgentReleaseStatus};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "agentrelease-controller";

/// The apply patch for a status.
pub fn status_patch(status: &AgentReleaseStatus) -> Value {
    json!({
        "apiVersion": agentrelease_api::API_VERSION,
        "kind": "AgentRelease",
        "status": status,
    })
}

/// Applies `status` unless it equals `current`; returns whether it wrote.
pub async fn write(
    api: &Api<AgentRelease>,
    name: &str,
    current: Option<&AgentReleaseStatus>,
    status: &AgentReleaseStatus,
) -> Result<bool, kube::Error> {
    if current == Some(status) {
        return Ok(false);
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch_status(name, &params, &Patch::Apply(status_patch(status)))
        .await?;
    Ok(true)
}
