"""Hostile requests to every route, as a signed-in admin: never a 5xx, nothing written.

Tile addresses out of the matrix, broken boxes and limits, SQL in every text parameter,
traversal and URLs in every id, forged and revoked credentials. Each case states its expected
status; after each, the tables (but ``api_keys.last_used_at``), the raster store and the
upload scratch folder are unchanged and ``/healthz`` answers 200. Uploads have their own
cases in ``test_uploads.py``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import jwt
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.checksums import table_checksums
from tests.service.auth_world import Caller
from tests.service.test_role_matrix import app, matrix_world  # noqa: F401

SQL = ["' OR '1'='1", "1; DROP TABLE plots; --", "%' UNION SELECT password_hash FROM users --"]
PATHS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "http://169.254.169.254/latest/meta-data",
    "file:///etc/passwd",
    "/vsicurl/http://example.com/x.tif",
]


@dataclass(frozen=True)
class Case:
    """One hostile request and the statuses that are right for it."""

    name: str
    url: str
    params: dict[str, str] | None = None
    expected: tuple[int, ...] = (400, 404, 422)
    headers: dict[str, str] | None = None


def cases(admin: Caller) -> list[Case]:
    found = [
        Case("z=-1", "/tiles/plots/-1/0/0.mvt"),
        Case("z=40", "/tiles/plots/40/0/0.mvt"),
        Case("x=2^z", "/tiles/plots/12/4096/0.mvt"),
        Case("y=2^z", "/tiles/plots/12/0/4096.mvt"),
        Case("raster z=40", "/tiles/scenes/1/NDVI/40/0/0.png"),
        Case("raster x=2^z", "/tiles/scenes/1/NDVI/3/8/0.png"),
        Case("reversed bbox", "/api/plots", {"bbox": "112,29,111,28"}),
        Case("reversed bbox (OGC)", "/ogc/collections/plots/items", {"bbox": "112,29,111,28"}),
        Case("reversed bbox (scenes)", "/api/scenes", {"bbox": "112,29,111,28"}),
        Case("NaN bbox", "/api/plots", {"bbox": "nan,28,112,29"}),
        Case("limit=10^9", "/api/plots", {"limit": "1000000000"}),
        Case("limit=10^9 (scenes)", "/api/scenes", {"limit": "1000000000"}),
        Case("limit=10^9 (audit)", "/api/audit", {"limit": "1000000000"}),
        Case("offset=-1", "/api/admin-units", {"offset": "-1"}),
        Case("date 2025-13-45", "/api/plots/1/indices", {"index": "NDVI", "start": "2025-13-45"}),
        Case("scene_id=0 on MVT", "/tiles/plots/12/0/0.mvt", {"scene_id": "0"}),
    ]
    # SQL in every text parameter: plain text to us, so a normal answer (often empty).
    text_params = [
        ("/api/plots", "q"),
        ("/api/plots", "village"),
        ("/api/plots", "cooperative"),
        ("/api/plots", "code"),
        ("/api/admin-units", "parent"),
        ("/api/scenes", "source"),
    ]
    for path, name in text_params:
        for n, value in enumerate(SQL):
            found.append(Case(f"SQL in {path}?{name} #{n}", path, {name: value}, (200, 400, 422)))
    for n, value in enumerate(SQL):
        found += [
            Case(f"SQL in index #{n}", "/api/plots/1/indices", {"index": value}),
            Case(f"SQL in level #{n}", "/api/admin-units", {"level": value}),
            Case(f"SQL in object_type #{n}", "/api/audit", {"object_type": value}),
            Case(f"SQL in lang #{n}", "/api/plots", {"lang": value}, (200, 422)),
            Case(
                f"SQL in datetime #{n}",
                "/ogc/collections/plots/items",
                {"datetime": value},
                (200, 400, 422),
            ),
        ]
    # Traversal and URLs in every id.
    for n, value in enumerate(SQL + PATHS):
        safe = value.replace("/", "%2F")
        found += [
            Case(f"id plot #{n}", f"/api/plots/{safe}"),
            Case(f"id plot series #{n}", f"/api/plots/{safe}/indices", {"index": "NDVI"}),
            Case(f"id admin unit #{n}", f"/api/admin-units/{safe}"),
            Case(f"id scene #{n}", f"/tiles/scenes/{safe}/NDVI/tilejson.json"),
            Case(f"id layer #{n}", f"/tiles/scenes/1/{safe}/tilejson.json"),
            Case(f"id collection #{n}", f"/ogc/collections/{safe}/items"),
            Case(f"id feature #{n}", f"/ogc/collections/plots/items/{safe}"),
        ]
    # Credentials.
    expired = jwt.encode({"sid": "0" * 32, "sub": "1", "exp": 1, "aud": "skyground-web"}, "m" * 40)
    forged = jwt.encode(
        {"sid": "0" * 32, "sub": "1", "exp": 4102444800, "aud": "skyground-web"}, "x" * 40
    )
    unsigned = jwt.encode(
        {"sid": "0" * 32, "sub": "1", "exp": 4102444800, "aud": "skyground-web"},
        None,
        algorithm="none",
    )
    for name, token in [
        ("expired token", expired),
        ("bad signature", forged),
        ("alg=none", unsigned),
    ]:
        found.append(Case(name, "/api/plots", None, (401,), {"Authorization": f"Bearer {token}"}))
        found.append(
            Case(
                f"{name} (cookie)",
                "/api/plots",
                None,
                (401,),
                {"Cookie": f"skyground_session={token}"},
            )
        )
    found.append(Case("unknown key", "/api/plots", None, (401,), {"X-API-Key": "sg_" + "A" * 43}))
    found.append(Case("SQL as key", "/api/plots", None, (401,), {"X-API-Key": SQL[0]}))
    return found


def store_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def checksums(engine: Engine) -> dict[str, str]:
    sums = table_checksums(engine)
    sums.pop("api_keys")  # a key's last_used_at moves with every request it makes
    return sums


def test_hostile_requests_get_their_4xx_and_change_nothing(
    app: FastAPI,  # noqa: F811
    matrix_world,  # noqa: F811
    engine: Engine,
    record_property,
):
    callers, home = matrix_world
    admin = callers["admin"]
    all_cases = cases(admin)
    before_tables, before_store = checksums(engine), store_hashes(home)
    failures, statuses = [], {}
    with TestClient(app, raise_server_exceptions=False) as client:
        for case in all_cases:
            headers = case.headers if case.headers is not None else admin.headers
            response = client.get(case.url, params=case.params, headers=headers)
            statuses[case.name] = response.status_code
            if response.status_code not in case.expected:
                failures.append((case.name, response.status_code, response.text[:200]))
            assert client.get("/healthz").status_code == 200
    assert len(all_cases) >= 60
    record_property("hostile_requests", len(all_cases))
    print(f"hostile requests: {len(all_cases)} cases, statuses {sorted(set(statuses.values()))}")  # noqa: T201
    assert failures == []
    assert all(code < 500 for code in statuses.values())
    assert checksums(engine) == before_tables
    assert store_hashes(home) == before_store
    scratch = home / "tmp"
    assert not scratch.exists() or not any(scratch.iterdir())
