"""The runtime's tokenizers: the hash-words kind against training's, and the query checks."""

from __future__ import annotations

import pytest

from sargeo.errors import InputError
from sargeo.models.clip.tokenize import HashWordTokenizer
from sargeo.runtime.tokenizer import HashWords, check_texts

CAPTIONS = [
    "Three ships are moored in the harbour, in the north-east.",
    "DARK calm sea; 12 % farmland",
    "",
    "word " * 50,
    "émigré ÆØÅ 東京",
]


@pytest.mark.parametrize("vocab", [16, 4096, 50000])
def test_hash_words_match_training(vocab: int) -> None:
    ours = HashWords(vocab, 16)
    theirs = HashWordTokenizer(vocab, 16)
    assert ours.encode(CAPTIONS).tolist() == theirs(CAPTIONS).tolist()
    assert ours.token_count("word " * 50) == 52


def test_queries_are_checked() -> None:
    tok = HashWords(4096, 8)
    check_texts(tok, ["ships in a harbour"])
    with pytest.raises(InputError, match="the query is empty"):
        check_texts(tok, ["   "])
    with pytest.raises(
        InputError, match=r"\(query 2\) is 10 tokens long; the model reads at most 8"
    ):
        check_texts(tok, ["sea", "one two three four five six seven eight"])
    with pytest.raises(InputError, match="no query given"):
        check_texts(tok, [])
