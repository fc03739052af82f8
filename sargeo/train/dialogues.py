"""SAR-GPT's training data: LLaVA-style dialogue files in, tokenized dialogues with prepared images out.

A dialogue file is a JSON list of ``{"id", "image", "conversations": [{"from", "value"}, ...]}`` (the
narrator's ``conversations.json``, the corpus's ``conversations_{split}.json`` and
``optical/conversations_{split}.json``); an image path is absolute or relative to the file's folder.
The stream follows `sargeo.train.dataset.PairStream`: position ``p`` is a seeded permutation's image,
its radiometric augmentation and the order of its question-answer pairs drawn from (seed, stage, p)
(`shuffle_turns`). Geometric augmentation is left out: the answers name positions and halves, which a
flip would contradict.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from sargeo.errors import InputError
from sargeo.models.gpt.chat import IGNORE, ChatFormat, Encoded
from sargeo.runtime.preprocess import PreprocessSpec
from sargeo.train.augment import radiometric
from sargeo.train.data import read_image
from sargeo.train.dataset import StreamOrder, prepare_raw
from sargeo.train.recipe import AugmentConfig


@dataclass(frozen=True)
class Dialogue:
    """One image's dialogue."""

    id: str
    image: str
    turns: tuple[dict[str, str], ...]


def read_dialogues(paths: Sequence[str | Path]) -> list[Dialogue]:
    """Read dialogue files (see the module docstring); an empty or malformed one is refused."""
    out: list[Dialogue] = []
    for path in map(Path, paths):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read dialogues {path}: {exc}") from exc
        if not isinstance(data, list):
            raise InputError(f"{path} is not a JSON list of dialogues")
        for item in data:
            try:
                image = Path(item["image"])
                turns = tuple(dict(t) for t in item["conversations"])
            except (KeyError, TypeError) as exc:
                raise InputError(f"{path}: a dialogue needs image and conversations") from exc
            image = image if image.is_absolute() else path.parent / image
            out.append(Dialogue(str(item.get("id", image.stem)), str(image), turns))
    if not out:
        raise InputError(f"no dialogue in {', '.join(map(str, paths))}")
    return out


def prepared(
    dialogue: Dialogue, chat: ChatFormat, spec: PreprocessSpec
) -> tuple[torch.Tensor, Encoded]:
    """A dialogue's image, prepared and never augmented, and its tokens (evaluation)."""
    return prepare_raw(read_image(dialogue.image), spec), chat.encode(dialogue.turns)


class DialogueStream(Dataset[tuple[torch.Tensor, Encoded]]):
    """Tokenized dialogues with their prepared images at stream positions."""

    def __init__(
        self,
        dialogues: list[Dialogue],
        chat: ChatFormat,
        spec: PreprocessSpec,
        augment: AugmentConfig,
        seed: int,
        stage: int,
        source: str = "sar",
        max_pairs: int = 0,
    ) -> None:
        self.dialogues, self.chat, self.spec, self.augment = dialogues, chat, spec, augment
        self.source, self.seed, self.stage, self.max_pairs = source, seed, stage, max_pairs
        self.order = StreamOrder(len(dialogues), seed, stage)

    def __len__(self) -> int:
        return len(self.dialogues)

    def __getitem__(self, position: int) -> tuple[torch.Tensor, Encoded]:
        dialogue = self.dialogues[self.order(position)]
        raw = read_image(dialogue.image)
        rng = np.random.default_rng([self.seed, self.stage, position])
        if self.source == "sar":
            raw = radiometric(raw, self.augment, rng)
        turns = shuffle_turns(dialogue.turns, self.chat.image_token, rng, self.max_pairs)
        return prepare_raw(raw, self.spec), self.chat.encode(turns)


def shuffle_turns(
    turns: Sequence[dict[str, str]],
    image_token: str,
    rng: np.random.Generator,
    max_pairs: int = 0,
) -> list[dict[str, str]]:
    """The question-answer pairs of a dialogue in a random order, the image token moved to the new
    first question: every question type is asked first (and alone, after truncation) as often as any,
    instead of the narrator's describe turn always; at most ``max_pairs`` of them (0: all)."""
    pairs = [list(turns[i : i + 2]) for i in range(0, len(turns) - 1, 2)]
    order = rng.permutation(len(pairs))[: max_pairs or None]
    out: list[dict[str, str]] = []
    for n, i in enumerate(order):
        question, answer = pairs[int(i)]
        text = question["value"].replace(image_token, "").strip()
        out.append({**question, "value": f"{image_token}\n{text}" if n == 0 else text})
        out.append(dict(answer))
    return out


def collate(items: list[tuple[torch.Tensor, Encoded]], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded batch: images, ids, image_mask, attention_mask, labels."""
    width = max(len(e) for _, e in items)

    def pad(rows: list[list[Any]], value: Any, dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=dtype)

    encoded = [e for _, e in items]
    return {
        "images": torch.stack([i for i, _ in items]),
        "ids": pad([e.ids for e in encoded], pad_id, torch.long),
        "image_mask": pad([e.image for e in encoded], False, torch.bool),
        "attention_mask": pad([[1] * len(e) for e in encoded], 0, torch.long),
        "labels": pad([e.labels for e in encoded], IGNORE, torch.long),
    }
