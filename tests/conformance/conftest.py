"""Fixtures: the simulator under test, a fresh state per test, SDK clients."""

import os
import pathlib
import urllib.request

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config

SEED = (pathlib.Path(__file__).parent / "seed.yaml").read_text()


def _post(path: str, body: bytes, content_type: str = "application/yaml") -> None:
    req = urllib.request.Request(
        os.environ["SIM_URL"] + path, data=body, method="POST", headers={"Content-Type": content_type}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status in (200, 204), resp.status


@pytest.fixture(autouse=True)
def fresh_workspace():
    """Every test starts from the seed, with no faults."""
    _post("/_sim/reset", SEED.encode())
    yield


@pytest.fixture
def sim():
    """Helpers for the simulator's own controls."""

    class Sim:
        url = os.environ["SIM_URL"]

        @staticmethod
        def fault(rule: str) -> None:
            _post("/_sim/faults", rule.encode(), "application/json")

        @staticmethod
        def advance(seconds: float) -> None:
            _post("/_sim/clock", ('{"advance_seconds": %s}' % seconds).encode(), "application/json")

    return Sim()


def client(token: str | None = None, retry_timeout_seconds: int = 20, **auth) -> WorkspaceClient:
    """An SDK client for the simulator (PAT unless other auth is given)."""
    if not auth:
        auth = {"token": token or os.environ["SIM_TOKEN"], "auth_type": "pat"}
    config = Config(host=os.environ["SIM_URL"], retry_timeout_seconds=retry_timeout_seconds, **auth)
    return WorkspaceClient(config=config)


@pytest.fixture
def w() -> WorkspaceClient:
    return client()
