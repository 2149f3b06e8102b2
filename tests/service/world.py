"""A small, known set of admin units and plots written with plain SQL.

Independent of the import code on purpose: the API is tested against rows whose content
the test states. Coordinates are lon/lat (EPSG:4326) near Anhua.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text

COUNTY = "430923"
TOWNSHIP_1 = "430923100"
TOWNSHIP_2 = "430923101"
VILLAGE_1 = "430923100201"
VILLAGE_2 = "430923100202"
VILLAGE_3 = "430923101201"


def box_wkt(west: float, south: float, east: float, north: float) -> str:
    return (
        f"POLYGON(({west} {south}, {east} {south}, {east} {north}, {west} {north}, {west} {south}))"
    )


@dataclass(frozen=True)
class UnitSpec:
    code: str
    name: str
    level: str
    parent: str | None
    wkt: str


@dataclass(frozen=True)
class PlotSpec:
    code: str
    wkt: str
    name: str | None = None
    owner: str | None = None
    cooperative: str | None = None
    village: str | None = None
    village_name: str | None = None
    area_m2: float | None = None
    retired: bool = False
    created_at: str = "2024-03-01T16:30:00Z"
    updated_at: str = "2024-06-30T23:59:59Z"
    attributes: dict[str, Any] = field(default_factory=dict)


UNITS = [
    UnitSpec(COUNTY, "安化县", "county", None, box_wkt(111.0, 28.2, 111.6, 28.6)),
    UnitSpec(TOWNSHIP_1, "东坪镇", "township", COUNTY, box_wkt(111.0, 28.2, 111.3, 28.6)),
    UnitSpec(TOWNSHIP_2, "马路镇", "township", COUNTY, box_wkt(111.3, 28.2, 111.6, 28.6)),
    UnitSpec(VILLAGE_1, "黄沙坪村", "village", TOWNSHIP_1, box_wkt(111.0, 28.2, 111.15, 28.6)),
    UnitSpec(VILLAGE_2, "酉州村", "village", TOWNSHIP_1, box_wkt(111.15, 28.2, 111.3, 28.6)),
    UnitSpec(VILLAGE_3, "云台山村", "village", TOWNSHIP_2, box_wkt(111.3, 28.2, 111.6, 28.6)),
]

COOP_A = "黄沙坪茶叶专业合作社"
COOP_B = "酉州茶业合作社"

# Ids are 1..8 in this order (the tables are truncated with RESTART IDENTITY).
PLOTS = [
    PlotSpec(
        "AH-0001",
        box_wkt(111.100000123, 28.300000456, 111.101000789, 28.301000321),
        name="黄沙坪茶园一号",
        owner="张三",
        cooperative=COOP_A,
        village=VILLAGE_1,
        village_name="黄沙坪",
        area_m2=750.0,  # 1.125 亩 exactly: half up gives 1.13, half even 1.12
        attributes={"坡向": "南", "terraced": True},
    ),
    PlotSpec(
        "AH-0002",
        box_wkt(111.12, 28.30, 111.121, 28.301),
        name="Tea garden 50%_off",
        cooperative=COOP_A,
        village=VILLAGE_1,
    ),
    PlotSpec(
        "AH-0003",
        "POLYGON((111.20 28.30, 111.21 28.30, 111.20 28.31, 111.20 28.30))",
        name="酉州高山茶园",
        cooperative=COOP_B,
        village=VILLAGE_2,
    ),
    PlotSpec(
        "AH-0004",
        box_wkt(111.40, 28.40, 111.401, 28.401),
        name="云台山茶园",
        cooperative="云台山合作社",
        village=VILLAGE_3,
    ),
    PlotSpec(
        "AH-0005",
        box_wkt(111.14, 28.30, 111.141, 28.301),
        name="老茶园",
        cooperative=COOP_A,
        village=VILLAGE_1,
        retired=True,
    ),
    PlotSpec("AH-0006", box_wkt(111.50, 28.50, 111.501, 28.501)),
    PlotSpec(
        "ah-0007",
        box_wkt(111.22, 28.30, 111.221, 28.301),
        name="plot_seven",
        cooperative=COOP_B,
        village=VILLAGE_2,
        area_m2=670.0,  # 1.005 亩: half up 1.01, float round() gives 1.0
    ),
    PlotSpec(
        "AH-0008",
        "MULTIPOLYGON(((111.30 28.35, 111.301 28.35, 111.301 28.351, 111.30 28.351, "
        "111.30 28.35)), ((111.32 28.35, 111.321 28.35, 111.321 28.351, 111.32 28.351, "
        "111.32 28.35)))",
        name="两块茶园",
        village=VILLAGE_3,
    ),
]


def plot_id(code: str) -> int:
    """The id the world gives the plot with ``code``."""
    return next(i for i, spec in enumerate(PLOTS, start=1) if spec.code == code)


def build_world(engine: Engine) -> None:
    """Insert :data:`UNITS` and :data:`PLOTS` into emptied tables."""
    with engine.begin() as conn:
        for unit in UNITS:
            conn.execute(
                text(
                    "INSERT INTO admin_units (code, name, level, parent_id, geom, area_m2) "
                    "VALUES (:code, :name, :level, "
                    "(SELECT id FROM admin_units WHERE code = :parent), "
                    "ST_Multi(ST_GeomFromText(:wkt, 4326)), "
                    "ST_Area(ST_GeomFromText(:wkt, 4326)::geography))"
                ),
                {
                    "code": unit.code,
                    "name": unit.name,
                    "level": unit.level,
                    "parent": unit.parent,
                    "wkt": unit.wkt,
                },
            )
        for spec in PLOTS:
            conn.execute(
                text(
                    "INSERT INTO plots (code, name, owner, cooperative, village_id, "
                    "village_name, crop, attributes, geom, area_m2, retired_at, created_at, "
                    "updated_at) VALUES (:code, :name, :owner, :cooperative, "
                    "(SELECT id FROM admin_units WHERE code = :village), :village_name, 'tea', "
                    "CAST(:attributes AS jsonb), ST_Multi(ST_GeomFromText(:wkt, 4326)), "
                    "COALESCE(CAST(:area_m2 AS double precision), "
                    "ST_Area(ST_GeomFromText(:wkt, 4326)::geography)), "
                    "CASE WHEN :retired THEN now() END, "
                    "CAST(:created_at AS timestamptz), CAST(:updated_at AS timestamptz))"
                ),
                {
                    "code": spec.code,
                    "name": spec.name,
                    "owner": spec.owner,
                    "cooperative": spec.cooperative,
                    "village": spec.village,
                    "village_name": spec.village_name,
                    "attributes": json.dumps(spec.attributes, ensure_ascii=False),
                    "wkt": spec.wkt,
                    "area_m2": spec.area_m2,
                    "retired": spec.retired,
                    "created_at": spec.created_at,
                    "updated_at": spec.updated_at,
                },
            )
