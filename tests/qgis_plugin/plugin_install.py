"""The plugin as a user installs it: ``scripts/build_plugin.py``'s zip, unpacked into a plugins folder.

The QGIS-side tests import ``sar_narrator`` from there (not from the checkout), with only the zip's
vendored ``sargeo`` on the path, so they test what users get. The plugin's own dependency folder
(``SAR_NARRATOR_HOME/deps/pyX.Y``) points at ``.qgis-python``, installed as the plugin's installer
installs (``pip --target --no-deps``).
"""

from __future__ import annotations

import os
import subprocess
import zipfile
from pathlib import Path

from scripts.build_plugin import build
from tests.qgis_plugin.qgis_harness import QGIS_EXTRAS, QGIS_PYTHON


def qgis_python_version() -> str:
    """``X.Y`` of QGIS's Python."""
    code = "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
    return subprocess.run(
        [str(QGIS_PYTHON), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def install_plugin(root: Path) -> tuple[Path, Path]:
    """Build the zip into ``root``, unpack it into ``root/plugins``; returns (plugins, home)."""
    archive = build(root / "sar_narrator.zip")
    plugins = root / "plugins"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(plugins)
    home = root / "home"
    (home / "deps").mkdir(parents=True)
    if QGIS_EXTRAS.is_dir():
        os.symlink(QGIS_EXTRAS, home / "deps" / f"py{qgis_python_version()}")
    return plugins, home


def plugin_env(plugins: Path, home: Path, *, with_deps: bool = True) -> dict[str, str]:
    """Environment for `run_in_qgis`: the installed plugin only (no checkout), its own home."""
    env = {"PYTHONPATH": str(plugins), "SAR_NARRATOR_HOME": str(home)}
    if not with_deps:
        env["SARGEO_QGIS_APPEND_PATH"] = ""
        env["SAR_NARRATOR_HOME"] = str(home.parent / "empty-home")
    return env
