"""Write the int8 section of ``docs/results.md`` from int8 bundles' own records.

An int8 export (`sargeo export coca|gpt RUN --int8`) measures its captions or answers against the fp32
graphs on the run's test split and keeps the figures in ``bundle.json`` (``metrics.export.int8``);
this script only gathers them, with each graph's size and how it was quantised.

    .venv/bin/python scripts/make_results_int8.py export/sar-rs-coca-lite-int8 export/sar-gpt-lite-int8
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from results_common import PAGE, write_section


def _figures(side: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in side.items() if v is not None) or "n/a"


def rows(bundle: Path) -> tuple[str, list[str]]:
    """One table row of the bundle's measured change, and a line per graph."""
    meta = json.loads((bundle / "bundle.json").read_text())
    change = meta.get("metrics", {}).get("export", {}).get("int8")
    if change is None:
        raise SystemExit(f"{bundle}: no int8 record in bundle.json (export it with --int8)")
    what = f"{change.get('images', 0)} test images"
    if "questions" in change:
        what += f", {change['questions']} closed questions"
    if change.get("fp32") is None:
        measured = f"n/a ({change.get('unavailable', 'no reference data')})"
        row = f"| {meta['name']} | {what} | {100 * change['identical']:.0f} % | {measured} | | |"
    else:
        row = (
            f"| {meta['name']} | {what} | {100 * change['identical']:.0f} % | "
            f"{_figures(change['fp32'])} | {_figures(change['int8'])} | "
            f"{_figures(change['change'])} |"
        )
    graphs = []
    for name, graph in meta["graphs"].items():
        q = graph.get("quantisation") or {}
        size = f"{q['fp32_bytes'] / 1e6:.1f} -> {graph['bytes'] / 1e6:.1f} MB" if q else ""
        how = q.get("method", "fp32")
        note = f" ({q['note']})" if q.get("note") else ""
        graphs.append(f"- `{meta['name']}` {name}: {how} {size}{note}")
    return row, graphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+", type=Path, help="int8 bundle folders")
    parser.add_argument("--page", type=Path, default=PAGE)
    args = parser.parse_args()
    table = [
        "| bundle | measured on | identical to fp32 | fp32 | int8 | change |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    notes: list[str] = []
    for bundle in args.bundles:
        row, graphs = rows(bundle)
        table.append(row)
        notes += graphs
    lines = [
        "## int8 bundles against fp32",
        "",
        "Made by `scripts/make_results_int8.py` from the records `sargeo export ... --int8` keeps in",
        "`bundle.json`: captions (beam 3) or answers (greedy) of the int8 graphs against the fp32 graphs",
        "of the same run on its corpus's test split. CoCa: BLEU-4 and CIDEr-D on pycocoevalcap's 0-1 and",
        "0-10 scales; SAR-GPT: accuracy over the closed questions. The runs are those of the sections",
        "above (CoCa progressive, SAR-GPT two-stage).",
        "",
        *table,
        "",
        "How each graph was quantised:",
        "",
        *notes,
        "",
    ]
    write_section(args.page, "int8", lines)
    print(f"wrote the int8 section of {args.page}")


if __name__ == "__main__":
    main()
