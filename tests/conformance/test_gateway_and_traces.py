"""What the gateway and trace checks read, through the SDK: SQL statements over the AI gateway's
tables that an app's chat call fills, the trace search of the experiment the app traces into,
experiment permissions, serving endpoints fronting external models, and a database app
resource."""

import datetime

import pytest
from databricks.sdk.errors import BadRequest, NotFound
from databricks.sdk.service.apps import (
    App,
    AppDeployment,
    AppDeploymentMode,
    AppResource,
    AppResourceDatabase,
    AppResourceDatabaseDatabasePermission,
    EnvVar,
)
from databricks.sdk.service.iam import AccessControlRequest, PermissionLevel
from databricks.sdk.service.ml import ExperimentAccessControlRequest, ExperimentPermissionLevel
from databricks.sdk.service.serving import (
    EndpointCoreConfigInput,
    ExternalModel,
    ExternalModelProvider,
    OpenAiConfig,
    ServedEntityInput,
)
from databricks.sdk.service.sql import StatementParameterListItem, StatementState

TIMEOUT = datetime.timedelta(seconds=60)
MODEL_ID = "m-0123456789abcdef0123456789abcdef"
WAREHOUSE = "4b9e2a1c7d3f5e60"
PAYLOAD = "main.agents.gateway_payload"
USAGE = "main.agents.gateway_usage"


def _chat(w):
    """Deploys an app tracing into a new experiment, sends one chat call: (experiment, trace)."""
    exp_id = w.experiments.create_experiment("/Shared/traces").experiment_id
    w.apps.create_and_wait(App(name="gw-app"), timeout=TIMEOUT)
    w.apps.deploy_and_wait(
        "gw-app",
        AppDeployment(
            source_code_path="/Workspace/Shared/bot",
            mode=AppDeploymentMode.SNAPSHOT,
            env_vars=[
                EnvVar(name="MLFLOW_ACTIVE_MODEL_ID", value=MODEL_ID),
                EnvVar(name="MLFLOW_EXPERIMENT_ID", value=exp_id),
            ],
        ),
        timeout=TIMEOUT,
    )
    resp = w.api_client.do(
        "POST",
        "/_apps/gw-app/api/chat/completions",
        body={"messages": [{"role": "user", "content": "Which tier am I in?"}], "stream": False},
    )
    return exp_id, resp["databricks_output"]["trace"]["info"]["trace_id"]


def test_a_chat_call_leaves_its_payload_row_and_a_usage_row(w):
    before = w.statement_execution.execute_statement(
        statement=f"SELECT count(*) AS n FROM {USAGE}", warehouse_id=WAREHOUSE, wait_timeout="10s"
    )
    assert before.status.state == StatementState.SUCCEEDED
    assert before.result.data_array == [["0"]]
    _, trace = _chat(w)
    found = w.statement_execution.execute_statement(
        statement=f"SELECT databricks_request_id FROM `main`.`agents`.`gateway_payload` WHERE databricks_request_id = :request_id LIMIT 1",
        warehouse_id=WAREHOUSE,
        parameters=[StatementParameterListItem(name="request_id", value=trace, type="STRING")],
        wait_timeout="10s",
    )
    assert found.status.state == StatementState.SUCCEEDED
    assert [c.name for c in found.manifest.schema.columns] == ["databricks_request_id"]
    assert found.result.data_array == [[trace]]
    again = w.statement_execution.get_statement(found.statement_id)
    assert again.result.data_array == [[trace]]
    after = w.statement_execution.execute_statement(
        statement=f"SELECT count(*) AS n FROM {USAGE}", warehouse_id=WAREHOUSE, wait_timeout="10s"
    )
    assert after.result.data_array == [["1"]]


def test_sql_errors_fail_the_statement_and_bad_requests_are_refused(w):
    failed = w.statement_execution.execute_statement(
        statement=f"DELETE FROM {PAYLOAD}", warehouse_id=WAREHOUSE, wait_timeout="0s"
    )
    assert failed.status.state == StatementState.FAILED
    assert failed.status.error.message.startswith("[PARSE_SYNTAX_ERROR]")
    missing = w.statement_execution.execute_statement(
        statement="SELECT * FROM main.agents.nothing", warehouse_id=WAREHOUSE, wait_timeout="0s"
    )
    assert missing.status.error.message.startswith("[TABLE_OR_VIEW_NOT_FOUND]")
    with pytest.raises(NotFound):
        w.statement_execution.execute_statement(statement="SELECT 1 FROM a.b.c", warehouse_id="nope")
    with pytest.raises(BadRequest):
        w.statement_execution.execute_statement(
            statement=f"SELECT * FROM {PAYLOAD}", warehouse_id=WAREHOUSE, wait_timeout="2s"
        )


