"""Our field names and the names surveyors' files use for them (pinyin initials, Chinese).

Aliases are matched case-insensitively after trimming; the first alias present wins.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ADMIN_ALIASES", "ADMIN_FIELDS", "PLOT_ALIASES", "PLOT_FIELDS", "normalise"]

PLOT_FIELDS: Final = (
    "code",
    "name",
    "owner",
    "cooperative",
    "village",
    "crop",
    "variety",
    "planting_year",
)

PLOT_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    # DKBM 地块编码 (contract parcel code), fiboa uses ``id``.
    "code": ("code", "plot_code", "dkbm", "地块编码", "地块代码", "编码", "id"),
    "name": ("name", "dkmc", "地块名称", "名称"),
    # CBFMC 承包方名称 (contractor).
    "owner": ("owner", "cbfmc", "承包方名称", "承包方", "权利人", "户主"),
    "cooperative": ("cooperative", "hzs", "合作社", "经营主体"),
    "village": ("village", "village_code", "village_name", "cun", "所在村", "行政村", "村名", "村"),
    "crop": ("crop", "crop:name", "zw", "作物", "种植作物"),
    "variety": ("variety", "pz", "品种"),
    "planting_year": ("planting_year", "zznf", "种植年份", "定植年份"),
}

ADMIN_FIELDS: Final = ("code", "name", "level", "parent_code")

ADMIN_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    # XZQDM 行政区代码; CJQYDM/XJQYDM 村级/乡级区域代码 (third national land survey).
    "code": ("code", "xzqdm", "cjqydm", "xjqydm", "行政区代码", "行政区划代码", "编码", "id"),
    "name": ("name", "xzqmc", "cjqymc", "xjqymc", "行政区名称", "名称"),
    "level": ("level", "级别", "层级"),
    "parent_code": ("parent_code", "sjxzqdm", "上级代码", "上级行政区代码"),
}


def normalise(name: str) -> str:
    """Key used to compare field names: trimmed and case-folded."""
    return name.strip().casefold()
