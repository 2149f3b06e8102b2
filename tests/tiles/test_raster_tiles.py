"""Raster tiles of scenes: PNGs checked against rio-tiler reads and the catalogue colormap."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from rasterio.warp import transform, transform_bounds
from rio_tiler.io import Reader
from sqlalchemy import Engine, text

from models.auth.settings import AuthSettings
from models.i18n import t
from models.indices import get_index
from models.settings import DatabaseSettings, Settings, TilesSettings
from service.main import create_app
from tests.conftest import make_world_dir, truncate_all
from tests.rasters import write_small_cog
from tiles.errors import RasterMissing, RasterOutsideStore, SceneLayerNotFound
from tiles.layers import layer_kind, resolve_in_store

CRS_UTM = CRS.from_epsg(32632)
# 64 × 64 pixels of 10 m in UTM 32N, near 46.0°N 10.3°E.
ORIGIN = (600_000.0, 5_100_000.0)
PIXEL_M = 10.0
SIZE = 64
AFFINE = from_origin(*ORIGIN, PIXEL_M, PIXEL_M)
NODATA = -32768
SCALE = 1e-4
Z = 15
MERCATOR_HALF = 20037508.342789244
CACHE_SECONDS = 123

# NDVI fixture blocks: (row slice, col slice, NDVI value or None for no data).
NDVI_BLOCKS = [
    (slice(0, 32), slice(0, 32), None),
    (slice(0, 32), slice(32, 64), 0.8),
    (slice(32, 64), slice(0, 32), 0.5),
    (slice(32, 64), slice(32, 64), -0.5),  # below the display range: clamped to the first stop
]
RGB_VALID = (10, 120, 200)


def write_cog(path: Path, data: np.ndarray, nodata: float, *, scale: float = 1.0) -> None:
    """A fixture COG on this module's UTM grid."""
    write_small_cog(path, data, crs=CRS_UTM, transform=AFFINE, nodata=nodata, scale=scale)


def ndvi_stored() -> np.ndarray:
    data = np.empty((1, SIZE, SIZE), dtype=np.int16)
    for rows, cols, value in NDVI_BLOCKS:
        data[0, rows, cols] = NODATA if value is None else round(value / SCALE)
    return data


def rgb_stored() -> np.ndarray:
    data = np.empty((3, SIZE, SIZE), dtype=np.uint8)
    data[:] = np.array(RGB_VALID, dtype=np.uint8)[:, None, None]
    data[:, :32, :32] = 0
    return data


