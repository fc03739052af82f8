"""The dataset card: what a narrated dataset holds, as ``card.json`` and a printed summary.

Count of images and captions, captions per image, caption length (mean and spread, in words),
vocabulary size, class coverage, the share of captions per branch, question types, splits, what the
filters dropped, and what the dataset adapter skipped or warned about (a truncated image, a reused
annotation id), item by item.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sargeo.narrator.fusion import SampleCaptions
from sargeo.narrator.qa import QAPair

_WORD = re.compile(r"[a-z0-9'°%-]+")
MAX_LISTED = 100
"""Input problems the card lists one by one; the rest are counted."""


def listed(lines: Sequence[str], limit: int = MAX_LISTED) -> list[str]:
    """The first ``limit`` lines, then one line that counts the rest."""
    rest = len(lines) - limit
    return list(lines[:limit]) + ([f"... and {rest} more"] if rest > 0 else [])


@dataclass
class CardBuilder:
    """Accumulates statistics sample by sample (nothing but counters is kept in memory)."""

    images: int = 0
    captions: int = 0
    per_image: Counter[int] = field(default_factory=Counter)
    length_sum: float = 0.0
    length_sq: float = 0.0
    length_min: int = 0
    length_max: int = 0
    words: set[str] = field(default_factory=set)
    branches: Counter[str] = field(default_factory=Counter)
    class_images: Counter[str] = field(default_factory=Counter)
    class_objects: Counter[str] = field(default_factory=Counter)
    surface_images: Counter[str] = field(default_factory=Counter)
    qa_types: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    split_images: Counter[str] = field(default_factory=Counter)
    split_scenes: dict[str, set[str]] = field(default_factory=dict)

    def add(self, result: SampleCaptions, split: str, scene: str, qa: list[QAPair]) -> None:
        """Count one sample's captions, classes and question types."""
        self.images += 1
        self.per_image[len(result.captions)] += 1
        for cand in result.captions:
            words = _WORD.findall(cand.text.lower())
            n = len(words)
            if self.captions == 0:
                self.length_min = self.length_max = n
            self.length_min, self.length_max = min(self.length_min, n), max(self.length_max, n)
            self.captions += 1
            self.length_sum += n
            self.length_sq += n * n
            self.words.update(words)
            self.branches[cand.branch] += 1
        for group in result.facts.groups:
            self.class_images[group.cls] += 1
            self.class_objects[group.cls] += group.count
        if result.cover is not None:
            self.surface_images.update(result.cover.shares.keys())
        self.qa_types.update(p.type for p in qa)
        self.rejected.update(result.rejected)
        self.split_images[split] += 1
        self.split_scenes.setdefault(split, set()).add(scene)

    def build(self, **extra: Any) -> dict[str, Any]:
        """The card as a JSON-ready dictionary (``extra`` keys are added as given)."""
        n = max(self.captions, 1)
        mean = self.length_sum / n
        std = math.sqrt(max(self.length_sq / n - mean * mean, 0.0))
        per_image = sum(k * v for k, v in self.per_image.items()) / max(self.images, 1)
        return {
            "images": self.images,
            "captions": self.captions,
            "captions_per_image": {
                "mean": round(per_image, 3),
                "min": min(self.per_image, default=0),
                "max": max(self.per_image, default=0),
            },
            "caption_length_words": {
                "mean": round(mean, 2),
                "std": round(std, 2),
                "min": self.length_min,
                "max": self.length_max,
            },
            "vocabulary_size": len(self.words),
            "class_coverage": {
                cls: {"images": self.class_images[cls], "objects": self.class_objects[cls]}
                for cls in sorted(self.class_images)
            },
            "surface_coverage": {k: self.surface_images[k] for k in sorted(self.surface_images)},
            "branch_share": {
                b: round(c / n, 4) for b, c in sorted(self.branches.items(), key=lambda kv: -kv[1])
            },
            "qa": {
                "pairs": sum(self.qa_types.values()),
                "types": dict(sorted(self.qa_types.items())),
            },
            "splits": {
                s: {"images": self.split_images[s], "scenes": len(self.split_scenes.get(s, ()))}
                for s in ("train", "val", "test")
            },
            "rejected_captions": dict(sorted(self.rejected.items())),
            **extra,
        }


def summary(card: dict[str, Any]) -> str:
    """A few printable lines about the card."""
    length = card["caption_length_words"]
    lines = [
        f"{card['images']} images, {card['captions']} captions "
        f"({card['captions_per_image']['mean']:.2f} per image), "
        f"{card['qa']['pairs']} question-answer pairs",
        f"caption length {length['mean']:.1f} ± {length['std']:.1f} words "
        f"(min {length['min']}, max {length['max']}), vocabulary {card['vocabulary_size']} words",
        "branches: "
        + (", ".join(f"{b} {s:.0%}" for b, s in card["branch_share"].items()) or "none"),
    ]
    classes = card["class_coverage"]
    if classes:
        lines.append(
            "classes: "
            + ", ".join(f"{c} ({v['objects']} in {v['images']} images)" for c, v in classes.items())
        )
    if card["surface_coverage"]:
        lines.append(
            "surfaces: "
            + ", ".join(f"{k} ({v} images)" for k, v in card["surface_coverage"].items())
        )
    splits = card["splits"]
    lines.append(
        "splits: "
        + ", ".join(f"{s} {v['images']} images / {v['scenes']} scenes" for s, v in splits.items())
    )
    if card["rejected_captions"]:
        lines.append(
            "filtered out: "
            + ", ".join(f"{n} {reason}" for reason, n in card["rejected_captions"].items())
        )
    if card.get("uncaptioned_images"):
        lines.append(
            f"{card['uncaptioned_images']} images without captions "
            "(no ground truth to describe: objects unknown, no mask, no optical caption)"
        )
    if card.get("skipped"):
        lines.append(f"input: {card['skipped']}")
    return "\n".join(lines)
