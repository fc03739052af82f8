"""The errors sargeo raises for bad input, and the one place that turns any of them into one line.

Like rasterio's, each error also derives the matching builtin, so ``except ValueError`` or
``except OSError`` in a caller's code still catches it. Library messages name an option by its
parameter name in backticks (`` `tile_metres` ``); the CLI shows its own flag there (``--tile-metres``)
through :func:`user_message`, so one message serves the Python API and the command line.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping

_OPTION = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


class SargeoError(Exception):
    """An error caused by the user's input or environment (bad file, bad option), not by a bug."""


class OptionError(SargeoError, ValueError):
    """An option's value is out of range or inconsistent with another option."""

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        self.problem = problem
        super().__init__(f"`{option}` {problem}")


class InputError(SargeoError, ValueError):
    """An input (raster, dataset, vector, bundle) is unusable: corrupt, empty, inconsistent."""


class ReadError(SargeoError, OSError):
    """An input exists but its bytes cannot be read (truncated file, missing VRT source, I/O error)."""


class OutputError(SargeoError, OSError):
    """An output cannot be written, or writing it would replace, hold or lie above an input."""


class NotBuiltYetError(SargeoError, NotImplementedError):
    """A command of the contract that this version does not implement yet."""


def _os_message(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno == errno.ENOSPC:
        return f"no space left on the device{where}; nothing was kept"
    if exc.errno == errno.EROFS:
        return f"read-only file system{where}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied{where}"
    if exc.errno == errno.ENOTDIR:
        return f"a path component is a file, not a folder{where}"
    return f"{exc.strerror or exc}{where}"


def user_message(exc: BaseException, flags: Mapping[str, str] | None = None) -> str:
    """One line for the user: option names become ``flags[name]`` where the caller has a flag for them.

    Args:
        exc: the error to describe; a :class:`SargeoError` or an ``OSError`` from the environment.
        flags: option name -> the caller's spelling of it (the CLI passes its ``--flags``).
    """
    if isinstance(exc, OSError) and not isinstance(exc, SargeoError):
        text = _os_message(exc)
    else:
        text = str(exc) or type(exc).__name__
    names = flags or {}
    text = _OPTION.sub(lambda m: names.get(m.group(1), m.group(1)), text)
    return " ".join(text.split())


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is the user's input or environment (one line, exit 2) rather than a bug."""
    return isinstance(exc, SargeoError | OSError)
