"""The web map in a real browser: local assets only, plots coloured by the legend, plot card.

Debian's Chromium renders WebGL in software, slowly: every wait is on a condition in the
page (MapLibre's ``idle`` event, the chart's data), bounded by generous timeouts.
Set ``SKYGROUND_WEB_SCREENSHOTS`` to a folder to keep screenshots of what was checked.
"""

from __future__ import annotations

import os
import re
import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest
from playwright.sync_api import Page, Response
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from models.i18n import t
from models.indices import RGBA, get_index, hex_to_rgba
from tests.web.conftest import WAIT_MS, WEB_PASSWORD, WEB_USER, Browser, WebWorld
from tests.web.world import (
    GAP,
    NDVI_SCENES,
    PLOTS,
    SCENES,
    SERIES,
    SIZE_LAT,
    SIZE_LON,
    SOUTH,
    TRUECOLOR_SCENE,
    WEST,
    WebPlot,
    plot_id,
)

FILL_LAYER = "plots-fill"
INDEX_RASTER = "scene-index"  # js/common.js: the active scene's index raster
TRUECOLOR_RASTER = "scene-truecolor"  # js/common.js: its true-colour image
BACKGROUND = (0xE9, 0xEC, 0xE6)  # the page's plain basemap (js/map.js BACKGROUND)
#: Per-channel tolerance for antialiasing and the 8-bit packing of colours on the GPU.
TOLERANCE = 3
SCREENSHOTS = os.environ.get("SKYGROUND_WEB_SCREENSHOTS")


@dataclass
class MapPage:
    page: Page
    errors: list[str] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    def evaluate(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def screen_point(self, lon: float, lat: float) -> tuple[int, int]:
        x, y = self.evaluate(
            """([lon, lat]) => {
                const map = window.skygroundMap;
                const p = map.project([lon, lat]);
                const box = map.getCanvas().getBoundingClientRect();
                return [box.left + p.x, box.top + p.y];
            }""",
            [lon, lat],
        )
        return round(x), round(y)

    def pixel(self, lon: float, lat: float) -> tuple[int, int, int]:
        x, y = self.screen_point(lon, lat)
        return png_pixel(self.page.screenshot(clip={"x": x, "y": y, "width": 1, "height": 1}))

    def wait_idle(self) -> None:
        self.evaluate(
            """() => new Promise((resolve) => {
                const map = window.skygroundMap;
                if (map.loaded() && map.areTilesLoaded() && !map.isMoving()) resolve();
                else map.once('idle', () => resolve());
            })"""
        )

    def keep(self, name: str) -> None:
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))


def png_pixel(data: bytes) -> tuple[int, int, int]:
    """RGB of a 1×1, 8-bit RGB or RGBA PNG (what a 1-pixel screenshot clip gives)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    assert header is not None and header[:3] == (1, 1, 8) and header[3] in (2, 6), header
    row = zlib.decompress(idat)
    # One pixel in one row: every PNG filter predicts 0 from the absent neighbours, so the
    # bytes after the filter-type byte are the pixel itself.
    return row[1], row[2], row[3]


def close_to(got: tuple[int, ...], want: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= TOLERANCE for a, b in zip(got, want, strict=True))


def over_background(color: RGBA) -> tuple[int, int, int]:
    """``color`` with its alpha drawn over the plain basemap."""
    alpha = color[3] / 255
    r, g, b = (
        round(c * alpha + under * (1 - alpha))
        for c, under in zip(color[:3], BACKGROUND, strict=True)
    )
    return r, g, b


def expected_color(index: str, value: float | None) -> tuple[int, int, int]:
    colormap = get_index(index).colormap
    if value is None:
        return over_background(hex_to_rgba(colormap.nodata))
    return colormap.rgba(value)[:3]


def open_map(browser: Browser, url: str, viewport: dict[str, int]) -> MapPage:
    page = browser.context.new_page()
    page.set_viewport_size(viewport)
    opened = MapPage(page)
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda response: opened.responses.append(response))
    page.goto(url)
    if urlsplit(page.url).path == "/login":
        log_in(page)
        page.wait_for_url(lambda url: urlsplit(url).path != "/login", timeout=WAIT_MS)
    page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=WAIT_MS)
    opened.wait_idle()
    return opened


def log_in(page: Page, password: str = WEB_PASSWORD) -> None:
    """Fill the login form as a person would; the form sends the browser on to ``next``."""
    page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=WAIT_MS)
    page.fill("#login-username", WEB_USER)
    page.fill("#login-password", password)
    page.click("#login-submit")


def platform_fonts(page: Page, selector: str) -> set[str]:
    """Families Chromium really drew ``selector``'s text with (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        return {font["familyName"] for font in fonts}
    finally:
        cdp.detach()


