"""Exact top-k search: numpy in memory, numpy streamed in chunks and FAISS agree with a full sort."""

from __future__ import annotations

import numpy as np
import pytest

from sargeo.errors import OptionError
from sargeo.runtime import search as search_module
from sargeo.runtime.search import Searcher


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _truth(vectors: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ vectors.astype(np.float32).T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, 1), order


@pytest.mark.parametrize("backend", ["numpy", "faiss"])
def test_top_k_is_exact(backend: str) -> None:
    if backend == "faiss":
        pytest.importorskip("faiss")
    vectors = _unit(5000, 48, 0).astype(np.float16)
    queries = _unit(3, 48, 1)
    scores, rows = Searcher(vectors, backend).top_k(queries, 7)
    want_scores, want_rows = _truth(vectors, queries, 7)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)


def test_streamed_chunks_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """An index too large to hold in float32 is searched chunk by chunk, with the same answer."""
    vectors = _unit(3000, 16, 2).astype(np.float16)
    queries = _unit(2, 16, 3)
    monkeypatch.setattr(search_module, "RESIDENT_LIMIT", 0)
    monkeypatch.setattr(search_module, "CHUNK_ROWS", 257)
    searcher = Searcher(vectors, "numpy")
    assert not searcher.resident
    _, rows = searcher.top_k(queries, 12)
    np.testing.assert_array_equal(rows, _truth(vectors, queries, 12)[1])
    np.testing.assert_allclose(
        searcher.scores(queries), queries @ vectors.astype(np.float32).T, rtol=1e-6
    )


def test_small_indexes_and_bad_k() -> None:
    vectors = _unit(3, 8, 4)
    scores, rows = Searcher(vectors).top_k(vectors[1], 10)
    assert rows.shape == (1, 3) and rows[0, 0] == 1 and scores[0, 0] == pytest.approx(1.0)
    with pytest.raises(OptionError, match="`k` must be at least 1"):
        Searcher(vectors).top_k(vectors[0], 0)
    with pytest.raises(OptionError, match="`backend`"):
        Searcher(vectors, "annoy")


def test_equal_scores_rank_by_row() -> None:
    vectors = np.tile(_unit(1, 8, 5), (6, 1))
    _, rows = Searcher(vectors).top_k(vectors[0], 6)
    assert rows.tolist() == [[0, 1, 2, 3, 4, 5]]
