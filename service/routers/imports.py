"""``POST /api/plots/import``: upload one plot file, check it (dry run) or import it.

The body is capped by :mod:`service.limits` while it streams; the multipart form may hold
one file part named ``file`` and a few small fields. The file is written under a fresh
per-request folder (``SKYGROUND_HOME/tmp/upload-*``), named by a safe basename of the
client's file name with an allowed suffix, and the folder is removed when the request ends,
whatever happens. Only the uploaded bytes are read: no path or URL from the client is ever
opened. The import is :func:`ingest.plots.import_plots`, one transaction: any problem and
nothing is written.
"""

# No ``from __future__ import annotations``: FastAPI reads these signatures at runtime.

import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any, Final

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from ingest._fields import PLOT_FIELDS
from ingest.errors import IngestError, InvalidFeatures, UnsupportedFormat
from ingest.mapping import load_mapping
from ingest.plots import PlotImportOptions, PlotsOutsideScope, import_plots
from ingest.summary import ImportSummary
from ingest.vectors import SUFFIXES, ReadOptions
from models.auth import Forbidden, Permission, Principal
from models.auth.audit import record
from models.errors import InvalidParameter
from models.settings import Settings
from service.auth import require
from service.deps import LangDep, SettingsDep
from service.limits import PLOTS_IMPORT_PATH

__all__ = ["MAX_FIELD_BYTES", "MAX_FIELDS", "UPLOAD_SUFFIXES", "router", "safe_filename"]

router = APIRouter(tags=["imports"])

#: Form fields besides the file, and the size of each (the options are query parameters).
MAX_FIELDS: Final = 4
MAX_FIELD_BYTES: Final = 16 * 1024
#: Suffixes an upload may have: every import format but a bare .shp (it needs its sidecars:
#: upload the zipped shapefile).
UPLOAD_SUFFIXES: Final = tuple(s for s in SUFFIXES if s != ".shp")
_UNSAFE_CHARS = re.compile(r"[^\w.\-]+")
_COPY_CHUNK = 1024 * 1024


class ScopedRetireForbidden(Forbidden):
    """A scoped user asked to retire missing plots, which would reach outside the scope."""

    key = "upload_error_scoped_retire"


class InvalidUpload(InvalidParameter):
    """The multipart body breaks the form limits or has no single ``file`` part."""

    key = "upload_error_multipart"


class UnsafeFilename(InvalidParameter):
    """The client's file name has no allowed suffix."""

    key = "upload_error_filename"


