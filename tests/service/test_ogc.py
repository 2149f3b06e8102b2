"""``/ogc``: OGC API - Features documents, paging, scopes, and GDAL's OAPIF driver reading it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from models.auth.settings import AuthSettings
from models.settings import ApiSettings, DatabaseSettings, Settings
from service.main import create_app
from tests.service.auth_world import Caller
from tests.service.world import PLOTS, TOWNSHIP_1, TOWNSHIP_2, UNITS, plot_id
from tests.web.conftest import WebWorld, _serve

SECRET = "o" * 40
#: Debian's GDAL (gdal-bin); tests/test_setup.py checks a setup package ships it.
OGRINFO = Path("/usr/bin/ogrinfo")
#: Small pages so that seven plots take several (and a clamped limit shows).
MAX_PAGE = 3
CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
COUNTY_BOX = [111.0, 28.2, 111.6, 28.6]


@pytest.fixture(scope="module")
def client(callers: dict[str, Caller], database_url: str, tmp_path_factory) -> Iterator[TestClient]:
    settings = Settings(
        db=DatabaseSettings(database_url=database_url, home=tmp_path_factory.mktemp("ogc-home")),
        api=ApiSettings(default_page_size=2, max_page_size=MAX_PAGE),
        auth=AuthSettings(secret=SECRET),
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def admin(callers: dict[str, Caller]) -> dict[str, str]:
    return callers["admin"].headers


@pytest.fixture(scope="module")
def officer(callers: dict[str, Caller]) -> dict[str, str]:
    return callers["township"].headers


def rels(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {link["rel"]: link for link in body["links"]}


def township_of(village: str | None) -> str | None:
    return {u.code: u.parent for u in UNITS}.get(village) if village else None


def officer_plot_codes() -> set[str]:
    return {p.code for p in PLOTS if not p.retired and township_of(p.village) == TOWNSHIP_1}


def read_all(client: TestClient, url: str, headers: dict[str, str], **params: Any) -> list[Any]:
    """Every feature, following ``next`` links; checks each page's counts and links."""
    features: list[Any] = []
    response = client.get(url, headers=headers, params=params)
    while True:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/geo+json")
        page = response.json()
        assert page["numberReturned"] == len(page["features"]) <= MAX_PAGE
        assert page["timeStamp"].endswith("Z")
        assert {"self", "collection"} <= set(rels(page))
        features += page["features"]
        if "next" not in rels(page):
            assert len(features) == page["numberMatched"]
            return features
        response = client.get(rels(page)["next"]["href"], headers=headers)


