"""``sargeo demo``: the whole chain on synthetic SAR, from nothing to a map, in minutes on a CPU.

A tiny training corpus (``sargeo corpus build``), the tiny models trained on it (``sargeo train``),
exported to bundles (``sargeo export``), a georeferenced scene indexed and searched with text
(``sargeo index``, ``sargeo search``), captioned and questioned where those models are built
(``sargeo caption``, ``sargeo ask``), and a PNG map of the results. Every step is the command a user
would run, so the demo's folder shows what each writes.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from pathlib import Path

from sargeo.atomic import atomic_dir

QUERIES = ("ships near a harbour", "open water")
# a 10 km Sentinel-1-like coastal scene: sea, a harbour, farmland and town, 81 ships and other objects
SCENE_ARGS = ("--scenes", "1", "--size", "1024", "--sensor", "sentinel-1-iw", "--seed", "1")
TILE = "128"  # the tiny corpus's Sentinel-1 tiles


Command = Callable[[list[str]], int]  # sargeo's CLI entry point: argv in, exit code out


def _sargeo(main: Command, argv: list[str], progress: bool) -> str:
    """Run one sargeo command in this process; its printed report, or an error naming the step."""
    argv = [*argv, *([] if progress else ["-q"])]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(argv)
    if code != 0:
        raise RuntimeError(f"demo step 'sargeo {' '.join(argv)}' failed with exit code {code}")
    return buffer.getvalue()


def _bundled(task: str) -> bool:
    """Whether this version trains ``task`` and exports it to a bundle (the demo runs bundles)."""
    from sargeo.cli_bundles import EXPORTABLE
    from sargeo.train.tasks import TASKS

    return task in TASKS and task in EXPORTABLE


def run_demo(main: Command, output: Path, *, overwrite: bool = False, progress: bool = True) -> str:
    """Run the chain into ``output`` with the CLI entry ``main``; returns a printable report."""
    lines: list[str] = []
    with atomic_dir(output, inputs=(), overwrite=overwrite) as tmp:

        def step(title: str, argv: list[str], keep: Callable[[str], bool] = bool) -> None:
            lines.append(title)
            report = _sargeo(main, argv, progress).replace(str(tmp), str(output))
            lines.extend("  " + line for line in report.splitlines() if keep(line))

        corpus, scene = tmp / "corpus", tmp / "scene" / "scene_0000" / "sar.tif"
        step("[1] training corpus (synthetic, tiny recipe)",
             ["corpus", "build", "-o", str(corpus), "--recipe", "tiny"])  # fmt: skip
        models = [m for m in ("clip", "coca", "gpt") if m == "clip" or _bundled(m)]
        for model in models:
            step(f"[2] train the tiny {model} model",
                 ["train", model, "--recipe", f"{model}-tiny", "--corpus", str(corpus),
                  "-o", str(tmp / "runs" / model)],
                 keep=lambda line: "written" in line or "final" in line)  # fmt: skip
            step(f"[3] export the {model} bundle",
                 ["export", model, str(tmp / "runs" / model), "-o", str(tmp / "export" / model)])  # fmt: skip
        step(
            "[4] a georeferenced scene to search", ["synth", "-o", str(tmp / "scene"), *SCENE_ARGS]
        )
        clip = str(tmp / "export" / "clip")
        step("[5] index its tiles",
             ["index", str(scene), "--bundle", clip, "-o", str(tmp / "index"), "--size", TILE])  # fmt: skip
        (tmp / "queries.txt").write_text("\n".join(QUERIES) + "\n")
        step("[6] text search",
             ["search", str(tmp / "index"), "--queries", str(tmp / "queries.txt"), "--bundle", clip,
              "-k", "5", "-o", str(tmp / "search.gpkg"), "--heatmap", str(tmp / "heatmap.tif")])  # fmt: skip
        if "coca" in models:
            step("[7] caption the scene's tiles",
                 ["caption", str(scene), "--bundle", str(tmp / "export" / "coca"), "--size", TILE,
                  "-o", str(tmp / "captions.gpkg")])  # fmt: skip
        if "gpt" in models:
            step("[8] ask about the scene",
                 ["ask", str(scene), "how many ships are there?", "--bundle",
                  str(tmp / "export" / "gpt"), "-o", str(tmp / "answers.gpkg")])  # fmt: skip
        from sargeo.demo_map import draw_map

        draw_map(scene, tmp / "search.gpkg", tmp / "heatmap.tif", tmp / "map.png",
                 captions=tmp / "captions.gpkg")  # fmt: skip
        lines.append("[9] map of the results: map.png")
    missing = [m for m in ("coca", "gpt") if m not in models]
    if missing:
        lines.append(f"(not in this version yet: {', '.join(missing)}; their steps were skipped)")
    lines += [
        "",
        f"open {output / 'map.png'}, or {output / 'search.gpkg'} over "
        f"{output / 'scene' / 'scene_0000' / 'sar.tif'} in QGIS",
    ]
    return "\n".join(lines)
