"""Uploads and hostile input files: every case gets a clean 4xx, never a 5xx, and changes nothing.

:data:`~tests.service.hostile_files.HOSTILE` lists the upload cases (one test each,
parametrised); raster cases go through ``skyground ingest satellite --source local``
(:data:`~tests.service.hostile_files.RASTER_CASES`), as there is
no raster upload route. For each: the expected status (or a non-zero exit), every table's
checksum unchanged, the upload scratch folder empty afterwards and ``/healthz`` still 200.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from models.auth.settings import AuthSettings
from models.settings import ApiSettings, DatabaseSettings, Settings
from service.cli import app as cli_app
from service.limits import BodyLimitMiddleware
from service.main import create_app
from service.routers.imports import safe_filename
from tests.checksums import table_checksums
from tests.conftest import make_world_dir
from tests.service.auth_world import Caller
from tests.service.hostile_files import (
    HOSTILE,
    RASTER_CASES,
    VALID,
    Case,
    feature,
    geojson,
    square,
    zip_bytes,
)

URL = "/api/plots/import"
SECRET = "s" * 40
#: Upload cap of the small-cap client (bytes), for the body-size cases.
SMALL_CAP = 64 * 1024


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    path = make_world_dir("skyground-uploads-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_client(database_url: str, home: Path, **api: Any) -> TestClient:
    settings = Settings(
        db=DatabaseSettings(database_url=database_url, home=home),
        auth=AuthSettings(secret=SECRET),
        api=ApiSettings(**api),
    )
    return TestClient(create_app(settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(callers: dict[str, Caller], database_url: str, home: Path) -> Iterator[TestClient]:
    with make_client(database_url, home) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def small_client(callers: dict[str, Caller], database_url: str, home: Path) -> Iterator[TestClient]:
    with make_client(database_url, home, max_upload_bytes=SMALL_CAP) as test_client:
        yield test_client


@pytest.fixture()
def officer(callers: dict[str, Caller]) -> dict[str, str]:
    return {**callers["land_officer"].headers, "Accept-Language": "en"}


def post(
    client: TestClient,
    headers: dict[str, str],
    filename: str,
    data: bytes,
    params: dict[str, str] | None = None,
) -> Any:
    return client.post(URL, headers=headers, params=params, files={"file": (filename, data)})


def sums(engine: Engine) -> dict[str, str]:
    """Checksums of every table but ``api_keys``, whose ``last_used_at`` every request moves."""
    checksums = table_checksums(engine)
    checksums.pop("api_keys")
    return checksums


@pytest.fixture()
def unchanged(engine: Engine, client: TestClient, home: Path) -> Iterator[None]:
    """Assert after the test: no table changed, no upload left behind, the server is fine."""
    before = sums(engine)
    yield
    assert sums(engine) == before
    scratch = home / "tmp"
    assert not scratch.exists() or not any(scratch.iterdir())
    assert client.get("/healthz").status_code == 200


# ---------------------------------------------------------------- tests


def test_case_list_is_reportable() -> None:
    names = [case.name for case in HOSTILE]
    assert len(names) == len(set(names)) >= 20


@pytest.mark.parametrize("case", HOSTILE, ids=[c.name for c in HOSTILE])
def test_hostile_upload_is_refused_with_a_4xx_naming_the_problem(
    client: TestClient, officer: dict[str, str], unchanged: None, case: Case
) -> None:
    response = post(client, officer, case.filename, case.data(), case.params)
    assert response.status_code == case.status, response.text
    assert case.detail in response.json()["detail"]


@pytest.mark.parametrize("name", ["zip slip ../x.shp", "XXE KML", "NaN coordinates"])
def test_refused_real_import_writes_no_data_only_a_failed_job(
    client: TestClient, officer: dict[str, str], engine: Engine, home: Path, name: str
) -> None:
    case = next(c for c in HOSTILE if c.name == name)
    before = sums(engine)
    response = post(client, officer, case.filename, case.data(), {"dry_run": "false"})
    assert response.status_code == case.status, response.text
    after = sums(engine)
    assert {k: v for k, v in after.items() if k != "jobs"} == {
        k: v for k, v in before.items() if k != "jobs"
    }
    with engine.connect() as conn:
        states = conn.execute(text("SELECT DISTINCT state FROM jobs WHERE kind = 'plots_import'"))
        assert set(states.scalars()) <= {"failed"}
    assert not any((home / "tmp").iterdir())
    assert client.get("/healthz").status_code == 200


def test_traversal_in_a_good_file_name_is_reduced_to_the_basename(
    client: TestClient, officer: dict[str, str], unchanged: None
) -> None:
    response = post(client, officer, "../../../tmp/evil.geojson", VALID)
    assert response.status_code == 200, response.text
    assert response.json()["source"] == "evil.geojson"
    assert not Path("/tmp/evil.geojson").exists()


def test_valid_geojson_dry_run_reports_and_writes_nothing(
    client: TestClient, officer: dict[str, str], unchanged: None
) -> None:
    response = post(client, officer, "地块 (1).geojson", VALID)
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["dry_run"] is True
    assert summary["features"] == 2
    assert summary["counts"]["inserted"] == 2
    assert summary["source"] == "地块_1.geojson"


def test_valid_geojson_is_imported(
    client: TestClient, officer: dict[str, str], engine: Engine, home: Path
) -> None:
    response = post(client, officer, "plots.geojson", VALID, {"dry_run": "false"})
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["inserted"] == 2
    with engine.connect() as conn:
        codes = conn.execute(text("SELECT code FROM plots WHERE code LIKE 'UP-%' ORDER BY 1"))
        assert list(codes.scalars()) == ["UP-0001", "UP-0002"]
        audit = conn.execute(
            text("SELECT actor, after FROM audit_log WHERE action = 'plots.import'")
        )
        assert [(row.actor, row.after["inserted"]) for row in audit] == [("key:land_officer", 2)]
        conn.execute(text("DELETE FROM plots WHERE code LIKE 'UP-%'"))
        conn.commit()
    assert not any((home / "tmp").iterdir())


def test_zipped_shapefile_is_read_through_the_checked_extraction(
    client: TestClient, officer: dict[str, str], unchanged: None, tmp_path: Path
) -> None:
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"code": ["UP-SHP"]}, geometry=[shapely.box(111.2, 28.31, 111.201, 28.311)], crs=4326
    )
    frame.to_file(tmp_path / "plots.shp", encoding="UTF-8")
    entries = [(p.name, p.read_bytes()) for p in sorted(tmp_path.iterdir())]
    response = post(client, officer, "plots.zip", zip_bytes(list(entries)))
    assert response.status_code == 200, response.text
    assert response.json()["features"] == 1


@pytest.mark.parametrize("driver", ["KML", "LIBKML"])
def test_kml_and_kmz_written_by_gdal_are_accepted(
    client: TestClient, officer: dict[str, str], unchanged: None, tmp_path: Path, driver: str
) -> None:
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(
        {"code": ["UP-KML"]}, geometry=[shapely.box(111.2, 28.31, 111.201, 28.311)], crs=4326
    )
    path = tmp_path / ("plots.kml" if driver == "KML" else "plots.kmz")
    frame.to_file(path, driver=driver)
    response = post(client, officer, path.name, path.read_bytes())
    assert response.status_code == 200, response.text
    assert response.json()["features"] == 1


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_body_over_the_cap_gets_413(
    small_client: TestClient, officer: dict[str, str], unchanged: None, chunked: bool
) -> None:
    body = b"x" * (SMALL_CAP + 1)
    headers = {**officer, "Content-Type": "multipart/form-data; boundary=b"}
    if chunked:

        def chunks() -> Iterator[bytes]:
            for _ in range(4 * SMALL_CAP // 8192):
                yield b"x" * 8192

        response = small_client.post(URL, headers=headers, content=chunks())
    else:
        response = small_client.post(URL, headers=headers, content=body)
    assert response.status_code == 413, response.text
    assert str(SMALL_CAP) in response.json()["detail"]


def test_other_routes_have_the_small_cap(
    client: TestClient, officer: dict[str, str], unchanged: None
) -> None:
    response = client.post("/auth/login", content=b"{" + b" " * (1024 * 1024 + 1) + b"}")
    assert response.status_code == 413
    assert "1048576" in response.json()["detail"] or "1 MiB" in response.json()["detail"]


@pytest.mark.parametrize(
    "files",
    [
        [("file", ("a.geojson", VALID)), ("file2", ("b.geojson", VALID))],
        [("other", ("a.geojson", VALID))],
        [("file", ("a.geojson", VALID))] + [(f"f{i}", (None, "x")) for i in range(10)],
        [("file", ("a.geojson", VALID)), ("note", (None, "x" * 20_000))],
    ],
    ids=["two files", "no file part", "too many fields", "field too large"],
)
def test_bad_multipart_gets_400(
    client: TestClient, officer: dict[str, str], unchanged: None, files: list[Any]
) -> None:
    response = client.post(URL, headers=officer, files=files)
    assert response.status_code == 400, response.text
    assert "multipart" in response.json()["detail"]


def test_viewer_gets_403_and_anonymous_401(
    client: TestClient, callers: dict[str, Caller], unchanged: None
) -> None:
    viewer = post(client, callers["viewer"].headers, "a.geojson", VALID)
    assert viewer.status_code == 403
    assert post(client, {}, "a.geojson", VALID).status_code == 401


def test_scoped_officer_imports_only_inside_the_scope(
    client: TestClient, callers: dict[str, Caller], unchanged: None
) -> None:
    headers = {**callers["township"].headers, "Accept-Language": "en"}
    inside = geojson(feature("UP-IN", square(111.2, 28.31)))  # village 2, township 1
    response = post(client, headers, "in.geojson", inside)
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["inserted"] == 1
    # VALID also holds UP-0002 in township 2; AH-0001's code is stored in township 1 but
    # moved here to township 2; a plot in no village is outside every scope.
    moved = geojson(feature("AH-0001", square(111.4, 28.3)))
    nowhere = geojson(feature("UP-OUT", square(111.8, 28.8)))
    for data in (VALID, moved, nowhere):
        response = post(client, headers, "out.geojson", data)
        assert response.status_code == 403, response.text
        assert "outside your scope" in response.json()["detail"]
    retire = post(client, headers, "in.geojson", inside, {"retire_missing": "true"})
    assert retire.status_code == 403
    assert "retire_missing" in retire.json()["detail"]


def test_413_message_is_in_chinese_by_default(
    small_client: TestClient, officer: dict[str, str]
) -> None:
    headers = {"X-API-Key": officer["X-API-Key"]}
    response = post(small_client, headers, "a.geojson", b"x" * (SMALL_CAP + 10))
    assert response.status_code == 413
    assert "请求体过大" in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.geojson", "passwd.geojson"),
        ("C:\\Users\\x\\地块.KML", "地块.kml"),
        ("..geojson", "upload.geojson"),
        ("a b;rm -rf.zip", "a_b_rm_-rf.zip"),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


# ---------------------------------------------------------------- rasters through the CLI


@pytest.mark.parametrize("case", list(RASTER_CASES))
def test_hostile_raster_fails_cleanly_in_satellite_ingest(
    engine: Engine, callers: dict[str, Caller], tmp_path: Path, database_url: str, case: str
) -> None:
    build, detail = RASTER_CASES[case]
    scene = tmp_path / "scene"
    scene.mkdir()
    for band in ("B02", "B03", "B04", "B08", "SCL"):
        build(scene / f"T49RFL_20250501_{band}_10m.tif")
    before = table_checksums(engine)
    before.pop("jobs")
    result = CliRunner().invoke(
        cli_app,
        ["--json", "ingest", "satellite", "--source", "local", "--date", "2025-05-01", str(scene)],
        env={
            "SKYGROUND_DATABASE_URL": database_url,
            "SKYGROUND_HOME": str(tmp_path / "home"),
            "SKYGROUND_LANG": "en",
        },
    )
    assert result.exit_code != 0
    assert not isinstance(result.exception, (RecursionError, MemoryError))
    output = result.output
    assert detail in output, (output, repr(result.exception), result.exc_info)
    after = table_checksums(engine)
    after.pop("jobs")
    assert after == before
    with engine.connect() as conn:
        states = conn.execute(text("SELECT DISTINCT state FROM jobs WHERE kind LIKE 'satellite%'"))
        assert set(states.scalars()) <= {"failed"}


def test_archive_size_cap_counts_inflated_bytes(
    client: TestClient, officer: dict[str, str], unchanged: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYGROUND_INGEST_MAX_ARCHIVE_BYTES", str(1024 * 1024))
    noise = np.random.default_rng(0).bytes(2 * 1024 * 1024)  # incompressible: ratio ≈ 1
    response = post(client, officer, "big.zip", zip_bytes([("plots.shp", noise)]))
    assert response.status_code == 422, response.text
    assert "1048576 bytes" in response.json()["detail"]


def test_cli_import_goes_through_the_same_archive_checks(
    engine: Engine, callers: dict[str, Caller], tmp_path: Path, database_url: str
) -> None:
    archive = tmp_path / "slip.zip"
    archive.write_bytes(zip_bytes([("../x.shp", b"x")]))
    before = sums(engine)
    result = CliRunner().invoke(
        cli_app,
        ["--json", "plots", "import", "--dry-run", str(archive)],
        env={"SKYGROUND_DATABASE_URL": database_url, "SKYGROUND_HOME": str(tmp_path / "h")},
    )
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["error"] == "UnsafeArchiveEntry"
    assert sums(engine) == before
    assert not (tmp_path.parent / "x.shp").exists()


def test_middleware_stops_a_chunked_body_at_the_cap() -> None:
    """The app never receives a byte past the cap, and the sender is not read further."""
    seen: list[int] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            seen.append(len(message.get("body", b"")))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    chunks = [b"x" * 4096] * 100

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/api/x", "query_string": b"lang=en",
             "headers": [(b"transfer-encoding", b"chunked")]}  # fmt: skip
    middleware = BodyLimitMiddleware(inner, api=ApiSettings(max_body_bytes=10_000))
    anyio.run(middleware, scope, receive, send)
    assert sent[0]["status"] == 413
    assert sum(seen) <= 10_000
    assert len(chunks) == 100 - 3  # two chunks delivered, the third passed the cap
    assert "10000 bytes" in json.loads(sent[1]["body"])["detail"]
