"""Every route and method of the app, for every role, a scoped officer and nobody.

The routes are enumerated from the app itself: a new route without an entry in
:data:`RULES` fails :func:`test_every_route_has_a_rule`. Each entry says who may use the route
(public, any signed-in caller, or a permission) and gives one example request that succeeds
for an allowed caller; every other caller must get 401 (nobody) or 403. Side doors of the
scoped officer (objects of another township through tiles, OGC items, exports) come after.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from rasterio.crs import CRS
from rasterio.transform import from_origin
from sqlalchemy import Engine, text

from models.auth import Permission, permissions_of
from models.auth.settings import AuthSettings
from models.settings import DatabaseSettings, Settings
from models.tables import ROLES
from service.main import create_app
from tests.conftest import make_world_dir
from tests.rasters import write_small_cog
from tests.service.auth_world import PASSWORD, Caller
from tests.service.world import TOWNSHIP_1, plot_id

PUBLIC = "public"
SIGNED_IN = "signed in"
#: Plot 1 (AH-0001) lies in township 1, so the scoped officer may see it.
INSIDE = plot_id("AH-0001")
OUTSIDE = plot_id("AH-0004")
#: A job the matrix world holds, so ``/api/jobs/{job_id}`` has something to show.
JOB_ID = "00000000-0000-4000-8000-000000000001"
UPLOAD = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"code": "MATRIX-1"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[111.1, 28.3], [111.1005, 28.3], [111.1005, 28.3005], [111.1, 28.3]]
                ],
            },
        }
    ],
}


@dataclass(frozen=True)
class Example:
    """One request that an allowed caller makes successfully."""

    url: str
    method: str = "GET"
    body: dict[str, Any] | None = None
    upload: bool = False
    params: dict[str, str] = field(default_factory=dict)


def tile(z: int, x: int, y: int) -> str:
    return f"{z}/{x}/{y}"


#: (method, path template) → (who may, example). MOUNT: a mounted ASGI app (static files).
RULES: dict[tuple[str, str], tuple[str | Permission, Example]] = {
    ("GET", "/openapi.json"): (PUBLIC, Example("/openapi.json")),
    ("MOUNT", "/static/docs"): (PUBLIC, Example("/static/docs/swagger-ui.css")),
    ("GET", "/docs"): (PUBLIC, Example("/docs")),
    ("GET", "/docs/oauth2-redirect"): (PUBLIC, Example("/docs/oauth2-redirect")),
    ("GET", "/healthz"): (PUBLIC, Example("/healthz")),
    ("POST", "/auth/login"): (
        PUBLIC,
        Example("/auth/login", "POST", body={"username": "viewer", "password": PASSWORD}),
    ),
    ("POST", "/auth/logout"): (PUBLIC, Example("/auth/logout", "POST")),
    ("GET", "/login"): (PUBLIC, Example("/login")),
    ("GET", "/api/ui-messages"): (PUBLIC, Example("/api/ui-messages")),
    ("MOUNT", "/static"): (PUBLIC, Example("/static/app.css")),
    ("GET", "/"): (SIGNED_IN, Example("/")),
    ("GET", "/api/me"): (SIGNED_IN, Example("/api/me")),
    ("GET", "/api/users"): (Permission.USERS_MANAGE, Example("/api/users")),
    ("GET", "/api/audit"): (Permission.AUDIT_READ, Example("/api/audit")),
    ("GET", "/admin"): (SIGNED_IN, Example("/admin")),
    ("GET", "/api/jobs"): (Permission.JOBS_READ, Example("/api/jobs")),
    ("GET", "/api/jobs/{job_id}"): (Permission.JOBS_READ, Example(f"/api/jobs/{JOB_ID}")),
    ("GET", "/api/schedules"): (Permission.JOBS_READ, Example("/api/schedules")),
    ("POST", "/api/plots/import"): (
        Permission.PARCELS_EDIT,
        Example("/api/plots/import", "POST", upload=True, params={"dry_run": "true"}),
    ),
    ("GET", "/api/plots"): (Permission.MAP_READ, Example("/api/plots")),
    ("GET", "/api/plots/{plot_id}"): (Permission.MAP_READ, Example(f"/api/plots/{INSIDE}")),
    ("GET", "/api/plots/{plot_id}/indices"): (
        Permission.MAP_READ,
        Example(f"/api/plots/{INSIDE}/indices", params={"index": "NDVI", "format": "csv"}),
    ),
    ("GET", "/api/scenes"): (Permission.MAP_READ, Example("/api/scenes")),
    ("GET", "/api/admin-units"): (Permission.MAP_READ, Example("/api/admin-units")),
    ("GET", "/api/admin-units/{code}"): (
        Permission.MAP_READ,
        Example(f"/api/admin-units/{TOWNSHIP_1}"),
    ),
    ("GET", "/api/indices"): (Permission.MAP_READ, Example("/api/indices")),
    ("GET", "/tiles/plots/{z}/{x}/{y}.mvt"): (
        Permission.MAP_READ,
        Example(f"/tiles/plots/{tile(12, 3313, 1711)}.mvt"),
    ),
    ("GET", "/tiles/plots.json"): (Permission.MAP_READ, Example("/tiles/plots.json")),
    ("GET", "/tiles/scenes/{scene_id}/{index}/{z}/{x}/{y}.png"): (
        Permission.MAP_READ,
        Example(f"/tiles/scenes/1/NDVI/{tile(12, 3313, 1711)}.png"),
    ),
    ("GET", "/tiles/scenes/{scene_id}/{index}/tilejson.json"): (
        Permission.MAP_READ,
        Example("/tiles/scenes/1/NDVI/tilejson.json"),
    ),
    ("GET", "/ogc"): (Permission.MAP_READ, Example("/ogc")),
    ("GET", "/ogc/conformance"): (Permission.MAP_READ, Example("/ogc/conformance")),
    ("GET", "/ogc/collections"): (Permission.MAP_READ, Example("/ogc/collections")),
    ("GET", "/ogc/collections/{collectionId}"): (
        Permission.MAP_READ,
        Example("/ogc/collections/plots"),
    ),
    ("GET", "/ogc/collections/{collectionId}/items"): (
        Permission.MAP_READ,
        Example("/ogc/collections/plots/items"),
    ),
    ("GET", "/ogc/collections/{collectionId}/items/{featureId}"): (
        Permission.MAP_READ,
        Example(f"/ogc/collections/plots/items/{INSIDE}"),
    ),
}

#: Requests about objects outside township 1: the scoped officer gets 403, admins 2xx.
SIDE_DOORS = [
    f"/api/plots/{OUTSIDE}",
    f"/api/plots/{OUTSIDE}/indices?index=NDVI",
    f"/api/plots/{OUTSIDE}/indices?index=NDVI&format=csv",
    "/api/admin-units/430923101",
    f"/ogc/collections/plots/items/{OUTSIDE}",
    "/ogc/collections/admin_units/items/430923101",
]


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route of ``app``, included routers and mounts too."""
    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "effective_candidates"):  # an included router
                walk(route.effective_candidates())
                continue
            inner = getattr(route, "original_route", route)
            methods = getattr(inner, "methods", None)
            if methods is None:
                found.add(("MOUNT", route.path))
            else:
                found.update((m, route.path) for m in methods if m != "HEAD")

    walk(app.routes)
    return found


