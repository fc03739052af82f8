"""Text to token ids from a bundle's files, without torch: the same ids the model was trained with.

Kinds (``bundle.json`` → ``tokenizer.kind``):

- ``hash-words``: the tiny models' words hashed (CRC-32) into a fixed vocabulary; nothing to ship, the
  standard library computes it (as ``sargeo.models.clip.tokenize.HashWordTokenizer`` does in training).
- ``hf-json``: a ``tokenizer.json`` read by the ``tokenizers`` package alone (imported lazily):
  MiniLM's WordPiece for the lite models, and the CLIP BPE rebuilt from open_clip's vocabulary for the
  ViT models (see `sargeo.exporting.tokenizers`).

Every encoder pads to the context length, the shape the text graphs were exported with. A query that
is empty, or longer than the context, is refused (`check_texts`) rather than silently truncated.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError
from sargeo.runtime.bundle import BundleError, TokenizerInfo
from sargeo.runtime.sessions import require

Ids = npt.NDArray[np.int64]

_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


class TextTokenizer(Protocol):
    """Texts -> int64 ids shaped (len(texts), context_length)."""

    context_length: int

    def token_count(self, text: str) -> int:
        """Tokens of ``text`` before truncation, start and end tokens included."""
        ...

    def encode(self, texts: Sequence[str]) -> Ids:
        """Ids padded (and truncated) to the context length."""
        ...


class HashWords:
    """Lower-case words hashed into ``vocab_size - 3`` buckets; 0 pads, 1 starts, the last id ends."""

    def __init__(self, vocab_size: int, context_length: int) -> None:
        self.vocab_size = vocab_size
        self.context_length = context_length

    def _words(self, text: str) -> list[int]:
        buckets = self.vocab_size - 3
        return [2 + zlib.crc32(w.encode()) % buckets for w in _WORD.findall(text.lower())]

    def token_count(self, text: str) -> int:
        return len(self._words(text)) + 2

    def encode(self, texts: Sequence[str]) -> Ids:
        out = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for i, text in enumerate(texts):
            ids = [1, *self._words(text)[: self.context_length - 2], self.vocab_size - 1]
            out[i, : len(ids)] = ids
        return out


class HFJson:
    """A ``tokenizer.json`` (Hugging Face ``tokenizers``), truncated and padded to the context."""

    def __init__(self, file: Path, context_length: int, pad_id: int) -> None:
        tokenizers = require("tokenizers")
        self.context_length = context_length
        try:
            self._count = tokenizers.Tokenizer.from_file(str(file))
            self._tok = tokenizers.Tokenizer.from_file(str(file))
        except Exception as exc:  # tokenizers raises plain Exception on a broken file
            raise BundleError(f"cannot read tokenizer {file}: {exc}") from exc
        self._count.no_truncation()
        self._count.no_padding()
        self._tok.enable_truncation(max_length=context_length)
        self._tok.enable_padding(length=context_length, pad_id=pad_id)

    def token_count(self, text: str) -> int:
        return len(self._count.encode(text).ids)

    def encode(self, texts: Sequence[str]) -> Ids:
        encoded = self._tok.encode_batch(list(texts))
        return np.asarray([e.ids for e in encoded], dtype=np.int64).reshape(
            len(texts), self.context_length
        )


def load_tokenizer(info: TokenizerInfo, root: Path) -> TextTokenizer:
    """The tokenizer a bundle describes (its files were checked when the bundle loaded)."""
    options: dict[str, Any] = info.options
    if info.kind == "hash-words":
        return HashWords(int(options["vocab_size"]), info.context_length)
    if info.kind == "hf-json":
        file = options.get("file", "tokenizer.json")
        if file not in info.files:
            raise BundleError(f"bundle {root}: tokenizer file {file} is not listed with a sha256")
        return HFJson(root / file, info.context_length, int(info.special_tokens.get("pad", 0)))
    raise BundleError(f"bundle {root}: unknown tokenizer kind {info.kind!r} (hash-words, hf-json)")


def check_texts(tokenizer: TextTokenizer, texts: Sequence[str], what: str = "query") -> None:
    """Refuse empty texts and texts longer than the context, naming the first such one."""
    if not texts:
        raise InputError(f"no {what} given")
    for number, text in enumerate(texts, 1):
        where = f" ({what} {number})" if len(texts) > 1 else ""
        if not text.strip():
            raise InputError(f"the {what} is empty{where}")
        count = tokenizer.token_count(text)
        if count > tokenizer.context_length:
            shown = text if len(text) <= 60 else text[:57] + "..."
            raise InputError(
                f"the {what} {shown!r}{where} is {count} tokens long; the model reads at most"
                f" {tokenizer.context_length} (start and end included): shorten it"
            )
