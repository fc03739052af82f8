"""SAR-GPT's text without torch: chat prompts -> ids, generated ids -> text, from a bundle's files.

Kinds (``bundle.json`` -> ``tokenizer.kind``):

- ``gpt-words``: the tiny model's whole-word vocabulary (``vocab.json``, a list of words; ids are
  positions) with ChatML's special tokens, in plain Python. `sargeo.models.gpt.chat.WordCodec` uses
  the same functions, so training and the bundle tokenize alike.
- ``gpt-bytes``: UTF-8 bytes (0-255) and ChatML's special tokens after them.
- ``hf-json``: a ``tokenizer.json`` read by the ``tokenizers`` package (SmolLM2's BPE).

The chat template is not re-implemented: the bundle holds the ids of the rendered prompt before the
image slots, and the text after them with ``{question}`` in place of the question (`chat` below).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sargeo.errors import InputError
from sargeo.runtime.bundle import BundleError, TokenizerInfo
from sargeo.runtime.sessions import require

CHATML = ("<|im_start|>", "<|im_end|>", "<|pad|>")
WORD_SPECIALS = (*CHATML, "<unk>", "\n")
WORD = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+(?:[-'][^\W\d_]+)*|[^\w\s]|_")
NO_SPACE_BEFORE = frozenset(".,;:!?%)'")
_SPLIT = re.compile(r"(<\|im_start\|>|<\|im_end\|>|<\|pad\|>|\n)")


def encode_words(ids: dict[str, int], text: str) -> list[int]:
    """Text (special tokens written out) -> ids of a word vocabulary (``<unk>`` for unknown words)."""
    out: list[int] = []
    unk = ids["<unk>"]
    for piece in _SPLIT.split(text):
        if piece in ids and piece in WORD_SPECIALS:
            out.append(ids[piece])
        else:
            out.extend(ids.get(w, unk) for w in WORD.findall(piece))
    return out


def decode_words(vocab: Sequence[str], ids: Sequence[int]) -> str:
    """Ids of a word vocabulary -> text, ChatML's tokens dropped, punctuation glued."""
    text = ""
    for i in ids:
        word = vocab[i] if 0 <= i < len(vocab) else "<unk>"
        if word in CHATML:
            continue
        glue = (
            ""
            if not text or text.endswith(("\n", "(")) or word[0] in NO_SPACE_BEFORE or word == "\n"
            else " "
        )
        text += glue + word
    return text


def encode_bytes(special: dict[str, int], text: str) -> list[int]:
    """Text -> UTF-8 bytes, ChatML's special tokens as their ids."""
    out: list[int] = []
    rest = text
    while rest:
        hits = [(rest.find(s), s) for s in special if s in rest]
        if not hits:
            out.extend(rest.encode("utf-8"))
            break
        at, token = min(hits)
        out.extend(rest[:at].encode("utf-8"))
        out.append(special[token])
        rest = rest[at + len(token) :]
    return out


def decode_bytes(ids: Sequence[int]) -> str:
    """Byte ids -> text, the special tokens (ids over 255) dropped."""
    return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


class GptText:
    """A ``gpt`` bundle's tokenizer and chat prompt (see the module docstring).

    Args:
        root: The bundle folder.
        info: The bundle's tokenizer description.
        chat: The bundle's ``chat`` entry: ``prefix_ids``, ``image_slots``, ``suffix``.
    """

    def __init__(self, root: Path, info: TokenizerInfo, chat: dict[str, Any]) -> None:
        self.kind = info.kind
        self.context = info.context_length
        try:
            self.prefix = [int(i) for i in chat["prefix_ids"]]
            self.slots = int(chat["image_slots"])
            self.suffix = str(chat["suffix"])
            self.pad = int(info.special_tokens["pad"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(
                f"bundle {root}: the chat prompt is incompletely described ({exc})"
            ) from exc
        file = root / str(info.options.get("file", ""))
        if self.kind != "gpt-bytes" and not file.is_file():
            raise BundleError(f"bundle {root}: the tokenizer names no file of the bundle")
        self._hf: Any = None
        if self.kind == "gpt-words":
            self.vocab = [str(w) for w in json.loads(file.read_text(encoding="utf-8"))]
            self.ids = {w: i for i, w in enumerate(self.vocab)}
        elif self.kind == "gpt-bytes":
            self.ids = {s: int(info.special_tokens[s]) for s in CHATML}
        elif self.kind == "hf-json":
            self._hf = require("tokenizers").Tokenizer.from_file(str(file))
        else:
            raise BundleError(f"bundle {root}: unknown gpt tokenizer kind {self.kind!r}")

    def encode(self, text: str) -> list[int]:
        """Text (special tokens written out) -> ids."""
        if self.kind == "gpt-words":
            return encode_words(self.ids, text)
        if self.kind == "gpt-bytes":
            return encode_bytes(self.ids, text)
        return list(self._hf.encode(text, add_special_tokens=False).ids)

    def decode(self, ids: Sequence[int]) -> str:
        """Generated ids -> text, special tokens dropped."""
        if self.kind == "gpt-words":
            return decode_words(self.vocab, ids)
        if self.kind == "gpt-bytes":
            return decode_bytes(ids)
        return str(self._hf.decode(list(ids), skip_special_tokens=True))

    def prompt(self, question: str) -> tuple[list[int], list[bool]]:
        """The ids that ask ``question`` about the image, and which of them are image slots.

        Raises:
            InputError: an empty question, or one that does not fit the context.
        """
        if not question.strip():
            raise InputError("the question is empty")
        rest = self.encode(self.suffix.replace("{question}", question))
        ids = [*self.prefix, *[self.pad] * self.slots, *rest]
        image = [False] * len(self.prefix) + [True] * self.slots + [False] * len(rest)
        if len(ids) >= self.context:
            raise InputError(
                f"the question is too long: {len(ids)} tokens with the image and the chat"
                f" template, the model's context is {self.context}"
            )
        return ids, image
