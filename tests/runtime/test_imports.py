"""`sargeo.runtime` imports only the standard library and numpy, so the QGIS plugin can vendor it.

Checked in a clean interpreter: this test process has long imported rasterio, torch and the rest.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

ALLOWED = {"numpy", "sargeo"}
"""Top-level packages besides the standard library that runtime may import at import time."""

# Snapshot sys.modules once the interpreter (and its site hooks) has started, import the named runtime
# modules and every other module of sargeo.runtime, and report the top-level names that appeared.
CHILD = """
import importlib, json, pkgutil, sys
before = set(sys.modules)
import sargeo.runtime, sargeo.runtime.grid, sargeo.runtime.preprocess
for info in pkgutil.walk_packages(sargeo.runtime.__path__, "sargeo.runtime."):
    importlib.import_module(info.name)
new = set(sys.modules) - before
print(json.dumps({
    "top": sorted({name.split(".")[0] for name in new}),
    "runtime": sorted(name for name in new if name.startswith("sargeo.runtime")),
}))
"""


def test_runtime_imports_only_stdlib_and_numpy() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=REPO
    )
    found = json.loads(done.stdout)
    assert {"sargeo.runtime.grid", "sargeo.runtime.preprocess"} <= set(found["runtime"])
    foreign = [n for n in found["top"] if n not in sys.stdlib_module_names and n not in ALLOWED]
    assert not foreign, f"importing sargeo.runtime also imported {', '.join(foreign)}"