def test_the_trace_search_finds_the_call_linked_to_the_model(w):
    exp_id, trace = _chat(w)
    page = w.api_client.do(
        "GET", "/api/2.0/mlflow/traces", query={"experiment_ids": [exp_id], "max_results": 10}
    )
    assert [t["request_id"] for t in page["traces"]] == [trace]
    info = page["traces"][0]
    assert info["experiment_id"] == exp_id
    assert {"key": "mlflow.modelId", "value": MODEL_ID} in info["request_metadata"]
    by_id = w.api_client.do(
        "GET",
        "/api/2.0/mlflow/traces",
        query={"experiment_ids": [exp_id], "filter": f"request_id = '{trace}'"},
    )
    assert len(by_id["traces"]) == 1
    with pytest.raises(BadRequest):
        w.api_client.do(
            "GET", "/api/2.0/mlflow/traces", query={"experiment_ids": [exp_id], "filter": "status = 'OK'"}
        )


def test_experiment_permissions_upsert_and_refuse_other_levels(w):
    exp_id = w.experiments.create_experiment("/Shared/perm").experiment_id
    w.experiments.update_permissions(
        exp_id,
        access_control_list=[
            ExperimentAccessControlRequest(group_name="agent-ops", permission_level=ExperimentPermissionLevel.CAN_EDIT)
        ],
    )
    acl = w.experiments.get_permissions(exp_id)
    levels = {
        e.group_name: [p.permission_level.value for p in e.all_permissions if not p.inherited]
        for e in acl.access_control_list
        if e.group_name
    }
    assert levels["agent-ops"] == ["CAN_EDIT"]
    with pytest.raises(BadRequest):
        w.permissions.update(
            "experiments",
            exp_id,
            access_control_list=[AccessControlRequest(group_name="agent-ops", permission_level=PermissionLevel.CAN_QUERY)],
        )


def test_an_endpoint_fronts_an_external_model_with_a_secret_reference(w):
    entity = ServedEntityInput(
        name="gpt",
        external_model=ExternalModel(
            name="gpt-4o",
            provider=ExternalModelProvider.OPENAI,
            task="llm/v1/chat",
            openai_config=OpenAiConfig(openai_api_key="{{secrets/gateway/openai}}"),
        ),
    )
    w.serving_endpoints.create_and_wait(
        name="gateway-chat", config=EndpointCoreConfigInput(name="gateway-chat", served_entities=[entity]), timeout=TIMEOUT
    )
    got = w.serving_endpoints.get("gateway-chat")
    ext = got.config.served_entities[0].external_model
    assert (ext.name, ext.provider, ext.task) == ("gpt-4o", ExternalModelProvider.OPENAI, "llm/v1/chat")
    assert ext.openai_config.openai_api_key == "{{secrets/gateway/openai}}"
    literal = ServedEntityInput(
        name="gpt",
        external_model=ExternalModel(
            name="gpt-4o", provider=ExternalModelProvider.OPENAI, task="llm/v1/chat", openai_config=OpenAiConfig(openai_api_key="sk-live")
        ),
    )
    with pytest.raises(BadRequest):
        w.serving_endpoints.create(name="leaky", config=EndpointCoreConfigInput(name="leaky", served_entities=[literal]))


def test_an_app_declares_a_database_resource(w):
    resource = AppResource(
        name="db",
        database=AppResourceDatabase(
            instance_name="agents-lakebase",
            database_name="agent_state",
            permission=AppResourceDatabaseDatabasePermission.CAN_CONNECT_AND_CREATE,
        ),
    )
    w.apps.create_and_wait(App(name="db-app", resources=[resource]), timeout=TIMEOUT)
    got = w.apps.get("db-app").resources[0].database
    assert (got.instance_name, got.database_name) == ("agents-lakebase", "agent_state")
    assert got.permission == AppResourceDatabaseDatabasePermission.CAN_CONNECT_AND_CREATE
