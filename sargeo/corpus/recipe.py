"""A corpus recipe: which scenes to make or read, how to cut them into tiles, how to narrate them.

Recipes are JSON data files (``sargeo/corpus/recipes/*.json``); an unknown key is an error, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sargeo.errors import InputError, OptionError

RECIPES = Path(__file__).parent / "recipes"
DEFAULT_RECIPE = RECIPES / "default.json"
RENDERS = ("source", "db", "hrsid")
"""How chips are written: the source's pixels as read, sigma0 in dB (float32 GeoTIFF), or HRSID's
8-bit amplitude JPEG (the synthetic world's ``hrsid`` rendering)."""


@dataclass(frozen=True)
class TileRule:
    """How a scene is cut into tiles.

    Attributes:
        size: Tile side in pixels (a scene smaller than this is one tile).
        overlap: Overlap between neighbouring tiles in pixels.
        min_box_inside: Share of a box's area that must lie inside a tile for the tile to keep it
            (clipped to the tile); boxes cut at the edge below this share are dropped.
        max_nodata: Tiles with a larger share of nodata pixels are skipped.
        keep_empty: Share of tiles without any object to keep (a seeded draw), so that the corpus
            is rich in ships and structures without losing open sea and land entirely.
    """

    size: int = 256
    overlap: int = 0
    min_box_inside: float = 0.5
    max_nodata: float = 0.5
    keep_empty: float = 1.0


@dataclass(frozen=True)
class SyntheticMix:
    """A family of synthetic scenes: sensor, size and rendering, and how its scenes are tiled.

    Attributes:
        name: Short name (chip and scene names start with it).
        scenes: Number of scenes.
        size: Scene side in pixels.
        sensor: A sensor preset of ``sargeo/synth/sensors.json``.
        render: One of `RENDERS` (``source`` is not meaningful for synthetic scenes).
        seed: Seed of the first scene; scene i uses ``seed + i``.
        tile: How its scenes are cut.
    """

    name: str
    scenes: int
    size: int
    sensor: str
    render: str = "db"
    seed: int = 0
    tile: TileRule = field(default_factory=TileRule)


@dataclass(frozen=True)
class NarrationRule:
    """SAR-Narrator settings for the tiles."""

    branches: tuple[str, ...] = ("a2c", "sa2c", "o2s", "geo")
    per_image: int = 5
    qa: bool = True
    splits: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0


@dataclass(frozen=True)
class CorpusRecipe:
    """What `sargeo corpus build` makes.

    Attributes:
        description: What the recipe is for, in a sentence or two.
        synthetic: Synthetic scene families built when no data is given.
        tile: How user data (DATA...) is cut; synthetic families carry their own rule.
        render: How user data chips are written (one of `RENDERS`).
        narrator: How tiles are narrated.
        optical_stage: Whether to write the optical pairs (``optical/captions_*.csv``) for the
            progressive trainer's optical stage.
    """

    description: str = ""
    synthetic: tuple[SyntheticMix, ...] = ()
    tile: TileRule = field(default_factory=TileRule)
    render: str = "source"
    narrator: NarrationRule = field(default_factory=NarrationRule)
    optical_stage: bool = True
    version: int = 1

    def check(self) -> None:
        """Refuse values that cannot work, naming the recipe key."""
        rules = [("tile", self.tile)] + [
            (f"synthetic.{m.name}.tile", m.tile) for m in self.synthetic
        ]
        for where, rule in rules:
            if rule.size < 16:
                raise OptionError(f"{where}.size", f"must be at least 16 px, got {rule.size}")
            if not 0 <= rule.overlap < rule.size:
                raise OptionError(f"{where}.overlap", f"must be in [0, size), got {rule.overlap}")
            for name in ("min_box_inside", "max_nodata", "keep_empty"):
                value = getattr(rule, name)
                if not 0.0 <= value <= 1.0:
                    raise OptionError(f"{where}.{name}", f"must be in [0, 1], got {value}")
        renders = [("render", self.render)] + [
            (f"synthetic.{m.name}.render", m.render) for m in self.synthetic
        ]
        for where, render in renders:
            if render not in RENDERS:
                raise OptionError(where, f"must be one of {', '.join(RENDERS)}, got {render!r}")
        names = [m.name for m in self.synthetic]
        if len(set(names)) != len(names):
            raise OptionError("synthetic", "mix names must be unique")
        for mix in self.synthetic:
            if mix.scenes < 1:
                raise OptionError(
                    f"synthetic.{mix.name}.scenes", f"must be at least 1, got {mix.scenes}"
                )
        if self.narrator.per_image < 1:
            raise OptionError(
                "narrator.per_image", f"must be at least 1, got {self.narrator.per_image}"
            )


def _build(cls: type[Any], data: Any, where: str) -> Any:
    """A dataclass from a JSON object, refusing unknown keys and wrong shapes."""
    if not isinstance(data, dict):
        raise InputError(f"recipe: {where or 'the recipe'} must be a JSON object")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InputError(
            f"recipe: unknown key {where + '.' if where else ''}{unknown[0]} "
            f"(known: {', '.join(sorted(known))})"
        )
    values: dict[str, Any] = {}
    for name, value in data.items():
        nested = _NESTED.get((cls, name))
        here = f"{where}.{name}" if where else name
        if nested is not None:
            values[name] = _build(nested, value, here)
        elif (cls, name) == (CorpusRecipe, "synthetic"):
            if not isinstance(value, list):
                raise InputError(f"recipe: {here} must be a list")
            values[name] = tuple(
                _build(SyntheticMix, item, f"{here}[{i}]") for i, item in enumerate(value)
            )
        elif isinstance(value, list):
            values[name] = tuple(value)
        else:
            values[name] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise InputError(f"recipe: {where or 'the recipe'}: {exc}") from exc


_NESTED: dict[tuple[type[Any], str], type[Any]] = {
    (CorpusRecipe, "tile"): TileRule,
    (CorpusRecipe, "narrator"): NarrationRule,
    (SyntheticMix, "tile"): TileRule,
}


def shipped_recipes() -> list[str]:
    """Names of the recipes that ship with sargeo (``--recipe NAME``)."""
    return sorted(p.stem for p in RECIPES.glob("*.json"))


def load_recipe(path: str | Path | None = None) -> CorpusRecipe:
    """Read and check a recipe file, or a shipped recipe by name (default: ``default``)."""
    path = Path(path) if path is not None else DEFAULT_RECIPE
    if not path.is_file() and path.name == str(path) and path.name in shipped_recipes():
        path = RECIPES / f"{path.name}.json"
    if not path.is_file():
        shipped = ", ".join(shipped_recipes())
        raise InputError(f"{path}: no such recipe file (shipped recipes: {shipped})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON recipe ({exc})") from exc
    recipe: CorpusRecipe = _build(CorpusRecipe, data, "")
    recipe.check()
    return recipe
