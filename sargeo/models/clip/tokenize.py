"""Text tokenizers of the CLIP models: each turns captions into a fixed-length (N, context) id tensor.

Three kinds, named in the model config: ``hash-words`` (the tiny model: lower-case words hashed into a
fixed vocabulary, nothing to ship), ``hf-json`` (a Hugging Face ``tokenizer.json`` read by the
``tokenizers`` package alone, as the torch-free runtime will) and ``open-clip`` (open_clip's BPE for the
ViT models, its vocabulary inside the open_clip package).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch

from sargeo.errors import InputError
from sargeo.models.clip.resources import resolve

_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


class Tokenizer(Protocol):
    """Captions -> int64 ids shaped (len(texts), context_length)."""

    context_length: int

    def __call__(self, texts: Sequence[str]) -> torch.Tensor: ...


class HashWordTokenizer:
    """Words hashed (CRC-32) into ``vocab_size - 3`` buckets; 0 pads, 1 starts, ``vocab_size - 1`` ends.

    The end id is the largest, so open_clip's ``argmax`` pooling finds it, as with CLIP's BPE.
    """

    def __init__(self, vocab_size: int, context_length: int) -> None:
        if vocab_size < 16 or context_length < 3:
            raise InputError("hash-words tokenizer needs vocab_size >= 16 and context_length >= 3")
        self.vocab_size = vocab_size
        self.context_length = context_length

    def ids(self, text: str) -> list[int]:
        """The ids of one caption, with start and end, truncated to the context."""
        buckets = self.vocab_size - 3
        words = [2 + zlib.crc32(w.encode()) % buckets for w in _WORD.findall(text.lower())]
        return [1, *words[: self.context_length - 2], self.vocab_size - 1]

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        out = torch.zeros((len(texts), self.context_length), dtype=torch.long)
        for i, text in enumerate(texts):
            ids = self.ids(text)
            out[i, : len(ids)] = torch.tensor(ids)
        return out


class HFJsonTokenizer:
    """A Hugging Face fast tokenizer from its ``tokenizer.json``, truncated to the context.

    ``pad_to="longest"`` pads a batch to its longest caption only: with an attention mask and mean
    pooling (MiniLM) the embeddings are the same, and short captions cost half as much.
    """

    def __init__(self, file: Path, context_length: int, pad_to: str = "context") -> None:
        from tokenizers import Tokenizer as HFTokenizer

        if pad_to not in ("context", "longest"):
            raise InputError(f"tokenizer pad_to must be context or longest, not {pad_to!r}")
        self.file = file
        self.context_length = context_length
        self._tok = HFTokenizer.from_file(str(file))
        pad_id = self._tok.token_to_id("[PAD]")
        self._tok.enable_truncation(max_length=context_length)
        length = context_length if pad_to == "context" else None
        self._tok.enable_padding(length=length, pad_id=pad_id or 0, pad_token="[PAD]")

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        encoded = self._tok.encode_batch(list(texts))
        return torch.tensor([e.ids for e in encoded], dtype=torch.long)


class OpenClipTokenizer:
    """open_clip's tokenizer for a named model (CLIP BPE, shipped inside open_clip)."""

    def __init__(self, model: str, context_length: int) -> None:
        import open_clip

        self.context_length = context_length
        self._tok = open_clip.get_tokenizer(model, context_length=context_length)

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        return self._tok(list(texts))


def build_tokenizer(spec: Mapping[str, Any]) -> Tokenizer:
    """The tokenizer a model config's ``tokenizer`` entry describes."""
    kind = spec.get("kind")
    context = int(spec["context_length"])
    if kind == "hash-words":
        return HashWordTokenizer(int(spec["vocab_size"]), context)
    if kind == "hf-json":
        return HFJsonTokenizer(
            resolve(str(spec["file"])), context, str(spec.get("pad_to", "context"))
        )
    if kind == "open-clip":
        return OpenClipTokenizer(str(spec["model"]), context)
    raise InputError(f"unknown tokenizer kind {kind!r}; use hash-words, hf-json or open-clip")
