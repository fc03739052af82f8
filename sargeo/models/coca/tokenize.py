"""Captions to ids and back for CoCa: a tokenizer that can also decode, with its special tokens.

Encoding is the CLIP models' (`sargeo.models.clip.tokenize.build_tokenizer`); CoCa also needs the start,
end and padding ids (decoding starts from the start token, stops at the end token; the caption loss
ignores padding) and the way back from ids to text. Two kinds decode: ``hf-json`` (MiniLM's WordPiece,
``[CLS]`` starts, ``[SEP]`` ends, ``[PAD]`` = 0) and ``open-clip`` (CLIP's BPE, ``<start_of_text>`` =
49406 starts, 49407 ends, 0 pads). Hashed words cannot be decoded and are refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from sargeo.errors import InputError
from sargeo.models.clip.resources import resolve
from sargeo.models.clip.tokenize import Tokenizer, build_tokenizer
from sargeo.runtime.coca import tidy_caption


class CaptionTokenizer:
    """Encode captions for training, decode generated ids; ``start``, ``end``, ``pad`` ids.

    Attributes:
        context_length: The longest id sequence (start and end included).
        vocab_size: Size of the vocabulary (the decoder's logits).
    """

    def __init__(self, spec: Mapping[str, Any]) -> None:
        kind = spec.get("kind")
        self._encode: Tokenizer = build_tokenizer(spec)
        self.context_length = int(spec["context_length"])
        if kind == "hf-json":
            from tokenizers import Tokenizer as HFTokenizer

            self._hf = HFTokenizer.from_file(str(resolve(str(spec["file"]))))
            ids = [self._hf.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")]
            if any(i is None for i in ids):
                raise InputError(f"tokenizer {spec['file']} lacks [CLS], [SEP] or [PAD]")
            self.start, self.end, self.pad = (int(i) for i in ids)
            self.vocab_size = int(self._hf.get_vocab_size())
            self._decode = self._decode_hf
        elif kind == "open-clip":
            inner: Any = getattr(self._encode, "_tok", None)
            self.start, self.end, self.pad = int(inner.sot_token_id), int(inner.eot_token_id), 0
            self.vocab_size = int(inner.vocab_size)
            self._clip = inner
            self._decode = self._decode_clip
        else:
            raise InputError(
                f"CoCa needs a tokenizer that decodes (hf-json or open-clip), not {kind!r}"
            )

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        """Captions -> int64 ids (N, length <= context), start and end tokens included."""
        return self._encode(list(texts))

    def decode(self, ids: Sequence[int]) -> str:
        """Generated ids (no start or end token) -> caption text."""
        specials = {self.start, self.end, self.pad}
        return self._decode([int(i) for i in ids if int(i) not in specials])

    def _decode_hf(self, ids: list[int]) -> str:
        return tidy_caption(str(self._hf.decode(ids, skip_special_tokens=True)))

    def _decode_clip(self, ids: list[int]) -> str:
        return str(self._clip.decode(ids)).strip()