def test_landing_page_links_the_api_conformance_and_collections(client, admin):
    body = client.get("/ogc", headers=admin, params={"f": "json", "lang": "en"}).json()
    links = rels(body)
    assert {"self", "service-desc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["href"].endswith("/openapi.json")
    assert links["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    assert links["data"]["href"].endswith("/ogc/collections")
    assert client.get(links["conformance"]["href"], headers=admin).status_code == 200
    assert body["title"].startswith("SkyGround")


def test_conformance_lists_core_geojson_and_oas30(client, admin):
    body = client.get("/ogc/conformance", headers=admin).json()
    assert {CONF + "core", CONF + "geojson", CONF + "oas30"} <= set(body["conformsTo"])


def test_collections_give_the_extent_of_the_data_the_caller_sees(client, admin, officer):
    body = client.get("/ogc/collections", headers=admin).json()
    collections = {c["id"]: c for c in body["collections"]}
    assert set(collections) == {"plots", "admin_units"}
    for collection in collections.values():
        assert collection["itemType"] == "feature"
        assert collection["extent"]["spatial"]["crs"].endswith("/OGC/1.3/CRS84")
        items = rels(collection)["items"]
        assert items["type"] == "application/geo+json"
        assert items["href"].endswith(f"/ogc/collections/{collection['id']}/items")
    # Current plots only: AH-0001 (west) to AH-0006 (east, north), AH-0002..8 (south).
    box = collections["plots"]["extent"]["spatial"]["bbox"][0]
    assert box == pytest.approx([111.100000123, 28.30, 111.501, 28.501])
    assert collections["admin_units"]["extent"]["spatial"]["bbox"] == [COUNTY_BOX]
    # The township officer's plots lie in villages 1 and 2 (AH-0001 to AH-0003, ah-0007).
    mine = client.get("/ogc/collections/plots", headers=officer).json()
    assert mine["extent"]["spatial"]["bbox"][0] == pytest.approx(
        [111.100000123, 28.3, 111.221, 28.31]
    )
    units = client.get("/ogc/collections/admin_units", headers=officer).json()
    assert units["extent"]["spatial"]["bbox"] == [[111.0, 28.2, 111.3, 28.6]]


def test_items_pages_add_up_to_the_sql_count(client, admin, engine):
    with engine.connect() as conn:
        current = conn.scalar(text("SELECT count(*) FROM plots WHERE retired_at IS NULL"))
        units = conn.scalar(text("SELECT count(*) FROM admin_units"))
    plots = read_all(client, "/ogc/collections/plots/items", admin)
    assert len(plots) == current == len([p for p in PLOTS if not p.retired])
    assert [f["id"] for f in plots] == sorted(f["id"] for f in plots)
    assert len(read_all(client, "/ogc/collections/admin_units/items", admin)) == units


def test_paging_links_keep_the_window_and_a_large_limit_is_clamped(client, admin):
    page = client.get(
        "/ogc/collections/plots/items", headers=admin, params={"limit": 5000, "offset": 3}
    ).json()
    assert page["numberReturned"] == MAX_PAGE
    links = rels(page)
    assert f"limit={MAX_PAGE}" in links["next"]["href"] and "offset=6" in links["next"]["href"]
    assert "offset=0" in links["prev"]["href"]
    assert links["collection"]["href"].endswith("/ogc/collections/plots")
    default = client.get("/ogc/collections/plots/items", headers=admin).json()
    assert default["numberReturned"] == 2  # SKYGROUND_API_DEFAULT_PAGE_SIZE of the client


def test_bbox_keeps_intersecting_features_and_datetime_is_ignored(client, admin):
    # Township 2's box: AH-0004, AH-0006 and AH-0008 (which touches its west edge).
    params = {"bbox": "111.3,28.2,111.6,28.6", "datetime": "2024-01-01T00:00:00Z"}
    plots = read_all(client, "/ogc/collections/plots/items", admin, **params)
    assert {f["properties"]["code"] for f in plots} == {"AH-0004", "AH-0006", "AH-0008"}
    units = read_all(
        client, "/ogc/collections/admin_units/items", admin, bbox="111.40,28.40,111.41,28.41"
    )
    assert {f["id"] for f in units} == {"430923", TOWNSHIP_2, "430923101201"}


def test_a_township_officer_gets_only_that_township(client, admin, officer):
    plots = read_all(client, "/ogc/collections/plots/items", officer)
    assert {f["properties"]["code"] for f in plots} == officer_plot_codes()
    units = read_all(client, "/ogc/collections/admin_units/items", officer)
    assert {f["id"] for f in units} == {u.code for u in UNITS if TOWNSHIP_1 in (u.code, u.parent)}
    for url in [
        f"/ogc/collections/plots/items/{plot_id('AH-0004')}",
        f"/ogc/collections/admin_units/items/{TOWNSHIP_2}",
    ]:
        assert client.get(url, headers=officer).status_code == 403, url
        assert client.get(url, headers=admin).status_code == 200, url
    mine = client.get(f"/ogc/collections/plots/items/{plot_id('AH-0001')}", headers=officer)
    assert mine.status_code == 200
    assert mine.headers["content-type"].startswith("application/geo+json")
    feature = mine.json()
    assert feature["id"] == plot_id("AH-0001") and feature["properties"]["code"] == "AH-0001"
    assert rels(feature)["collection"]["href"].endswith("/ogc/collections/plots")


def test_without_credentials_every_ogc_route_is_401(client):
    for url in [
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/plots",
        "/ogc/collections/plots/items",
        f"/ogc/collections/plots/items/{plot_id('AH-0001')}",
    ]:
        assert client.get(url).status_code == 401, url
        assert client.get(url, headers={"X-API-Key": "sg_" + "A" * 43}).status_code == 401


@pytest.mark.parametrize(
    ("params", "status", "name"),
    [
        ({"bbox": "111.6,28.2,111.0,28.6"}, 400, "bbox"),  # west > east
        ({"bbox": "111.0,NaN,111.6,28.6"}, 400, "bbox"),
        ({"bbox": "111.0,28.2,191.6,28.6"}, 400, "bbox"),
        ({"bbox": "111.0,28.2,111.6"}, 400, "bbox"),
        ({"bbox": "a,b,c,d"}, 400, "bbox"),
        ({"limit": 0}, 422, "limit"),
        ({"limit": "ten"}, 422, "limit"),
        ({"offset": -1}, 422, "offset"),
        ({"f": "xml"}, 422, "f"),
    ],
)
def test_bad_parameters_are_client_errors_naming_the_parameter(client, admin, params, status, name):
    response = client.get(
        "/ogc/collections/plots/items", headers=admin, params={**params, "lang": "en"}
    )
    assert response.status_code == status, response.text
    assert name in response.json()["detail"]


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("/ogc/collections/fields", "fields"),
        ("/ogc/collections/fields/items", "fields"),
        ("/ogc/collections/plots/items/abc", "abc"),
        ("/ogc/collections/plots/items/0", "0"),
        ("/ogc/collections/plots/items/99999", "99999"),
        ("/ogc/collections/plots/items/99999999999999999999999", "99999999999999999999999"),
        ("/ogc/collections/admin_units/items/999", "999"),
    ],
)
def test_unknown_collections_and_features_are_404_naming_them(client, admin, url, named):
    response = client.get(url, headers=admin, params={"lang": "en"})
    assert response.status_code == 404
    assert named in response.json()["detail"]


