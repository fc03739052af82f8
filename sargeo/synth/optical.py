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
        rgb = self.rgb[m]
        for value, palette in self.palettes.items():
            where = m == value
            if where.any():
                idx = np.minimum(
                    (block.region_u[where] * len(palette)).astype(np.int64), len(palette) - 1
                )
                rgb[where] = palette[idx]
        shade = 1.0 + self.amp[m] * block.texture
        shade[block.edge & (m == self.farmland)] *= np.float32(HEDGE_DARKENING)
        rgb *= shade[..., None]
        foam = (block.wake == WAKE_TURBULENT) & (m == self.sea)
        if foam.any():
            rgb[foam] += np.float32(FOAM_BLEND) * (np.float32(245.0) - rgb[foam])
        return np.clip(rgb, 0, 255).astype(np.uint8).transpose(2, 0, 1)
