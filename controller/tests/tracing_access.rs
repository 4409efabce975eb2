//! The app's access for tracing and the serving features of issue 12 on the simulator: the app's
//! service principal gets CAN_EDIT on the deployment experiment its traces go to and CAN_QUERY
//! on the serving endpoints among its resources (not only what `spec.permissions` lists), and
//! both are restored when removed by hand; a serving endpoint fronting an external model and a
//! Lakebase database app resource are released and converge. A secret or database app resource
//! that does not exist blocks the release before any write.

mod support;

use std::collections::BTreeMap;

use agentrelease::engine::Mode;
use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::release::{
    AppDatabaseResource, AppResource, AppSecretResource, DatabaseResourcePermission, ExternalModel,
    ExternalModelProvider, PermissionObjectType, PrincipalType, SecretResourcePermission,
};
use support::prewrite::{blocked_before_any_write, names_all};
use support::*;

fn app_sp(c: &agentrelease_sim::SimControl) -> String {
    c.app("skyloyalty-agent")
        .and_then(|a| {
            a["service_principal_client_id"]
                .as_str()
                .map(str::to_string)
        })
        .expect("the app's service principal")
}

#[tokio::test]
async fn the_app_can_edit_its_tracing_experiment_and_gets_it_back_after_a_hand_edit() {
    let mut h = harness().await;
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let c = h.control();
    let sp = app_sp(&c);
    let object = format!(
        "experiments/{}",
        outcome.status.experiment_id.clone().expect("experiment")
    );
    assert!(
        c.permissions(&object)
            .contains(&(sp.clone(), "CAN_EDIT".into())),
        "{:?}",
        c.permissions(&object)
    );

    // Removed by hand: the next full pass grants it again.
    assert!(c.remove_permission(&object, &sp));
    h.request_reconcile("2026-12-02T12:00:00Z");
    let again = h.pass(Mode::Apply).await;
    assert!(again.is_ready(), "{:?}", again.steps);
    assert!(c.permissions(&object).contains(&(sp, "CAN_EDIT".into())));
    assert_eq!(
        reason(&again, types::DRIFT_DETECTED),
        reasons::DRIFT_CORRECTED
    );
}

#[tokio::test]
async fn an_endpoint_among_the_app_resources_is_queryable_without_a_listed_permission() {
    let mut h = harness().await;
    // The manifest no longer lists the app's CAN_QUERY on the endpoint; its resource still
    // names the endpoint.
    h.release.spec.permissions.retain(|p| {
        !(p.principal.type_ == PrincipalType::AppServicePrincipal
            && p.object.type_ == PermissionObjectType::ServingEndpoint)
    });
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let c = h.control();
    let sp = app_sp(&c);
    let id = outcome.status.endpoint_id.clone().expect("endpoint id");
    let acl = c.permissions(&format!("serving-endpoints/{id}"));
    assert!(acl.contains(&(sp, "CAN_QUERY".into())), "{acl:?}");
    c.clear_calls();
    assert!(h.pass(Mode::Apply).await.is_ready());
    assert!(c.writes().is_empty(), "{:?}", c.writes());
}

#[tokio::test]
async fn an_external_model_endpoint_and_a_database_resource_are_released_and_converge() {
    let mut h = harness().await;
    let endpoint = h.release.spec.serving_endpoint.as_mut().expect("endpoint");
    endpoint.served_entities.truncate(1);
    let entity = &mut endpoint.served_entities[0];
    entity.name = "claude".into();
    entity.external_model = Some(ExternalModel {
        name: "claude-sonnet-4".into(),
        provider: ExternalModelProvider::Anthropic,
        task: "llm/v1/chat".into(),
        config: BTreeMap::from([(
            "anthropic_api_key".to_string(),
            "{{secrets/gateway/anthropic}}".to_string(),
        )]),
    });
    endpoint.traffic = None;
    // The preflight reads the database instance before anything is written.
    h.control()
        .apply_seed(
            &agentrelease_sim::Seed::from_yaml_str("database_instances: [agents-lakebase]\n", None)
                .expect("seed"),
        )
        .expect("seed");
    let app = h.release.spec.app.as_mut().expect("app");
    app.resources.push(AppResource {
        name: "state".into(),
        description: None,
        serving_endpoint: None,
        sql_warehouse: None,
        secret: None,
        experiment: None,
        uc_securable: None,
        database: Some(AppDatabaseResource {
            instance_name: "agents-lakebase".into(),
            database_name: "agent_state".into(),
            permission: DatabaseResourcePermission::CAN_CONNECT_AND_CREATE,
        }),
    });
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let c = h.control();
    let ep = c.endpoint("skyloyalty-endpoint").expect("endpoint");
    let served = &ep["config"]["served_entities"][0];
    assert_eq!(served["name"], "claude");
    assert_eq!(served["external_model"]["provider"], "anthropic");
    assert_eq!(
        served["external_model"]["anthropic_config"]["anthropic_api_key"],
        "{{secrets/gateway/anthropic}}"
    );
    assert!(served.get("entity_name").is_none(), "{served}");
    let resources = c.app("skyloyalty-agent").expect("app")["resources"].clone();
    assert!(
        resources.as_array().is_some_and(|r| r
            .iter()
            .any(|x| x["database"]["instance_name"] == "agents-lakebase"
                && x["database"]["permission"] == "CAN_CONNECT_AND_CREATE")),
        "{resources}"
    );
    c.clear_calls();
    let again = h.pass(Mode::Apply).await;
    assert!(again.is_ready(), "{:?}", again.steps);
    assert!(c.writes().is_empty(), "{:?}", c.writes());
}

