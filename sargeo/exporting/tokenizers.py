"""Tokenizer files for bundles: whatever tokenizer the model trained with, readable without torch.

- ``hash-words`` (tiny models): no file; the runtime hashes words with the standard library.
- ``hf-json`` (lite models): the model's own ``tokenizer.json`` (MiniLM's WordPiece), copied.
- ``open-clip`` (ViT models): open_clip's CLIP BPE rebuilt as a ``tokenizer.json`` that the
  ``tokenizers`` package reads alone: the byte-level BPE vocabulary and merges of open_clip's
  ``bpe_simple_vocab_16e6.txt.gz``, words split by open_clip's pattern, ``</w>`` ending each word,
  start and end tokens added, everything after the end token 0. It gives open_clip's ids exactly for
  text that needs no repair; open_clip also runs ``ftfy`` and HTML unescaping first, which this file
  cannot (``&amp;`` stays five characters, mojibake stays as it is).
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sargeo.errors import InputError
from sargeo.models.clip.resources import resolve

FILE = "tokenizer.json"
_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def _hf_special(file: Path) -> dict[str, int]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(file))
    found = {
        "pad": tok.token_to_id("[PAD]"),
        "start": tok.token_to_id("[CLS]"),
        "end": tok.token_to_id("[SEP]"),
        "unknown": tok.token_to_id("[UNK]"),
    }
    return {k: int(v) for k, v in found.items() if v is not None}


def clip_bpe_tokenizer(context_length: int) -> Any:
    """open_clip's CLIP BPE as a `tokenizers.Tokenizer` (see the module docstring)."""
    import open_clip.tokenizer as oct
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers.processors import TemplateProcessing

    with gzip.open(oct.default_bpe()) as handle:
        merges_text = handle.read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in merges_text[1 : 49152 - 256 - 2 + 1]]
    symbols = list(oct.bytes_to_unicode().values())
    vocab_list = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges]
    start, end = "<start_of_text>", "<end_of_text>"
    vocab_list += [start, end]
    vocab = {token: i for i, token in enumerate(vocab_list)}
    bpe = models.BPE(
        vocab=vocab,
        merges=[(a, b) for a, b in merges],
        end_of_word_suffix="</w>",
        continuing_subword_prefix="",
        fuse_unk=False,
    )
    tok = Tokenizer(bpe)
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.NFC(),
            normalizers.Replace(Regex(r"\s+"), " "),
            normalizers.Strip(),
            normalizers.Lowercase(),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([start, end])
    tok.post_processor = TemplateProcessing(
        single=f"{start} $A {end}", special_tokens=[(start, vocab[start]), (end, vocab[end])]
    )
    tok.enable_truncation(max_length=context_length)
    return tok


def write_tokenizer(spec: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """Write the tokenizer files of a model config's ``tokenizer`` entry into ``folder``.

    Returns the bundle's ``tokenizer`` entry (file hashes are added when the bundle is written).
    """
    kind = spec.get("kind")
    context = int(spec["context_length"])
    if kind == "hash-words":
        vocab = int(spec["vocab_size"])
        return {
            "kind": "hash-words",
            "context_length": context,
            "files": {},
            "special_tokens": {"pad": 0, "start": 1, "end": vocab - 1},
            "options": {"vocab_size": vocab},
        }
    if kind == "hf-json":
        shutil.copyfile(resolve(str(spec["file"])), folder / FILE)
        return {
            "kind": "hf-json",
            "context_length": context,
            "files": {FILE: ""},
            "special_tokens": _hf_special(folder / FILE),
            "options": {"file": FILE, "source": str(spec["file"])},
        }
    if kind == "open-clip":
        import open_clip

        tok = open_clip.get_tokenizer(str(spec["model"]))
        if type(tok).__name__ != "SimpleTokenizer" or getattr(tok, "reduction_fn", None):
            raise InputError(
                f"open_clip model {spec['model']} does not use the CLIP BPE tokenizer; only the CLIP"
                " BPE can be written as a bundle tokenizer so far"
            )
        clip_bpe_tokenizer(context).save(str(folder / FILE))
        return {
            "kind": "hf-json",
            "context_length": context,
            "files": {FILE: ""},
            "special_tokens": {"pad": 0, "start": tok.sot_token_id, "end": tok.eot_token_id},
            "options": {"file": FILE, "source": "open_clip CLIP BPE (bpe_simple_vocab_16e6)"},
        }
    raise InputError(f"cannot export tokenizer kind {kind!r}")
