"""Segmentation adapter: the real Sen1Floods11 chip, and generated image/label pairs with faults."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sargeo.datasets.segmentation import load_segmentation, load_sen1floods11
from sargeo.errors import ReadError
from tests.datasets.helpers import write_raster

CLASSES = {0: "land", 1: "water"}


def test_sen1floods11_real_chip(shared_data: Path) -> None:
    root = shared_data / "sen1floods11"
    result = load_segmentation(
        root / "Spain_7370579_S1Hand.tif", root / "Spain_7370579_LabelHand.tif", CLASSES, nodata=-1
    )
    assert result.summary() == "1 samples, 0 skipped"
    (sample,) = result.samples
    assert (sample.width, sample.height) == (512, 512)
    assert sample.mask == str(root / "Spain_7370579_LabelHand.tif")
    assert sample.mask_classes == CLASSES
    # README: -1: 99 px, 0: 192010 px, 1: 70035 px
    assert sample.metadata["class_fractions"]["water"] == pytest.approx(70035 / (192010 + 70035))
    assert sample.metadata["labelled_fraction"] == pytest.approx(1 - 99 / 512**2)
    tile = sample.tile
    assert tile is not None
    assert tile.crs == "EPSG:4326"
    assert tile.polarisations == ("VV", "VH") and tile.units == "dB"
    assert tile.bounds[0] == pytest.approx(-0.78189, abs=1e-4)
    assert tile.bounds[3] == pytest.approx(38.12881, abs=1e-4)
    assert 7 < tile.pixel_spacing[0] < 9 and 9 < tile.pixel_spacing[1] < 11  # ~10 m at 38 N
    assert tile.valid_fraction == 1.0


def test_sen1floods11_folder(shared_data: Path) -> None:
    result = load_sen1floods11(shared_data / "sen1floods11")
    (sample,) = result.samples
    assert sample.id == "Spain_7370579" and sample.scene == "Spain"
    assert sample.optical is not None and sample.optical.endswith("Spain_7370579_S2Hand.tif")
    assert sample.metadata["s1_date"] == "2019/09/17"
    assert sample.metadata["sensor"] == "Sentinel-1"


def _pair(tmp_path: Path, label: np.ndarray, **label_kw: object) -> tuple[Path, Path]:
    image = np.full((2, 20, 30), -12.0, dtype=np.float32)
    image[:, :2, :] = np.nan  # two nodata rows
    img = write_raster(tmp_path / "x_S1Hand.tif", image, descriptions=("VV", "VH"))
    lab = write_raster(tmp_path / "x_LabelHand.tif", label, **label_kw)  # type: ignore[arg-type]
    return img, lab


def test_generated_pair(tmp_path: Path) -> None:
    label = np.zeros((1, 20, 30), dtype=np.int16)
    label[0, :, :10] = 1
    label[0, 0, :] = -1
    img, lab = _pair(tmp_path, label)
    (sample,) = load_segmentation(img, lab, CLASSES, nodata=-1).samples
    assert sample.metadata["class_fractions"]["water"] == pytest.approx(190 / 570)
    assert sample.metadata["mask_nodata"] == -1
    assert sample.labels == ("land", "water")  # the mask's classes
    assert sample.tile is not None
    assert sample.tile.crs == "EPSG:32631"
    assert sample.tile.pixel_spacing == (10.0, 10.0)
    assert sample.tile.bounds == (500000.0, 4599800.0, 500300.0, 4600000.0)
    assert sample.tile.valid_fraction == pytest.approx(18 / 20)


def test_label_on_another_grid_is_skipped(tmp_path: Path) -> None:
    img, lab = _pair(tmp_path, np.zeros((1, 20, 30), dtype=np.uint8), origin=(500010.0, 4600000.0))
    result = load_segmentation(img, lab, CLASSES)
    assert result.samples == []
    (skipped,) = result.skipped
    assert skipped.location == str(lab)
    assert skipped.reason == "label grid differs from image grid: different transform"
    img, lab = _pair(tmp_path, np.zeros((1, 10, 30), dtype=np.uint8))
    assert "size 30x10 vs 30x20" in load_segmentation(img, lab, CLASSES).skipped[0].reason


def test_unknown_label_values_and_missing_files(tmp_path: Path) -> None:
    label = np.zeros((1, 20, 30), dtype=np.uint8)
    label[0, 5, 5] = 7
    img, lab = _pair(tmp_path, label)
    result = load_segmentation(img, lab, CLASSES)
    assert result.summary() == "0 samples, 1 skipped (1 label values not in classes)"
    assert result.skipped[0].reason == "label values not in classes: 7"
    missing = load_segmentation(img, tmp_path / "absent.tif", CLASSES)
    assert missing.skipped[0].reason == "missing file absent.tif"


def test_sen1floods11_folder_with_a_missing_label(tmp_path: Path) -> None:
    label = np.ones((1, 20, 30), dtype=np.int16)
    img, _ = _pair(tmp_path / "S1Hand", label)
    img.rename(tmp_path / "S1Hand" / "Peru_1_S1Hand.tif")
    _pair(tmp_path / "other", label)
    (tmp_path / "other" / "x_S1Hand.tif").rename(tmp_path / "S1Hand" / "Peru_2_S1Hand.tif")
    (tmp_path / "other" / "x_LabelHand.tif").rename(tmp_path / "Peru_2_LabelHand.tif")
    result = load_sen1floods11(tmp_path)
    assert [s.id for s in result.samples] == ["Peru_2"]
    assert result.samples[0].metadata["class_fractions"] == {"land": 0.0, "water": 1.0}
    assert result.skipped[0].reason == "missing file Peru_1_LabelHand.tif"


def _truncated_pair(folder: Path, which: str) -> tuple[Path, Path]:
    """A Sen1Floods11-named pair, one of them cut short: its header (written first, without band
    descriptions) still opens, its last strips are gone."""
    img = write_raster(folder / "Peru_1_S1Hand.tif", np.full((2, 40, 30), -12.0, dtype=np.float32))
    lab = write_raster(folder / "Peru_1_LabelHand.tif", np.ones((1, 40, 30), dtype=np.int16))
    bad = img if which == "image" else lab
    data = bad.read_bytes()
    bad.write_bytes(data[: int(len(data) * 0.6)])
    return img, lab


@pytest.mark.parametrize("which", ["image", "label"])
def test_unreadable_pixels_are_a_read_error_naming_the_file(tmp_path: Path, which: str) -> None:
    img, lab = _truncated_pair(tmp_path, which)
    bad = img if which == "image" else lab
    with pytest.raises(
        ReadError, match=rf"^{bad}: the (sample )?pixels cannot be read \(.*TIFFRead"
    ):
        load_segmentation(img, lab, CLASSES)


def test_narrate_on_a_truncated_sen1floods11_chip_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sargeo.cli import main

    img, _ = _truncated_pair(tmp_path / "flood", "image")
    capsys.readouterr()
    assert main(["narrate", str(tmp_path / "flood"), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"sargeo narrate: error: {img}: the sample pixels cannot be read"), err
    assert not (tmp_path / "out").exists()
