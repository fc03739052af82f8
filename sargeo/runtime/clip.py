"""A CLIP bundle at work: image and text embeddings through ONNX Runtime, unit length.

Sessions open on first use, so a caller that only embeds text never loads the image encoder. Text
embeddings of a query average its prompt templates (``bundle.json`` → ``prompts.search``; ``{}`` is
the query) and are normalised again, the usual CLIP prompt ensembling.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.runtime.bundle import Bundle
from sargeo.runtime.sessions import open_session
from sargeo.runtime.tokenizer import TextTokenizer, check_texts, load_tokenizer

Vectors = npt.NDArray[np.float32]


def normalise_rows(x: npt.ArrayLike) -> Vectors:
    """Rows scaled to unit length (zero rows stay zero)."""
    v = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(norm, np.float32(1e-12))).astype(np.float32)


class ClipModel:
    """The two encoders of a ``clip`` bundle.

    Args:
        bundle: A loaded bundle of task ``clip``.
        threads: Intra-op threads per session (default: all cores).
    """

    def __init__(self, bundle: Bundle, threads: int | None = None) -> None:
        bundle.require_task("clip")
        self.bundle = bundle
        self.threads = threads
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._tokenizer: TextTokenizer | None = None

    def session(self, role: str) -> Any:
        """The ONNX Runtime session of a graph role, opened once."""
        with self._lock:
            if role not in self._sessions:
                self._sessions[role] = open_session(self.bundle.path(role), self.threads)
            return self._sessions[role]

    @property
    def tokenizer(self) -> TextTokenizer:
        """The bundle's tokenizer, loaded once."""
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.bundle.tokenizer, self.bundle.root)
        return self._tokenizer

    def embed_images(self, pixels: npt.ArrayLike) -> Vectors:
        """Unit embeddings (N, D) of prepared images (N, 3, size, size), as `prepare` makes them."""
        batch = np.ascontiguousarray(pixels, dtype=np.float32)
        graph = self.bundle.graphs["image_encoder"]
        out = self.session("image_encoder").run(None, {graph.inputs[0].name: batch})[0]
        return normalise_rows(out)

    def embed_tokens(self, ids: npt.ArrayLike) -> Vectors:
        """Unit embeddings (N, D) of token ids (N, context)."""
        graph = self.bundle.graphs["text_encoder"]
        feed = {graph.inputs[0].name: np.ascontiguousarray(ids, dtype=np.int64)}
        return normalise_rows(self.session("text_encoder").run(None, feed)[0])

    def templates(self, purpose: str = "search") -> list[str]:
        """The prompt templates of a purpose (``["{}"]`` when the bundle names none)."""
        found = self.bundle.prompts.get(purpose) or ["{}"]
        return [found] if isinstance(found, str) else [str(t) for t in found]

    def embed_texts(self, texts: Sequence[str], purpose: str = "search") -> Vectors:
        """Unit embeddings (N, D) of queries, each averaged over the purpose's prompt templates.

        Raises:
            InputError: for an empty query or one longer than the model's context.
        """
        texts = [str(t).strip() for t in texts]
        templates = self.templates(purpose)
        filled = [template.replace("{}", text) for text in texts for template in templates]
        check_texts(self.tokenizer, texts)
        check_texts(self.tokenizer, filled, "query with its prompt template")
        vectors = self.embed_tokens(self.tokenizer.encode(filled))
        mean = vectors.reshape(len(texts), len(templates), -1).mean(axis=1)
        return normalise_rows(mean)