@pytest.fixture(scope="module")
def matrix_world(
    engine: Engine, callers: dict[str, Caller]
) -> Iterator[tuple[dict[str, Caller], Path]]:
    """The service world, one user per role, and an NDVI COG of scene 1 over plot 1."""
    home = make_world_dir("skyground-matrix-")
    store = home / "rasters"
    (store / "m").mkdir(parents=True)
    data = np.full((1, 32, 32), 6000, dtype=np.int16)
    transform = from_origin(111.098, 28.302, 0.0001, 0.0001)
    write_small_cog(
        store / "m" / "ndvi.tif", data, crs=CRS.from_epsg(4326), transform=transform,
        nodata=-32768, scale=1e-4,
    )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO scenes (source, scene_key, acquired_at, footprint) VALUES"
                " ('local', 'MATRIX', '2025-05-01T03:00:00Z',"
                " ST_Multi(ST_MakeEnvelope(111, 28, 112, 29, 4326)))"
            )
        )
        conn.execute(
            text(
                "INSERT INTO raster_assets (scene_id, kind, path, sha256, dtype, scale,"
                " \"offset\", nodata, width, height, size_bytes) VALUES (1, 'NDVI', 'm/ndvi.tif',"
                " repeat('0', 64), 'int16', 0.0001, 0, -32768, 32, 32, 1)"
            )
        )
        conn.execute(
            text("INSERT INTO jobs (id, kind, state) VALUES (:id, 'noop', 'succeeded')"),
            {"id": JOB_ID},
        )
    yield callers, home


