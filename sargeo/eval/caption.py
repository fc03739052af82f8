"""Caption metrics: BLEU-1..4, METEOR, ROUGE-L, CIDEr-D and SPICE against every reference caption of
an image (pycocoevalcap, as the paper reports them), and fact accuracy against the ground truth.

`evaluate_captions` is the entry point (``sargeo eval caption`` calls it): generated captions (one per
image) and references (the narrator's ``captions.jsonl``, several per image) in, a `CaptionScores` out,
which prints as a table and writes as JSON. A metric that cannot run here (METEOR without Java, SPICE
without Stanford CoreNLP's jars) is reported as unavailable with the reason, never as zero; the rest
are computed anyway. With the samples' ground truth (`sargeo.records.Sample`, or the ``samples.jsonl``
a corpus writes) it also reports fact accuracy (`sargeo.eval.facts`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sargeo.datasets.writers import samples_from_jsonl
from sargeo.errors import InputError, OptionError, SargeoError
from sargeo.eval.facts import FactScores, fact_accuracy
from sargeo.eval.inputs import Records, caption_predictions, caption_references, example
from sargeo.eval.report import figure, table
from sargeo.narrator.vocab import Vocab
from sargeo.records import Sample

if TYPE_CHECKING:
    from sargeo.eval import coco

METRICS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr-D", "SPICE")
"""Every caption metric, in the order tables show them."""


@dataclass
class CaptionScores:
    """Caption metrics of one set of generated captions.

    Attributes:
        images: Images scored.
        references: Reference captions over all of them.
        tokenizer: The tokenisation the scores were computed on: ``ptb`` (pycocoevalcap's), or
            ``python`` (`sargeo.eval.coco.simple_tokenize`) where the PTB tokenizer cannot run.
        tokenizer_note: Why the PTB tokenizer did not run ('' when it did).
        metrics: Metric -> corpus score (pycocoevalcap's scale: 0-1, CIDEr-D 0-10), or None.
        unavailable: Metric -> why it was not computed.
        per_image: Image -> metric -> that image's score.
        facts: Fact accuracy, when ground truth was given.
    """

    images: int
    references: int
    tokenizer: str
    metrics: dict[str, float | None]
    tokenizer_note: str = ""
    unavailable: dict[str, str] = field(default_factory=dict)
    per_image: dict[str, dict[str, float]] = field(default_factory=dict)
    facts: FactScores | None = None

    def table(self) -> str:
        """The metrics (and fact accuracy) as a printable table, with the reason for each 'n/a'."""
        rows = [(name, figure(value)) for name, value in self.metrics.items()]
        parts = [
            f"caption metrics: {self.images} images, {self.references} references, "
            f"{self.tokenizer} tokens"
            + (f" ({self.tokenizer_note})" if self.tokenizer_note else ""),
            table(("metric", "value"), rows),
        ]
        parts += [f"{name}: n/a, {reason}" for name, reason in self.unavailable.items()]
        if self.facts is not None:
            facts = self.facts
            rows3 = [(name, figure(value, 3), basis) for name, value, basis in facts.rows()]
            untied = f", {facts.without_truth} without ground truth" if facts.without_truth else ""
            parts += [
                "",
                f"fact accuracy: {facts.captions} captions judged{untied}",
                table(("figure", "value", "judged"), rows3),
            ]
        return "\n".join(parts)

    def to_dict(self, per_image: bool = True) -> dict[str, Any]:
        """JSON-ready form (None for an unavailable metric); ``per_image`` adds each image's scores
        and judged facts."""
        out: dict[str, Any] = {
            "images": self.images,
            "references": self.references,
            "tokenizer": self.tokenizer,
            "tokenizer_note": self.tokenizer_note,
            "metrics": self.metrics,
            "unavailable": self.unavailable,
        }
        if self.facts is not None:
            out["facts"] = self.facts.to_dict(per_image)
        if per_image:
            out["per_image"] = {
                image: {k: (None if math.isnan(v) else v) for k, v in scores.items()}
                for image, scores in self.per_image.items()
            }
        return out

    def to_json(self, per_image: bool = True) -> str:
        """`to_dict` as JSON text."""
        return json.dumps(self.to_dict(per_image), indent=2, ensure_ascii=False) + "\n"


def _matched(predictions: dict[str, str], references: dict[str, list[str]]) -> list[str]:
    """The images, sorted, after checking that predictions and references name the same ones."""
    extra = predictions.keys() - references.keys()
    if extra:
        raise InputError(
            f"{len(extra)} predicted images have no reference caption: {example(extra)} "
            "(images are matched by name exactly as the references write them)"
        )
    missing = references.keys() - predictions.keys()
    if missing:
        raise InputError(
            f"{len(missing)} images with references have no prediction: {example(missing)}"
        )
    return sorted(references)


def _scorers() -> ModuleType:
    """`sargeo.eval.coco`, or a one-line error when pycocoevalcap (the ``eval`` extra) is missing."""
    try:
        from sargeo.eval import coco
    except ImportError as exc:
        raise SargeoError(
            f"caption metrics need pycocoevalcap ({exc}): pip install 'sargeo[eval]'"
        ) from exc
    return coco


def _tokenize(
    scorers: ModuleType,
    refs: dict[str, list[str]],
    preds: dict[str, str],
    images: list[str],
    java: str | None,
    why_not: str,
) -> tuple[coco.Tokenized, coco.Tokenized, str, str]:
    """References and predictions tokenised together (one Java start), by PTB where Java runs."""
    both = {f"r{i}": refs[image] for i, image in enumerate(images)}
    both.update((f"p{i}", [preds[image]]) for i, image in enumerate(images))
    if java is not None:
        try:
            tokens, name, note = scorers.ptb_tokenize(both, java), "ptb", ""
        except scorers.Unavailable as exc:
            java, why_not = None, str(exc)
    if java is None:
        tokens, name, note = (
            scorers.python_tokenize(both),
            "python",
            f"PTB tokenizer not run: {why_not}",
        )
    gts = {image: tokens[f"r{i}"] for i, image in enumerate(images)}
    res = {image: tokens[f"p{i}"] for i, image in enumerate(images)}
    return gts, res, name, note


def evaluate_captions(
    predictions: Records | Mapping[str, str],
    references: Records | Mapping[str, Sequence[str]],
    *,
    samples: Iterable[Sample] | Mapping[str, Sample] | str | Path | None = None,
    key: str = "image",
    split: str | None = None,
    metrics: Sequence[str] = METRICS,
    java: str | None = None,
    corenlp_dir: str | Path | None = None,
    root: str | Path | None = None,
    vocab: Vocab | None = None,
) -> CaptionScores:
    """Score generated captions against every reference caption of their image.

    Args:
        predictions: One generated caption per image: a JSONL file or records with ``key`` and
            ``caption``, or a mapping image -> caption.
        references: The narrator's ``captions.jsonl`` (or records with ``key`` and ``caption``), or
            a mapping image -> captions. Every reference image needs a prediction and vice versa.
        samples: Ground truth for fact accuracy: Samples, or a ``samples.jsonl`` file (whose
            relative mask paths are relative to its folder); None skips fact accuracy.
        key: The field that names an image: ``image`` or ``sample_id``.
        split: Keep only the references of this split (``test``); None keeps all.
        metrics: The metrics to compute, among `METRICS`.
        java: The Java program (default: ``java`` on the PATH).
        corenlp_dir: A folder holding Stanford CoreNLP 3.6.0's jars, for SPICE.
        root: Folder that relative mask paths are relative to (default: the samples file's folder).
        vocab: The narrator vocabulary the fact parser reads (default: the package's).

    Raises:
        InputError: unreadable files, missing fields, or predictions and references that do not
            name the same images.
        OptionError: an unknown metric.
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise OptionError(
            "metrics", f"has unknown {', '.join(unknown)} (choose from {', '.join(METRICS)})"
        )
    preds = caption_predictions(predictions, key)
    refs = caption_references(references, key, split)
    images = _matched(preds, refs)
    scorers = _scorers()
    java_path, why_not = scorers.find_java(java)
    gts, res, tokenizer, note = _tokenize(scorers, refs, preds, images, java_path, why_not)
    computed: dict[str, tuple[float, list[float]]] = {}
    unavailable: dict[str, str] = {}
    if any(m.startswith(("BLEU", "ROUGE", "CIDEr")) for m in metrics):
        computed.update(scorers.bleu_rouge_cider(gts, res))
    if "METEOR" in metrics:
        if java_path is None:
            unavailable["METEOR"] = why_not
        else:
            try:
                computed["METEOR"] = scorers.meteor(gts, res, java_path)
            except scorers.Unavailable as exc:
                unavailable["METEOR"] = str(exc)
    if "SPICE" in metrics:
        jars, missing = scorers.corenlp_jars(corenlp_dir)
        if java_path is None:
            unavailable["SPICE"] = why_not
        elif jars is None:
            unavailable["SPICE"] = missing
        else:
            try:
                computed["SPICE"] = scorers.spice(gts, res, java_path, jars)
            except scorers.Unavailable as exc:
                unavailable["SPICE"] = str(exc)
    scores = CaptionScores(
        images=len(images),
        references=sum(len(refs[i]) for i in images),
        tokenizer=tokenizer,
        tokenizer_note=note,
        metrics={m: computed[m][0] if m in computed else None for m in metrics},
        unavailable=unavailable,
        per_image={
            image: {m: computed[m][1][i] for m in metrics if m in computed}
            for i, image in enumerate(images)
        },
    )
    if samples is not None:
        scores.facts = _facts(preds, samples, key, root, vocab)
    return scores


def _facts(
    captions: dict[str, str],
    samples: Iterable[Sample] | Mapping[str, Sample] | str | Path,
    key: str,
    root: str | Path | None,
    vocab: Vocab | None,
) -> FactScores:
    if isinstance(samples, str | Path):
        path = Path(samples)
        if not path.is_file():
            raise InputError(f"{path}: no such samples file")
        try:
            loaded = samples_from_jsonl(path)
        except SargeoError as exc:
            raise InputError(str(exc)) from exc
        root = root if root is not None else path.parent
        return fact_accuracy(captions, loaded, key=key, root=root, vocab=vocab)
    return fact_accuracy(captions, samples, key=key, root=root, vocab=vocab)
