"""GCJ-02 ("Mars coordinates" of AMap/Gaode, Tencent) to WGS 84, on entry only.

GCJ-02 is WGS 84 longitude/latitude plus an obfuscating offset (~650 m around Anhua) that
has a published forward formula (``coordTransform.wgs84_to_gcj02``) but no closed inverse.
``coordTransform.gcj02_to_wgs84`` subtracts the offset evaluated at the wrong point, which
leaves metre-level errors, so we invert the forward formula by fixed-point iteration:
``w ← w + (g − f(w))`` converges because the offset varies slowly (its derivative is ~1e-5).
Outside China the library applies no offset, and neither does this inverse.
"""

from __future__ import annotations

import numpy as np
import shapely
from coordTransform import wgs84_to_gcj02  # type: ignore[import-untyped]
from numpy.typing import NDArray

__all__ = ["TOLERANCE_DEG", "gcj02_to_wgs84", "geometries_gcj02_to_wgs84"]

#: Largest |f(w) − g| accepted, in degrees (1e-9° ≈ 0.1 mm).
TOLERANCE_DEG = 1e-9
_MAX_ITERATIONS = 30


def _forward(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """WGS 84 → GCJ-02 for arrays of degrees, as an (N, 2) array."""
    out_lon, out_lat = wgs84_to_gcj02(
        np.ascontiguousarray(lon, dtype=np.float64), np.ascontiguousarray(lat, dtype=np.float64)
    )
    return np.column_stack([np.asarray(out_lon, dtype=np.float64), np.asarray(out_lat)])


def gcj02_to_wgs84(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    """Convert GCJ-02 longitude/latitude to WGS 84 by inverting the forward formula.

    Args:
        coords: (N, 2) array of GCJ-02 longitude, latitude in degrees; NaN passes through.

    Returns:
        (N, 2) array of WGS 84 longitude, latitude in degrees, each within
        :data:`TOLERANCE_DEG` of mapping back onto its input.

    Raises:
        ArithmeticError: the iteration did not converge (never seen on real coordinates).
    """
    target = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    if target.size == 0:
        return target.copy()
    finite = np.isfinite(target).all(axis=1)
    result = target.copy()
    guess = target[finite].copy()
    goal = target[finite]
    for _ in range(_MAX_ITERATIONS):
        error = goal - _forward(guess[:, 0], guess[:, 1])
        guess += error
        if guess.size == 0 or float(np.abs(error).max()) < TOLERANCE_DEG:
            break
    else:
        raise ArithmeticError("GCJ-02 inversion did not converge")
    result[finite] = guess
    return result


def geometries_gcj02_to_wgs84(
    geoms: NDArray[np.object_],
) -> NDArray[np.object_]:
    """Apply :func:`gcj02_to_wgs84` to every vertex of shapely geometries (None stays None)."""
    return np.asarray(shapely.transform(geoms, gcj02_to_wgs84))
