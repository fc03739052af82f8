"""GeoPackage polygon layers written with the standard library's ``sqlite3`` (OGC GeoPackage 1.3).

Why not GDAL: the runtime also runs inside QGIS's Python, which has no geopandas or pyogrio, and its
``osgeo.ogr`` is absent from the toolkit's venv (rasterio brings its own GDAL without Python bindings).
A GeoPackage is an SQLite file with a few fixed tables, so one writer in the standard library serves
the CLI and the plugin alike: the feature table, ``gpkg_spatial_ref_sys`` with the CRS as WKT,
``gpkg_contents`` with the layer's extent, ``gpkg_geometry_columns``, and QGIS's ``layer_styles``
table with a default style, so that the layer looks right when dragged into QGIS. Geometries are
GeoPackage binary: a header with the SRS id and envelope, then little-endian WKB.

No spatial index is written; GDAL and QGIS read such files (QGIS builds its own index when needed).
"""

from __future__ import annotations

import math
import sqlite3
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sargeo.errors import OutputError

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10300  # GeoPackage 1.3
CUSTOM_SRS_ID = 100000
"""SRS id given to a CRS without an EPSG code (its WKT is stored as it is)."""

Ring = Sequence[tuple[float, float]]

_WGS84 = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",'
    '0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],'
    'AUTHORITY["EPSG","4326"]]'
)


@dataclass(frozen=True)
class Crs:
    """A layer's CRS: ``EPSG:n`` (or empty) and its WKT; both empty for pixel coordinates."""

    code: str
    wkt: str

    def srs(self) -> tuple[str, int, str, int, str]:
        """(srs_name, srs_id, organization, organization_coordsys_id, definition)."""
        if self.code.upper().startswith("EPSG:") and self.code[5:].isdigit():
            number = int(self.code[5:])
            return self.code, number, "EPSG", number, self.wkt or "undefined"
        if self.wkt:
            return "custom", CUSTOM_SRS_ID, "NONE", CUSTOM_SRS_ID, self.wkt
        return "Undefined cartesian SRS", -1, "NONE", -1, "undefined"


@dataclass(frozen=True)
class Field:
    """An attribute column: name and GeoPackage type (``TEXT``, ``MEDIUMINT``, ``INTEGER``, ``REAL``)."""

    name: str
    kind: str


@dataclass(frozen=True)
class Style:
    """A QGIS style (QML) stored as the layer's default in ``layer_styles``."""

    name: str
    qml: str
    description: str = ""


def _geometry(ring: Ring, srs_id: int) -> bytes:
    """GeoPackage binary of a polygon with one ring (closed here if open)."""
    points = list(ring)
    if points[0] != points[-1]:
        points.append(points[0])
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    header = b"GP" + bytes([0, 0b0000_0011]) + struct.pack("<i", srs_id)
    envelope = struct.pack("<4d", min(xs), max(xs), min(ys), max(ys))
    wkb = struct.pack("<BIII", 1, 3, 1, len(points))
    wkb += b"".join(struct.pack("<2d", x, y) for x, y in points)
    return header + envelope + wkb


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_BASE_TABLES = """
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY,
  organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
  description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
  identifier TEXT UNIQUE, description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
"""

_STYLE_TABLE = """
CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),
  f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256),
  styleName TEXT(30), styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT,
  owner TEXT(30), ui TEXT(30), update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
INSERT INTO gpkg_contents (table_name, data_type, identifier, description)
  VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS styles');
"""


def _start(db: sqlite3.Connection) -> None:
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {USER_VERSION}")
    db.executescript(_BASE_TABLES)
    db.executemany(
        "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian"),
            ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic"),
            ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84, "longitude/latitude WGS 84"),
        ],
    )


def write_polygons(
    path: Path,
    layer: str,
    crs: Crs,
    fields: Sequence[Field],
    features: Iterable[tuple[Ring, Sequence[Any]]],
    style: Style | None = None,
) -> int:
    """Write a new GeoPackage at ``path`` with one polygon layer; returns the number of features.

    Args:
        path: A file that does not exist yet (callers write under a temporary name, then rename).
        layer: The layer (table) name.
        crs: The CRS of the coordinates.
        fields: Attribute columns, in the order of each feature's values.
        features: (ring of (x, y) corners, values) per feature.
        style: A QGIS style made the layer's default.
    """
    if path.exists():
        raise OutputError(f"{path} exists; GeoPackages are written anew under a temporary name")
    srs_name, srs_id, org, org_id, definition = crs.srs()
    columns = ", ".join(f"{_quote(f.name)} {f.kind}" for f in fields)
    db = sqlite3.connect(str(path))
    try:
        _start(db)
        if srs_id not in (-1, 0, 4326):
            db.execute(
                "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                (srs_name, srs_id, org, org_id, definition, ""),
            )
        db.execute(
            f"CREATE TABLE {_quote(layer)} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,"
            f" geom POLYGON{', ' + columns if columns else ''})"
        )
        bounds = [math.inf, math.inf, -math.inf, -math.inf]

        def rows() -> Iterable[tuple[Any, ...]]:
            for ring, values in features:
                for x, y in ring:
                    bounds[0], bounds[1] = min(bounds[0], x), min(bounds[1], y)
                    bounds[2], bounds[3] = max(bounds[2], x), max(bounds[3], y)
                yield (_geometry(ring, srs_id), *values)

        marks = ", ".join("?" * (len(fields) + 1))
        names = ", ".join(["geom", *(_quote(f.name) for f in fields)])
        cursor = db.executemany(f"INSERT INTO {_quote(layer)} ({names}) VALUES ({marks})", rows())
        count = cursor.rowcount
        extent = bounds if count > 0 else [None] * 4
        db.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, min_x, min_y, max_x,"
            " max_y, srs_id) VALUES (?, 'features', ?, ?, ?, ?, ?, ?)",
            (layer, layer, *extent, srs_id),
        )
        db.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POLYGON', ?, 0, 0)",
            (layer, srs_id),
        )
        if style is not None:
            db.executescript(_STYLE_TABLE)
            db.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name,"
                " f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description,"
                " owner, ui) VALUES ('', '', ?, 'geom', ?, ?, '', 1, ?, '', '')",
                (layer, style.name, style.qml, style.description),
            )
        db.commit()
    finally:
        db.close()
    return max(count, 0)
