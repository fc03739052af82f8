"""Outputs that appear complete or not at all, and never at the cost of an input.

Every command writes into a hidden folder or file beside its output, named after the output and the
writing process (``.NAME.PID.XXXX.partial``), and renames it into place at the end. On Linux an existing
output is swapped with the new one in a single ``renameat2(RENAME_EXCHANGE)``, so there is no moment
without an output. A run killed before it could clean up leaves its hidden folder behind; the next run on
the same output removes it (or restores an output that a killed swap had moved aside).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sargeo.errors import OutputError

PathLike = str | os.PathLike[str]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _load_libc() -> ctypes.CDLL | None:
    """The C library (for ``renameat2``), or None where there is none to load (Windows)."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name, use_errno=True) if name else None
    except (OSError, TypeError):
        return None


_LIBC = _load_libc()


def check_output_dir(path: Path, overwrite: bool) -> None:
    """Refuse an existing output folder unless ``overwrite`` is set."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"output {path} exists and is not a folder")
    if path.exists() and not overwrite:
        raise OutputError(f"output folder {path} already exists (use `overwrite` to replace it)")


def check_not_an_input(output: PathLike, inputs: Iterable[PathLike]) -> None:
    """Refuse an output that is an input, holds one, lies inside one, or holds the current folder.

    Paths are compared after resolving symbolic links, so a link cannot smuggle an input in. This holds
    with and without ``overwrite``: replacing such an output would delete the input.
    """
    out = Path(output).resolve()
    cwd = Path.cwd().resolve()
    if out == cwd or out in cwd.parents:
        raise OutputError(
            f"output {output} is the current folder or lies above it; name a new folder"
        )
    for item in inputs:
        inp = Path(item).resolve()
        if out == inp:
            raise OutputError(f"output {output} is the input {item}; name a new folder")
        if out in inp.parents:
            raise OutputError(f"output {output} holds the input {item}; name a new folder")
        if inp in out.parents:
            raise OutputError(
                f"output {output} lies inside the input {item}; name a folder outside it"
            )


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows: signal 0 is CTRL_C_EVENT, never probe
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# .NAME.PID.TOKEN.partial or .old, then maybe the target's extension or a side file (-journal, .aux.xml)
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.(?P<kind>partial|old)(?:[.-].*)?$")


def leftovers(target: Path) -> list[tuple[Path, int, str]]:
    """Hidden work folders or files of ``target`` beside it: (path, writer's pid, 'partial' | 'old')."""
    found: list[tuple[Path, int, str]] = []
    if not target.parent.is_dir():
        return found
    for entry in target.parent.iterdir():
        match = _LEFTOVER.match(entry.name)
        if match and match["name"] == target.name:
            found.append((entry, int(match["pid"]), match["kind"]))
    return found


def clean_leftovers(target: Path) -> list[Path]:
    """Remove what killed runs left beside ``target``; returns what was removed or restored.

    An ``old`` leftover with no ``target`` is the previous output that a killed swap had moved aside:
    it is put back. A leftover of a process that is still running means another run is writing the same
    output, which is refused.
    """
    handled = []
    for path, pid, kind in leftovers(target):
        if _pid_alive(pid):
            if pid == os.getpid():
                continue
            raise OutputError(f"another run (pid {pid}) is writing {target}; wait for it to finish")
        if kind == "old" and not target.exists():
            path.rename(target)
        elif path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
        handled.append(path)
    return handled


def _work_prefix(target: Path) -> str:
    return f".{target.name}.{os.getpid()}."


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the file system cannot."""
    renameat2 = getattr(_LIBC, "renameat2", None)
    if renameat2 is None:
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _replace(tmp: Path, target: Path) -> None:
    """Put ``tmp`` where ``target`` is; the old target is removed."""
    if not target.exists():
        tmp.rename(target)
        return
    if _exchange(tmp, target):
        _remove(tmp)  # tmp now holds the old output
        return
    old = target.with_name(f"{_work_prefix(target)}{secrets.token_hex(4)}.old")
    target.rename(old)
    tmp.rename(target)
    _remove(old)


def _prepare_parent(target: Path) -> None:
    """Create the output's parent folders, with a clear error where that cannot be done."""
    for ancestor in (target.parent, *target.parent.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise OutputError(f"cannot create {target}: {ancestor} is a file, not a folder")
            break
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target.parent):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write in {target.parent}: {exc.strerror or exc}") from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_dir(
    path: PathLike, *, inputs: Iterable[PathLike], overwrite: bool = False
) -> Iterator[Path]:
    """Yield a hidden folder beside ``path``; on success it replaces ``path``.

    Args:
        path: the output folder.
        inputs: every file or folder the command reads; the output may not be, hold or lie in one.
        overwrite: replace an existing output folder.

    On any exception (SIGINT and SIGTERM included, which the CLI turns into exceptions) the hidden
    folder is removed and an existing ``path`` is left untouched.
    """
    target = Path(path)
    check_not_an_input(target, inputs)
    check_output_dir(target, overwrite)
    _prepare_parent(target)
    clean_leftovers(target)
    check_output_dir(target, overwrite)  # a restored output counts as existing
    tmp = Path(tempfile.mkdtemp(prefix=_work_prefix(target), suffix=".partial", dir=target.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it private (0700); outputs get the usual mode
        yield tmp
        _replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        if exc.filename and str(exc.filename).startswith(str(tmp)):  # name the output, not tmp
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    except BaseException:
        _remove(tmp)
        raise


@contextmanager
def atomic_file(path: PathLike, *, inputs: Iterable[PathLike] = ()) -> Iterator[Path]:
    """Yield a hidden file path beside ``path``; on success it is renamed to ``path``.

    Args:
        path: the output file.
        inputs: files the command reads; the output may not be one of them (nor hold one).
    """
    target = Path(path)
    check_not_an_input(target, inputs)
    _prepare_parent(target)
    clean_leftovers(target)
    # the target's extension last: writers such as GDAL's pick their format from it
    suffix = f".partial{target.suffix}"
    fd, name = tempfile.mkstemp(prefix=_work_prefix(target), suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # the writer creates it; mkstemp only reserved a unique name
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        for side in target.parent.glob(f"{tmp.name}*"):  # the file and any side files of its writer
            _remove(side)
        raise
