"""Units and presentation rules shared by the CLI, the API and reports.

Areas are stored in square metres measured on the ellipsoid; people read them in 亩
(1 亩 = 10000/15 m²) with hectares beside. Times are stored in UTC and shown in the
deployment's time zone (Asia/Shanghai by default).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

__all__ = ["M2_PER_MU", "area_ha", "area_mu", "local_time"]

M2_PER_MU = Decimal(10000) / Decimal(15)
_TWO_PLACES = Decimal("0.01")
_FOUR_PLACES = Decimal("0.0001")


def area_mu(area_m2: float | Decimal) -> Decimal:
    """Square metres to 亩, rounded half up to two decimals.

    ``Decimal(str(x))`` keeps the float's shortest decimal form, so 0.125 rounds to 0.13
    where ``round()`` (half to even, and binary floats) would give 0.12.
    """
    return (Decimal(str(area_m2)) / M2_PER_MU).quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)


def area_ha(area_m2: float | Decimal) -> Decimal:
    """Square metres to hectares, rounded half up to four decimals."""
    return (Decimal(str(area_m2)) / Decimal(10000)).quantize(_FOUR_PLACES, rounding=ROUND_HALF_UP)


def local_time(moment: datetime | None, timezone: str = "Asia/Shanghai") -> str | None:
    """An aware UTC time as ISO 8601 in ``timezone`` (offset included), or None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime: SkyGround stores times in UTC with a zone")
    return moment.astimezone(ZoneInfo(timezone)).isoformat(timespec="seconds")
