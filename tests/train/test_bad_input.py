"""Bad training input: one line on stderr, exit code 2, and no run folder (or an untouched one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sargeo.cli import main
from tests.train.conftest import tiny_recipe, train_cli, write_recipe

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _train(
    capsys: pytest.CaptureFixture[str], recipe: Path, corpus: Path, run: Path, *extra: str
) -> tuple[int, str]:
    code = train_cli(recipe, corpus, run, *extra)
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return code, err


def _one_stage(**stage: object) -> dict[str, object]:
    base = tiny_recipe()
    return {**base, "stages": [{**base["stages"][1], **stage}]}  # type: ignore[index]


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ({**tiny_recipe(), "learning_rate": 0.1}, "unknown key(s) learning_rate"),
        (_one_stage(data=[]), "has no data"),
        (_one_stage(data="{corpus}/missing.csv"), "does not exist"),
        (_one_stage(data="{corpus}/empty.csv"), "no captions in"),
        (_one_stage(freeze=["wings"]), "no group 'wings'"),
        ({**tiny_recipe(), "model": "sar-rs-clip-giant"}, "unknown model"),
    ],
)
def test_bad_recipe_or_data(
    corpus: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    recipe: dict[str, object],
    message: str,
) -> None:
    (corpus / "empty.csv").write_text("filepath,title\n")
    run = tmp_path / "run"
    code, err = _train(capsys, write_recipe(tmp_path / "r.json", recipe), corpus, run)
    assert code == 2 and message in err and err.startswith("sargeo train: error:")
    assert not run.exists() and not list(tmp_path.glob(".run*"))


def test_init_of_another_architecture(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "wrong.pt"
    torch.save({"state_dict": {"visual.proj": torch.zeros(3, 3)}}, wrong)
    run = tmp_path / "run"
    code, err = _train(
        capsys, write_recipe(tmp_path / "r.json", tiny_recipe()), corpus, run, "--init", str(wrong)
    )
    assert code == 2 and "does not fit model sar-rs-clip-tiny" in err
    assert not run.exists()


def test_existing_folder_and_resume_of_another_recipe(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tiny_recipe(stages=[{**tiny_recipe()["stages"][1], "steps": 2}])
    recipe = write_recipe(tmp_path / "r.json", short)
    run = tmp_path / "run"
    assert train_cli(recipe, corpus, run) == 0
    capsys.readouterr()
    before = sorted(p.name for p in run.rglob("*"))
    code, err = _train(capsys, recipe, corpus, run)
    assert code == 2 and "exists; use --resume" in err
    other = write_recipe(tmp_path / "other.json", {**short, "seed": 4})
    code, err = _train(capsys, other, corpus, run, "--resume")
    assert code == 2 and "made by another recipe" in err
    code, err = _train(capsys, recipe, corpus, tmp_path / "nothing", "--resume")
    assert code == 2 and "not a run folder" in err
    assert sorted(p.name for p in run.rglob("*")) == before
    json.loads((run / "run.json").read_text())


def test_eval_bad_input(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "retrieval", str(tmp_path), str(corpus)]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err
    argv = ["train", "coca", "--recipe", "clip-tiny", "--corpus", str(corpus)]
    assert main([*argv, "-o", str(tmp_path / "r")]) == 2
    assert "is a clip recipe, not a coca one" in capsys.readouterr().err
    argv = ["train", "gpt", "--recipe", "clip-tiny", "--corpus", str(corpus)]
    assert main([*argv, "-o", str(tmp_path / "r")]) == 2
    assert "is a clip recipe, not a gpt one" in capsys.readouterr().err
