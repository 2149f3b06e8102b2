"""Read queries over the SkyGround tables, shared by the HTTP service and the CLI.

Every function is keyword-only and takes the session; SQL is built with SQLAlchemy Core
(bound parameters only). Results are plain dataclasses, free of HTTP and languages.
"""

from models.queries.admin_units import AdminUnitRecord, get_admin_unit, list_admin_units
from models.queries.common import (
    GEOJSON_DIGITS,
    BBox,
    InvalidParameterValue,
    Page,
    check_text,
    escape_like,
)
from models.queries.plots import PlotRecord, get_plot, list_plots

__all__ = [
    "GEOJSON_DIGITS",
    "AdminUnitRecord",
    "BBox",
    "InvalidParameterValue",
    "Page",
    "PlotRecord",
    "check_text",
    "escape_like",
    "get_admin_unit",
    "get_plot",
    "list_admin_units",
    "list_plots",
]
