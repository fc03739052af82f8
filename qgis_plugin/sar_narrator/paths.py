"""Where the plugin finds ``sargeo.runtime`` and the packages it installed, and where it keeps data.

- ``vendor/``: the copy of ``sargeo.runtime`` that `scripts/build_plugin.py` puts in the zip. It goes
  first on ``sys.path``, so the plugin runs the runtime it was built with. Run from a checkout (no
  ``vendor/``), the repository's own ``sargeo`` is used.
- The dependency folder (`deps_dir`): onnxruntime and tokenizers installed by the plugin, one folder
  per Python version (``py3.11``), in the QGIS profile so that updating the plugin keeps them. It goes
  LAST on ``sys.path``: QGIS's own numpy always wins.
- The data folder (`data_dir`): cached embedding indexes and the dock's results.

``SAR_NARRATOR_HOME`` moves the dependency and data folders elsewhere (tests, shared installs).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent
VENDOR_DIR = PLUGIN_DIR / "vendor"
CHECKOUT_ROOT = PLUGIN_DIR.parents[1]


def home_dir() -> Path:
    """The plugin's own folder for installed packages and data (created on demand)."""
    override = os.environ.get("SAR_NARRATOR_HOME")
    if override:
        return Path(override)
    try:
        from qgis.core import QgsApplication

        return Path(QgsApplication.qgisSettingsDirPath()) / "sar_narrator"
    except ImportError:  # outside QGIS (packaging, tests)
        return Path.home() / ".sar_narrator"


def deps_dir() -> Path:
    """Where the installer puts packages for this Python version."""
    return home_dir() / "deps" / f"py{sys.version_info.major}.{sys.version_info.minor}"


def data_dir() -> Path:
    """Cached indexes and the dock's results."""
    return home_dir() / "data"


def runtime_origin() -> str:
    """Where ``sargeo`` is imported from: ``vendor``, ``checkout`` or ``missing``."""
    if (VENDOR_DIR / "sargeo" / "runtime").is_dir():
        return "vendor"
    if (CHECKOUT_ROOT / "sargeo" / "runtime").is_dir():
        return "checkout"
    return "missing"


def setup_paths() -> None:
    """Put the runtime first and the installed packages last on ``sys.path`` (idempotent)."""
    origin = runtime_origin()
    if origin == "vendor" and str(VENDOR_DIR) not in sys.path:
        sys.path.insert(0, str(VENDOR_DIR))
    elif origin == "checkout" and str(CHECKOUT_ROOT) not in sys.path:
        sys.path.append(str(CHECKOUT_ROOT))
    deps = str(deps_dir())
    if deps not in sys.path:
        sys.path.append(deps)
