"""Training recipes: data files (JSON or YAML) listing stages; every key is checked, unknown keys refused.

A recipe names the task and model, the seed, checkpointing and logging, an evaluation set, and stages.
Each stage names its data (open_clip caption CSVs, ``{corpus}`` standing for the corpus folder given on
the command line), the frozen parameter groups, the learning rate and its schedule (linear warmup, then
cosine or constant), the global batch size, its length in steps or epochs, augmentations and evaluation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from sargeo.errors import InputError

TASKS = ("clip", "coca", "gpt")


@dataclass(frozen=True)
class AugmentConfig:
    """SAR augmentations of a stage; probabilities per sample (see `sargeo.train.augment`).

    Attributes:
        dihedral: random flips and 90-degree rotations, the caption's position words rewritten.
        speckle_p: share of samples whose speckle is re-drawn with a random number of looks.
        looks: (min, max) looks of the re-drawn speckle (fewer looks: stronger speckle).
        gain_p: share of samples given an incidence-like gain: an offset plus a ramp across range.
        gain_db: largest offset and largest ramp end-to-end, in dB.
        quantise_p: share of SAR samples turned into an 8-bit amplitude display (like HRSID's JPEGs).
        single_pol_p: share of dual-pol samples reduced to VV only.
    """

    dihedral: bool = True
    speckle_p: float = 0.0
    looks: tuple[float, float] = (1.0, 8.0)
    gain_p: float = 0.0
    gain_db: float = 2.0
    quantise_p: float = 0.0
    single_pol_p: float = 0.0


@dataclass(frozen=True)
class EvalConfig:
    """Retrieval evaluation during training.

    Attributes:
        data: open_clip CSV of the evaluation pairs (``{corpus}/captions_val.csv``); empty: none.
        every: evaluate every N steps (0: only at the end of each stage).
        max_images: evaluate on at most this many images (the first ones, in CSV order).
        batch_size: images per forward pass.
    """

    data: str = ""
    every: int = 0
    max_images: int = 500
    batch_size: int = 64


@dataclass(frozen=True)
class Stage:
    """One stage of training (see the module docstring)."""

    name: str
    data: tuple[str, ...]
    source: str = "sar"
    freeze: tuple[str, ...] = ()
    lr: float = 1e-4
    weight_decay: float = 0.1
    warmup: int = 0
    schedule: str = "cosine"
    min_lr: float = 0.0
    batch_size: int = 32
    steps: int = 0
    epochs: float = 0.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    eval: EvalConfig | None = None
    max_images: int = 0


@dataclass(frozen=True)
class Recipe:
    """A whole training run (see the module docstring)."""

    name: str
    task: str
    model: str
    stages: tuple[Stage, ...]
    init: str = ""
    seed: int = 0
    precision: str = "auto"
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    log_every: int = 10
    workers: int = 0
    threads: int = 0
    eval: EvalConfig = field(default_factory=EvalConfig)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the run folder's ``recipe.json``)."""
        data: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return data

    def digest(self) -> str:
        """A hash of everything that decides the run: a resume needs the same one."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def stage_eval(self, stage: Stage) -> EvalConfig:
        """The evaluation of a stage: its own, else the recipe's."""
        return stage.eval if stage.eval is not None else self.eval


def _check_keys(data: Any, cls: type, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputError(f"recipe {where} must be a mapping")
    known = {f.name for f in fields(cls)}
    unknown = sorted(k for k in data if k not in known and not k.startswith("_"))
    if unknown:
        raise InputError(
            f"recipe {where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _eval(data: Any, where: str, corpus: str) -> EvalConfig:
    values = _check_keys(data, EvalConfig, where)
    if "data" in values:
        values["data"] = _fill(str(values["data"]), corpus)
    return EvalConfig(**values)


def _fill(path: str, corpus: str) -> str:
    if "{corpus}" in path:
        if not corpus:
            raise InputError(f"recipe data {path!r} needs a corpus folder (`corpus`)")
        path = path.replace("{corpus}", corpus)
    return str(Path(path).expanduser().resolve()) if path else path


def _stage(data: Any, index: int, corpus: str) -> Stage:
    where = f"stage {index + 1}"
    values = _check_keys(data, Stage, where)
    name = str(values.get("name") or f"stage{index + 1}")
    where = f"stage {name!r}"
    raw = values.get("data")
    paths = [raw] if isinstance(raw, str) else list(raw or [])
    if not paths:
        raise InputError(f"recipe {where} has no data")
    values["name"] = name
    values["data"] = tuple(_fill(str(p), corpus) for p in paths)
    values["freeze"] = tuple(values.get("freeze", ()))
    if "augment" in values:
        aug = _check_keys(values["augment"], AugmentConfig, f"{where} augment")
        if "looks" in aug:
            aug["looks"] = tuple(float(v) for v in aug["looks"])
        values["augment"] = AugmentConfig(**aug)
    if values.get("eval") is not None:
        values["eval"] = _eval(values["eval"], f"{where} eval", corpus)
    stage = Stage(**values)
    if (stage.steps > 0) == (stage.epochs > 0):
        raise InputError(f"recipe {where} needs exactly one of steps or epochs")
    if stage.batch_size < 2:
        raise InputError(f"recipe {where}: batch_size must be at least 2 (contrastive loss)")
    if stage.schedule not in ("cosine", "constant"):
        raise InputError(f"recipe {where}: schedule must be cosine or constant")
    if stage.source not in ("sar", "optical"):
        raise InputError(f"recipe {where}: source must be sar or optical")
    if stage.lr <= 0 or stage.warmup < 0:
        raise InputError(f"recipe {where}: lr must be positive and warmup not negative")
    return stage


def shipped_recipes() -> list[str]:
    """Names of the recipes shipped with sargeo (``sargeo/train/recipes``)."""
    folder = Path(str(resources.files("sargeo.train") / "recipes"))
    return sorted(p.stem for p in folder.glob("*.json"))


def recipe_path(name_or_path: str | Path) -> Path:
    """A shipped recipe name (``clip-tiny``) or a file path -> the file."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = Path(str(resources.files("sargeo.train") / "recipes")) / f"{name_or_path}.json"
    if shipped.is_file():
        return shipped
    raise InputError(
        f"recipe {name_or_path} not found: give a file or one of {', '.join(shipped_recipes())}"
    )


def parse_recipe(data: Any, corpus: str = "", init: str = "") -> Recipe:
    """Check and build a recipe from its parsed JSON/YAML; ``{corpus}`` in paths becomes ``corpus``."""
    values = _check_keys(data, Recipe, "")
    for key in ("task", "model", "stages"):
        if key not in values:
            raise InputError(f"recipe needs `{key}`")
    if values["task"] not in TASKS:
        raise InputError(f"recipe task {values['task']!r} is not one of {', '.join(TASKS)}")
    corpus = str(Path(corpus).expanduser().resolve()) if corpus else ""
    stages = values["stages"]
    if not isinstance(stages, list) or not stages:
        raise InputError("recipe has no stages")
    values["stages"] = tuple(_stage(s, i, corpus) for i, s in enumerate(stages))
    names = [s.name for s in values["stages"]]
    if len(set(names)) != len(names):
        raise InputError(f"recipe stage names repeat: {', '.join(names)}")
    if "eval" in values:
        values["eval"] = _eval(values["eval"], "eval", corpus)
    values.setdefault("name", "recipe")
    values["init"] = init or values.get("init") or ""
    if values["init"]:
        values["init"] = str(Path(values["init"]).expanduser().resolve())
    if values.get("precision", "auto") not in ("auto", "fp32", "bf16", "fp16"):
        raise InputError("recipe precision must be auto, fp32, bf16 or fp16")
    return Recipe(**values)


def load_recipe(name_or_path: str | Path, corpus: str = "", init: str = "") -> Recipe:
    """Read a recipe file (``.json``, ``.yaml``/``.yml``) or a shipped recipe by name."""
    path = recipe_path(name_or_path)
    try:
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (
        OSError,
        ValueError,
    ) as exc:  # yaml.YAMLError and JSONDecodeError are ValueErrors or not
        raise InputError(f"cannot read recipe {path}: {exc}") from exc
    except Exception as exc:
        if type(exc).__module__.startswith("yaml"):
            raise InputError(f"cannot read recipe {path}: {exc}".splitlines()[0]) from exc
        raise
    return parse_recipe(data, corpus=corpus, init=init)
