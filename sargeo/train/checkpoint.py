"""Checkpoints and the run folder: every file appears complete or not at all (`sargeo.atomic`).

A checkpoint is a folder ``checkpoints/step-NNNNNNNN/`` with ``model.pt`` (the weights), ``state.pt``
(optimiser, scheduler, scaler, random states, position in the recipe, logs, task state), ``model.json``
(the model config, enough to rebuild the model) and ``meta.json``. It is written under a hidden name and
renamed into place, so a killed run leaves at most a hidden leftover, which the next run removes; the
newest complete checkpoint is the one a ``--resume`` continues from. ``final/`` has the same layout.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from sargeo.atomic import atomic_dir, atomic_file, clean_leftovers
from sargeo.errors import InputError

_STEP = re.compile(r"^step-(\d{8})$")


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object; a broken file is a one-line `InputError`."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a JSON object")
    return data


def save_checkpoint(
    folder: Path,
    model_state: Mapping[str, torch.Tensor],
    state: Mapping[str, Any] | None,
    meta: Mapping[str, Any],
    model_config: Mapping[str, Any],
) -> Path:
    """Write a checkpoint folder atomically (replacing an older one of the same name)."""
    with atomic_dir(folder, inputs=(), overwrite=True) as tmp:
        torch.save(dict(model_state), tmp / "model.pt")
        if state is not None:
            torch.save(dict(state), tmp / "state.pt")
        (tmp / "model.json").write_text(json.dumps(model_config, indent=2) + "\n")
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return folder


def step_checkpoints(run_dir: Path) -> list[Path]:
    """Complete step checkpoints of a run, oldest first (hidden leftovers of killed writes removed)."""
    folder = run_dir / "checkpoints"
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        m = _STEP.match(entry.name)
        if m and (entry / "meta.json").is_file():
            clean_leftovers(entry)
            found.append((int(m.group(1)), entry))
    return [p for _, p in sorted(found)]


def step_folder(run_dir: Path, step: int) -> Path:
    """Where the checkpoint of ``step`` goes."""
    return run_dir / "checkpoints" / f"step-{step:08d}"


def prune(run_dir: Path, keep: int) -> None:
    """Remove all but the newest ``keep`` step checkpoints, except those that end a stage."""
    ckpts = step_checkpoints(run_dir)
    for path in ckpts[: max(0, len(ckpts) - keep)]:
        if not read_json(path / "meta.json").get("stage_end"):
            shutil.rmtree(path, ignore_errors=True)


def find_checkpoint(path: Path) -> Path:
    """A run folder (its ``final/``, else newest checkpoint), a checkpoint folder, or its model.pt."""
    if path.is_file() and path.name == "model.pt":
        path = path.parent
    if (path / "meta.json").is_file() and (path / "model.pt").is_file():
        return path
    if (path / "final" / "model.pt").is_file():
        return path / "final"
    ckpts = step_checkpoints(path)
    if ckpts:
        return ckpts[-1]
    raise InputError(
        f"{path} holds no checkpoint (a run folder, a checkpoint folder or its model.pt)"
    )


def load_checkpoint(
    path: Path, with_state: bool = True
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """(meta, model config, model state dict, trainer state or None) of a checkpoint folder."""
    meta = read_json(path / "meta.json")
    config = read_json(path / "model.json")
    try:
        weights = torch.load(path / "model.pt", map_location="cpu", weights_only=True)
        state = None
        if with_state and (path / "state.pt").is_file():
            state = torch.load(path / "state.pt", map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError) as exc:
        raise InputError(f"cannot read checkpoint {path}: {str(exc).splitlines()[0]}") from exc
    return meta, config, weights, state
