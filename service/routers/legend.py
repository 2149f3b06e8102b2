"""``/api/indices``: the index catalogue as the web map needs it (labels, ranges, legends).

Everything here is serialised from :mod:`models.indices`, so the map colours plots with the
same stops and no-data colour as the raster tiles.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from models.i18n import LANGUAGES, t
from models.indices import INDICES, IndexSpec, Platform
from service.deps import LangDep
from service.routers._common import ERROR_RESPONSES, language_query

__all__ = ["IndexCatalogue", "IndexOut", "index_out", "router"]

router = APIRouter(prefix="/api", tags=["indices"], dependencies=[Depends(language_query)])


class LegendStopOut(BaseModel):
    """One stop of the ramp; colours in between are linear in RGB, clamped at the ends."""

    value: float = Field(description="Index value (unitless).")
    color: str = Field(description="#rrggbb colour at that value.")
    label: str | None = Field(description="Text for the low and high ends; null in between.")


class NoDataOut(BaseModel):
    """How a plot or pixel without a valid value is drawn."""

    color: str = Field(description="#rrggbb or #rrggbbaa (the alpha is the opacity).")
    label: str


class LegendOut(BaseModel):
    """The legend of one index in the requested language."""

    title: str
    stops: list[LegendStopOut]
    nodata: NoDataOut


class IndexOut(BaseModel):
    """One index of the catalogue."""

    name: str = Field(
        description="Catalogue name (spyndex's), e.g. NDVI or NDREI: the `index` parameter of "
        "the series API and, lower-cased, the plot vector tiles' property of the latest value."
    )
    short_name: str = Field(description="Name people use, e.g. NDRE for NDREI.")
    aliases: list[str] = Field(description="Other names that resolve to this index.")
    label: str = Field(description="Display name in the requested language.")
    labels: dict[str, str] = Field(description="Display name in every catalogue language.")
    platforms: list[str] = Field(description="sentinel2, drone_rgb, drone_multispectral.")
    valid_range: tuple[float, float] = Field(description="Lowest and highest meaningful value.")
    display_range: tuple[float, float] = Field(description="Values of the first and last stop.")
    tile_property: str = Field(description="Property of the latest clear mean in plot tiles.")
    tile_date_property: str = Field(description="Property of that value's local date.")
    legend: LegendOut


class IndexCatalogue(BaseModel):
    """The indices SkyGround computes, in catalogue order."""

    lang: str
    indices: list[IndexOut]


def index_out(spec: IndexSpec, lang: str) -> IndexOut:
    """The API form of one catalogue entry, texts in ``lang``."""
    legend = spec.legend.as_dict(lang)
    prop = spec.name.lower()
    return IndexOut(
        name=spec.name,
        # NDREI is "NDRE" to agronomists: the first alias, where there is one, is that name.
        short_name=spec.aliases[0] if spec.aliases else spec.name,
        aliases=list(spec.aliases),
        label=t(spec.label_key, lang),
        labels={code: t(spec.label_key, code) for code in LANGUAGES},
        platforms=sorted(p.value for p in spec.platforms),
        valid_range=spec.valid_range,
        display_range=spec.colormap.display_range,
        tile_property=prop,
        tile_date_property=f"{prop}_date",
        legend=LegendOut.model_validate(legend),
    )


@router.get(
    "/indices",
    response_model=IndexCatalogue,
    summary="Index catalogue: labels, valid ranges, legends and colours",
    responses=ERROR_RESPONSES,
)
def list_indices(
    lang: LangDep,
    platform: Annotated[
        Platform | None, Query(description="Only the indices computed on this platform.")
    ] = None,
) -> JSONResponse:
    """Every index (or those of one platform) with its legend in the caller's language."""
    specs = [s for s in INDICES.values() if platform is None or platform in s.platforms]
    body = IndexCatalogue(lang=lang, indices=[index_out(s, lang) for s in specs])
    return JSONResponse(
        body.model_dump(),
        headers={"Cache-Control": "private, max-age=300", "Vary": "Accept-Language"},
    )
