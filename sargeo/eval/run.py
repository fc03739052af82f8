"""``sargeo eval retrieval``: a trained model (run folder or checkpoint) measured on a caption set."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import torch

from sargeo.errors import InputError
from sargeo.eval.retrieval import format_table
from sargeo.eval.zeroshot import class_embeddings, class_prompts, zeroshot_metrics
from sargeo.models.clip import SarClip


def load_clip(path: Path) -> tuple[SarClip, dict[str, Any]]:
    """The model of a run folder (its final model, else newest checkpoint) or checkpoint, and its meta."""
    from sargeo.train.tasks import restore_trained

    model, meta, folder = restore_trained(path, "clip")
    assert isinstance(model, SarClip)
    return model, {**meta, "checkpoint": str(folder)}


def caption_file(data: Path) -> Path:
    """A caption CSV, or a corpus/narrated folder's test split (val when test is empty)."""
    if data.is_file():
        return data
    for name in ("captions_test.csv", "captions_val.csv"):
        candidate = data / name
        if candidate.is_file() and len(candidate.read_text().splitlines()) > 1:
            return candidate
    raise InputError(f"{data} has no captions (captions_test.csv or captions_val.csv)")


def read_labels(path: Path) -> tuple[list[str], list[str], list[tuple[str, ...] | None]]:
    """A ``filepath,label[,polarisations]`` CSV (paths relative to it) -> images, labels, polarisations."""
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InputError(f"cannot read labels {path}: {exc}") from exc
    if not rows or not {"filepath", "label"} <= set(rows[0]):
        raise InputError(f"{path} needs the columns filepath, label and at least one row")
    images = [str(p if (p := Path(r["filepath"])).is_absolute() else path.parent / p) for r in rows]
    pols = [tuple(t.split(",")) if (t := r.get("polarisations") or "") else None for r in rows]
    return images, [r["label"] for r in rows], pols


def evaluate_checkpoint(
    model_path: Path,
    data: Path,
    output: Path | None = None,
    max_images: int = 0,
    zeroshot: str | None = None,
    labels: Path | None = None,
) -> str:
    """Retrieval (and optionally zero-shot) metrics; returns the printed table, writes JSON if asked."""
    with torch.no_grad():
        return _evaluate(model_path, data, output, max_images, zeroshot, labels)


def _evaluate(
    model_path: Path,
    data: Path,
    output: Path | None,
    max_images: int,
    zeroshot: str | None,
    labels: Path | None,
) -> str:
    from sargeo.eval.embed import embed_images, embed_texts
    from sargeo.train.checkpoint import write_json
    from sargeo.train.clip_task import evaluate_retrieval

    if (zeroshot is None) != (labels is None):
        raise InputError("--zeroshot and --labels go together")
    model, meta = load_clip(model_path)
    csv_path = caption_file(data)
    result: dict[str, Any] = {
        "model": meta.get("model"),
        "checkpoint": meta["checkpoint"],
        "data": str(csv_path),
        "retrieval": evaluate_retrieval(model, str(csv_path), max_images),
    }
    text = format_table({csv_path.name: result["retrieval"]})
    if zeroshot and labels:
        images, truth, pols = read_labels(labels)
        prompts = class_prompts(zeroshot)
        names, classes = class_embeddings({c: embed_texts(model, p) for c, p in prompts.items()})
        result["zeroshot"] = {
            "task": zeroshot,
            **zeroshot_metrics(
                embed_images(model, images, polarisations=pols), classes, names, truth
            ),
        }
        z = result["zeroshot"]
        text += (
            f"\nzero-shot {zeroshot} on {z['n']} images: accuracy {z['accuracy']:.1f}%,"
            f" balanced {z['balanced_accuracy']:.1f}%, majority baseline {z['majority_baseline']:.1f}%"
        )
    if output is not None:
        write_json(output, result)
    return text
