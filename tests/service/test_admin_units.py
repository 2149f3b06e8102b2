from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape

from service.schemas import AdminUnitCollection, AdminUnitItem
from tests.service.world import (
    COUNTY,
    TOWNSHIP_1,
    TOWNSHIP_2,
    UNITS,
    VILLAGE_1,
    VILLAGE_2,
    VILLAGE_3,
)

ALL_CODES = sorted(unit.code for unit in UNITS)


def codes(body: dict) -> list[str]:
    return [feature["id"] for feature in body["features"]]


def test_list_is_geojson_ordered_by_code(client: TestClient):
    response = client.get("/api/admin-units")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert codes(body) == ALL_CODES
    assert body["numberMatched"] == len(UNITS)
    county = body["features"][0]
    assert county["geometry"]["type"] == "MultiPolygon"
    assert shape(county["geometry"]).bounds == pytest.approx((111.0, 28.2, 111.6, 28.6))
    AdminUnitCollection.model_validate(body)


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("county", [COUNTY]),
        ("township", [TOWNSHIP_1, TOWNSHIP_2]),
        ("village", [VILLAGE_1, VILLAGE_2, VILLAGE_3]),
    ],
)
def test_level_filter(client: TestClient, level, expected):
    assert codes(client.get("/api/admin-units", params={"level": level}).json()) == expected


@pytest.mark.parametrize(
    ("parent", "expected"),
    [
        (COUNTY, [TOWNSHIP_1, TOWNSHIP_2]),
        (TOWNSHIP_1, [VILLAGE_1, VILLAGE_2]),
        (VILLAGE_1, []),
        ("000000", []),
    ],
)
def test_parent_filter_gives_direct_children(client: TestClient, parent, expected):
    assert codes(client.get("/api/admin-units", params={"parent": parent}).json()) == expected


def test_geometry_false_leaves_boundaries_out(client: TestClient):
    body = client.get("/api/admin-units", params={"geometry": "false"}).json()
    assert codes(body) == ALL_CODES
    assert all(feature["geometry"] is None for feature in body["features"])
    AdminUnitCollection.model_validate(body)


def test_paging(client: TestClient):
    body = client.get("/api/admin-units", params={"limit": 4, "offset": 4}).json()
    assert codes(body) == ALL_CODES[4:]
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert "next" not in links and "offset=0" in links["prev"]


def test_one_unit_by_code_with_parent_level_and_areas(client: TestClient):
    response = client.get(f"/api/admin-units/{VILLAGE_2}", params={"lang": "en"})
    assert response.status_code == 200
    feature = response.json()
    assert feature["id"] == VILLAGE_2
    props = feature["properties"]
    assert props["name"] == "酉州村"
    assert (props["level"], props["level_name"]) == ("village", "village")
    assert (props["parent"], props["parent_name"]) == (TOWNSHIP_1, "东坪镇")
    # 0.15° x 0.4° at 28.4°N: roughly 14.7 km x 44.4 km.
    assert 6.0e8 < props["area_m2"] < 7.0e8
    assert props["area_mu"].count(".") == 1 and len(props["area_mu"].split(".")[1]) == 2
    assert len(props["area_ha"].split(".")[1]) == 4
    AdminUnitItem.model_validate(feature)
    zh = client.get(f"/api/admin-units/{VILLAGE_2}").json()["properties"]
    assert zh["level_name"] == "村"


def test_one_unit_without_geometry(client: TestClient):
    feature = client.get(f"/api/admin-units/{COUNTY}", params={"geometry": "false"}).json()
    assert feature["geometry"] is None
    assert feature["properties"]["parent"] is None


@pytest.mark.parametrize(
    ("lang", "detail"), [("zh-CN", "未找到行政区：123"), ("en", "admin unit not found: 123")]
)
def test_unknown_code_is_404(client: TestClient, lang, detail):
    response = client.get("/api/admin-units/123", params={"lang": lang})
    assert response.status_code == 404
    assert response.json()["detail"] == detail
