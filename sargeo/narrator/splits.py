"""Train/val/test splits by scene: every tile of one scene lands in the same split, seeded.

Tiles of one scene overlap in content (same sea state, same ships seen twice in overlapping tiles), so
splitting by tile would leak test images into training. Scenes are shuffled with the seed and each goes
to the split that is furthest below its target share of samples.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable

from sargeo.errors import SargeoError
from sargeo.records import Sample

SPLITS = ("train", "val", "test")
DEFAULT_RATIOS = (0.8, 0.1, 0.1)


def scene_of(sample: Sample) -> str:
    """The sample's scene (its own id when the adapter gave none)."""
    return sample.scene or sample.id


def assign_splits(
    samples: Iterable[Sample],
    ratios: tuple[float, float, float] = DEFAULT_RATIOS,
    seed: int = 0,
) -> dict[str, str]:
    """Scene -> split name, filling each split towards its share of the samples."""
    if len(ratios) != len(SPLITS) or any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise SargeoError(f"split ratios must be three non-negative numbers, got {ratios}")
    total = float(sum(ratios))
    targets = [r / total for r in ratios]
    sizes = Counter(scene_of(s) for s in samples)
    scenes = sorted(sizes)
    random.Random(seed).shuffle(scenes)
    filled = [0] * len(SPLITS)
    done = 0
    out: dict[str, str] = {}
    for scene in scenes:
        after = done + sizes[scene]
        # the split whose share would fall furthest below target once this scene is placed elsewhere
        deficits = [targets[i] * after - filled[i] for i in range(len(SPLITS))]
        best = max(range(len(SPLITS)), key=lambda i: (deficits[i], -i))
        out[scene] = SPLITS[best]
        filled[best] += sizes[scene]
        done = after
    return out
