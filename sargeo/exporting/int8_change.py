"""What int8 costs a bundle that writes text: SAR-RS-CoCa captions and SAR-GPT answers against fp32.

An int8 graph cannot promise the fp32 graph's tokens: a small change in one logit flips a choice of the
search, and the rest of the text follows it. So ``sargeo export coca|gpt --int8`` checks the fp32
graphs against torch first (as for an fp32 bundle), quantises them, and measures the int8 graphs
against the fp32 ones on the run's test split, capped to a few images:

- CoCa: the share of captions identical to fp32's (the bundle's default decoding), and BLEU-4 and
  CIDEr-D of both against the narrator's reference captions (``captions.jsonl``), with their change;
- SAR-GPT: the share of answers identical to fp32's, and VQA accuracy of both on the closed questions
  of ``qa.jsonl`` (every type but ``describe``), with its change.

The references are those of the corpus beside the run's evaluation data, or given (``--eval-data``).
Without them, the share of identical texts is measured on synthetic images and the metrics are
recorded as unavailable, with the reason. The export stops only when the int8 graphs are broken:
outputs that are not finite or whose cosine to fp32's falls below `BROKEN_COSINE`, or empty texts
where fp32's are not.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError
from sargeo.exporting import evaluate as ev
from sargeo.exporting.parity import ParityError, compare
from sargeo.exporting.quantize import quantise_graphs
from sargeo.exporting.source import ExportSource
from sargeo.runtime.coca import CocaModel
from sargeo.runtime.gpt import GptModel
from sargeo.runtime.preprocess import PreprocessSpec, prepare

CAPTION_IMAGES = 50
"""Test images captioned by both precisions (``max_images`` overrides)."""
ANSWER_IMAGES = 8
"""Test images whose closed questions both precisions answer (``max_images`` overrides)."""
CAPTION_METRICS = ("BLEU-4", "CIDEr-D")
SPLIT = "test"
BROKEN_COSINE = 0.9
"""An int8 graph whose outputs fall below this cosine to fp32's is broken, not merely less exact
(image tokens and next-token logits are not unit vectors: their absolute differences say little)."""

Array = npt.NDArray[np.float32]


@dataclass
class References:
    """The data an int8 bundle is measured on: prepared images and what the narrator says of them.

    Attributes:
        file: The narrator's ``captions.jsonl`` or ``qa.jsonl`` (None: synthetic images only).
        reason: Why there are no references ('' when there are).
        names: Each image as the references name it.
        images: The images, prepared (N, 3, S, S).
        captions: Image -> its reference captions (CoCa).
        questions: The closed questions about the images, with their answers (SAR-GPT).
    """

    file: Path | None
    reason: str
    names: list[str]
    images: Array
    captions: dict[str, list[str]] = field(default_factory=dict)
    questions: list[dict[str, Any]] = field(default_factory=list)


def reference_file(
    source: ExportSource, override: Path | None, name: str
) -> tuple[Path | None, str]:
    """The narrator's ``name`` (``captions.jsonl`` or ``qa.jsonl``) to measure on, or None and why.

    ``override`` (a corpus folder or the file itself) must hold it; otherwise it is looked for in the
    corpus the run evaluated on (the folder of its recipe's evaluation data).
    """
    if override is not None:
        path = override / name if override.is_dir() else override
        if not path.is_file() or path.suffix != ".jsonl":
            raise InputError(f"{override} is neither a {name} nor a folder holding one")
        return path, ""
    data = str(((source.recipe or {}).get("eval") or {}).get("data") or "")
    if not data:
        return None, f"no run recipe names a corpus (give the {name} with --eval-data)"
    path = Path(data).parent / name
    if not path.is_file():
        return None, f"no {name} beside the run's evaluation data {data}"
    return path, ""


def _prepared(file: Path, names: Sequence[str], spec: PreprocessSpec) -> Array:
    """The named images (relative to ``file``'s folder), prepared as training prepared them."""
    from sargeo.train.data import read_image

    images = []
    for name in names:
        path = Path(name) if Path(name).is_absolute() else file.parent / name
        if not path.is_file():
            raise InputError(f"{file}: the image {name} is missing")
        raw = read_image(path)
        images.append(prepare(raw.pixels, raw.units, raw.polarisations, spec, nodata=raw.nodata))
    return np.stack(images).astype(np.float32)


def _synthetic(spec: PreprocessSpec, reason: str, n: int) -> References:
    return References(None, reason, [], ev.synthetic_images(spec, n, seed=1))


def caption_references(
    file: Path | None, reason: str, spec: PreprocessSpec, max_images: int
) -> References:
    """The first ``max_images`` test images of ``captions.jsonl`` with their reference captions."""
    from sargeo.eval.inputs import caption_references as read
    from sargeo.eval.inputs import in_split, records

    if file is None:
        return _synthetic(spec, reason, 8)
    rows = [r for _, r in records(file, "reference") if in_split(r, SPLIT)]  # unreadable: stop
    if not rows:
        return _synthetic(spec, f"{file} has no reference caption in the split {SPLIT!r}", 8)
    try:
        refs = read(rows)
    except InputError as exc:
        raise InputError(f"{file}: {exc}") from exc
    names = sorted(refs)[:max_images]
    return References(file, "", names, _prepared(file, names, spec), {n: refs[n] for n in names})


def answer_references(
    file: Path | None, reason: str, spec: PreprocessSpec, max_images: int
) -> References:
    """The closed test questions of ``qa.jsonl`` about its first ``max_images`` images."""
    from sargeo.eval.inputs import in_split, qa_records, records
    from sargeo.eval.vqa import UNSCORED

    if file is None:
        return _synthetic(spec, reason, 3)
    found = [r for _, r in records(file, "reference") if in_split(r, SPLIT)]  # unreadable: stop
    closed = [r for r in found if r.get("type") not in UNSCORED]
    try:
        rows = qa_records(closed, "record", ("answer", "type")) if closed else []
    except InputError as exc:
        raise InputError(f"{file}: {exc}") from exc
    names = list(dict.fromkeys(str(r["image"]) for r in rows))[:max_images]
    if not names:
        return _synthetic(spec, f"{file} has no closed question in the split {SPLIT!r}", 3)
    rows = [r for r in rows if r["image"] in set(names)]
    return References(file, "", names, _prepared(file, names, spec), questions=rows)


def quantise_bundle(
    folder: Path,
    work: Path,
    meta: dict[str, Any],
    raw: Mapping[str, Path],
    calibration: Mapping[str, tuple[str, Array | None]],
) -> Path:
    """Copy the finished fp32 bundle in ``folder`` to ``work/fp32``, then make ``folder``'s graphs the
    int8 versions of the ``raw`` graphs (`sargeo.exporting.quantize`); returns the fp32 copy. The
    caller finishes the bundle again (metadata and hashes of the new graphs)."""
    fp32 = work / "fp32"
    shutil.copytree(folder, fp32)
    quantise_graphs(raw, folder, meta["graphs"], calibration)
    meta["precision"] = "int8"
    return fp32


def _judge(
    role: str, found: dict[str, dict[str, float]], fp32: Array, int8: Array, key: str
) -> None:
    """Compare one output of both precisions (rows: images or positions) into ``found[key]``."""
    if not np.isfinite(int8).all():
        raise ParityError(
            f"the int8 {role} graph gives values that are not finite; no bundle was written"
        )
    found[key] = figures = compare(fp32.reshape(len(fp32), -1), int8.reshape(len(int8), -1))
    if figures["min_cosine"] < BROKEN_COSINE:
        raise ParityError(
            f"the int8 {role} graph is broken: its outputs ({key}) keep a cosine of only"
            f" {figures['min_cosine']:.3f} to fp32's (< {BROKEN_COSINE}); no bundle was written"
        )


def _texts_broken(what: str, fp32: Sequence[str], int8: Sequence[str]) -> None:
    if any(t.strip() for t in fp32) and not any(t.strip() for t in int8):
        raise ParityError(
            f"the int8 graphs give only empty {what} where fp32's do not; no bundle was written"
        )


def coca_graphs_change(fp32: CocaModel, int8: CocaModel, images: Array) -> dict[str, Any]:
    """Image tokens and next-token logits of the int8 graphs against fp32's; `ParityError` if broken."""
    found: dict[str, dict[str, Any]] = {"image_encoder": {}, "decoder_step": {}}
    state = fp32.image_tokens(images)
    _judge("image_encoder", found["image_encoder"], state, int8.image_tokens(images), "images")
    rng = np.random.default_rng(0)
    prefix = np.concatenate(
        [np.full((len(images), 1), fp32.start), rng.integers(5, 100, (len(images), 6))], axis=1
    ).astype(np.int64)
    for length in (1, 7):
        ref, _ = fp32.step(state, prefix[:, :length])
        got, _ = int8.step(state, prefix[:, :length])
        _judge("decoder_step", found["decoder_step"], ref, got, f"prefix {length}")
    return found


def caption_change(fp32: CocaModel, int8: CocaModel, refs: References) -> dict[str, Any]:
    """Captions of both precisions (the bundle's decoding): the share identical, and BLEU-4 and
    CIDEr-D of each against the references with the change (int8 minus fp32)."""
    settings = fp32.settings()
    texts = {}
    for name, model in (("fp32", fp32), ("int8", int8)):
        texts[name] = [
            c.caption
            for i in range(0, len(refs.images), 16)
            for c in model.caption(refs.images[i : i + 16], settings)
        ]
    _texts_broken("captions", texts["fp32"], texts["int8"])
    same = [a == b for a, b in zip(texts["fp32"], texts["int8"], strict=True)]
    record: dict[str, Any] = {
        "images": len(same),
        "data": str(refs.file) if refs.file else "synthetic images",
        "split": SPLIT if refs.file else None,
        "beam_width": settings.beam_width,
        "identical": float(np.mean(same)),
    }
    if refs.file is None:
        return {**record, "metrics": None, "unavailable": refs.reason}
    from sargeo.eval.caption import evaluate_captions

    scores = {}
    for name, captions in texts.items():
        found = evaluate_captions(
            dict(zip(refs.names, captions, strict=True)), refs.captions, metrics=CAPTION_METRICS
        )
        scores[name] = {m: float(v) for m, v in found.metrics.items() if v is not None}
        record["tokenizer"] = found.tokenizer
    change = {m: scores["int8"][m] - scores["fp32"][m] for m in scores["fp32"]}
    return {**record, "fp32": scores["fp32"], "int8": scores["int8"], "change": change}


def gpt_graphs_change(
    fp32: GptModel, int8: GptModel, images: Array, question: str
) -> dict[str, Any]:
    """Slot embeddings and the first two steps' logits of the int8 graphs against fp32's."""
    found: dict[str, dict[str, Any]] = {"vision_encoder": {}, "lm_step": {}}
    embeds = fp32.image_embeddings(images)
    got = int8.image_embeddings(images)
    width = embeds.shape[-1]
    _judge(
        "vision_encoder", found["vision_encoder"], embeds.reshape(-1, width), got.reshape(-1, width),
        "images",
    )  # fmt: skip
    firsts, seconds = [], []
    for image in embeds:
        ids, run_fp32 = fp32.prompt_step(image, question)
        _, run_int8 = int8.prompt_step(image, question)
        tokens = np.asarray([ids], np.int64)
        a, cache_a = run_fp32(None, tokens)
        b, cache_b = run_int8(None, tokens)
        following = np.concatenate([tokens, a.argmax(axis=1)[:, None]], axis=1)
        firsts.append((a, b))
        seconds.append((run_fp32(cache_a, following)[0], run_int8(cache_b, following)[0]))
    for key, pairs in (("prompt", firsts), ("next token", seconds)):
        ref, new = (np.concatenate(side) for side in zip(*pairs, strict=True))
        _judge("lm_step", found["lm_step"], ref, new, key)
    return found


def answer_change(
    fp32: GptModel, int8: GptModel, refs: References, questions: Sequence[str]
) -> dict[str, Any]:
    """Greedy answers of both precisions: the share identical, and VQA accuracy of each on the
    closed test questions with the change (int8 minus fp32). ``questions`` are asked of synthetic
    images when there are no references."""
    asked = (
        [(refs.names.index(str(r["image"])), str(r["question"])) for r in refs.questions]
        if refs.file
        else [(i, q) for i in range(len(refs.images)) for q in questions]
    )
    answers: dict[str, list[str]] = {}
    for name, model in (("fp32", fp32), ("int8", int8)):
        embeds = model.image_embeddings(refs.images)
        answers[name] = [model.generate(embeds[i], q).text for i, q in asked]
    _texts_broken("answers", answers["fp32"], answers["int8"])
    same = [a == b for a, b in zip(answers["fp32"], answers["int8"], strict=True)]
    record: dict[str, Any] = {
        "images": len(refs.images),
        "questions": len(same),
        "data": str(refs.file) if refs.file else "synthetic images",
        "split": SPLIT if refs.file else None,
        "identical": float(np.mean(same)),
    }
    if refs.file is None:
        return {**record, "metrics": None, "unavailable": refs.reason}
    from sargeo.eval.vqa import evaluate_vqa

    accuracy = {}
    for name, said in answers.items():
        preds = [
            {"image": r["image"], "question": r["question"], "answer": a}
            for r, a in zip(refs.questions, said, strict=True)
        ]
        accuracy[name] = evaluate_vqa(preds, refs.questions).overall.accuracy
    fp32_acc, int8_acc = accuracy["fp32"], accuracy["int8"]
    return {
        **record,
        "fp32": {"accuracy": fp32_acc},
        "int8": {"accuracy": int8_acc},
        "change": {
            "accuracy": None if fp32_acc is None or int8_acc is None else int8_acc - fp32_acc
        },
    }


def summary_lines(meta: dict[str, Any]) -> list[str]:
    """The terminal lines of an int8 bundle: how each graph was quantised and what it changed."""
    lines = []
    for role, entry in meta.get("graphs", {}).items():
        q = entry.get("quantisation")
        if q:
            note = f" ({q['note']})" if q.get("note") else ""
            lines.append(f"  int8 {role:<14} {q['method']}{note}")
    for role, figures in meta.get("parity_int8", {}).items():
        for inputs, f in figures.items():
            lines.append(
                f"  int8 {role:<14} {inputs:<10} min cosine to fp32 {f['min_cosine']:.6f}"
                f" ({f['rows']} rows)"
            )
    record = meta.get("metrics", {}).get("export", {}).get("int8")
    if not record:
        return lines
    texts = "answers" if "questions" in record else "captions"
    n = record.get("questions", record["images"])
    lines.append(
        f"  int8 against fp32: {record['identical']:.0%} of {n} {texts} identical"
        f" ({record['data']})"
    )
    if record.get("metrics", True) is None:
        lines.append(f"  int8 metrics: n/a, {record['unavailable']}")
        return lines
    for metric, delta in record["change"].items():
        before, after = record["fp32"][metric], record["int8"][metric]
        if delta is None:
            lines.append(f"  int8 {metric}: n/a")
        else:
            lines.append(f"  int8 {metric:<9} {before:.4f} -> {after:.4f} ({delta:+.4f})")
    return lines
