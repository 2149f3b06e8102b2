"""The page, its static files, its texts and the index catalogue, over HTTP (no browser)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from models.auth.settings import AuthSettings
from models.i18n import catalogue
from models.indices import INDICES, Platform, get_index
from models.settings import DatabaseSettings, Settings
from service.main import create_app
from service.routers.web import STATIC_DIR

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
#: The page's ES modules; main.js is the one the page loads, it imports the others.
MODULES = sorted((STATIC_DIR / "js").glob("*.js"))


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[TestClient]:
    settings = Settings(
        db=DatabaseSettings(database_url=database_url), auth=AuthSettings(anonymous_read=True)
    )
    with TestClient(create_app(settings)) as c:
        yield c


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.urls.append((tag, value))


def page_assets(html: str) -> list[tuple[str, str]]:
    parser = _Assets()
    parser.feed(html)
    return parser.urls


def test_page_is_html_that_forbids_other_origins(client: TestClient):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self'" in policy
    assert "http" not in policy


def test_page_references_only_files_of_this_server_with_their_types(client: TestClient):
    html = client.get("/").text
    assets = page_assets(html)
    assert not re.search(r"(https?:)?//[a-z]", html, re.IGNORECASE)
    expected = {
        "/static/vendor/maplibre-gl/maplibre-gl.css": CSS,
        "/static/app.css": CSS,
        "/static/vendor/maplibre-gl/maplibre-gl.js": JS,
        "/static/vendor/echarts/echarts.min.js": JS,
        "/static/js/main.js": JS,
        "/static/favicon.svg": "image/svg+xml; charset=utf-8",
    }
    assert {url for _, url in assets} == set(expected)
    for url, media_type in expected.items():
        assert url.startswith("/static/") and not url.startswith("//")
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["content-type"] == media_type, url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert len(response.content) > 200, url


def test_page_is_a_module_script_whose_imports_are_all_served_as_javascript(
    client: TestClient,
):
    html = client.get("/").text
    assert '<script type="module" src="/static/js/main.js"></script>' in html
    names = {path.name for path in MODULES}
    assert {"main.js", "map.js", "plots.js", "chart.js", "scenes.js", "i18n.js"} <= names
    for path in MODULES:
        script = path.read_text(encoding="utf-8")
        assert len(script.splitlines()) < 400, path.name
        for imported in re.findall(r'from "\./([\w-]+\.js)"', script):
            assert imported in names, (path.name, imported)
        response = client.get(f"/static/js/{path.name}")
        assert response.status_code == 200
        assert response.headers["content-type"] == JS
        assert response.headers["x-content-type-options"] == "nosniff"


def test_our_files_are_revalidated_and_vendor_files_may_be_cached(client: TestClient):
    ours = client.get("/static/js/main.js")
    assert ours.headers["cache-control"] == "no-cache"
    again = client.get("/static/js/main.js", headers={"if-none-match": ours.headers["etag"]})
    assert again.status_code == 304
    vendor = client.get("/static/vendor/echarts/echarts.min.js")
    assert "cache-control" not in vendor.headers


def test_scripts_and_styles_name_no_other_host():
    # Tianditu's tile URLs come from the server's page configuration, only with a key.
    for path in MODULES:
        script = path.read_text(encoding="utf-8")
        assert not re.findall(r"https?://([^/\s\"'`]+)", script), path.name
    style = (STATIC_DIR / "app.css").read_text(encoding="utf-8")
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    assert '"Noto Sans CJK SC"' in style


def test_page_scripts_hold_no_chinese_text():
    for path in MODULES:
        script = path.read_text(encoding="utf-8")
        code = re.sub(r"//[^\n]*|/\*.*?\*/", "", script, flags=re.DOTALL)
        assert not re.search(r"[\u3400-\u9fff]", code), path.name


def test_unknown_static_file_is_404_and_swagger_ui_still_loads(client: TestClient):
    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/static/%2e%2e/main.py").status_code == 404
    assert client.get("/docs").status_code == 200
    assert client.get("/static/docs/swagger-ui-bundle.js").status_code == 200


def test_ui_messages_are_every_web_key_in_chinese_by_default(client: TestClient):
    body = client.get("/api/ui-messages", headers={"accept-language": "en-US,en"}).json()
    assert body["lang"] == "zh-CN"
    keys = {key for key in catalogue() if key.startswith("web_")}
    assert set(body["messages"]) == keys
    assert body["messages"]["web_title"] == catalogue()["web_title"]["zh-CN"]
    # Placeholders are left for the page to fill.
    assert "{percent}" in body["messages"]["web_scene_clear"]


def test_ui_messages_in_english_on_request(client: TestClient):
    body = client.get("/api/ui-messages?lang=en").json()
    assert body["lang"] == "en"
    assert body["messages"]["web_plot_owner"] == "Owner"


def test_indices_are_the_catalogue_with_legends_in_the_callers_language(client: TestClient):
    body = client.get("/api/indices?lang=en").json()
    assert body["lang"] == "en"
    assert [i["name"] for i in body["indices"]] == list(INDICES)
    ndvi = body["indices"][0]
    spec = get_index("NDVI")
    assert ndvi["tile_property"] == "ndvi" and ndvi["tile_date_property"] == "ndvi_date"
    assert ndvi["valid_range"] == list(spec.valid_range)
    assert [(s["value"], s["color"]) for s in ndvi["legend"]["stops"]] == [
        (s.value, s.color) for s in spec.colormap.stops
    ]
    assert ndvi["legend"]["nodata"]["color"] == spec.colormap.nodata
    assert ndvi["labels"].keys() == {"zh-CN", "en"}
    assert ndvi["label"] == ndvi["labels"]["en"] == ndvi["legend"]["title"]


def test_sentinel2_indices_are_the_map_switch_with_ndre_by_its_usual_name(client: TestClient):
    body = client.get("/api/indices", params={"platform": Platform.SENTINEL2.value}).json()
    assert body["lang"] == "zh-CN"
    names = [(i["name"], i["short_name"]) for i in body["indices"]]
    assert names == [
        ("NDVI", "NDVI"), ("EVI", "EVI"), ("SAVI", "SAVI"),
        ("NDREI", "NDRE"), ("GNDVI", "GNDVI"), ("NDMI", "NDMI"),
    ]  # fmt: skip


def test_unknown_platform_is_refused(client: TestClient):
    response = client.get("/api/indices?platform=balloon&lang=en")
    assert response.status_code == 422
    assert "platform" in response.json()["detail"]
