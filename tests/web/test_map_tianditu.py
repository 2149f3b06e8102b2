"""The web map with a Tianditu key: it asks Tianditu for tiles, and nothing else leaves.

The browser's requests to Tianditu are aborted by the network guard (no test reaches the
internet); that they are made at all shows the page configuration and the
Content-Security-Policy let them through.
"""

from __future__ import annotations

import re

from models.i18n import t
from tests.web.conftest import TIANDITU_KEY, Browser
from tests.web.test_map_browser import FILL_LAYER, click_and_idle, layer_order, open_map

TILE = re.compile(
    r"^https://t[0-7]\.tianditu\.gov\.cn/(img|cia)_w/wmts\?SERVICE=WMTS&REQUEST=GetTile"
    rf"&VERSION=1\.0\.0&LAYER=\1&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    rf"&TILEMATRIX=\d+&TILEROW=\d+&TILECOL=\d+&tk={TIANDITU_KEY}$"
)


def test_with_a_key_the_map_asks_only_tianditu_for_its_basemap(
    browser: Browser, tianditu_server: str
):
    opened = open_map(browser, f"{tianditu_server}/", {"width": 1024, "height": 700})
    try:
        blocked = browser.guard.blocked
        assert blocked, "no Tianditu tile was requested"
        assert all(TILE.match(url) for url in blocked), blocked
        assert {m.group(1) for m in map(TILE.match, blocked) if m} == {"img", "cia"}

        order = layer_order(opened)
        assert order[:3] == ["background", "tianditu-img", "tianditu-cia"]
        assert order.index("tianditu-cia") < order.index(FILL_LAYER)

        page = opened.page
        toggle = page.locator("#basemap-toggle")
        assert toggle.is_visible() and toggle.is_checked()
        assert page.locator("#basemap-toggle + span").inner_text() == t(
            "web_basemap_tianditu", "zh-CN"
        )
        click_and_idle(opened, "#basemap-toggle")
        visibility = opened.evaluate(
            "() => ['tianditu-img', 'tianditu-cia'].map("
            "(id) => window.skygroundMap.getLayoutProperty(id, 'visibility'))"
        )
        assert visibility == ["none", "none"]
        # The aborted tiles are the only errors the page reports; the plots loaded regardless.
        assert all("tianditu" in e or "ERR_BLOCKED_BY_CLIENT" in e for e in opened.errors), (
            opened.errors
        )
    finally:
        opened.page.close()
