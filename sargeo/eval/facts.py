"""Fact accuracy of captions: are the counts right, is anything named that is not there, is the
dominant land cover right?

A caption that reads well but states the wrong ship count or invents a harbour is worse than none, so
generated captions are judged against the ground truth of their samples, the same facts the narrator
wrote its references from (`sargeo.narrator.fusion.Narrator.facts`): object counts from the boxes,
classes known to be absent (only the classes a dataset labels can be; `sargeo.records.Sample.labels`),
and land-cover shares from the class mask. A claim the ground truth cannot settle (a class the dataset
does not label, a mask that was never drawn) is counted as not judged, never as right or wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from sargeo.eval.claims import CaptionParser, Claims
from sargeo.eval.inputs import check_key
from sargeo.narrator.facts import read_mask
from sargeo.narrator.fusion import Narrator, image_path
from sargeo.narrator.vocab import Vocab, load_vocab
from sargeo.records import Sample

SHARE_TOLERANCE = 0.10
"""A stated land-cover share is right within this many (absolute) of the true share (0..1)."""
Kind = Literal["count", "presence", "absence", "dominant", "share", "seen"]


@dataclass(frozen=True)
class Truth:
    """What the ground truth of one sample can settle.

    Attributes:
        counts: Object class -> number of boxes (classes with at least one box).
        present: Classes known to be there without a count (surfaces with pixels, a pier drawn
            only in the mask), and every class in ``counts``.
        absent: Labelled classes (objects and surfaces) known not to be there.
        shares: Surface -> share of the valid pixels; None without a mask.
        dominant: The surface with the largest share; None without a mask.
    """

    counts: dict[str, int]
    present: frozenset[str]
    absent: frozenset[str]
    shares: dict[str, float] | None = None
    dominant: str | None = None


@dataclass(frozen=True)
class Verdict:
    """One claim of a caption, judged.

    Attributes:
        kind: ``count`` (a stated count), ``presence`` (a class named as there), ``absence`` (a class
            denied), ``dominant`` (the dominant land cover), ``share`` (a stated share) or ``seen``
            (an object class with boxes: named by the caption, or missed).
        cls: The class or surface the claim is about.
        stated: What the caption says ('3', '11-19', '0.52', 'water').
        truth: What the ground truth says.
        correct: Whether the claim holds.
        error: For exact counts and shares, the absolute difference from the truth.
    """

    kind: Kind
    cls: str
    stated: str
    truth: str
    correct: bool
    error: float | None = None


def truth_of(narrator: Narrator, sample: Sample) -> Truth:
    """The ground truth of a sample, read as the narrator reads it (its mask included)."""
    facts, cover = narrator.facts(sample)
    counts = {g.cls: g.count for g in facts.groups}
    present = set(counts)
    absent = set(facts.absent)
    if cover is not None:
        present |= cover.present
        absent |= set(cover.absent)
    return Truth(
        counts,
        frozenset(present),
        frozenset(absent - present),
        dict(cover.shares) if cover is not None else None,
        next(iter(cover.shares), None) if cover is not None else None,
    )


def judge(claims: Claims, truth: Truth) -> list[Verdict]:
    """Every claim of one caption that the ground truth can settle, judged."""
    out: list[Verdict] = []
    for claim in claims.counts:
        if claim.cls in truth.counts or claim.cls in truth.absent:
            n = truth.counts.get(claim.cls, 0)
            error = float(abs(claim.low - n)) if claim.exact else None
            ok = claim.low <= n <= claim.high
            out.append(Verdict("count", claim.cls, claim.band(), str(n), ok, error))
    surfaces = set(claims.surfaces) if truth.shares is not None else set()
    for cls in sorted(claims.named | surfaces):
        if cls in truth.present:
            out.append(Verdict("presence", cls, "there", "there", True))
        elif cls in truth.absent:
            out.append(Verdict("presence", cls, "there", "absent", False))
    for cls in sorted(claims.denied - claims.named):
        if cls in truth.present or cls in truth.absent:
            there = cls in truth.present
            out.append(Verdict("absence", cls, "absent", "there" if there else "absent", not there))
    if truth.shares is not None:
        if claims.dominant is not None and truth.dominant is not None:
            ok = claims.dominant == truth.dominant
            out.append(Verdict("dominant", claims.dominant, claims.dominant, truth.dominant, ok))
        for key, share in claims.shares.items():
            if key in truth.present or key in truth.absent:
                real = truth.shares.get(key, 0.0)
                error = abs(share - real)
                ok = error <= SHARE_TOLERANCE + 1e-9
                out.append(Verdict("share", key, f"{share:.2f}", f"{real:.2f}", ok, error))
    stated = {c.cls for c in claims.counts if c.high > 0}
    for cls, n in sorted(truth.counts.items()):
        named = cls in claims.named or cls in stated
        out.append(Verdict("seen", cls, "named" if named else "missed", str(n), named))
    return out


def _ratio(good: int, total: int) -> float | None:
    return good / total if total else None


def _tally(verdicts: list[Verdict]) -> dict[str, Any]:
    """Judged, correct and accuracy (None when nothing was judged) of some verdicts."""
    right = sum(v.correct for v in verdicts)
    return {"judged": len(verdicts), "correct": right, "accuracy": _ratio(right, len(verdicts))}


@dataclass
class FactScores:
    """Fact accuracy over a set of captions.

    Attributes:
        captions: Captions judged against a sample's ground truth.
        without_truth: Captions whose image has no sample (not judged at all).
        verdicts: Image -> the verdicts of its caption.
        claims: Image -> its caption's claims (judged or not).
    """

    captions: int = 0
    without_truth: int = 0
    verdicts: dict[str, list[Verdict]] = field(default_factory=dict)
    claims: dict[str, Claims] = field(default_factory=dict)

    def _all(self, kind: str) -> list[Verdict]:
        return [v for vs in self.verdicts.values() for v in vs if v.kind == kind]

    def summary(self) -> dict[str, Any]:
        """Every figure, as numbers (an accuracy is None when nothing could be judged, never 0)."""
        counts = self._all("count")
        exact = [v for v in counts if v.error is not None]
        errors = [v.error for v in exact if v.error is not None]
        presence = self._all("presence")
        judged_captions = [
            vs for vs in self.verdicts.values() if any(v.kind == "presence" for v in vs)
        ]
        bad_captions = sum(
            any(v.kind == "presence" and not v.correct for v in vs) for vs in judged_captions
        )
        hallucinated = sum(not v.correct for v in presence)
        shares = _tally(self._all("share"))
        shares["within_tolerance"] = shares.pop("correct")
        return {
            "captions": self.captions,
            "captions_without_truth": self.without_truth,
            "count": {
                "stated": sum(len(c.counts) for c in self.claims.values()),
                **_tally(counts),
                "exact": {
                    **_tally(exact),
                    "mae": sum(errors) / len(errors) if errors else None,
                },
                "band": _tally([v for v in counts if v.error is None]),
            },
            "hallucination": {
                "mentions_judged": len(presence),
                "hallucinated": hallucinated,
                "rate": _ratio(hallucinated, len(presence)),
                "captions_judged": len(judged_captions),
                "captions_with_hallucination": bad_captions,
                "caption_rate": _ratio(bad_captions, len(judged_captions)),
                "classes": sorted({v.cls for v in presence if not v.correct}),
            },
            "absence": _tally(self._all("absence")),
            "objects_seen": _tally(self._all("seen")),
            "dominant_cover": _tally(self._all("dominant")),
            "share": {**shares, "tolerance": SHARE_TOLERANCE},
        }

    def rows(self) -> list[tuple[str, float | None, str]]:
        """(figure, value, what it counts) for a printed table."""
        s = self.summary()
        c, h = s["count"], s["hallucination"]
        return [
            ("count accuracy", c["accuracy"], f"{c['correct']}/{c['judged']} stated counts"),
            (
                "  exact counts",
                c["exact"]["accuracy"],
                f"{c['exact']['correct']}/{c['exact']['judged']}",
            ),
            ("  exact count MAE", c["exact"]["mae"], "objects"),
            (
                "  within band",
                c["band"]["accuracy"],
                f"{c['band']['correct']}/{c['band']['judged']}",
            ),
            (
                "hallucination rate",
                h["rate"],
                f"{h['hallucinated']}/{h['mentions_judged']} classes named",
            ),
            (
                "captions hallucinating",
                h["caption_rate"],
                f"{h['captions_with_hallucination']}/{h['captions_judged']} captions",
            ),
            (
                "objects seen",
                s["objects_seen"]["accuracy"],
                f"{s['objects_seen']['correct']}/{s['objects_seen']['judged']} classes with boxes named",
            ),
            (
                "absence accuracy",
                s["absence"]["accuracy"],
                f"{s['absence']['correct']}/{s['absence']['judged']} classes denied",
            ),
            (
                "dominant cover accuracy",
                s["dominant_cover"]["accuracy"],
                f"{s['dominant_cover']['correct']}/{s['dominant_cover']['judged']}",
            ),
            (
                f"share within {SHARE_TOLERANCE:.0%}",
                s["share"]["accuracy"],
                f"{s['share']['within_tolerance']}/{s['share']['judged']}",
            ),
        ]

    def to_dict(self, per_image: bool = True) -> dict[str, Any]:
        """The summary, and with ``per_image`` every judged claim per image."""
        out = self.summary()
        if per_image:
            out["images"] = {
                image: [asdict(v) for v in verdicts] for image, verdicts in self.verdicts.items()
            }
        return out


def sample_index(samples: Iterable[Sample], key: str = "image") -> dict[str, Sample]:
    """Samples by the name predictions give them: ``image`` (the path as written, and resolved, as
    the narrator writes it) or ``sample_id``."""
    check_key(key)
    out: dict[str, Sample] = {}
    for sample in samples:
        names = (sample.image, image_path(sample)) if key == "image" else (sample.id,)
        for name in names:
            if name:
                out.setdefault(name, sample)
    return out


def fact_accuracy(
    captions: Mapping[str, str],
    samples: Iterable[Sample] | Mapping[str, Sample],
    *,
    key: str = "image",
    root: str | Path | None = None,
    vocab: Vocab | None = None,
) -> FactScores:
    """Judge each caption (image -> text) against the ground truth of its sample.

    Args:
        captions: Image name -> the caption to judge.
        samples: Ground truth: Samples (matched by ``key``), or a mapping image name -> Sample.
        key: How captions name their samples: ``image`` or ``sample_id``.
        root: Folder that relative mask paths are relative to (a corpus folder; default: the
            current folder).
        vocab: The narrator vocabulary (default: the package's).
    """
    vocab = vocab or load_vocab()
    index = dict(samples) if isinstance(samples, Mapping) else sample_index(samples, key)
    base = Path(root) if root is not None else None

    def read(path: str) -> Any:
        full = Path(path)
        return read_mask(base / full if base is not None and not full.is_absolute() else full)

    narrator = Narrator(vocab=vocab, mask_reader=read)
    parser = CaptionParser(vocab)
    scores = FactScores()
    truths: dict[str, Truth] = {}
    for image, text in captions.items():
        sample = index.get(image)
        if sample is None:
            scores.without_truth += 1
            continue
        if sample.id not in truths:
            truths[sample.id] = truth_of(narrator, sample)
        claims = parser.parse(text)
        scores.captions += 1
        scores.claims[image] = claims
        scores.verdicts[image] = judge(claims, truths[sample.id])
    return scores
