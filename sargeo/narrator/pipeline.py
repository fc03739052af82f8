"""Narrate a dataset: captions, question-answer pairs, dialogues, splits and the card, written atomically.

Outputs (in one folder, renamed into place only when complete):
``captions.jsonl`` (one record per caption: image, tile id, caption, branch, source annotation ids,
footprint WKT in the tile's CRS and lon/lat centroid, split), ``captions.csv`` and
``captions_{train,val,test}.csv`` (open_clip's ``filepath,title``), ``splits.json`` (scene -> split),
``card.json``, and with question-answer pairs ``qa.jsonl`` and ``conversations.json`` (LLaVA-style).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from sargeo import __version__
from sargeo.atomic import atomic_dir, check_not_an_input, check_output_dir
from sargeo.datasets.writers import OpenClipWriter, samples_to_jsonl
from sargeo.errors import SargeoError
from sargeo.narrator.card import CardBuilder, listed, summary
from sargeo.narrator.fusion import MaskReader, Narrator, NarratorConfig, SampleCaptions, image_path
from sargeo.narrator.georef import footprint_wkt
from sargeo.narrator.o2s import Rewriter
from sargeo.narrator.qa import QAPair, sample_qa
from sargeo.narrator.splits import DEFAULT_RATIOS, SPLITS, assign_splits, scene_of
from sargeo.records import Sample

OUTPUT_FILES = ("captions.jsonl", "captions.csv", "splits.json", "card.json")
QA_FILES = ("qa.jsonl", "conversations.json")


@dataclass
class NarrateResult:
    """Where the outputs went and the dataset card."""

    output: Path
    card: dict[str, Any]

    def summary(self) -> str:
        """The card's printable summary, with the output folder."""
        return f"{summary(self.card)}\nwritten to {self.output}"


def _geometry(result: SampleCaptions) -> dict[str, Any]:
    sample, frame = result.sample, result.facts.frame
    tile = sample.tile
    if tile is None or not tile.crs:
        return {"geometry": "", "crs": "", "lon": None, "lat": None}
    lon, lat = frame.centre_lonlat or (None, None)
    return {
        "geometry": footprint_wkt(tile, sample.width, sample.height),
        "crs": tile.crs,
        "lon": round(lon, 7) if lon is not None else None,
        "lat": round(lat, 7) if lat is not None else None,
    }


def caption_records(result: SampleCaptions, split: str) -> list[dict[str, Any]]:
    """The ``captions.jsonl`` records of one sample."""
    sample = result.sample
    base = {
        "image": image_path(sample),
        "sample_id": sample.id,
        "tile_id": sample.tile.id if sample.tile else "",
        "scene": scene_of(sample),
        "split": split,
        **_geometry(result),
    }
    return [
        {
            **base,
            "caption": cand.text,
            "branch": cand.branch,
            "source_ids": list(cand.source_ids),
        }
        for cand in result.captions
    ]


