"""Grants, SCIM, workspace objects, MLflow, OAuth M2M and error mapping through the SDK."""

import base64
import io
import json
import time

import pytest
from databricks.sdk.errors import (
    BadRequest,
    InvalidParameterValue,
    NotFound,
    ResourceAlreadyExists,
    TemporarilyUnavailable,
    TooManyRequests,
    Unauthenticated,
)
from databricks.sdk.service.catalog import PermissionsChange, Privilege
from databricks.sdk.service.ml import Dataset, DatasetInput, InputTag, Metric, ModelInput, Param, RunTag, UpdateRunStatus
from databricks.sdk.service.workspace import ImportFormat, ObjectType

from conftest import client


def test_grants_update_and_get(w):
    res = w.grants.update(
        "function", "main.agents.bot", changes=[PermissionsChange(principal="agent-ops", add=[Privilege.EXECUTE])]
    )
    assert [(a.principal, a.privileges) for a in res.privilege_assignments] == [("agent-ops", [Privilege.EXECUTE])]
    got = w.grants.get("FUNCTION", "main.agents.bot")
    assert got.privilege_assignments[0].privileges == [Privilege.EXECUTE]
    with pytest.raises(InvalidParameterValue):
        w.grants.update(
            "function",
            "main.agents.bot",
            changes=[PermissionsChange(principal="agent-ops", add=[Privilege.EXECUTE], remove=[Privilege.EXECUTE])],
        )


def test_scim_service_principal_by_application_id(w):
    sps = list(w.service_principals.list(filter='applicationId eq "5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c"'))
    assert [sp.display_name for sp in sps] == ["ci-bot"]
    assert list(w.service_principals.list(filter='applicationId eq "00000000-0000-4000-8000-000000000000"')) == []
    assert w.service_principals.get(sps[0].id).application_id == "5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c"


def test_workspace_objects(w):
    w.workspace.mkdirs("/Workspace/Shared/new/app")
    assert w.workspace.get_status("/Workspace/Shared/new/app").object_type == ObjectType.DIRECTORY
    w.workspace.import_(
        "/Workspace/Shared/new/app/app.yaml", content=base64.b64encode(b"command: [python]").decode(), format=ImportFormat.AUTO
    )
    assert w.workspace.get_status("/Workspace/Shared/new/app/app.yaml").object_type == ObjectType.FILE
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.import_(
            "/Workspace/Shared/new/app/app.yaml", content=base64.b64encode(b"x").decode(), format=ImportFormat.AUTO
        )
    with pytest.raises(NotFound):
        w.workspace.get_status("/Workspace/Shared/none")
    # The multipart form of the SDK's upload helper, and download back.
    w.workspace.upload("/Workspace/Shared/new/app/app.py", io.BytesIO(b"print('hi')"), format=ImportFormat.AUTO)
    assert w.workspace.download("/Workspace/Shared/new/app/app.py").read() == b"print('hi')"
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.upload("/Workspace/Shared/new/app/app.py", io.BytesIO(b"x"), format=ImportFormat.AUTO)
    w.workspace.upload("/Workspace/Shared/new/app/app.py", io.BytesIO(b"v2"), format=ImportFormat.AUTO, overwrite=True)
    assert w.workspace.download("/Workspace/Shared/new/app/app.py").read() == b"v2"


def test_experiments_and_runs_with_inputs(w):
    assert w.experiments.get_by_name("/Shared/eval").experiment.lifecycle_stage == "active"
    exp_id = w.experiments.create_experiment("/Shared/deploy").experiment_id
    with pytest.raises(ResourceAlreadyExists):
        w.experiments.create_experiment("/Shared/deploy")
    run = w.experiments.create_run(experiment_id=exp_id, run_name="deploy_1", tags=[RunTag(key="release", value="v7")]).run
    w.experiments.log_batch(
        run_id=run.info.run_id,
        metrics=[Metric(key="accuracy", value=0.9, timestamp=1, step=0)],
        params=[Param(key="n", value="7")],
    )
    w.experiments.log_inputs(
        run.info.run_id,
        datasets=[
            DatasetInput(
                dataset=Dataset(name="eval_v7", digest="abc", source_type="delta", source=json.dumps({"table": "t"})),
                tags=[InputTag(key="mlflow.data.context", value="evaluation")],
            )
        ],
        # The model the run evaluated (MLflow 3 model inputs): what binds an eval summary's
        # run_id to the released model.
        models=[ModelInput(model_id="m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b")],
    )
    w.experiments.set_tag("stage", "done", run_id=run.info.run_id)
    w.experiments.update_run(run_id=run.info.run_id, status=UpdateRunStatus.FINISHED, end_time=2)
    got = w.experiments.get_run(run.info.run_id).run
    assert getattr(got.info.status, "value", got.info.status) == "FINISHED"
    assert got.inputs.dataset_inputs[0].tags[0].value == "evaluation"
    assert [m.model_id for m in got.inputs.model_inputs] == ["m-7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b"]
    assert {t.key: t.value for t in got.data.tags}["stage"] == "done"
    found = list(w.experiments.search_runs(experiment_ids=[exp_id], filter="tags.release = 'v7'"))
    assert [r.info.run_id for r in found] == [run.info.run_id]
    with pytest.raises(NotFound):
        w.experiments.get_run("no-such-run")


