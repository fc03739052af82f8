"""The models the algorithms run: a bundle of the right task, behind one small interface per task.

- ``clip`` (text search): `sargeo.runtime.clip.ClipModel`.
- ``coca`` (captioning): ``sargeo.runtime.coca.CocaModel`` (`Captioner`: decoding settings, then
  captions with their hypotheses).
- ``gpt`` (visual question answering): ``sargeo.runtime.gpt.GptModel`` (`Answerer`).
  Until the vendored runtime has a task's module, loading such a bundle says so in one line.

`load_model` loads and checks a bundle (hashes, format version), and refuses one of another task
with a one-line message naming both tasks, before any pixel is read.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError
from sargeo.runtime.bundle import Bundle, load_bundle

TASK_NAMES = {
    "clip": "SAR-RS-CLIP (text search)",
    "coca": "SAR-RS-CoCa (captioning)",
    "gpt": "SAR-GPT (question answering)",
}

TASK_RUNTIMES: dict[str, tuple[str, str]] = {
    "clip": ("sargeo.runtime.clip", "ClipModel"),
    "coca": ("sargeo.runtime.coca", "CocaModel"),
    "gpt": ("sargeo.runtime.gpt", "GptModel"),
}
"""Task -> (runtime module, model class taking ``(bundle, threads)``)."""

DEFAULT_TILE_SIZE = 256


class Captioned(Protocol):
    """One caption and the hypothesis it came from (``sargeo.runtime.coca.Captioned``)."""

    caption: str
    hypothesis: Any  # sargeo.runtime.decoding.Hypothesis: logprob, length, tokens...


class Captioner(Protocol):
    """A captioning model (``coca`` bundles; ``sargeo.runtime.coca.CocaModel``)."""

    bundle: Bundle

    def settings(self, overrides: Mapping[str, Any] | None = None) -> Any:
        """The bundle's decoding settings (greedy or beam, lengths) with ``overrides``."""
        ...

    def caption(self, pixels: npt.NDArray[np.float32], settings: Any) -> Sequence[Captioned]:
        """One caption per prepared image (N, 3, S, S), as `sargeo.runtime.preprocess.prepare` makes."""
        ...


def mean_logprob(captioned: Captioned) -> float:
    """A caption's score: the mean log-probability of its tokens (the end token included)."""
    hypothesis = captioned.hypothesis
    length = int(getattr(hypothesis, "length", len(hypothesis.tokens) + 1))
    return float(hypothesis.logprob) / max(1, length)


class Answerer(Protocol):
    """A visual question answering model (``gpt`` bundles)."""

    bundle: Bundle

    def answer(self, images: npt.NDArray[np.float32], questions: Sequence[str]) -> list[str]:
        """One answer per prepared image (N, 3, S, S) and its question (N questions)."""
        ...


def load_model(path: str | Path, task: str, threads: int | None = None) -> Any:
    """The model of a bundle folder, which must be of ``task`` (``clip``, ``coca`` or ``gpt``).

    Raises:
        BundleError: not a bundle, damaged, or a bundle of another task.
        InputError: this runtime has no implementation of the task yet.
    """
    if not str(path).strip():
        raise InputError(f"choose a {TASK_NAMES[task]} bundle folder")
    bundle = load_bundle(Path(path))
    if bundle.task != task:
        raise InputError(
            f"the bundle {bundle.root} is a {TASK_NAMES.get(bundle.task, bundle.task)} bundle; this"
            f" algorithm needs a {TASK_NAMES[task]} bundle"
        )
    module_name, class_name = TASK_RUNTIMES[task]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(
            f"this plugin's runtime cannot run {task} bundles yet ({module_name} is absent):"
            " update the plugin"
        ) from exc
    return getattr(module, class_name)(bundle, threads)


def default_tile_size(bundle: Bundle) -> int:
    """The tile side in pixels the bundle was trained on (``bundle.json`` ``tiling.size``), or 256."""
    tiling = bundle.meta.get("tiling") or {}
    return int(tiling.get("size", DEFAULT_TILE_SIZE)) if isinstance(tiling, dict) else 256
