//! Every standing of a release, as the engine writes it, read by the kstatus rules and by the
//! Argo CD health check the chart ships (run in a real Lua interpreter when one is installed:
//! `lua5.4`, `lua5.3` or `lua`; CI sets `AGENTRELEASE_REQUIRE_LUA=1` so a missing one fails).

use super::*;
use agentrelease_api::conditions::Phase;

fn now() -> Timestamp {
    "2026-12-01T10:00:00Z".parse().expect("time")
}

/// The status `standing` gives a release at generation 3 whose previous status was `old`.
fn status_of(old: &AgentReleaseStatus, standing: &Standing) -> AgentReleaseStatus {
    let mut status = old.clone();
    summarize(&mut status, old, 3, now(), standing);
    status
}

fn progressing(phase: Phase, reason: &str) -> Standing {
    Standing::Progressing {
        phase,
        reason: reason.into(),
        message: "deployment d-1 of app skyloyalty in progress".into(),
    }
}

fn blocked(phase: Phase, reason: &str) -> Standing {
    Standing::Blocked {
        phase,
        reason: reason.into(),
        message: "engineering_signoff.decision is REJECTED".into(),
    }
}

fn released() -> Standing {
    Standing::Released {
        message: "N=7: main.agents.skyloyalty@champion -> version 12".into(),
    }
}

fn suspended() -> Standing {
    Standing::Suspended {
        message: "suspended: change freeze".into(),
    }
}

/// One row: a name, the release's generation, its status, and what kstatus and Argo CD say.
struct Row {
    name: &'static str,
    generation: i64,
    status: AgentReleaseStatus,
    kstatus: Kstatus,
    argo: &'static str,
}

fn rows() -> Vec<Row> {
    let none = AgentReleaseStatus::default();
    let was_ready = status_of(&none, &released());
    let was_stalled = status_of(&none, &blocked(Phase::Blocked, reasons::SIGNOFF_REJECTED));
    let row = |name, status, kstatus, argo| Row {
        name,
        generation: 3,
        status,
        kstatus,
        argo,
    };
    vec![
        row(
            "ready",
            status_of(&none, &released()),
            Kstatus::Current,
            "Healthy",
        ),
        row(
            "deploying",
            status_of(&none, &progressing(Phase::Deploying, reasons::WAITING)),
            Kstatus::InProgress,
            "Progressing",
        ),
        row(
            "gating",
            status_of(&none, &progressing(Phase::Gating, reasons::WAITING)),
            Kstatus::InProgress,
            "Progressing",
        ),
        row(
            "transient failure",
            status_of(&none, &progressing(Phase::Failed, reasons::TRANSIENT_ERROR)),
            Kstatus::InProgress,
            "Progressing",
        ),
        row(
            "awaiting approval",
            status_of(
                &none,
                &Standing::AwaitingApproval {
                    message: "waiting for an approval".into(),
                },
            ),
            Kstatus::InProgress,
            "Suspended",
        ),
        row(
            "blocked",
            status_of(&none, &blocked(Phase::Blocked, reasons::SIGNOFF_REJECTED)),
            Kstatus::Failed,
            "Degraded",
        ),
        row(
            "rolled back",
            status_of(
                &was_ready,
                &blocked(Phase::RolledBack, reasons::ROLLED_BACK),
            ),
            Kstatus::Failed,
            "Degraded",
        ),
        row(
            "superseded",
            status_of(
                &was_ready,
                &Standing::Superseded {
                    message: "release agents/skyloyalty-v8 (N=8) owns the alias".into(),
                },
            ),
            Kstatus::Current,
            "Healthy",
        ),
        row(
            "suspended after Ready",
            status_of(&was_ready, &suspended()),
            Kstatus::Current,
            "Suspended",
        ),
        row(
            "suspended while blocked",
            status_of(&was_stalled, &suspended()),
            Kstatus::Failed,
            "Suspended",
        ),
        row(
            "created suspended",
            status_of(&none, &suspended()),
            Kstatus::Current,
            "Suspended",
        ),
        Row {
            name: "Ready, spec changed since",
            generation: 4,
            status: status_of(&none, &released()),
            kstatus: Kstatus::InProgress,
            argo: "Progressing",
        },
        Row {
            name: "no status yet",
            generation: 1,
            status: none.clone(),
            kstatus: Kstatus::Current,
            argo: "Progressing",
        },
    ]
}

