//! The gateway and trace checks on the simulator: after the chat call, the gateway's payload
//! table holds the call's row and its usage table grew (`GatewayVerified`), and the call's trace
//! is in the deployment experiment linked to the released model (`TracesLinked`). Each way they
//! fail names what was expected and what was seen; a required check rolls back, an advisory one
//! warns and the release goes on; the polling runs on the simulator's clock.

mod support;

use agentrelease::engine::{EventType, Mode, Outcome};
use agentrelease_api::conditions::{reasons, types};
use agentrelease_api::target::CheckMode;
use agentrelease_sim::faults::{FaultAction, FaultRule};
use agentrelease_sim::gateway::{PayloadLogging, TraceLogging};
use support::prewrite::{blocked_before_any_write, names_all};
use support::*;

const PAYLOAD: &str = "main.agents.gateway_payload";
const USAGE: &str = "main.agents.gateway_usage";

fn message(outcome: &Outcome, type_: &str) -> String {
    agentrelease_api::condition::find(&outcome.status.conditions, type_)
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

fn is_true(outcome: &Outcome, type_: &str) -> bool {
    agentrelease_api::condition::find(&outcome.status.conditions, type_)
        .is_some_and(|c| c.is_true())
}

fn gateway_result(outcome: &Outcome) -> String {
    outcome
        .status
        .gateway_check
        .as_ref()
        .and_then(|r| r.last_result.clone())
        .unwrap_or_default()
}

fn traces_result(outcome: &Outcome) -> String {
    outcome
        .status
        .traces_check
        .as_ref()
        .and_then(|r| r.last_result.clone())
        .unwrap_or_default()
}

fn trace_id(outcome: &Outcome) -> String {
    outcome
        .status
        .verification
        .as_ref()
        .and_then(|v| v.chat.as_ref())
        .and_then(|c| c.trace_request_id.clone())
        .expect("the chat call's trace request id")
}

fn check_calls(c: &agentrelease_sim::SimControl) -> usize {
    c.calls()
        .iter()
        .filter(|r| {
            r.route.starts_with("/api/2.0/sql/statements") || r.route == "/api/2.0/mlflow/traces"
        })
        .count()
}

#[tokio::test]
async fn both_checks_pass_on_the_sample_and_a_converged_pass_does_not_repeat_them() {
    let mut h = harness().await;
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    let trace = trace_id(&outcome);
    let gw = message(&outcome, types::GATEWAY_VERIFIED);
    assert!(is_true(&outcome, types::GATEWAY_VERIFIED), "{gw}");
    assert!(
        gw.contains(&format!("{PAYLOAD} has the row of request {trace}"))
            && gw.contains(&format!("{USAGE} rows 0 -> 1")),
        "{gw}"
    );
    let tr = message(&outcome, types::TRACES_LINKED);
    assert!(is_true(&outcome, types::TRACES_LINKED), "{tr}");
    assert!(tr.contains(&trace) && tr.contains(V12_MODEL_ID), "{tr}");
    let c = h.control();
    assert_eq!(c.payload_request_ids(), vec![trace.clone()]);

    // Converged: no statement, no trace search, no write.
    c.clear_calls();
    let again = h.pass_on_sim_time(Mode::Apply).await;
    assert!(again.is_ready());
    assert_eq!(check_calls(&c), 0, "{:?}", c.calls());
    assert!(c.writes().is_empty(), "{:?}", c.writes());
}

#[tokio::test]
async fn no_payload_row_is_looked_for_a_minute_then_rolls_back_naming_the_request_id() {
    let mut h = harness().await;
    let c = h.control();
    c.set_payload_logging(PayloadLogging::Off);
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.needs_human(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::GATEWAY_VERIFIED),
        reasons::ROLLED_BACK
    );
    assert_eq!(c.model_alias(MODEL, "champion"), Some(11), "rolled back");
    let trace = trace_id(&outcome);
    let result = gateway_result(&outcome);
    assert!(
        result.contains(&format!(
            "expected a row in {PAYLOAD} with databricks_request_id = {trace}, saw no rows"
        )) && result.contains("looked for 60s"),
        "{result}"
    );
    let record = outcome.status.gateway_check.clone().expect("record");
    assert!(record.attempts >= 6, "polled on the clock: {record:?}");
}

