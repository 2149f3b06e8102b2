"""Who may ask: keys, web sessions, forged and expired tokens, scopes, the audit log."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from models.auth.keys import revoke_key
from models.auth.settings import AuthSettings
from models.auth.users import set_active
from models.settings import DatabaseSettings, Settings
from service.auth import SESSION_COOKIE
from service.main import create_app
from tests.service.auth_world import PASSWORD, Caller
from tests.service.world import PLOTS, TOWNSHIP_1, UNITS, plot_id

SECRET = "s" * 40


def make_client(database_url: str, home: Path, **auth: object) -> TestClient:
    settings = Settings(
        db=DatabaseSettings(database_url=database_url, home=home),
        auth=AuthSettings(secret=SECRET, **auth),  # type: ignore[arg-type]
    )
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def client(callers: dict[str, Caller], database_url: str, tmp_path_factory) -> Iterator[TestClient]:
    with make_client(database_url, tmp_path_factory.mktemp("auth-home")) as test_client:
        yield test_client


def session_cookie(token: str) -> dict[str, str]:
    """The session cookie as a request header (the client's own jar stays empty)."""
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.cookies[SESSION_COOKIE])


def test_without_credentials_every_map_route_is_401_naming_the_fix(client):
    for url in ["/api/plots", "/api/plots/1", "/api/scenes", "/tiles/plots/12/3340/1706.mvt"]:
        response = client.get(url, params={"lang": "en"})
        assert response.status_code == 401, url
        assert "X-API-Key" in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/healthz").status_code == 200


def test_api_key_in_header_or_bearer(client, callers):
    viewer = callers["viewer"]
    assert client.get("/api/plots", headers=viewer.headers).status_code == 200
    bearer = {"Authorization": f"Bearer {viewer.key}"}
    assert client.get("/api/me", headers=bearer).json()["username"] == "viewer"
    for bad in [viewer.key + "x", "sg_" + "A" * 43, "", "' OR 1=1 --"]:
        assert client.get("/api/plots", headers={"X-API-Key": bad}).status_code == 401, bad


