"""Logging in and out of the web map in the real browser; tiles travel with the session."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from models.i18n import t
from tests.web.conftest import WAIT_MS, WEB_USER, Browser
from tests.web.test_map_browser import log_in


def path_of(url: str) -> str:
    return urlsplit(url).path


def test_login_page_session_tiles_and_logout(browser: Browser, live_server: str):
    page = browser.context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    tiles: list[int] = []
    page.on("response", lambda r: tiles.append(r.status) if "/tiles/plots/" in r.url else None)
    try:
        page.goto(f"{live_server}/?index=EVI")
        # Not logged in: the map sends the browser to the login page, in Chinese.
        assert path_of(page.url) == "/login"
        assert parse_qs(urlsplit(page.url).query)["next"] == ["/?index=EVI"]
        log_in(page, password="not the password")
        page.wait_for_selector("#login-error:not([hidden])", timeout=WAIT_MS)
        assert page.locator("#login-error").inner_text() == t("web_login_failed", "zh-CN")
        assert page.locator("#login-submit").inner_text() == t("web_login_submit", "zh-CN")
        assert path_of(page.url) == "/login"

        log_in(page)
        page.wait_for_url(lambda url: path_of(url) == "/", timeout=WAIT_MS)
        page.wait_for_function("() => document.body.dataset.ready === 'true'", timeout=WAIT_MS)
        assert "index=EVI" in page.url  # back where the user was going
        assert page.locator("#user-name").inner_text() == WEB_USER
        assert page.locator("#logout").inner_text() == t("web_logout", "zh-CN")
        # MapLibre's tile requests carried the session cookie.
        assert tiles and all(status == 200 for status in tiles)
        cookie = next(c for c in browser.context.cookies() if c["name"] == "skyground_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

        page.click("#logout")
        page.wait_for_url("**/login", timeout=WAIT_MS)
        assert not [c for c in browser.context.cookies() if c["name"] == "skyground_session"]
        page.goto(f"{live_server}/")
        assert path_of(page.url) == "/login"
        assert browser.guard.blocked == []
        assert errors == []
    finally:
        page.close()
