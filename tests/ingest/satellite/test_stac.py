"""``skyground ingest satellite --source stac`` against a real loopback STAC API and COGs.

The fake (:mod:`tests.ingest.satellite.fake_stac`) serves items shaped like real Planetary
Computer and Earth Search ones, whose band COGs are cut from the Barbellino clip; GDAL reads
them through ``/vsicurl/`` with range requests, httpx downloads the plain GeoTIFFs whole.
Plots are those of the local-ingest tests, over the clip.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio
from sqlalchemy import Engine, text
from typer.testing import CliRunner, Result

from ingest.errors import ImplausibleReflectance
from ingest.satellite._inputs import read_manifest_scene
from ingest.satellite.sources import StacItemRejected, group_acquisitions
from ingest.satellite.sources._radiometry import decide_item_offset
from ingest.satellite.sources._scene_facts import item_facts, mosaic_facts
from service.cli import app
from tests.ingest.satellite.conftest import BARBELLINO
from tests.ingest.satellite.fake_stac import ES0_TEMPLATE, PC_TEMPLATE, FakeItem, FakeStac
from tests.ingest.satellite.test_ingest_local import _env, data_sums, stats

ES0_PRODUCT = "S2A_MSIL2A_20190723T101031_N0213_R022_T32TNR_20190723T125722"
INDICES = ("NDVI", "EVI", "SAVI", "NDREI", "GNDVI", "NDMI")
ES1_2017 = FakeItem(
    "S2A_32TNR_20170703_0_L2A", "20170703", "es1", "2017-07-03T10:20:21Z",
    properties={"s2:processing_baseline": "02.05", "sat:relative_orbit": 22,
                "eo:cloud_cover": 12.0, "earthsearch:boa_offset_applied": False},
)  # fmt: skip
ES0_2019 = FakeItem(
    "S2A_32TNR_20190723_0_L2A", "20190723", "es0", "2019-07-23T10:20:31Z",
    collection="sentinel-2-l2a",
    properties={"eo:cloud_cover": 3.0, "sentinel:product_id": ES0_PRODUCT},
)  # fmt: skip
CLOUDY = FakeItem(
    "S2A_32TNR_20190802_0_L2A", "20190723", "es1", "2019-08-02T10:20:31Z",
    properties={"s2:processing_baseline": "02.13", "eo:cloud_cover": 96.0},
)  # fmt: skip
PC_2019 = FakeItem(
    "S2A_MSIL2A_20190723T101031_R022_T32TNR_20230101T000000", "20190723", "pc",
    "2019-07-23T10:20:31Z", dn_add=1000, signed=True,
    properties={"s2:processing_baseline": "04.00", "eo:cloud_cover": 3.0,
                "sat:relative_orbit": 22},
)  # fmt: skip
WRONG_FLAG = FakeItem(
    "S2A_32TNR_20230723_0_L2A", "20190723", "es1", "2023-07-23T10:20:31Z", dn_add=1000,
    properties={"s2:processing_baseline": "05.09", "eo:cloud_cover": 3.0,
                "earthsearch:boa_offset_applied": True},
)  # fmt: skip

ES1_2B = FakeItem(
    "S2B_32TNR_20190728_0_L2A", "20190723", "es1", "2019-07-28T10:20:31Z",
    properties={"platform": "sentinel-2b", "sat:relative_orbit": 22, "grid:code": "MGRS-32TNR",
                "s2:processing_baseline": "02.13", "eo:cloud_cover": 7.25,
                "earthsearch:boa_offset_applied": False},
)  # fmt: skip


AREA = ("--plots", "--start", "2017-06-01", "--end", "2023-12-31")


def fake(tmp_path: Path, *items: FakeItem) -> FakeStac:
    return FakeStac(tmp_path / "served", list(items))


def stac_env(database_url: str, home: Path, server: FakeStac, **extra: str) -> dict[str, str]:
    return {
        **_env(database_url, home),
        "SKYGROUND_STAC_URL": server.url,
        "SKYGROUND_STAC_ALLOWED_HOSTS": f"127.0.0.1:{server.port}",
        "SKYGROUND_STAC_ALLOW_HTTP": "true",
        **extra,
    }


def run_stac(env: dict[str, str], *args: str) -> dict[str, Any]:
    result: Result = CliRunner().invoke(
        app, ["--json", "ingest", "satellite", "--source", "stac", *AREA, *args], env=env
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def run_local(database_url: str, home: Path, *paths: Path) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["--json", "ingest", "satellite", *map(str, paths)], env=_env(database_url, home)
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def by_source(engine: Engine, index: str) -> dict[str, dict[tuple[str, str], Any]]:
    out: dict[str, dict[tuple[str, str], Any]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.source, p.code, to_char(s.acquired_at AT TIME ZONE 'UTC', 'YYYYMMDD'),"
                " s.mean, s.median, s.valid_weight, s.flagged FROM plot_index_stats s"
                " JOIN plots p ON p.id = s.plot_id WHERE s.index = :index"
            ),
            {"index": index},
        ).all()
    for source, code, day, *values in rows:
        out.setdefault(source, {})[(code, day)] = tuple(values)
    return out


def test_two_items_give_the_statistics_of_a_local_ingest_of_the_same_pixels(
    plots: Engine,
    database_url: str,
    home: Path,
    tmp_path: Path,
) -> None:
    with fake(tmp_path, ES1_2017, ES0_2019, CLOUDY) as server:
        summary = run_stac(stac_env(database_url, home, server), "--max-cloud", "50")
    report = summary["stac"]
    assert report["found"] == 2 and report["rejected"] == []  # the 96 % cloudy item is out
    assert not any(CLOUDY.item_id in r["path"] for r in server.log)
    keys = [s["scene_key"] for s in summary["scenes"]]
    assert keys == ["S2A_32TNR_20170703_0_L2A_20170703", "S2A_32TNR_20190723_0_L2A_20190723"]
    assert all(s["radiometry"]["offset"] == 0 for s in summary["scenes"])
    assert all(set(s["indices"]) == set(INDICES) for s in summary["scenes"])
    # Only windows travelled: ranged GETs of the COGs, never a whole band.
    gets = [r for r in server.asset_requests() if r["method"] == "GET"]
    assert gets and all(r["range"].startswith("bytes=") for r in gets)
    folders = [Path(f) for f in report["folders"]]
    for folder, item in zip(folders, (ES1_2017, ES0_2019), strict=True):
        assert folder.parent == home / "downloads" / "stac" / "sentinel-2-l2a"
        for band, served in server.served[item.item_id].items():
            with rasterio.open(folder / f"{band}.tif") as got, rasterio.open(served) as want:
                assert np.array_equal(got.read(), want.read())
                assert got.transform == want.transform and got.crs == want.crs
    # The same band files ingested as local files give identical statistics.
    copies = []
    for folder in folders:
        copies.append(tmp_path / "local" / folder.name)
        shutil.copytree(folder, copies[-1])
    run_local(database_url, home, *copies)
    for index in INDICES:
        rows = by_source(plots, index)
        assert rows["stac"] == rows["local"] and len(rows["stac"]) == 8
    # And NDVI (10 m bands only) equals the ingest of the original sen2r stacks.
    stac_ndvi = by_source(plots, "NDVI")["stac"]
    run_local(database_url, home, BARBELLINO)
    assert {k: v[0] for k, v in by_source(plots, "NDVI")["local"].items()} == {
        k: v[0] for k, v in stac_ndvi.items()
    }


def scene_facts(engine: Engine, source: str) -> dict[str, tuple[Any, ...]]:
    """scene_key → (platform, orbit, tile_id, cloud_cover) of the source's ``scenes`` rows."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT scene_key, platform, orbit, tile_id, cloud_cover FROM scenes"
                " WHERE source = :source"
            ),
            {"source": source},
        ).all()
    return {key: tuple(values) for key, *values in rows}


