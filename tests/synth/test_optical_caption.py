"""Captions of the optical image of synthetic scenes: only present classes, true counts and positions,
and the colour words an optical caption has.

The readers here are written apart from `sargeo.synth.optical_caption` (their own noun, count, surface
and grid-cell tables), so that a test does not trust the code it tests.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st

from sargeo.errors import SargeoError
from sargeo.synth import SCENE_FILES
from sargeo.synth.optical_caption import load_vocab, optical_captions, scene_folder_captions
from sargeo.synth.scene import SynthOptions, generate
from sargeo.synth.tables import load_classes

NOUNS = {
    "ship": ("ship", "ships", "boat", "boats", "vessel", "vessels"),
    "aircraft": ("airplane", "airplanes", "plane", "planes", "aircraft"),
    "storage_tank": ("storage tank", "storage tanks", "oil tank", "oil tanks"),
    "offshore_platform": (
        "offshore platform",
        "offshore platforms",
        "oil platform",
        "oil platforms",
    ),
    "wind_turbine": ("wind turbine", "wind turbines"),
    "oil_slick": ("oil slick", "oil slicks"),
}
NOUN_CLASS = {noun: cls for cls, nouns in NOUNS.items() for noun in nouns}
EXACT = {"a": 1, "an": 1, "one": 1, "a single": 1, "two": 2, "three": 3, "four": 4, "five": 5}
EXACT |= {"six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
BANDS = {"more than ten": (11, 19), "over ten": (11, 19), "dozens of": (20, 99)}
BANDS |= {"hundreds of": (100, 10**9)}
SURFACES = {
    r"\bsea\b": "sea",
    r"\brivers?\b": "river",
    r"\blakes?\b": "lake",
    r"\b(?:farmland|fields)\b": "farmland",
    r"\b(?:forest|woods|trees)\b": "forest",
    r"\bbare (?:soil|ground)\b": "bare_soil",
    r"\b(?:houses|towns?|residential)\b": "urban",
    r"\broads?\b": "road",
    r"\bbridge\b": "bridge",
    r"\bharbour\b": "harbour",
    r"\bpiers?\b": "pier",
    r"\bairports?\b": "airport",
    r"\brunway\b": "runway",
    r"\bapron\b": "apron",
}
CELLS = {
    (0, 0): ("in the upper left", "in the top left corner"),
    (0, 1): ("at the top", "near the top of the image"),
    (0, 2): ("in the upper right", "in the top right corner"),
    (1, 0): ("on the left", "on the left side"),
    (1, 1): ("in the center", "in the middle of the image"),
    (1, 2): ("on the right", "on the right side"),
    (2, 0): ("in the lower left", "in the bottom left corner"),
    (2, 1): ("at the bottom", "near the bottom of the image"),
    (2, 2): ("in the lower right", "in the bottom right corner"),
}
COLOURS = (
    "blue",
    "red",
    "green",
    "greenish",
    "white",
    "grey",
    "black",
    "brown",
    "tan",
    "beige",
    "yellowish",
    "multicoloured",
    "colourful",
)
"""Colour words (also as parts of 'dark-green', 'red-roofed', 'blue-grey'...)."""


def _alt(words: object) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # type: ignore[call-overload]


COUNT_RE = re.compile(
    rf"\b(?P<c>{_alt([*EXACT, *BANDS])})\s+(?P<colour>[\w-]+\s+)?(?P<n>{_alt(NOUN_CLASS)})\b"
)


def named_objects(caption: str) -> set[str]:
    """Object classes a caption names."""
    return {NOUN_CLASS[n] for n in re.findall(rf"\b({_alt(NOUN_CLASS)})\b", caption.lower())}


def stated_counts(caption: str) -> list[tuple[str, int, int, str]]:
    """(class, low, high, colour word) for each 'COUNT [colour] NOUN'."""
    out = []
    for m in COUNT_RE.finditer(caption.lower()):
        word = m["c"]
        lo, hi = (EXACT[word], EXACT[word]) if word in EXACT else BANDS[word]
        out.append((NOUN_CLASS[m["n"]], lo, hi, (m["colour"] or "").strip()))
    return out


def named_surfaces(caption: str) -> set[str]:
    """Land-cover classes a caption names."""
    low = caption.lower()
    return {cls for pattern, cls in SURFACES.items() if re.search(pattern, low)}


def stated_cells(caption: str) -> set[tuple[int, int]]:
    """Grid cells a caption places something in."""
    low = caption.lower()
    return {cell for cell, phrases in CELLS.items() if any(p in low for p in phrases)}


def has_colour(caption: str) -> bool:
    """Whether the caption has a colour word (alone or inside a hyphenated word)."""
    words = re.findall(r"[a-z]+", caption.lower())
    return any(w in COLOURS for w in words)


def check_captions(
    captions: list[str], pixels: dict[str, int], annotations: list[dict[str, Any]], size: int
) -> None:
    """Every claim of every caption against the ground truth (pixels per class name, COCO list)."""
    truth = Counter(a["attributes"]["class"] for a in annotations)
    cells: dict[str, set[tuple[int, int]]] = {}
    for a in annotations:
        x, y = a["obox"][0], a["obox"][1]
        cell = (min(2, int(3 * y / size)), min(2, int(3 * x / size)))
        cells.setdefault(a["attributes"]["class"], set()).add(cell)
    present = {name for name, n in pixels.items() if n > 0}
    colours = load_vocab()["colours"]
    assert 1 <= len(captions) <= 2, captions
    for caption in captions:
        named = named_objects(caption)
        assert named <= set(truth), (caption, dict(truth))
        assert named_surfaces(caption) <= present, (caption, sorted(present))
        counts = stated_counts(caption)
        assert {c for c, *_ in counts} == named, (caption, counts)  # every named class is counted
        for cls, lo, hi, colour in counts:
            assert lo <= truth[cls] <= hi, (caption, cls, truth[cls])
            assert colour in colours[cls], (caption, cls, colour)  # 'white ships', 'black slick'
        for cell in stated_cells(caption):
            assert any(cells[c] == {cell} for c in named), (caption, cell, cells)
        assert has_colour(caption), caption
        assert caption[0].isupper() and caption.endswith("."), caption


@pytest.fixture(scope="module")
def more_scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four 512 px scenes of seed 3 (harbours, airports, towns, wind farms)."""
    out = tmp_path_factory.mktemp("optical") / "run"
    generate(out, 4, SynthOptions(size=512, seed=3, workers=1), progress=False)
    return out


