"""The packages the plugin needs beyond QGIS, whether they import, and an installer for them.

The installer learns from the most reported failure of ML plugins for QGIS: letting pip resolve
dependencies pulls numpy 2 beside a QGIS built on numpy 1, which breaks GDAL's array bindings. So it
installs only what is missing, at the versions of ``requirements.txt`` (the form the qpip plugin also
reads), with ``--no-deps`` into the plugin's own folder (`paths.deps_dir`, last on ``sys.path``), and
never numpy. QGIS's Python itself is not changed.
"""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .paths import PLUGIN_DIR, deps_dir, setup_paths

REQUIREMENTS = PLUGIN_DIR / "requirements.txt"

PACKAGES: dict[str, tuple[str, ...]] = {
    "onnxruntime": ("onnxruntime", "flatbuffers", "protobuf"),
    "tokenizers": ("tokenizers",),
}
"""Each module the plugin imports, and the distributions that make it import (no others)."""

NEVER = frozenset({"numpy", "gdal", "pyqt5", "pyqt6", "sip"})
"""Distributions QGIS provides, which the installer refuses to install."""


def pins(path: Path = REQUIREMENTS) -> dict[str, str]:
    """``name -> "name==version"`` of ``requirements.txt`` (comments and blank lines skipped)."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            found[text.split("==")[0].strip().lower()] = text
    return found


def module_origin(name: str) -> str | None:
    """Where a module would be imported from, or None when it is not importable."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return None if spec is None else str(spec.origin or spec.submodule_search_locations)


def missing() -> list[str]:
    """The modules of `PACKAGES` that do not import here."""
    return [name for name in PACKAGES if module_origin(name) is None]


def python_executable() -> str:
    """QGIS's Python interpreter (inside QGIS, ``sys.executable`` may be the QGIS program)."""
    exe = Path(sys.executable)
    if exe.name.lower().startswith("python"):
        return str(exe)
    prefix = Path(sys.exec_prefix)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (
        prefix / "python.exe",
        prefix / "bin" / f"python{version}",
        prefix / "bin" / "python3",
        Path("/usr/bin/python3"),
    ):
        if candidate.is_file():
            return str(candidate)
    return str(exe)


def install_command(modules: Sequence[str], target: Path | None = None) -> list[str]:
    """The pip command that installs ``modules`` (keys of `PACKAGES`) into the plugin's folder."""
    wanted = pins()
    dists = [d for m in modules for d in PACKAGES[m]]
    refused = [d for d in dists if d.lower() in NEVER]
    if refused:
        raise ValueError(f"the installer never installs {', '.join(refused)}")
    requirements = [wanted.get(d.lower(), d) for d in dists]
    return [
        python_executable(), "-m", "pip", "install", "--no-deps", "--upgrade",
        "--disable-pip-version-check", "--no-input", "--target", str(target or deps_dir()),
        *requirements,
    ]  # fmt: skip


def install(
    modules: Sequence[str] | None = None,
    log: Callable[[str], None] = print,
    target: Path | None = None,
) -> bool:
    """Install the missing modules (or ``modules``); True when they all import afterwards."""
    todo = list(modules if modules is not None else missing())
    if not todo:
        return True
    folder = target or deps_dir()
    folder.mkdir(parents=True, exist_ok=True)
    command = install_command(todo, folder)
    log("running: " + " ".join(command))
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in (proc.stdout + proc.stderr).splitlines():
        if line.strip():
            log(line)
    setup_paths()
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    importlib.invalidate_caches()
    still = [m for m in todo if module_origin(m) is None]
    if proc.returncode != 0 or still:
        log(f"pip exited with code {proc.returncode}; still missing: {', '.join(still) or 'none'}")
        return False
    return True


def missing_message(names: Sequence[str]) -> str:
    """What the user reads when packages are missing."""
    return (
        f"SAR Narrator needs {', '.join(names)}, which this QGIS's Python lacks. Use 'Install"
        " dependencies' (Raster > SAR Narrator), or install them with the qpip plugin; they go"
        f" into {deps_dir()} without touching QGIS's own packages."
    )