def click_plot(opened: MapPage, plot: WebPlot) -> None:
    x, y = opened.screen_point(*plot.centre)
    opened.page.mouse.click(x, y)


def wait_for_chart(opened: MapPage, points: int) -> dict[str, Any]:
    handle = opened.page.wait_for_function(
        """(points) => {
            const el = document.getElementById('chart');
            const chart = window.echarts && window.echarts.getInstanceByDom(el);
            if (!chart || document.getElementById('plot-card').dataset.loading) return null;
            const option = chart.getOption();
            const series = {};
            for (const s of option.series) {
                series[s.id] = {count: s.data.length, symbol: s.symbol || null, type: s.type};
            }
            const shown = (series.mean?.count ?? 0) + (series.flagged?.count ?? 0);
            return shown === points ? series : null;
        }""",
        arg=points,
        timeout=WAIT_MS,
    )
    result: dict[str, Any] = handle.json_value()
    return result


@pytest.fixture(scope="module")
def desktop(browser: Browser, live_server: str) -> Iterator[MapPage]:
    opened = open_map(browser, f"{live_server}/", {"width": 1280, "height": 800})
    opened.keep("desktop-start")
    yield opened
    opened.page.close()


def test_map_loads_with_no_request_leaving_this_machine(desktop: MapPage, browser: Browser):
    assert browser.guard.blocked == []
    # The guard saw the tile requests too (MapLibre makes them from a worker).
    assert any("/tiles/plots/" in url for url in browser.guard.allowed)
    assert any(
        url.endswith("/static/vendor/maplibre-gl/maplibre-gl.js") for url in browser.guard.allowed
    )
    # Without a Tianditu key there is no basemap and no switch for it.
    assert desktop.page.locator("#basemap-toggle").is_hidden()
    assert not [layer for layer in layer_order(desktop) if layer.startswith("tianditu")]
    assert desktop.errors == []


def test_every_plot_is_rendered_in_the_fill_layer(desktop: MapPage):
    ids = desktop.evaluate(
        f"() => window.skygroundMap.queryRenderedFeatures({{layers: ['{FILL_LAYER}']}})"
        ".map((f) => f.id)"
    )
    assert set(ids) == {plot_id(p.code) for p in PLOTS}


@pytest.mark.parametrize("plot", PLOTS, ids=lambda p: f"{p.code}-ndvi-{p.ndvi}")
def test_plot_is_filled_with_the_legend_colour_of_its_latest_ndvi(desktop: MapPage, plot):
    got = desktop.pixel(*plot.centre)
    want = expected_color("NDVI", plot.ndvi)
    assert close_to(got, want), (plot.code, got, want)


def test_page_speaks_chinese_by_default_in_the_cjk_font(desktop: MapPage):
    page = desktop.page
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator(".title").inner_text() == t("web_title", "zh-CN")
    assert page.locator("#legend-title").inner_text() == t("index_ndvi", "zh-CN")
    assert page.locator("#legend-nodata-label").inner_text() == t("legend_nodata", "zh-CN")
    assert page.locator("#scenes summary").inner_text() == t("web_scenes", "zh-CN")
    assert page.locator("#index-switch button").all_inner_texts() == [
        "NDVI", "EVI", "SAVI", "NDRE", "GNDVI", "NDMI",
    ]  # fmt: skip
    assert page.locator("#index-switch button[aria-pressed=true]").inner_text() == "NDVI"
    assert platform_fonts(page, ".title") == {"Noto Sans CJK SC"}


def test_scene_list_shows_dates_newest_first_with_clear_share(desktop: MapPage):
    items = desktop.page.locator("#scene-list li")
    assert items.count() == len(SCENES)
    first = items.nth(0).inner_text()
    assert SCENES[-1][1] in first
    assert t("web_scene_clear", "zh-CN", percent=round(SCENES[-1][2] * 100)) in first