def test_scene_rows_carry_platform_orbit_tile_and_cloud_cover_of_the_items(
    plots: Engine,
    database_url: str,
    home: Path,
    tmp_path: Path,
) -> None:
    with fake(tmp_path, ES0_2019, ES1_2B) as server:
        summary = run_stac(stac_env(database_url, home, server))
    expected = {}
    for folder in map(Path, summary["stac"]["folders"]):
        props = json.loads((folder / "stac-item.json").read_text(encoding="utf-8"))["properties"]
        # Earth Search v0 names orbit and tile only in the product id: ..._R022_T32TNR_...
        product = props["sentinel:product_id"].split("_")
        orbit = props.get("sat:relative_orbit", int(product[4].removeprefix("R")))
        tile = props.get("grid:code", product[5]).removeprefix("MGRS-").removeprefix("T")
        expected[folder.name] = (props["platform"], orbit, tile, props["eo:cloud_cover"])
    assert len(expected) == 2 and scene_facts(plots, "stac") == expected
    assert {row[0] for row in expected.values()} == {"sentinel-2a", "sentinel-2b"}


@pytest.mark.parametrize("template", [ES0_TEMPLATE, PC_TEMPLATE])
def test_item_facts_read_each_catalogues_keys(template: Path) -> None:
    item = json.loads(template.read_text(encoding="utf-8"))
    props = item["properties"]
    product = str(props.get("sentinel:product_id") or props["s2:product_uri"]).split("_")
    want = {
        "platform": props["platform"].lower(),
        "orbit": props.get("sat:relative_orbit", int(product[4].removeprefix("R"))),
        "tile_id": props.get("s2:mgrs_tile", product[5].removeprefix("T")),
        "cloud_cover_pct": props["eo:cloud_cover"],
    }
    assert item_facts(props, item["id"]) == want


