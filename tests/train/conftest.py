"""A small corpus for the trainer's tests: `sargeo synth` + `sargeo narrate`, plus optical pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_train import make_corpus
from sargeo.cli import main


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Narrated synthetic scenes (captions_{split}.csv) with optical/captions_{split}.csv beside them."""
    return make_corpus(tmp_path_factory.mktemp("corpus"), scenes=6, splits="0.6,0.4,0")


def train_cli(recipe: Path, corpus: Path, run: Path, *extra: str) -> int:
    """``sargeo train clip --recipe RECIPE --corpus CORPUS -o RUN -q EXTRA...`` in this process."""
    argv = ["train", "clip", "--recipe", str(recipe), "--corpus", str(corpus), "-o", str(run), "-q"]
    return main([*argv, *extra])


def train_argv(recipe: Path, corpus: Path, run: Path) -> list[str]:
    """The same command for a subprocess (``python -m sargeo ...``)."""
    return [
        "-m",
        "sargeo",
        "train",
        "clip",
        "--recipe",
        str(recipe),
        "--corpus",
        str(corpus),
        "-o",
        str(run),
        "-q",
    ]


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
