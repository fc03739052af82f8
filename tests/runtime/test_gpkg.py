"""GeoPackages from the standard library's sqlite3: GDAL reads them, with CRS, fields and style."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest
from rasterio.crs import CRS

from sargeo.errors import OutputError
from sargeo.runtime.gpkg import Crs, Field, Style, write_polygons
from sargeo.runtime.styles import VIRIDIS, graduated_qml

FIELDS = [Field("name", "TEXT"), Field("rank", "MEDIUMINT"), Field("score", "REAL")]


def _square(x: float, y: float, side: float = 10.0) -> list[tuple[float, float]]:
    return [(x, y), (x + side, y), (x + side, y - side), (x, y - side)]


def test_features_fields_and_crs(tmp_path: Path) -> None:
    path = tmp_path / "out.gpkg"
    crs = Crs("EPSG:32633", CRS.from_epsg(32633).to_wkt())
    features = [(_square(500000 + 10 * i, 5000000), [f"t{i}", i, i / 4]) for i in range(5)]
    assert write_polygons(path, "tiles", crs, FIELDS, features) == 5
    info = pyogrio.read_info(path, layer="tiles")
    assert info["crs"] == "EPSG:32633" and info["geometry_type"] == "Polygon"
    assert list(info["fields"]) == ["name", "rank", "score"]
    assert list(info["ogr_types"]) == ["OFTString", "OFTInteger", "OFTReal"]
    assert info["total_bounds"] == (500000.0, 4999990.0, 500050.0, 5000000.0)
    frame = pyogrio.read_dataframe(path, layer="tiles")
    assert frame["name"].tolist() == [f"t{i}" for i in range(5)]
    assert frame.geometry.iloc[2].bounds == (500020.0, 4999990.0, 500030.0, 5000000.0)
    assert frame.geometry.iloc[2].area == pytest.approx(100.0)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_crs_without_epsg_code_and_pixel_coordinates(tmp_path: Path) -> None:
    custom = CRS.from_proj4("+proj=tmerc +lat_0=0 +lon_0=13.3 +k=0.9996 +x_0=400000 +datum=WGS84")
    write_polygons(
        tmp_path / "a.gpkg", "t", Crs("", custom.to_wkt()), FIELDS, [(_square(0, 0), ["a", 1, 0.5])]
    )
    read = pyogrio.read_dataframe(tmp_path / "a.gpkg")
    assert CRS.from_user_input(read.crs.to_wkt()).to_proj4() == custom.to_proj4()
    write_polygons(tmp_path / "b.gpkg", "t", Crs("", ""), FIELDS, [(_square(0, 0), ["b", 1, 0.5])])
    assert "Undefined Cartesian SRS" in pyogrio.read_info(tmp_path / "b.gpkg")["crs"]


def test_an_empty_layer_and_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gpkg"
    assert write_polygons(path, "search", Crs("EPSG:4326", ""), FIELDS, []) == 0
    assert pyogrio.read_info(path, layer="search")["features"] == 0
    with pytest.raises(OutputError, match="exists"):
        write_polygons(path, "search", Crs("EPSG:4326", ""), FIELDS, [])


def test_the_default_style_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "styled.gpkg"
    qml = graduated_qml("score", [0.1, 0.3, 0.6], label="rank")
    features = [(_square(0, 0), ["a", 1, 0.6]), (_square(20, 0), ["b", 2, 0.1])]
    write_polygons(path, "search", Crs("EPSG:3857", ""), FIELDS, features, Style("s", qml))
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT f_table_name, f_geometry_column, styleName, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()
        kinds = dict(db.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
    assert rows == [("search", "geom", "s", qml, 1)]
    assert kinds == {"search": "features", "layer_styles": "attributes"}
    root = ET.fromstring(qml.split("'SYSTEM'>", 1)[1])
    renderer = root.find("renderer-v2")
    assert renderer is not None and renderer.get("type") == "graduatedSymbol"
    assert renderer.get("attr") == "score"
    ranges = renderer.findall("ranges/range")
    assert float(ranges[0].get("lower", "nan")) == pytest.approx(0.1)
    assert float(ranges[-1].get("upper", "nan")) == pytest.approx(0.6)
    assert len(ranges) == len(VIRIDIS) == len(renderer.findall("symbols/symbol"))
    assert root.find("labeling/settings/text-style").get("fieldName") == "rank"  # type: ignore[union-attr]
