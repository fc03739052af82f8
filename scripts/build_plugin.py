"""Build the QGIS plugin zip: ``qgis_plugin/sar_narrator`` plus a vendored copy of ``sargeo.runtime``.

The zip installs through QGIS's "Install from ZIP": one top folder ``sar_narrator/`` with the plugin's
files and ``vendor/sargeo/`` (the runtime and the two toolkit modules it imports, copied byte for byte;
`tests/qgis_plugin/test_plugin_package.py` checks they equal the source). ``make plugin`` runs it.

Usage: ``python scripts/build_plugin.py [-o dist/sar_narrator-VERSION.zip]``
"""

from __future__ import annotations

import argparse
import configparser
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "qgis_plugin" / "sar_narrator"
NAME = PLUGIN.name
VENDORED_MODULES = ("sargeo/__init__.py", "sargeo/errors.py", "sargeo/atomic.py")
VENDORED_PACKAGES = ("sargeo/runtime",)
SKIPPED = ("__pycache__", ".pyc", ".mypy_cache", ".pytest_cache")


def version() -> str:
    """The plugin version of ``metadata.txt``."""
    parser = configparser.ConfigParser()
    parser.read(PLUGIN / "metadata.txt", encoding="utf-8")
    return parser["general"]["version"]


def vendored_files(repo: Path = REPO) -> list[str]:
    """Paths (relative to the repository) of the toolkit files the plugin vendors."""
    files = list(VENDORED_MODULES)
    for package in VENDORED_PACKAGES:
        files += sorted(p.relative_to(repo).as_posix() for p in (repo / package).glob("*.py"))
    return files


def plugin_files(plugin: Path = PLUGIN) -> list[Path]:
    """The plugin's own files (no caches, no vendor or dependency folders of a checkout)."""
    return sorted(
        p
        for p in plugin.rglob("*")
        if p.is_file()
        and not any(s in p.as_posix() for s in SKIPPED)
        and p.relative_to(plugin).parts[0] not in ("vendor", "deps")
    )


def build(output: Path) -> Path:
    """Write the zip at ``output`` (replaced if present); returns it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in plugin_files():
            archive.write(path, f"{NAME}/{path.relative_to(PLUGIN).as_posix()}")
        for rel in vendored_files():
            archive.write(REPO / rel, f"{NAME}/vendor/{rel}")
    partial.replace(output)
    return output


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-o", "--output", type=Path, default=REPO / "dist" / f"{NAME}-{version()}.zip"
    )
    args = parser.parse_args(argv)
    path = build(args.output)
    with zipfile.ZipFile(path) as archive:
        count = len(archive.namelist())
    print(f"plugin zip: {path} ({count} files, {path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