#[tokio::test]
async fn a_row_with_another_request_id_names_the_ids_seen() {
    let mut h = harness().await;
    h.control().set_payload_logging(PayloadLogging::WrongId);
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.needs_human());
    let result = gateway_result(&outcome);
    let trace = trace_id(&outcome);
    assert!(
        result.contains(&format!("databricks_request_id = {trace}"))
            && result.contains("the newest rows carry [tr-")
            && !result.contains(&format!("[{trace}]")),
        "{result}"
    );
}

#[tokio::test]
async fn usage_that_does_not_grow_fails() {
    let mut h = harness().await;
    h.control().set_usage_logging(false);
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.needs_human());
    let result = gateway_result(&outcome);
    assert!(
        result.contains(&format!(
            "expected the rows of {USAGE} to grow past 0 after the chat call, saw 0"
        )),
        "{result}"
    );
    assert_eq!(h.control().model_alias(MODEL, "champion"), Some(11));
}

#[tokio::test]
async fn a_trace_without_the_model_id_fails_at_once() {
    let mut h = harness().await;
    h.control().set_trace_logging(TraceLogging::NoModel);
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.needs_human());
    assert!(is_true(&outcome, types::GATEWAY_VERIFIED));
    assert_eq!(reason(&outcome, types::TRACES_LINKED), reasons::ROLLED_BACK);
    let result = traces_result(&outcome);
    assert!(
        result.contains(&format!("to carry mlflow.modelId {V12_MODEL_ID}, saw none")),
        "{result}"
    );
    let record = outcome.status.traces_check.expect("record");
    assert_eq!(record.attempts, 1, "a wrong trace is not waited on");
}

#[tokio::test]
async fn no_trace_fails_after_the_window_naming_the_experiment() {
    let mut h = harness().await;
    h.control().set_trace_logging(TraceLogging::Off);
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.needs_human());
    let result = traces_result(&outcome);
    let trace = trace_id(&outcome);
    let experiment = outcome.status.experiment_id.clone().expect("experiment");
    assert!(
        result.contains(&format!(
            "expected trace {trace} in experiment {experiment}, but it is not logged"
        )) && result.contains("looked for 60s"),
        "{result}"
    );
}

