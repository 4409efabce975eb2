"""The single objects the operator's preflight reads before its first write — schemas, tables,
functions, vector search indexes, Genie spaces, secret scopes, database instances, warehouses —
through the SDK's own service methods: the answer shapes it parses, and the errors it maps."""

import os
import urllib.request

import pytest
from databricks.sdk.errors import BadRequest, NotFound, ResourceDoesNotExist


def _seed(yaml: str) -> None:
    req = urllib.request.Request(
        os.environ["SIM_URL"] + "/_sim/seed",
        data=yaml.encode(),
        method="POST",
        headers={"Content-Type": "application/yaml"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status in (200, 204), resp.status


SEED = """
catalogs:
  - name: main
    schemas:
      - name: agents
        tables: [loyalty_eval]
        functions: [lookup_member_tier]
        vector_indexes: [faq_index]
genie_spaces: {01f0aa11bb22: Loyalty analytics}
secret_scopes: {agent-keys: [openai, anthropic]}
database_instances: [agents-lakebase]
"""


def test_unity_catalog_schemas_tables_and_functions(w):
    _seed(SEED)
    assert w.schemas.get("main.agents").full_name == "main.agents"
    table = w.tables.get("main.agents.loyalty_eval")
    assert (table.full_name, table.catalog_name, table.schema_name, table.name) == (
        "main.agents.loyalty_eval",
        "main",
        "agents",
        "loyalty_eval",
    )
    assert table.table_type.value == "MANAGED"
    # The AI gateway's tables of the seed are tables too.
    assert w.tables.get("main.agents.gateway_payload").name == "gateway_payload"
    function = w.functions.get("main.agents.lookup_member_tier")
    assert function.full_name == "main.agents.lookup_member_tier"
    assert function.routine_body.value == "SQL"
    for missing in (
        lambda: w.schemas.get("main.nowhere"),
        lambda: w.tables.get("main.agents.nope"),
        lambda: w.functions.get("main.agents.nope"),
    ):
        with pytest.raises(ResourceDoesNotExist):
            missing()


def test_vector_search_indexes_and_genie_spaces(w):
    _seed(SEED)
    index = w.vector_search_indexes.get_index("main.agents.faq_index")
    assert index.name == "main.agents.faq_index"
    assert index.status.ready is True
    assert index.endpoint_name
    with pytest.raises(ResourceDoesNotExist):
        w.vector_search_indexes.get_index("main.agents.nope")
    space = w.genie.get_space("01f0aa11bb22")
    assert (space.space_id, space.title) == ("01f0aa11bb22", "Loyalty analytics")
    with pytest.raises(NotFound):
        w.genie.get_space("nope")


def test_secret_scopes_list_their_keys_never_values(w):
    _seed(SEED)
    keys = sorted(s.key for s in w.secrets.list_secrets("agent-keys"))
    assert keys == ["anthropic", "openai"]
    assert all(s.last_updated_timestamp for s in w.secrets.list_secrets("agent-keys"))
    with pytest.raises(ResourceDoesNotExist):
        list(w.secrets.list_secrets("nope"))
    with pytest.raises(BadRequest):
        w.api_client.do("GET", "/api/2.0/secrets/list")


def test_database_instances_and_warehouses(w):
    _seed(SEED)
    instance = w.database.get_database_instance("agents-lakebase")
    assert instance.name == "agents-lakebase"
    assert instance.state.value == "AVAILABLE"
    with pytest.raises(ResourceDoesNotExist):
        w.database.get_database_instance("nope")
    assert w.warehouses.get("4b9e2a1c7d3f5e60").name == "agents-wh"
    with pytest.raises(ResourceDoesNotExist):
        w.warehouses.get("0000000000000000")


def test_managed_mcp_servers_of_one_function_or_one_index(w):
    _seed(SEED)
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    one = w.api_client.do("POST", "/api/2.0/mcp/functions/main/agents/lookup_member_tier", body=body)
    assert [t["name"] for t in one["result"]["tools"]] == ["main__agents__lookup_member_tier"]
    index = w.api_client.do("POST", "/api/2.0/mcp/vector-search/main/agents/faq_index", body=body)
    assert [t["name"] for t in index["result"]["tools"]] == ["main__agents__faq_index"]
    for missing in ("/api/2.0/mcp/functions/main/agents/nope", "/api/2.0/mcp/vector-search/main/agents/nope"):
        with pytest.raises(NotFound):
            w.api_client.do("POST", missing, body=body)
