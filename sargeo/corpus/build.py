"""`sargeo corpus build`: annotated scenes -> tiles with their ground truth -> SAR-Narrator captions.

Without data it builds the default corpus from the synthetic world: scene families at the pixel spacings
and renderings of the real evaluation targets (HRSID's 1-3 m 8-bit JPEG chips, Sentinel-1's 10 m dB
chips), as data in the recipe. With data it does the same for any annotated raster `sargeo.datasets`
reads, a user's own large annotated scene included.

The corpus folder holds ``chips/`` (one image per tile), ``masks/`` and ``optical/`` (their windows),
``samples.jsonl`` (every tile's ground truth and georeference), the narrator's outputs (``captions.jsonl``,
``captions_{train,val,test}.csv``, ``qa.jsonl``, ``conversations.json``, ``splits.json``, ``card.json``),
``conversations_{split}.json`` and ``optical/conversations_{split}.json`` (SAR-GPT's dialogues,
`sargeo.corpus.dialogues`), ``optical/captions_{split}.csv`` (the optical stage's pairs) and ``corpus.json`` (recipe and coverage).
Every path in them is relative to the folder of the file that names it (open_clip CSVs are read that
way), so the corpus can be moved.
"""

from __future__ import annotations

import json
import random
import shutil
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rasterio.errors import NotGeoreferencedWarning
from tqdm import tqdm

from sargeo.atomic import atomic_dir, check_not_an_input, check_output_dir
from sargeo.corpus.cut import CutTarget, cut_sample
from sargeo.corpus.dialogues import write_dialogue_files
from sargeo.corpus.recipe import CorpusRecipe, SyntheticMix, TileRule
from sargeo.datasets.detect import load_dataset
from sargeo.datasets.synthetic import load_synthetic
from sargeo.datasets.writers import samples_to_jsonl, write_openclip_csv
from sargeo.errors import InputError
from sargeo.narrator.fusion import NarratorConfig
from sargeo.narrator.pipeline import narrate
from sargeo.records import Sample
from sargeo.synth.scene import SynthOptions, generate

SPLITS = ("train", "val", "test")
TEXT_FILES = ("captions.jsonl", "qa.jsonl", "conversations.json", "samples.jsonl")


@dataclass
class CorpusResult:
    """What a build wrote."""

    output: Path
    tiles: int = 0
    captions: int = 0
    seconds: float = 0.0
    coverage: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        """A few lines for the terminal."""
        spacing = ", ".join(f"{k}: {v}" for k, v in sorted(self.coverage["spacing"].items()))
        renders = ", ".join(f"{k}: {v}" for k, v in sorted(self.coverage["render"].items()))
        splits = ", ".join(f"{k} {v}" for k, v in self.coverage["splits"].items())
        return "\n".join(
            [
                f"corpus: {self.tiles} tiles, {self.captions} captions in {self.seconds:.0f} s",
                f"pixel spacing: {spacing}",
                f"renderings: {renders}",
                f"splits (tiles): {splits}",
                f"written to {self.output}",
            ]
        )


@dataclass(frozen=True)
class _Group:
    """Samples cut alike: one synthetic family, or one input dataset."""

    name: str
    samples: list[Sample]
    rule: TileRule
    render: str


