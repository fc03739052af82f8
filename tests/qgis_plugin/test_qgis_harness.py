"""The QGIS harness itself: the environment scripts get, and how failures come back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.qgis_plugin.qgis_harness import QGIS_EXTRAS, REPO, QgisRunError

pytestmark = pytest.mark.qgis

ENVIRONMENT_SCRIPT = """
import os, sys

def main(args):
    import numpy
    from qgis.core import Qgis, QgsApplication
    from sargeo.records import Tile
    return {
        "args": args,
        "qgis": Qgis.QGIS_VERSION,
        "initialised": QgsApplication.instance() is not None,
        "numpy": numpy.__file__,
        "sys_path": sys.path,
        "platform": os.environ.get("QT_QPA_PLATFORM"),
        "tile_fields": sorted(Tile.__dataclass_fields__),
    }
"""


def test_script_runs_in_qgis_python_with_repo_code_and_extras_last(
    qgis: Callable[..., dict[str, Any]],
) -> None:
    result = qgis(ENVIRONMENT_SCRIPT, ["one", "two words"])
    assert result["args"] == ["one", "two words"]
    assert result["qgis"].startswith("3.") and result["initialised"]
    assert result["platform"] == "offscreen"
    assert "tile_fields" in result and "bounds" in result["tile_fields"]
    assert str(REPO) in result["sys_path"]
    assert result["sys_path"][-1] == str(QGIS_EXTRAS)
    # Debian's numpy (which QGIS's GDAL bindings are built against), never one from .qgis-python.
    assert not result["numpy"].startswith(str(QGIS_EXTRAS))


def test_script_file_and_processing(qgis: Callable[..., dict[str, Any]], tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(
        "from qgis.core import QgsApplication\n"
        "def main(args):\n"
        "    registry = QgsApplication.processingRegistry()\n"
        "    return {'native': registry.providerById('native') is not None}\n"
    )
    assert qgis(script, processing=True) == {"native": True}


def test_failure_in_qgis_raises_with_traceback(qgis: Callable[..., dict[str, Any]]) -> None:
    with pytest.raises(QgisRunError, match="ValueError: no such layer"):
        qgis("def main(args):\n    raise ValueError('no such layer')\n")
    with pytest.raises(QgisRunError, match="defines no main"):
        qgis("x = 1\n")
