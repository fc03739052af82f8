"""AdapterResult, Skipped and the box checks every adapter shares."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sargeo.datasets.base import (
    AdapterResult,
    Skipped,
    check_box,
    image_size,
    image_truncation,
    reason_kind,
)
from sargeo.records import Sample
from tests.datasets.helpers import write_chip, write_image, write_noise_image


def test_summary_groups_reasons_by_kind() -> None:
    result = AdapterResult(samples=[Sample(f"s{i}", "x.jpg", 8, 8) for i in range(18)])
    result.skip("instances.json: annotation 17", "box outside the image [1.0, 2.0, 90.0, 4.0]")
    result.skip("instances.json: image 5", "missing file x.jpg")
    assert result.summary() == "18 samples, 2 skipped (1 box outside the image, 1 missing file)"
    result.skip("instances.json: image 6", "missing file y.jpg")
    assert result.summary() == "18 samples, 3 skipped (2 missing file, 1 box outside the image)"
    assert result.report().splitlines()[1] == "  instances.json: annotation 17: " + (
        "box outside the image [1.0, 2.0, 90.0, 4.0]"
    )


def test_summary_without_skips_and_extend() -> None:
    a = AdapterResult(samples=[Sample("a", "a.jpg", 1, 1)])
    b = AdapterResult(skipped=[Skipped("b.xml: line 3", "malformed XML (bad token)")])
    assert a.summary() == "1 samples, 0 skipped"
    assert a.extend(b) is a
    assert a.summary() == "1 samples, 1 skipped (1 malformed XML)"


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("unknown image id 99", "unknown image id"),
        ("missing file x.jpg", "missing file"),
        ("missing file: no optical image for a/b.png", "missing file"),
        ("box outside the image [0.0, 1.0, 2.0, 3.0] (image 8x8)", "box outside the image"),
        ("malformed XML (not well-formed (invalid token): line 3, column 1)", "malformed XML"),
        ("unknown category id 'boat'", "unknown category id"),
    ],
)
def test_reason_kind(reason: str, kind: str) -> None:
    assert reason_kind(reason) == kind
    assert Skipped("loc", reason).kind == kind


def test_skip_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    result = AdapterResult()
    with caplog.at_level(logging.WARNING, logger="sargeo.datasets"):
        result.skip("a.json: annotation 3", "unknown image id 4")
    assert "a.json: annotation 3: unknown image id 4" in caplog.text


def test_check_box() -> None:
    assert check_box((1, 2, 10, 12), 32, 24) == ((1.0, 2.0, 10.0, 12.0), "")
    assert check_box((-0.5, 0, 32.8, 24), 32, 24)[0] == (0.0, 0.0, 32.0, 24.0)  # clipped
    assert check_box((20, 2, 40, 12), 32, 24)[1].startswith("box outside the image")
    assert check_box((-5, 2, 10, 12), 32, 24)[1].startswith("box outside the image")
    assert check_box((5, 5, 5, 9), 32, 24)[1].startswith("empty box")
    assert check_box((5, 5, float("nan"), 9), 32, 24)[1].startswith("malformed box")


def test_image_size_reads_headers(tmp_path: Path) -> None:
    assert image_size(write_image(tmp_path / "a.png", 30, 20)) == (30, 20)
    assert image_size(write_chip(tmp_path / "chip.tif", 17)) == (17, 17)  # float32, 2 bands
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(OSError):
        image_size(tmp_path / "bad.jpg")


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".tif"])
def test_a_truncated_image_is_told_by_its_end(tmp_path: Path, suffix: str) -> None:
    whole = write_noise_image(tmp_path / f"whole{suffix}")
    assert image_truncation(whole) == ""
    padded = write_noise_image(tmp_path / f"padded{suffix}", tail=b"\0" * 500)
    assert image_truncation(padded) == ""  # bytes after the end marker: decoded, and whole
    cut = write_noise_image(tmp_path / f"cut{suffix}", keep=0.6)
    assert image_size(cut) == (32, 32)  # the header alone looks fine
    assert "truncated" in image_truncation(cut) or "runs to byte" in image_truncation(cut)


def test_images_that_pillow_cannot_check_pass(tmp_path: Path) -> None:
    assert image_truncation(write_chip(tmp_path / "chip.tif", 17)) == ""  # float32: GDAL's
    assert image_truncation(write_noise_image(tmp_path / "cut.bmp", keep=0.6)) == ""  # unchecked


def test_warnings_are_counted_apart_from_skipped_items() -> None:
    result = AdapterResult(samples=[Sample("a", "a.jpg", 1, 1)])
    result.skip("x.json: annotation 3", "duplicate annotation id 3 (the same box again)")
    result.warn("x.json: annotation 4", "duplicate annotation id 4 (on another box; kept)")
    result.warn("x.json: annotation 5", "duplicate annotation id 5 (on another box; kept)")
    assert result.summary() == (
        "1 samples, 1 skipped (1 duplicate annotation id), 2 warnings (2 duplicate annotation id)"
    )
    assert result.problems()[1] == (
        "warning: x.json: annotation 4: duplicate annotation id 4 (on another box; kept)"
    )
    assert AdapterResult().extend(result).warnings == result.warnings
