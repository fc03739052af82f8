"""The task interface the trainer drives: CLIP now; CoCa and SAR-GPT plug in the same way.

A `TaskAdapter` builds and restores its model, makes a stage's dataset, computes a batch's loss and
evaluates; the trainer owns everything else (stages, optimiser, schedule, checkpoints, resume, DDP,
mixed precision, logs). Register a new task in `TASKS` by name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from sargeo.train.recipe import EvalConfig, Recipe, Stage


class TaskAdapter(ABC):
    """What a task tells the trainer. One instance per run (it may hold state, e.g. caches)."""

    name: str = ""

    @abstractmethod
    def build_model(self, recipe: Recipe) -> nn.Module:
        """The model at the start of the run (pretrained towers, ``recipe.init`` loaded)."""

    @abstractmethod
    def restore_model(self, config: Mapping[str, Any]) -> nn.Module:
        """An empty model of a checkpoint's config (weights follow)."""

    @abstractmethod
    def model_config(self, model: nn.Module) -> dict[str, Any]:
        """The config that `restore_model` takes (saved with every checkpoint)."""

    @abstractmethod
    def fingerprint(self, model: nn.Module) -> str:
        """Architecture id: checkpoints load only into a model with the same one."""

    @abstractmethod
    def frozen_prefixes(self, model: nn.Module, groups: tuple[str, ...]) -> list[str]:
        """Parameter-name prefixes of the named groups (names as in ``model.named_parameters()``)."""

    @abstractmethod
    def train_data(
        self, model: nn.Module, recipe: Recipe, stage: Stage, index: int
    ) -> Dataset[Any]:
        """A stage's dataset, indexed by position in the stage's sample stream (see `data_stream`)."""

    def weights(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The tensors a checkpoint holds (default: the whole state dict)."""
        return dict(model.state_dict())

    def load_weights(self, model: nn.Module, weights: Mapping[str, torch.Tensor]) -> None:
        """Load `weights` back into a model built by `build_model` or `restore_model`."""
        model.load_state_dict(dict(weights))

    def check_eval_data(self, path: str) -> None:
        """Refuse an evaluation file this task cannot read, before the run starts (default: a caption
        CSV)."""
        from sargeo.train.data import read_caption_csv

        read_caption_csv([path])

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module whose forward the loss calls (DDP wraps it); default the model itself."""
        return model

    def collate(self, items: list[Any]) -> Any:
        """Items -> batch (default: torch's)."""
        return torch.utils.data.default_collate(items)

    def begin_stage(self, model: nn.Module, stage: Stage) -> None:  # noqa: B027 - optional hook
        """Called once parameters are frozen for a stage, before its first step."""

    @abstractmethod
    def loss(
        self, wrapped: nn.Module, model: nn.Module, batch: Any, device: torch.device
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The batch's loss (through ``wrapped``, the DDP module) and scalars to log."""

    def after_step(self, model: nn.Module) -> None:  # noqa: B027 - optional hook
        """Called after each optimiser step (e.g. clamp a temperature)."""

    @abstractmethod
    def evaluate(self, model: nn.Module, cfg: EvalConfig, device: torch.device) -> dict[str, float]:
        """Metrics on an evaluation set (in percent where they are rates)."""

    def state_dict(self) -> dict[str, Any]:
        """Task state that a resume needs (e.g. cached embeddings)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Inverse of `state_dict`."""
