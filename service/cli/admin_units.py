"""``skyground admin-units``: import county, township and village boundaries."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ingest._fields import ADMIN_FIELDS
from ingest.admin_units import AdminImportOptions, import_admin_units
from ingest.mapping import load_mapping
from service.cli._common import handle_errors, help_text, output
from service.cli.plots import (
    CrsOpt,
    DryRunOpt,
    EncodingOpt,
    Gcj02Opt,
    LayerOpt,
    MapOpt,
    MappingOpt,
    NoAreaOpt,
    PathArg,
    XyOrderOpt,
    read_options,
    run_import,
)

app = typer.Typer(help=help_text("cli_admin_units"))


class Level(StrEnum):
    """Admin level of every unit in a file."""

    county = "county"
    township = "township"
    village = "village"


@app.command("import", help=help_text("cli_admin_units_import"))
def import_command(
    ctx: typer.Context,
    path: PathArg,
    level: Annotated[
        Level | None, typer.Option(help=help_text("cli_admin_units_import_level"))
    ] = None,
    parent_code_field: Annotated[
        str | None, typer.Option(help=help_text("cli_admin_units_import_parent_code_field"))
    ] = None,
    layer: LayerOpt = None,
    crs: CrsOpt = None,
    encoding: EncodingOpt = None,
    gcj02: Gcj02Opt = False,
    map_: MapOpt = None,
    mapping: MappingOpt = None,
    xy_order: XyOrderOpt = None,
    no_area_check: NoAreaOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Import admin units from a file; parents by code field or by location."""
    out = output(ctx)
    with handle_errors(out):
        options = AdminImportOptions(
            read=read_options(layer, crs, encoding, gcj02, xy_order),
            mapping=load_mapping(map_ or (), mapping, fields=ADMIN_FIELDS),
            level=level.value if level is not None else None,
            parent_code_field=parent_code_field,
            dry_run=dry_run,
        )
        run_import(out, path, import_admin_units, options, no_area_check=no_area_check)
