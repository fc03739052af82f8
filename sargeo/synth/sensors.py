"""Sensor presets and product renderings (``sensors.json``): how the synthetic world is imaged.

A sensor (`Sensor`) sets the default pixel spacing, the system resolution, the looks and the part of
the swath a scene sees; it overrides those entries of the backscatter table, so the world (layout,
objects, sigma0 levels) stays the same and only its imaging changes. A rendering (`Render`) says how
sigma0 becomes a product's pixels: float sigma0 only, or also an 8-bit amplitude image with a fixed
stretch and JPEG compression (HRSID-like).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sargeo.errors import OptionError, SargeoError
from sargeo.synth.tables import HERE, Backscatter, num, pair, read_json

SENSORS_PATH = HERE / "sensors.json"


@dataclass(frozen=True)
class Sensor:
    """An imaging preset: default spacing, resolution (m), looks, incidence span and swath."""

    name: str
    label: str
    spacing_m: float
    resolution_m: float
    looks: float
    incidence_deg: tuple[float, float]
    swath_km: float

    def apply(self, model: Backscatter) -> Backscatter:
        """The backscatter table imaged by this sensor (its resolution, looks and swath)."""
        return replace(
            model,
            resolution_m=self.resolution_m,
            looks=self.looks,
            incidence_range_deg=self.incidence_deg,
            swath_km=self.swath_km,
        )


@dataclass(frozen=True)
class Render:
    """How sigma0 becomes a product's pixels; ``kind`` is ``float`` or ``amplitude_u8``."""

    name: str
    kind: str
    saturation_db: float = 0.0
    jpeg_quality: int = 90
    channels: int = 1

    @property
    def eight_bit(self) -> bool:
        """Whether an 8-bit amplitude image is written beside sar.tif."""
        return self.kind == "amplitude_u8"

    def record(self) -> dict[str, object]:
        """The rendering as scene.json records it (the stretch, so that it can be inverted)."""
        out: dict[str, object] = {"name": self.name, "kind": self.kind}
        if self.eight_bit:
            out.update(
                stretch="grey = clip(255 * sqrt(sigma0 / 10^(saturation_db / 10)), 0, 255)",
                saturation_db=self.saturation_db,
                jpeg_quality=self.jpeg_quality,
                channels=self.channels,
            )
        return out


def amplitude_u8(sigma0: npt.ArrayLike, saturation_db: float) -> npt.NDArray[np.uint8]:
    """Linear sigma0 as 8-bit amplitude: ``saturation_db`` maps to 255, brighter pixels saturate.

    The gain is fixed, never fitted to the image, so a dark scene stays dark (NaN renders as 0).
    """
    power = np.nan_to_num(np.asarray(sigma0, dtype=np.float32), nan=0.0)
    gain = np.float32(255.0 / np.sqrt(10.0 ** (saturation_db / 10.0)))
    amp = np.sqrt(np.clip(power, 0.0, None)) * gain
    return np.clip(np.rint(amp), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Presets:
    """Every sensor and rendering of the table, by name."""

    sensors: dict[str, Sensor]
    renders: dict[str, Render]

    def sensor(self, name: str) -> Sensor:
        """The sensor ``name``; an OptionError lists the choices."""
        if name not in self.sensors:
            raise OptionError("sensor", f"must be one of {', '.join(self.sensors)}, got {name!r}")
        return self.sensors[name]

    def render(self, name: str) -> Render:
        """The rendering ``name``; an OptionError lists the choices."""
        if name not in self.renders:
            raise OptionError("render", f"must be one of {', '.join(self.renders)}, got {name!r}")
        return self.renders[name]


def load_presets(path: Path = SENSORS_PATH) -> Presets:
    """Load and check the sensor and rendering table."""
    data = read_json(path)
    sensors: dict[str, Sensor] = {}
    for name, e in data.get("sensors", {}).items():
        w = f"{path}: sensors.{name}"
        sensors[name] = Sensor(
            name=name,
            label=str(e.get("label", name)),
            spacing_m=num(e, "spacing_m", w),
            resolution_m=num(e, "resolution_m", w),
            looks=num(e, "looks", w),
            incidence_deg=pair(e, "incidence_deg", w),
            swath_km=num(e, "swath_km", w),
        )
        if min(sensors[name].spacing_m, sensors[name].resolution_m, sensors[name].looks) <= 0:
            raise SargeoError(f"{w}: spacing_m, resolution_m and looks must be positive")
    renders: dict[str, Render] = {}
    for name, e in data.get("renders", {}).items():
        w = f"{path}: renders.{name}"
        kind = str(e.get("kind", ""))
        if kind not in ("float", "amplitude_u8"):
            raise SargeoError(f"{w}: 'kind' must be 'float' or 'amplitude_u8', got {kind!r}")
        if kind == "float":
            renders[name] = Render(name, kind)
            continue
        quality, channels = int(num(e, "jpeg_quality", w)), int(num(e, "channels", w))
        if not (1 <= quality <= 100 and channels in (1, 3)):
            raise SargeoError(f"{w}: jpeg_quality must be 1-100 and channels 1 or 3")
        renders[name] = Render(name, kind, num(e, "saturation_db", w), quality, channels)
    if not sensors or "float" not in renders:
        raise SargeoError(f"{path}: needs at least one sensor and the 'float' rendering")
    return Presets(sensors, renders)