def narrate(
    samples: Sequence[Sample],
    output: str | Path,
    config: NarratorConfig | None = None,
    *,
    with_qa: bool = False,
    ratios: tuple[float, float, float] = DEFAULT_RATIOS,
    overwrite: bool = False,
    progress: bool = True,
    rewriter: Rewriter | None = None,
    mask_reader: MaskReader | None = None,
    input_summary: str = "",
    input_problems: Sequence[str] = (),
    inputs: Sequence[str | Path] = (),
) -> NarrateResult:
    """Caption every sample and write the dataset folder; returns the card.

    ``input_summary`` and ``input_problems`` (one line per item the dataset adapter skipped or
    warned about) go into the card as ``skipped`` and ``input_problems``. The output may not be,
    hold or lie inside any sample's files or any of ``inputs``.
    """
    if not samples:
        raise SargeoError("no samples to narrate (the input gave none)")
    narrator = Narrator(config, rewriter=rewriter, mask_reader=mask_reader)
    cfg = narrator.config
    split_of = assign_splits(samples, ratios, cfg.seed)
    card = CardBuilder()
    out = Path(output)
    read = [*inputs, *(p for s in samples for p in (s.image, s.mask, s.optical) if p)]
    with atomic_dir(out, inputs=read, overwrite=overwrite) as tmp, ExitStack() as stack:

        def open_(name: str) -> TextIO:
            return stack.enter_context((tmp / name).open("w", encoding="utf-8", newline=""))

        captions_jsonl = open_("captions.jsonl")
        names = ("", *(f"_{s}" for s in SPLITS))
        csvs = {name: OpenClipWriter(open_(f"captions{name}.csv")) for name in names}
        if with_qa:
            qa_jsonl, conversations = open_("qa.jsonl"), open_("conversations.json")
            conversations.write("[")
        first_dialogue = True
        uncaptioned = 0
        for sample in tqdm(samples, desc="narrate", unit="image", disable=not progress):
            result = narrator.caption(sample)
            uncaptioned += not result.captions
            split = split_of[scene_of(sample)]
            for record in caption_records(result, split):
                captions_jsonl.write(json.dumps(record, ensure_ascii=False) + "\n")
                csvs[""].write(record["image"], record["caption"])
                csvs[f"_{split}"].write(record["image"], record["caption"])
            pairs: list[QAPair] = []
            if with_qa:
                asked = sample_qa(result, narrator)
                pairs = asked.pairs
                record = {"image": image_path(sample), "sample_id": sample.id, "split": split}
                for pair in pairs:
                    line = json.dumps({**record, **pair.to_dict()}, ensure_ascii=False)
                    qa_jsonl.write(line + "\n")
                if asked.dialogue is not None:
                    text = json.dumps({**asked.dialogue, "split": split}, ensure_ascii=False)
                    conversations.write(("\n" if first_dialogue else ",\n") + text)
                    first_dialogue = False
            card.add(result, split, scene_of(sample), pairs)
        if with_qa:
            conversations.write("\n]\n")
        built = card.build(
            uncaptioned_images=uncaptioned,
            config={
                "branches": list(cfg.branches),
                "per_image": cfg.per_image,
                "seed": cfg.seed,
                "min_words": cfg.min_words,
                "max_words": cfg.max_words,
                "rewriter": rewriter.name if rewriter is not None else "rules",
                "split_ratios": list(ratios),
                "qa": with_qa,
            },
            skipped=input_summary,
            input_problems=listed(input_problems),
            sargeo_version=__version__,
        )
        samples_to_jsonl(samples, tmp / "samples.jsonl")  # the truth: fact accuracy judges by it
        (tmp / "splits.json").write_text(
            json.dumps(dict(sorted(split_of.items())), indent=1) + "\n"
        )
        (tmp / "card.json").write_text(json.dumps(built, indent=2, ensure_ascii=False) + "\n")
    return NarrateResult(out, built)


def narrate_path(
    data: str | Path,
    output: str | Path,
    config: NarratorConfig | None = None,
    *,
    with_qa: bool = False,
    ratios: tuple[float, float, float] = DEFAULT_RATIOS,
    overwrite: bool = False,
    progress: bool = True,
    rewriter: Rewriter | None = None,
) -> NarrateResult:
    """Read a dataset folder in any format `sargeo.datasets` knows, and narrate it."""
    from sargeo.datasets.detect import load_dataset

    check_not_an_input(output, [data])
    check_output_dir(Path(output), overwrite)
    loaded = load_dataset(Path(data), progress=progress)
    return narrate(
        loaded.samples,
        output,
        config,
        with_qa=with_qa,
        ratios=ratios,
        overwrite=overwrite,
        progress=progress,
        rewriter=rewriter,
        input_summary=loaded.summary(),
        input_problems=loaded.problems(),
        inputs=[data],
    )
