"""Recipes are data: every key is checked, shipped recipes parse, bad ones fail in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sargeo.errors import InputError
from sargeo.train.recipe import load_recipe, parse_recipe, shipped_recipes
from sargeo.train.trainer import lr_factor, stage_steps

STAGE = {"name": "s", "data": "{corpus}/captions_train.csv", "steps": 10, "batch_size": 4}


def test_shipped_recipes_parse(tmp_path: Path) -> None:
    names = shipped_recipes()
    assert {
        "clip-tiny",
        "clip-lite-progressive",
        "clip-lite-single",
        "clip-vit-b-32",
        "clip-vit-l-14",
        "gpt-tiny",
        "gpt-lite-two-stage",
        "gpt-lite-single",
    } <= set(names)
    for name in names:
        recipe = load_recipe(name, corpus=str(tmp_path))
        assert recipe.task == name.split("-")[0] and recipe.stages
        assert all(str(tmp_path) in p for s in recipe.stages for p in s.data)
    progressive = load_recipe("clip-lite-progressive", corpus=str(tmp_path))
    assert [s.source for s in progressive.stages][:1] == ["optical"] and progressive.stages[
        -1
    ].source == "sar"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learning_rate": 1}, "unknown key"),
        ({"stages": [{**STAGE, "lr_max": 1}]}, "unknown key"),
        ({"stages": [{**STAGE, "data": []}]}, "has no data"),
        ({"stages": [{**STAGE, "epochs": 2}]}, "exactly one of steps or epochs"),
        ({"stages": [{**STAGE, "augment": {"speckle": 1}}]}, "unknown key"),
        ({"stages": []}, "no stages"),
        ({"task": "segment"}, "not one of"),
        ({"stages": [STAGE, STAGE]}, "repeat"),
    ],
)
def test_bad_recipes(change: dict[str, object], message: str) -> None:
    base = {"task": "clip", "model": "sar-rs-clip-tiny", "stages": [STAGE]}
    with pytest.raises(InputError, match=message):
        parse_recipe({**base, **change}, corpus="/c")


def test_corpus_placeholder_needs_a_corpus_and_yaml_reads(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs a corpus"):
        parse_recipe({"task": "clip", "model": "m", "stages": [STAGE]})
    path = tmp_path / "r.yaml"
    path.write_text(
        "task: clip\nmodel: sar-rs-clip-tiny\nstages:\n  - {name: a, data: x.csv, steps: 3}\n"
    )
    recipe = load_recipe(path)
    assert recipe.stages[0].data == (str(Path("x.csv").resolve()),)
    (tmp_path / "bad.json").write_text(json.dumps({"task": "clip"})[:-1])
    with pytest.raises(InputError, match="cannot read recipe"):
        load_recipe(tmp_path / "bad.json")


def test_schedule_and_epochs() -> None:
    recipe = parse_recipe(
        {
            "task": "clip",
            "model": "m",
            "stages": [{**STAGE, "data": "a.csv", "warmup": 2, "lr": 1.0}],
        }
    )
    stage = recipe.stages[0]
    assert [round(lr_factor(s, 10, stage), 3) for s in (0, 1, 2)] == [0.5, 1.0, 1.0]
    assert lr_factor(10, 10, stage) == pytest.approx(0.0)
    assert lr_factor(6, 10, stage) == pytest.approx(0.5)
    epochs = parse_recipe(
        {
            "task": "clip",
            "model": "m",
            "stages": [{"data": "a.csv", "epochs": 2.5, "batch_size": 8}],
        }
    )
    assert stage_steps(epochs.stages[0], 100) == 32


def test_gpt_recipes_two_stage_and_single_share_a_budget(tmp_path: Path) -> None:
    two = load_recipe("gpt-lite-two-stage", corpus=str(tmp_path))
    single = load_recipe("gpt-lite-single", corpus=str(tmp_path))
    assert [s.source for s in two.stages] == ["optical", "sar"]
    assert "/optical/conversations_train.json" in two.stages[0].data[0]
    assert sum(s.steps * s.batch_size for s in two.stages) == sum(
        s.steps * s.batch_size for s in single.stages
    )
    for stage in (*two.stages, *single.stages):  # only the projector and LoRA train
        assert set(stage.freeze) == {"vision", "lm"}
