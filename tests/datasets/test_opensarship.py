"""OpenSARShip adapter: the 4 real products, generated products with faults, ship geometry."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from sargeo.datasets.opensarship import load_opensarship, ship_rectangle
from tests.datasets.helpers import ship_xml_entry, write_chip

BROKEN = "S1A_IW_GRDH_1SDV_20160131T101646_20160131T101715_009737_00E392_36F7"
SLC = "S1A_IW_SLC__1SDV_20160606T221231_20160606T221258_011596_011B8A_3FF3"


def test_real_products(shared_data: Path) -> None:
    result = load_opensarship(shared_data / "opensarship")
    assert len(result.samples) == 133
    assert Counter(s.scene for s in result.samples) == {
        BROKEN: 72,
        "S1A_IW_GRDH_1SDV_20161018T095407_20161018T095432_013543_015ACD_AB15": 40,
        "S1A_IW_GRDH_1SDV_20150823T221233_20150823T221258_007396_00A2CA_54D0": 12,
        SLC: 9,
    }
    # this product's Ship.xml ends with '<\ShipList>': reported, and its 72 ships are kept
    (skipped,) = result.skipped
    assert skipped.location == f"{BROKEN}/Ship.xml: line 4489"
    assert skipped.kind == "malformed XML"
    assert result.summary() == "133 samples, 1 skipped (1 malformed XML)"

    types = Counter(s.boxes[0].attributes["ship_type"] for s in result.samples)
    assert types["Cargo"] == 80 and types["Tanker"] == 27 and types["Other Type"] == 23
    for sample in result.samples:
        (box,) = sample.boxes
        x0, y0, x1, y1 = box.bbox
        assert 0 <= x0 < x1 <= sample.width and 0 <= y0 < y1 <= sample.height
        assert Path(sample.image).name.startswith(box.attributes["ship_type"] + "_x")
        assert sample.metadata["polarisations"] == ["VH", "VV"]
        assert 20 < sample.metadata["incidence_deg"] < 50
        assert sample.tile is not None and sample.tile.units == "linear"
        assert sample.tile.window.width == sample.width
    first = next(s for s in result.samples if s.id.endswith("Cargo_x10661_y11170"))
    attrs = first.boxes[0].attributes
    assert attrs["ship_type_detail"] == "General Cargo"
    assert (attrs["length_m"], attrs["width_m"], attrs["mmsi"]) == (179.0, 27.0, 624014000)
    assert first.metadata["scene_window"] == {"col": 10623, "row": 11132, "width": 77, "height": 77}
    assert first.metadata["pixel_spacing_m"] == [10.0, 10.00878]
    # SLC: ground range spacing from the slant range spacing and the incidence angle
    slc = next(s for s in result.samples if s.scene == SLC)
    assert slc.metadata["slant_range_spacing_m"] == pytest.approx(2.32956)
    assert 3 < slc.metadata["pixel_spacing_m"][0] < 4.5


def test_one_product_folder(shared_data: Path) -> None:
    result = load_opensarship(shared_data / "opensarship" / SLC)
    assert result.summary() == "9 samples, 0 skipped"
    assert all(s.labels == ("ship",) for s in result.samples)


def _product(tmp_path: Path, entries: list[str], text_end: str = "</ShipList>") -> Path:
    product = tmp_path / "S1A_IW_GRDH_1SDV_20170101T000000_20170101T000025_000001_000001_AAAA"
    (product / "Patch_Cal").mkdir(parents=True)
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n<ShipList>\n' + "".join(entries) + text_end
    (product / "Ship.xml").write_text(xml, encoding="utf-8")
    return product


def test_generated_product_with_faults(tmp_path: Path) -> None:
    good = ship_xml_entry((100, 200), 31, head=(100, 190), tail=(100, 210))
    no_chip = ship_xml_entry((300, 300), 31, head=(300, 290), tail=(300, 310))
    wrong_size = ship_xml_entry((400, 400), 31, head=(400, 390), tail=(400, 410))
    broken = ship_xml_entry((500, 500), 31, head=(500, 490), tail=(500, 510)).replace(
        "<Head_x>", "<Head_x attr=>"
    )
    product = _product(tmp_path, [good, no_chip, wrong_size, broken])
    write_chip(product / "Patch_Cal" / "Cargo_x100_y200.tif", 31)
    write_chip(product / "Patch_Cal" / "Tanker_x400_y400.tif", 25)
    write_chip(product / "Patch_Cal" / "Fishing_x7_y7.tif", 31)
    write_chip(product / "Patch_Cal" / "notes.tif", 31)
    result = load_opensarship(tmp_path)
    name = product.name
    by_location = {s.location: s.reason for s in result.skipped}
    assert by_location[f"{name}/Patch_Cal/Fishing_x7_y7.tif"] == "no Ship.xml entry at x=7 y=7"
    assert by_location[f"{name}/Patch_Cal/notes.tif"] == "chip name is not <Type>_x<col>_y<row>"
    assert by_location[f"{name}/Patch_Cal/Tanker_x400_y400.tif"] == (
        "chip size 25x25 differs from Ship.xml box 31x31"
    )
    assert by_location[f"{name}/Ship.xml: ship 2 (line 36)"] == (
        "missing file Patch_Cal/<Type>_x300_y300.tif"
    )
    assert by_location[f"{name}/Ship.xml: ship 4 (line 105)"] == (
        "malformed XML (not well-formed (invalid token))"
    )
    assert result.summary() == (
        "1 samples, 5 skipped (1 malformed XML, 1 no Ship.xml entry, 1 chip size mismatch, "
        "1 unexpected chip name, 1 missing file)"
    )
    (sample,) = result.samples
    (box,) = sample.boxes
    # ship from row 190 to 210 (pixel centres) in a chip from row 185: vertical, 30 m beam at 10 m
    assert box.bbox == pytest.approx((15.5 - 1.5, 5.5, 15.5 + 1.5, 25.5))
    assert box.obox == pytest.approx((15.5, 15.5, 20.0, 3.0, 0.0))  # heading up: head above tail
    assert box.attributes["ship_type"] == "Cargo"
    assert "heading_deg" not in box.attributes  # AIS 511 = not available
    assert sample.metadata["polarisations"] == ["VH", "VV"]  # from the product name (1SDV)
    assert sample.metadata["pixel_spacing_m"] == [10.0, 10.0]  # GRDH default without metadata


def test_missing_ship_xml(tmp_path: Path) -> None:
    product = _product(tmp_path, [])
    (product / "Ship.xml").unlink()
    result = load_opensarship(tmp_path)
    assert result.skipped[0].location == f"{product.name}/Ship.xml"
    assert result.skipped[0].reason == "missing file Ship.xml"


def test_ship_rectangle_non_square_pixels() -> None:
    # a ship along the azimuth (y) axis with 4 m x 14 m pixels; beam 28 m = 7 px in x
    geometry = ship_rectangle((10.0, 5.0), (10.0, 15.0), 28.0, (4.0, 14.0))
    xs = [x for x, _ in geometry.corners]
    assert (min(xs), max(xs)) == pytest.approx((6.5, 13.5))
    cx, cy, length, width, heading = geometry.obox
    assert (cx, cy, length, width, heading) == pytest.approx((10.0, 10.0, 10.0, 7.0, 0.0))
    # heading east: head to the right of the tail
    east = ship_rectangle((20.0, 10.0), (10.0, 10.0), None, None)
    assert east.obox[4] == pytest.approx(90.0)
    assert east.obox[3] == pytest.approx(2.0)  # no beam: a fifth of the length
    diagonal = ship_rectangle((13.0, 6.0), (10.0, 10.0), 10.0, (1.0, 1.0))
    assert diagonal.obox[2] == pytest.approx(5.0)
    assert diagonal.obox[4] == pytest.approx(math.degrees(math.atan2(3, 4)))
