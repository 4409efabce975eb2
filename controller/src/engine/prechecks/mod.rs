//! The existence checks of the preflight: every object the release and its target name —
//! grant securables, app resources, ACL objects, the managed MCP servers' schemas, functions,
//! vector search indexes and Genie spaces, the gateway's warehouse and tables, the tracing
//! experiment — is read once, before the first write, so a release naming what does not exist
//! (or what the operator may not read) blocks before the alias moves instead of failing after
//! the deployment. What a later step needs of these reads (grants, ACLs, endpoint ids) is kept
//! in the pass's artifacts, so the step does not read it again.

pub mod named;
pub mod verdict;

use crate::engine::pass::{Clock, Pass, StepResult};
use crate::engine::workspace::{AclObject, Workspace, WorkspaceErrorKind, WsResult};

use named::Named;
use verdict::Read;

/// Reads every named object and decides; `Some` stops the pass.
pub async fn run<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>) -> Option<StepResult> {
    let mut reads = Vec::new();
    for (object, field) in named::named_objects(pass.ctx) {
        let result = read(pass, &object).await;
        // The workspace is struggling: ask again later rather than read on.
        let stop = result.as_ref().is_err_and(|e| e.kind.is_transient());
        reads.push(Read {
            object: object.describe(),
            field,
            result,
        });
        if stop {
            break;
        }
    }
    verdict::decide(&reads)
}

/// Whether one object exists (one read); what a later step needs of the answer is kept.
async fn read<W: Workspace, C: Clock>(pass: &mut Pass<'_, W, C>, object: &Named) -> WsResult<bool> {
    let exists = match object {
        Named::Securable(kind, name) => pass.ws.get_grants(kind, name).await.map(|current| {
            pass.artifacts
                .grants
                .insert((kind.clone(), name.clone()), current);
            true
        }),
        Named::WarehouseAcl(id) => {
            let acl = AclObject::SqlWarehouse(id.clone());
            pass.ws.get_permissions(&acl).await.map(|current| {
                pass.artifacts.acls.insert(acl, current);
                true
            })
        }
        Named::Endpoint(name) => pass.ws.get_endpoint(name).await.map(|e| {
            e.map(|e| pass.artifacts.endpoint_ids.insert(name.clone(), e.id))
                .is_some()
        }),
        Named::App(name) => pass.ws.get_app(name).await.map(|a| a.is_some()),
        // A deleted experiment is as good as missing.
        Named::Experiment(id) => pass
            .ws
            .get_experiment_by_id(id)
            .await
            .map(|e| e.is_some_and(|e| e.active)),
        Named::Object(lookup) => pass.ws.exists(lookup).await,
    };
    match exists {
        Err(e) if e.kind == WorkspaceErrorKind::NotFound => Ok(false),
        other => other,
    }
}