def test_mosaic_facts_keep_what_the_items_agree_on_and_average_the_cloud_cover() -> None:
    one = item_facts({"eo:cloud_cover": 2.0}, "S2A_MSIL2A_20240501T030521_N0510_R018_T49RFL_x")
    two = item_facts({"eo:cloud_cover": 6.0}, "S2A_MSIL2A_20240501T030521_N0510_R018_T49RGL_x")
    want = {"platform": "sentinel-2a", "orbit": 18, "tile_id": None, "cloud_cover_pct": 4.0}
    assert mosaic_facts([one, two]) == want


def test_manifest_scene_values_of_the_wrong_kind_are_left_out(tmp_path: Path) -> None:
    scene = {"platform": "landsat-9", "orbit": True, "tile_id": "49RFL", "cloud_cover_pct": 120}
    (tmp_path / "download.json").write_text(json.dumps({"scene": scene}), encoding="utf-8")
    assert read_manifest_scene(tmp_path) == {"tile_id": "49RFL"}
    assert read_manifest_scene(tmp_path / "missing") == {}


def test_item_with_an_asset_off_the_allow_list_is_rejected_and_the_other_ingested(
    plots: Engine,
    database_url: str,
    home: Path,
    tmp_path: Path,
) -> None:
    outside = FakeItem(**{**ES1_2017.__dict__})
    with fake(tmp_path, outside, ES0_2019) as server:
        server.features[0]["assets"]["red"]["href"] = "http://evil.example.org/red.tif"
        with pytest.warns(StacItemRejected, match="evil.example.org"):
            summary = run_stac(stac_env(database_url, home, server))
    assert [r["item"] for r in summary["stac"]["rejected"]] == [ES1_2017.item_id]
    assert [s["scene_key"] for s in summary["scenes"]] == ["S2A_32TNR_20190723_0_L2A_20190723"]
    assert not any(ES1_2017.item_id in r["path"] for r in server.asset_requests())


def test_planetary_computer_hrefs_are_signed_with_one_cached_token(
    plots: Engine,
    database_url: str,
    home: Path,
    tmp_path: Path,
) -> None:
    with fake(tmp_path, PC_2019) as server:
        env = stac_env(
            database_url, home, server,
            SKYGROUND_STAC_SIGNING="planetary-computer",
            SKYGROUND_STAC_PC_TOKEN_URL=f"{server.url}/api/sas/v1/token",
        )  # fmt: skip
        summary = run_stac(env)
        with pytest.warns(StacItemRejected, match="403"):
            unsigned = CliRunner().invoke(
                app,
                ["--json", "ingest", "satellite", "--source", "stac", "--area",
                 "10.03,46.05,10.05,46.07", "--start", "2019-07-01", "--end", "2019-07-31"],
                env={**env, "SKYGROUND_STAC_SIGNING": "none",
                     "SKYGROUND_HOME": str(tmp_path / "u")},
            )  # fmt: skip
    assert server.token_requests == 1  # cached for all seven bands
    signed = [r for r in server.asset_requests() if "sig=FAKESIG" in r["query"]]
    assert len({r["path"] for r in signed}) == 7
    # Without a token the fake answers 403: the item is left out, nothing is ingested.
    assert unsigned.exit_code == 0, unsigned.output
    assert json.loads(unsigned.stdout)["stac"]["rejected"][0]["item"] == PC_2019.item_id
    scene = summary["scenes"][0]
    assert scene["radiometry"]["offset"] == -1000  # raw DN of baseline 04.00
    assert scene["radiometry"]["plausibility"]["verdict"] == "plausible"
    run_local(database_url, home, BARBELLINO)
    ndvi = by_source(plots, "NDVI")
    original = {k: v[0] for k, v in ndvi["local"].items() if k[1] == "20190723"}
    assert {k: v[0] for k, v in ndvi["stac"].items()} == pytest.approx(original, abs=1e-6)