#[tokio::test]
async fn a_lost_answer_to_the_experiment_grant_is_settled_by_a_read() {
    use agentrelease_sim::faults::{FaultAction, FaultRule};
    let mut h = harness().await;
    let c = h.control();
    c.add_fault(FaultRule {
        method: Some("PATCH".into()),
        path: "/api/2.0/permissions/experiments/*".into(),
        probability: 1.0,
        times: Some(1),
        after: None,
        action: FaultAction::LoseAnswer,
    })
    .expect("fault");
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let patches = c
        .calls()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.starts_with("/api/2.0/permissions/experiments/"))
        .count();
    // The client sends an idempotent PATCH again when its answer is lost; nothing else does.
    assert_eq!(patches, 2, "the lost PATCH and the client's resend");
    let object = format!(
        "experiments/{}",
        outcome.status.experiment_id.clone().expect("experiment")
    );
    assert!(
        c.permissions(&object)
            .contains(&(app_sp(&c), "CAN_EDIT".into()))
    );
    c.clear_calls();
    assert!(h.pass(Mode::Apply).await.is_ready());
    assert!(c.writes().is_empty(), "{:?}", c.writes());
}

fn resource(name: &str) -> AppResource {
    AppResource {
        name: name.into(),
        description: None,
        serving_endpoint: None,
        sql_warehouse: None,
        secret: None,
        experiment: None,
        uc_securable: None,
        database: None,
    }
}

fn with_secret(h: &mut Harness, scope: &str, key: &str) {
    let mut r = resource("api-key");
    r.secret = Some(AppSecretResource {
        scope: scope.into(),
        key: key.into(),
        permission: SecretResourcePermission::READ,
    });
    h.release.spec.app.as_mut().expect("app").resources.push(r);
}

fn seed(h: &Harness, yaml: &str) {
    h.control()
        .apply_seed(&agentrelease_sim::Seed::from_yaml_str(yaml, None).expect("seed"))
        .expect("seed");
}

#[tokio::test]
async fn a_secret_resource_whose_scope_is_missing_blocks_before_any_write() {
    let mut h = harness().await;
    with_secret(&mut h, "agent-keys", "openai");
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &[
            "secret openai of secret scope agent-keys",
            "spec.app.resources[2] (api-key)",
        ],
    );
}

#[tokio::test]
async fn a_secret_resource_whose_key_is_missing_blocks_before_any_write() {
    let mut h = harness().await;
    seed(&h, "secret_scopes: {agent-keys: [anthropic]}\n");
    with_secret(&mut h, "agent-keys", "openai");
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(&m, &["secret openai of secret scope agent-keys"]);
}

#[tokio::test]
async fn a_secret_resource_that_exists_is_released() {
    let mut h = harness().await;
    seed(&h, "secret_scopes: {agent-keys: [openai]}\n");
    with_secret(&mut h, "agent-keys", "openai");
    let (outcome, _) = h.run(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
}

#[tokio::test]
async fn a_missing_database_instance_blocks_before_any_write() {
    let mut h = harness().await;
    let mut r = resource("state");
    r.database = Some(AppDatabaseResource {
        instance_name: "no-lakebase".into(),
        database_name: "agent_state".into(),
        permission: DatabaseResourcePermission::CAN_CONNECT_AND_CREATE,
    });
    h.release.spec.app.as_mut().expect("app").resources.push(r);
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &[
            "database instance no-lakebase",
            "spec.app.resources[2] (state)",
        ],
    );
}
