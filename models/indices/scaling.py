"""How index values are stored in rasters: scaled int16.

Why int16 × 1/10000 rather than float32: it halves the size of every index COG (float32 index
rasters of the county's four tiles would take ~0.8 TB a year) and compresses better; 1e-4 is
the quantisation step of Sentinel-2 L2A reflectance itself, so no information the sensor has
is lost (the rounding error is at most 5e-5); every valid range of the catalogue (at most
±2, ExG) fits in ±32767 steps; and -32768 lies outside every valid value, so no-data is
unambiguous. GDAL and rio-tiler read the scale and offset from the file's metadata
(``value = stored × scale + offset``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["INT16_PER_10000", "Scaling"]


@dataclass(frozen=True)
class Scaling:
    """Integer storage of float index values: ``value = stored × scale + offset``.

    Attributes:
        dtype: numpy/GDAL name of the stored type.
        scale: index units per stored step.
        offset: index value of stored 0.
        nodata: stored value of pixels without a valid value.
    """

    dtype: str = "int16"
    scale: float = 1e-4
    offset: float = 0.0
    nodata: int = -32768

    @property
    def _steps(self) -> tuple[int, int]:
        info = np.iinfo(np.dtype(self.dtype))
        low = info.min + 1 if self.nodata == info.min else info.min
        high = info.max - 1 if self.nodata == info.max else info.max
        return (int(low), int(high))

    @property
    def representable(self) -> tuple[float, float]:
        """Lowest and highest index value that encodes without touching ``nodata``."""
        low, high = self._steps
        return (low * self.scale + self.offset, high * self.scale + self.offset)

    def encode(self, values: npt.ArrayLike) -> npt.NDArray[np.integer]:
        """Float index values → stored integers; NaN and unrepresentable values → ``nodata``.

        Values round to the nearest step (half to even); a value whose step lies outside the
        stored type becomes ``nodata`` rather than wrapping around.
        """
        # One float64 working copy, changed in place (a strip of a scene is millions of values).
        steps = np.array(values, dtype=np.float64, copy=True)
        if self.offset:
            steps -= self.offset
        steps /= self.scale
        np.rint(steps, out=steps)
        low, high = self._steps
        with np.errstate(invalid="ignore"):  # NaN compares false: not valid
            valid = (steps >= low) & (steps <= high)
            out = steps.astype(np.dtype(self.dtype))  # NaN and out-of-range replaced below
        out[~valid] = self.nodata
        return out

    def decode(self, stored: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Stored integers → float32 index values, NaN where ``nodata``."""
        data = np.asarray(stored)
        values = data.astype(np.float64) * self.scale + self.offset
        return np.where(data == self.nodata, np.nan, values).astype(np.float32)


#: The storage of every index in the catalogue (see the module docstring for why).
INT16_PER_10000 = Scaling()
