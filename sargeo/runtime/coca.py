"""A CoCa bundle at work: captions through ONNX Runtime and `sargeo.runtime.decoding` (numpy).

The ``image_encoder`` graph turns prepared pixels into image tokens; the ``decoder_step`` graph turns
image tokens and each row's token prefix into next-token logits (it recomputes the prefix, as open_clip's
decoder has no key-value cache). The search is the same numpy code that decodes the torch model, so a
bundle whose graphs agree with torch gives the torch captions. Ids become text through the bundle's
``tokenizer.json`` and the ``tokenizers`` package (imported lazily).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.runtime.bundle import Bundle, BundleError
from sargeo.runtime.decoding import (
    DecodeSettings,
    Hypothesis,
    beam_search,
    greedy_search,
    settings_for,
)
from sargeo.runtime.sessions import open_session, require


@dataclass(frozen=True)
class Captioned:
    """A generated caption with its hypothesis (tokens, log-probability, why it ended)."""

    caption: str
    hypothesis: Hypothesis


class CocaModel:
    """The two graphs of a ``coca`` bundle, and its tokenizer's way back from ids to text.

    Args:
        bundle: A loaded bundle of task ``coca``.
        threads: Intra-op threads per session (default: all cores).
    """

    def __init__(self, bundle: Bundle, threads: int | None = None) -> None:
        bundle.require_task("coca")
        self.bundle = bundle
        self.threads = threads
        special = bundle.tokenizer.special_tokens
        if not {"start", "end"} <= set(special):
            raise BundleError(f"bundle {bundle.root}: the tokenizer names no start and end token")
        self.start, self.end = int(special["start"]), int(special["end"])
        self.specials = {int(v) for v in special.values()}
        self._sessions: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._decoder: Any = None

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

    def settings(self, overrides: Mapping[str, Any] | None = None) -> DecodeSettings:
        """The bundle's default decoding settings (``decode``) with ``overrides``."""
        longest = int(self.bundle.meta.get("decode_context", 0)) - 1
        return settings_for(self.bundle.meta.get("decode", {}), overrides, self.end, longest)

    def image_tokens(self, pixels: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """Prepared pixels (N, 3, S, S) -> image tokens (N, T, width)."""
        batch = np.ascontiguousarray(pixels, dtype=np.float32)
        out: npt.NDArray[np.float32] = self.session("image_encoder").run(None, {"pixels": batch})[0]
        return out

    def step(
        self, state: npt.NDArray[np.float32], tokens: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """The decoder step of `sargeo.runtime.decoding`: the state is the image tokens."""
        feeds = {"image_tokens": state, "tokens": np.ascontiguousarray(tokens, dtype=np.int64)}
        logits: npt.NDArray[np.float32] = self.session("decoder_step").run(None, feeds)[0]
        return logits, state

    def decode_text(self, ids: tuple[int, ...]) -> str:
        """Generated ids -> text, special tokens left out."""
        if self._decoder is None:
            tokenizers = require("tokenizers")
            file = self.bundle.root / str(self.bundle.tokenizer.options.get("file", ""))
            self._decoder = tokenizers.Tokenizer.from_file(str(file))
        text = self._decoder.decode([i for i in ids if i not in self.specials])
        return tidy_caption(str(text))

    def caption(self, pixels: npt.ArrayLike, settings: DecodeSettings) -> list[Captioned]:
        """Captions of prepared pixels: the best hypothesis of each image."""
        state = self.image_tokens(pixels)
        prompts = np.full((state.shape[0], 1), self.start, dtype=np.int64)
        if settings.beam_width == 1:
            best = greedy_search(self.step, prompts, state, settings)
        else:
            best = [b[0] for b in beam_search(self.step, prompts, state, settings)]
        return [Captioned(self.decode_text(h.tokens), h) for h in best]


def tidy_caption(text: str) -> str:
    """WordPiece's decoded text with hyphens and punctuation joined again ('north - west .')."""
    text = re.sub(r"(?<=\w) - (?=\w)", "-", text)
    return text.replace(" ,", ",").replace(" .", ".").strip()
