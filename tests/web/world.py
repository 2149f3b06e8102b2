"""Plots, scenes and index values the web map is tested against, written with plain SQL.

Six square plots in two rows near 111.20°E 28.38°N (lon/lat, EPSG:4326), each about
147 m × 133 m, so that each covers many screen pixels once the map is fitted to them.
Two scenes have an NDVI COG (64 × 64, EPSG:4326) under the plots, the newest a true-colour
COG too; both NDVI rasters have no data under the no-value plot, so its no-data colour is
still drawn over the plain background.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rasterio.crs import CRS
from rasterio.transform import from_origin
from sqlalchemy import Connection, Engine, text

from tests.rasters import write_small_cog

WEST = 111.2000
SOUTH = 28.3800
SIZE_LON = 0.0015
SIZE_LAT = 0.0012
GAP = 0.0005
VILLAGE = "430923100299"
VILLAGE_NAME = "茶乡村"


@dataclass(frozen=True)
class WebPlot:
    code: str
    column: int
    row: int
    ndvi: float | None  # latest clear NDVI (plot_latest); None: no value, drawn as no data
    evi: float | None = None
    owner: str | None = None

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        west = WEST + self.column * (SIZE_LON + GAP)
        south = SOUTH + self.row * (SIZE_LAT + GAP)
        return (west, south, west + SIZE_LON, south + SIZE_LAT)

    @property
    def centre(self) -> tuple[float, float]:
        west, south, east, north = self.bounds
        return ((west + east) / 2, (south + north) / 2)


PLOTS = [
    WebPlot("AH-W01", 0, 1, ndvi=0.7, evi=0.4, owner="李四"),  # on a stop of the ramp
    WebPlot("AH-W02", 1, 1, ndvi=0.6),  # between two stops
    WebPlot("AH-W03", 2, 1, ndvi=0.3),
    WebPlot("AH-W04", 0, 0, ndvi=0.15),
    WebPlot("AH-W05", 1, 0, ndvi=-0.5),  # below the first stop: clamped
    WebPlot("AH-W06", 2, 0, ndvi=None),  # no clear value yet
]

#: (UTC time, local date, clear fraction, cloud cover %) of the scenes, oldest first.
SCENES = [
    ("2025-04-10T03:05:00Z", "2025-04-10", 0.93, 4.0),
    ("2025-05-01T03:05:00Z", "2025-05-01", 0.81, 12.0),
    ("2025-05-15T03:05:00Z", "2025-05-15", 0.12, 78.0),
    ("2025-06-04T03:05:00Z", "2025-06-04", 0.97, 1.5),
]

#: The rasters: 64 × 64 pixels of 0.00012° from this north-west corner, covering the plots.
RASTER_ORIGIN = (111.1990, 28.3850)
RASTER_PIXEL = 0.00012
RASTER_SIZE = 64
NDVI_SCALE = 1e-4
NDVI_NODATA = -32768
#: No data east of this longitude and south of this latitude (under plot AH-W06).
NODATA_EAST_OF = 111.2035
NODATA_SOUTH_OF = 28.3817
#: Positions in SCENES of the scenes with an NDVI raster; the first also has true colour.
NDVI_SCENES = (3, 1)
TRUECOLOR_SCENE = 3

#: NDVI series of the first plot, one per scene: (mean, std, flagged).
SERIES = [(0.52, 0.04, False), (0.61, 0.05, False), (0.21, 0.12, True), (0.7, 0.03, False)]


def plot_id(code: str) -> int:
    """Id of a plot (tables are truncated with RESTART IDENTITY, ids follow PLOTS)."""
    return next(i for i, p in enumerate(PLOTS, start=1) if p.code == code)


def _write_cog(path: Path, data: np.ndarray, nodata: float, scale: float = 1.0) -> None:
    """A fixture COG in EPSG:4326 on the world's raster grid."""
    write_small_cog(
        path,
        data,
        crs=CRS.from_epsg(4326),
        transform=from_origin(*RASTER_ORIGIN, RASTER_PIXEL, RASTER_PIXEL),
        nodata=nodata,
        scale=scale,
    )


