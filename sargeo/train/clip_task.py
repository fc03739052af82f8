"""SAR-RS-CLIP as a `TaskAdapter`: the symmetric contrastive loss (open_clip's ``ClipLoss``, gathered
across processes), retrieval evaluation, and a cache of caption embeddings while the text tower is frozen.

With the whole text tower frozen, a caption's embedding never changes: each distinct caption (position
rewrites included) is embedded once, in eval mode, and kept; the cache travels in checkpoints, so a
resumed run uses the very same numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from sargeo.errors import InputError
from sargeo.eval.embed import embed_images, embed_texts
from sargeo.eval.retrieval import retrieval_metrics
from sargeo.models.clip import SarClip, create_model
from sargeo.train.data import read_caption_csv
from sargeo.train.dataset import PairStream
from sargeo.train.freezing import fully_frozen
from sargeo.train.recipe import EvalConfig, Recipe, Stage
from sargeo.train.task import TaskAdapter

MAX_LOGIT_SCALE = 4.6052  # ln(100), as open_clip clamps it

# open_clip's ClipLoss gathers features with torch.distributed.nn.all_gather (it works; torch plans a new API)
warnings.filterwarnings(
    "ignore", message=r"torch\.distributed\.nn\.functional\.all_gather is deprecated"
)


class _Step(nn.Module):
    """What DDP wraps: image (and, unless cached, text) embeddings and the logit scale in one forward."""

    def __init__(self, model: SarClip) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, images: torch.Tensor, tokens: torch.Tensor | None
    ) -> tuple[torch.Tensor, ...]:
        img = self.model.encode_image(images)
        txt = self.model.encode_text(tokens) if tokens is not None else img.new_zeros(0)
        return img, txt, self.model.logit_scale.exp()


class ClipTask(TaskAdapter):
    """Contrastive image-text training of a `SarClip`."""

    name = "clip"

    def __init__(self) -> None:
        self.cache: dict[str, torch.Tensor] = {}
        self.cached = False
        self._loss: nn.Module | None = None

    def build_model(self, recipe: Recipe) -> SarClip:
        return create_model(recipe.model, init=recipe.init or None)

    def restore_model(self, config: Mapping[str, Any]) -> SarClip:
        return create_model(config=config, pretrained=False)

    def model_config(self, model: nn.Module) -> dict[str, Any]:
        return dict(_clip(model).config)

    def fingerprint(self, model: nn.Module) -> str:
        return _clip(model).fingerprint()

    def frozen_prefixes(self, model: nn.Module, groups: tuple[str, ...]) -> list[str]:
        return [f"net.{p}" for p in _clip(model).group_prefixes(groups)]

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module the trainer hands to DDP."""
        return _Step(_clip(model))

    def train_data(self, model: nn.Module, recipe: Recipe, stage: Stage, index: int) -> PairStream:
        table = read_caption_csv(stage.data).head(stage.max_images)
        return PairStream(
            table, _clip(model).preprocess, stage.augment, recipe.seed, index, stage.source
        )

    def collate(self, items: list[Any]) -> tuple[torch.Tensor, list[str]]:
        return torch.stack([i[0] for i in items]), [i[1] for i in items]

    def begin_stage(self, model: nn.Module, stage: Stage) -> None:
        self.cached = fully_frozen(_clip(model).net.text)

    def _text_from_cache(
        self, model: SarClip, captions: list[str], device: torch.device
    ) -> torch.Tensor:
        missing = list(dict.fromkeys(c for c in captions if c not in self.cache))
        if missing:
            modes = [(m, m.training) for m in model.modules()]
            emb = embed_texts(model, missing, device=device)
            for module, training in modes:  # frozen image blocks stay in eval mode (their BN stats)
                module.train(training)
            self.cache.update(
                {c: torch.from_numpy(e.copy()) for c, e in zip(missing, emb, strict=True)}
            )
        return torch.stack([self.cache[c] for c in captions]).to(device)

    def loss(
        self, wrapped: nn.Module, model: nn.Module, batch: Any, device: torch.device
    ) -> tuple[torch.Tensor, dict[str, float]]:
        from open_clip.loss import ClipLoss

        images, captions = batch
        clip = _clip(model)
        if self._loss is None:
            import torch.distributed as dist

            world = dist.get_world_size() if dist.is_initialized() else 1
            rank = dist.get_rank() if dist.is_initialized() else 0
            self._loss = ClipLoss(gather_with_grad=True, rank=rank, world_size=world)
        if self.cached:
            txt = self._text_from_cache(clip, captions, device)
            img, _, scale = wrapped(images.to(device), None)
        else:
            tokens = clip.tokenize(captions).to(device)
            img, txt, scale = wrapped(images.to(device), tokens)
        loss = self._loss(img.float(), txt.float(), scale.float())
        return loss, {"logit_scale": float(scale.detach())}

    def after_step(self, model: nn.Module) -> None:
        with torch.no_grad():
            _clip(model).net.logit_scale.clamp_(0, MAX_LOGIT_SCALE)

    def evaluate(self, model: nn.Module, cfg: EvalConfig, device: torch.device) -> dict[str, float]:
        return evaluate_retrieval(_clip(model), cfg.data, cfg.max_images, cfg.batch_size, device)

    def state_dict(self) -> dict[str, Any]:
        if not self.cache:
            return {}
        keys = list(self.cache)
        return {"text_cache_keys": keys, "text_cache": torch.stack([self.cache[k] for k in keys])}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        keys = state.get("text_cache_keys", [])
        values = state.get("text_cache")
        self.cache = (
            {k: values[i].clone() for i, k in enumerate(keys)} if values is not None else {}
        )


def _clip(model: nn.Module) -> SarClip:
    if isinstance(model, SarClip):
        return model
    inner = getattr(model, "module", None) or getattr(model, "model", None)
    if isinstance(inner, SarClip):
        return inner
    raise InputError(f"expected a SAR-RS-CLIP model, got {type(model).__name__}")


def evaluate_retrieval(
    model: SarClip,
    data: str,
    max_images: int = 0,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Retrieval metrics of ``model`` on an open_clip caption CSV (the first ``max_images`` images)."""
    table = read_caption_csv([data]).head(max_images)
    texts, owner = table.pairs()
    img = embed_images(model, list(table.images), batch_size, device)
    txt = embed_texts(model, texts, device=device)
    return retrieval_metrics(img @ txt.T, owner)
