from __future__ import annotations

from decimal import Decimal

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely import wkt as shapely_wkt

from service.schemas import PlotCollection, PlotItem
from tests.service.world import (
    COOP_A,
    COOP_B,
    COUNTY,
    PLOTS,
    TOWNSHIP_1,
    VILLAGE_1,
    VILLAGE_2,
    plot_id,
)

CURRENT = [i for i, spec in enumerate(PLOTS, start=1) if not spec.retired]


def ids(body: dict) -> list[int]:
    return [feature["id"] for feature in body["features"]]


def get_ok(client: TestClient, url: str, **params: object) -> dict:
    # httpx drops a URL's own query string when params is given, even empty.
    response = client.get(url, params=params) if params else client.get(url)
    assert response.status_code == 200, response.text
    return response.json()


def test_list_is_geojson_feature_collection(client: TestClient):
    response = client.get("/api/plots")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert ids(body) == CURRENT
    assert body["numberMatched"] == body["numberReturned"] == len(CURRENT)
    assert [link["rel"] for link in body["links"]] == ["self"]
    first = body["features"][0]
    assert first["type"] == "Feature"
    assert first["geometry"]["type"] == "MultiPolygon"
    assert first["properties"]["village"] == {"code": VILLAGE_1, "name": "黄沙坪村"}
    assert first["properties"]["attributes"] == {"坡向": "南", "terraced": True}
    # The body is written without pydantic: it must still match the documented schema.
    PlotCollection.model_validate(body)


def test_pages_follow_next_links_without_duplicates(client: TestClient):
    seen: list[int] = []
    url: str | None = "/api/plots?limit=3"
    pages = 0
    while url is not None:
        body = get_ok(client, url)
        pages += 1
        assert body["numberMatched"] == len(CURRENT)
        assert body["numberReturned"] == len(body["features"]) <= 3
        seen.extend(ids(body))
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert ("prev" in links) == (pages > 1)
        url = links.get("next")
    assert pages == 3
    assert seen == CURRENT


def test_next_and_prev_links_keep_filters(client: TestClient):
    body = get_ok(client, "/api/plots", limit=1, offset=1, cooperative=COOP_A, lang="en")
    links = {link["rel"]: link for link in body["links"]}
    assert "offset=0" in links["prev"]["href"]
    assert links["prev"]["title"] == "previous page"
    assert "next" not in links  # COOP_A has two current plots
    assert "lang=en" in links["prev"]["href"]
    assert "cooperative=" in links["prev"]["href"]


def test_default_and_maximum_page_size_come_from_settings(world, settings):
    settings.api.default_page_size = 2
    settings.api.max_page_size = 4
    from service.main import create_app

    with TestClient(create_app(settings)) as client:
        assert get_ok(client, "/api/plots")["numberReturned"] == 2
        assert get_ok(client, "/api/plots", limit=4)["numberReturned"] == 4
        response = client.get("/api/plots", params={"limit": 5, "lang": "en"})
        assert response.status_code == 400
        assert "limit" in response.json()["detail"]
        assert "at most 4" in response.json()["detail"]


def test_offset_past_the_end_is_an_empty_page(client: TestClient):
    body = get_ok(client, "/api/plots", offset=100)
    assert body["features"] == []
    assert body["numberMatched"] == len(CURRENT)


BOXES = [
    (111.0, 28.2, 111.6, 28.6),  # everything
    (111.1005, 28.3005, 111.1205, 28.3005 + 0.001),  # part of AH-0001 and AH-0002
    (111.208, 28.308, 111.215, 28.315),  # triangle's envelope only: no hit
    (111.202, 28.302, 111.209, 28.309),  # inside the triangle
    (111.305, 28.349, 111.315, 28.352),  # between the two parts of AH-0008
    (111.3205, 28.3505, 111.33, 28.36),  # second part of AH-0008
    (111.101000789, 28.301000321, 111.11, 28.31),  # touches AH-0001's corner
    (100.0, 20.0, 101.0, 21.0),  # far away
]


@pytest.mark.parametrize("bbox", BOXES)
def test_bbox_matches_shapely_intersects(client: TestClient, bbox):
    box = shapely.box(*bbox)
    expected = [
        i
        for i, spec in enumerate(PLOTS, start=1)
        if not spec.retired and shapely.intersects(shapely_wkt.loads(spec.wkt), box)
    ]
    body = get_ok(client, "/api/plots", bbox=",".join(map(str, bbox)))
    assert ids(body) == expected
    assert body["numberMatched"] == len(expected)


def test_bbox_cases_are_not_trivial():
    # The boxes above must include hits, misses and an envelope-only overlap.
    hits = [
        sum(
            shapely.intersects(shapely_wkt.loads(s.wkt), shapely.box(*b))
            for s in PLOTS
            if not s.retired
        )
        for b in BOXES
    ]
    assert 0 in hits and max(hits) == len(CURRENT) and any(0 < h < 3 for h in hits)


@pytest.mark.parametrize(
    ("village", "codes"),
    [
        (VILLAGE_1, ["AH-0001", "AH-0002"]),
        (VILLAGE_2, ["AH-0003", "ah-0007"]),
        (TOWNSHIP_1, ["AH-0001", "AH-0002", "AH-0003", "ah-0007"]),
        (COUNTY, ["AH-0001", "AH-0002", "AH-0003", "AH-0004", "ah-0007", "AH-0008"]),
        ("999999", []),
    ],
)
def test_village_filter_follows_the_admin_tree(client: TestClient, village, codes):
    body = get_ok(client, "/api/plots", village=village)
    assert [f["properties"]["code"] for f in body["features"]] == codes


