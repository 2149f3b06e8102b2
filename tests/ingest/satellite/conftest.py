"""Fixtures of the satellite tests: the real Barbellino and FTW clips in tests/data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import rasterio
from sqlalchemy import Engine

from ingest.satellite import SEN2R_BOA_BANDS
from tests.conftest import make_world_dir

DATA = Path(__file__).parents[2] / "data"
BARBELLINO = DATA / "s2-l2a-barbellino-sen2r"
FTW = DATA / "s2-austria-ftw" / "ftw_austria_2021_B04B03B02B08_x2dates.tif"
DATES = ("20170703", "20190723")


def boa_path(date: str) -> Path:
    return BARBELLINO / f"S2A2A_{date}_022_Barbellino_BOA_10.tif"


def scl_path(date: str) -> Path:
    return BARBELLINO / f"S2A2A_{date}_022_Barbellino_SCL_10.tif"


@dataclass(frozen=True)
class Clip:
    """Raw digital numbers of one Barbellino date and its SCL (20 m and replicated to 10 m)."""

    date: str
    dn: dict[str, npt.NDArray[np.uint16]]
    scl20: npt.NDArray[np.uint8]

    @property
    def scl10(self) -> npt.NDArray[np.uint8]:
        # Independent of the code under test: each 20 m class covers a 2 x 2 block.
        return np.kron(self.scl20, np.ones((2, 2), dtype=np.uint8))


def _clip(date: str) -> Clip:
    with rasterio.open(boa_path(date)) as ds:
        dn = {band: ds.read(number) for band, number in SEN2R_BOA_BANDS.items()}
    with rasterio.open(scl_path(date)) as ds:
        scl = ds.read(1)
    return Clip(date, dn, scl)


@pytest.fixture(scope="session", params=DATES)
def clip(request: pytest.FixtureRequest) -> Clip:
    """Each Barbellino date in turn."""
    return _clip(request.param)


@pytest.fixture(scope="session")
def clip2017() -> Clip:
    """The 2017 clip: the one with clouds (SCL 8 and 9)."""
    return _clip("20170703")


@pytest.fixture()
def plots(db: Engine) -> Engine:
    """The emptied test database with the four plots over the Barbellino clip."""
    from tests.ingest.satellite.test_ingest_local import insert_plots  # a test module: late

    insert_plots(db)
    return db


@pytest.fixture()
def home() -> Iterator[Path]:
    """A SKYGROUND_HOME the database server user can enter, removed afterwards."""
    path = make_world_dir("skyground-rasters-")
    yield path
    shutil.rmtree(path, ignore_errors=True)
