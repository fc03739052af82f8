"""What the plugin runs with: versions, ONNX Runtime providers, paths and the bundles it finds.

`collect` gathers it as plain data (tests read it); `DiagnosticsDialog` shows it as text with
buttons to copy it and to install what is missing.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
from pathlib import Path
from typing import Any

from . import deps
from .paths import PLUGIN_DIR, data_dir, deps_dir, runtime_origin

BUNDLES_SETTING = "sar_narrator/bundles_dir"


def _module(name: str) -> dict[str, Any]:
    try:
        module = importlib.import_module(name)
    except Exception as exc:
        return {"installed": False, "error": f"{type(exc).__name__}: {exc}"}
    return {
        "installed": True,
        "version": str(getattr(module, "__version__", "?")),
        "path": str(getattr(module, "__file__", "")),
    }


def find_bundles(folder: Path) -> list[dict[str, Any]]:
    """Bundle folders inside ``folder`` (and ``folder`` itself): name, task, precision, status."""
    from sargeo.errors import SargeoError
    from sargeo.runtime.bundle import load_bundle

    if not folder.is_dir():
        return []
    found = []
    for candidate in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
        if not (candidate / "bundle.json").is_file():
            continue
        try:
            bundle = load_bundle(candidate, verify=False)
            found.append({
                "path": str(candidate), "name": bundle.name, "task": bundle.task,
                "precision": str(bundle.meta.get("precision", "")), "sha256": bundle.short_sha,
                "status": "ok (hashes are checked when it runs)",
            })  # fmt: skip
        except (SargeoError, OSError) as exc:
            found.append({"path": str(candidate), "status": f"unusable: {exc}"})
    return found


def bundles_folder() -> Path | None:
    """The bundle folder the user chose in the dock (QGIS settings), if any."""
    try:
        from qgis.core import QgsSettings
    except ImportError:
        return None
    value = QgsSettings().value(BUNDLES_SETTING, "")
    return Path(str(value)) if value else None


def collect(bundle_dirs: list[Path] | None = None) -> dict[str, Any]:
    """Everything the diagnostics dialog shows."""
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "python_executable": deps.python_executable(),
        "platform": platform.platform(),
        "plugin_dir": str(PLUGIN_DIR),
        "runtime_origin": runtime_origin(),
        "deps_dir": str(deps_dir()),
        "data_dir": str(data_dir()),
        "missing": deps.missing(),
        "packages": {n: _module(n) for n in ("numpy", "onnxruntime", "tokenizers", "sargeo")},
    }
    try:
        from osgeo import gdal
        from qgis.core import Qgis

        info["qgis"] = Qgis.version()
        info["gdal"] = gdal.__version__
    except ImportError:
        info["qgis"] = info["gdal"] = "unavailable"
    if info["packages"]["onnxruntime"]["installed"]:
        ort = importlib.import_module("onnxruntime")
        info["onnxruntime_providers"] = list(ort.get_available_providers())
    folders = bundle_dirs if bundle_dirs is not None else [f for f in [bundles_folder()] if f]
    info["bundles"] = [b for f in folders for b in find_bundles(f)]
    return info


def as_text(info: dict[str, Any]) -> str:
    """The report as readable text (the dialog's content)."""
    missing = info.get("missing") or []
    head = deps.missing_message(missing) if missing else "All needed packages import."
    return head + "\n\n" + json.dumps(info, indent=2, sort_keys=True)


def show_dialog(parent: Any = None) -> Any:
    """Open the diagnostics dialog (QGIS GUI)."""
    from qgis.PyQt.QtWidgets import (
        QApplication,
        QDialog,
        QDialogButtonBox,
        QPlainTextEdit,
        QVBoxLayout,
    )

    dialog = QDialog(parent)
    dialog.setWindowTitle("SAR Narrator diagnostics")
    text = QPlainTextEdit(as_text(collect()))
    text.setReadOnly(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    copy = buttons.addButton("Copy", QDialogButtonBox.ButtonRole.ActionRole)
    copy.clicked.connect(lambda: QApplication.clipboard().setText(text.toPlainText()))
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text)
    layout.addWidget(buttons)
    dialog.resize(700, 500)
    dialog.show()
    return dialog