#[tokio::test]
async fn an_advisory_gateway_check_warns_and_the_release_goes_on() {
    let mut h = harness().await;
    if let Some(g) = h.target.spec.gateway.as_mut() {
        g.mode = CheckMode::Advisory;
    }
    let c = h.control();
    c.set_payload_logging(PayloadLogging::Off);
    let (outcome, events) = h.run_on_sim_time(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(
        c.model_alias(MODEL, "champion"),
        Some(12),
        "not rolled back"
    );
    assert!(!is_true(&outcome, types::GATEWAY_VERIFIED));
    assert_eq!(
        reason(&outcome, types::GATEWAY_VERIFIED),
        reasons::GATEWAY_CHECK_FAILED
    );
    assert!(message(&outcome, types::GATEWAY_VERIFIED).starts_with("advisory:"));
    let warnings: Vec<_> = events
        .iter()
        .filter(|e| e.type_ == EventType::Warning && e.reason == reasons::GATEWAY_CHECK_FAILED)
        .collect();
    assert_eq!(warnings.len(), 1, "{events:?}");
    assert!(warnings[0].message.contains("expected a row in"));

    // Converged: the advisory result stands, word for word, without new looks or Warnings.
    c.clear_calls();
    let again = h.pass_on_sim_time(Mode::Apply).await;
    assert!(again.is_ready());
    assert_eq!(check_calls(&c), 0);
    assert!(again.events.iter().all(|e| e.type_ != EventType::Warning));
    assert_eq!(
        message(&again, types::GATEWAY_VERIFIED),
        message(&outcome, types::GATEWAY_VERIFIED)
    );
}

#[tokio::test]
async fn an_advisory_trace_check_does_not_roll_back() {
    let mut h = harness().await;
    if let Some(t) = h.target.spec.tracing.as_mut() {
        t.mode = CheckMode::Advisory;
    }
    h.control().set_trace_logging(TraceLogging::NoModel);
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert_eq!(
        reason(&outcome, types::TRACES_LINKED),
        reasons::TRACE_CHECK_FAILED
    );
    assert_eq!(h.control().model_alias(MODEL, "champion"), Some(12));
}

#[tokio::test]
async fn a_transient_sql_failure_is_retried() {
    let mut h = harness().await;
    let c = h.control();
    // The usage count before the chat call goes through; the payload query then fails (503) on
    // every attempt of one pass.
    c.add_fault(FaultRule {
        method: Some("POST".into()),
        path: "/api/2.0/sql/statements".into(),
        probability: 1.0,
        times: Some(3),
        after: Some(1),
        action: FaultAction::Status {
            status: 503,
            error_code: None,
        },
    })
    .expect("fault");
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert!(is_true(&outcome, types::GATEWAY_VERIFIED));
    assert!(
        c.calls()
            .iter()
            .any(|r| r.faulted && r.route == "/api/2.0/sql/statements"),
        "the fault fired"
    );
    assert_eq!(c.model_alias(MODEL, "champion"), Some(12));
}

#[tokio::test]
async fn a_statement_still_running_is_asked_for_by_id() {
    let mut h = harness().await;
    let c = h.control();
    // The usage count before the chat call answers PENDING, then RUNNING once when asked by id.
    c.hold_next_statements(1);
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    assert!(is_true(&outcome, types::GATEWAY_VERIFIED));
    assert!(
        c.calls()
            .iter()
            .any(|r| r.method == "GET" && r.route == "/api/2.0/sql/statements/{statement_id}"),
        "{:?}",
        c.calls()
    );
}

#[tokio::test]
async fn plan_lists_no_check_and_sends_no_statement() {
    let mut h = harness().await;
    let c = h.control();
    let outcome = h.pass_on_sim_time(Mode::Plan).await;
    assert!(
        c.writes()
            .iter()
            .all(|r| !r.route.starts_with("/api/2.0/apps"))
    );
    assert_eq!(check_calls(&c), 0, "{:?}", c.calls());
    assert!(
        outcome
            .steps
            .iter()
            .any(|s| s.condition == types::GATEWAY_VERIFIED && s.message.starts_with("would")),
        "{:?}",
        outcome.steps
    );
}

// The gateway's warehouse and tables and the tracing experiment are read by the preflight:
// missing blocks the release before any write.

fn gateway(h: &mut Harness) -> &mut agentrelease_api::target::GatewaySpec {
    h.target
        .spec
        .gateway
        .as_mut()
        .expect("the sample target has a gateway")
}

#[tokio::test]
async fn a_missing_gateway_warehouse_blocks_before_any_write() {
    let mut h = harness().await;
    gateway(&mut h).warehouse_id = Some("0000000000000000".into());
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &[
            "SQL warehouse 0000000000000000",
            "ReleaseTarget prod spec.gateway.warehouseId",
        ],
    );
}

#[tokio::test]
async fn a_missing_payload_table_blocks_before_any_write() {
    let mut h = harness().await;
    gateway(&mut h).payload_table = Some("main.agents.no_payload".into());
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &[
            "table main.agents.no_payload",
            "ReleaseTarget prod spec.gateway.payloadTable",
        ],
    );
}

#[tokio::test]
async fn a_missing_usage_table_blocks_before_any_write() {
    let mut h = harness().await;
    gateway(&mut h).usage_table = Some("main.agents.no_usage".into());
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &[
            "table main.agents.no_usage",
            "ReleaseTarget prod spec.gateway.usageTable",
        ],
    );
}

