"""Long-running tasks on an app URL (start -> continue -> terminal), an app crash as the Apps API
reports it, and the managed MCP servers over streamable HTTP (sessions, event streams), all
through the SDK's API client."""

import datetime
import json
import os
import urllib.request

import pytest
from databricks.sdk.errors import NotFound
from databricks.sdk.service.apps import App, AppDeployment, AppDeploymentMode, EnvVar

TIMEOUT = datetime.timedelta(seconds=60)
MODEL_ID = "m-0123456789abcdef0123456789abcdef"


def _control(method: str, path: str, body: dict) -> None:
    req = urllib.request.Request(
        os.environ["SIM_URL"] + path,
        data=json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status in (200, 204), resp.status


def _seed(yaml: str) -> None:
    req = urllib.request.Request(
        os.environ["SIM_URL"] + "/_sim/seed", data=yaml.encode(), method="POST", headers={"Content-Type": "application/yaml"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status in (200, 204), resp.status


def _deployed_app(w, name="task-app"):
    w.apps.create_and_wait(App(name=name, description="conformance"), timeout=TIMEOUT)
    w.apps.deploy_and_wait(
        name,
        AppDeployment(
            source_code_path="/Workspace/Shared/bot",
            mode=AppDeploymentMode.SNAPSHOT,
            env_vars=[EnvVar(name="MLFLOW_ACTIVE_MODEL_ID", value=MODEL_ID)],
        ),
        timeout=TIMEOUT,
    )


def test_a_task_is_started_then_continued_until_it_succeeds(w, sim):
    _deployed_app(w)
    _control("PUT", "/_sim/apps/task-app/tasks", {"seconds": 600, "continuations": True})
    started = w.api_client.do(
        "POST", "/_apps/task-app/api/tasks", body={"input": [{"role": "user", "content": "Plan my upgrade"}]}
    )
    assert started["state"] == "RUNNING"
    task_id = started["task_id"]
    running = w.api_client.do("GET", f"/_apps/task-app/api/tasks/{task_id}")
    assert running["state"] == "RUNNING"
    nxt = running["continuation_id"]
    assert nxt.startswith(task_id)
    sim.advance(700)
    done = w.api_client.do("GET", f"/_apps/task-app/api/tasks/{nxt}")
    assert done["state"] == "SUCCEEDED"
    assert done["output"] == f"[{MODEL_ID}] Task completed: Plan my upgrade"
    with pytest.raises(NotFound):
        w.api_client.do("GET", "/_apps/task-app/api/tasks/task-9999")


def test_a_failing_task_ends_failed_with_its_error(w, sim):
    _deployed_app(w)
    _control("PUT", "/_sim/apps/task-app/tasks", {"seconds": 10, "outcome": {"fail": "tool backend down"}})
    task_id = w.api_client.do("POST", "/_apps/task-app/api/tasks", body={"input": []})["task_id"]
    sim.advance(20)
    got = w.api_client.do("GET", f"/_apps/task-app/api/tasks/{task_id}")
    assert got == {"task_id": task_id, "state": "FAILED", "error": "tool backend down"}


def test_a_crashed_app_reports_crashed_and_logs_the_crash(w):
    _deployed_app(w)
    _control("POST", "/_sim/apps/task-app/crash", {"message": "ModuleNotFoundError: loyalty_tools"})
    app = w.apps.get("task-app")
    assert app.app_status.state.value == "CRASHED"
    assert app.compute_status.state.value == "ACTIVE"
    logs = w.api_client.do("GET", "/_apps/task-app/logz", raw=True)["contents"].read().decode()
    assert "[APP] ERROR: ModuleNotFoundError: loyalty_tools" in logs
    assert logs.rstrip().endswith("app status CRASHED")
    _control("POST", "/_sim/apps/task-app/crash", {"message": "oom", "compute_error": True})
    app = w.apps.get("task-app")
    assert app.compute_status.state.value == "ERROR"
    assert app.app_status.state.value == "UNAVAILABLE"


def test_managed_mcp_servers_list_vector_search_and_genie_tools_with_a_session(w):
    _seed(
        "catalogs:\n  - name: main\n    schemas:\n      - name: agents\n        vector_indexes: [faq_index]\n"
        "genie_spaces: {01f0aa11bb22: Loyalty analytics}\n"
    )
    init = w.api_client.do(
        "POST",
        "/api/2.0/mcp/vector-search/main/agents",
        body={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}},
        headers={"Accept": "application/json, text/event-stream"},
        response_headers=["mcp-session-id"],
    )
    assert init["result"]["protocolVersion"] == "2025-06-18"
    session = init["mcp-session-id"]
    assert session.startswith("mcp-")
    listed = w.api_client.do(
        "POST",
        "/api/2.0/mcp/vector-search/main/agents",
        body={"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
        headers={"Mcp-Session-Id": session},
    )
    assert [t["name"] for t in listed["result"]["tools"]] == ["main__agents__faq_index"]
    genie = w.api_client.do(
        "POST",
        "/api/2.0/mcp/genie/01f0aa11bb22",
        body={"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}},
    )
    assert [t["name"] for t in genie["result"]["tools"]] == [
        "query_space_01f0aa11bb22",
        "poll_response_01f0aa11bb22",
    ]
    with pytest.raises(NotFound):
        w.api_client.do(
            "POST",
            "/api/2.0/mcp/genie/nope",
            body={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        )


def test_event_stream_answers_and_required_sessions(w):
    _control("POST", "/_sim/mcp", {"sse": True, "require_sessions": True})
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    with pytest.raises(Exception) as refused:
        w.api_client.do("POST", "/api/2.0/mcp/functions/main/agents", body=body)
    assert "No valid session ID" in str(refused.value)
    init = w.api_client.do(
        "POST",
        "/api/2.0/mcp/functions/main/agents",
        body={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
        headers={"Accept": "application/json, text/event-stream"},
        response_headers=["mcp-session-id"],
        raw=True,
    )
    text = init["contents"].read().decode()
    data = [line[len("data: "):] for line in text.splitlines() if line.startswith("data: ")]
    assert json.loads(data[0])["result"]["serverInfo"]["name"] == "uc-functions-main-agents"
    session = init["mcp-session-id"]
    listed = w.api_client.do(
        "POST",
        "/api/2.0/mcp/functions/main/agents",
        body=body,
        headers={"Mcp-Session-Id": session, "Accept": "application/json"},
    )
    assert "tools" in listed["result"]
    with pytest.raises(NotFound):
        w.api_client.do(
            "POST",
            "/api/2.0/mcp/functions/main/agents",
            body=body,
            headers={"Mcp-Session-Id": "mcp-unknown"},
        )