# --- GDAL's OAPIF driver against the real server -------------------------------------------


@pytest.fixture(scope="module")
def live_ogc(callers: dict[str, Caller], engine: Engine, database_url: str, tmp_path_factory):
    """Base URL of the app in uvicorn, keys required (no anonymous reading)."""
    world = WebWorld(engine=engine, home=tmp_path_factory.mktemp("ogc-live"), scene_ids=[])
    settings = {"SKYGROUND_AUTH_SECRET": SECRET, "SKYGROUND_AUTH_ANONYMOUS_READ": "false"}
    with _serve(world, database_url, settings) as base:
        yield base


def ogrinfo(base: str, *args: str, key: str | None) -> subprocess.CompletedProcess[str]:
    # Loopback only: proxies from the environment are dropped, GDAL's HTTP cache is off.
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    headers = ["--config", "GDAL_HTTP_HEADERS", f"X-API-Key: {key}"] if key else []
    return subprocess.run(
        [str(OGRINFO), "-ro", *args, *headers, f"OAPIF:{base}/ogc", "plots"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_gdal_lists_and_reads_the_plots_collection(live_ogc, callers):
    key = callers["township"].key
    summary = ogrinfo(live_ogc, "-so", key=key)
    assert summary.returncode == 0, summary.stderr
    assert "Layer name: plots" in summary.stdout
    assert f"Feature Count: {len(officer_plot_codes())}" in summary.stdout
    full = ogrinfo(live_ogc, "-al", "-q", key=key)
    assert full.returncode == 0, full.stderr
    codes = [line.split("=", 1)[1].strip() for line in full.stdout.splitlines()
             if line.strip().startswith("code (String) =")]  # fmt: skip
    served = httpx.get(
        f"{live_ogc}/ogc/collections/plots/items", headers={"X-API-Key": key}, timeout=30
    ).json()
    assert served["numberMatched"] == served["numberReturned"]
    assert sorted(codes) == sorted(f["properties"]["code"] for f in served["features"])
    assert set(codes) == officer_plot_codes()


def test_gdal_without_the_key_fails_on_the_servers_401(live_ogc):
    result = ogrinfo(live_ogc, "-so", key=None)
    assert result.returncode != 0
    # GDAL reports the HTTP status of the landing page request and our error body.
    assert "HTTP error code : 401" in result.stderr
    assert "X-API-Key" in result.stderr
