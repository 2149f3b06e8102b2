"""The Tianditu basemap over HTTP: page configuration and Content-Security-Policy by setting."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from models.auth.settings import AuthSettings
from models.settings import DatabaseSettings, Settings, WebSettings
from service.main import create_app
from tests.web.conftest import TIANDITU_KEY

HOSTS = [f"https://t{n}.tianditu.gov.cn" for n in range(8)]


def page_config(html: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="skyground-config">(.*?)</script>', html, re.DOTALL
    )
    assert match is not None
    config: dict[str, Any] = json.loads(match.group(1))
    return config


def directives(policy: str) -> dict[str, list[str]]:
    parts = (d.split() for d in policy.split(";"))
    return {p[0]: p[1:] for p in parts if p}


def client_for(database_url: str, web: WebSettings) -> Iterator[TestClient]:
    settings = Settings(
        db=DatabaseSettings(database_url=database_url),
        web=web,
        auth=AuthSettings(anonymous_read=True),
    )
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def with_key(database_url: str) -> Iterator[TestClient]:
    yield from client_for(database_url, WebSettings(tianditu_key=TIANDITU_KEY))


@pytest.fixture(scope="module")
def without_key(database_url: str) -> Iterator[TestClient]:
    yield from client_for(database_url, WebSettings(tianditu_key=None))


def test_with_a_key_the_page_configures_tianditu_imagery_and_labels(with_key: TestClient):
    sources = page_config(with_key.get("/").text)["basemap"]["sources"]
    assert list(sources) == ["tianditu-img", "tianditu-cia"]  # imagery first, labels over it
    for layer, source in (("img", sources["tianditu-img"]), ("cia", sources["tianditu-cia"])):
        assert source["type"] == "raster" and source["tileSize"] == 256
        assert "天地图" in source["attribution"] and "Tianditu" in source["attribution"]
        assert source["tiles"] == [
            f"{host}/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
            "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
            f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={TIANDITU_KEY}"
            for host in HOSTS
        ]


def test_with_a_key_the_policy_allows_exactly_the_tianditu_hosts(with_key: TestClient):
    policy = directives(with_key.get("/").headers["content-security-policy"])
    assert policy["connect-src"] == ["'self'", *HOSTS]
    assert policy["img-src"] == ["'self'", "data:", "blob:", *HOSTS]
    assert policy["default-src"] == policy["script-src"] == ["'self'"]


def test_without_a_key_there_is_no_basemap_and_no_other_host(without_key: TestClient):
    response = without_key.get("/")
    assert page_config(response.text) == {"basemap": None}
    assert "tianditu.gov.cn" not in response.text
    policy = response.headers["content-security-policy"]
    assert "tianditu" not in policy
    assert directives(policy)["connect-src"] == ["'self'"]


def test_the_key_is_never_shown_in_settings_or_their_errors():
    settings = WebSettings(tianditu_key=TIANDITU_KEY)
    assert TIANDITU_KEY not in repr(settings) and TIANDITU_KEY not in str(settings.model_dump())
    assert WebSettings(tianditu_key="  ").tianditu_key is None
    with pytest.raises(ValidationError) as error:
        WebSettings(tianditu_key=[TIANDITU_KEY])  # type: ignore[arg-type]
    assert TIANDITU_KEY not in str(error.value)
