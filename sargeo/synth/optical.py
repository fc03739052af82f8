"""The paired optical image: the same block rendered in RGB on the same grid, without speckle.

Class colours come from ``classes.json``; farmland parcels and urban blocks take a colour from their
class palette (one per region, the same regions as the radar's offsets), every class gets a brightness
texture from the shared texture field, parcel edges are drawn as darker hedgerows and ship wakes as
white foam. This is the optical side of a SAR-optical pair (the paper's optical-to-SAR caption branch).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sargeo.synth.landcover import Block
from sargeo.synth.objects import WAKE_TURBULENT
from sargeo.synth.tables import ClassTable

HEDGE_DARKENING = 0.72
FOAM_BLEND = 0.35


class Optical:
    """Renders RGB blocks for one class table."""

    def __init__(self, classes: ClassTable) -> None:
        self.rgb = np.zeros((256, 3), np.float32)
        self.amp = np.zeros(256, np.float32)
        self.palettes: dict[int, npt.NDArray[np.float32]] = {}
        self.sea = classes.value("sea")
        self.farmland = classes.value("farmland")
        for info in classes.classes:
            self.rgb[info.value] = info.rgb
            self.amp[info.value] = info.texture
            if info.palette:
                self.palettes[info.value] = np.asarray(info.palette, np.float32)

    def render(self, block: Block) -> npt.NDArray[np.uint8]:
        """RGB of a block as a (3, height, width) uint8 array."""
        m = block.mask
        shade = self.amp[m]
        shade *= block.texture
        shade += np.float32(1.0)
        shade[block.edge & (m == self.farmland)] *= np.float32(HEDGE_DARKENING)
        regions = [(m == value, palette) for value, palette in self.palettes.items()]
        regions = [(where, palette) for where, palette in regions if where.any()]
        picks = [
            np.minimum((block.region_u[where] * len(p)).astype(np.int64), len(p) - 1)
            for where, p in regions
        ]
        foam = (block.wake == WAKE_TURBULENT) & (m == self.sea)
        out = np.empty((3, *m.shape), np.uint8)
        for c in range(3):
            channel = self.rgb[:, c][m]
            for (where, palette), pick in zip(regions, picks, strict=True):
                channel[where] = palette[pick, c]
            channel *= shade
            if foam.any():
                channel[foam] += np.float32(FOAM_BLEND) * (np.float32(245.0) - channel[foam])
            np.clip(channel, 0, 255, out=channel)
            out[c] = channel
        return out
