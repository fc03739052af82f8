"""Greedy and beam search over toy models: fixed tables of next-token log-probabilities.

The rules (length limits, terminal tokens, n-gram blocking, the length penalty) are written again here,
in a brute-force enumeration of every sequence a toy model can produce, so that the search is checked
against an independent reading of its specification rather than against itself.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sargeo.errors import InputError, OptionError, SargeoError
from sargeo.runtime.decoding import (
    DecodeSettings,
    Hypothesis,
    beam_search,
    decode,
    greedy_search,
    take_rows,
)

V = 6
END = 5
START = 0


def log_table(probs: list[list[float]]) -> npt.NDArray[np.float64]:
    """Rows of probabilities (each summing to 1) as log-probabilities."""
    table = np.log(np.array(probs, dtype=np.float64))
    assert np.allclose(np.exp(table).sum(axis=1), 1.0)
    return table


def random_table(seed: int) -> npt.NDArray[np.float64]:
    """A bigram table: row = the previous token, column = the next token."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 2.0, size=(V, V))


class Bigram:
    """A model whose next-token logits depend only on the last token (no state)."""

    def __init__(self, table: npt.NDArray[np.float64]) -> None:
        self.table = table
        self.calls: list[int] = []

    def __call__(self, state: Any, tokens: npt.NDArray[np.int64]) -> tuple[Any, Any]:
        self.calls.append(tokens.shape[0])
        return self.table[tokens[:, -1]], state


class Cached:
    """A model with a 'key-value cache': it reads only the last token and checks that its cache holds
    exactly the rest of each row's prefix, which holds only if the decoder reorders it correctly.
    The logits also depend on the row's first (prompt) token, so rows of a batch differ."""

    def __init__(self, tables: dict[int, npt.NDArray[np.float64]]) -> None:
        self.tables = tables

    def __call__(
        self, state: dict[str, Any] | None, tokens: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], dict[str, Any]]:
        if state is None:  # first call: the whole prompt enters the cache
            state = {"cache": tokens[:, :-1], "tag": "kv"}
        assert np.array_equal(state["cache"], tokens[:, :-1])
        logits = np.stack([self.tables[int(row[0])][row[-1]] for row in tokens])
        return logits, {"cache": tokens.copy(), "tag": state["tag"]}


def log_softmax(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x = np.asarray(x, dtype=np.float64)
    return x - x.max() - np.log(np.exp(x - x.max()).sum())


def enumerate_all(
    table: npt.NDArray[np.float64], cfg: DecodeSettings, prompt: int = START
) -> list[tuple[float, float, tuple[int, ...], str, int | None]]:
    """Every sequence the bigram model can produce under ``cfg``: (score, logprob, tokens, reason,
    stopped_by), written from the specification without the decoder's code."""
    terminals = {t for t in (cfg.end_token, *cfg.stop_tokens) if t is not None}
    k = cfg.no_repeat_ngram_size

    def lp(length: int) -> float:
        a = cfg.length_penalty
        return ((5 + length) / 6) ** a if cfg.length_norm == "gnmt" else max(length, 1) ** a

    def allowed(gen: tuple[int, ...], token: int) -> bool:
        if token in terminals and len(gen) < cfg.min_length:
            return False
        if k and len(gen) >= k:
            grams = {gen[i : i + k] for i in range(len(gen) - k + 1)}
            if (*gen[len(gen) - k + 1 :], token) in grams:
                return False
        return True

    out = []

    def walk(gen: tuple[int, ...], logprob: float) -> None:
        logp = log_softmax(table[gen[-1] if gen else prompt])
        options = [t for t in range(V) if allowed(gen, t) and np.isfinite(logp[t])]
        if not options:
            out.append((logprob / lp(len(gen)), logprob, gen, "blocked", None))
        for t in options:
            total = logprob + logp[t]
            if t in terminals:
                out.append((total / lp(len(gen) + 1), total, gen, "end", t))
            elif len(gen) + 1 == cfg.max_length:
                out.append((total / lp(len(gen) + 1), total, (*gen, t), "length", None))
            else:
                walk((*gen, t), total)

    walk((), 0.0)
    return sorted(out, key=lambda s: -s[0])


def as_tuple(h: Hypothesis) -> tuple[float, float, tuple[int, ...], str, int | None]:
    return (h.score, h.logprob, h.tokens, h.reason, h.stopped_by)


def same(a: Hypothesis, b: Hypothesis) -> bool:
    return as_tuple(a) == as_tuple(b)


PROMPT = np.array([[START]])

configs = st.builds(
    DecodeSettings,
    beam_width=st.just(1),
    max_length=st.integers(1, 4),
    min_length=st.integers(0, 4),
    length_penalty=st.sampled_from([0.0, 0.6, 1.0, 2.0]),
    length_norm=st.sampled_from(["gnmt", "power"]),
    no_repeat_ngram_size=st.integers(0, 2),
    end_token=st.sampled_from([END, None]),
    stop_tokens=st.sampled_from([(), (4,)]),
)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), configs)
def test_exhaustive_beam_equals_brute_force(seed: int, cfg: DecodeSettings) -> None:
    table = random_table(seed)
    every = enumerate_all(table, cfg)
    wide = replace(cfg, beam_width=len(every))
    beam = beam_search(Bigram(table), PROMPT, settings=wide)[0]
    # the same sequences (ties of equal score may come in either order), with the same scores
    expected = {s[2:]: s[:2] for s in every}
    assert len(beam) == len(every) and {as_tuple(h)[2:] for h in beam} == expected.keys()
    for h in beam:
        assert (h.score, h.logprob) == pytest.approx(expected[as_tuple(h)[2:]], abs=1e-12)
    assert [h.score for h in beam] == sorted((h.score for h in beam), reverse=True)
    assert all(h.length <= cfg.max_length for h in beam)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), configs)
