"""Serving endpoints, their permissions, and warehouse permissions through the SDK."""

import datetime

import pytest
from databricks.sdk.errors import InvalidParameterValue, NotFound, ResourceConflict
from databricks.sdk.service.serving import (
    EndpointCoreConfigInput,
    EndpointStateConfigUpdate,
    EndpointStateReady,
    Route,
    ServedEntityInput,
    ServingEndpointAccessControlRequest,
    ServingEndpointPermissionLevel,
    TrafficConfig,
)
from databricks.sdk.service.sql import WarehouseAccessControlRequest, WarehousePermissionLevel

TIMEOUT = datetime.timedelta(seconds=60)


def _entities(version):
    return [
        ServedEntityInput(
            name=f"bot-{version}",
            entity_name="main.agents.bot",
            entity_version=str(version),
            workload_size="Small",
            scale_to_zero_enabled=True,
        )
    ]


def test_create_and_update_config(w):
    ep = w.serving_endpoints.create_and_wait(
        "bot-endpoint",
        config=EndpointCoreConfigInput(
            name="bot-endpoint",
            served_entities=_entities(1),
            traffic_config=TrafficConfig(routes=[Route(served_entity_name="bot-1", traffic_percentage=100)]),
        ),
        timeout=TIMEOUT,
    )
    assert ep.state.ready == EndpointStateReady.READY
    assert ep.state.config_update == EndpointStateConfigUpdate.NOT_UPDATING
    updated = w.serving_endpoints.update_config_and_wait(
        "bot-endpoint",
        served_entities=_entities(2),
        traffic_config=TrafficConfig(routes=[Route(served_entity_name="bot-2", traffic_percentage=100)]),
        timeout=TIMEOUT,
    )
    assert updated.config.served_entities[0].entity_version == "2"
    assert updated.config.config_version == 2
    answer = w.serving_endpoints.query("bot-endpoint", inputs={"question": "tier?"})
    assert answer.predictions == ["simulated answer from main.agents.bot/2"]


def test_an_update_while_one_is_in_progress_is_refused(w):
    w.serving_endpoints.create("busy-endpoint", config=EndpointCoreConfigInput(name="busy-endpoint", served_entities=_entities(1)))
    with pytest.raises(ResourceConflict):
        w.serving_endpoints.update_config("busy-endpoint", served_entities=_entities(2))


def test_a_missing_model_version_and_endpoint(w):
    with pytest.raises(NotFound):
        w.serving_endpoints.create("bad-endpoint", config=EndpointCoreConfigInput(name="bad-endpoint", served_entities=_entities(9)))
    with pytest.raises(NotFound):
        w.serving_endpoints.get("no-such-endpoint")


def test_endpoint_and_warehouse_permissions(w):
    ep = w.serving_endpoints.create_and_wait(
        "perm-endpoint", config=EndpointCoreConfigInput(name="perm-endpoint", served_entities=_entities(1)), timeout=TIMEOUT
    )
    perms = w.serving_endpoints.update_permissions(
        ep.id,
        access_control_list=[
            ServingEndpointAccessControlRequest(
                group_name="agent-ops", permission_level=ServingEndpointPermissionLevel.CAN_QUERY
            )
        ],
    )
    assert any(a.group_name == "agent-ops" for a in perms.access_control_list)
    replaced = w.serving_endpoints.set_permissions(ep.id, access_control_list=[])
    assert not any(a.group_name == "agent-ops" for a in replaced.access_control_list)
    wh = w.warehouses.update_permissions(
        "4b9e2a1c7d3f5e60",
        access_control_list=[
            WarehouseAccessControlRequest(user_name="ml-lead@example.com", permission_level=WarehousePermissionLevel.CAN_USE)
        ],
    )
    assert any(a.user_name == "ml-lead@example.com" for a in wh.access_control_list)
    with pytest.raises(InvalidParameterValue):
        w.warehouses.update_permissions(
            "4b9e2a1c7d3f5e60",
            access_control_list=[
                WarehouseAccessControlRequest(user_name="nobody@example.com", permission_level=WarehousePermissionLevel.CAN_USE)
            ],
        )
