"""A SAR-GPT bundle at work: answers through ONNX Runtime and `sargeo.runtime.decoding` (numpy).

The ``vision_encoder`` graph turns prepared pixels into the image's slot embeddings (tower and
projector). The prompt's ids (`sargeo.runtime.gpt_text`) become embeddings through the bundle's token
table, the image slots filled with the image's. The ``lm_step`` graph runs new positions against a
key-value cache: the first step the whole prompt (after one masked dummy position, the shortest cache
the exporter allows), each later step one token. Greedy search stops at the bundle's stop tokens or
after its ``max_new_tokens``, as `sargeo.models.gpt.generate` does for the torch model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError
from sargeo.runtime.bundle import Bundle, BundleError
from sargeo.runtime.decoding import DecodeSettings, greedy_search
from sargeo.runtime.gpt_text import GptText
from sargeo.runtime.sessions import open_session

Cache = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]


@dataclass(frozen=True)
class Answered:
    """One generated answer: text, token ids and why decoding ended."""

    text: str
    tokens: tuple[int, ...]
    reason: str


class GptModel:
    """The two graphs, token table and chat prompt of a ``gpt`` bundle.

    Args:
        bundle: A loaded bundle of task ``gpt``.
        threads: Intra-op threads per session (default: all cores).
    """

    def __init__(self, bundle: Bundle, threads: int | None = None) -> None:
        bundle.require_task("gpt")
        self.bundle = bundle
        self.threads = threads
        meta = bundle.meta
        try:
            self.cache = tuple(int(v) for v in meta["cache"])  # layers, kv heads, head dim
            self.stop_tokens = tuple(int(t) for t in meta["stop_tokens"])
            self.max_new_tokens = int(meta["max_new_tokens"])
            table_file = str(bundle.tokenizer.options["embeddings"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"bundle {bundle.root}: incompletely described ({exc})") from exc
        self.text = GptText(bundle.root, bundle.tokenizer, dict(meta.get("chat", {})))
        self.table: npt.NDArray[np.float32] = np.load(bundle.root / table_file).astype(np.float32)
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        """The bundle's model name."""
        return self.bundle.name

    def session(self, role: str) -> Any:
        """The ONNX Runtime session of a graph role, opened once."""
        with self._lock:
            if role not in self._sessions:
                self._sessions[role] = open_session(self.bundle.path(role), self.threads)
            return self._sessions[role]

    def image_embeddings(self, pixels: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Prepared pixels (N, 3, S, S) -> slot embeddings (N, slots, width)."""
        batch = np.ascontiguousarray(pixels, dtype=np.float32)
        out: npt.NDArray[np.float32] = self.session("vision_encoder").run(None, {"images": batch})[
            0
        ]
        return out

    def prompt_step(
        self, image_embeds: npt.NDArray[np.float32], question: str
    ) -> tuple[
        list[int], Callable[[Cache | None, npt.NDArray[np.int64]], tuple[np.ndarray, Cache]]
    ]:
        """The prompt's ids for ``question`` about one image's slot embeddings (slots, width), and
        the decoding step of `sargeo.runtime.decoding` over them (state: the key-value cache)."""
        ids, image = self.text.prompt(question)
        prompt = self.table[np.asarray(ids)].copy()
        prompt[np.asarray(image)] = image_embeds
        n = len(ids)
        layers, heads, head_dim = self.cache
        step = self.session("lm_step")

        def run(state: Cache | None, tokens: npt.NDArray[np.int64]) -> tuple[np.ndarray, Cache]:
            if state is None:  # one masked dummy position, then the whole prompt
                empty = np.zeros((layers, 1, heads, 1, head_dim), np.float32)
                past_k, past_v = empty, empty
                embeds, positions = prompt[None], np.arange(n)[None]
            else:
                past_k, past_v = state
                embeds, positions = self.table[tokens[:, -1:]], np.array([[tokens.shape[1] - 1]])
            mask = np.ones((1, past_k.shape[3] + embeds.shape[1]), np.int64)
            mask[0, 0] = 0
            feed = {
                "embeds": np.ascontiguousarray(embeds, dtype=np.float32),
                "past_k": past_k,
                "past_v": past_v,
                "attention_mask": mask,
                "position_ids": positions.astype(np.int64),
            }
            logits, present_k, present_v = step.run(None, feed)
            return logits, (present_k, present_v)

        return ids, run

    def generate(
        self,
        image_embeds: npt.NDArray[np.float32],
        question: str,
        max_new_tokens: int | None = None,
    ) -> Answered:
        """Greedy answer to ``question`` about one image's slot embeddings (slots, width)."""
        ids, run = self.prompt_step(image_embeds, question)
        limit = max_new_tokens or self.max_new_tokens
        room = self.text.context - len(ids)
        settings = DecodeSettings(max_length=max(1, min(limit, room)), stop_tokens=self.stop_tokens)
        hyp = greedy_search(run, np.asarray([ids], np.int64), None, settings, _no_reorder)[0]
        return Answered(self.text.decode(hyp.tokens).strip(), hyp.tokens, hyp.reason)

    def answer(
        self,
        images: npt.ArrayLike,
        questions: Sequence[str],
        max_new_tokens: int | None = None,
    ) -> list[str]:
        """One answer per prepared image (N, 3, S, S) and its question (N questions)."""
        batch = np.asarray(images, dtype=np.float32)
        if batch.ndim != 4 or len(batch) != len(questions):
            raise InputError(
                f"answer needs N images (N, 3, S, S) and N questions, got {batch.shape} and"
                f" {len(questions)}"
            )
        for question in questions:
            self.text.prompt(question)  # bad questions fail before any inference
        embeds = self.image_embeddings(batch) if len(batch) else batch
        return [
            self.generate(e, q, max_new_tokens).text for e, q in zip(embeds, questions, strict=True)
        ]


def _no_reorder(state: Any, indices: npt.NDArray[np.int64]) -> Any:
    if len(indices) != 1 or indices[0] != 0:  # one row at a time: the search never reorders
        raise InputError("SAR-GPT decodes one prompt at a time")
    return state