def _scene_folders(*runs: Path) -> list[Path]:
    return [p for run in runs for p in sorted(run.glob("scene_*"))]


def _mask_pixels(folder: Path) -> dict[str, int]:
    """Pixels per class name, counted from mask.tif itself (not from scene.json)."""
    params = json.loads((folder / SCENE_FILES["scene"]).read_text())
    with rasterio.open(folder / SCENE_FILES["mask"]) as ds:
        counts = np.bincount(ds.read(1).ravel(), minlength=256)
    return {name: int(counts[int(v)]) for v, name in params["classes"].items()}


def test_scene_json_captions_are_true_of_the_scene(synth_run: Path, more_scenes: Path) -> None:
    folders = _scene_folders(synth_run, more_scenes)
    all_captions: list[str] = []
    for folder in folders:
        params = json.loads((folder / SCENE_FILES["scene"]).read_text())
        coco = json.loads((folder / SCENE_FILES["coco"]).read_text())
        captions = params["optical_captions"]
        check_captions(captions, _mask_pixels(folder), coco["annotations"], params["size"])
        if coco["annotations"]:
            assert named_objects(captions[0]), captions  # objects come first
        assert scene_folder_captions(folder) == captions  # a function of the files alone
        all_captions += captions
    assert len(set(all_captions)) == len(all_captions)  # varied by the scene seed
    assert any(stated_cells(c) for c in all_captions)  # positions do get stated


def test_scene_folder_captions_refuses_a_broken_folder(tmp_path: Path) -> None:
    with pytest.raises(SargeoError, match=r"scene\.json: cannot read"):
        scene_folder_captions(tmp_path)
    (tmp_path / SCENE_FILES["scene"]).write_text("[]")
    with pytest.raises(SargeoError, match="not a JSON object"):
        scene_folder_captions(tmp_path)


CLASSES = load_classes()
OBJECTS = [c.name for c in CLASSES.objects]
SURFACE_NAMES = [c.name for c in CLASSES.classes if c.category_id is None]
SIZE = 600


