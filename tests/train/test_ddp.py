"""Data-parallel training under torchrun: two CPU processes on gloo give the single process's run."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.train.conftest import tiny_recipe, train_argv, train_cli, write_recipe


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _losses(run: Path) -> list[float]:
    with (run / "log.csv").open() as fh:
        return [float(r["loss"]) for r in csv.DictReader(fh)]


@pytest.mark.slow
def test_two_gloo_processes_match_one(corpus: Path, tmp_path: Path) -> None:
    recipe = tiny_recipe(checkpoint_every=2, eval={"data": ""})
    recipe["stages"] = [{**recipe["stages"][1], "steps": 3, "augment": {}}]
    path = write_recipe(tmp_path / "r.json", recipe)
    ddp, single = tmp_path / "ddp", tmp_path / "single"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    cmd = [*torchrun, "--master_port", str(_free_port()), *train_argv(path, corpus, ddp)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("trained 3 steps") == 1  # only rank 0 reports
    assert train_cli(path, corpus, single) == 0
    # each process embeds half of every global batch; the gathered loss is the whole batch's
    assert _losses(ddp) == pytest.approx(_losses(single), abs=1e-4)
    a = torch.load(ddp / "final" / "model.pt", weights_only=True)
    b = torch.load(single / "final" / "model.pt", weights_only=True)
    for key in a:
        torch.testing.assert_close(a[key], b[key], atol=2e-3, rtol=1e-3)
    assert sorted(p.name for p in (ddp / "checkpoints").iterdir()) == [
        "step-00000002",
        "step-00000003",
    ]