def test_truncated_download_is_resumed_with_a_range_request(
    plots: Engine,
    database_url: str,
    home: Path,
    tmp_path: Path,
) -> None:
    item = FakeItem(**{**ES0_2019.__dict__, "plain_tiff": ("SCL",)})
    with fake(tmp_path, item) as server:
        path = server.asset_path(item.item_id, "SCL")
        server.truncate_once.add(path)
        summary = run_stac(stac_env(database_url, home, server))
    size = len(server.files[path])
    scl = [r for r in server.log if r["path"] == path]
    assert [r["range"] for r in scl] == ["", f"bytes={size // 2}-"]
    assert summary["stac"]["attempts"][-1].endswith(f"from byte {size // 2}")
    folder = Path(summary["stac"]["folders"][0])
    with rasterio.open(folder / "SCL.tif") as got, rasterio.open(server.served[item.item_id]["SCL"]) as want:  # fmt: skip  # noqa: E501
        assert np.array_equal(got.read(), want.read())
    assert not (folder / ".whole").exists()
    assert summary["scenes"][0]["plots_with_stats"] == 4


def test_earth_search_offset_flag_contradicting_the_pixels_is_flagged(
    plots: Engine,
    database_url: str,
    home: Path,
    tmp_path: Path,
) -> None:
    with fake(tmp_path, WRONG_FLAG) as server:
        with pytest.warns(ImplausibleReflectance):
            summary = run_stac(stac_env(database_url, home, server))
    scene = summary["scenes"][0]
    # The flag says "offset removed" but the DN still carry +1000: red far too bright.
    assert scene["radiometry"]["offset"] == 0
    assert scene["radiometry"]["plausibility"]["verdict"] == "too_bright"
    assert scene["radiometry"]["plausibility"]["suggested_offset"] == -1000
    assert any("implausible" in w.lower() or "-1000" in w for w in scene["warnings"])
    mtd = (Path(summary["stac"]["folders"][0]) / "MTD_MSIL2A.xml").read_text()
    assert "earthsearch:boa_offset_applied is true" in mtd
    # Its statistics are kept but flagged, so no plot takes its colour from them.
    with plots.connect() as conn:
        reasons = conn.execute(
            text("SELECT flag_reason, flagged, count(*) FROM plot_index_stats GROUP BY 1, 2")
        ).all()
        latest = conn.execute(text("SELECT count(*) FROM plot_latest")).scalar_one()
    assert [(r.flag_reason, r.flagged) for r in reasons] == [("implausible_radiometry", True)]
    assert reasons[0][2] == scene["plots_with_stats"] * len(scene["indices"]) > 0
    assert latest == 0


def test_rerun_downloads_nothing_and_changes_no_table(
    plots: Engine,
    database_url: str,
    home: Path,
    tmp_path: Path,
) -> None:
    with fake(tmp_path, ES1_2017, ES0_2019) as server:
        env = stac_env(database_url, home, server)
        first = run_stac(env)
        before, requests = data_sums(plots), len(server.asset_requests())
        second = run_stac(env)
    assert len(first["stac"]["downloaded"]) == 14 and second["stac"]["downloaded"] == []
    assert len(server.asset_requests()) == requests
    assert data_sums(plots) == before
    assert stats(plots)


def test_one_solar_day_of_one_orbit_is_one_acquisition_with_one_item_per_tile() -> None:
    def item(item_id: str, tile: str, when: str, made: str) -> pystac.Item:
        props = {"platform": "sentinel-2a", "sat:relative_orbit": 22, "s2:mgrs_tile": tile,
                 "s2:processing_baseline": "05.09", "s2:generation_time": made}  # fmt: skip
        return pystac.Item(item_id, None, [113.0, 28.0, 114.0, 29.0], when, props)  # type: ignore[arg-type]

    from datetime import datetime

    day = datetime.fromisoformat("2024-05-01T03:05:00+00:00")
    later = datetime.fromisoformat("2024-05-01T03:05:10+00:00")
    items = [item("a", "49RFL", day, "2024-05-01"), item("b", "49RGL", later, "2024-05-01"),
             item("a2", "49RFL", day, "2024-06-01")]  # fmt: skip
    (acquisition,) = group_acquisitions(items)
    assert acquisition.orbit == 22 and str(acquisition.day) == "2024-05-01"
    assert [i.id for i in acquisition.items] == ["a2", "b"]


