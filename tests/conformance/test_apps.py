"""Apps, deployments and their permissions through the SDK (waiters included)."""

import datetime

import pytest
from databricks.sdk.errors import NotFound, ResourceAlreadyExists
from databricks.sdk.service.apps import (
    App,
    AppAccessControlRequest,
    AppDeployment,
    AppDeploymentMode,
    AppDeploymentState,
    AppPermissionLevel,
    AppResource,
    AppResourceSqlWarehouse,
    AppResourceSqlWarehouseSqlWarehousePermission,
    ComputeState,
    EnvVar,
)

TIMEOUT = datetime.timedelta(seconds=60)


def _app(name="bot-app"):
    return App(
        name=name,
        description="conformance",
        resources=[
            AppResource(
                name="warehouse",
                sql_warehouse=AppResourceSqlWarehouse(
                    id="4b9e2a1c7d3f5e60", permission=AppResourceSqlWarehouseSqlWarehousePermission.CAN_USE
                ),
            )
        ],
    )


def test_create_deploy_and_read_back(w):
    app = w.apps.create_and_wait(_app(), timeout=TIMEOUT)
    assert app.compute_status.state == ComputeState.ACTIVE
    assert app.service_principal_client_id and app.url
    deployment = w.apps.deploy_and_wait(
        "bot-app",
        AppDeployment(
            source_code_path="/Workspace/Shared/bot",
            mode=AppDeploymentMode.SNAPSHOT,
            command=["python", "app.py"],
            env_vars=[EnvVar(name="MLFLOW_ACTIVE_MODEL_ID", value="m-0123456789abcdef0123456789abcdef")],
        ),
        timeout=TIMEOUT,
    )
    assert deployment.status.state == AppDeploymentState.SUCCEEDED
    again = w.apps.get_deployment("bot-app", deployment.deployment_id)
    assert again.env_vars[0].name == "MLFLOW_ACTIVE_MODEL_ID"
    assert again.command == ["python", "app.py"]
    app = w.apps.get("bot-app")
    assert app.active_deployment.deployment_id == deployment.deployment_id
    assert [a.name for a in w.apps.list()] == ["bot-app"]
    assert [d.deployment_id for d in w.apps.list_deployments("bot-app")] == [deployment.deployment_id]


def test_a_deployment_from_a_missing_folder_fails(w):
    w.apps.create_and_wait(_app(), timeout=TIMEOUT)
    with pytest.raises(Exception) as failure:
        w.apps.deploy_and_wait(
            "bot-app",
            AppDeployment(source_code_path="/Workspace/Shared/missing", mode=AppDeploymentMode.SNAPSHOT),
            timeout=TIMEOUT,
        )
    assert "FAILED" in str(failure.value) or "does not exist" in str(failure.value)


def test_duplicate_and_missing_apps(w):
    w.apps.create(_app("dup-app"))
    with pytest.raises(ResourceAlreadyExists):
        w.apps.create(_app("dup-app"))
    with pytest.raises(NotFound):
        w.apps.get("no-such-app")


def test_app_permissions(w):
    w.apps.create(_app())
    perms = w.apps.update_permissions(
        "bot-app",
        access_control_list=[
            AppAccessControlRequest(group_name="agent-ops", permission_level=AppPermissionLevel.CAN_USE)
        ],
    )
    groups = {a.group_name: [p.permission_level for p in a.all_permissions] for a in perms.access_control_list if a.group_name}
    assert groups["agent-ops"] == [AppPermissionLevel.CAN_USE]
    assert AppPermissionLevel.CAN_MANAGE in groups["admins"]
    got = w.apps.get_permissions("bot-app")
    assert any(a.group_name == "agent-ops" for a in got.access_control_list)


def test_asynchronous_update(w):
    w.apps.create(_app())
    update = w.apps.create_update_and_wait(
        "bot-app", "description", app=App(name="bot-app", description="updated"), timeout=TIMEOUT
    )
    assert update.status.state.value == "SUCCEEDED"
    assert w.apps.get("bot-app").description == "updated"
    assert w.apps.get_update("bot-app").description == "updated"