def test_login_sets_an_http_only_cookie_and_logout_ends_the_session(client, callers):
    response = client.post("/auth/login", json={"username": "Viewer", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header
    token = response.cookies[SESSION_COOKIE]
    client.cookies.clear()
    cookie = session_cookie(token)
    me = client.get("/api/me", headers=cookie)
    assert me.status_code == 200 and me.json()["via"] == "session"
    assert client.post("/auth/logout", headers=cookie).status_code == 204
    # The same cookie, kept by an attacker, no longer works.
    assert client.get("/api/me", headers=cookie).status_code == 401
    client.cookies.clear()


@pytest.mark.parametrize(
    ("username", "password"),
    [("viewer", "wrong password"), ("nobody", PASSWORD), ("viewer", ""), ("", PASSWORD)],
)
def test_bad_logins_get_one_answer(client, callers, username, password):
    response = client.post(
        "/auth/login", json={"username": username, "password": password}, params={"lang": "en"}
    )
    assert response.status_code in (401, 422)
    if response.status_code == 401:
        assert response.json()["detail"].startswith("Wrong user name or password")
    assert SESSION_COOKIE not in response.cookies


def _forge(claims: dict[str, object], header: dict[str, object]) -> str:
    def part(data: dict[str, object]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def test_expired_forged_and_unsigned_tokens_are_refused(client, callers):
    token = login(client, "admin")
    client.cookies.clear()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="skyground-web")
    past = dict(claims, exp=int((datetime.now(UTC) - timedelta(minutes=1)).timestamp()))
    cases = {
        "expired": jwt.encode(past, SECRET, algorithm="HS256"),
        "bad signature": jwt.encode(claims, "another secret" * 3, algorithm="HS256"),
        "alg none": _forge(claims, {"alg": "none", "typ": "JWT"}),
        "other user": jwt.encode(dict(claims, sub="1"), SECRET, algorithm="HS256"),
        "garbage": "not.a.token",
    }
    for name, forged in cases.items():
        for how in (
            {"headers": session_cookie(forged)},
            {"headers": {"Authorization": f"Bearer {forged}"}},
        ):
            response = client.get("/api/plots", **how)  # type: ignore[arg-type]
            assert response.status_code == 401, (name, how)
    assert client.get("/api/plots", headers=session_cookie(token)).status_code == 200


def test_revoked_keys_and_deactivated_users_stop_at_once(client, callers, engine):
    operator = callers["operator"]
    assert client.get("/api/me", headers=operator.headers).status_code == 200
    with Session(engine) as session, session.begin():
        revoke_key(session, operator.key[:10], actor="test")
    assert client.get("/api/me", headers=operator.headers).status_code == 401
    agronomist = callers["agronomist"]
    token = login(client, "agronomist")
    client.cookies.clear()
    with Session(engine) as session, session.begin():
        set_active(session, "agronomist", False, actor="test")
    assert client.get("/api/me", headers=agronomist.headers).status_code == 401
    assert client.get("/api/me", headers=session_cookie(token)).status_code == 401
    response = client.post("/auth/login", json={"username": "agronomist", "password": PASSWORD})
    assert response.status_code == 401


def in_township(code: str) -> bool:
    spec = next(p for p in PLOTS if p.code == code)
    parents = {u.code: u.parent for u in UNITS}
    return spec.village is not None and parents[spec.village] == TOWNSHIP_1


def test_a_township_officer_sees_only_that_township_everywhere(client, callers):
    officer = callers["township"].headers
    everyone = callers["admin"].headers
    listed = client.get("/api/plots", headers=officer, params={"limit": 100}).json()
    codes = {f["properties"]["code"] for f in listed["features"]}
    expected = {p.code for p in PLOTS if not p.retired and in_township(p.code)}
    assert codes == expected and listed["numberMatched"] == len(expected)
    assert len(client.get("/api/plots", headers=everyone).json()["features"]) > len(codes)
    inside, outside = plot_id("AH-0001"), plot_id("AH-0004")
    assert client.get(f"/api/plots/{inside}", headers=officer).status_code == 200
    for url in [
        f"/api/plots/{outside}",
        f"/api/plots/{outside}/indices?index=NDVI",
        f"/api/plots/{outside}/indices?index=NDVI&format=csv",
        "/api/admin-units/430923101",
    ]:
        assert client.get(url, headers=officer).status_code == 403, url
        assert client.get(url, headers=everyone).status_code == 200, url
    units = client.get("/api/admin-units", headers=officer).json()["features"]
    assert {u["properties"]["code"] for u in units} == {
        u.code for u in UNITS if u.code == TOWNSHIP_1 or u.parent == TOWNSHIP_1
    }
    # The side door: vector tiles over both townships carry only the officer's plots.
    seen: dict[str, set[str]] = {"officer": set(), "admin": set()}
    for y in (427, 428):
        for name, headers in (("officer", officer), ("admin", everyone)):
            tile = client.get(f"/tiles/plots/10/828/{y}.mvt", headers=headers)
            assert tile.status_code == 200
            assert "private" in tile.headers["cache-control"]
            layer = mapbox_vector_tile.decode(tile.content).get("plots", {"features": []})
            seen[name] |= {f["properties"]["code"] for f in layer["features"]}
    assert seen["officer"] and seen["officer"] < seen["admin"]
    assert all(in_township(code) for code in seen["officer"])


def test_changes_are_audited_and_the_log_is_append_only(callers, engine):
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT actor, action, object_id, before, after FROM audit_log ORDER BY id")
        ).all()
    scoped = [r for r in rows if r.action == "user.set_scope" and r.object_id == "township"]
    assert scoped and scoped[0].before["scope"] == [] and scoped[0].after["scope"] == [TOWNSHIP_1]
    assert all(
        "password" not in json.dumps(r.after or {}).replace("has_password", "") for r in rows
    )
    for statement in [
        "UPDATE audit_log SET actor = 'me'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ]:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == len(rows)


def test_anonymous_reading_opens_the_map_but_not_bad_keys(callers, database_url, tmp_path):
    with make_client(database_url, tmp_path, anonymous_read=True) as open_client:
        assert open_client.get("/api/plots").status_code == 200
        assert open_client.get("/api/me").json()["via"] == "anonymous"
        assert open_client.get("/api/plots", headers={"X-API-Key": "sg_nope"}).status_code == 401
        # A stale browser cookie falls back to anonymous reading instead of locking the map.
        stale = session_cookie("expired.or.forged")
        assert open_client.get("/api/plots", headers=stale).status_code == 200


def test_without_a_configured_secret_one_is_made_private_in_home(callers, database_url, tmp_path):
    settings = Settings(db=DatabaseSettings(database_url=database_url, home=tmp_path))
    with TestClient(create_app(settings)) as plain:
        assert not (tmp_path / "session-secret").exists()  # only made when first needed
        response = plain.post("/auth/login", json={"username": "viewer", "password": PASSWORD})
        assert response.status_code == 200
    secret = tmp_path / "session-secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) >= 48
