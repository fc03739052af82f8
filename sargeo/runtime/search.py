"""Top-k search of unit query vectors among stored unit vectors: exact in numpy, FAISS when asked.

Stored vectors are float16 on disk (memory-mapped). The numpy searcher keeps int8 codes of them in
memory and answers a query exactly through an int8 first pass with a per-row error bound, then the
float scores of the few rows the bound cannot rule out (`sargeo.runtime.prefilter`): a quarter of the
bytes of a float32 pass, which is what bounds exact search (1.5 GB per pass for a million 384-d vectors
in float32). Indexes larger than `RESIDENT_LIMIT` are streamed in float32 chunks instead, in bounded
memory (a sharded index's `ShardedVectors` reads each chunk from its shards, so chunks cross shard
boundaries and the top-k merge is the same). With ``backend="faiss"`` (``faiss-cpu`` installed) a flat inner-product index gives the same
exact results through FAISS's own kernels. Among the rows kept, equal scores rank by row number.

For tens of millions of vectors two approximate FAISS backends trade recall for speed:
``faiss-hnsw`` (a graph, `HNSW_M` links per vector, no training) and ``faiss-ivf`` (vectors in
about 4 sqrt(N) clusters, `IVF_PROBES` of them searched per query). Their recall against exact search
is measured by ``benchmarks/bench_scale.py``; their scores are exact inner products of the rows found.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import OptionError
from sargeo.runtime.prefilter import Int8Prefilter
from sargeo.runtime.sessions import MissingPackageError, require
from sargeo.runtime.shards import ShardedVectors, read_rows

RESIDENT_LIMIT = 2 << 30
"""Bytes of int8 codes kept in memory; above this the numpy searcher streams float32 chunks."""

CHUNK_ROWS = 65536
BACKENDS = ("auto", "numpy", "faiss", "faiss-hnsw", "faiss-ivf")
APPROXIMATE = ("faiss-hnsw", "faiss-ivf")
HNSW_M = 32
HNSW_EF_SEARCH = 128
IVF_PROBES = 32
IVF_TRAIN_PER_LIST = 64
"""Training rows per IVF cluster (FAISS warns below 39)."""

Scores = npt.NDArray[np.float32]
Rows = npt.NDArray[np.int64]


def _merge_top(
    best: tuple[Scores, Rows] | None, scores: Scores, rows: Rows, k: int
) -> tuple[Scores, Rows]:
    """Keep the k best (highest score, then lowest row) of the running best and a new block."""
    if best is not None:
        scores = np.concatenate([best[0], scores], axis=1)
        rows = np.concatenate([best[1], rows], axis=1)
    order = np.lexsort((rows, -scores), axis=1)[:, :k]
    return np.take_along_axis(scores, order, 1), np.take_along_axis(rows, order, 1)


def _block_top(sims: Scores, offset: int, k: int) -> tuple[Scores, Rows]:
    """The k best columns of each row of ``sims`` (queries x rows of this block)."""
    n = sims.shape[1]
    if n > k:
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n), sims.shape).copy()
    return np.take_along_axis(sims, part, 1), part.astype(np.int64) + offset


class Searcher:
    """Exact top-k over stored vectors (N, D), float16 or float32.

    Args:
        vectors: The stored unit vectors (a memory map or a sharded index's vectors is fine).
        backend: ``numpy``, ``faiss``, or ``auto`` (FAISS when installed, else numpy).
    """

    def __init__(self, vectors: npt.NDArray[Any] | ShardedVectors, backend: str = "numpy") -> None:
        if backend not in BACKENDS:
            raise OptionError("backend", f"must be one of {', '.join(BACKENDS)}, got {backend!r}")
        self.vectors = vectors
        self.backend = backend
        if backend == "auto":
            try:
                require("faiss")
                self.backend = "faiss"
            except MissingPackageError:
                self.backend = "numpy"
        self._prefilter: Int8Prefilter | None = None
        self._faiss: Any = None

    @property
    def resident(self) -> bool:
        """Whether the numpy searcher keeps int8 codes in memory (else it streams float32 chunks)."""
        rows, dim = self.vectors.shape
        return rows * dim <= RESIDENT_LIMIT

    def _faiss_index(self) -> Any:
        """An empty FAISS index of the backend (trained on a sample for IVF)."""
        faiss = require("faiss")
        rows, dim = self.vectors.shape
        if self.backend == "faiss-hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = HNSW_EF_SEARCH
            return index
        if self.backend == "faiss-ivf":
            lists = max(1, min(int(4 * rows**0.5), rows // IVF_TRAIN_PER_LIST))
            index = faiss.IndexIVFFlat(
                faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT
            )
            take = np.random.default_rng(0).choice(rows, min(rows, lists * 256), replace=False)
            index.train(np.ascontiguousarray(self.vectors[np.sort(take)], dtype=np.float32))
            index.nprobe = min(lists, IVF_PROBES)
            return index
        return faiss.IndexFlatIP(dim)

    def prepare(self) -> None:
        """Do the one-off work (float32 copy or FAISS index) now rather than on the first query."""
        if self.backend.startswith("faiss") and self._faiss is None:
            self._faiss = self._faiss_index()
            for start in range(0, len(self.vectors), CHUNK_ROWS):
                self._faiss.add(read_rows(self.vectors, start, start + CHUNK_ROWS))
        elif self.backend == "numpy" and self.resident and self._prefilter is None:
            self._prefilter = Int8Prefilter(self.vectors, CHUNK_ROWS)

    def top_k(self, queries: npt.ArrayLike, k: int) -> tuple[Scores, Rows]:
        """The k best rows per query: (scores, row numbers), each (Q, min(k, N)), best first."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if k < 1:
            raise OptionError("k", f"must be at least 1, got {k}")
        k = min(k, len(self.vectors))
        if k == 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        self.prepare()
        if self.backend.startswith("faiss"):
            scores, rows = self._faiss.search(q, k)
            if self.backend == "faiss-ivf" and (rows < 0).any():  # fewer than k in the probed lists
                self._faiss.nprobe = self._faiss.nlist
                scores, rows = self._faiss.search(q, k)
            return _merge_top(None, scores.astype(np.float32), rows.astype(np.int64), k)
        if self._prefilter is not None:
            return self._prefilter.top_k(q, k)
        best: tuple[Scores, Rows] | None = None
        for start in range(0, len(self.vectors), CHUNK_ROWS):
            block = read_rows(self.vectors, start, start + CHUNK_ROWS)
            best = _merge_top(best, *_block_top(q @ block.T, start, k), k)
        assert best is not None
        return best

    def scores(self, queries: npt.ArrayLike) -> Scores:
        """Every row's score per query (Q, N), for heatmaps; chunked, float32."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        out = np.empty((len(q), len(self.vectors)), dtype=np.float32)
        for start in range(0, len(self.vectors), CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, len(self.vectors))
            out[:, start:stop] = q @ read_rows(self.vectors, start, stop).T
        return out
