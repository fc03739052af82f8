"""Zero-shot classification with prompt templates: class texts embedded, each image given the closest.

Prompt sets are data (``prompts.json``): per task, the class names with synonyms and the templates they
fill (CLIP's recipe: the embeddings of every filled template of a class are averaged, then normalised).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError


def prompt_sets() -> dict[str, Any]:
    """The shipped prompt sets by task name (``water``, ``landcover``, ``ship_type``)."""
    text = (resources.files("sargeo.eval") / "prompts.json").read_text()
    data: dict[str, Any] = {k: v for k, v in json.loads(text).items() if not k.startswith("_")}
    return data


def class_prompts(task: str | Mapping[str, Any]) -> dict[str, list[str]]:
    """Class -> every prompt (templates filled with each of its names) of a task or prompt set."""
    spec = task if isinstance(task, Mapping) else prompt_sets().get(task)
    if spec is None:
        raise InputError(f"unknown zero-shot task {task!r}; choose from {', '.join(prompt_sets())}")
    templates = list(spec["templates"])
    return {
        cls: [t.format(name) for name in names for t in templates]
        for cls, names in spec["classes"].items()
    }


def class_embeddings(
    prompt_embeddings: Mapping[str, npt.ArrayLike],
) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Per class, the normalised mean of its (normalised) prompt embeddings; (names, (C, D))."""
    names = list(prompt_embeddings)
    rows = []
    for name in names:
        e = np.asarray(prompt_embeddings[name], dtype=np.float32)
        e = e / np.linalg.norm(e, axis=1, keepdims=True)
        m = e.mean(axis=0)
        rows.append(m / np.linalg.norm(m))
    return names, np.stack(rows).astype(np.float32)


def zeroshot_metrics(
    image_embeddings: npt.ArrayLike,
    classes: npt.ArrayLike,
    names: Sequence[str],
    labels: Sequence[str],
) -> dict[str, Any]:
    """Accuracy, balanced accuracy (mean per-class recall), per-class recall and the majority baseline."""
    img = np.asarray(image_embeddings, dtype=np.float32)
    img = img / np.linalg.norm(img, axis=1, keepdims=True)
    pred = np.argmax(img @ np.asarray(classes, dtype=np.float32).T, axis=1)
    index = {n: i for i, n in enumerate(names)}
    unknown = sorted({lab for lab in labels if lab not in index})
    if unknown:
        raise InputError(
            f"labels {', '.join(unknown)} are not classes of the task ({', '.join(names)})"
        )
    truth = np.array([index[lab] for lab in labels])
    recall = {
        names[c]: float(100.0 * np.mean(pred[truth == c] == c))
        for c in range(len(names))
        if np.any(truth == c)
    }
    counts = np.bincount(truth, minlength=len(names))
    return {
        "accuracy": float(100.0 * np.mean(pred == truth)),
        "balanced_accuracy": float(np.mean(list(recall.values()))),
        "majority_baseline": float(100.0 * counts.max() / len(truth)),
        "per_class_recall": recall,
        "n": len(truth),
    }
