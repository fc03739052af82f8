"""Corpus recipes are data: the built-in ones load, and every mistake in one is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sargeo.corpus.recipe import RECIPES, load_recipe
from sargeo.errors import InputError, OptionError


@pytest.mark.parametrize("path", sorted(RECIPES.glob("*.json")), ids=lambda p: p.stem)
def test_built_in_recipes_load(path: Path) -> None:
    recipe = load_recipe(path)
    assert recipe.synthetic and recipe.description


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        ({"synthetics": []}, InputError, "unknown key synthetics"),
        ({"tile": {"sise": 3}}, InputError, "unknown key tile.sise"),
        ({"synthetic": [{"name": "a", "scenes": 1, "size": 64, "sensor": "x", "colour": 1}]},
         InputError, r"unknown key synthetic\[0\].colour"),
        ({"synthetic": {"name": "a"}}, InputError, "synthetic must be a list"),
        ({"tile": {"size": 8}}, OptionError, "tile.size"),
        ({"tile": {"overlap": 300}}, OptionError, "tile.overlap"),
        ({"tile": {"keep_empty": 2}}, OptionError, "tile.keep_empty"),
        ({"render": "png"}, OptionError, "render"),
        ({"synthetic": [{"name": "a", "scenes": 0, "size": 64, "sensor": "x"}]},
         OptionError, "synthetic.a.scenes"),
    ],
)  # fmt: skip
def test_recipe_mistakes_are_named(
    tmp_path: Path, data: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        load_recipe(_write(tmp_path, data))


def test_missing_and_malformed_recipe_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such recipe"):
        load_recipe(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not a JSON recipe"):
        load_recipe(bad)


def test_shipped_recipe_by_name() -> None:
    assert load_recipe("tiny") == load_recipe(RECIPES / "tiny.json")
    with pytest.raises(InputError, match="shipped recipes: default, tiny"):
        load_recipe("tinyy")
