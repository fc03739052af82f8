"""The registry of trainable tasks: task name -> its `TaskAdapter` (the interface lives in `task`)."""

from __future__ import annotations

from collections.abc import Callable

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
