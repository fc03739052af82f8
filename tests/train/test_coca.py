"""The trainer on the coca task: ``sargeo train coca`` with a two-stage (optical, then SAR) tiny recipe
writes a run whose evaluation holds caption metrics, and a resumed run ends with exactly the weights
and losses of an uninterrupted one."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch

from sargeo.cli import main
from sargeo.train.recipe import load_recipe
from sargeo.train.trainer import train
from tests.train.conftest import tiny_recipe, write_recipe

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _recipe(tmp_path: Path) -> Path:
    recipe = tiny_recipe(task="coca", model="sar-rs-coca-tiny")
    recipe["eval"]["max_images"] = 4
    recipe["stages"][0]["freeze"] = ["image.early"]
    return write_recipe(tmp_path / "coca.json", recipe)


def _losses(run: Path) -> list[tuple[str, str, str]]:
    with (run / "log.csv").open() as fh:
        return [(r["step"], r["loss"], r["caption_loss"]) for r in csv.DictReader(fh)]


def test_train_coca_and_resume_exactly(corpus: Path, tmp_path: Path) -> None:
    path = _recipe(tmp_path)
    whole = tmp_path / "whole"
    argv = ["train", "coca", "--recipe", str(path), "--corpus", str(corpus), "-q"]
    assert main([*argv, "-o", str(whole)]) == 0
    with (whole / "eval.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["stage"] for r in rows] == ["optical", "sar"]
    assert {"BLEU-4", "ROUGE-L", "CIDEr-D"} <= set(rows[-1])
    assert float(_losses(whole)[0][2]) > 0
    assert main(["train", "clip", "--recipe", str(path), "--corpus", str(corpus), "-o",
                 str(tmp_path / "x"), "-q"]) == 2  # fmt: skip

    recipe = load_recipe(path, corpus=str(corpus))
    stop = 4  # inside the SAR stage
    run = tmp_path / "cut"
    train(recipe, run, progress=False)
    shutil.rmtree(run / "final")
    for ckpt in (run / "checkpoints").iterdir():
        if int(ckpt.name.split("-")[1]) > stop:
            shutil.rmtree(ckpt)
    train(recipe, run, resume=True, progress=False)
    a = torch.load(whole / "final" / "model.pt", weights_only=True)
    b = torch.load(run / "final" / "model.pt", weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert _losses(run) == _losses(whole)
