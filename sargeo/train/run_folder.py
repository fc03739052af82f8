"""The run folder: made whole in one rename, and recognised again on ``--resume``.

A new run folder appears with its ``recipe.json`` (the checked recipe, data paths resolved) and
``run.json`` (the recipe's hash, sargeo's version) already in it; an existing one is refused unless the
run resumes, and a resume is refused when the folder was made by another recipe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sargeo import __version__
from sargeo.atomic import atomic_dir, clean_leftovers
from sargeo.errors import InputError, OutputError
from sargeo.train.checkpoint import read_json
from sargeo.train.recipe import Recipe


def create_run_folder(run_dir: Path, recipe: Recipe, model_config: Mapping[str, Any]) -> None:
    """Make ``run_dir`` with the recipe and model config in it; refuse an existing folder."""
    if run_dir.exists():
        raise OutputError(
            f"run folder {run_dir} exists; use `resume` to continue it or name a new one"
        )
    inputs = [p for s in recipe.stages for p in s.data]
    with atomic_dir(run_dir, inputs=inputs) as tmp:
        (tmp / "recipe.json").write_text(json.dumps(recipe.to_dict(), indent=2) + "\n")
        run = {
            "recipe": recipe.digest(),
            "task": recipe.task,
            "model": recipe.model,
            "sargeo": __version__,
        }
        (tmp / "run.json").write_text(json.dumps(run, indent=2) + "\n")
        (tmp / "model.json").write_text(json.dumps(model_config, indent=2) + "\n")
        (tmp / "checkpoints").mkdir()


def check_resume(run_dir: Path, recipe: Recipe) -> None:
    """A resume needs a run folder made by this very recipe (same hash)."""
    if not (run_dir / "run.json").is_file():
        raise InputError(f"{run_dir} is not a run folder (no run.json); nothing to resume")
    made_by = read_json(run_dir / "run.json").get("recipe")
    if made_by != recipe.digest():
        raise InputError(
            f"run folder {run_dir} was made by another recipe (hash {made_by}, this one {recipe.digest()});"
            " resume it with the same recipe and data, or start a new run folder"
        )
    clean_run_folder(run_dir)


def clean_run_folder(run_dir: Path) -> None:
    """Remove what killed writes left in a run folder (hidden partial checkpoints, logs, final model)."""
    for name in ("log.csv", "eval.csv", "curves.png", "model.json", "final"):
        clean_leftovers(run_dir / name)
    checkpoints = run_dir / "checkpoints"
    if checkpoints.is_dir():
        names = {e.name[1:14] for e in checkpoints.iterdir() if e.name.startswith(".step-")}
        for name in names:
            clean_leftovers(checkpoints / name)
