"""Geographic context: location and hemisphere, spacing, polarisation, sensor and date."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

from sargeo.narrator import geo
from sargeo.narrator.georef import frame_for
from sargeo.narrator.text import Candidate
from sargeo.narrator.vocab import load_vocab
from sargeo.records import Sample

from .helpers import utm_tile

VOCAB = load_vocab()


def test_southern_western_location_date_and_polarisation() -> None:
    # UTM zone 23 south (EPSG:32723): Brazil's coast, about 23°S 45°W
    tile = replace(
        utm_tile(100, epsg=32723, x0=500_000.0), acquisition_time=datetime(2021, 3, 4, 10, 0)
    )
    tile = replace(tile, transform=(10.0, 0.0, 500_000.0, 0.0, -10.0, 7_456_000.0))
    sample = Sample("s", "x.tif", 100, 100, tile=tile, metadata={"sensor": "Sentinel-1A (IW)"})
    values = geo.facts(sample, frame_for(sample), VOCAB)
    assert values["lat"].endswith("°S") and values["lon"].endswith("°W")
    assert values["ns"] == "southern" and values["ew"] == "western"
    assert values["date"] == "4 March 2021"
    assert values["pol"] == "VV/VH" and values["spacing"] == "10"
    assert values["sensor"] == "Sentinel-1A"
    core = Candidate("Two ships in the center", "a2c", ("1", "2"))
    caps = geo.captions(sample, frame_for(sample), VOCAB, random.Random(0), 4, [core])
    assert caps and all(
        c.text.startswith("Two ships in the center") and "°S" in c.text for c in caps
    )
    assert all(c.branch == "geo" and c.source_ids == ("1", "2") for c in caps)


def test_metadata_only_context_and_standalone_captions() -> None:
    sample = Sample(
        "s",
        "x.tif",
        64,
        64,
        metadata={
            "centre_lonlat": [118.05, 38.87],
            "s1_date": "2019/09/17",
            "polarisations": "VV+VH",
        },
    )
    values = geo.facts(sample, frame_for(sample), VOCAB)
    assert values["lat"] == "38.87°N" and values["lon"] == "118.05°E"
    assert values["date"] == "17 September 2019" and values["pol"] == "VV/VH"
    caps = geo.captions(sample, frame_for(sample), VOCAB, random.Random(1), 3, [])
    assert caps and all("38.87°N" in c.text for c in caps)
    assert (
        geo.captions(
            Sample("e", "x", 8, 8),
            frame_for(Sample("e", "x", 8, 8)),
            VOCAB,
            random.Random(0),
            2,
            [],
        )
        == []
    )