#[tokio::test]
async fn a_missing_tracing_experiment_blocks_before_any_write() {
    let mut h = harness().await;
    if let Some(t) = h.target.spec.tracing.as_mut() {
        t.experiment_id = Some("999999".into());
    }
    let m = blocked_before_any_write(&mut h, reasons::OBJECT_MISSING).await;
    names_all(
        &m,
        &[
            "experiment 999999",
            "ReleaseTarget prod spec.tracing.experimentId",
        ],
    );
}

#[tokio::test]
async fn a_transient_failure_reading_the_payload_table_is_retried_and_then_passes() {
    let mut h = harness().await;
    let c = h.control();
    c.add_fault(FaultRule {
        method: Some("GET".into()),
        path: format!("/api/2.1/unity-catalog/tables/{PAYLOAD}"),
        probability: 1.0,
        times: None,
        after: None,
        action: FaultAction::Status {
            status: 503,
            error_code: Some("TEMPORARILY_UNAVAILABLE".into()),
        },
    })
    .expect("fault");
    let first = h.pass(Mode::Apply).await;
    assert_eq!(
        reason(&first, types::PREFLIGHT_PASSED),
        reasons::TRANSIENT_ERROR
    );
    assert!(!first.needs_human(), "retried, not stalled");
    assert!(
        message(&first, types::PREFLIGHT_PASSED).contains(&format!("table {PAYLOAD}")),
        "{}",
        message(&first, types::PREFLIGHT_PASSED)
    );
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    c.clear_faults();
    h.wait(&first);
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
}

#[tokio::test]
async fn a_converged_release_reads_each_named_object_once_per_full_pass_and_writes_nothing() {
    let mut h = harness().await;
    let c = h.control();
    c.add_vector_index("main.agents.faq_index");
    c.add_genie_space("01f0aa11bb22", "Loyalty analytics");
    if let Some(v) = h.release.spec.verification.as_mut() {
        for url in [
            "/api/2.0/mcp/functions/main/agents/list_partner_airlines",
            "/api/2.0/mcp/vector-search/main/agents/faq_index",
            "/api/2.0/mcp/genie/01f0aa11bb22",
        ] {
            v.mcp_servers.push(agentrelease_api::mcp::McpServerCheck {
                url: url.into(),
                required_tools: Vec::new(),
                call: None,
            });
        }
    }
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);
    // The traces go to the deployment experiment; the target now names it.
    let experiment = outcome.status.experiment_id.clone().expect("experiment");
    if let Some(t) = h.target.spec.tracing.as_mut() {
        t.experiment_id = Some(experiment.clone());
    }
    // A changed target is a new release identity: its checks run again once.
    let (outcome, _) = h.run_on_sim_time(200).await;
    assert!(outcome.is_ready(), "{:?}", outcome.steps);

    // A full pass (a reconcile request) over the converged release.
    h.request_reconcile("2026-12-02T12:00:00Z");
    c.clear_calls();
    let again = h.pass_on_sim_time(Mode::Apply).await;
    assert!(again.is_ready(), "{:?}", again.steps);
    assert!(c.writes().is_empty(), "{:?}", c.writes());
    let calls = c.calls();
    for path in [
        "/api/2.1/unity-catalog/functions/main.agents.list_partner_airlines".to_string(),
        "/api/2.0/vector-search/indexes/main.agents.faq_index".to_string(),
        "/api/2.0/genie/spaces/01f0aa11bb22".to_string(),
        format!("/api/2.1/unity-catalog/tables/{PAYLOAD}"),
        format!("/api/2.1/unity-catalog/tables/{USAGE}"),
    ] {
        let n = calls.iter().filter(|r| r.path == path).count();
        assert_eq!(n, 1, "{path} read {n} times");
    }
    let experiment_reads = calls
        .iter()
        .filter(|r| {
            r.route == "/api/2.0/mlflow/experiments/get"
                && r.query.as_deref().is_some_and(|q| q.contains(&experiment))
        })
        .count();
    assert_eq!(experiment_reads, 1, "the tracing experiment read once");
}
