"""Unity Catalog registered models, versions and aliases through the SDK."""

import pytest
from databricks.sdk.errors import NotFound, PermissionDenied, ResourceDoesNotExist

from conftest import client


def test_alias_set_get_delete(w):
    assert w.model_versions.get_by_alias("main.agents.bot", "champion").version == 1
    alias = w.registered_models.set_alias("main.agents.bot", "champion", 2)
    assert alias.alias_name == "champion" and alias.version_num == 2
    mv = w.model_versions.get_by_alias("main.agents.bot", "champion")
    assert mv.version == 2 and mv.status.value == "READY"
    model = w.registered_models.get("main.agents.bot", include_aliases=True)
    assert [(a.alias_name, a.version_num) for a in model.aliases] == [("champion", 2)]
    w.registered_models.delete_alias("main.agents.bot", "champion")
    with pytest.raises(ResourceDoesNotExist):
        w.model_versions.get_by_alias("main.agents.bot", "champion")


def test_model_version_get(w):
    mv = w.model_versions.get("main.agents.bot", 2)
    assert mv.run_id == "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
    assert mv.catalog_name == "main" and mv.schema_name == "agents" and mv.model_name == "bot"
    with pytest.raises(NotFound):
        w.model_versions.get("main.agents.bot", 99)
    with pytest.raises(ResourceDoesNotExist):
        w.registered_models.get("main.agents.missing")


def test_alias_to_a_missing_version_is_not_found(w):
    with pytest.raises(NotFound):
        w.registered_models.set_alias("main.agents.bot", "champion", 42)


def test_a_principal_without_permission_is_denied():
    dev = client("dapi-dev")
    assert dev.model_versions.get_by_alias("main.agents.bot", "champion").version == 1
    with pytest.raises(PermissionDenied):
        dev.registered_models.set_alias("main.agents.bot", "champion", 2)
