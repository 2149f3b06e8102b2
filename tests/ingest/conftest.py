"""Fixtures of the vector import tests: the CLI against the test database, area settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner, Result

from models.settings import RegionSettings, ServiceArea
from service.cli import app
from tests.checksums import table_checksums

DATA_TABLES = ("plots", "admin_units")


@pytest.fixture()
def anhua() -> ServiceArea:
    """The default service area (Anhua with a margin)."""
    area = RegionSettings().service_area
    assert area is not None
    return area


CliRun = Callable[..., Result]


@pytest.fixture()
def cli(database_url: str, db: Engine) -> CliRun:
    """Run ``skyground`` in-process against the (emptied) test database."""

    def run(*args: str, service_area: str | None = None) -> Result:
        env = {"SKYGROUND_DATABASE_URL": database_url, "SKYGROUND_LANG": "en"}
        if service_area is not None:
            env["SKYGROUND_SERVICE_AREA"] = service_area
        return CliRunner().invoke(app, list(args), env=env)

    return run


def json_of(result: Result) -> dict[str, Any]:
    """The one JSON document a ``--json`` command printed."""
    return json.loads(result.stdout)


def data_checksums(engine: Engine) -> dict[str, str]:
    """Checksums of the data tables only (jobs rows are written even by failed imports)."""
    sums = table_checksums(engine, with_times=True)
    return {name: sums[name] for name in DATA_TABLES}


def plot_rows(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every plot by code, with its geometry as WKT and area in m²."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT code, name, owner, cooperative, village_id, village_name, crop, variety,"
                " planting_year, attributes, area_m2, source, retired_at, updated_at,"
                " ST_AsText(geom) AS wkt FROM plots ORDER BY code"
            )
        ).mappings()
        return {row["code"]: dict(row) for row in rows}
