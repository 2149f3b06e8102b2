"""Open any supported vector file into a GeoDataFrame in EPSG:4326, with a report.

Formats and drivers are an allow-list: GeoJSON, GeoPackage, Shapefile (plain or zipped),
KML/KMZ (GDAL's KML and LIBKML drivers) through pyogrio, GeoParquet through pyarrow
(pyogrio's GDAL has no Parquet driver) and coordinate CSV through :mod:`.csv`. Whatever CRS
the file declares (or ``--crs`` gives) is transformed to WGS 84 longitude/latitude with
``always_xy=True``; CGCS2000 and WGS 84 are taken as equal (they differ by centimetres).

Every file passes :mod:`ingest.limits` first: no ``/vsi`` paths or URLs; archives (.zip,
.kmz) are checked and extracted into a fresh folder by :mod:`._archives` instead of being
read through ``/vsizip/``; the content must match the suffix (:mod:`._sniff`: no VRT named
``.geojson``, no DTD or entities in KML, no GeoJSON nested past the limit); features over
the vertex cap are refused like invalid ones.
"""

from __future__ import annotations

import tempfile
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS

from ingest.errors import (
    EmptySource,
    EncodingUndetected,
    LayerNotFound,
    LayerRequired,
    MissingCrs,
    SourceMissing,
    UnreadableFile,
    UnsupportedFormat,
)
from ingest.limits import InputLimits, check_local_path
from ingest.summary import Note
from ingest.vectors._archives import extracted
from ingest.vectors._crs import crs_label, parse_crs, resolve_gk_prefix
from ingest.vectors._encoding import (
    LATIN1,
    DbfField,
    check_codec,
    decode_latin1_frame,
    detect_encoding,
    latin1_samples,
    ldid_codepage,
    read_dbf_header,
)
from ingest.vectors._gcj02 import geometries_gcj02_to_wgs84
from ingest.vectors._sniff import check_content, check_kml
from ingest.vectors.csv import read_coordinate_csv

__all__ = ["SUFFIXES", "ReadOptions", "VectorSource", "read_vector"]

