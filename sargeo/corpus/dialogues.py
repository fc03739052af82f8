"""SAR-GPT's dialogue files in a corpus: the narrator's dialogues per split, and their optical twins.

``conversations_{split}.json`` holds the split's SAR dialogues (the narrator's ``conversations.json``
filtered). ``optical/conversations_{split}.json`` holds the same dialogues about the paired optical tile,
for the first stage of the two-stage recipe: the ground truth (counts, positions, land cover) is the same
on both images, and a describe turn gets an optical caption of the tile instead of the SAR one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sargeo.narrator.vocab import load_vocab
from sargeo.records import Sample

SPLITS = ("train", "val", "test")


def _optical_twin(
    dialogue: dict[str, Any], tile: Sample, describe: set[str], image_token: str
) -> dict[str, Any] | None:
    captions = tile.metadata.get("optical_captions") or []
    if not tile.optical:
        return None
    turns = [dict(t) for t in dialogue["conversations"]]
    for i in range(0, len(turns) - 1, 2):
        question = turns[i]["value"].replace(image_token, "").strip()
        if question in describe:
            if not captions:
                return None
            turns[i]["value"] = turns[i]["value"].replace(question, "Describe the image.")
            turns[i + 1]["value"] = str(captions[len(tile.id) % len(captions)])
    return {**dialogue, "image": tile.optical, "conversations": turns}


def write_dialogue_files(root: Path, tiles: list[Sample], optical: bool) -> None:
    """Write the per-split dialogue files (and their optical twins) next to ``conversations.json``."""
    source = root / "conversations.json"
    if not source.is_file():
        return
    dialogues = json.loads(source.read_text(encoding="utf-8"))
    by_id = {t.id: t for t in tiles}
    vocab = load_vocab()
    describe = set(vocab.qa["describe"])
    token = str(vocab.qa["image_token"])
    for split in SPLITS:
        chosen = [d for d in dialogues if d.get("split") == split]
        _write(root / f"conversations_{split}.json", chosen)
        if optical:
            twins = [
                _optical_twin(d, by_id[d["id"]], describe, token)
                for d in chosen
                if d["id"] in by_id
            ]
            (root / "optical").mkdir(exist_ok=True)
            _write(root / "optical" / f"conversations_{split}.json", [t for t in twins if t])


def _write(path: Path, dialogues: list[dict[str, Any]]) -> None:
    lines = ",\n".join(json.dumps(d, ensure_ascii=False) for d in dialogues)
    path.write_text(f"[\n{lines}\n]\n" if dialogues else "[]\n", encoding="utf-8")
