"""Ship radiometry: per-ship brightness and discrete scatterers, in radar cross-section (m^2).

A ship is not a uniform surface: its echo comes from a few strong scatterers (superstructure, cranes,
masts, hatch corners) over a weaker hull. Each ship draws, from the ``ship_radar`` entry of
``backscatter.json``:

- a brightness of its own: a normal offset of ``spread_db`` (material, aspect, load; cut at two
  standard deviations, so that no annotated ship is invisible), shared by its hull and scatterers;
- a dominant scatterer (the superstructure, aft of centre) of radar cross-section ``rcs_dbsm`` at the
  reference length, growing by ``db_per_decade`` with the length, and ``secondary_per_100m``
  secondary ones along the deck, ``secondary_db`` weaker; so small dim boats and bright carriers
  both occur, as in OpenSARShip's spread of contrasts.

A point scatterer of cross-section ``RCS`` peaks at ``RCS / resolution^2`` in sigma0 (its energy in
one resolution cell), so the same ship is a faint blob at 20 m and a saturated hull with sidelobe
crosses at 3 m: the resolution of the sensor preset sets how it looks, not a separate table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sargeo.synth.tables import ShipRadar


@dataclass(frozen=True)
class Scatterer:
    """A point scatterer of a ship: offset along and across the heading (m) and RCS (dBsm, VV/VH)."""

    along_m: float
    across_m: float
    rcs_dbsm: tuple[float, float]


def ship_brightness_db(radar: ShipRadar, rng: np.random.Generator) -> float:
    """A ship's own brightness offset (dB): normal, cut at two standard deviations."""
    return float(np.clip(rng.normal(0.0, 1.0), -2.0, 2.0) * radar.spread_db)


def ship_scatterers(
    radar: ShipRadar,
    length_m: float,
    width_m: float,
    brightness_db: float,
    rng: np.random.Generator,
) -> list[Scatterer]:
    """The dominant scatterer (superstructure, aft) and the secondary ones along the deck."""
    vv, vh = radar.rcs_dbsm
    trend = radar.db_per_decade * math.log10(max(length_m, 1.0) / radar.reference_length_m)
    main = (vv + trend + brightness_db, vh + trend + brightness_db)
    out = [Scatterer(radar.superstructure_along * length_m, 0.0, main)]
    n = int(rng.poisson(radar.secondary_per_100m * length_m / 100.0))
    lo, hi = radar.secondary_db
    for _ in range(n):
        weaker = float(rng.uniform(lo, hi))
        out.append(
            Scatterer(
                float(rng.uniform(-0.42, 0.42)) * length_m,
                float(rng.uniform(-0.3, 0.3)) * width_m,
                (main[0] - weaker, main[1] - weaker),
            )
        )
    return out


def peak_sigma0_db(rcs_dbsm: float, resolution_m: float) -> float:
    """Peak sigma0 (dB) of a point scatterer: its cross-section over one resolution cell."""
    return rcs_dbsm - 20.0 * math.log10(resolution_m)
