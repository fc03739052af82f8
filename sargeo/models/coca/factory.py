"""CoCa model configs (JSON data files, ``configs/``) -> `SarCoca` models built by open_clip.

A config holds what a CLIP config holds (`sargeo.models.clip.factory`) and: ``image_tower`` (a timm
convolutional trunk in place of open_clip's ViT, `sargeo.models.coca.towers.TimmTokenTower`, since
open_clip's own timm tower gives no image tokens to caption from), ``loss`` (the contrastive and
caption loss weights) and ``decode`` (default decoding settings). ``--init`` weights (an open_clip CoCa
checkpoint or state dict) load through open_clip's own loader, as for CLIP.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from sargeo.errors import InputError
from sargeo.models.clip import factory as clip_factory
from sargeo.models.clip.factory import CONFIG_KEYS, load_open_clip_weights, load_towers
from sargeo.models.coca.model import SarCoca
from sargeo.models.coca.towers import TimmTokenTower

PACKAGE = "sargeo.models.coca"
COCA_KEYS = CONFIG_KEYS | {"image_tower", "loss", "decode"}
DEFAULT_MODEL = "sar-rs-coca-lite"
TINY_MODEL = "sar-rs-coca-tiny"


def list_models() -> list[str]:
    """Names of the CoCa configs shipped with sargeo."""
    return clip_factory.list_models(PACKAGE)


def load_config(name_or_path: str | Path) -> dict[str, Any]:
    """A CoCa config by shipped name (``sar-rs-coca-tiny``) or JSON file; unknown keys refused."""
    return clip_factory.load_config(name_or_path, package=PACKAGE, keys=COCA_KEYS)


def _initialise(net: Any) -> None:
    """Parameters open_clip leaves as ``torch.empty`` without pretrained weights get values."""
    decoder = net.text_decoder
    if getattr(decoder, "text_projection", None) is not None:
        torch.nn.init.normal_(decoder.text_projection, std=decoder.width**-0.5)
    cls = getattr(net.text, "cls_emb", None)
    if cls is not None:
        torch.nn.init.normal_(cls, std=0.01)


def create_model(
    name_or_path: str | Path = DEFAULT_MODEL,
    *,
    pretrained: bool = True,
    init: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
) -> SarCoca:
    """Build a SAR-RS-CoCa model.

    Args:
        name_or_path: a shipped config name or a config JSON file.
        pretrained: load the pretrained towers the config names (skip when weights follow anyway).
        init: an open_clip CoCa checkpoint or state dict to start from (``--init``); must fit exactly.
        config: an already-loaded config (a checkpoint's copy) instead of ``name_or_path``.
    """
    from open_clip.coca_model import CoCa

    cfg = dict(config) if config is not None else load_config(name_or_path)
    spec = clip_factory.open_clip_config(cfg["open_clip"], pretrained)
    if "multimodal_cfg" not in spec:
        raise InputError(f"model {cfg['name']}: open_clip config is not a CoCa (no multimodal_cfg)")
    net = CoCa(**spec)
    tower = cfg.get("image_tower")
    if tower:
        net.visual = TimmTokenTower(
            str(tower["timm_model"]),
            int(cfg["preprocess"]["size"]),
            int(spec["embed_dim"]),
            int(net.text_decoder.width),
        )
    _initialise(net)
    model = SarCoca(net, cfg)
    vocab = int(net.text.vocab_size)
    if model.captions.vocab_size > vocab:
        raise InputError(
            f"model {model.name}: the tokenizer has {model.captions.vocab_size} tokens,"
            f" the text tower {vocab}"
        )
    net.pad_id = model.captions.pad
    if pretrained:
        load_towers(model, cfg.get("towers", {}))
    if init is not None:
        load_open_clip_weights(model, Path(init))
    return model
