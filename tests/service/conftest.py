"""Service fixtures: one known world per test module, and a client of an app over it.

The API tests only read, so each module builds the world once (truncate, then insert) and
every test in it sees the same rows. Tests that write use the function-scoped ``db``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from models.auth.settings import AuthSettings
from models.settings import ApiSettings, DatabaseSettings, RegionSettings, Settings
from service.main import create_app
from tests.conftest import truncate_all
from tests.service.auth_world import Caller, add_callers
from tests.service.world import build_world


@pytest.fixture(scope="module")
def world(engine: Engine) -> Engine:
    """Emptied tables holding the admin units and plots of ``tests.service.world``."""
    truncate_all(engine)
    build_world(engine)
    return engine


@pytest.fixture(scope="module")
def callers(engine: Engine) -> dict[str, Caller]:
    """The service world with one user (and key) per role and a township officer."""
    truncate_all(engine)
    build_world(engine)
    return add_callers(engine)


@pytest.fixture(scope="module")
def module_settings(database_url: str, cluster_home: Path) -> Settings:
    return Settings(
        db=DatabaseSettings(database_url=database_url, home=cluster_home),
        region=RegionSettings(),
        api=ApiSettings(),
        # These tests are about data; tests/service/test_auth*.py are about who may see it.
        auth=AuthSettings(anonymous_read=True),
    )


@pytest.fixture(scope="module")
def client(world: Engine, module_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(module_settings)) as test_client:
        yield test_client
