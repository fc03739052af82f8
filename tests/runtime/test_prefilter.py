"""The int8 first pass of exact search: the same rows and scores as a plain float32 search."""

from __future__ import annotations

import numpy as np
import pytest

from sargeo.runtime.prefilter import GRAPH, Int8Prefilter, quantise_rows
from sargeo.runtime.search import Searcher


def _exact(vectors: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = q @ np.asarray(vectors, dtype=np.float32).T
    order = np.stack([np.lexsort((np.arange(len(s)), -s))[:k] for s in sims])
    return np.take_along_axis(sims, order, 1), order


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("k", [1, 10, 257])
def test_int8_first_pass_gives_the_exact_top_k(k: int) -> None:
    rng = np.random.default_rng(k)
    # clustered vectors (as tile embeddings are), exact duplicates (ties) and a zero row
    centres = _unit(rng, 5, 64)
    x = centres[rng.integers(0, 5, 3000)] + 0.2 * rng.standard_normal((3000, 64))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)
    x[100:110] = x[5]
    x[200] = 0
    queries = np.concatenate([_unit(rng, 6, 64), x[5:6].astype(np.float32)])
    scores, rows = Int8Prefilter(x, chunk=700).top_k(queries, k)
    want_scores, want_rows = _exact(x, queries, k)
    np.testing.assert_array_equal(rows, want_rows)
    np.testing.assert_allclose(scores, want_scores, rtol=0, atol=1e-6)
    assert list(rows[-1, :11]) == [5, *range(100, 110)][:k]  # ties ranked by row


def test_searcher_uses_it_and_streams_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    x = _unit(rng, 2000, 32).astype(np.float16)
    q = _unit(rng, 3, 32)
    resident = Searcher(x, "numpy")
    assert resident.resident
    got = resident.top_k(q, 7)
    monkeypatch.setattr("sargeo.runtime.search.RESIDENT_LIMIT", 1000)
    streamed = Searcher(x, "numpy")
    assert not streamed.resident
    expected = streamed.top_k(q, 7)
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_allclose(got[0], expected[0], atol=1e-6)


def test_codes_bound_each_coordinate() -> None:
    x = _unit(np.random.default_rng(2), 50, 16)
    codes, scale, l1 = quantise_rows(x)
    assert np.all(np.abs(x - scale[:, None] * codes) <= scale[:, None] / 2 + 1e-7)
    np.testing.assert_array_equal(l1, np.abs(codes.astype(np.int32)).sum(axis=1))


def test_the_stored_graph_is_the_one_onnx_builds() -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    q = helper.make_tensor_value_info("q", TensorProto.UINT8, [None, None])
    v = helper.make_tensor_value_info("v", TensorProto.INT8, [None, None])
    y = helper.make_tensor_value_info("y", TensorProto.INT32, [None, None])
    node = helper.make_node("MatMulInteger", ["q", "v"], ["y"])
    graph = helper.make_graph([node], "int8_product", [q, v], [y])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="sargeo"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    assert model.SerializeToString() == GRAPH
