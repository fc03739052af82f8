"""Pascal VOC adapter: SSDD-style (with rotated boxes), roLabelImg, AIR-SARShip-2.0 points, faults."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sargeo.datasets.voc import load_voc, obox_from_corners, rectangle_corners
from tests.datasets.helpers import write_image

SSDD_XML = """<annotation>
  <folder>JPEGImages</folder>
  <filename>000001.jpg</filename>
  <size><width>40</width><height>30</height><depth>3</depth></size>
  <object>
    <name>ship</name><difficult>0</difficult>
    <bndbox><xmin>4</xmin><ymin>5</ymin><xmax>14</xmax><ymax>9</ymax></bndbox>
    <rotated_bndbox>
      <x1>4</x1><y1>5</y1><x2>14</x2><y2>5</y2><x3>14</x3><y3>9</y3><x4>4</x4><y4>9</y4>
      <rotated_bbox_cx>9</rotated_bbox_cx><rotated_bbox_cy>7</rotated_bbox_cy>
      <rotated_bbox_w>10</rotated_bbox_w><rotated_bbox_h>4</rotated_bbox_h>
      <rotated_bbox_theta>0</rotated_bbox_theta>
    </rotated_bndbox>
  </object>
  <object>
    <name>ship</name>
    <bndbox><xmin>30</xmin><ymin>5</ymin><xmax>52</xmax><ymax>9</ymax></bndbox>
  </object>
  <object>
    <name>ship</name>
    <bndbox><xmin>20</xmin><ymin>10</ymin><xmax>26</xmax><ymax>28</ymax></bndbox>
  </object>
</annotation>
"""

ROLABELIMG_XML = """<annotation>
  <filename>000002.png</filename>
  <size><width>40</width><height>30</height></size>
  <object><type>robndbox</type><name>ship</name>
    <robndbox><cx>20</cx><cy>15</cy><w>16</w><h>4</h><angle>1.5707963267948966</angle></robndbox>
  </object>
</annotation>
"""

GAOFEN_XML = """<annotation>
  <source><filename>gf3_0003.tiff</filename><origin>GF3</origin></source>
  <size><width>40</width><height>30</height><depth>1</depth></size>
  <objects>
    <object>
      <coordinate>pixel</coordinate><type>rectangle</type>
      <possibleresult><name>ship</name><probability>1</probability></possibleresult>
      <points><point>10,10</point><point>20,10</point><point>20,14</point><point>10,14</point>
        <point>10,10</point></points>
    </object>
    <object>
      <possibleresult><name>ship</name></possibleresult>
      <points><point>1,1</point><point>x,2</point><point>3,3</point><point>1,3</point></points>
    </object>
  </objects>
</annotation>
"""


def _dataset(tmp_path: Path) -> tuple[Path, Path]:
    ann, img = tmp_path / "Annotations", tmp_path / "JPEGImages"
    ann.mkdir()
    write_image(img / "000001.jpg", 40, 30)
    write_image(img / "000002.png", 40, 30)
    write_image(img / "gf3_0003.tiff", 40, 30)
    write_image(img / "000005.jpg", 40, 30)
    (ann / "000001.xml").write_text(SSDD_XML)
    (ann / "000002.xml").write_text(ROLABELIMG_XML)
    (ann / "000003.xml").write_text(GAOFEN_XML)
    (ann / "000004.xml").write_text(SSDD_XML.replace("000001.jpg", "000004.jpg"))  # no image
    (ann / "000005.xml").write_text("<annotation>\n  <filename>000005.jpg</filename>\n  <size>\n")
    (ann / "000006.xml").write_text(
        SSDD_XML.replace("<width>40</width>", "<width>400</width>").replace("000001", "000006")
    )
    write_image(img / "000006.jpg", 40, 30)
    return ann, img


def test_voc_layouts_and_faults(tmp_path: Path) -> None:
    ann, img = _dataset(tmp_path)
    result = load_voc(ann, img)
    by_location = {s.location: s.reason for s in result.skipped}
    assert by_location["000001.xml: object 2"].startswith("box outside the image")
    assert by_location["000003.xml: object 2"] == "malformed box ('x' is not a number)"
    assert by_location["000004.xml"] == "missing file 000004.jpg"
    assert by_location["000005.xml: line 4"].startswith("malformed XML")
    assert by_location["000006.xml"] == "image size mismatch: XML 400x30, file 40x30"
    assert result.summary() == (
        "3 samples, 5 skipped (1 box outside the image, 1 malformed box, 1 missing file, "
        "1 malformed XML, 1 image size mismatch)"
    )
    samples = {s.id: s for s in result.samples}
    assert sorted(samples) == ["000001", "000002", "gf3_0003"]
    assert all(s.labels == ("ship",) for s in result.samples)  # the classes the files use

    ssdd = samples["000001"].boxes
    assert [b.bbox for b in ssdd] == [(4.0, 5.0, 14.0, 9.0), (20.0, 10.0, 26.0, 28.0)]
    assert ssdd[0].obox == pytest.approx((9.0, 7.0, 10.0, 4.0, 90.0))  # long side along x
    assert ssdd[1].obox is None and ssdd[0].attributes == {"difficult": 0}

    (rolabel,) = samples["000002"].boxes
    assert rolabel.obox == pytest.approx((20.0, 15.0, 16.0, 4.0, 0.0), abs=1e-5)  # turned upright
    assert rolabel.bbox == pytest.approx((18.0, 7.0, 22.0, 23.0), abs=1e-5)

    (gaofen,) = samples["gf3_0003"].boxes
    assert gaofen.bbox == (10.0, 10.0, 20.0, 14.0)
    assert samples["gf3_0003"].metadata["sensor"] == "GF3"


def test_image_found_by_stem_when_filename_is_wrong(tmp_path: Path) -> None:
    ann = tmp_path / "ann"
    ann.mkdir()
    write_image(tmp_path / "img" / "000001.png", 40, 30)
    (ann / "000001.xml").write_text(SSDD_XML)  # says .jpg; the file is .png
    result = load_voc(ann, tmp_path / "img")
    assert len(result.samples) == 1 and result.samples[0].image.endswith("000001.png")


def test_oriented_box_geometry() -> None:
    corners = rectangle_corners(0.0, 0.0, 10.0, 2.0, math.radians(30))
    cx, cy, length, width, angle = obox_from_corners(corners)
    assert (cx, cy, length, width) == pytest.approx((0.0, 0.0, 10.0, 2.0))
    assert angle == pytest.approx(120.0)  # x axis turned 30 deg clockwise: 90 + 30 from up
    upright = rectangle_corners(5.0, 5.0, 2.0, 10.0, 0.0)
    assert obox_from_corners(upright)[4] == pytest.approx(0.0)


@given(
    cx=st.floats(-500, 500),
    cy=st.floats(-500, 500),
    length=st.floats(2, 300),
    ratio=st.floats(0.05, 0.9),
    angle=st.floats(0, 179.9),
)
def test_obox_recovers_a_turned_rectangle(
    cx: float, cy: float, length: float, ratio: float, angle: float
) -> None:
    # a rectangle with its long side along +x, turned clockwise by ``angle`` deg: heading 90 + angle
    corners = rectangle_corners(cx, cy, length, length * ratio, math.radians(angle))
    got = obox_from_corners(corners)
    assert got[:4] == pytest.approx((cx, cy, length, length * ratio), abs=1e-6)
    expected = (90.0 + angle) % 180.0
    diff = abs(got[4] - expected) % 180.0
    assert min(diff, 180.0 - diff) < 1e-6
