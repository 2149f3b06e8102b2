"""Per-plot index series (JSON and CSV) and the scene list, against rows the test writes."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from models.auth.settings import AuthSettings
from models.settings import DatabaseSettings, Settings
from service.main import create_app

# (UTC acquisition time, local date in Asia/Shanghai, mean, flagged)
OBSERVATIONS = [
    ("2024-04-10T03:05:00Z", "2024-04-10", 0.41, False),
    ("2024-04-30T17:10:00Z", "2024-05-01", 0.55, False),  # next local day
    ("2024-05-15T03:05:00Z", "2024-05-15", 0.12, True),  # cloudy, kept but flagged
    ("2024-06-04T03:05:00Z", "2024-06-04", 0.63, False),
]


@pytest.fixture()
def client(db, database_url):
    with db.begin() as conn:
        plot_id = conn.execute(
            text(
                "INSERT INTO plots (code, geom, area_m2) VALUES ('茶-7',"
                " ST_Multi(ST_MakeEnvelope(111.2, 28.38, 111.201, 28.381, 4326)), 1000)"
                " RETURNING id"
            )
        ).scalar_one()
        for n, (when, _, mean, flagged) in enumerate(OBSERVATIONS):
            scene = conn.execute(
                text(
                    "INSERT INTO scenes (source, scene_key, acquired_at, cloud_cover,"
                    " clear_fraction, footprint) VALUES ('local', :k, :t, :cc, :cf,"
                    " ST_Multi(ST_MakeEnvelope(111, 28, 112, 29, 4326))) RETURNING id"
                ),
                {
                    "k": f"S{n}",
                    "t": when,
                    "cc": 80.0 if flagged else 5.0,
                    "cf": 0.1 if flagged else 0.95,
                },
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO plot_index_stats (plot_id, index, acquired_at, source, scene_id,"
                    " mean, std, min, max, median, p10, p90, valid_weight, valid_count,"
                    " total_weight, clear_fraction, masked_shares, flagged, flag_reason)"
                    " VALUES (:p, 'NDVI', :t, 'local', :s, :m, 0.05, :m - 0.1, :m + 0.1, :m,"
                    " :m - 0.06, :m + 0.06, 6.5, 8, 6.7, :cf, '{\"cloud\": 0.0}', :f,"
                    " CASE WHEN :f THEN 'low_clear_fraction' END)"
                ),
                {
                    "p": plot_id,
                    "t": when,
                    "s": scene,
                    "m": mean,
                    "cf": 0.1 if flagged else 0.95,
                    "f": flagged,
                },
            )
    settings = Settings(
        db=DatabaseSettings(database_url=database_url), auth=AuthSettings(anonymous_read=True)
    )
    with TestClient(create_app(settings)) as test_client:
        test_client.plot_id = plot_id  # type: ignore[attr-defined]
        yield test_client


def test_series_is_oldest_first_without_flagged_points(client):
    body = client.get(f"/api/plots/{client.plot_id}/indices?index=ndvi").json()
    expected = [(d, m) for _, d, m, f in OBSERVATIONS if not f]
    assert [(o["date"], o["mean"]) for o in body["observations"]] == expected
    assert body["code"] == "茶-7" and body["index"] == "NDVI"
    assert body["observations"][1]["acquired_at"] == "2024-05-01T01:10:00+08:00"


def test_flagged_points_come_on_request_with_their_reason(client):
    body = client.get(
        f"/api/plots/{client.plot_id}/indices", params={"index": "NDVI", "include_flagged": True}
    ).json()
    flagged = [o for o in body["observations"] if o["flagged"]]
    assert len(body["observations"]) == len(OBSERVATIONS)
    assert [(o["date"], o["flag_reason"]) for o in flagged] == [
        ("2024-05-15", "low_clear_fraction")
    ]


def test_dates_are_local_days(client):
    body = client.get(
        f"/api/plots/{client.plot_id}/indices",
        params={"index": "NDVI", "start": "2024-05-01", "end": "2024-05-01"},
    ).json()
    # 17:10 UTC on 30 April is 1 May in Asia/Shanghai.
    assert [o["date"] for o in body["observations"]] == ["2024-05-01"]


def test_csv_has_a_bom_and_the_same_rows_as_json(client):
    url = f"/api/plots/{client.plot_id}/indices"
    params = {"index": "NDVI", "include_flagged": True}
    data = client.get(url, params={**params, "format": "csv"})
    assert data.headers["content-type"].startswith("text/csv")
    assert data.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.content.decode("utf-8-sig"))))
    assert [(r["date"], float(r["mean"]), r["flagged"]) for r in rows] == [
        (d, m, str(f)) for _, d, m, f in OBSERVATIONS
    ]
    assert {r["code"] for r in rows} == {"茶-7"}
    assert "filename*=UTF-8''" in data.headers["content-disposition"]


def test_bad_series_requests_are_refused_clearly(client):
    url = f"/api/plots/{client.plot_id}/indices"
    assert client.get("/api/plots/999999/indices?index=NDVI&lang=en").json()["detail"] == (
        "plot not found: 999999"
    )
    reversed_dates = client.get(
        url, params={"index": "NDVI", "start": "2024-06-01", "end": "2024-05-01", "lang": "en"}
    )
    assert reversed_dates.status_code == 400 and "start" in reversed_dates.json()["detail"]
    for params in (
        {"index": "ND VI"},
        {"index": "NDVI", "start": "2024-13-01"},
        {},
        {"index": "NDVI", "format": "xml"},
    ):
        assert client.get(url, params=params).status_code == 422, params
    assert client.get("/healthz").status_code == 200


def test_scenes_are_listed_newest_first_with_clear_fractions(client):
    body = client.get("/api/scenes", params={"start": "2024-05-01"}).json()
    dates = [f["properties"]["date"] for f in body["features"]]
    assert dates == ["2024-06-04", "2024-05-15", "2024-05-01"]
    assert body["numberMatched"] == 3
    assert body["features"][1]["properties"]["clear_fraction"] == pytest.approx(0.1)
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert client.get("/api/scenes", params={"bbox": "0,0,1,1"}).json()["numberMatched"] == 0
