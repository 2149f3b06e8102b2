"""Web map fixtures: the real service in a uvicorn process and Debian's Chromium via Playwright.

The browser may reach the loopback server only: every other request is aborted and counted
(and, should anything slip past the routing, the host resolver knows no other host). Its
fontconfig sees only the fonts ``fonts-noto-cjk`` installs, so a page that renders Chinese here
renders it on a freshly set-up machine too.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import BrowserContext, Route, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.auth.users import add_user
from tests.conftest import make_world_dir, truncate_all
from tests.web.world import build_web_world

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
#: Where Debian's fonts-noto-cjk puts its fonts (checked by tests/test_setup.py).
NOTO_CJK_DIR = Path("/usr/share/fonts/opentype/noto")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    # A second fence behind the request routing: no name but the loopback ones resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
SERVER_START_S = 30
#: The map's user (an agronomist) in every web world; the tests log in as people do.
WEB_USER = "li.agronomist"
WEB_PASSWORD = "tea-garden-2025"
#: Software WebGL is slow; waits are on conditions, these only bound them.
WAIT_MS = 30_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class WebWorld:
    """The database and ``SKYGROUND_HOME`` (raster store) of ``tests.web.world``."""

    engine: Engine
    home: Path
    scene_ids: list[int]  # in the order of tests.web.world.SCENES


@pytest.fixture(scope="module")
def web_world(engine: Engine) -> Iterator[WebWorld]:
    """Emptied tables holding the plots, scenes, values and rasters of ``tests.web.world``."""
    truncate_all(engine)
    home = make_world_dir("skyground-web-")
    try:
        scene_ids = build_web_world(engine, home)
        with Session(engine) as session, session.begin():
            add_user(
                session, username=WEB_USER, role="agronomist", password=WEB_PASSWORD,
                actor="test:web", min_password_length=10,
            )  # fmt: skip
        yield WebWorld(engine=engine, home=home, scene_ids=scene_ids)
    finally:
        shutil.rmtree(home, ignore_errors=True)


#: The Tianditu key of ``tianditu_server``: a made-up one, its requests never leave.
TIANDITU_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def live_server(web_world: WebWorld, database_url: str) -> Iterator[str]:
    """Base URL of ``uvicorn service.main:create_app --factory`` on a free loopback port."""
    with _serve(web_world, database_url, {}) as base:
        yield base


@pytest.fixture(scope="module")
def tianditu_server(web_world: WebWorld, database_url: str) -> Iterator[str]:
    """Like ``live_server``, with ``SKYGROUND_TIANDITU_KEY`` set to ``TIANDITU_KEY``."""
    with _serve(web_world, database_url, {"SKYGROUND_TIANDITU_KEY": TIANDITU_KEY}) as base:
        yield base


@contextmanager
def _serve(web_world: WebWorld, database_url: str, settings: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYGROUND_")}
    env["SKYGROUND_DATABASE_URL"] = database_url
    env["SKYGROUND_HOME"] = str(web_world.home)
    env.update(settings)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "service.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the service did not answer"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def _fontconfig(folder: Path) -> Path:
    conf = folder / "fonts.conf"
    conf.write_text(
        f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig>
  <dir>{NOTO_CJK_DIR}</dir>
  <cachedir>{folder / "fontcache"}</cachedir>
</fontconfig>
""",
        encoding="utf-8",
    )
    return conf


@dataclass
class NetworkGuard:
    """Requests the browser made, split into those let through and those aborted."""

    allowed: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def handle(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob") or (parts.hostname or "") in LOOPBACK:
            self.allowed.append(url)
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort("blockedbyclient")


@dataclass
class Browser:
    """A fresh Chromium profile and the guard every one of its requests passes."""

    context: BrowserContext
    guard: NetworkGuard


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium with a fresh profile (never a downloaded browser)."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run make setup"
    with tempfile.TemporaryDirectory(prefix="skyground-browser-") as tmp:
        folder = Path(tmp)
        env = {**os.environ, "FONTCONFIG_FILE": str(_fontconfig(folder))}
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(folder / "profile"),
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_ARGS,
                env=env,
                viewport={"width": 1280, "height": 800},
                locale="en-US",  # the page must be Chinese whatever the browser's locale
                timezone_id="Asia/Shanghai",
            )
            context.set_default_timeout(WAIT_MS)
            guard = NetworkGuard()
            context.route("**/*", guard.handle)
            try:
                yield Browser(context=context, guard=guard)
            finally:
                context.close()