def _annotation(cls: str, x: float, y: float, status: str, flag: bool) -> dict[str, Any]:
    attributes: dict[str, Any] = {"class": cls}
    if cls == "ship":
        attributes.update(status=status, wake=flag and status == "under_way")
    if cls == "aircraft":
        attributes["parked"] = flag
    return {"bbox": [x - 2, y - 2, 4, 4], "obox": [x, y, 4.0, 2.0, 0.0], "attributes": attributes}


@st.composite
def scenes(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A scene.json-like dict and COCO annotations: random classes, counts, places and statuses."""
    surfaces = draw(st.lists(st.sampled_from(SURFACE_NAMES), min_size=1, max_size=8, unique=True))
    pixels = {name: draw(st.integers(1, 50_000)) for name in surfaces}
    annotations = []
    for cls in draw(st.lists(st.sampled_from(OBJECTS), max_size=3, unique=True)):
        n = draw(st.sampled_from([1, 2, 3, 7, 10, 11, 19, 20, 45, 120]))
        corner = draw(st.booleans())  # all in one cell, or anywhere
        for _ in range(n):
            x = draw(st.floats(0, SIZE / 3 - 1)) if corner else draw(st.floats(0, SIZE - 1))
            y = draw(st.floats(0, SIZE / 3 - 1)) if corner else draw(st.floats(0, SIZE - 1))
            status = draw(st.sampled_from(["moored", "anchored", "under_way"]))
            annotations.append(_annotation(cls, x, y, status, draw(st.booleans())))
        pixels[cls] = 4 * n
    layout_keys = ["rivers", "lakes", "urban_areas", "harbours", "piers", "airports", "roads"]
    scene = {
        "seed": draw(st.integers(0, 2**32)),
        "index": draw(st.integers(0, 99)),
        "size": SIZE,
        "classes": {str(v): name for v, name in CLASSES.names.items()},
        "class_pixels": {str(CLASSES.value(k)): v for k, v in pixels.items()},
        "layout_counts": {k: draw(st.integers(0, 4)) for k in layout_keys},
    }
    return scene, annotations


@settings(max_examples=150, deadline=None)
@given(scenes())
def test_captions_of_random_scenes_are_true(
    case: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    scene, annotations = case
    captions = optical_captions(scene, annotations)
    pixels = {CLASSES.names[int(v)]: n for v, n in scene["class_pixels"].items()}
    if not captions:  # only classes too small or without words (a road, a pier): nothing to say
        assert not annotations
        return
    check_captions(captions, pixels, annotations, SIZE)
    assert optical_captions(scene, annotations) == captions  # seeded: the same every time


def _one_class_scene(annotations: list[dict[str, Any]], **pixels: int) -> list[str]:
    scene = {
        "seed": 1,
        "index": 0,
        "size": SIZE,
        "classes": {str(v): name for v, name in CLASSES.names.items()},
        "class_pixels": {str(CLASSES.value(k)): v for k, v in pixels.items()},
        "layout_counts": {"piers": 3, "harbours": 1},
    }
    return optical_captions(scene, annotations)


def test_ship_wording_follows_status_and_wakes() -> None:
    under_way = [_annotation("ship", 500, 500, "under_way", True) for _ in range(3)]
    (objects, _cover) = _one_class_scene(under_way, sea=90_000, ship=12)
    assert re.search(r"^Three white (ships|boats|vessels) are (sailing|moving)", objects), objects
    assert "in the lower right" in objects or "in the bottom right corner" in objects
    assert objects.endswith("leaving white wakes behind.")
    moored = [_annotation("ship", 10 + 200 * i, 300, "moored", False) for i in range(3)]
    (objects, _cover) = _one_class_scene(moored, sea=90_000, harbour=500, pier=50, ship=12)
    assert re.search(r"are (moored|docked)", objects) and not stated_cells(objects), objects
    mixed = moored + under_way
    (objects, _cover) = _one_class_scene(mixed, sea=90_000, harbour=500, ship=12)
    assert "in the harbour and on the" in objects, objects


def test_bands_and_a_scene_without_objects() -> None:
    tanks = [_annotation("storage_tank", 30, 30, "", False) for _ in range(15)]
    (objects, _cover) = _one_class_scene(tanks, farmland=90_000, storage_tank=60)
    assert re.search(
        r"(more than|over) ten white (storage|oil) tanks in the (upper|top) left", objects
    )
    captions = _one_class_scene([], forest=60_000, lake=30_000)
    assert len(captions) == 2 and "lake" in captions[1]
    assert re.search(r"forest|woods|trees", captions[0]) and "lake" in captions[0]
