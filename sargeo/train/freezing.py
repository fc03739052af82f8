"""Frozen parts of a model, by parameter-name prefix: no gradients, and their norm layers in eval mode.

Frozen batch-norm and dropout layers stay in eval mode whatever ``model.train()`` does, so a frozen
tower computes exactly what it computed before training (and its cached outputs stay valid).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn


def _matches(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def freeze(root: nn.Module, prefixes: Sequence[str]) -> int:
    """Set ``requires_grad`` from ``prefixes`` (all else trainable); returns the trainable count."""
    trainable = 0
    for name, param in root.named_parameters():
        param.requires_grad = not _matches(name, prefixes)
        trainable += param.numel() if param.requires_grad else 0
    return trainable


def train_mode(root: nn.Module, prefixes: Sequence[str]) -> None:
    """``root.train()``, then every module under a frozen prefix back to eval mode."""
    root.train()
    for name, module in root.named_modules():
        if name and _matches(name, prefixes):
            module.eval()


def fully_frozen(module: nn.Module) -> bool:
    """Whether no parameter of ``module`` trains."""
    return all(not p.requires_grad for p in module.parameters())
