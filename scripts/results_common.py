"""What the `make_results*` scripts share: running sargeo, scaled recipes, side-by-side training and
writing one section of ``docs/results.md``.

Each model family (CLIP, CoCa, SAR-GPT) owns one section of the page, between the markers
``<!-- results:NAME -->`` and ``<!-- /results:NAME -->``, so regenerating one family's results
leaves the others as they were.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
RECIPES = REPO / "sargeo" / "train" / "recipes"
SARGEO = [sys.executable, "-m", "sargeo"]
PAGE = REPO / "docs" / "results.md"


def run(argv: list[str]) -> str:
    """Run a sargeo command; stop with its message if it fails."""
    done = subprocess.run([*SARGEO, *argv], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"sargeo {' '.join(argv)} failed:\n{done.stderr}")
    return done.stdout


def run_module(module: str, argv: list[str]) -> str:
    """Run ``python -m module``; stop with its message if it fails."""
    done = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{module} {' '.join(argv)} failed:\n{done.stderr}")
    return done.stdout


def scaled_recipe(source: str, name: str, scale: float, out: Path, untrained: bool = False) -> Path:
    """A shipped recipe with every stage's steps times ``scale``, written to ``out/name.json``.

    ``untrained`` keeps one step of the first stage at learning rate 1e-12 (the smallest step the
    trainer takes: weights move by about 1e-12), the "pretrained towers, no SAR training" row.
    """
    recipe = json.loads((RECIPES / source).read_text())
    recipe["name"] = f"results-{name}"
    for stage in recipe["stages"]:
        stage["steps"] = max(1, round(stage["steps"] * scale))
        stage["warmup"] = min(stage.get("warmup", 0), stage["steps"] // 4)
    if untrained:
        recipe["stages"] = recipe["stages"][:1]
        recipe["stages"][0].update(steps=1, warmup=0, lr=1e-12, min_lr=1e-12, weight_decay=0.0)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(recipe, indent=2))
    return path


def train_side_by_side(jobs: dict[str, list[str]], work: Path) -> dict[str, float]:
    """Run the ``sargeo train`` argument lists of ``jobs`` at once (each run to ``work/runs/NAME``,
    skipped when its ``final`` exists); returns every run's wall time, also kept in
    ``work/train_seconds.json``."""
    pending = {m: a for m, a in jobs.items() if not (work / "runs" / m / "final").exists()}
    logs = {m: work / f"train-{m}.log" for m in pending}
    start = time.perf_counter()
    procs = {
        m: subprocess.Popen(
            [*SARGEO, "train", *argv, "-o", str(work / "runs" / m), "-q"],
            stdout=subprocess.DEVNULL,
            stderr=logs[m].open("w"),
        )
        for m, argv in pending.items()
    }
    seconds: dict[str, float] = {}
    while len(seconds) < len(procs):
        for m, proc in procs.items():
            if m not in seconds and proc.poll() is not None:
                seconds[m] = time.perf_counter() - start
                if proc.returncode != 0:
                    sys.exit(f"training {m} failed:\n{logs[m].read_text()}")
        time.sleep(1)
    times = work / "train_seconds.json"
    known = json.loads(times.read_text()) if times.exists() else {}
    times.write_text(json.dumps({**known, **seconds}, indent=1))
    return {**known, **seconds}


def known_seconds(work: Path) -> dict[str, float]:
    """The training wall times recorded by `train_side_by_side` (empty when none)."""
    times = work / "train_seconds.json"
    loaded: dict[str, float] = json.loads(times.read_text()) if times.exists() else {}
    return loaded


def cached_json(path: Path, make: Any) -> Any:
    """``path``'s JSON, made first by calling ``make()`` (which writes it) when it is missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        make()
    return json.loads(path.read_text())


def write_section(page: Path, name: str, lines: list[str]) -> None:
    """Replace the ``name`` section of ``page`` with ``lines`` (appended when the page lacks it)."""
    begin, end = f"<!-- results:{name} -->", f"<!-- /results:{name} -->"
    body = "\n".join([begin, *lines, end])
    text = page.read_text() if page.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + body + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + body + "\n"
    page.write_text(text)


def cell(value: float | None, digits: int = 1) -> str:
    """A table cell: fixed decimals, 'n/a' for a figure that could not be computed."""
    return "n/a" if value is None else f"{value:.{digits}f}"