# Suffix → GDAL drivers allowed to open it (empty: read without GDAL).
SUFFIXES: dict[str, frozenset[str]] = {
    ".geojson": frozenset({"GeoJSON"}),
    ".json": frozenset({"GeoJSON"}),
    ".gpkg": frozenset({"GPKG"}),
    ".shp": frozenset({"ESRI Shapefile"}),
    ".zip": frozenset({"ESRI Shapefile"}),
    ".kml": frozenset({"KML", "LIBKML"}),
    ".kmz": frozenset({"KML", "LIBKML"}),
    ".parquet": frozenset(),
    ".geoparquet": frozenset(),
    ".csv": frozenset(),
}
_DBF_HEADER_BYTES = 32 + 32 * 255 + 1


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file; every field is a CLI option.

    Attributes:
        layer: layer name (GeoPackage, KML) or shapefile name inside a zip.
        crs: CRS of the coordinates when the file has none (required for CSV); overrides a
            declared CRS, with a note.
        encoding: attribute text encoding of shapefiles and CSV; detected when None.
        gcj02: the longitude/latitude are GCJ-02 and are converted to WGS 84.
        xy_order: CSV only: ``north-east`` or ``east-north`` for X/Y columns.
        code_names: CSV only: candidate names of the code column (normalised).
        limits: safety caps (archives, JSON depth, vertices); default from the environment.
        scratch: folder under which archives are extracted (default: the system temporary
            folder); the extraction folder is removed once the file is read.
    """

    layer: str | None = None
    crs: str | None = None
    encoding: str | None = None
    gcj02: bool = False
    xy_order: str | None = None
    code_names: tuple[str, ...] = ("code",)
    limits: InputLimits = field(default_factory=InputLimits, compare=False)
    scratch: Path | None = None


@dataclass
class VectorSource:
    """A file read into memory.

    Attributes:
        frame: features with a 0-based positional index; geometry in EPSG:4326 (degrees),
            2D, None where the feature was rejected while reading.
        problems: reasons found while reading, by 0-based position.
        dbf_fields: shapefile field descriptors by decoded field name (numeric widths).
        fid_column: the GeoPackage row-id column offered for mapping; a row id is not an
            attribute of the plot, so it is stored only when mapped.
    """

    frame: gpd.GeoDataFrame
    path: Path
    driver: str
    layer: str | None
    source_crs: str
    encoding: str | None
    encoding_origin: str
    notes: list[Note] = field(default_factory=list)
    problems: dict[int, list[Note]] = field(default_factory=dict)
    dbf_fields: dict[str, DbfField] = field(default_factory=dict)
    fid_column: str | None = None


@dataclass
class _Shapefile:
    target: str
    layer: str
    dbf: bytes
    cpg: str | None


def _plain_shapefile(shp: Path, stem: str, limits: InputLimits, *, label: str) -> _Shapefile:
    """The .shp with its DBF header bytes and .cpg text (sidecars in any letter case)."""
    check_content(shp, limits, label=label)
    sidecars = {p.name.lower(): p for p in shp.parent.iterdir()}
    base = shp.name[:-4].lower()
    dbf, cpg = sidecars.get(base + ".dbf"), sidecars.get(base + ".cpg")
    return _Shapefile(
        str(shp),
        stem,
        dbf.open("rb").read(_DBF_HEADER_BYTES) if dbf else b"",
        cpg.read_text(encoding="ascii", errors="replace").strip() if cpg else None,
    )


def _shapefile(path: Path, options: ReadOptions, stack: ExitStack) -> _Shapefile:
    """Locate the .shp (beside, or inside a zip extracted by ``stack``)."""
    if path.suffix.lower() == ".shp":
        return _plain_shapefile(path, path.stem, options.limits, label=path.name)
    folder, names = stack.enter_context(extracted(path, options.limits, scratch=options.scratch))
    members = {Path(n).stem: n for n in names if n.lower().endswith(".shp")}
    layer = options.layer
    if not members:
        raise UnreadableFile(path=path.name, detail="no .shp in the zip")
    if layer is None and len(members) > 1:
        raise LayerRequired(path=path.name, layers=", ".join(sorted(members)))
    stem = layer if layer is not None else next(iter(members))
    if stem not in members:
        raise LayerNotFound(path=path.name, layer=stem, layers=", ".join(sorted(members)))
    label = f"{path.name}/{members[stem]}"
    return _plain_shapefile(folder / members[stem], stem, options.limits, label=label)


def _kmz_document(path: Path, options: ReadOptions, stack: ExitStack) -> Path:
    """Extract a KMZ, check it and every KML in it, and pack what passed into a clean KMZ.

    GDAL reads the repacked archive, never the uploaded one, so it sees exactly the checked
    entries (LIBKML resolves a KMZ's ``doc.kml`` NetworkLinks to ``layers/*.kml`` only
    inside an archive, so extracted files alone would not do).
    """
    folder, names = stack.enter_context(extracted(path, options.limits, scratch=options.scratch))
    kml = [n for n in names if n.lower().endswith(".kml")]
    if not kml:
        raise UnreadableFile(path=path.name, detail="no .kml in the kmz")
    for name in kml:
        check_kml(folder / name, label=f"{path.name}/{name}")
    # Google Earth reads doc.kml, else the first KML at the top level: keep it first.
    top = [n for n in kml if "/" not in n]
    main = next((n for n in top if n.lower() == "doc.kml"), (top or kml)[0])
    clean = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=options.scratch)))
    target = clean / path.name
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in [main, *(n for n in names if n != main)]:
            archive.write(folder / name, name)
    return target


def _pick_layer(target: str, path: Path, wanted: str | None) -> str:
    try:
        layers = [str(name) for name, kind in pyogrio.list_layers(target) if kind is not None]
    except (DataSourceError, DataLayerError) as exc:
        raise UnreadableFile(path=path.name, detail=str(exc)) from exc
    if wanted is not None:
        if wanted not in layers:
            raise LayerNotFound(path=path.name, layer=wanted, layers=", ".join(layers))
        return wanted
    if len(layers) != 1:
        if not layers:
            raise EmptySource(path=path.name)
        raise LayerRequired(path=path.name, layers=", ".join(layers))
    return layers[0]


def _read_gdal(path: Path, options: ReadOptions) -> VectorSource:
    with ExitStack() as stack:
        return _read_gdal_in(path, options, stack)


def _read_gdal_in(path: Path, options: ReadOptions, stack: ExitStack) -> VectorSource:
    suffix = path.suffix.lower()
    shape = _shapefile(path, options, stack) if suffix in (".shp", ".zip") else None
    if shape is not None:
        target = shape.target
    elif suffix == ".kmz":
        target = str(_kmz_document(path, options, stack))  # a repacked KMZ of checked entries
    else:
        check_content(path, options.limits)
        target = str(path)
    layer = None if shape else _pick_layer(target, path, options.layer)
    try:
        info = pyogrio.read_info(target, layer=layer, encoding=LATIN1 if shape else None)
    except (DataSourceError, DataLayerError, UnicodeDecodeError) as exc:
        raise UnreadableFile(path=path.name, detail=str(exc)) from exc
    if info["driver"] not in SUFFIXES[suffix]:
        raise UnreadableFile(path=path.name, detail=f"driver {info['driver']} is not allowed")
    encoding, origin, notes = None, "format", []
    read_encoding: str | None = None
    header = read_dbf_header(shape.dbf) if shape else None
    if shape is not None:
        if options.encoding is not None:
            encoding, origin = check_codec(options.encoding), "override"
            read_encoding = encoding
        elif shape.cpg:
            encoding, origin = shape.cpg, "cpg"
        else:
            read_encoding, origin = LATIN1, "detected"
    elif options.encoding is not None:
        notes.append(Note("import_note_encoding_ignored", {"driver": info["driver"]}))
    # A GeoPackage's FID column is a real, stable key: offer it as a field (``--map code=fid``).
    fid_column = str(info.get("fid_column") or "")
    try:
        frame = pyogrio.read_dataframe(
            target,
            layer=layer,
            encoding=read_encoding,
            force_2d=True,
            on_invalid="ignore",
            fid_as_index=bool(fid_column),
        )
    except (DataSourceError, DataLayerError, UnicodeDecodeError) as exc:
        raise UnreadableFile(path=path.name, detail=str(exc)) from exc
    if fid_column and fid_column not in frame.columns:
        frame.insert(0, fid_column, frame.index.to_numpy())
    if shape is not None and origin == "detected":
        encoding = detect_encoding(latin1_samples(frame))
        if encoding is None and header is not None:
            encoding, origin = ldid_codepage(header.ldid), "ldid"
        if encoding is None:
            raise EncodingUndetected(path=path.name)
        if encoding != "ASCII":
            frame = decode_latin1_frame(frame, encoding, path=path.name)
    dbf_fields: dict[str, DbfField] = {}
    if header is not None:
        name_encoding = encoding if encoding and encoding != "ASCII" else "UTF-8"
        for item in header.fields:
            dbf_fields[item.name.decode(name_encoding, errors="replace")] = item
    return VectorSource(
        frame=frame,
        path=path,
        driver=str(info["driver"]),
        layer=shape.layer if shape else layer,
        source_crs="",
        encoding=encoding,
        encoding_origin=origin,
        fid_column=fid_column or None,
        notes=notes,
        dbf_fields=dbf_fields,
    )


def _read_parquet(path: Path, options: ReadOptions) -> VectorSource:
    try:
        frame = gpd.read_parquet(path)
    except (OSError, ValueError, TypeError) as exc:
        raise UnreadableFile(path=path.name, detail=str(exc)) from exc
    frame = frame.set_geometry(shapely.force_2d(frame.geometry.values), crs=frame.crs)
    notes = []
    if options.encoding is not None:
        notes.append(Note("import_note_encoding_ignored", {"driver": "GeoParquet"}))
    return VectorSource(frame, path, "GeoParquet", None, "", None, "format", notes)


def _read_csv(path: Path, options: ReadOptions) -> VectorSource:
    if options.crs is None:
        raise MissingCrs(path=path.name)
    result = read_coordinate_csv(
        path,
        crs=parse_crs(options.crs),
        code_names=options.code_names,
        encoding=options.encoding,
        xy_order=options.xy_order,
    )
    return VectorSource(
        result.frame,
        path,
        "CSV",
        None,
        "",
        result.encoding,
        result.encoding_origin,
        result.notes,
        result.problems,
    )


def _non_finite(geoms: np.ndarray) -> np.ndarray:
    """Positions whose geometry has a NaN or infinite coordinate (vectorised)."""
    bad = np.zeros(len(geoms), dtype=bool)
    coords, owners = shapely.get_coordinates(geoms, return_index=True)
    np.logical_or.at(bad, owners, ~np.isfinite(coords).all(axis=1))
    return bad


def read_vector(path: Path, options: ReadOptions | None = None) -> VectorSource:
    """Read ``path`` into EPSG:4326 (longitude, latitude in degrees), 2D, index 0..n-1.

    Raises:
        UnsafePath, SourceMissing, UnsupportedFormat, UnreadableFile, LayerRequired,
        LayerNotFound, EmptySource, MissingCrs, InvalidCrs, ZonePrefixMismatch, AxesSwapped,
        EncodingUndetected, InvalidEncoding, CsvColumnsMissing, XyOrderUndetected, and the
        refusals of :mod:`ingest.limits` (archives, unsafe XML, content, JSON depth).
    """
    options = options or ReadOptions()
    check_local_path(path)
    if not path.is_file():
        raise SourceMissing(path=str(path))
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFormat(path=path.name, suffix=suffix or "—", supported=" ".join(SUFFIXES))
    if suffix == ".csv":
        source = _read_csv(path, options)
    elif suffix in (".parquet", ".geoparquet"):
        source = _read_parquet(path, options)
    else:
        source = _read_gdal(path, options)
    frame = source.frame.reset_index(drop=True)
    if len(frame) == 0:
        raise EmptySource(path=path.name)

    crs = frame.crs
    if options.crs is not None and source.driver != "CSV":
        given = parse_crs(options.crs)
        if crs is not None and not crs.equals(given):
            source.notes.append(
                Note(
                    "import_note_crs_overridden",
                    {"declared": crs_label(crs), "used": crs_label(given)},
                )
            )
        crs = given
    if crs is None:
        raise MissingCrs(path=path.name)
    crs = CRS.from_user_input(crs)

    geoms = frame.geometry.to_numpy()
    vertices = shapely.get_num_coordinates(geoms)
    cap = options.limits.max_vertices
    for pos in np.flatnonzero(vertices > cap):
        note = Note("import_problem_too_many_vertices", {"count": int(vertices[pos]), "limit": cap})
        source.problems.setdefault(int(pos), []).append(note)
    geoms = np.array(geoms, dtype=object)
    geoms[vertices > cap] = None
    bad = _non_finite(geoms)
    for pos in np.flatnonzero(bad):
        source.problems.setdefault(int(pos), []).append(Note("import_problem_not_finite"))
    geoms[bad] = None
    if crs.is_projected:
        coords = shapely.get_coordinates(geoms)
        crs, gk_notes = resolve_gk_prefix(crs, coords[:, 0], coords[:, 1], path=path.name)
        source.notes += gk_notes
    source.source_crs = crs_label(crs)
    series = gpd.GeoSeries(geoms, crs=crs)
    if not crs.equals(CRS.from_epsg(4326)):
        series = series.to_crs(4326)
    wgs84 = series.to_numpy()
    if options.gcj02:
        wgs84 = geometries_gcj02_to_wgs84(wgs84)
        source.notes.append(Note("import_note_gcj02"))
    attributes = frame.drop(columns=[frame.geometry.name])
    source.frame = gpd.GeoDataFrame(attributes, geometry=list(wgs84), crs=4326)
    return source
