"""SAR-optical pairs: generated SEN1-2 and OSdataset folders, with unpaired and mismatched files."""

from __future__ import annotations

from pathlib import Path

from sargeo.datasets.pairs import load_pairs, pair_key
from tests.datasets.helpers import write_image


def _sen12(root: Path) -> Path:
    season = root / "ROIs1158_spring"
    for roi in (1, 2):
        for patch in (30, 31):
            write_image(season / f"s1_{roi}" / f"ROIs1158_spring_s1_{roi}_p{patch}.png", 16, 16)
            write_image(season / f"s2_{roi}" / f"ROIs1158_spring_s2_{roi}_p{patch}.png", 16, 16)
    (season / "s2_2" / "ROIs1158_spring_s2_2_p31.png").unlink()  # SAR without optical
    write_image(season / "s2_2" / "ROIs1158_spring_s2_2_p99.png", 16, 16)  # optical without SAR
    write_image(season / "s2_1" / "ROIs1158_spring_s2_1_p30.png", 8, 8)  # size mismatch
    return root


def test_pair_key() -> None:
    sar = pair_key("ROIs1158_spring/s1_1/ROIs1158_spring_s1_1_p30.png", sar=True)
    opt = pair_key("ROIs1158_spring/s2_1/ROIs1158_spring_s2_1_p30.png", sar=False)
    assert sar == opt == "rois1158_spring/*_1/rois1158_spring_*_1_p30"
    assert pair_key("sar12.png", sar=True) == pair_key("opt12.png", sar=False) == "*12"
    assert pair_key("0001.png", sar=True) == pair_key("0001.png", sar=False)


def test_sen12_layout(tmp_path: Path) -> None:
    root = _sen12(tmp_path)
    result = load_pairs(root, root)
    by_location = {s.location: s.reason for s in result.skipped}
    assert by_location["ROIs1158_spring/s1_2/ROIs1158_spring_s1_2_p31.png"].startswith(
        "missing file: no optical image"
    )
    assert by_location["ROIs1158_spring/s2_2/ROIs1158_spring_s2_2_p99.png"].startswith(
        "missing file: no SAR image"
    )
    assert by_location["ROIs1158_spring/s1_1/ROIs1158_spring_s1_1_p30.png"] == (
        "size mismatch: SAR 16x16, optical 8x8"
    )
    assert result.summary() == "2 samples, 3 skipped (2 missing file, 1 size mismatch)"
    samples = {Path(s.image).name: s for s in result.samples}
    good = samples["ROIs1158_spring_s1_1_p31.png"]
    assert good.optical is not None and good.optical.endswith("s2_1/ROIs1158_spring_s2_1_p31.png")
    assert good.scene == "ROIs1158_spring_1"
    assert samples["ROIs1158_spring_s1_2_p30.png"].scene == "ROIs1158_spring_2"
    assert good.metadata["sensor"] == "Sentinel-1" and good.metadata["dataset"] == "SEN1-2"


def test_osdataset_layout(tmp_path: Path) -> None:
    for name in ("1.png", "2.png", "3.png"):
        write_image(tmp_path / "sar" / name, 12, 12)
    for name in ("1.png", "2.png"):
        write_image(tmp_path / "opt" / name, 12, 12)
    result = load_pairs(tmp_path / "sar", tmp_path / "opt")
    assert [Path(s.image).name for s in result.samples] == ["1.png", "2.png"]
    assert all(s.optical is not None and "/opt/" in s.optical for s in result.samples)
    assert all(s.labels == () for s in result.samples)  # nothing annotated
    assert [s.location for s in result.skipped] == ["3.png"]
    assert result.summary() == "2 samples, 1 skipped (1 missing file)"
