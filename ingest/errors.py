"""Failures of the ``ingest`` package: one base, one subclass per failure.

Every message names the file and the bad value; feature problems name the feature (its
1-based position in the file and its code) and the reason. Texts live in
``models/i18n/imports.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from models.errors import SkyGroundError, SkyGroundWarning
from models.i18n import t

__all__ = [
    "MAX_PROBLEMS_SHOWN",
    "AxesSwapped",
    "BandGridMismatch",
    "BandNotInFile",
    "CodeFieldMissing",
    "ConflictingBoaOffset",
    "CsvColumnsMissing",
    "DigitalNumbersExpected",
    "EmptySource",
    "EncodingUndetected",
    "FeatureProblem",
    "FormulaNotAllowed",
    "ImplausibleReflectance",
    "IngestError",
    "InvalidCrs",
    "InvalidEncoding",
    "InvalidFeatures",
    "InvalidMapping",
    "LayerNotFound",
    "LayerRequired",
    "LevelMissing",
    "MappedFieldMissing",
    "MetadataUnreadable",
    "MissingBands",
    "MissingCrs",
    "NumericCodeTooWide",
    "ReflectanceExpected",
    "SourceMissing",
    "UnknownBand",
    "UnreadableFile",
    "UnsupportedFormat",
    "XyOrderUndetected",
    "ZonePrefixMismatch",
]

#: How many feature problems a message lists; the count of the rest is given.
MAX_PROBLEMS_SHOWN = 50


class IngestError(SkyGroundError):
    """Base of every import failure."""

    key: ClassVar[str] = "import_error"


class SourceMissing(IngestError):
    """The path does not exist or is not a file."""

    key = "import_error_missing"


class UnsupportedFormat(IngestError):
    """The file's suffix is not one of the formats we read."""

    key = "import_error_format"


class UnreadableFile(IngestError):
    """GDAL (or pyarrow) cannot open the file as vector data of an allowed driver."""

    key = "import_error_unreadable"


class LayerNotFound(IngestError):
    """``--layer`` names a layer the file does not have."""

    key = "import_error_layer_not_found"


class LayerRequired(IngestError):
    """The file has several layers and none was chosen."""

    key = "import_error_layer_required"


class EmptySource(IngestError):
    """The chosen layer holds no features."""

    key = "import_error_empty"


class MissingCrs(IngestError):
    """The file declares no CRS and ``--crs`` was not given."""

    key = "import_error_no_crs"


class InvalidCrs(IngestError):
    """``--crs`` (or the file's CRS) cannot be understood."""

    key = "import_error_bad_crs"


class ZonePrefixMismatch(IngestError):
    """Eastings carry a Gauss–Krüger zone prefix that contradicts the CRS's central meridian."""

    key = "import_error_zone_mismatch"


class AxesSwapped(IngestError):
    """Projected coordinates look northing-first where the CRS expects easting first."""

    key = "import_error_axes_swapped"


class InvalidEncoding(IngestError):
    """``--encoding`` names no codec Python knows, or the text does not decode with it."""

    key = "import_error_bad_encoding"


class EncodingUndetected(IngestError):
    """Text is neither UTF-8 nor GB18030 and no ``.cpg`` or ``--encoding`` says what it is."""

    key = "import_error_encoding_undetected"


class NumericCodeTooWide(IngestError):
    """The code field is numeric and wider than 15 digits, so its values lost digits."""

    key = "import_error_numeric_code"


class CodeFieldMissing(IngestError):
    """No field of the file maps to our ``code``."""

    key = "import_error_no_code_field"


class MappedFieldMissing(IngestError):
    """A mapping names a field the file does not have."""

    key = "import_error_mapped_field_missing"


class InvalidMapping(IngestError):
    """A ``--map`` option or mapping file is malformed or names an unknown field."""

    key = "import_error_bad_mapping"


class LevelMissing(IngestError):
    """Admin units without ``--level`` and without a level field."""

    key = "import_error_no_level"