@pytest.fixture(scope="module")
def app(matrix_world: tuple[dict[str, Caller], Path], database_url: str) -> FastAPI:
    _, home = matrix_world
    settings = Settings(
        db=DatabaseSettings(database_url=database_url, home=home),
        auth=AuthSettings(secret="m" * 40),
    )
    return create_app(settings)


def test_every_route_has_a_rule(app: FastAPI):
    routes = app_routes(app)
    assert routes - set(RULES) == set(), "routes without a rule: add them to RULES"
    assert set(RULES) - routes == set(), "rules of routes that no longer exist"


def allowed(rule: str | Permission, caller: Caller | None) -> bool:
    if rule == PUBLIC:
        return True
    if caller is None:
        return False
    return rule == SIGNED_IN or rule in permissions_of(caller.role)


def send(client: TestClient, example: Example, headers: dict[str, str]) -> int:
    if example.upload:
        files = {"file": ("plots.geojson", json.dumps(UPLOAD).encode(), "application/geo+json")}
        response = client.post(example.url, params=example.params, files=files, headers=headers)
    elif example.method == "POST":
        response = client.post(example.url, json=example.body, headers=headers)
    else:
        response = client.get(
            example.url, params=example.params, headers=headers, follow_redirects=False
        )
    return response.status_code


def test_role_matrix(app: FastAPI, matrix_world, engine: Engine, record_property):
    callers, _ = matrix_world
    who: list[tuple[str, Caller | None]] = [("anonymous", None)]
    who += [(name, callers[name]) for name in [*ROLES, "township"]]
    cells, failures = 0, []
    with TestClient(app) as client:
        for name, caller in who:
            headers = caller.headers if caller else {}
            for (method, path), (rule, example) in sorted(RULES.items(), key=str):
                status = send(client, example, headers)
                client.cookies.clear()  # a login example must not sign in the next request
                cells += 1
                if allowed(rule, caller):
                    ok = 200 <= status < 300
                elif path in ("/", "/admin") and caller is None:
                    ok = status == 303  # the pages send people to the login form
                else:
                    ok = status == (401 if caller is None else 403)
                if not ok:
                    failures.append((name, method, path, status))
            assert client.get("/healthz").status_code == 200
    record_property("role_matrix_cells", cells)
    print(f"role matrix: {cells} cells, {len(who)} callers × {len(RULES)} routes")  # noqa: T201
    assert failures == []
    # No example wrote anything: the upload is a dry run.
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM plots WHERE code = 'MATRIX-1'")).scalar() == 0
        )


def test_the_scoped_officer_meets_403_at_every_side_door(app: FastAPI, matrix_world):
    callers, _ = matrix_world
    with TestClient(app) as client:
        for url in SIDE_DOORS:
            assert client.get(url, headers=callers["township"].headers).status_code == 403, url
            assert client.get(url, headers=callers["admin"].headers).status_code == 200, url
        items = client.get(
            "/ogc/collections/plots/items", headers=callers["township"].headers
        ).json()
        assert OUTSIDE not in {f["id"] for f in items["features"]}
