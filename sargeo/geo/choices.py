"""The names a user chooses between in the geo layer: Sentinel-1 calibrations and speckle filters.

Plain constants with no imports, so that the CLI builds its parser (and ``sargeo --help`` runs) without
loading rasterio, scipy or torch; `sargeo.geo.safe` and `sargeo.geo.speckle` implement what they name.
"""

from __future__ import annotations

CALIBRATIONS: dict[str, str] = {"sigma0": "sigmaNought", "gamma0": "gamma", "beta0": "betaNought"}
"""Calibration name -> LUT name in a Sentinel-1 calibration XML."""

SPECKLE_FILTERS: tuple[str, ...] = (
    "boxcar",
    "lee",
    "refined_lee",
    "frost",
    "learned",
    "sar2sar",
    "merlin",
)
"""Names of the speckle filters in `sargeo.geo.speckle.SPECKLE_FILTERS` (``learned`` is SAR2SAR)."""
