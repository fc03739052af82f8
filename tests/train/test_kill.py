"""A training process killed with SIGKILL leaves complete checkpoints only; --resume finishes the run
with the uninterrupted run's exact weights."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sargeo.train.recipe import load_recipe
from sargeo.train.trainer import train
from tests.train.conftest import tiny_recipe, train_argv, write_recipe


@pytest.mark.slow
def test_sigkill_then_resume(corpus: Path, tmp_path: Path) -> None:
    recipe = tiny_recipe(checkpoint_every=5, keep_checkpoints=2, eval={"data": ""})
    recipe["stages"] = [{**recipe["stages"][1], "steps": 40}]
    path = write_recipe(tmp_path / "r.json", recipe)
    run = tmp_path / "killed"
    cmd = [sys.executable, *train_argv(path, corpus, run)]
    proc = subprocess.Popen(
        cmd, env={**os.environ, "HF_HUB_OFFLINE": "1"}, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 240
    while time.time() < deadline and not (run / "checkpoints" / "step-00000010").exists():
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "final").exists(), "the run ended before it could be killed"
    assert (run / "checkpoints" / "step-00000010" / "state.pt").is_file()

    parsed = load_recipe(path, corpus=str(corpus))
    train(parsed, run, resume=True, progress=False)
    whole = tmp_path / "whole"
    train(parsed, whole, progress=False)
    a = torch.load(run / "final" / "model.pt", weights_only=True)
    b = torch.load(whole / "final" / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not [p for p in run.rglob(".*")]
