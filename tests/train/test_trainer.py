"""The trainer end to end on the tiny model: a two-stage run writes its run folder, a resumed run ends
with exactly the weights of an uninterrupted one, and the trained model evaluates from the CLI."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import torch

from sargeo.cli import main
from sargeo.train.recipe import load_recipe
from sargeo.train.trainer import train
from tests.train.conftest import tiny_recipe, train_cli, write_recipe

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _final(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "final" / "model.pt", weights_only=True)


def _losses(run: Path) -> list[tuple[str, str]]:
    with (run / "log.csv").open() as fh:
        return [(r["step"], r["loss"]) for r in csv.DictReader(fh)]


def test_two_stage_run_writes_a_complete_run_folder(corpus: Path, tmp_path: Path) -> None:
    recipe_file = write_recipe(tmp_path / "r.json", tiny_recipe(keep_checkpoints=1))
    run = tmp_path / "run"
    assert train_cli(recipe_file, corpus, run) == 0
    names = {p.name for p in run.iterdir()}
    assert {
        "recipe.json",
        "run.json",
        "model.json",
        "log.csv",
        "eval.csv",
        "curves.png",
        "final",
        "checkpoints",
    } <= names
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert [int(s) for s, _ in _losses(run)] == list(range(1, 8))
    with (run / "eval.csv").open() as fh:
        evals = list(csv.DictReader(fh))
    assert [e["stage"] for e in evals] == ["optical", "sar"] and 0 <= float(evals[-1]["mR"]) <= 100
    # kept: the newest step checkpoint and every stage end (3 = end of optical, 7 = end of sar)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step-00000003",
        "step-00000007",
    ]
    meta = json.loads((run / "final" / "meta.json").read_text())
    assert meta["model"] == "sar-rs-clip-tiny" and meta["step"] == 7
    assert not [p for p in run.rglob(".*") if "partial" in p.name]

    out = tmp_path / "metrics.json"
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "filepath,label\n"
        + "".join(f"{p},water\n" for p in sorted(corpus.parent.glob("synth/scene_*/sar.tif"))[:3])
    )
    code = main(
        [
            "eval",
            "retrieval",
            str(run),
            str(corpus / "captions_val.csv"),
            "-o",
            str(out),
            "--zeroshot",
            "water",
            "--labels",
            str(labels),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    assert result["retrieval"]["mR"] == pytest.approx(float(evals[-1]["mR"]), abs=1e-3)
    assert result["zeroshot"]["n"] == 3 and result["zeroshot"]["majority_baseline"] == 100.0


def test_resume_continues_exactly(corpus: Path, tmp_path: Path) -> None:
    recipe = load_recipe(write_recipe(tmp_path / "r.json", tiny_recipe()), corpus=str(corpus))
    whole = tmp_path / "whole"
    train(recipe, whole, progress=False)
    for stop in (2, 3, 4):  # inside the cached-text stage, at its end, inside the SAR stage
        run = tmp_path / f"cut{stop}"
        train(recipe, run, progress=False)
        # a kill after step `stop`: later checkpoints and the final model never written, and a
        # half-written checkpoint of a killed process left behind
        shutil.rmtree(run / "final")
        for ckpt in (run / "checkpoints").iterdir():
            if int(ckpt.name.split("-")[1]) > stop:
                shutil.rmtree(ckpt)
        (run / "checkpoints" / f".step-{stop + 1:08d}.999999.dead.partial").mkdir()
        state = torch.load(
            run / "checkpoints" / f"step-{stop:08d}" / "state.pt", weights_only=False
        )
        if stop == 2:
            assert (
                len(state["task"]["text_cache_keys"]) > 0
            )  # the frozen text tower's cache travels
        train(recipe, run, resume=True, progress=False)
        a, b = _final(whole), _final(run)
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (stop, key)
        assert _losses(run) == _losses(whole)
        assert not list((run / "checkpoints").glob(".*"))
