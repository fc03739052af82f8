"""A tiny SAR-RS-CoCa trained for a few steps on narrated synthetic scenes, built once a session and
shared by xdist workers (as `tests.bundles` does for CLIP): real weights, real captions."""

from __future__ import annotations

import json
from pathlib import Path

from sargeo.cli import main

COCA_STEPS = 10


def build_tiny_coca_run(folder: Path) -> None:
    """Synthetic scenes, their captions, and a tiny CoCa trained for `COCA_STEPS` steps."""
    folder.mkdir(parents=True)
    assert main(["synth", "-o", str(folder / "synth"), "--size", "256", "--scenes", "4", "-q"]) == 0
    narrated = folder / "narrated"
    code = main(
        ["narrate", str(folder / "synth"), "-o", str(narrated), "-q", "--splits", "0.5,0.25,0.25"]
    )
    assert code == 0
    recipe = json.loads(
        (Path(__file__).parents[1] / "sargeo/train/recipes/coca-tiny.json").read_text()
    )
    recipe.update(
        name="test-coca", seed=1, checkpoint_every=0, log_every=5,
        eval={"data": "{corpus}/captions_val.csv", "max_images": 4, "batch_size": 4},
    )  # fmt: skip
    recipe["stages"][0].update(steps=COCA_STEPS, batch_size=8, warmup=2)
    (folder / "recipe.json").write_text(json.dumps(recipe))
    argv = ["train", "coca", "--recipe", str(folder / "recipe.json"), "--corpus", str(narrated)]
    assert main([*argv, "-o", str(folder / "run"), "-q"]) == 0