def safe_filename(name: str | None) -> str:
    """A file name to store an upload under: basename only, safe characters, allowed suffix.

    ``../../etc/passwd.geojson`` → ``passwd.geojson``; ``C:\\x\\地块.kml`` → ``地块.kml``.

    Raises:
        UnsafeFilename: no suffix of :data:`UPLOAD_SUFFIXES`.
    """
    text = unicodedata.normalize("NFC", name or "")
    base = re.split(r"[\\/]", text)[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    suffix = Path(base).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UnsafeFilename(name=base[:100] or "—", supported=" ".join(UPLOAD_SUFFIXES))
    stem = _UNSAFE_CHARS.sub("_", base[: -len(suffix)]).strip("._")[:80]
    return f"{stem or 'upload'}{suffix}"


@dataclass
class ImportQuery:
    """Options of an upload, as in ``skyground plots import``."""

    dry_run: Annotated[
        bool, Query(description="Check and report without writing (default true).")
    ] = True
    layer: Annotated[
        str | None,
        Query(max_length=200, description="Layer (GeoPackage, KML) or shapefile in the zip."),
    ] = None
    crs: Annotated[
        str | None,
        Query(
            max_length=100,
            description="CRS of the coordinates when the file has none, e.g. EPSG:4546.",
        ),
    ] = None
    encoding: Annotated[
        str | None,
        Query(max_length=40, description="Attribute encoding of a shapefile or CSV, e.g. GBK."),
    ] = None
    gcj02: Annotated[
        bool, Query(description="Longitudes/latitudes are GCJ-02 (AMap) and are converted.")
    ] = False
    xy_order: Annotated[
        str | None,
        Query(pattern="^(north-east|east-north)$", description="CSV: which column is X."),
    ] = None
    map: Annotated[
        list[str] | None,
        Query(max_length=len(PLOT_FIELDS), description="Field mapping ours=theirs (repeat)."),
    ] = None
    retire_missing: Annotated[
        bool, Query(description="Mark plots absent from the file retired (never deleted).")
    ] = False


def _scratch_root(settings: Settings) -> Path:
    root = settings.db.home / "tmp"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    return root


def _import(
    upload: IO[bytes],
    target: Path,
    engine: Engine,
    options: PlotImportOptions,
    settings: Settings,
    principal: Principal,
) -> ImportSummary:
    """Copy the upload to ``target`` and import it (blocking: runs in the thread pool).

    Every changed plot is audited under the caller's name; a real import (not a dry run) is
    also recorded as one ``plots.import`` entry with its job and counts.
    """
    with target.open("xb") as out:
        shutil.copyfileobj(upload, out, _COPY_CHUNK)
    summary = import_plots(
        engine=engine,
        path=target,
        options=options,
        service_area=settings.region.service_area,
        actor=(principal.actor, principal.user_id),
    )
    if not options.dry_run:
        with Session(engine) as session, session.begin():
            record(
                session, actor=principal.actor, actor_id=principal.user_id,
                action="plots.import", object_type="job", object_id=summary.job_id,
                after={"source": summary.source, **summary.as_dict("en")["counts"]},
            )  # fmt: skip
    return summary


def _refusal(error: IngestError, lang: str) -> JSONResponse:
    body: dict[str, Any] = {"detail": error.message(lang), "error": type(error).__name__}
    if isinstance(error, InvalidFeatures):
        body["problems"] = [p.as_dict(lang) for p in error.problems[:50]]
    if isinstance(error, PlotsOutsideScope):
        status = 403
    elif isinstance(error, UnsupportedFormat):
        status = 415
    else:
        status = 422
    return JSONResponse(body, status_code=status)


async def _single_file(request: Request) -> tuple[FormData, UploadFile]:
    """The parsed form and its one file part; Starlette spools parts over 1 MiB to disk."""
    form_limits = {"fields": MAX_FIELDS, "field_bytes": MAX_FIELD_BYTES}
    try:
        form = await request.form(max_files=1, max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES)
    except HTTPException as exc:  # Starlette's MultiPartException, made a 400
        raise InvalidUpload(detail=str(exc.detail), **form_limits) from exc
    files = [v for v in form.values() if isinstance(v, UploadFile)]
    upload = form.get("file")
    if len(files) != 1 or not isinstance(upload, UploadFile):
        await form.close()
        raise InvalidUpload(detail=f"{len(files)} file parts", **form_limits)
    return form, upload


@router.post(
    PLOTS_IMPORT_PATH,
    summary="Upload a plot file: check it (dry run, the default) or import it.",
    responses={
        400: {"description": "Bad form (parts, fields, file name); `detail` names it."},
        403: {"description": "The caller may not edit parcels, or a plot is outside its scope."},
        413: {"description": "The body is over SKYGROUND_API_MAX_UPLOAD_BYTES."},
        415: {"description": "The file type is not one we import."},
        422: {"description": "The file was refused; `detail` names the problem."},
    },
)
async def upload_plots(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.PARCELS_EDIT))],
    query: Annotated[ImportQuery, Depends()],
    settings: SettingsDep,
    lang: LangDep,
) -> JSONResponse:
    """Import (or with ``dry_run`` only check) the plots of one uploaded file.

    The body is ``multipart/form-data`` with one file part named ``file``; its name's suffix
    picks the format (.geojson, .json, .gpkg, .zip of a shapefile, .kml, .kmz, .parquet,
    .geoparquet, .csv). The answer is the import summary; a refused file gets a 4xx whose
    ``detail`` names the problem, and nothing is written. A caller limited to a scope may
    only import plots placed in its villages (and replacing none outside them): otherwise 403.
    """
    if principal.scope is not None and query.retire_missing:
        raise ScopedRetireForbidden()
    form, upload = await _single_file(request)
    try:
        return await _run(request, upload, query, settings, principal, lang)
    finally:
        await form.close()  # removes Starlette's spooled copy of the upload


async def _run(
    request: Request,
    upload: UploadFile,
    query: ImportQuery,
    settings: Settings,
    principal: Principal,
    lang: str,
) -> JSONResponse:
    scope = principal.scope
    name = safe_filename(upload.filename)
    try:
        mapping = load_mapping(query.map or (), None, fields=PLOT_FIELDS)
    except IngestError as error:
        return _refusal(error, lang)
    engine: Engine = request.app.state.engine
    # The folder goes on every exit; the import thread is waited for, never abandoned.
    with tempfile.TemporaryDirectory(prefix="upload-", dir=_scratch_root(settings)) as tmp:
        folder = Path(tmp)
        options = PlotImportOptions(
            read=ReadOptions(
                layer=query.layer,
                crs=query.crs,
                encoding=query.encoding,
                gcj02=query.gcj02,
                xy_order=query.xy_order,
                scratch=folder,
            ),
            mapping=mapping,
            retire_missing=query.retire_missing,
            dry_run=query.dry_run,
            unit_ids=None if scope is None else scope.unit_ids,
        )
        try:
            summary = await run_in_threadpool(
                _import, upload.file, folder / name, engine, options, settings, principal
            )
        except IngestError as error:
            return _refusal(error, lang)
    return JSONResponse(summary.as_dict(lang))
