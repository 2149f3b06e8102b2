"""Benchmark of the frame: importing many plots and reading them back through the API.

Generates N rectangular plots (default 50,000) on a grid in EPSG:4546 near Anhua, imports
them into a throw-away embedded cluster, imports the same file again (nothing changes), then
times API reads in-process. Prints one figure per line; times are medians of repeated
requests, import times are single runs. Run with ``make bench`` or
``.venv/bin/python bench/bench_frame.py --plots 50000``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import geopandas as gpd
from fastapi.testclient import TestClient
from shapely.geometry import box
from sqlalchemy.orm import Session

from ingest.plots import import_plots
from models.auth.keys import create_key
from models.auth.users import add_user
from models.cluster import EmbeddedCluster
from models.db import engine_for, prepare_database
from models.settings import DatabaseSettings, Settings
from service.main import create_app


def generate(path: Path, count: int, seed: int = 1) -> None:
    """``count`` plots of 20–60 m × 15–40 m on a 70 m grid, EPSG:4546 (CM 111°E)."""
    rng = random.Random(seed)
    side = int(count**0.5) + 1
    rows = []
    for i in range(count):
        e0 = 505_000 + (i % side) * 70.0
        n0 = 3_120_000 + (i // side) * 70.0
        rows.append(
            {
                "code": f"B{i:07d}",
                "name": f"茶园{i}号",
                "owner": rng.choice("刘李陈王张黄周吴"),
                "geometry": box(e0, n0, e0 + rng.uniform(20, 60), n0 + rng.uniform(15, 40)),
            }
        )
    gpd.GeoDataFrame(rows, crs="EPSG:4546").to_file(path, driver="GPKG", engine="pyogrio")


def median_ms(client: TestClient, urls: list[str]) -> float:
    """Median wall time of GET requests, in milliseconds (each must answer 200)."""
    times = []
    for url in urls:
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.text[:200])
    return statistics.median(times)


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plots", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="skyground-bench-"))
    home.chmod(0o755)
    db_settings = DatabaseSettings(home=home, database_url=None)
    try:
        url = prepare_database(db_settings)
        engine = engine_for(url)
        source = home / "plots.gpkg"
        generate(source, args.plots)
        start = time.perf_counter()
        first = import_plots(engine=engine, path=source, service_area=None)
        first_s = time.perf_counter() - start
        start = time.perf_counter()
        second = import_plots(engine=engine, path=source, service_area=None)
        second_s = time.perf_counter() - start
        print(f"plots: {args.plots}")
        print(f"import_first_s: {first_s:.2f} (inserted {first.inserted})")
        print(f"import_rerun_s: {second_s:.2f} (unchanged {second.unchanged})")
        print(f"import_plots_per_s: {args.plots / first_s:.0f}")

        settings = Settings(db=DatabaseSettings(home=home, database_url=url))
        rng = random.Random(2)
        # Requests carry an API key, as a machine client's do: authentication is measured.
        with Session(engine) as session, session.begin():
            add_user(
                session, username="bench", role="viewer", password=None, actor="bench",
                min_password_length=10,
            )  # fmt: skip
            _, key = create_key(session, "bench", "bench", actor="bench")
        with TestClient(create_app(settings), headers={"X-API-Key": key.secret}) as client:
            ids = [rng.randint(1, args.plots) for _ in range(args.requests)]
            one = median_ms(client, [f"/api/plots/{i}" for i in ids])
            pages = median_ms(
                client,
                [f"/api/plots?limit=100&offset={rng.randint(0, args.plots - 100)}" for _ in ids],
            )
            boxes = []
            for _ in ids:
                lon, lat = rng.uniform(111.06, 111.2), rng.uniform(28.2, 28.3)
                boxes.append(f"/api/plots?bbox={lon},{lat},{lon + 0.005},{lat + 0.005}")
            bbox = median_ms(client, boxes)
            search = median_ms(client, [f"/api/plots?q=茶园{i}号&limit=10" for i in ids])
        print(f"api_plot_by_id_median_ms: {one:.1f}")
        print(f"api_page_of_100_median_ms: {pages:.1f}")
        print(f"api_bbox_500m_median_ms: {bbox:.1f}")
        print(f"api_search_median_ms: {search:.1f}")
        engine.dispose()
    finally:
        EmbeddedCluster(db_settings).destroy()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