def test_clicking_a_plot_shows_its_card_and_series_chart(desktop: MapPage, live_server: str):
    plot = PLOTS[0]
    ident = plot_id(plot.code)
    # The API as the logged-in browser sees it (its session cookie, no key).
    api = desktop.page.request
    series = api.get(
        f"{live_server}/api/plots/{ident}/indices",
        params={"index": "NDVI", "include_flagged": "true"},
    ).json()["observations"]
    feature = api.get(f"{live_server}/api/plots/{ident}").json()["properties"]
    assert len(series) == len(SERIES)

    click_plot(desktop, plot)
    chart = wait_for_chart(desktop, len(series))
    flagged = sum(1 for o in series if o["flagged"])
    assert chart["mean"]["count"] == len(series) - flagged
    assert chart["flagged"]["count"] == flagged == 1
    assert chart["std"]["count"] == len(series)
    assert chart["flagged"]["symbol"] != chart["mean"]["symbol"]

    card = desktop.page.locator("#plot-card")
    assert card.is_visible()
    text = card.inner_text()
    area = t("web_area_value", "zh-CN", mu=feature["area_mu"], ha=feature["area_ha"])
    for expected in (plot.code, plot.owner, area, "茶乡村", t("web_plot_code", "zh-CN")):
        assert expected in text, expected
    assert platform_fonts(desktop.page, "#plot-attrs dd:nth-of-type(3)") == {"Noto Sans CJK SC"}
    desktop.wait_idle()
    desktop.keep("desktop-plot-clicked")
    assert desktop.errors == []


def tile_pattern(scene_id: int, kind: str) -> re.Pattern[str]:
    return re.compile(rf"/tiles/scenes/{scene_id}/{kind}/\d+/\d+/\d+\.png$", re.IGNORECASE)


def raster_tiles(opened: MapPage, scene_id: int, kind: str) -> list[Response]:
    pattern = tile_pattern(scene_id, kind)
    return [r for r in opened.responses if pattern.search(r.url)]


def wait_for_tiles(opened: MapPage, scene_id: int, kind: str) -> list[Response]:
    """Wait until a tile of that scene layer was answered and the map is idle again."""
    pattern = tile_pattern(scene_id, kind)
    if not raster_tiles(opened, scene_id, kind):
        opened.page.wait_for_event(
            "response", lambda r: bool(pattern.search(r.url)), timeout=WAIT_MS
        )
    opened.wait_idle()
    return raster_tiles(opened, scene_id, kind)


def rgba_of(png: bytes) -> np.ndarray:
    """Bands × rows × columns of a PNG tile."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # PNG tiles carry no CRS
        with MemoryFile(png) as mem, mem.open() as src:
            assert src.driver == "PNG"
            bands: np.ndarray = src.read()
            return bands


def layer_order(opened: MapPage) -> list[str]:
    return list(opened.evaluate("() => window.skygroundMap.getStyle().layers.map((l) => l.id)"))


def raster_url(opened: MapPage, layer: str) -> str | None:
    """tilejson.json URL of a raster layer's source, None without that layer."""
    url: str | None = opened.evaluate(
        """(id) => {
            const map = window.skygroundMap;
            return map.getLayer(id) ? map.getSource(id).url : null;
        }""",
        layer,
    )
    return url


def click_and_idle(opened: MapPage, selector: str) -> None:
    """Click ``selector`` in the page and wait for the map's next ``idle`` after it."""
    opened.evaluate(
        """(selector) => new Promise((resolve) => {
            window.skygroundMap.once('idle', () => resolve());
            document.querySelector(selector).click();
        })""",
        selector,
    )


def click_scene(opened: MapPage, scene_id: int) -> None:
    click_and_idle(opened, f'#scene-list .scene-pick[data-scene-id="{scene_id}"]')
    assert opened.evaluate("() => document.body.dataset.scene") == str(scene_id)


def gap_point() -> tuple[float, float]:
    """Between the first two plots of the upper row: only the rasters are drawn there."""
    return WEST + SIZE_LON + GAP / 2, SOUTH + SIZE_LAT + GAP + SIZE_LAT / 2