def build_corpus(
    data: Sequence[str | Path],
    output: str | Path,
    recipe: CorpusRecipe,
    *,
    overwrite: bool = False,
    progress: bool = True,
    workers: int = 2,
) -> CorpusResult:
    """Build the corpus of ``recipe`` from ``data`` (or from its synthetic families) into ``output``."""
    recipe.check()
    inputs = [Path(p) for p in data]
    out = Path(output).absolute()  # the work folder too, so the text files name it in full
    check_not_an_input(out, inputs)
    check_output_dir(out, overwrite)
    start = time.perf_counter()
    with atomic_dir(out, inputs=inputs, overwrite=overwrite) as tmp:
        work = tmp / ".scenes"
        groups = (
            _user_groups(inputs, recipe) if inputs else _synthetic_groups(recipe, work, progress)
        )
        tiles = _cut_all(groups, tmp, recipe, workers, progress)
        shutil.rmtree(work, ignore_errors=True)
        if not tiles:
            raise InputError("no tile to narrate: every tile was mostly nodata or skipped")
        config = NarratorConfig(
            branches=recipe.narrator.branches,
            per_image=recipe.narrator.per_image,
            seed=recipe.narrator.seed,
        )
        text = narrate(
            tiles,
            tmp / ".text",
            config,
            with_qa=recipe.narrator.qa,
            ratios=recipe.narrator.splits,
            progress=progress,
            input_summary=f"{len(tiles)} tiles of {len(groups)} group(s)",
        )
        for item in (tmp / ".text").iterdir():
            item.rename(tmp / item.name)
        (tmp / ".text").rmdir()
        samples_to_jsonl(tiles, tmp / "samples.jsonl")
        splits = json.loads((tmp / "splits.json").read_text(encoding="utf-8"))
        if recipe.optical_stage:
            _write_optical_pairs(tiles, splits, tmp)
        write_dialogue_files(tmp, tiles, recipe.optical_stage)
        _relativise(tmp)
        coverage = _coverage(tiles, groups, splits)
        manifest = {
            "recipe": asdict(recipe),
            "coverage": coverage,
            "inputs": [str(p) for p in inputs],
        }
        (tmp / "corpus.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    seconds = time.perf_counter() - start
    return CorpusResult(out, len(tiles), int(text.card["captions"]), seconds, coverage)


def _user_groups(inputs: list[Path], recipe: CorpusRecipe) -> list[_Group]:
    groups = []
    for path in inputs:
        loaded = load_dataset(path)
        if not loaded.samples:
            raise InputError(f"{path}: no annotated image found")
        groups.append(_Group(path.name, loaded.samples, recipe.tile, recipe.render))
    return groups


def _synthetic_groups(recipe: CorpusRecipe, work: Path, progress: bool) -> list[_Group]:
    if not recipe.synthetic:
        raise InputError("the recipe has no synthetic families: give DATA to cut")
    groups = []
    for mix in recipe.synthetic:
        folder = work / mix.name
        generate(folder, mix.scenes, _synth_options(mix), progress=progress)
        loaded = load_synthetic(folder)
        samples = [_renamed(s, mix.name) for s in loaded.samples]
        groups.append(_Group(mix.name, samples, mix.tile, mix.render))
    return groups


def _synth_options(mix: SyntheticMix) -> SynthOptions:
    return SynthOptions(size=mix.size, sensor=mix.sensor, seed=mix.seed, units="dB")


def _renamed(sample: Sample, prefix: str) -> Sample:
    """Scene folders are numbered per run: prefix them so that families never share a scene."""
    return replace(sample, id=f"{prefix}_{sample.id}", scene=f"{prefix}_{sample.scene}")


def _cut_all(
    groups: list[_Group], root: Path, recipe: CorpusRecipe, workers: int, progress: bool
) -> list[Sample]:
    jobs = [(g, s) for g in groups for s in g.samples]
    bar = tqdm(total=len(jobs), unit="scene", desc="cutting", disable=not progress, leave=False)

    def cut(job: tuple[_Group, Sample]) -> list[Sample]:
        group, sample = job
        rng = random.Random(f"{recipe.narrator.seed}:{sample.id}")
        target = CutTarget(root, group.render, group.rule, rng)
        tiles = [
            replace(t, metadata={**t.metadata, "render": group.render, "group": group.name})
            for t in cut_sample(sample, target)
        ]
        bar.update(1)
        return tiles

    try:
        with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            # images without a georeference are cut in pixel coordinates, as the user chose
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return [t for part in pool.map(cut, jobs) for t in part]
    finally:
        bar.close()


def _write_optical_pairs(tiles: list[Sample], splits: dict[str, str], root: Path) -> None:
    """The optical stage's pairs: each optical tile with each of its optical captions, per split."""
    rows: dict[str, list[tuple[str, str]]] = {name: [] for name in SPLITS}
    for tile in tiles:
        captions = tile.metadata.get("optical_captions") or []
        if tile.optical and captions:
            split = splits.get(tile.scene, "train")
            rows[split].extend((tile.optical, caption) for caption in captions)
    folder = root / "optical"
    folder.mkdir(exist_ok=True)
    for split, pairs in rows.items():
        write_openclip_csv(pairs, folder / f"captions_{split}.csv")


def _relativise(root: Path) -> None:
    """Paths in the text files relative to the folder of the file that names them: the corpus folder,
    or ``optical/`` for the optical pairs (as open_clip CSVs are read); the folder is renamed later."""
    files = [root / name for name in TEXT_FILES] + sorted(root.glob("captions*.csv"))
    files += sorted(root.glob("conversations_*.json"))
    optical = sorted((root / "optical").glob("captions_*.csv"))
    optical += sorted((root / "optical").glob("conversations_*.json"))
    for path in files + optical:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace(f"{path.parent}/", ""), encoding="utf-8")


def _coverage(tiles: list[Sample], groups: list[_Group], splits: dict[str, str]) -> dict[str, Any]:
    """What the corpus covers: tiles per group, spacing, rendering, split and class."""
    spacing = Counter(
        f"{round(t.tile.pixel_spacing[0], 1):g} m" if t.tile and t.tile.crs else "unknown"
        for t in tiles
    )
    classes = Counter(b.cls for t in tiles for b in t.boxes)
    return {
        "groups": {
            g.name: sum(1 for t in tiles if t.metadata.get("group") == g.name) for g in groups
        },
        "spacing": dict(spacing),
        "render": dict(Counter(str(t.metadata.get("render")) for t in tiles)),
        "splits": {s: sum(1 for t in tiles if splits.get(t.scene) == s) for s in SPLITS},
        "objects": dict(classes),
        "tiles_with_objects": sum(1 for t in tiles if t.boxes),
    }
