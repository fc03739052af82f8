"""Parity between a graph and the torch model it came from: export fails loudly when they differ.

Embeddings are compared as unit vectors: the largest absolute difference of any component and the
smallest cosine between matching rows. fp32 graphs must agree to float rounding; int8 graphs to a
cosine that keeps rankings (their retrieval change is measured separately, in mR).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sargeo.errors import SargeoError


@dataclass(frozen=True)
class Tolerance:
    """Limits one comparison must meet."""

    max_abs: float
    min_cosine: float


FP32 = Tolerance(max_abs=1e-4, min_cosine=0.9999)
INT8 = Tolerance(max_abs=0.25, min_cosine=0.95)


class ParityError(SargeoError):
    """An exported graph does not compute what the torch model computes."""


def compare(reference: npt.ArrayLike, candidate: npt.ArrayLike) -> dict[str, float]:
    """Max absolute difference and min/mean cosine of matching rows."""
    ref = np.asarray(reference, dtype=np.float64)
    got = np.asarray(candidate, dtype=np.float64)
    if ref.shape != got.shape:
        raise ParityError(f"shapes differ: torch {ref.shape}, onnx {got.shape}")
    norms = np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1)
    cosine = (ref * got).sum(axis=1) / np.maximum(norms, 1e-12)
    return {
        "max_abs_diff": float(np.abs(ref - got).max()) if ref.size else 0.0,
        "min_cosine": float(cosine.min()) if len(cosine) else 1.0,
        "mean_cosine": float(cosine.mean()) if len(cosine) else 1.0,
        "rows": len(ref),
    }


def check(role: str, results: Mapping[str, Mapping[str, float]], limit: Tolerance) -> None:
    """Raise `ParityError` naming the graph and input set whose figures break ``limit``."""
    for inputs, figures in results.items():
        if figures["max_abs_diff"] > limit.max_abs or figures["min_cosine"] < limit.min_cosine:
            raise ParityError(
                f"parity failed: the {role} graph differs from torch on {inputs} inputs (max |diff|"
                f" {figures['max_abs_diff']:.3g} > {limit.max_abs:g} or min cosine"
                f" {figures['min_cosine']:.6f} < {limit.min_cosine}); no bundle was written"
            )