def tile_of_utm(east: float, north: float, z: int) -> tuple[int, int]:
    """XYZ tile holding a UTM point (pure Web Mercator arithmetic after one reprojection)."""
    (mx,), (my,) = transform(CRS_UTM, "EPSG:3857", [east], [north])
    size = 2 * MERCATOR_HALF / (1 << z)
    return int((mx + MERCATOR_HALF) // size), int((MERCATOR_HALF - my) // size)


def tile_bounds_3857(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    size = 2 * MERCATOR_HALF / (1 << z)
    west, north = -MERCATOR_HALF + x * size, MERCATOR_HALF - y * size
    return west, north - size, west + size, north


def decode(png: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # PNG tiles carry no CRS
        with MemoryFile(png) as mem, mem.open() as src:
            assert src.driver == "PNG"
            return src.read()


@pytest.fixture(scope="module")
def store_home() -> Iterator[Path]:
    home = make_world_dir("skyground-rasters-")
    store = home / "rasters"
    (store / "s2").mkdir(parents=True)
    write_cog(store / "s2" / "ndvi.tif", ndvi_stored(), NODATA, scale=SCALE)
    write_cog(store / "s2" / "truecolor.tif", rgb_stored(), 0)
    # A COG beside the store, named by a row that tries to escape it.
    write_cog(home / "outside.tif", ndvi_stored(), NODATA, scale=SCALE)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def scene_id(engine: Engine, store_home: Path) -> int:
    truncate_all(engine)
    with engine.begin() as conn:
        scene = conn.execute(
            text(
                "INSERT INTO scenes (source, scene_key, acquired_at, footprint) VALUES"
                " ('local', 'S2-RASTER', '2024-05-01T03:10:00Z',"
                " ST_Multi(ST_MakeEnvelope(10, 45, 11, 47, 4326))) RETURNING id"
            )
        ).scalar_one()
        rows = [
            ("NDVI", "s2/ndvi.tif", "int16", SCALE, NODATA),
            ("truecolor", "s2/truecolor.tif", "uint8", 1.0, 0),
            ("GNDVI", "../outside.tif", "int16", SCALE, NODATA),
            ("NDMI", str(store_home / "outside.tif"), "int16", SCALE, NODATA),
            ("EVI", "s2/gone.tif", "int16", SCALE, NODATA),
        ]
        for kind, path, dtype, scale, nodata in rows:
            conn.execute(
                text(
                    "INSERT INTO raster_assets (scene_id, kind, path, sha256, dtype, scale,"
                    ' "offset", nodata, width, height, size_bytes) VALUES (:s, :k, :p,'
                    " repeat('0', 64), :d, :sc, 0, :nd, 64, 64, 1)"
                ),
                {"s": scene, "k": kind, "p": path, "d": dtype, "sc": scale, "nd": nodata},
            )
    return int(scene)


@pytest.fixture(scope="module")
def client(database_url: str, store_home: Path, scene_id: int) -> Iterator[TestClient]:
    settings = Settings(
        db=DatabaseSettings(database_url=database_url, home=store_home),
        tiles=TilesSettings(cache_seconds=CACHE_SECONDS),
        auth=AuthSettings(anonymous_read=True),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture()
def raster_opens(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every path the service tries to open with rasterio (the open itself is refused)."""
    opened: list[object] = []

    def refuse(path: object, *args: object, **kwargs: object) -> None:
        opened.append(path)
        raise AssertionError(f"a raster was opened: {path}")

    monkeypatch.setattr(rasterio, "open", refuse)
    return opened


def centre_tile() -> tuple[int, int]:
    return tile_of_utm(ORIGIN[0] + SIZE * PIXEL_M / 2, ORIGIN[1] - SIZE * PIXEL_M / 2, Z)


def test_index_tile_equals_rio_tiler_read_coloured_with_the_catalogue(client, store_home, scene_id):
    x, y = centre_tile()
    response = client.get(f"/tiles/scenes/{scene_id}/NDVI/{Z}/{x}/{y}.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == f"private, max-age={CACHE_SECONDS}"
    tile = decode(response.content)
    assert tile.shape == (4, 256, 256)

    # The same tile bounds read directly with rio-tiler, coloured with numpy and the LUT.
    colormap = get_index("NDVI").colormap
    low, high = colormap.display_range
    with Reader(str(store_home / "rasters" / "s2" / "ndvi.tif")) as reader:
        image = reader.part(
            tile_bounds_3857(Z, x, y),
            dst_crs=reader.tms.rasterio_crs,
            bounds_crs=reader.tms.rasterio_crs,
            width=256,
            height=256,
            max_size=None,
            indexes=1,
        )
    values = image.array[0].astype(np.float64) * SCALE
    codes = np.floor(np.clip((values - low) / (high - low), 0, 1) * 254 + 1.5).astype(int)
    lut = np.array([colormap.lut()[i] for i in range(256)], dtype=np.uint8)
    valid = ~np.ma.getmaskarray(values)
    assert valid.any() and (~valid).any()
    np.testing.assert_array_equal(tile[3], np.where(valid, 255, 0))
    for band in range(3):
        np.testing.assert_array_equal(tile[band][valid], lut[codes.filled(0), band][valid])


def test_index_tile_colours_match_the_colormap_at_known_values(client, scene_id):
    x, y = centre_tile()
    tile = decode(client.get(f"/tiles/scenes/{scene_id}/ndvi/{Z}/{x}/{y}.png").content)
    colormap = get_index("NDVI").colormap
    # Pixel centres of the tile → UTM → fixture block, away from block edges (nearest resampling).
    west, south, east, north = tile_bounds_3857(Z, x, y)
    step = (east - west) / 256
    cols, rows = np.meshgrid(np.arange(256), np.arange(256))
    mx = (west + (cols.ravel() + 0.5) * step).tolist()
    my = (north - (rows.ravel() + 0.5) * step).tolist()
    ux, uy = transform("EPSG:3857", CRS_UTM, mx, my)
    src_col = (np.array(ux) - ORIGIN[0]) / PIXEL_M
    src_row = (ORIGIN[1] - np.array(uy)) / PIXEL_M
    checked = 0
    for rows_sl, cols_sl, value in NDVI_BLOCKS:
        inside = (
            (src_row > rows_sl.start + 1)
            & (src_row < rows_sl.stop - 1)
            & (src_col > cols_sl.start + 1)
            & (src_col < cols_sl.stop - 1)
        ).reshape(256, 256)
        if not inside.any():
            continue
        pixels = tile[:, inside].T
        if value is None:
            assert (pixels[:, 3] == 0).all()
        else:
            expected = np.array(colormap.rgba(value))
            assert np.abs(pixels.astype(int) - expected).max() <= 1, value
        checked += 1
    # Outside the raster: transparent.
    outside = (src_row < -1) | (src_row > SIZE + 1) | (src_col < -1) | (src_col > SIZE + 1)
    assert (tile[3][outside.reshape(256, 256)] == 0).all()
    assert checked >= 3


def test_tile_outside_the_raster_is_fully_transparent(client, scene_id):
    x, y = centre_tile()
    for name in ("NDVI", "truecolor"):
        response = client.get(f"/tiles/scenes/{scene_id}/{name}/{Z}/{x + 5}/{y}.png")
        assert response.status_code == 200
        tile = decode(response.content)
        assert tile.shape == (4, 256, 256)
        assert (tile[3] == 0).all()


def test_truecolor_tile_is_rgba_with_alpha_zero_where_nodata(client, scene_id):
    # At z=17 the tile holding the top-left corner block mixes no-data and valid pixels.
    x, y = tile_of_utm(ORIGIN[0] + 160, ORIGIN[1] - 160, 17)
    response = client.get(f"/tiles/scenes/{scene_id}/truecolor/17/{x}/{y}.png")
    assert response.status_code == 200
    tile = decode(response.content)
    assert tile.shape == (4, 256, 256)
    alpha = tile[3]
    assert set(np.unique(alpha)) == {0, 255}
    visible = tile[:3, alpha == 255].T
    assert (visible == np.array(RGB_VALID)).all()


def test_unknown_scene_and_unknown_index_give_the_same_404(client, scene_id):
    x, y = centre_tile()
    urls = [
        f"/tiles/scenes/{scene_id + 1000}/NDVI/{Z}/{x}/{y}.png",
        f"/tiles/scenes/{scene_id}/NOPE/{Z}/{x}/{y}.png",
        f"/tiles/scenes/{scene_id}/SAVI/{Z}/{x}/{y}.png",  # an index without a raster
        f"/tiles/scenes/{scene_id + 1000}/NDVI/tilejson.json",
        f"/tiles/scenes/{scene_id}/NOPE/tilejson.json",
    ]
    responses = [client.get(url, params={"lang": "en"}) for url in urls]
    assert {r.status_code for r in responses} == {404}
    assert {r.content for r in responses} == {responses[0].content}
    assert responses[0].json()["detail"] == "No such scene layer."
    zh = client.get(urls[1]).json()["detail"]
    assert zh == "未找到该影像图层。"


@pytest.mark.parametrize("segment", ["%2E%2E", "..%2F..%2Frasters", "NDVI.tif", "a%2Fb"])
def test_index_with_path_characters_is_refused_without_opening_a_file(
    client, scene_id, raster_opens, segment
):
    x, y = centre_tile()
    for url in (
        f"/tiles/scenes/{scene_id}/{segment}/{Z}/{x}/{y}.png",
        f"/tiles/scenes/{scene_id}/{segment}/tilejson.json",
    ):
        assert client.get(url).status_code in (404, 422), url
    assert raster_opens == []


@pytest.mark.parametrize("kind", ["GNDVI", "NDMI"])
def test_a_row_pointing_outside_the_store_is_a_generic_500_without_opening(
    client, scene_id, raster_opens, kind
):
    x, y = centre_tile()
    response = client.get(f"/tiles/scenes/{scene_id}/{kind}/{Z}/{x}/{y}.png", params={"lang": "en"})
    assert response.status_code == 500
    assert response.json() == {"detail": t("error_internal", "en")}
    assert raster_opens == []


def test_a_row_whose_file_is_gone_is_a_generic_500(client, scene_id):
    x, y = centre_tile()
    response = client.get(f"/tiles/scenes/{scene_id}/EVI/{Z}/{x}/{y}.png", params={"lang": "en"})
    assert response.status_code == 500
    assert response.json() == {"detail": t("error_internal", "en")}


@pytest.mark.parametrize(
    ("z", "x", "y"), [(-1, 0, 0), (40, 0, 0), (3, 8, 0), (3, 0, 8), (3, -1, 0), (0, 0, 10**30)]
)
def test_tile_address_out_of_range_is_4xx(client, scene_id, z, x, y):
    response = client.get(f"/tiles/scenes/{scene_id}/NDVI/{z}/{x}/{y}.png")
    assert 400 <= response.status_code < 500


def test_tilejson_bounds_equal_the_cog_bounds_in_lonlat(client, store_home, scene_id):
    response = client.get(f"/tiles/scenes/{scene_id}/NDVI/tilejson.json")
    assert response.status_code == 200
    body = response.json()
    with rasterio.open(store_home / "rasters" / "s2" / "ndvi.tif") as src:
        expected = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    np.testing.assert_allclose(body["bounds"], expected, rtol=0, atol=1e-9)
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"][0].endswith(f"/tiles/scenes/{scene_id}/NDVI/{{z}}/{{x}}/{{y}}.png")
    # 10 m pixels: Web Mercator zoom 14 (9.55 m at the equator) is the nearest.
    assert 13 <= body["maxzoom"] <= 15
    # Shown from the plots' minimum zoom even when the clip's own overviews stop deeper.
    with Reader(str(store_home / "rasters" / "s2" / "ndvi.tif")) as reader:
        own_minzoom = reader.minzoom
    assert own_minzoom > 10
    assert body["minzoom"] == 10
    # A valid block (NDVI 0.8) at that zoom: the tile is drawn, a few pixels wide.
    x, y = tile_of_utm(ORIGIN[0] + 48 * PIXEL_M, ORIGIN[1] - 16 * PIXEL_M, 10)
    png = client.get(f"/tiles/scenes/{scene_id}/NDVI/10/{x}/{y}.png")
    assert png.status_code == 200
    assert decode(png.content)[3].max() == 255
    truecolor = client.get(f"/tiles/scenes/{scene_id}/TrueColor/tilejson.json").json()
    assert truecolor["tiles"][0].endswith("/truecolor/{z}/{x}/{y}.png")


@pytest.mark.parametrize(
    ("name", "kind"), [("ndre", "NDREI"), ("NDVI", "NDVI"), ("TrueColor", "truecolor")]
)
def test_layer_names_resolve_to_the_stored_kind(name, kind):
    assert layer_kind(name)[0] == kind


def test_unknown_layer_name_is_the_scene_layer_404():
    with pytest.raises(SceneLayerNotFound):
        layer_kind("../NDVI")


def test_store_paths_are_resolved_before_the_containment_check(tmp_path):
    store = tmp_path / "rasters"
    (store / "a").mkdir(parents=True)
    (store / "a" / "x.tif").write_bytes(b"")
    (tmp_path / "y.tif").write_bytes(b"")
    (store / "link.tif").symlink_to(tmp_path / "y.tif")
    assert resolve_in_store(store, "a/../a/x.tif") == (store / "a" / "x.tif").resolve()
    for escaping in ("../y.tif", str(tmp_path / "y.tif"), "link.tif", "a/../../y.tif"):
        with pytest.raises(RasterOutsideStore):
            resolve_in_store(store, escaping)
    with pytest.raises(RasterMissing):
        resolve_in_store(store, "a")


def test_only_our_tile_routes_are_served(client):
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {p for p in paths if p.startswith("/tiles")} == {
        "/tiles/plots/{z}/{x}/{y}.mvt",
        "/tiles/plots.json",
        "/tiles/scenes/{scene_id}/{index}/{z}/{x}/{y}.png",
        "/tiles/scenes/{scene_id}/{index}/tilejson.json",
    }
    assert not any(p.startswith(("/cog", "/stac", "/mosaic")) for p in paths)
    assert client.get("/cog/info", params={"url": "/etc/passwd"}).status_code == 404
