"""Approximate FAISS search (HNSW, IVF): high recall against exact search, exact scores of its rows."""

from __future__ import annotations

import numpy as np
import pytest

from sargeo.runtime.search import Searcher


def _clustered(rows: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    """Unit vectors around ``clusters`` centres, varying mostly along a few directions, as image
    embeddings of similar tiles do."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    basis = rng.standard_normal((8, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, rows)] + 0.5 * rng.standard_normal((rows, 8)) @ basis
    x = (x + 0.1 * rng.standard_normal((rows, dim))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("backend", ["faiss-hnsw", "faiss-ivf"])
def test_approximate_search_finds_most_of_the_exact_top_k(backend: str) -> None:
    pytest.importorskip("faiss")
    data = _clustered(10040, 64, 50, 0)
    vectors, queries = data[:10000].astype(np.float16), data[10000:]  # queries held out
    k = 10
    _, exact = Searcher(vectors, "numpy").top_k(queries, k)
    scores, rows = Searcher(vectors, backend).top_k(queries, k)
    assert rows.shape == (40, k) and (rows >= 0).all()
    recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(rows, exact, strict=True)])
    assert recall >= 0.9, recall
    true = np.einsum("qd,qkd->qk", queries, vectors[rows].astype(np.float32))
    np.testing.assert_allclose(scores, true, atol=1e-4)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first


def test_ivf_returns_k_rows_even_when_the_probed_lists_hold_fewer() -> None:
    pytest.importorskip("faiss")
    vectors = _clustered(4000, 16, 8, 2)
    _, rows = Searcher(vectors, "faiss-ivf").top_k(vectors[:3], 1500)
    assert rows.shape == (3, 1500) and (rows >= 0).all()
    assert all(len(set(r)) == 1500 for r in rows)
