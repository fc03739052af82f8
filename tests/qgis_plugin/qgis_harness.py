"""Run a script inside QGIS's own Python (``/usr/bin/python3``) and get its JSON result back.

Tests run in the toolkit's venv, but QGIS's Python bindings live in the system Python (Debian numpy
1.24, no rasterio). So a QGIS-side check is a small script that defines ``main(args) -> dict``; the
harness runs it in a subprocess with a headless ``QgsApplication`` already initialised, and returns
the dict that ``main`` returned (written as JSON to a temporary file, so QGIS's own chatter on stdout
does not matter). Nothing is written into the repository: scripts, the result, the XDG runtime folder
and QGIS's profile all live in a temporary folder, and byte-code writing is off.

The subprocess sees the repository's QGIS-side code first on ``sys.path`` (the repository root for
``sargeo.runtime`` and ``sargeo.records``, and ``qgis_plugin/``), and ``.qgis-python/`` (the plugin's
extra packages, installed with ``pip --target --no-deps``) appended at the END of ``sys.path``, so
Debian's numpy stays in charge (see ENVIRONMENT.md).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
QGIS_PYTHON = Path(os.environ.get("SARGEO_QGIS_PYTHON", "/usr/bin/python3"))
QGIS_EXTRAS = REPO / ".qgis-python"
QGIS_CODE_PATHS: tuple[Path, ...] = (REPO, REPO / "qgis_plugin")
PROCESSING_PLUGINS = "/usr/share/qgis/python/plugins"

# Variables of the venv's process that must not leak into QGIS's Python (another GDAL/PROJ build).
_DROPPED_ENV = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "VIRTUAL_ENV",
    "GDAL_DATA",
    "GDAL_DRIVER_PATH",
    "PROJ_DATA",
    "PROJ_LIB",
)

# Runs in QGIS's Python: argv = [bootstrap, script, result_path, processing(0|1), *script_args].
_BOOTSTRAP = textwrap.dedent(
    """
    import gc, json, os, runpy, sys, traceback

    def _run():
        script, result_path, processing = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
        args = sys.argv[4:]
        for extra in os.environ.get("SARGEO_QGIS_APPEND_PATH", "").split(os.pathsep):
            if extra and extra not in sys.path:
                sys.path.append(extra)
        from qgis.core import QgsApplication

        app = QgsApplication([], False)
        app.initQgis()
        status = 0
        try:
            if processing:
                sys.path.append(os.environ["SARGEO_QGIS_PROCESSING_PLUGINS"])
                from processing.core.Processing import Processing

                Processing.initialize()
            sys.argv = [script, *args]
            namespace = runpy.run_path(script, run_name="__qgis_harness__")
            if not callable(namespace.get("main")):
                raise RuntimeError(script + " defines no main(args) function")
            result = namespace["main"](args)
            namespace.clear()
            with open(result_path + ".part", "w", encoding="utf-8") as out:
                json.dump(result, out)
            os.replace(result_path + ".part", result_path)
        except BaseException:
            traceback.print_exc()
            status = 1
        gc.collect()
        app.exitQgis()
        return status

    sys.exit(_run())
    """
)


class QgisRunError(AssertionError):
    """The script failed inside QGIS (exception, crash or timeout); the message has its stderr."""


@functools.cache
def qgis_unavailable_reason() -> str | None:
    """Why QGIS's Python cannot be used here, or None when ``import qgis.core`` works in it."""
    if not QGIS_PYTHON.exists():
        return f"QGIS's Python {QGIS_PYTHON} is absent (install qgis and python3-qgis)"
    try:
        proc = subprocess.run(
            [str(QGIS_PYTHON), "-c", "import qgis.core"],
            env=_qgis_env(Path(tempfile.gettempdir())),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{QGIS_PYTHON} cannot run 'import qgis.core' ({exc})"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return f"{QGIS_PYTHON} cannot import qgis.core (install python3-qgis): {last}"
    return None


def _qgis_env(workdir: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for QGIS's Python: headless Qt, private runtime/profile folders, our paths."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    runtime = workdir / "xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    profile = workdir / "qgis-profile"
    profile.mkdir(exist_ok=True)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_RUNTIME_DIR=str(runtime),
        QGIS_CUSTOM_CONFIG_PATH=str(profile),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONNOUSERSITE="1",
        PYTHONPATH=os.pathsep.join(str(p) for p in QGIS_CODE_PATHS),
        SARGEO_QGIS_APPEND_PATH=str(QGIS_EXTRAS),
        SARGEO_QGIS_PROCESSING_PLUGINS=PROCESSING_PLUGINS,
    )
    env.update(extra or {})
    return env


def run_in_qgis(
    script: str | Path,
    args: Sequence[str | os.PathLike[str]] = (),
    timeout: float = 120.0,
    *,
    processing: bool = False,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``main(args)`` of a script inside QGIS's Python and return the dict it returned.

    Args:
        script: A script file, or the script's source text (anything that is not an existing
            ``.py`` path is taken as source). It must define ``main(args: list[str]) -> dict``
            returning JSON-serialisable data; a ``QgsApplication`` is already initialised. Keep
            layers local to ``main`` (QGIS segfaults at exit if Python still holds them).
        args: Command-line arguments passed to ``main`` (as strings).
        timeout: Seconds before the subprocess is killed.
        processing: Initialise the Processing framework (``processing`` importable) first.
        env: Extra environment variables for the subprocess.

    Raises:
        QgisRunError: the script raised, QGIS crashed (non-zero exit) or the timeout passed.
    """
    with tempfile.TemporaryDirectory(prefix="sargeo-qgis-") as tmp:
        workdir = Path(tmp)
        if isinstance(script, Path) or (script.endswith(".py") and "\n" not in script):
            script_path = Path(script).resolve()
            if not script_path.is_file():
                raise FileNotFoundError(f"QGIS script {script_path} not found")
        else:
            script_path = workdir / "qgis_script.py"
            script_path.write_text(textwrap.dedent(script), encoding="utf-8")
        result_path = workdir / "result.json"
        command = [
            str(QGIS_PYTHON),
            "-c",
            _BOOTSTRAP,
            str(script_path),
            str(result_path),
            "1" if processing else "0",
            *(str(a) for a in args),
        ]
        try:
            proc = subprocess.run(
                command,
                env=_qgis_env(workdir, env),
                cwd=workdir,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise QgisRunError(
                f"{script_path.name} ran past {timeout:.0f} s in QGIS\n{_tail(exc.stderr)}"
            ) from exc
        if proc.returncode != 0 or not result_path.exists():
            raise QgisRunError(
                f"{script_path.name} failed in QGIS (exit code {proc.returncode})\n"
                f"--- stderr ---\n{_tail(proc.stderr)}\n--- stdout ---\n{_tail(proc.stdout)}"
            )
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        return result


def _tail(text: str | bytes | None, lines: int = 40) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "\n".join(text.strip().splitlines()[-lines:])
