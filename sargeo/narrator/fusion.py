"""Fusion: several captions per image from the branches, filtered, deduplicated and balanced.

Each branch proposes a few candidates; the quality checker drops the ones that are too short, too long,
repetitive or that contradict the ground truth; the survivors are taken in turn from each branch
(geographic context at most ``GEO_MAX`` times per image, it is a supplement) until the image has its
``per_image`` captions. Everything is seeded per sample, so a run is reproducible.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sargeo.errors import SargeoError
from sargeo.narrator import a2c, geo, o2s, sa2c
from sargeo.narrator.facts import SceneFacts, scene_facts
from sargeo.narrator.o2s import Rewriter
from sargeo.narrator.quality import Checker, Truth, dedup, truth_of
from sargeo.narrator.sa2c import CoverFacts
from sargeo.narrator.text import Candidate, capitalise
from sargeo.narrator.vocab import Vocab, load_vocab
from sargeo.records import Sample

BRANCHES = ("a2c", "sa2c", "o2s", "geo")
DEFAULT_PER_IMAGE = 5
"""Captions per image, as in RSICD."""
GEO_MAX = 1
EXTRA = 3
"""Candidates per branch beyond ``per_image`` (room for the filters and deduplication)."""

MaskReader = Callable[[str], Any]


@dataclass(frozen=True)
class NarratorConfig:
    """What the narrator writes.

    Attributes:
        branches: Branches to use, among a2c, sa2c, o2s and geo.
        per_image: Captions per image.
        seed: Seed of every random choice (per sample: the seed and the sample id).
        min_words: Shortest caption kept, in words.
        max_words: Longest caption kept, in words.
    """

    branches: tuple[str, ...] = BRANCHES
    per_image: int = DEFAULT_PER_IMAGE
    seed: int = 0
    min_words: int = 3
    max_words: int = 50

    def __post_init__(self) -> None:
        """Reject unknown branches and non-positive counts."""
        unknown = [b for b in self.branches if b not in BRANCHES]
        if unknown:
            raise SargeoError(
                f"unknown branch {', '.join(unknown)} (choose from {', '.join(BRANCHES)})"
            )
        if not self.branches:
            raise SargeoError("no branch selected")
        if self.per_image < 1:
            raise SargeoError(f"captions per image must be at least 1, got {self.per_image}")


@dataclass
class SampleCaptions:
    """The captions of one sample, with the facts they came from."""

    sample: Sample
    facts: SceneFacts
    cover: CoverFacts | None
    captions: list[Candidate]
    rejected: Counter[str] = field(default_factory=Counter)


class Narrator:
    """Writes captions for samples: the branches, the checker and the fusion rules together."""

    def __init__(
        self,
        config: NarratorConfig | None = None,
        vocab: Vocab | None = None,
        rewriter: Rewriter | None = None,
        mask_reader: MaskReader | None = None,
    ):
        """Set up the vocabulary, the checker and the optional o2s model rewriter."""
        self.config = config or NarratorConfig()
        self.vocab = vocab or load_vocab()
        self.checker = Checker(self.vocab, self.config.min_words, self.config.max_words)
        self.rewriter = rewriter
        self.mask_reader: MaskReader = mask_reader or sa2c.read_mask

    def rng(self, sample: Sample, salt: str = "") -> random.Random:
        """The seeded generator of one sample."""
        return random.Random(f"{self.config.seed}:{salt}:{sample.id}")

    def facts(self, sample: Sample) -> tuple[SceneFacts, CoverFacts | None]:
        """Object facts, and land-cover facts when the sample has a mask with classes."""
        cover = None
        if sample.mask and sample.mask_classes and "sa2c" in self.config.branches:
            mask = self.mask_reader(sample.mask)
            cover = sa2c.cover_facts(mask, sample.mask_classes, self.vocab)
        pier = cover is not None and "pier" in cover.present
        return scene_facts(sample, self.vocab, pier_pixels=pier), cover

    def _pools(
        self, facts: SceneFacts, cover: CoverFacts | None, rng: random.Random
    ) -> dict[str, list[Candidate]]:
        sample, k = facts.sample, self.config.per_image + EXTRA
        use = self.config.branches
        pools: dict[str, list[Candidate]] = {}
        if "a2c" in use:
            pools["a2c"] = a2c.captions(facts, self.vocab, rng, k)
        if "sa2c" in use and cover is not None:
            pools["sa2c"] = sa2c.captions(cover, facts.frame, self.vocab, rng, k)
        if "o2s" in use and sample.optical_caption:
            pools["o2s"] = o2s.captions(sample.optical_caption, self.vocab, rng, k, self.rewriter)
        if "geo" in use:
            cores: list[Candidate] = []
            if facts.groups:
                np_, _, ids = a2c.noun_phrase(facts, self.vocab, rng, "plain")
                cores.append(Candidate(capitalise(np_), "a2c", ids))
            for branch in ("sa2c", "o2s"):
                cores += [c for c in pools.get(branch, [])[:2] if c.text.count(".") == 1]
            pools["geo"] = geo.captions(sample, facts.frame, self.vocab, rng, 2, cores)
        if not any(pools.values()) and not facts.groups and "a2c" not in use:
            pools["a2c"] = a2c.captions(facts, self.vocab, rng, 3)
        return pools

    def caption_facts(self, facts: SceneFacts, cover: CoverFacts | None) -> SampleCaptions:
        """Captions of a sample whose facts are already known."""
        rng = self.rng(facts.sample)
        truth = truth_of(facts, cover)
        rejected: Counter[str] = Counter()
        pools = {
            b: self._filter(p, truth, rejected) for b, p in self._pools(facts, cover, rng).items()
        }
        chosen: list[Candidate] = []
        taken: Counter[str] = Counter()
        order = [b for b in BRANCHES if pools.get(b)]
        only_geo = order == ["geo"]
        while len(chosen) < self.config.per_image and any(pools.get(b) for b in order):
            for branch in order:
                pool = pools[branch]
                if branch == "geo" and taken["geo"] >= GEO_MAX and not only_geo:
                    pool.clear()
                while pool and len(chosen) < self.config.per_image:
                    cand = pool.pop(0)
                    if dedup([cand], chosen):
                        chosen.append(cand)
                        taken[branch] += 1
                        break
        return SampleCaptions(facts.sample, facts, cover, chosen, rejected)

    def caption(self, sample: Sample) -> SampleCaptions:
        """Captions of one sample (reads its mask when it has one)."""
        facts, cover = self.facts(sample)
        return self.caption_facts(facts, cover)

    def _filter(
        self, pool: list[Candidate], truth: Truth, rejected: Counter[str]
    ) -> list[Candidate]:
        kept = []
        for cand in pool:
            problem = self.checker.problem(cand.text, truth)
            if problem is None:
                kept.append(cand)
            else:
                contradiction = problem.startswith(("names", "states"))
                rejected["contradiction" if contradiction else problem] += 1
        return dedup(kept)


def caption_sample(sample: Sample, config: NarratorConfig | None = None) -> list[str]:
    """Convenience: the caption texts of one sample with the default vocabulary."""
    return [c.text for c in Narrator(config).caption(sample).captions]


def image_path(sample: Sample) -> str:
    """The sample's image as an absolute path string (as written to the outputs)."""
    return str(Path(sample.image).resolve()) if sample.image else ""
