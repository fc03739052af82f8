"""The registry of trainable tasks: task name -> its `TaskAdapter` (the interface lives in `task`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sargeo.errors import InputError
from sargeo.train.task import TaskAdapter


def _clip() -> TaskAdapter:
    from sargeo.train.clip_task import ClipTask

    return ClipTask()


def _coca() -> TaskAdapter:
    from sargeo.train.coca_task import CocaTask

    return CocaTask()


def _gpt() -> TaskAdapter:
    from sargeo.train.gpt_task import GptTask

    return GptTask()


TASKS: dict[str, Callable[[], TaskAdapter]] = {"clip": _clip, "coca": _coca, "gpt": _gpt}


def get_task(name: str) -> TaskAdapter:
    """A fresh adapter of the named task."""
    if name not in TASKS:
        raise InputError(f"task {name!r} has no trainer yet; available: {', '.join(TASKS)}")
    return TASKS[name]()


def restore_trained(
    path: Path, task: str, wrong_task: str = ""
) -> tuple[Any, dict[str, Any], Path]:
    """The eval-mode model of a run folder (final model, else newest checkpoint) or checkpoint.

    Returns the model, its checkpoint meta and the checkpoint folder.

    Raises:
        InputError: no checkpoint, one of another task (its message ends with ``wrong_task``, by
            default ", not a TASK one") or one whose weights do not fit its model config.
    """
    from sargeo.train.checkpoint import find_checkpoint, load_checkpoint

    folder = find_checkpoint(path)
    meta, config, weights, _ = load_checkpoint(folder, with_state=False)
    if meta.get("task") != task:
        raise InputError(
            f"{folder} is a {meta.get('task')} checkpoint{wrong_task or f', not a {task} one'}"
        )
    model = get_task(task).restore_model(config)
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise InputError(
            f"checkpoint {folder} does not fit its model config: {str(exc).splitlines()[0]}"
        ) from exc
    return model.eval(), meta, folder
