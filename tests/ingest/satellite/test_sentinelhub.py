"""``skyground ingest satellite --source sentinelhub`` against a real loopback Sentinel Hub.

The fake (:mod:`tests.ingest.satellite.fake_sentinelhub`) answers OAuth, the Catalog API and
the Process API with TIFFs cut from the Barbellino clip; plots are those of the local-ingest
tests. OAuth over plain http is refused by oauthlib unless ``OAUTHLIB_INSECURE_TRANSPORT`` is
set, which only these tests do (in the CLI runner's environment).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from sqlalchemy import Engine
from typer.testing import CliRunner, Result

from service.cli import app
from tests.ingest.satellite.conftest import BARBELLINO
from tests.ingest.satellite.fake_sentinelhub import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeScene,
    FakeSentinelHub,
)
from tests.ingest.satellite.test_ingest_local import _env, data_sums
from tests.ingest.satellite.test_stac import by_source, run_local, scene_facts

INDICES = ("NDVI", "EVI", "SAVI", "NDREI", "GNDVI", "NDMI")
SCENES = [
    FakeScene("S2A_MSIL2A_20170703T102021_N0205_R065_T32TNR_20170703T102041.SAFE",
              "2017-07-03T10:20:21Z", 12.0, "20170703"),
    FakeScene("S2A_MSIL2A_20190723T101031_N0213_R022_T32TNR_20190723T125722.SAFE",
              "2019-07-23T10:20:31Z", 3.0, "20190723"),
    FakeScene("S2A_MSIL2A_20190802T101031_N0213_R022_T32TNR_20190802T125722.SAFE",
              "2019-08-02T10:20:31Z", 96.0, "20190723"),
]  # fmt: skip
AREA = ("--plots", "--start", "2017-06-01", "--end", "2019-12-31", "--max-cloud", "50")
BANDS = ("B02", "B03", "B04", "B05", "B08", "B11", "SCL")
PROCESS = "/api/v1/process"


def sh_env(database_url: str, home: Path, server: FakeSentinelHub, **extra: str) -> dict[str, str]:
    return {
        **_env(database_url, home),
        "SKYGROUND_SH_CLIENT_ID": CLIENT_ID,
        "SKYGROUND_SH_CLIENT_SECRET": CLIENT_SECRET,
        "SKYGROUND_SH_BASE_URL": server.url,
        "SKYGROUND_SH_TOKEN_URL": server.token_url,
        "SKYGROUND_SH_DOWNLOAD_SLEEP_S": "0.1",
        "OAUTHLIB_INSECURE_TRANSPORT": "1",
        **extra,
    }


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(
        app, ["--json", "ingest", "satellite", "--source", "sentinelhub", *AREA, *args], env=env
    )


def run_sh(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = invoke(env, *args)
    assert result.exit_code == 0, result.output + repr(result.exception)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_search_and_ingest_give_the_statistics_of_a_local_ingest_of_the_same_pixels(
    plots: Engine, database_url: str, home: Path, tmp_path: Path
) -> None:
    with FakeSentinelHub(SCENES) as server:
        summary = run_sh(sh_env(database_url, home, server))
    report = summary["sentinelhub"]
    assert report["found"] == 2 and report["dates"] == ["2017-07-03", "2019-07-23"]
    assert [s["scene_key"] for s in summary["scenes"]] == ["20170703", "20190723"]
    assert all(s["radiometry"]["offset"] == 0 for s in summary["scenes"])
    assert all(set(s["indices"]) == set(INDICES) for s in summary["scenes"])
    folders = [Path(f) for f in report["folders"]]
    assert [f.relative_to(home).as_posix() for f in folders] == [
        "downloads/sentinelhub/20170703", "downloads/sentinelhub/20190723"]  # fmt: skip
    mtd = (folders[0] / "MTD_MSIL2A.xml").read_text()
    assert "harmonizeValues=true" in mtd
    # What we sent: a bearer token, the evalscript's bands, a 10 m UTM grid, the day.
    process = server.requests(PROCESS)
    assert len(process) == 2 and all(r["auth"].startswith("Bearer tok-") for r in process)
    body = process[0]["body"]
    assert all(f'"{band}"' in body["evalscript"] for band in (*BANDS, "dataMask"))
    assert body["input"]["bounds"]["properties"]["crs"].endswith("/EPSG/0/32632")
    west, south, east, north = body["input"]["bounds"]["bbox"]
    assert all(v % 10 == 0 for v in (west, south, east, north))
    assert body["output"]["width"] == (east - west) / 10
    assert body["input"]["data"][0]["dataFilter"]["timeRange"]["from"] == "2017-07-03T00:00:00Z"
    assert body["input"]["data"][0]["processing"] == {"harmonizeValues": True}
    search = server.requests("/api/v1/catalog/1.0.0/search")[0]["body"]
    assert "eo:cloud_cover <= 50" in search["filter"]
    # The same band files ingested as local files give identical statistics …
    copies = []
    for folder in folders:
        copies.append(tmp_path / "local" / f"S2A_{folder.name}")
        shutil.copytree(folder, copies[-1])
    run_local(database_url, home, *copies)
    for index in INDICES:
        rows = by_source(plots, index)
        local = {(code, day): v for (code, day), v in rows["local"].items()}
        assert rows["sentinelhub"] == local and len(local) == 8
    # … and NDVI (10 m bands) equals the ingest of the original sen2r stacks.
    sh_ndvi = by_source(plots, "NDVI")["sentinelhub"]
    run_local(database_url, home, BARBELLINO)
    original = {k: v[0] for k, v in by_source(plots, "NDVI")["local"].items()}
    assert {k: v[0] for k, v in sh_ndvi.items()} == {k: original[k] for k in sh_ndvi}


def test_scene_row_carries_platform_orbit_tile_and_cloud_cover_of_the_catalogue_item(
    plots: Engine, database_url: str, home: Path
) -> None:
    with FakeSentinelHub(SCENES[1:2]) as server:
        summary = run_sh(sh_env(database_url, home, server))
        served = json.loads(json.dumps(server.feature(SCENES[1])))  # as sent: tuples → lists
    folder = Path(summary["sentinelhub"]["folders"][0])
    assert json.loads((folder / "catalog-items.json").read_text(encoding="utf-8")) == [served]
    # Sentinel Hub ids are ESA product names: S2A_MSIL2A_<time>_N0213_R022_T32TNR_<time>.SAFE
    product = served["id"].removesuffix(".SAFE").split("_")
    props = served["properties"]
    expected = (props["platform"], int(product[4][1:]), product[5][1:], props["eo:cloud_cover"])
    assert scene_facts(plots, "sentinelhub") == {folder.name: expected}


def test_429_waits_retry_after_then_succeeds(plots: Engine, database_url: str, home: Path) -> None:
    with FakeSentinelHub(SCENES[1:2]) as server:
        server.rate_limit_once = True
        summary = run_sh(sh_env(database_url, home, server))
    process = server.requests(PROCESS)
    assert [r["status"] for r in process] == [429, 200]
    # Sentinel Hub's Retry-After is in milliseconds: 1000 → at least one second.
    assert process[1]["time"] - process[0]["time"] >= 1.0
    assert summary["sentinelhub"]["rate_limited"] == 1
    assert summary["scenes"][0]["plots_with_stats"] == 4


def test_token_expired_mid_job_gets_a_new_token_and_the_job_completes(
    plots: Engine, database_url: str, home: Path
) -> None:
    with FakeSentinelHub(SCENES) as server:
        server.revoke_after_process = 1
        summary = run_sh(sh_env(database_url, home, server))
    assert [r["status"] for r in server.requests(PROCESS)] == [200, 401, 200]
    tokens = server.requests("/oauth/token")
    assert len(tokens) == 2
    process = server.requests(PROCESS)
    assert process[1]["auth"] != process[2]["auth"]
    assert summary["sentinelhub"]["token_refreshes"] == 1
    assert len(summary["scenes"]) == 2


def test_quota_exhausted_is_a_clear_error_and_nothing_is_written(
    plots: Engine, database_url: str, home: Path
) -> None:
    before = data_sums(plots)
    with FakeSentinelHub(SCENES) as server:
        server.quota_exhausted = True
        result = invoke(sh_env(database_url, home, server))
    assert result.exit_code == 1
    assert "quota or processing units exhausted" in result.output
    assert "nothing was written" in result.output
    assert data_sums(plots) == before
    assert not (home / "downloads" / "sentinelhub").exists()


def test_429_beyond_the_retries_is_reported_as_quota(
    plots: Engine, database_url: str, home: Path
) -> None:
    with FakeSentinelHub(SCENES[1:2]) as server:
        server.rate_limit_once = True
        server.retry_after_ms = 10
        env = sh_env(database_url, home, server, SKYGROUND_SH_MAX_RATE_LIMIT_RETRIES="1")
        result = invoke(env)
    assert result.exit_code == 1 and "429" in result.output and "quota" in result.output


def test_area_bigger_than_the_limit_is_split_and_mosaicked(
    plots: Engine, database_url: str, home: Path, tmp_path: Path
) -> None:
    with FakeSentinelHub(SCENES[1:2]) as server:
        whole = run_sh(sh_env(database_url, home, server))
        split_home = tmp_path / "split"
        env = sh_env(database_url, split_home, server, SKYGROUND_SH_MAX_PIXELS="8")
        pieces = run_sh(env)
    requests = server.requests(PROCESS)
    assert len(requests) > 4 and whole["sentinelhub"]["process_requests"] == 1
    assert all(r["body"]["output"]["width"] <= 8 and r["body"]["output"]["height"] <= 8
               for r in requests[1:])  # fmt: skip
    one, many = Path(whole["sentinelhub"]["folders"][0]), Path(pieces["sentinelhub"]["folders"][0])
    for band in BANDS:
        with rasterio.open(one / f"{band}.tif") as a, rasterio.open(many / f"{band}.tif") as b:
            assert np.array_equal(a.read(), b.read()) and a.transform == b.transform


def test_missing_credentials_are_named(database_url: str, home: Path) -> None:
    env = {
        **_env(database_url, home),
        "SKYGROUND_SH_CLIENT_ID": "",
        "SKYGROUND_SH_CLIENT_SECRET": "",
    }
    result = CliRunner().invoke(
        app,
        ["ingest", "satellite", "--source", "sentinelhub", "--area", "10,46,10.1,46.1",
         "--start", "2019-07-01", "--end", "2019-07-31"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 1 and "SKYGROUND_SH_CLIENT_ID" in result.output


def test_grid_is_snapped_to_10_m_and_split_tiles_cover_it_once() -> None:
    from ingest.satellite.sources._sh_grid import split, utm_grid

    grid = utm_grid((10.03, 46.05, 10.05, 46.07), 10.0)
    assert grid.epsg == 32632 and all(v % 10 == 0 for v in grid.bounds)
    cover = np.zeros((grid.height, grid.width), dtype=int)
    tiles = split(grid, 64)
    for row, col, tile in tiles:
        assert tile.width <= 64 and tile.height <= 64
        assert (
            tile.transform.c == grid.west + col * 10 and tile.transform.f == grid.north - row * 10
        )
        cover[row : row + tile.height, col : col + tile.width] += 1
    assert (cover == 1).all() and len(tiles) == -(-grid.width // 64) * -(-grid.height // 64)


def test_settings_default_to_cdse_and_hide_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.satellite.sources.settings import SentinelHubSettings

    monkeypatch.setenv("SKYGROUND_SH_CLIENT_SECRET", "very-secret")
    settings = SentinelHubSettings()
    assert settings.base_url == "https://sh.dataspace.copernicus.eu"
    assert "identity.dataspace.copernicus.eu" in settings.token_url
    assert "very-secret" not in repr(settings)
    assert settings.client_secret.get_secret_value() == "very-secret"