def test_newest_scene_with_an_ndvi_raster_is_active_and_drawn_under_the_plots(
    desktop: MapPage, web_world: WebWorld, browser: Browser
):
    newest = web_world.scene_ids[NDVI_SCENES[0]]
    page = desktop.page
    page.wait_for_function(
        "(id) => document.body.dataset.scene === String(id)", arg=newest, timeout=WAIT_MS
    )
    pressed = page.locator("#scene-list .scene-pick[aria-pressed=true]")
    assert pressed.count() == 1
    assert pressed.get_attribute("data-scene-id") == str(newest)
    date = SCENES[NDVI_SCENES[0]][1]
    note = t("web_raster_date", "zh-CN", index="NDVI", date=date)
    assert page.locator("#raster-note").inner_text() == note

    tiles = wait_for_tiles(desktop, newest, "NDVI")
    assert tiles and all(r.status == 200 for r in tiles)
    images = [rgba_of(r.body()) for r in tiles]
    assert all(image.shape == (4, 256, 256) for image in images)
    assert any(image[3].any() for image in images), "every NDVI tile is fully transparent"

    order = layer_order(desktop)
    assert order.index(INDEX_RASTER) < order.index(FILL_LAYER)
    assert TRUECOLOR_RASTER not in order  # the true-colour basemap is off by default
    assert not close_to(desktop.pixel(*gap_point()), BACKGROUND)
    desktop.keep("desktop-ndvi-raster")
    assert browser.guard.blocked == []
    assert desktop.errors == []


def test_clicking_another_date_shows_that_scenes_raster(
    desktop: MapPage, web_world: WebWorld, browser: Browser
):
    newest, older = (web_world.scene_ids[n] for n in NDVI_SCENES)
    before = desktop.pixel(*gap_point())
    click_scene(desktop, older)
    assert f"/tiles/scenes/{older}/NDVI/tilejson.json" in (raster_url(desktop, INDEX_RASTER) or "")
    assert wait_for_tiles(desktop, older, "NDVI")
    pressed = desktop.page.locator("#scene-list .scene-pick[aria-pressed=true]")
    assert pressed.get_attribute("data-scene-id") == str(older)
    assert desktop.pixel(*gap_point()) != before  # the older raster ramps the other way
    desktop.keep("desktop-older-date")

    # A date without an NDVI raster shows none; the newest one brings its raster back.
    without = next(i for n, i in enumerate(web_world.scene_ids) if n not in NDVI_SCENES)
    click_scene(desktop, without)
    assert raster_url(desktop, INDEX_RASTER) is None
    note = t("web_raster_none", "zh-CN", index="NDVI")
    assert desktop.page.locator("#raster-note").inner_text() == note
    assert close_to(desktop.pixel(*gap_point()), BACKGROUND)
    click_scene(desktop, newest)
    assert f"/tiles/scenes/{newest}/NDVI/" in (raster_url(desktop, INDEX_RASTER) or "")
    assert browser.guard.blocked == []
    assert desktop.errors == []


def test_a_picked_date_colours_plots_by_that_dates_values(
    desktop: MapPage, web_world: WebWorld, browser: Browser
):
    first, second = PLOTS[0], PLOTS[1]
    older, cloudy = web_world.scene_ids[1], web_world.scene_ids[2]
    page = desktop.page
    click_scene(desktop, older)
    assert any(f"scene_id={older}" in r.url for r in desktop.responses if "/tiles/plots/" in r.url)
    assert page.locator("#legend-note").inner_text() == t(
        "web_legend_date", "zh-CN", date=SCENES[1][1]
    )
    # The first plot has an observation that day; the second has none (drawn in the
    # see-through no-data colour over that date's raster, so its feature is checked).
    assert close_to(desktop.pixel(*first.centre), expected_color("NDVI", SERIES[1][0]))
    shown = desktop.evaluate(
        f"() => window.skygroundMap.queryRenderedFeatures({{layers: ['{FILL_LAYER}']}})"
        ".map((f) => [f.id, f.properties])"
    )
    properties = dict(shown)
    assert properties[plot_id(first.code)]["ndvi"] == pytest.approx(SERIES[1][0])
    assert "ndvi" not in properties[plot_id(second.code)]
    # A flagged observation (clouds) shows as no data, not as its untrustworthy mean.
    assert SERIES[2][2]
    click_scene(desktop, cloudy)
    assert close_to(desktop.pixel(*first.centre), expected_color("NDVI", None))
    desktop.keep("desktop-plots-on-a-date")
    # Back to the latest clear values.
    click_and_idle(desktop, "#scene-latest")
    assert page.locator("#scene-latest").is_hidden()
    assert page.locator("#legend-note").inner_text() == t("web_legend_latest", "zh-CN")
    assert close_to(desktop.pixel(*first.centre), expected_color("NDVI", first.ndvi))
    assert close_to(desktop.pixel(*second.centre), expected_color("NDVI", second.ndvi))
    assert browser.guard.blocked == []
    assert desktop.errors == []