def test_beam_width_one_is_greedy(seed: int, cfg: DecodeSettings) -> None:
    table = random_table(seed)
    (greedy,) = greedy_search(Bigram(table), PROMPT, settings=cfg)
    ((beam,),) = beam_search(Bigram(table), PROMPT, settings=cfg)
    assert same(greedy, beam)
    (best,) = decode(Bigram(table), PROMPT, settings=cfg)
    assert same(best, greedy)
    # greedy follows the highest allowed log-probability at every step
    walk = START
    for token in greedy.tokens:
        assert log_softmax(table[walk])[token] <= log_softmax(table[walk]).max()
        walk = token


# Greedy takes token 1 (p 0.5) and then has nothing better than 0.2 on any continuation; token 2
# (p 0.4) is followed by the end token with p 0.96: 'two END' is the most probable sequence.
TRAP = log_table(
    [
        [0.01, 0.5, 0.4, 0.03, 0.03, 0.03],
        [0.2, 0.2, 0.2, 0.2, 0.1, 0.1],
        [0.01, 0.01, 0.01, 0.005, 0.005, 0.96],
        [0.2, 0.2, 0.2, 0.2, 0.1, 0.1],
        [0.2, 0.2, 0.2, 0.2, 0.1, 0.1],
        [0.2, 0.2, 0.2, 0.2, 0.1, 0.1],
    ]
)


def test_small_beam_finds_the_best_sequence_that_greedy_misses() -> None:
    cfg = DecodeSettings(beam_width=2, max_length=4, end_token=END)
    best = enumerate_all(TRAP, cfg)[0]
    assert best[2:] == ((2,), "end", END)
    (greedy,) = greedy_search(Bigram(TRAP), PROMPT, settings=cfg)
    assert greedy.tokens[0] == 1 and greedy.score < best[0]
    (top,) = decode(Bigram(TRAP), PROMPT, settings=cfg)
    assert (top.tokens, top.reason, top.stopped_by) == ((2,), "end", END)
    assert top.score == pytest.approx(math.log(0.4 * 0.96))


def test_min_length_suppresses_the_end_token() -> None:
    eager = np.tile(np.log([0.02, 0.02, 0.02, 0.02, 0.02, 0.9]), (V, 1))  # END is always likeliest
    for min_length in (0, 1, 3):
        for width in (1, 3):
            cfg = DecodeSettings(
                beam_width=width, max_length=8, min_length=min_length, end_token=END
            )
            (hyp,) = decode(Bigram(eager), PROMPT, settings=cfg)
            assert hyp.reason == "end" and hyp.stopped_by == END
            assert len(hyp.tokens) == min_length and END not in hyp.tokens


