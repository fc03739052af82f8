"""SAR-GPT as a `TaskAdapter`: next-token loss on the answers of LLaVA-style dialogues.

Stages read dialogue files (optical dialogues, then SAR dialogues, in the two-stage recipe); recipes
freeze ``vision`` and ``lm`` so that only the projector and the LoRA adapters train. The recipe's
``init`` is a SAR-RS-CLIP run whose image tower SAR-GPT uses. Checkpoints hold only the saved groups
(`sargeo.models.gpt.factory.saved_state`). Evaluation is teacher-forced on a dialogue file: the loss of
the answers, the share of answer tokens predicted right, and the share of answers predicted whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from sargeo.errors import InputError
from sargeo.models.gpt import SarGpt, create_gpt
from sargeo.models.gpt.chat import IGNORE
from sargeo.models.gpt.factory import GROUPS, group_prefixes, load_saved_state, saved_state
from sargeo.train.dialogues import DialogueStream, collate, prepared, read_dialogues
from sargeo.train.recipe import EvalConfig, Recipe, Stage
from sargeo.train.task import TaskAdapter


def _gpt(model: nn.Module) -> SarGpt:
    if isinstance(model, SarGpt):
        return model
    raise InputError(f"expected a SAR-GPT model, got {type(model).__name__}")


def trained_groups(recipe: Recipe) -> list[str]:
    """Groups that some stage of the recipe trains."""
    return [g for g in GROUPS if any(g not in s.freeze for s in recipe.stages)]


class GptTask(TaskAdapter):
    """Instruction tuning of a `SarGpt` on dialogues."""

    name = "gpt"

    def __init__(self) -> None:
        self.pad_id = 0

    def build_model(self, recipe: Recipe) -> SarGpt:
        texts = (t["value"] for s in recipe.stages for d in read_dialogues(s.data) for t in d.turns)
        model = create_gpt(
            recipe.model,
            vision_init=recipe.init or None,
            trained=trained_groups(recipe),
            texts=texts,
        )
        self.pad_id = model.codec.pad_id
        return model

    def restore_model(self, config: Mapping[str, Any]) -> SarGpt:
        model = create_gpt(config=config)
        self.pad_id = model.codec.pad_id
        return model

    def model_config(self, model: nn.Module) -> dict[str, Any]:
        return dict(_gpt(model).config)

    def fingerprint(self, model: nn.Module) -> str:
        return _gpt(model).fingerprint()

    def frozen_prefixes(self, model: nn.Module, groups: tuple[str, ...]) -> list[str]:
        return group_prefixes(_gpt(model), groups)

    def weights(self, model: nn.Module) -> dict[str, torch.Tensor]:
        return saved_state(_gpt(model))

    def load_weights(self, model: nn.Module, weights: Mapping[str, torch.Tensor]) -> None:
        load_saved_state(_gpt(model), weights)

    def check_eval_data(self, path: str) -> None:
        read_dialogues([path])

    def train_data(
        self, model: nn.Module, recipe: Recipe, stage: Stage, index: int
    ) -> DialogueStream:
        gpt = _gpt(model)
        dialogues = read_dialogues(stage.data)
        if stage.max_images:
            dialogues = dialogues[: stage.max_images]
        return DialogueStream(
            dialogues,
            gpt.chat,
            gpt.preprocess,
            stage.augment,
            recipe.seed,
            index,
            stage.source,
            int(gpt.config["chat"].get("train_pairs", 0)),
        )

    def collate(self, items: list[Any]) -> dict[str, torch.Tensor]:
        return collate(items, self.pad_id)

    def loss(
        self, wrapped: nn.Module, model: nn.Module, batch: Any, device: torch.device
    ) -> tuple[torch.Tensor, dict[str, float]]:
        out = wrapped(**{k: v.to(device) for k, v in batch.items()})
        answered = int((batch["labels"] != IGNORE).sum())
        return out.loss, {"answer_tokens": float(answered)}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, cfg: EvalConfig, device: torch.device) -> dict[str, float]:
        return evaluate_dialogues(_gpt(model), cfg.data, cfg.max_images, cfg.batch_size, device)


@torch.no_grad()
def evaluate_dialogues(
    model: SarGpt, path: str, max_images: int = 0, batch_size: int = 16, device: Any = "cpu"
) -> dict[str, float]:
    """Teacher-forced answer loss, token accuracy and whole-answer accuracy (percent) on a file."""
    dialogues = read_dialogues([path])
    if max_images:
        dialogues = dialogues[:max_images]
    model.eval()
    losses, tokens, right, answers, whole = 0.0, 0, 0, 0, 0
    step = max(1, batch_size)
    for start in range(0, len(dialogues), step):
        items = [prepared(d, model.chat, model.preprocess) for d in dialogues[start : start + step]]
        batch = {k: v.to(device) for k, v in collate(items, model.codec.pad_id).items()}
        out = model(**batch)
        logits, labels = out.logits[:, :-1], batch["labels"][:, 1:]
        scored = labels != IGNORE
        n = int(scored.sum())
        losses += float(out.loss) * n
        hit = (logits.argmax(-1) == labels) & scored
        tokens, right = tokens + n, right + int(hit.sum())
        for row_hit, row_scored in zip(hit, scored, strict=True):
            answers_row, whole_row = _answers(row_hit, row_scored)
            answers, whole = answers + answers_row, whole + whole_row
    return {
        "val_loss": losses / max(1, tokens),
        "answer_token_acc": 100.0 * right / max(1, tokens),
        "answer_acc": 100.0 * whole / max(1, answers),
    }


def _answers(hit: torch.Tensor, scored: torch.Tensor) -> tuple[int, int]:
    """(answers, answers whose every token is right) of one row: runs of scored positions."""
    answers = whole = 0
    inside, good = False, True
    for h, s in zip(hit.tolist(), scored.tolist(), strict=True):
        if s:
            good = good and h if inside else h
            inside = True
        elif inside:
            answers, whole, inside = answers + 1, whole + int(good), False
    if inside:
        answers, whole = answers + 1, whole + int(good)
    return answers, whole