def test_cooperative_and_code_filters_are_exact(client: TestClient):
    body = get_ok(client, "/api/plots", cooperative=COOP_B)
    assert ids(body) == [plot_id("AH-0003"), plot_id("ah-0007")]
    assert ids(get_ok(client, "/api/plots", cooperative=COOP_B[:-1])) == []
    assert ids(get_ok(client, "/api/plots", code="AH-0004")) == [plot_id("AH-0004")]
    assert ids(get_ok(client, "/api/plots", code="ah-0004")) == []


def test_filters_combine(client: TestClient):
    body = get_ok(client, "/api/plots", cooperative=COOP_A, q="茶园", village=VILLAGE_1)
    assert ids(body) == [plot_id("AH-0001")]


def test_retired_plots_only_on_request(client: TestClient):
    retired = plot_id("AH-0005")
    assert retired not in ids(get_ok(client, "/api/plots"))
    body = get_ok(client, "/api/plots", include_retired="true")
    assert ids(body) == list(range(1, len(PLOTS) + 1))
    feature = next(f for f in body["features"] if f["id"] == retired)
    assert feature["properties"]["retired"] is True
    assert feature["properties"]["retired_at"].endswith("+08:00")


@pytest.mark.parametrize(
    ("q", "codes"),
    [
        ("茶园", ["AH-0001", "AH-0003", "AH-0004", "AH-0008"]),
        ("高山", ["AH-0003"]),
        ("TEA GARDEN", ["AH-0002"]),
        ("ah-000", [s.code for s in PLOTS if not s.retired]),
        ("0007", ["ah-0007"]),
        ("50%", ["AH-0002"]),
        ("%", ["AH-0002"]),
        ("_", ["AH-0002", "ah-0007"]),
        ("e_e", []),  # as a wildcard "_" would match "eve" in "plot_seven"
        ("t_s", ["ah-0007"]),
        ("\\", []),
        ("'; DROP TABLE plots; --", []),
    ],
)
def test_q_searches_name_and_code(client: TestClient, q, codes):
    body = get_ok(client, "/api/plots", q=q)
    assert [f["properties"]["code"] for f in body["features"]] == codes


def test_one_plot_by_id(client: TestClient):
    response = client.get(f"/api/plots/{plot_id('AH-0004')}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    feature = response.json()
    assert feature["type"] == "Feature"
    assert feature["id"] == plot_id("AH-0004")
    assert feature["properties"]["name"] == "云台山茶园"
    assert {link["rel"] for link in feature["links"]} == {"self", "collection"}
    PlotItem.model_validate(feature)


def test_retired_plot_is_still_found_by_id(client: TestClient):
    feature = get_ok(client, f"/api/plots/{plot_id('AH-0005')}")
    assert feature["properties"]["retired"] is True


@pytest.mark.parametrize(
    ("params", "headers", "detail"),
    [
        ({}, {}, "未找到地块：424242"),
        ({"lang": "en"}, {}, "plot not found: 424242"),
        ({}, {"Accept-Language": "en-US,en;q=0.9"}, "plot not found: 424242"),
        ({"lang": "zh-CN"}, {"Accept-Language": "en"}, "未找到地块：424242"),
    ],
)
def test_unknown_plot_is_404_in_the_callers_language(client: TestClient, params, headers, detail):
    response = client.get("/api/plots/424242", params=params, headers=headers)
    assert response.status_code == 404
    assert response.json()["detail"] == detail


def test_area_in_mu_rounds_half_up(client: TestClient):
    one = get_ok(client, f"/api/plots/{plot_id('AH-0001')}")["properties"]
    assert one["area_m2"] == 750.0
    assert one["area_mu"] == "1.13"  # 1.125 亩; round() would give 1.12
    assert one["area_ha"] == "0.0750"
    seven = get_ok(client, f"/api/plots/{plot_id('ah-0007')}")["properties"]
    assert seven["area_mu"] == "1.01"  # 1.005 亩; round() would give 1.0
    assert round(1.125, 2) == 1.12 and round(1.005, 2) == 1.0


def test_area_from_postgis_is_shown_in_mu_and_ha(client: TestClient):
    props = get_ok(client, f"/api/plots/{plot_id('AH-0002')}")["properties"]
    # 0.001° x 0.001° at 28.3°N is about 98 m x 111 m.
    assert 10_500 < props["area_m2"] < 11_200
    assert Decimal(props["area_mu"]) == (Decimal(str(props["area_m2"])) * 15 / 10000).quantize(
        Decimal("0.01"), rounding="ROUND_HALF_UP"
    )


def test_times_are_shown_in_shanghai_time(client: TestClient):
    props = get_ok(client, f"/api/plots/{plot_id('AH-0001')}")["properties"]
    assert props["created_at"] == "2024-03-02T00:30:00+08:00"  # stored 2024-03-01 16:30 UTC
    assert props["updated_at"] == "2024-07-01T07:59:59+08:00"


def test_positions_are_lon_lat_within_a_centimetre(client: TestClient):
    feature = get_ok(client, f"/api/plots/{plot_id('AH-0001')}")
    ring = feature["geometry"]["coordinates"][0][0]
    expected = shapely_wkt.loads(PLOTS[0].wkt).exterior.coords
    assert len(ring) == len(expected)
    for (lon, lat), (x, y) in zip(ring, expected, strict=True):
        assert 111 < lon < 112 and 28 < lat < 29
        # 1e-7° is about 1.1 cm of latitude; rounding to 7 places moves at most half that.
        assert abs(lon - x) <= 0.5e-7 + 1e-12
        assert abs(lat - y) <= 0.5e-7 + 1e-12