def test_max_length_stops_and_counts_the_end_token() -> None:
    never = np.tile(np.log([0.3, 0.3, 0.2, 0.1, 0.09, 0.01]), (V, 1))  # END is always least likely
    for width in (1, 4):
        cfg = DecodeSettings(beam_width=width, max_length=5, end_token=END)
        (hyp,) = decode(Bigram(never), PROMPT, settings=cfg)
        assert hyp.reason == "length" and len(hyp.tokens) == 5 and hyp.stopped_by is None
    # with the end token as the only way out at the last step, the end token is the 5th token
    last = DecodeSettings(max_length=5, end_token=END, min_length=4)
    (hyp,) = decode(Bigram(never), PROMPT, settings=last)
    assert hyp.length == 5


def test_step_calls_stop_at_max_length() -> None:
    model = Bigram(np.zeros((V, V)))
    greedy_search(model, np.zeros((3, 2), dtype=np.int64), settings=DecodeSettings(max_length=7))
    assert model.calls == [3] * 7


def test_no_repeat_ngram_blocking() -> None:
    # the model loves '1 2 1 2 1 2 ...'
    loop = np.full((V, V), -5.0)
    loop[START, 1] = loop[1, 2] = loop[2, 1] = 0.0
    loop[:, 3] = -1.0
    free = DecodeSettings(max_length=8, end_token=END)
    (hyp,) = greedy_search(Bigram(loop), PROMPT, settings=free)
    assert hyp.tokens == (1, 2, 1, 2, 1, 2, 1, 2)
    for k in (1, 2, 3):
        for width in (1, 3):
            cfg = DecodeSettings(
                beam_width=width, max_length=8, end_token=END, no_repeat_ngram_size=k
            )
            (hyp,) = decode(Bigram(loop), PROMPT, settings=cfg)
            grams = [hyp.tokens[i : i + k] for i in range(len(hyp.tokens) - k + 1)]
            assert len(grams) == len(set(grams)), hyp.tokens
            assert len(hyp.tokens) >= k + 1  # it still starts on the loop
    (hyp,) = greedy_search(
        Bigram(loop), PROMPT, settings=DecodeSettings(max_length=8, no_repeat_ngram_size=2)
    )
    assert hyp.tokens[:3] == (1, 2, 1) and hyp.tokens[3] != 2


def test_every_token_banned_ends_as_blocked() -> None:
    for width in (1, 2):
        cfg = DecodeSettings(
            beam_width=width, max_length=10, min_length=10, end_token=END, no_repeat_ngram_size=1
        )
        (hyp,) = decode(Bigram(random_table(3)), PROMPT, settings=cfg)
        assert hyp.reason == "blocked" and sorted(hyp.tokens) == [0, 1, 2, 3, 4]


def test_stop_tokens_end_a_hypothesis() -> None:
    table = np.tile(np.log([0.1, 0.3, 0.05, 0.05, 0.45, 0.05]), (V, 1))
    cfg = DecodeSettings(max_length=6, end_token=END, stop_tokens=(4,))
    for width in (1, 3):
        (hyp,) = decode(Bigram(table), PROMPT, settings=replace(cfg, beam_width=width))
        assert hyp.tokens == () and hyp.stopped_by == 4 and hyp.length == 1
    (hyp,) = decode(
        Bigram(table),
        PROMPT,
        settings=DecodeSettings(max_length=6, end_token=END, stop_tokens=(4,), min_length=2),
    )
    assert hyp.tokens == (1, 1) and hyp.stopped_by == 4


@pytest.mark.parametrize("width", [1, 3])
def test_batch_equals_one_at_a_time_and_reorders_the_cache(width: int) -> None:
    tables = {p: random_table(100 + p) for p in range(4)}
    prompts = np.array([[0, 1], [1, 2], [2, 0], [3, 3]])
    cfg = DecodeSettings(beam_width=width, max_length=6, end_token=END, no_repeat_ngram_size=2)
    together = beam_search(Cached(tables), prompts, settings=cfg)
    alone = [beam_search(Cached(tables), prompts[i : i + 1], settings=cfg)[0] for i in range(4)]
    assert [[as_tuple(h) for h in b] for b in together] == [[as_tuple(h) for h in b] for b in alone]
    greedy_together = greedy_search(Cached(tables), prompts, settings=cfg)
    greedy_alone = [
        greedy_search(Cached(tables), prompts[i : i + 1], settings=cfg)[0] for i in range(4)
    ]
    assert [as_tuple(h) for h in greedy_together] == [as_tuple(h) for h in greedy_alone]
    assert len({h.length for h in greedy_together}) > 1  # rows finished at different steps