#[test]
fn every_standing_reads_as_designed_by_the_kstatus_rules() {
    for row in rows() {
        let status = (row.name != "no status yet").then_some(&row.status);
        assert_eq!(
            kstatus(Some(row.generation), status),
            row.kstatus,
            "{}: {:?}",
            row.name,
            row.status.conditions
        );
    }
}

#[test]
fn reconciling_and_stalled_are_never_both_true_and_ready_is_always_there() {
    for row in rows().into_iter().filter(|r| r.name != "no status yet") {
        let is_true =
            |t: &str| condition::find(&row.status.conditions, t).is_some_and(|c| c.is_true());
        assert!(
            !(is_true(types::RECONCILING) && is_true(types::STALLED)),
            "{}",
            row.name
        );
        assert!(
            condition::find(&row.status.conditions, types::READY).is_some(),
            "{}",
            row.name
        );
    }
}

#[test]
fn a_suspended_release_keeps_the_trio_and_the_generation_it_was_last_reconciled_at() {
    let none = AgentReleaseStatus::default();
    let mut ready = none.clone();
    summarize(&mut ready, &none, 2, now(), &released());
    let mut suspended_status = ready.clone();
    summarize(&mut suspended_status, &ready, 3, now(), &suspended());
    assert_eq!(suspended_status.observed_generation, Some(2));
    assert_eq!(suspended_status.phase, Some(Phase::Suspended));
    for t in [types::READY, types::RECONCILING, types::STALLED] {
        assert_eq!(
            condition::find(&suspended_status.conditions, t),
            condition::find(&ready.conditions, t),
            "{t}"
        );
    }
    assert!(
        condition::find(&suspended_status.conditions, types::SUSPENDED)
            .is_some_and(|c| c.is_true())
    );
}

/// A JSON value as a Lua table constructor (`null` fields left out, arrays 1-based).
fn lua(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(lua).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| format!("[{k:?}] = {}", lua(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn lua_interpreter() -> Option<&'static str> {
    ["lua5.4", "lua5.3", "lua"].into_iter().find(|bin| {
        std::process::Command::new(bin)
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[test]
fn the_argo_cd_health_check_reads_every_standing_as_designed() {
    let Some(interpreter) = lua_interpreter() else {
        assert!(
            std::env::var_os("AGENTRELEASE_REQUIRE_LUA").is_none(),
            "no Lua interpreter (lua5.4, lua5.3 or lua) and AGENTRELEASE_REQUIRE_LUA is set"
        );
        eprintln!("skipped: no Lua interpreter to run the Argo CD health check with");
        return;
    };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../charts/agentrelease/files/argocd-health-agentrelease.lua");
    let dir = tempfile::tempdir().expect("tempdir");
    for row in rows() {
        let mut object = serde_json::json!({
            "apiVersion": "agentops.dev/v1alpha1",
            "kind": "AgentRelease",
            "metadata": {"name": "skyloyalty-v7", "namespace": "agents", "generation": row.generation},
        });
        if row.name != "no status yet" {
            object["status"] = serde_json::to_value(&row.status).expect("status");
        }
        let harness = dir.path().join("run.lua");
        std::fs::write(
            &harness,
            format!(
                "obj = {}\nlocal hs = dofile({:?})\nprint(hs.status)\nprint(hs.message)\n",
                lua(&object),
                script.display().to_string()
            ),
        )
        .expect("write");
        let out = std::process::Command::new(interpreter)
            .arg(&harness)
            .output()
            .expect("run lua");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {}",
            row.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines = stdout.lines();
        assert_eq!(lines.next(), Some(row.argo), "{}: {stdout}", row.name);
        assert!(
            lines.next().is_some_and(|m| !m.is_empty()),
            "{}: a message",
            row.name
        );
    }
}
