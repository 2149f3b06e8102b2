"""PostgreSQL stopped under a running service: 503 (never 500, never a hang), then recovery.

A cluster of its own (the session's is shared), the real service in a uvicorn process, and
plain HTTP requests with a client timeout. No worker restart is allowed: the process id is
checked before and after.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from models.auth.keys import create_key
from models.auth.users import add_user
from models.cluster import EmbeddedCluster
from models.db import engine_for, prepare_database
from models.settings import DatabaseSettings
from tests.conftest import make_world_dir

CLIENT_TIMEOUT = 15.0
RECOVERY_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def outage_world() -> Iterator[tuple[EmbeddedCluster, str, str]]:
    """Its own cluster, migrated, with one viewer key; (cluster, base URL, key)."""
    home = make_world_dir("skyground-outage-")
    settings = DatabaseSettings(home=home, database_url=None)
    cluster = EmbeddedCluster(settings, durable=False)
    url = prepare_database(settings, durable=False)
    engine = engine_for(url, pool_size=1)
    with Session(engine) as session, session.begin():
        add_user(
            session, username="watcher", role="viewer", password=None, actor="test",
            min_password_length=10,
        )  # fmt: skip
        _, key = create_key(session, "watcher", "outage", actor="test")
    engine.dispose()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYGROUND_")}
    env.update(SKYGROUND_DATABASE_URL=url, SKYGROUND_HOME=str(home), SKYGROUND_AUTH_SECRET="o" * 40)
    command = [sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    log = (home / "service.log").open("w")  # one warning per refused request: keep it out
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "service did not start"
            time.sleep(0.2)
        server.key = key.secret  # type: ignore[attr-defined]
        yield cluster, base, key.secret
        assert server.poll() is None, "the service process ended"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


def _hammer(base: str, key: str, stop: threading.Event, seen: Counter[int | str]) -> None:
    with httpx.Client(headers={"X-API-Key": key}, timeout=CLIENT_TIMEOUT) as client:
        while not stop.is_set():
            try:
                seen[client.get(f"{base}/api/plots").status_code] += 1
            except httpx.TimeoutException:
                seen["timeout"] += 1
            except httpx.TransportError:
                seen["transport"] += 1


def test_requests_get_503_during_an_outage_and_succeed_soon_after(outage_world):
    cluster, base, key = outage_world
    headers = {"X-API-Key": key}
    urls = ["/api/plots", "/api/me", "/healthz", "/tiles/plots/12/3340/1706.mvt"]
    for url in urls:
        assert httpx.get(base + url, headers=headers, timeout=CLIENT_TIMEOUT).status_code == 200
    # Requests in flight while PostgreSQL stops: each ends as 200 or 503, none hangs.
    seen: Counter[int | str] = Counter()
    stop = threading.Event()
    workers = [threading.Thread(target=_hammer, args=(base, key, stop, seen)) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    cluster.stop()
    time.sleep(1.0)
    stop.set()
    for worker in workers:
        worker.join(timeout=CLIENT_TIMEOUT + 5)
    assert set(seen) <= {200, 503}, seen
    assert seen[503] > 0
    # During the outage: 503 with the catalogue's message, quickly.
    for url in urls:
        started = time.monotonic()
        response = httpx.get(
            base + url, headers=headers, params={"lang": "en"}, timeout=CLIENT_TIMEOUT
        )
        assert response.status_code == 503, url
        assert "database" in response.json()["detail"].lower()
        assert time.monotonic() - started < CLIENT_TIMEOUT
    # Back: within RECOVERY_SECONDS of PostgreSQL accepting connections, everything succeeds.
    port = cluster.port
    cluster.start()
    assert cluster.port == port, "the restarted cluster keeps its port"
    back = time.monotonic()
    while True:
        codes = [
            httpx.get(base + u, headers=headers, timeout=CLIENT_TIMEOUT).status_code for u in urls
        ]
        if all(code == 200 for code in codes):
            took = time.monotonic() - back
            print(f"recovered {took:.2f} s after the restart; in flight: {dict(seen)}")  # noqa: T201
            break
        assert set(codes) <= {200, 503}, codes
        assert time.monotonic() - back < RECOVERY_SECONDS, codes
        time.sleep(0.2)
    # Several rounds in a row, so every pooled connection has been replaced.
    for _ in range(5):
        for url in urls:
            assert httpx.get(base + url, headers=headers, timeout=CLIENT_TIMEOUT).status_code == 200
