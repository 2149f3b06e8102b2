"""Run the ``skyground`` CLI, pausing each time a COG sits complete under its temporary name.

For the crash test: ``python _pause_after_temp.py SECONDS ARGS…`` runs ``skyground ARGS…``,
but once GDAL has written a COG to the temporary file and before
:mod:`ingest.satellite.cog` moves it over the final name, it sleeps SECONDS, so
the test can SIGKILL the process while only the temporary file exists. The pause lives here,
not in the production code.
"""

from __future__ import annotations

import functools
import sys
import time
from typing import Any

from ingest.satellite import cog
from service.cli import main


def pause_after_temp(seconds: float) -> None:
    """Wrap :mod:`ingest.satellite.cog`'s ``copy`` (GDAL's) to sleep after it returns."""
    write = cog.copy

    @functools.wraps(write)
    def copy(*args: Any, **kwargs: Any) -> Any:
        result = write(*args, **kwargs)
        time.sleep(seconds)
        return result

    cog.copy = copy


if __name__ == "__main__":
    seconds, *argv = sys.argv[1:]
    pause_after_temp(float(seconds))
    sys.argv = ["skyground", *argv]
    main()