def test_a_custom_reorder_callback_gets_the_parent_rows() -> None:
    seen: list[list[int]] = []

    def reorder(state: Any, indices: npt.NDArray[np.int64]) -> Any:
        assert indices.dtype == np.int64
        seen.append(indices.tolist())
        return take_rows(state, indices)

    tables = {0: random_table(7)}
    cfg = DecodeSettings(beam_width=3, max_length=4, end_token=END)
    beam_search(Cached(tables), np.array([[0]]), settings=cfg, reorder=reorder)
    assert seen[0] == [0, 0, 0]  # the first step's one row becomes three beams
    assert all(max(ix) < 3 for ix in seen)


def test_deterministic_and_ties_go_to_the_lowest_token() -> None:
    flat = np.zeros((V, V))
    for width in (1, 2, 4):
        cfg = DecodeSettings(beam_width=width, max_length=3, end_token=END)
        first = beam_search(Bigram(flat), np.array([[0], [0]]), settings=cfg)
        again = beam_search(Bigram(flat), np.array([[0], [0]]), settings=cfg)
        assert [[as_tuple(h) for h in b] for b in first] == [
            [as_tuple(h) for h in b] for b in again
        ]
        assert first[0][0].tokens == (0, 0, 0)
    table = random_table(42)
    runs = {
        tuple(
            as_tuple(h)
            for h in beam_search(
                Bigram(table),
                PROMPT,
                settings=DecodeSettings(beam_width=3, max_length=5, end_token=END),
            )[0]
        )
        for _ in range(3)
    }
    assert len(runs) == 1


def test_length_penalties() -> None:
    gnmt = DecodeSettings(length_penalty=1.0)
    assert gnmt.penalty(1) == 1.0 and gnmt.penalty(7) == pytest.approx(2.0)
    power = DecodeSettings(length_penalty=1.0, length_norm="power")
    assert power.penalty(4) == 4.0
    assert DecodeSettings().penalty(9) == 1.0


def test_settings_and_model_errors() -> None:
    with pytest.raises(OptionError, match="beam_width"):
        DecodeSettings(beam_width=0)
    for bad in (
        {"max_length": 0},
        {"min_length": -1},
        {"no_repeat_ngram_size": -2},
        {"length_norm": "x"},
        {"stop_tokens": (-1,)},
        {"length_penalty": float("nan")},
    ):
        with pytest.raises(SargeoError):
            DecodeSettings(**bad)  # type: ignore[arg-type]
    cfg = DecodeSettings(end_token=END)
    with pytest.raises(InputError, match="shape"):
        greedy_search(lambda s, t: (np.zeros((2, V)), s), PROMPT, settings=cfg)
    with pytest.raises(InputError, match="NaN"):
        greedy_search(lambda s, t: (np.full((1, V), np.nan), s), PROMPT, settings=cfg)
    with pytest.raises(InputError, match="vocabulary"):
        greedy_search(Bigram(np.zeros((V, V))), PROMPT, settings=DecodeSettings(end_token=V))
    with pytest.raises(InputError, match="prompts"):
        greedy_search(Bigram(np.zeros((V, V))), np.array([1, 2]), settings=cfg)


def test_tokens_the_model_scores_minus_infinity_are_never_taken() -> None:
    table = np.tile([-np.inf, -np.inf, 0.0, 0.0, -np.inf, -np.inf], (V, 1))
    for width in (1, 3):
        cfg = DecodeSettings(beam_width=width, max_length=4, end_token=END)
        for hyp in beam_search(Bigram(table), PROMPT, settings=cfg)[0]:
            assert set(hyp.tokens) <= {2, 3} and np.isfinite(hyp.logprob)
    dead = np.full((V, V), -np.inf)
    (hyp,) = greedy_search(Bigram(dead), PROMPT, settings=DecodeSettings(max_length=3))
    assert hyp.reason == "blocked" and hyp.tokens == ()


def test_brute_force_counts_every_sequence() -> None:
    # the enumeration itself: with no rules, V-1 ordinary tokens and max_length 3
    cfg = DecodeSettings(max_length=3, end_token=END)
    every = enumerate_all(random_table(1), cfg)
    ordinary = V - 1
    assert len(every) == 1 + ordinary + ordinary**2 + ordinary**3
    assert sum(math.exp(s[1]) for s in every) == pytest.approx(1.0)