@pytest.mark.parametrize(
    ("properties", "offset"),
    [
        ({"s2:processing_baseline": "04.00"}, -1000.0),
        ({"s2:processing_baseline": "05.10", "earthsearch:boa_offset_applied": True}, 0.0),
        ({"s2:processing_baseline": "05.10", "earthsearch:boa_offset_applied": False}, -1000.0),
        ({"s2:processing_baseline": "02.14"}, 0.0),
        ({"sentinel:product_id": "S2A_MSIL2A_20220714T115221_N0400_R123_T28QCH_2022"}, -1000.0),
        ({}, None),
    ],
)
def test_offset_decision_per_source(properties: dict[str, Any], offset: float | None) -> None:
    assert decide_item_offset(properties, "x").offset_dn == offset


def test_fake_search_answers_get_and_post_with_query_and_filter(tmp_path: Path) -> None:
    from pystac_client import Client

    with fake(tmp_path, ES1_2017, CLOUDY) as server:
        client = Client.open(server.url)
        ids = []
        for method, cloud in (("GET", {"filter": "eo:cloud_cover <= 50"}),
                              ("POST", {"query": {"eo:cloud_cover": {"lte": 50}}})):  # fmt: skip
            search = client.search(method=method, bbox=[10.0, 46.0, 10.1, 46.1],
                                   datetime="2017-01-01/2019-12-31", **cloud)  # fmt: skip
            ids.append([i.id for i in search.items()])
    assert ids == [[ES1_2017.item_id]] * 2
    assert {r["method"] for r in server.log if r["path"] == "/search"} == {"GET", "POST"}


def test_part_file_left_by_an_earlier_run_is_continued_not_restarted(tmp_path: Path) -> None:
    import httpx

    from ingest.satellite.sources import download_whole

    item = FakeItem(**{**ES0_2019.__dict__, "plain_tiff": ("B04",)})
    with fake(tmp_path, item) as server:
        path = server.asset_path(item.item_id, "B04")
        body = server.files[path]
        dest = tmp_path / "B04.tif"
        dest.with_name("B04.tif.part").write_bytes(body[:100])
        with httpx.Client() as client:
            download_whole(client, f"{server.url}{path}", dest, retries=0)
    assert dest.read_bytes() == body and not dest.with_name("B04.tif.part").exists()
    assert [r["range"] for r in server.log] == ["bytes=100-"]


@pytest.mark.parametrize(
    ("href", "allowed"),
    [
        ("https://sentinel-cogs.s3.us-west-2.amazonaws.com/x/B04.tif", True),
        ("https://SENTINEL2L2A01.blob.core.windows.net/x/B04.tif?st=1&sig=2", True),
        ("http://sentinel-cogs.s3.us-west-2.amazonaws.com/x/B04.tif", False),  # not https
        ("s3://sentinel-cogs/x/B04.tif", False),
        ("https://sentinel-cogs.s3.us-west-2.amazonaws.com.evil.org/B04.tif", False),
        ("https://127.0.0.1:8080/B04.tif", False),
    ],
)
def test_allow_list_accepts_only_listed_https_hosts(href: str, allowed: bool) -> None:
    from ingest.satellite.sources import DEFAULT_ALLOWED_HOSTS, AllowList, AssetHostNotAllowed

    allow = AllowList(DEFAULT_ALLOWED_HOSTS)
    if allowed:
        assert allow.check(href) == href
    else:
        with pytest.raises(AssetHostNotAllowed):
            allow.check(href)


def test_area_must_be_given_exactly_once(db: Engine, database_url: str, home: Path) -> None:
    for args in ([], ["--plots", "--area", "10,46,10.1,46.1"]):
        result = CliRunner().invoke(
            app,
            ["ingest", "satellite", "--source", "stac", *args, "--start", "2019-07-01",
             "--end", "2019-07-31"],
            env=_env(database_url, home),
        )  # fmt: skip
        assert result.exit_code == 1 and "--area/--plots/--admin-unit" in result.output


def test_planetary_computer_token_is_reused_until_it_expires(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    import httpx

    from ingest.satellite.sources import PlanetaryComputerSigner

    with fake(tmp_path, PC_2019) as server, httpx.Client() as client:
        signer = PlanetaryComputerSigner(f"{server.url}/api/sas/v1/token", client)
        first = signer.sign("https://h/a.tif", "sentinel-2-l2a")
        signer.sign("https://h/b.tif", "sentinel-2-l2a")
        assert server.token_requests == 1 and first.endswith("sig=FAKESIG")
        token, _ = signer._tokens["sentinel-2-l2a"]
        signer._tokens["sentinel-2-l2a"] = (token, datetime.now(UTC))  # about to expire
        signer.sign("https://h/c.tif", "sentinel-2-l2a")
        assert server.token_requests == 2
    assert [r["path"] for r in server.log] == ["/api/sas/v1/token/sentinel-2-l2a"] * 2
