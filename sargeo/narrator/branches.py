"""The caption branches of SAR-Narrator by name, in a module with no imports (the CLI's choice list).

``a2c``: annotation to caption; ``sa2c``: segmentation (class shares of a mask) to caption; ``o2s``: the
paired optical image's caption rewritten into SAR language; ``geo``: the tile's place, time and sensor.
"""

from __future__ import annotations

BRANCHES: tuple[str, ...] = ("a2c", "sa2c", "o2s", "geo")
"""Every branch, in the order the narrator tries them."""