class CsvColumnsMissing(IngestError):
    """A coordinate CSV lacks the columns it needs."""

    key = "import_error_csv_columns"


class XyOrderUndetected(IngestError):
    """The magnitudes of X and Y do not tell which one is the northing."""

    key = "import_error_xy_order"


@dataclass(frozen=True)
class FeatureProblem:
    """Why one feature was rejected.

    Attributes:
        index: 1-based position of the feature in the file (for CSV: the group of rows of one
            code, in order of first appearance; ``row`` in ``params`` gives the line).
        code: the feature's code as text, or None when it has none.
        key: catalogue key of the reason.
        params: values filling the reason's placeholders.
    """

    index: int
    code: str | None
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str | None = None) -> str:
        """One line naming the feature and the reason in ``lang``."""
        reason = t(self.key, lang, **self.params)
        code = self.code if self.code is not None else "—"
        return t("import_problem_line", lang, index=self.index, code=code, reason=reason)

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """JSON-safe form for ``--json`` output and the job row."""
        return {
            "index": self.index,
            "code": self.code,
            "reason": self.key,
            "params": self.params,
            "message": t(self.key, lang, **self.params),
        }


class InvalidFeatures(IngestError):
    """Features failed validation; nothing was written. Lists the first problems."""

    key = "import_error_features"

    def __init__(self, *, path: str, problems: list[FeatureProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.index, p.key))
        super().__init__(
            path=path,
            count=len(self.problems),
            features=len({p.index for p in self.problems}),
            problems=[p.as_dict("en") for p in self.problems[:MAX_PROBLEMS_SHOWN]],
        )

    def message(self, lang: str | None = None) -> str:
        """Header, one line per problem up to the cap, and how many more were left out."""
        lines = [super().message(lang)]
        lines += [f"  {p.render(lang)}" for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        hidden = len(self.problems) - MAX_PROBLEMS_SHOWN
        if hidden > 0:
            lines.append("  " + t("import_problems_more", lang, count=hidden))
        return "\n".join(lines)


# Satellite scenes: indices, radiometry, masks and band files. Texts live in
# ``models/i18n/satellite.toml``.


class FormulaNotAllowed(IngestError):
    """A band-maths formula uses something outside the allow-list (a call, an unknown name)."""

    key = "satellite_error_formula"


class MissingBands(IngestError):
    """An index (or formula) was given without some of the bands it needs."""

    key = "satellite_error_missing_bands"


class ReflectanceExpected(IngestError):
    """An index got integer digital numbers; they must become float reflectance first."""

    key = "satellite_error_reflectance_expected"


class DigitalNumbersExpected(IngestError):
    """Scaling got floats, which may already be reflectance: applying it again is refused."""

    key = "satellite_error_dn_expected"


class BandGridMismatch(IngestError):
    """Bands (or a mask) that must share one pixel grid do not: shape, coordinates or CRS."""

    key = "satellite_error_grid_mismatch"


class UnknownBand(IngestError):
    """A band map names a band that is neither our band name nor a Sentinel-2 band id."""

    key = "satellite_error_unknown_band"


class BandNotInFile(IngestError):
    """A band map points at a band number the file does not have."""

    key = "satellite_error_band_not_in_file"


class MetadataUnreadable(IngestError):
    """Product metadata (MTD_MSIL2A.xml or properties) is malformed, unsafe or inconsistent."""

    key = "satellite_error_metadata"


class ConflictingBoaOffset(IngestError):
    """``--boa-offset`` contradicts the BOA_ADD_OFFSET that the product metadata states."""

    key = "satellite_error_offset_conflict"


class ImplausibleReflectance(SkyGroundWarning):
    """Vegetated pixels do not land at plausible reflectance with the chosen scale and offset.

    A warning, not an error: the scene is suspect (offset applied twice or not at all, or a
    wrong flag at the source), and the caller decides whether to keep it.
    """

    key: ClassVar[str] = "radiometry_warning_implausible"
