"""A small corpus for the trainer's tests: `sargeo synth` + `sargeo narrate`, plus optical pairs."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from sargeo.cli import main


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Narrated synthetic scenes (captions_{split}.csv) with optical/captions_{split}.csv beside them."""
    root = tmp_path_factory.mktemp("corpus")
    assert main(["synth", "-o", str(root / "synth"), "--size", "256", "--scenes", "6", "-q"]) == 0
    out = root / "narrated"
    assert (
        main(["narrate", str(root / "synth"), "-o", str(out), "-q", "--splits", "0.6,0.4,0"]) == 0
    )
    (out / "optical").mkdir()
    splits = json.loads((out / "splits.json").read_text())
    by_split: dict[str, list[tuple[str, str]]] = {"train": [], "val": [], "test": []}
    for scene in sorted((root / "synth").glob("scene_*")):
        info = json.loads((scene / "scene.json").read_text())
        split = splits.get(scene.name, "train") if isinstance(splits, dict) else "train"
        split = split if split in by_split else "train"
        for caption in info.get("optical_captions", []):
            by_split[split].append((str(scene / "optical.tif"), caption))
    for split, rows in by_split.items():
        with (out / "optical" / f"captions_{split}.csv").open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["filepath", "title"])
            writer.writerows(rows)
    return out


def tiny_recipe(**changes: Any) -> dict[str, Any]:
    """A two-stage tiny recipe: optical with the text tower frozen (cached), then SAR, all trained."""
    recipe: dict[str, Any] = {
        "name": "test",
        "task": "clip",
        "model": "sar-rs-clip-tiny",
        "seed": 3,
        "threads": 1,
        "checkpoint_every": 2,
        "keep_checkpoints": 10,
        "log_every": 1,
        "eval": {"data": "{corpus}/captions_val.csv", "max_images": 20, "batch_size": 8},
        "stages": [
            {
                "name": "optical",
                "source": "optical",
                "data": "{corpus}/optical/captions_train.csv",
                "freeze": ["text"],
                "lr": 0.001,
                "warmup": 1,
                "batch_size": 4,
                "steps": 3,
            },
            {
                "name": "sar",
                "data": "{corpus}/captions_train.csv",
                "lr": 0.001,
                "warmup": 1,
                "batch_size": 4,
                "steps": 4,
                "augment": {
                    "speckle_p": 0.5,
                    "gain_p": 0.5,
                    "quantise_p": 0.3,
                    "single_pol_p": 0.3,
                },
            },
        ],
    }
    recipe.update(changes)
    return recipe


def write_recipe(path: Path, recipe: dict[str, Any]) -> Path:
    """Write a recipe JSON file."""
    path.write_text(json.dumps(recipe))
    return path