def test_oauth_machine_to_machine():
    m2m = client(
        client_id="5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c",
        client_secret="ci-secret",
        auth_type="oauth-m2m",
    )
    assert m2m.current_user.me().user_name == "5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c"
    assert m2m.model_versions.get_by_alias("main.agents.bot", "champion").version == 1


def _unsigned_jwt(claims: dict) -> str:
    def enc(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}.sig"


def test_workload_identity_federation_file_oidc(tmp_path):
    token = tmp_path / "oidc-token"
    token.write_text(
        _unsigned_jwt(
            {
                "iss": "https://token.actions.githubusercontent.com",
                "aud": "databricks",
                "sub": "repo:example/agents:environment:prod",
                "exp": int(time.time()) + 3600 * 24 * 365,
            }
        )
    )
    federated = client(
        client_id="5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c",
        oidc_token_filepath=str(token),
        auth_type="file-oidc",
    )
    assert federated.current_user.me().user_name == "5f0c2a8e-3b1d-4e6f-9a7c-2d4b6e8f0a1c"


def test_error_classes(w, sim):
    with pytest.raises(Unauthenticated):
        client("dapi-wrong").current_user.me()
    with pytest.raises(BadRequest):
        w.api_client.do("POST", "/api/2.0/mlflow/runs/create", body={"experiment_id": 5})
    # The SDK retries 503 and 429 until its retry timeout; the last error is the mapped class.
    sim.fault('{"path": "/api/2.0/apps/flaky", "action": {"kind": "status", "status": 503}}')
    with pytest.raises(TimeoutError) as flaky:
        client(retry_timeout_seconds=2).apps.get("flaky")
    assert isinstance(flaky.value.__cause__, TemporarilyUnavailable)
    sim.fault('{"path": "/api/2.0/apps/throttled", "action": {"kind": "rate_limit", "retry_after_secs": 1}}')
    with pytest.raises(TimeoutError) as throttled:
        client(retry_timeout_seconds=2).apps.get("throttled")
    assert isinstance(throttled.value.__cause__, TooManyRequests)


def test_a_429_with_retry_after_is_retried_transparently(w, sim):
    sim.fault('{"path": "/api/2.0/apps", "method": "GET", "times": 1, "action": {"kind": "rate_limit", "retry_after_secs": 1}}')
    assert list(w.apps.list()) == []


def test_catalogs_schemas_volumes_and_model_listing(w):
    assert w.catalogs.get("main").name == "main"
    assert [s.full_name for s in w.schemas.list(catalog_name="main")] == ["main.agents"]
    assert w.volumes.read("main.agents.docs").volume_type.value == "MANAGED"
    assert [v.name for v in w.volumes.list(catalog_name="main", schema_name="agents")] == ["docs"]
    assert [m.full_name for m in w.registered_models.list(catalog_name="main", schema_name="agents")] == ["main.agents.bot"]
    with pytest.raises(NotFound):
        w.catalogs.get("nope")


def test_single_metric_param_and_experiment_search(w):
    exp_id = w.experiments.create_experiment("/Shared/search-me").experiment_id
    run = w.experiments.create_run(experiment_id=exp_id).run
    w.experiments.log_metric("loss", 0.25, timestamp=1, run_id=run.info.run_id)
    w.experiments.log_param("lr", "0.1", run_id=run.info.run_id)
    got = w.experiments.get_run(run.info.run_id).run
    assert [(m.key, m.value) for m in got.data.metrics] == [("loss", 0.25)]
    assert [(p.key, p.value) for p in got.data.params] == [("lr", "0.1")]
    found = [e.name for e in w.experiments.search_experiments(filter="name LIKE '/Shared/search%'")]
    assert found == ["/Shared/search-me"]
