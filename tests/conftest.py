"""Shared fixtures: one real PostGIS cluster per test run, started through ``models.cluster``.

The cluster lives in a folder this file creates under the system temp dir (mode 0755, so the
unprivileged server user can enter it; pytest's own tmp dirs are 0700). Tests that write
start from empty tables.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from models.auth.settings import AuthSettings
from models.cluster import EmbeddedCluster
from models.db import engine_for, prepare_database
from models.settings import ApiSettings, DatabaseSettings, RegionSettings, Settings
from models.tables import Base

DATA = Path(__file__).parent / "data"


def make_world_dir(prefix: str) -> Path:
    """A temp folder the PostgreSQL server user can enter (pytest's are 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def cluster_home() -> Iterator[Path]:
    home = make_world_dir("skyground-test-")
    yield home
    EmbeddedCluster(DatabaseSettings(home=home, database_url=None)).destroy()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(cluster_home: Path) -> str:
    os.environ.pop("SKYGROUND_DATABASE_URL", None)
    return prepare_database(DatabaseSettings(home=cluster_home, database_url=None), durable=False)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = engine_for(database_url)
    yield eng
    eng.dispose()


def truncate_all(engine: Engine) -> None:
    """Empty every SkyGround table and restart its ids."""
    names = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # The audit log is append-only except for declared admin work.
        conn.execute(text("SET LOCAL skyground.audit_admin = 'on'"))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture()
def db(engine: Engine) -> Engine:
    """The test engine with every table emptied first."""
    truncate_all(engine)
    return engine


@pytest.fixture()
def settings(database_url: str, cluster_home: Path) -> Settings:
    """Settings pointing at the test cluster (as an external URL) with the default region."""
    return Settings(
        db=DatabaseSettings(database_url=database_url, home=cluster_home),
        region=RegionSettings(),
        api=ApiSettings(),
        auth=AuthSettings(anonymous_read=True),
    )
