"""ONNX Runtime sessions, imported lazily so that ``sargeo.runtime`` loads without onnxruntime.

Bundles hold graphs optimised offline at ONNX Runtime's *extended* level (portable fusions); the
*all* level's layout transforms depend on the processor they run on, so they are applied here, when a
session opens, on the machine that runs it.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from sargeo.errors import InputError

INSTALL_HINTS = {
    "onnxruntime": "pip install onnxruntime",
    "tokenizers": "pip install tokenizers",
}


class MissingPackageError(InputError):
    """An optional package the runtime needs for this work is not installed."""


def require(package: str) -> ModuleType:
    """Import an optional package, or say which one is missing and how to install it."""
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        hint = INSTALL_HINTS.get(package, f"pip install {package}")
        raise MissingPackageError(f"{package} is not installed ({hint})") from exc


def default_threads() -> int:
    """Threads for one session: every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def open_session(path: Path, threads: int | None = None) -> Any:
    """A CPU `onnxruntime.InferenceSession` on ``path`` with every graph optimisation enabled.

    Args:
        path: The ONNX file.
        threads: Intra-op threads (default: all cores).
    """
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initialisers are not the user's concern
    # Idle worker threads sleep instead of spinning: the index pipeline's reader threads need the
    # cores between inference calls.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"onnxruntime cannot load {path}: {first}") from exc