def test_true_colour_basemap_and_see_through_plots(
    desktop: MapPage, web_world: WebWorld, browser: Browser
):
    scene = web_world.scene_ids[TRUECOLOR_SCENE]
    page = desktop.page
    assert page.locator("#truecolor-toggle + span").inner_text() == t("web_truecolor", "zh-CN")
    click_and_idle(desktop, "#truecolor-toggle")
    tiles = wait_for_tiles(desktop, scene, "truecolor")
    assert any(rgba_of(r.body())[3].any() for r in tiles)
    order = layer_order(desktop)
    assert order.index(TRUECOLOR_RASTER) < order.index(INDEX_RASTER) < order.index(FILL_LAYER)

    plot = PLOTS[0]
    opaque = desktop.pixel(*plot.centre)
    click_and_idle(desktop, "#see-through-toggle")
    assert desktop.pixel(*plot.centre) != opaque
    desktop.keep("desktop-truecolor-see-through")

    click_and_idle(desktop, "#see-through-toggle")
    click_and_idle(desktop, "#truecolor-toggle")
    assert not page.locator("#truecolor-toggle").is_checked()
    assert TRUECOLOR_RASTER not in layer_order(desktop)
    assert close_to(desktop.pixel(*plot.centre), expected_color("NDVI", plot.ndvi))
    assert browser.guard.blocked == []
    assert desktop.errors == []


def test_index_switch_recolours_plots_with_that_index_legend(desktop: MapPage):
    desktop.evaluate(
        """() => new Promise((resolve) => {
            window.skygroundMap.once('idle', () => resolve());
            document.querySelector('#index-switch button[data-index="EVI"]').click();
        })"""
    )
    page = desktop.page
    assert page.locator("#legend-title").inner_text() == t("index_evi", "zh-CN")
    with_evi, without_evi = PLOTS[0], PLOTS[1]
    assert close_to(desktop.pixel(*with_evi.centre), expected_color("EVI", with_evi.evi))
    assert close_to(desktop.pixel(*without_evi.centre), expected_color("EVI", None))
    assert "index=EVI" in page.url
    assert desktop.errors == []


def test_phone_width_in_english_shows_the_card_as_a_bottom_sheet(
    browser: Browser, live_server: str
):
    phone = open_map(browser, f"{live_server}/?lang=en", {"width": 390, "height": 844})
    try:
        page = phone.page
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.locator(".title").inner_text() == t("web_title", "en")
        assert page.locator("#legend-title").inner_text() == t("index_ndvi", "en")
        phone.keep("phone-start")
        plot = PLOTS[0]
        click_plot(phone, plot)
        wait_for_chart(phone, len(SERIES))
        box = page.locator("#plot-card").bounding_box()
        assert box is not None
        assert box["width"] == pytest.approx(390, abs=1)
        assert box["y"] + box["height"] == pytest.approx(844, abs=1)
        canvas = page.locator("#chart canvas").first.bounding_box()
        assert canvas is not None and canvas["height"] > 150
        phone.wait_idle()
        phone.keep("phone-plot-clicked")
        assert page.locator("#zoom-hint").is_hidden()
        phone.evaluate(
            """() => new Promise((resolve) => {
                window.skygroundMap.once('zoomend', () => resolve());
                window.skygroundMap.jumpTo({zoom: 8});
            })"""
        )
        assert page.locator("#zoom-hint").inner_text() == t("web_zoom_in", "en")
        assert phone.errors == []
        assert browser.guard.blocked == []
    finally:
        phone.page.close()
