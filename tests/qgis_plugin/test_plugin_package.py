"""The plugin zip and its files, without QGIS: the vendored runtime equals the source, the metadata,
the imports the plugin allows itself, and how its installer installs (``--no-deps``, never numpy)."""

from __future__ import annotations

import ast
import configparser
import importlib
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from scripts.build_plugin import PLUGIN, REPO, build, vendored_files

ALLOWED = {"qgis", "numpy", "osgeo", "onnxruntime", "tokenizers", "sargeo", "processing"}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return zipfile.ZipFile(build(tmp_path_factory.mktemp("zip") / "sar_narrator.zip"))


def _imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_the_vendored_runtime_is_the_source_byte_for_byte(archive: zipfile.ZipFile) -> None:
    names = set(archive.namelist())
    runtime = {p.name for p in (REPO / "sargeo" / "runtime").glob("*.py")}
    vendored = vendored_files()
    assert {Path(v).name for v in vendored if v.startswith("sargeo/runtime/")} == runtime
    for rel in vendored:
        assert archive.read(f"sar_narrator/vendor/{rel}") == (REPO / rel).read_bytes(), rel
    # everything of sargeo the vendored modules import is vendored too (a new dependency of the
    # runtime on another toolkit module fails here, not on a user's machine)
    modules = {v.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for v in vendored}
    for rel in vendored:
        wanted = {m for m in _imports((REPO / rel).read_text()) if m.startswith("sargeo")}
        assert wanted <= modules, f"{rel} imports {wanted - modules}, which the zip lacks"
    plugin_files = {n for n in names if not n.startswith("sar_narrator/vendor/")}
    assert "sar_narrator/__init__.py" in plugin_files and "sar_narrator/icon.svg" in plugin_files
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_metadata_says_what_qgis_needs(archive: zipfile.ZipFile) -> None:
    parser = configparser.ConfigParser()
    parser.read_string(archive.read("sar_narrator/metadata.txt").decode())
    general = parser["general"]
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["supportsQt6"] == "True"
    assert general["hasProcessingProvider"] == "yes"
    assert f"sar_narrator/{general['icon']}" in archive.namelist()
    for key in ("name", "description", "about", "version", "author", "email", "repository"):
        assert general[key].strip(), key


def test_the_plugin_imports_only_qgis_numpy_gdal_onnxruntime_tokenizers_and_the_runtime() -> None:
    stdlib = set(sys.stdlib_module_names)
    for path in PLUGIN.rglob("*.py"):
        for module in _imports(path.read_text()):
            top = module.split(".")[0]
            assert top in ALLOWED | stdlib, f"{path.name} imports {module}"
            assert top not in {"PyQt5", "PyQt6", "torch", "open_clip", "transformers"}


@pytest.fixture(scope="module")
def deps() -> ModuleType:
    sys.path.insert(0, str(PLUGIN.parent))
    try:
        return importlib.import_module("sar_narrator.deps")
    finally:
        sys.path.remove(str(PLUGIN.parent))


def test_requirements_pin_the_locked_versions_and_never_numpy(deps: ModuleType) -> None:
    lock = {
        line.split("==")[0].lower(): line.strip()
        for line in (REPO / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }
    pins = deps.pins()
    assert set(pins) == {d for dists in deps.PACKAGES.values() for d in dists}
    for name, pin in pins.items():
        assert pin == lock[name], f"requirements.txt pins {pin}, requirements.lock {lock[name]}"
    assert "numpy" not in pins


def test_the_installer_installs_without_dependencies_into_the_plugins_folder(
    deps: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    command = deps.install_command(["onnxruntime", "tokenizers"], tmp_path / "py3.11")
    assert command[1:4] == ["-m", "pip", "install"]
    assert "--no-deps" in command
    assert command[command.index("--target") + 1] == str(tmp_path / "py3.11")
    assert [c for c in command if "==" in c] == [
        deps.pins()[d] for d in ("onnxruntime", "flatbuffers", "protobuf", "tokenizers")
    ]
    assert not any(c.lower().startswith("numpy") for c in command)
    monkeypatch.setitem(deps.PACKAGES, "onnxruntime", ("onnxruntime", "numpy"))
    with pytest.raises(ValueError, match="never installs numpy"):
        deps.install_command(["onnxruntime"], tmp_path)
