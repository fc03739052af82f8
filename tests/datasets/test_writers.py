"""Writers: JSONL and open_clip CSV, atomic, with proper quoting; samples survive a round trip."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from sargeo.datasets.writers import (
    read_jsonl,
    read_openclip_csv,
    samples_from_jsonl,
    samples_to_jsonl,
    write_jsonl,
    write_openclip_csv,
)
from sargeo.errors import SargeoError
from sargeo.records import Box, Sample, Tile, Window

TRICKY = [
    ("a.png", "a ship, moored at a pier"),
    ("b c.png", 'the "bright" target\nnear the coast'),
    ("d.png", "plain caption"),
    ("e.png", "tab\tand ; semicolon, é"),
]


def test_openclip_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "captions.csv"
    assert write_openclip_csv(TRICKY, path) == 4
    assert read_openclip_csv(path) == TRICKY
    with path.open(newline="", encoding="utf-8") as fh:
        assert list(csv.DictReader(fh))[1]["title"] == TRICKY[1][1]
    frame = pd.read_csv(path)  # how open_clip reads it (with --csv-separator ",")
    assert list(frame.columns) == ["filepath", "title"]
    assert frame["title"].tolist() == [t for _, t in TRICKY]


def test_openclip_csv_tab_separator_and_mappings(tmp_path: Path) -> None:
    path = tmp_path / "captions.tsv"
    write_openclip_csv([{"filepath": "x.png", "title": "a\tb", "extra": 1}], path, sep="\t")
    frame = pd.read_csv(path, sep="\t")
    assert frame.loc[0, "title"] == "a\tb"


def test_jsonl_round_trip_and_types(tmp_path: Path) -> None:
    path = tmp_path / "out" / "records.jsonl"
    records = [{"caption": "é ship", "when": datetime(2024, 1, 2), "where": Path("/x")}, {"n": 2}]
    assert write_jsonl(records, path) == 2
    back = list(read_jsonl(path))
    assert back == [{"caption": "é ship", "when": "2024-01-02T00:00:00", "where": "/x"}, {"n": 2}]


def test_writes_are_atomic(tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    write_jsonl([{"old": True}], path)

    def failing() -> object:
        yield {"new": 1}
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_jsonl(failing(), path)
    assert list(read_jsonl(path)) == [{"old": True}]
    assert [p.name for p in tmp_path.iterdir()] == ["records.jsonl"]  # no temporary left


def test_read_jsonl_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n\n{"b": \n')
    with pytest.raises(SargeoError, match=r"bad.jsonl: line 3: not valid JSON"):
        list(read_jsonl(path))


def test_samples_round_trip(tmp_path: Path) -> None:
    tile = Tile(
        id="t1",
        source="x.tif",
        window=Window(0, 0, 8, 8),
        crs="EPSG:32631",
        transform=(10.0, 0.0, 500000.0, 0.0, -10.0, 4600000.0),
        bounds=(500000.0, 4599920.0, 500080.0, 4600000.0),
        pixel_spacing=(10.0, 10.0),
        polarisations=("VV", "VH"),
        units="dB",
        acquisition_time=datetime(2024, 5, 1, 6),
    )
    samples = [
        Sample(
            id="s1",
            image="x.tif",
            width=8,
            height=8,
            boxes=[
                Box("ship", (1.0, 2.0, 3.0, 4.0), (2.0, 3.0, 2.0, 1.0, 45.0), {"type": "x"}, "7")
            ],
            mask="m.tif",
            mask_classes={0: "sea", 1: "land"},
            optical="o.tif",
            tile=tile,
            scene="sc",
            metadata={"sensor": "S1", "pixel_spacing_m": [10.0, 10.0]},
            labels=("land", "sea", "ship"),
        ),
        Sample(id="s2", image="y.png", width=4, height=3, labels=()),
        Sample(id="s3", image="z.png", width=4, height=3),
    ]
    path = tmp_path / "samples.jsonl"
    assert samples_to_jsonl(samples, path) == 3
    assert samples_from_jsonl(path) == samples
    path.write_text('{"id": "x"}\n')
    with pytest.raises(SargeoError, match="record 1: not a sample"):
        samples_from_jsonl(path)
