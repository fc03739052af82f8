"""Geographic context (geo): approximate location and hemisphere, pixel spacing, polarisation, sensor and
acquisition date, from the tile's georeference and the sample's metadata.

The context is a clause appended to a short content caption from another branch ("Three ships in the
upper left, seen by Sentinel-1 near 38.11°N, 0.76°W"), or a caption of its own when there is no content.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import Any

from sargeo.narrator.georef import Frame
from sargeo.narrator.text import Candidate, capitalise, fill, tidy
from sargeo.narrator.vocab import Vocab
from sargeo.records import Sample

BRANCH = "geo"
POL_KEYS = ("polarisations", "polarisation", "polarizations", "polarization", "pol")
SENSOR_KEYS = ("sensor", "mission", "platform", "satellite")
DATE_KEYS = ("acquisition_time", "acquisition_date", "date", "acquired", "s1_date")


def lat_text(lat: float) -> str:
    """'38.11°N'."""
    return f"{abs(lat):.2f}°{'N' if lat >= 0 else 'S'}"


def lon_text(lon: float) -> str:
    """'0.76°W'."""
    return f"{abs(lon):.2f}°{'E' if lon >= 0 else 'W'}"


def spacing_text(spacing: tuple[float, float]) -> str:
    """'10' or '0.5' (metres, mean of x and y, two significant digits)."""
    return f"{(spacing[0] + spacing[1]) / 2.0:.2g}"


def _polarisations(sample: Sample) -> str | None:
    pols: Any = sample.tile.polarisations if sample.tile and sample.tile.polarisations else None
    for key in POL_KEYS:
        if pols:
            break
        pols = sample.metadata.get(key)
    if isinstance(pols, str):
        pols = [p for p in pols.replace("+", ",").replace("/", ",").split(",") if p.strip()]
    if not pols:
        return None
    return "/".join(str(p).strip().upper() for p in pols)


def _date(sample: Sample, vocab: Vocab) -> str | None:
    value: Any = sample.tile.acquisition_time if sample.tile else None
    for key in DATE_KEYS:
        if value:
            break
        value = sample.metadata.get(key)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("/", "-").replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, date):
        return None
    months: list[str] = vocab.words["months"]
    return f"{value.day} {months[value.month - 1]} {value.year}"


def _metadata_lonlat(sample: Sample) -> tuple[float, float] | None:
    """``metadata["centre_lonlat"]`` (OpenSARShip chips, synthetic scenes), if valid."""
    value = sample.metadata.get("centre_lonlat")
    try:
        lon, lat = float(value[0]), float(value[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError, KeyError):
        return None
    return (lon, lat) if -180 <= lon <= 360 and -90 <= lat <= 90 else None


def facts(sample: Sample, frame: Frame, vocab: Vocab) -> dict[str, str]:
    """The known context values: lat, lon, ns, ew, spacing, pol, sensor, date."""
    out: dict[str, str] = {}
    lonlat = frame.centre_lonlat or _metadata_lonlat(sample)
    if lonlat is not None:
        lon, lat = lonlat
        out["lat"], out["lon"] = lat_text(lat), lon_text(lon)
        out["ns"] = vocab.words["hemisphere_ns"][0 if lat >= 0 else 1]
        out["ew"] = vocab.words["hemisphere_ew"][0 if lon >= 0 else 1]
    if frame.spacing is not None:
        out["spacing"] = spacing_text(frame.spacing)
    pol = _polarisations(sample)
    if pol:
        out["pol"] = pol
    for key in SENSOR_KEYS:
        value = sample.metadata.get(key)
        if isinstance(value, str) and value.strip():
            out["sensor"] = value.split("(")[0].strip() or value.strip()  # no parenthesised notes
            break
    when = _date(sample, vocab)
    if when:
        out["date"] = when
    return out


def context(values: dict[str, str], vocab: Vocab, rng: random.Random) -> str | None:
    """A clause with the location (when known) and one or two other context parts."""
    parts: dict[str, list[str]] = vocab.templates["geo"]["parts"]
    chosen: list[str] = []
    names = [n for n in ("sensor", "polarisation", "spacing", "date") if _has(n, values)]
    rng.shuffle(names)
    if "lat" in values:
        names = ["location", *names[:1]]
    for name in names[:2]:
        text = fill(rng, parts[name], values)
        if text:
            chosen.append(text)
    return " ".join(chosen) if chosen else None


def _has(part: str, values: dict[str, str]) -> bool:
    need = {"sensor": "sensor", "polarisation": "pol", "spacing": "spacing", "date": "date"}
    return need[part] in values


def captions(
    sample: Sample,
    frame: Frame,
    vocab: Vocab,
    rng: random.Random,
    n: int,
    cores: list[Candidate],
) -> list[Candidate]:
    """Up to ``n`` captions: content cores from other branches with a context clause appended."""
    values = facts(sample, frame, vocab)
    if not values:
        return []
    templates = vocab.templates["geo"]
    out: list[Candidate] = []
    # A standalone caption names the sensor up front, so its context clause leaves it out.
    own = values if cores else {k: v for k, v in values.items() if k != "sensor"}
    for i in range(n):
        clause = context(own, vocab, rng)
        if clause is None:
            break
        if cores:
            core = cores[i % len(cores)]
            content = core.text.rstrip(". ")
            text = fill(rng, templates["clause"], {"content": content, "context": clause})
            ids = core.source_ids
        else:
            space = f"{values['sensor']} " if "sensor" in values else ""
            standalone = {"context": clause, "sensor_space": space}
            text = fill(rng, templates["standalone"], standalone)
            ids = ()
        if text:
            out.append(Candidate(tidy(capitalise(text)), BRANCH, ids))
    return out
