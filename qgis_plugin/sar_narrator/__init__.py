"""SAR Narrator: the sargeo QGIS plugin (Processing provider ``sargeo`` and a dock widget).

QGIS imports this package and calls `classFactory`. Importing it needs QGIS only: onnxruntime and
tokenizers are imported when a model runs, so the plugin loads without them and says what is missing.
"""

from __future__ import annotations

from typing import Any

from .paths import setup_paths

setup_paths()


def classFactory(iface: Any) -> Any:
    """The plugin object QGIS loads."""
    from .plugin import SarNarratorPlugin

    return SarNarratorPlugin(iface)
