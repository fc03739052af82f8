"""SAR-RS-CoCa as a `TaskAdapter`: open_clip's CoCa loss (contrastive plus captioning, weighted by the
model config's ``loss``), and caption metrics of greedy captions on the evaluation set.

The data is the CLIP task's (`PairStream` over open_clip caption CSVs, with the same augmentations).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from sargeo.errors import InputError
from sargeo.models.coca import SarCoca, create_model
from sargeo.train.data import read_caption_csv
from sargeo.train.dataset import PairStream
from sargeo.train.recipe import EvalConfig, Recipe, Stage
from sargeo.train.task import TaskAdapter

MAX_LOGIT_SCALE = 4.6052  # ln(100), as open_clip clamps it
EVAL_METRICS = ("BLEU-4", "ROUGE-L", "CIDEr-D")


class _Step(nn.Module):
    """What DDP wraps: the CoCa forward (features, logits, labels) in one call."""

    def __init__(self, model: SarCoca) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = self.model(images, tokens)
        return out


class CocaTask(TaskAdapter):
    """Contrastive captioner training of a `SarCoca`."""

    name = "coca"

    def __init__(self) -> None:
        self._loss: nn.Module | None = None

    def build_model(self, recipe: Recipe) -> SarCoca:
        return create_model(recipe.model, init=recipe.init or None)

    def restore_model(self, config: Mapping[str, Any]) -> SarCoca:
        return create_model(config=config, pretrained=False)

    def model_config(self, model: nn.Module) -> dict[str, Any]:
        return dict(coca(model).config)

    def fingerprint(self, model: nn.Module) -> str:
        return coca(model).fingerprint()

    def frozen_prefixes(self, model: nn.Module, groups: tuple[str, ...]) -> list[str]:
        return [f"net.{p}" for p in coca(model).group_prefixes(groups)]

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module the trainer hands to DDP."""
        return _Step(coca(model))

    def train_data(self, model: nn.Module, recipe: Recipe, stage: Stage, index: int) -> PairStream:
        table = read_caption_csv(stage.data).head(stage.max_images)
        return PairStream(
            table, coca(model).preprocess, stage.augment, recipe.seed, index, stage.source
        )

    def collate(self, items: list[Any]) -> tuple[torch.Tensor, list[str]]:
        return torch.stack([i[0] for i in items]), [i[1] for i in items]

    def loss(
        self, wrapped: nn.Module, model: nn.Module, batch: Any, device: torch.device
    ) -> tuple[torch.Tensor, dict[str, float]]:
        from open_clip.loss import CoCaLoss

        images, captions = batch
        net = coca(model)
        if self._loss is None:
            import torch.distributed as dist

            world = dist.get_world_size() if dist.is_initialized() else 1
            rank = dist.get_rank() if dist.is_initialized() else 0
            self._loss = CoCaLoss(
                caption_loss_weight=net.loss_weights["caption"],
                clip_loss_weight=net.loss_weights["contrastive"],
                pad_id=net.captions.pad,
                gather_with_grad=True,
                rank=rank,
                world_size=world,
            )
        tokens = net.captions(captions).to(device)
        out = wrapped(images.to(device), tokens)
        contrastive, caption = self._loss(
            out["image_features"].float(),
            out["text_features"].float(),
            out["logits"].float(),
            out["labels"],
            out["logit_scale"].float(),
        )
        return contrastive + caption, {
            "contrastive_loss": float(contrastive.detach()),
            "caption_loss": float(caption.detach()),
            "logit_scale": float(out["logit_scale"].detach()),
        }

    def after_step(self, model: nn.Module) -> None:
        with torch.no_grad():
            coca(model).net.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    def evaluate(self, model: nn.Module, cfg: EvalConfig, device: torch.device) -> dict[str, float]:
        return evaluate_captioning(coca(model), cfg.data, cfg.max_images, cfg.batch_size)


def coca(model: nn.Module) -> SarCoca:
    """The `SarCoca` inside ``model`` (itself, DDP's ``module`` or the step's ``model``)."""
    if isinstance(model, SarCoca):
        return model
    inner = getattr(model, "module", None) or getattr(model, "model", None)
    if isinstance(inner, SarCoca):
        return inner
    if inner is not None and inner is not model:
        return coca(inner)
    raise InputError(f"expected a SAR-RS-CoCa model, got {type(model).__name__}")


def evaluate_captioning(
    model: SarCoca, data: str, max_images: int = 0, batch_size: int = 32
) -> dict[str, float]:
    """BLEU-4, ROUGE-L and CIDEr-D (x100) of greedy captions of the first ``max_images`` images of
    an open_clip caption CSV, against all their captions there."""
    from sargeo.eval.caption import evaluate_captions
    from sargeo.models.coca.captioning import caption_files, decode_settings

    table = read_caption_csv([data]).head(max_images)
    was = model.training
    settings = decode_settings(model, {"beam_width": 1})
    generated = caption_files(model, list(table.images), settings, batch_size)
    model.train(was)
    refs = {image: list(caps) for image, caps in zip(table.images, table.captions, strict=True)}
    preds = dict(zip(table.images, generated, strict=True))
    scores = evaluate_captions(preds, refs, metrics=EVAL_METRICS)
    return {k: 100.0 * v for k, v in scores.metrics.items() if v is not None}
