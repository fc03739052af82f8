"""Training logs: ``log.csv`` (one row per logged step), ``eval.csv`` (one row per evaluation) and
``curves.png`` (loss and metrics against the step), all rewritten atomically from rows kept in memory
and in checkpoints, so a resumed run's logs continue exactly where its checkpoint left them.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sargeo.atomic import atomic_file

Row = dict[str, Any]


def write_csv(path: Path, rows: Sequence[Row]) -> None:
    """Write rows (union of their keys as columns, first-seen order) atomically."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    with atomic_file(path) as tmp:
        tmp.write_text(buffer.getvalue())


def plot_curves(
    path: Path, train_rows: Sequence[Row], eval_rows: Sequence[Row], title: str
) -> None:
    """Loss (and learning rate) per step on the left, evaluation metrics on the right; PNG, atomic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    if train_rows:
        steps = [r["step"] for r in train_rows]
        left.plot(steps, [r["loss"] for r in train_rows], label="loss", color="tab:blue")
        left.set_xlabel("step")
        left.set_ylabel("loss")
        lr_axis = left.twinx()
        lr_axis.plot(steps, [r["lr"] for r in train_rows], color="tab:gray", lw=0.8, label="lr")
        lr_axis.set_ylabel("learning rate")
        for row, nxt in itertools.pairwise(train_rows):
            if nxt["stage"] != row["stage"]:
                left.axvline(row["step"], color="k", lw=0.6, ls=":")
    metrics = [k for k in (eval_rows[0] if eval_rows else {}) if k not in ("step", "stage")]
    for key in metrics:
        right.plot(
            [r["step"] for r in eval_rows], [r[key] for r in eval_rows], marker="o", label=key
        )
    right.set_xlabel("step")
    right.set_ylabel("metric (%)")
    if metrics:
        right.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
