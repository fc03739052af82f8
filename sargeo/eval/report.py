"""Printing metric tables: aligned plain-text columns, 'n/a' for a figure that could not be computed."""

from __future__ import annotations

import math
from collections.abc import Sequence


def figure(value: float | None, digits: int = 4) -> str:
    """A metric value for a table: fixed decimals, 'n/a' for None or NaN (never 0)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under a header, each column padded to its widest cell (the last column is not)."""
    cells = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(header))]
    lines = []
    for row in cells:
        padded = [c.ljust(widths[i]) if i < len(row) - 1 else c for i, c in enumerate(row)]
        lines.append("  ".join(padded).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
