"""What an export starts from: a trained model and the record of how it was trained and measured.

``RUN_DIR|CHECKPOINT`` is a run folder (its final model, else its newest checkpoint), a checkpoint
folder or its ``model.pt``, or a plain open_clip checkpoint or state dict (as the SAR-TEXT authors
publish theirs) together with the name or JSON file of the model config it fits (``--model``).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sargeo.errors import InputError
from sargeo.models.clip import SarClip, create_model

CARD_LIMIT = 64_000
"""A data card larger than this (characters of JSON) is kept as its summary keys only."""


@dataclass
class ExportSource:
    """A model ready to export, with its provenance.

    Attributes:
        model: The model, in eval mode.
        origin: The path given.
        checkpoint: The checkpoint folder or file the weights came from.
        meta: The checkpoint's ``meta.json`` (empty for a plain open_clip checkpoint).
        recipe: The training recipe (the run folder's ``recipe.json``), if known.
        run_dir: The run folder, if the model comes from one.
        weights_sha256: sha256 over every tensor of the model: the id of its embedding space.
    """

    model: SarClip
    origin: Path
    checkpoint: Path
    meta: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] | None = None
    run_dir: Path | None = None
    weights_sha256: str = ""


def weights_digest(model: torch.nn.Module) -> str:
    """sha256 over the names, shapes and values of every parameter and buffer."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        value = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


def _run_dir_of(checkpoint: Path) -> Path | None:
    for candidate in (checkpoint.parent, checkpoint.parent.parent):
        if (candidate / "run.json").is_file():
            return candidate
    return None


def load_source(path: Path, model_name: str | None = None) -> ExportSource:
    """Load the model of a run folder or checkpoint; with ``model_name``, a plain open_clip checkpoint.

    Raises:
        InputError: for a path that holds no model, or a checkpoint of another task or architecture.
    """
    if not path.exists():
        raise InputError(
            f"{path} does not exist (a run folder, a checkpoint, or an open_clip file)"
        )
    if model_name is not None:
        model = create_model(model_name, pretrained=False, init=path).eval()
        return ExportSource(model, path, path, weights_sha256=weights_digest(model))
    from sargeo.eval.run import load_clip
    from sargeo.train.checkpoint import find_checkpoint

    try:
        folder = find_checkpoint(path)
    except InputError as exc:
        raise InputError(
            f"{exc}; for a plain open_clip checkpoint, name its model config with `model`"
        ) from exc
    model, meta = load_clip(folder)
    run_dir = _run_dir_of(folder)
    recipe = None
    if run_dir is not None and (run_dir / "recipe.json").is_file():
        recipe = json.loads((run_dir / "recipe.json").read_text())
    return ExportSource(
        model.eval(), path, folder, meta, recipe, run_dir, weights_sha256=weights_digest(model)
    )


def eval_csv(source: ExportSource, override: Path | None = None) -> Path | None:
    """The caption CSV to measure on: ``override``, else the run's test split (val when test is empty).

    A folder (a corpus) gives its ``captions_test.csv``, else ``captions_val.csv``.
    """
    from sargeo.eval.run import caption_file

    if override is not None:
        return caption_file(override)
    data = ((source.recipe or {}).get("eval") or {}).get("data") or ""
    if not data:
        return None
    folder = Path(data).parent
    for name in ("captions_test.csv", Path(data).name):
        candidate = folder / name
        if candidate.is_file() and len(candidate.read_text().splitlines()) > 1:
            return candidate
    return None


def data_card(source: ExportSource) -> dict[str, Any] | None:
    """The ``card.json`` of the corpus the run trained on (beside its caption CSVs), if found."""
    stages = (source.recipe or {}).get("stages") or []
    for stage in stages:
        for data in stage.get("data") or []:
            for folder in (Path(data).parent, Path(data).parent.parent):
                card = folder / "card.json"
                if card.is_file():
                    loaded: dict[str, Any] = json.loads(card.read_text())
                    if len(json.dumps(loaded)) > CARD_LIMIT:
                        keep = {k: v for k, v in loaded.items() if len(json.dumps(v)) < 4000}
                        loaded = {**keep, "truncated": True}
                    return {"file": str(card), **loaded}
    return None


def training_record(source: ExportSource, model_config: dict[str, Any]) -> dict[str, Any]:
    """A bundle's ``training`` entry: where its weights came from and how they were trained."""
    return {
        "source": str(source.origin),
        "checkpoint": str(source.checkpoint),
        "checkpoint_meta": source.meta,
        "recipe": source.recipe,
        "model_config": model_config,
    }


def training_metrics(source: ExportSource) -> dict[str, Any]:
    """The last evaluation of each stage of the run (``eval.csv``), as numbers."""
    if source.run_dir is None or not (source.run_dir / "eval.csv").is_file():
        return {}
    with (source.run_dir / "eval.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    last: dict[str, Any] = {}
    for row in rows:
        values: dict[str, Any] = {}
        for key, value in row.items():
            try:
                values[key] = float(value) if key != "stage" else value
            except (TypeError, ValueError):
                values[key] = value
        last[str(row.get("stage", ""))] = values
    return last
