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
from sargeo.narrator.branches import BRANCHES
from sargeo.narrator.facts import (
    CoverFacts,
    SceneFacts,
    cover_facts,
    objects_known,
    read_mask,
    scene_facts,
)
from sargeo.narrator.o2s import Rewriter
from sargeo.narrator.quality import Checker, Deduplicator, Truth, truth_of
from sargeo.narrator.text import Candidate, capitalise
from sargeo.narrator.vocab import Vocab, load_vocab
from sargeo.records import Sample

DEFAULT_PER_IMAGE = 5
"""Captions per image, as in RSICD."""
GEO_MAX = 1
EXTRA = 3
"""Candidates a branch may write beyond ``per_image`` (room for the filters and deduplication)."""
BATCH = 2
"""Candidates a branch writes at a time."""

MaskReader = Callable[[str], Any]
Source = Callable[[int], list[Candidate]]


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
        self.mask_reader: MaskReader = mask_reader or read_mask

    def rng(self, sample: Sample, salt: str = "") -> random.Random:
        """The seeded generator of one sample."""
        return random.Random(f"{self.config.seed}:{salt}:{sample.id}")

    def facts(self, sample: Sample) -> tuple[SceneFacts, CoverFacts | None]:
        """Object facts, and land-cover facts when the sample has a mask with classes."""
        cover = None
        if sample.mask and sample.mask_classes and "sa2c" in self.config.branches:
            mask = self.mask_reader(sample.mask)
            cover = cover_facts(mask, sample.mask_classes, self.vocab, sample.labels)
        if cover is not None:
            in_mask = cover.present
        else:  # a mask not read: any class it labels may be there
            in_mask = frozenset(
                self.vocab.surface(name) or self.vocab.object_class(name).key
                for name in (sample.mask_classes.values() if sample.mask else ())
            )
        return scene_facts(sample, self.vocab, in_mask=in_mask), cover

    def _sources(
        self, facts: SceneFacts, cover: CoverFacts | None, rng: random.Random
    ) -> dict[str, Source]:
        """Per branch, a function that writes ``n`` more candidates (branches that apply only)."""
        sample, vocab, use = facts.sample, self.vocab, self.config.branches
        out: dict[str, Source] = {}
        if "a2c" in use and (facts.groups or objects_known(sample)):
            out["a2c"] = lambda n: a2c.captions(facts, vocab, rng, n)
        if "sa2c" in use and cover is not None and cover.shares:
            out["sa2c"] = lambda n: sa2c.captions(cover, facts.frame, vocab, rng, n)
        if "o2s" in use and sample.optical_caption:
            text = sample.optical_caption
            out["o2s"] = lambda n: o2s.captions(text, vocab, rng, n, self.rewriter)
        if "geo" in use:

            def geo_source(n: int) -> list[Candidate]:
                cores: list[Candidate] = []
                if facts.groups:
                    np_, _, ids = a2c.noun_phrase(facts, vocab, rng, "plain")
                    cores.append(Candidate(capitalise(np_), "a2c", ids))
                for branch in ("sa2c", "o2s"):
                    if branch in out:
                        cores += [c for c in out[branch](1) if c.text.count(".") == 1]
                return geo.captions(sample, facts.frame, vocab, rng, n, cores)

            out["geo"] = geo_source
        return out

    def caption_facts(self, facts: SceneFacts, cover: CoverFacts | None) -> SampleCaptions:
        """Captions of a sample whose facts are already known.

        Branches take turns; each writes candidates in small batches only when its turn comes, the
        checker drops bad ones and the deduplicator repeats; a branch that cannot give a new good
        caption within its budget (``per_image + EXTRA`` candidates) drops out.
        """
        per_image = self.config.per_image
        rng = self.rng(facts.sample)
        truth = truth_of(facts, cover)
        rejected: Counter[str] = Counter()
        sources = self._sources(facts, cover, rng)
        order = [b for b in BRANCHES if b in sources]
        only_geo = order == ["geo"]
        buffers: dict[str, list[Candidate]] = {b: [] for b in order}
        budget = {b: per_image + EXTRA for b in order}
        seen = Deduplicator()
        chosen: list[Candidate] = []
        taken: Counter[str] = Counter()
        while len(chosen) < per_image and order:
            for branch in list(order):
                if len(chosen) >= per_image:
                    break
                if branch == "geo" and taken["geo"] >= GEO_MAX and not only_geo:
                    order.remove(branch)
                    continue
                cand = self._next(branch, sources, buffers, budget, truth, rejected, seen)
                if cand is None:
                    order.remove(branch)
                    continue
                chosen.append(cand)
                taken[branch] += 1
        return SampleCaptions(facts.sample, facts, cover, chosen, rejected)

    def _next(
        self,
        branch: str,
        sources: dict[str, Source],
        buffers: dict[str, list[Candidate]],
        budget: dict[str, int],
        truth: Truth,
        rejected: Counter[str],
        seen: Deduplicator,
    ) -> Candidate | None:
        """The branch's next good, new candidate, writing more while its budget lasts."""
        buffer = buffers[branch]
        while True:
            if not buffer:
                if budget[branch] <= 0:
                    return None
                batch = sources[branch](min(BATCH, budget[branch]))
                budget[branch] -= BATCH
                if not batch:
                    return None
                buffer.extend(batch)
            cand = buffer.pop(0)
            problem = self.checker.problem(cand.text, truth)
            if problem is not None:
                contradiction = problem.startswith(("names", "states"))
                rejected["contradiction" if contradiction else problem] += 1
            elif seen.add(cand.text):
                return cand

    def caption(self, sample: Sample) -> SampleCaptions:
        """Captions of one sample (reads its mask when it has one)."""
        facts, cover = self.facts(sample)
        return self.caption_facts(facts, cover)


def caption_sample(sample: Sample, config: NarratorConfig | None = None) -> list[str]:
    """Convenience: the caption texts of one sample with the default vocabulary."""
    return [c.text for c in Narrator(config).caption(sample).captions]


def image_path(sample: Sample) -> str:
    """The sample's image as an absolute path string (as written to the outputs)."""
    return str(Path(sample.image).resolve()) if sample.image else ""