def _pixel_centres() -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude of every pixel centre (rows north to south)."""
    steps = (np.arange(RASTER_SIZE) + 0.5) * RASTER_PIXEL
    lon = RASTER_ORIGIN[0] + steps[None, :]
    lat = RASTER_ORIGIN[1] - steps[:, None]
    return np.broadcast_to(lon, (RASTER_SIZE,) * 2), np.broadcast_to(lat, (RASTER_SIZE,) * 2)


def ndvi_raster(rising_east: bool) -> np.ndarray:
    """Stored NDVI (int16, ×1e-4): a west–east ramp with rows of tea, no data under AH-W06."""
    lon, lat = _pixel_centres()
    share = (lon - RASTER_ORIGIN[0]) / (RASTER_SIZE * RASTER_PIXEL)
    ramp = 0.1 + 0.75 * (share if rising_east else 1 - share)
    rows = 0.06 * np.sin((lat - RASTER_ORIGIN[1]) / RASTER_PIXEL * 1.3)
    stored = np.round((ramp + rows) / NDVI_SCALE).astype(np.int16)
    stored[(lon > NODATA_EAST_OF) & (lat < NODATA_SOUTH_OF)] = NDVI_NODATA
    return stored[None]


def truecolor_raster() -> np.ndarray:
    """Stored true colour (uint8 RGB, 0 = no data): green rows of tea on brown soil."""
    lon, lat = _pixel_centres()
    tea = (np.sin((lat - RASTER_ORIGIN[1]) / RASTER_PIXEL * 1.3) > -0.2)[None]
    share = ((lon - RASTER_ORIGIN[0]) / (RASTER_SIZE * RASTER_PIXEL))[None]
    green = np.array([58, 112, 52])[:, None, None] + (30 * share).astype(int)
    soil = np.array([140, 112, 84])[:, None, None]
    return np.where(tea, green, soil).astype(np.uint8)


def _raster_asset(
    conn: Connection,
    scene_id: int,
    kind: str,
    relative: str,
    dtype: str,
    *,
    scale: float,
    nodata: float,
) -> None:
    conn.execute(
        text(
            "INSERT INTO raster_assets (scene_id, kind, path, sha256, dtype, scale,"
            ' "offset", nodata, width, height, size_bytes) VALUES (:s, :k, :p,'
            " repeat('0', 64), :d, :sc, 0, :nd, :w, :h, 1)"
        ),
        {
            "s": scene_id,
            "k": kind,
            "p": relative,
            "d": dtype,
            "sc": scale,
            "nd": nodata,
            "w": RASTER_SIZE,
            "h": RASTER_SIZE,
        },
    )


def build_web_world(engine: Engine, home: Path) -> list[int]:
    """Insert the village, plots, scenes, the series of the first plot and latest values.

    The COGs are written to ``home``'s raster store (``home/rasters``). Returns the scene ids
    in the order of SCENES.
    """
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO admin_units (code, name, level, geom, area_m2) VALUES (:c, :n,"
                " 'village', ST_Multi(ST_MakeEnvelope(111.19, 28.37, 111.22, 28.39, 4326)),"
                " ST_Area(ST_MakeEnvelope(111.19, 28.37, 111.22, 28.39, 4326)::geography))"
            ),
            {"c": VILLAGE, "n": VILLAGE_NAME},
        )
        for plot in PLOTS:
            conn.execute(
                text(
                    "INSERT INTO plots (code, name, owner, village_id, crop, geom, area_m2)"
                    " VALUES (:code, :name, :owner, (SELECT id FROM admin_units WHERE code = :v),"
                    " 'tea', ST_Multi(ST_MakeEnvelope(:w, :s, :e, :n, 4326)),"
                    " ST_Area(ST_MakeEnvelope(:w, :s, :e, :n, 4326)::geography))"
                ),
                {
                    "code": plot.code,
                    "name": f"茶园 {plot.code[-2:]}",
                    "owner": plot.owner,
                    "v": VILLAGE,
                    "w": plot.bounds[0],
                    "s": plot.bounds[1],
                    "e": plot.bounds[2],
                    "n": plot.bounds[3],
                },
            )
        scene_ids = []
        for n, (when, _, clear, cloud) in enumerate(SCENES):
            scene_ids.append(
                conn.execute(
                    text(
                        "INSERT INTO scenes (source, scene_key, platform, acquired_at,"
                        " cloud_cover, clear_fraction, footprint) VALUES ('local', :k,"
                        " 'sentinel-2b', :t, :cc, :cf,"
                        " ST_Multi(ST_MakeEnvelope(110.9, 27.9, 112.1, 28.9, 4326))) RETURNING id"
                    ),
                    {"k": f"WEB-{n}", "t": when, "cc": cloud, "cf": clear},
                ).scalar_one()
            )
        first = plot_id(PLOTS[0].code)
        for scene_id, (when, _, clear, _), (mean, std, flagged) in zip(
            scene_ids, SCENES, SERIES, strict=True
        ):
            conn.execute(
                text(
                    "INSERT INTO plot_index_stats (plot_id, index, acquired_at, source, scene_id,"
                    " mean, std, min, max, median, p10, p90, valid_weight, valid_count,"
                    " total_weight, clear_fraction, flagged, flag_reason) VALUES (:p, 'NDVI',"
                    " :t, 'local', :s, :m, :sd, :m - 0.1, :m + 0.1, :m, :m - 0.05, :m + 0.05,"
                    " 20.0, 24, 22.0, :cf, :f, CASE WHEN :f THEN 'low_clear_fraction' END)"
                ),
                {
                    "p": first,
                    "t": when,
                    "s": scene_id,
                    "m": mean,
                    "sd": std,
                    "cf": clear,
                    "f": flagged,
                },
            )
        latest_when, latest_scene = SCENES[-1][0], scene_ids[-1]
        for plot in PLOTS:
            for index, value in (("NDVI", plot.ndvi), ("EVI", plot.evi)):
                if value is None:
                    continue
                conn.execute(
                    text(
                        "INSERT INTO plot_latest (plot_id, index, acquired_at, source, scene_id,"
                        " mean) VALUES (:p, :i, :t, 'local', :s, :m)"
                    ),
                    {
                        "p": plot_id(plot.code),
                        "i": index,
                        "t": latest_when,
                        "s": latest_scene,
                        "m": value,
                    },
                )
        store = home / "rasters"
        for n, position in enumerate(NDVI_SCENES):
            relative = f"web/ndvi-{position}.tif"
            _write_cog(store / relative, ndvi_raster(n == 0), NDVI_NODATA, NDVI_SCALE)
            _raster_asset(
                conn, scene_ids[position], "NDVI", relative, "int16",
                scale=NDVI_SCALE, nodata=NDVI_NODATA,
            )  # fmt: skip
        relative = f"web/truecolor-{TRUECOLOR_SCENE}.tif"
        _write_cog(store / relative, truecolor_raster(), 0)
        _raster_asset(
            conn, scene_ids[TRUECOLOR_SCENE], "truecolor", relative, "uint8", scale=1.0, nodata=0
        )
    return [int(i) for i in scene_ids]
