"""Greedy and beam search in numpy over a model's decoder step: one specification for every backend.

The model is seen only through a step function, so the same code decodes open_clip's CoCa in torch
(a step that runs torch and returns numpy logits) and the exported decoder-step graphs in ONNX Runtime;
both give the same tokens when their logits agree. This docstring is the specification.

Inputs
    ``prompts``: integers ``[batch, prompt_len]``, every row the same length (CoCa: the start token;
    padding a ragged prompt is the caller's business, inside its state). ``state``: what the model keeps
    between steps for those rows (image embeddings, a key-value cache; None when it keeps nothing).

Step
    ``step(state, tokens) -> (logits, new_state)``. ``tokens``: int64 ``[rows, prompt_len + t]``, each
    live row's whole sequence so far (its prompt, then the ``t`` tokens generated). ``logits``: floats
    ``[rows, vocab]``, the unnormalised scores of each row's next token. ``new_state``: the state after
    the step, for the same rows. A model that recomputes the prefix (open_clip's decoder) reads all of
    ``tokens``; one with a key-value cache reads only what its cache lacks (the whole prompt on the first
    call, then the last column). Every live row has generated the same number of tokens at every call.

Rows
    The first call gets the ``batch`` rows of ``prompts``, in order. Between two calls the decoder may
    drop rows (finished hypotheses), repeat them (beams sharing a prefix) and reorder them; it then calls
    ``reorder(state, indices)`` first, where ``indices[i]`` (int64) is the row of the previous call that
    new row ``i`` continues, and passes the returned state to the next call (numpy: take along the batch
    axis; torch: ``index_select``). It does not call it when the rows stay the same. The default,
    `take_rows`, takes rows of numpy arrays and of tuples, lists and dicts of them.

Scores
    Log-probabilities are ``log_softmax(logits)`` in float64. Banned tokens get ``-inf`` after the
    softmax, which is not renormalised, so a hypothesis's ``logprob`` is the model's own log-probability
    of its tokens (the terminal token included). A token the model itself scores ``-inf`` is banned too.
    ``length`` is the number of generated tokens, the terminal token included, and
    ``score = logprob / lp(length)``: ``lp = ((5 + length) / 6) ** alpha`` for ``length_norm="gnmt"``
    (Wu et al. 2016, GNMT) or ``lp = length ** alpha`` for ``"power"`` (alpha 1: mean log-probability per
    token, Hugging Face's ``length_penalty``). ``alpha = length_penalty``; 0 ranks by raw log-probability.
    Live hypotheses are scored the same way with the tokens they have so far.

Rules, for a hypothesis that has generated ``n`` tokens
    - Terminal tokens (``end_token`` and every ``stop_tokens``) are banned while ``n < min_length``.
    - With ``no_repeat_ngram_size = k > 0``, a token is banned when it would complete a k-gram that
      already occurs among the generated tokens (the prompt is not searched; k = 1 bans every token
      already generated).
    - A hypothesis ends when it emits a terminal token (``reason="end"``, ``stopped_by`` that token; the
      token is not part of ``tokens``), when it reaches ``max_length`` tokens (``"length"``), or when
      every token is banned (``"blocked"``). So ``length <= max_length`` always.

Greedy search
    Each row takes its highest-scoring allowed token; ties go to the lowest token id.

Beam search (``beam_width = K``)
    Each batch item keeps a beam of at most K hypotheses, finished or live, starting from one live
    hypothesis (its prompt). At each step every live hypothesis is extended by every allowed token (one
    with no allowed token finishes as ``"blocked"``); the candidates (these extensions, the blocked ones
    and the beam's finished hypotheses) are ranked by score, and the K best form the next beam. Ties:
    finished hypotheses first, then by the parent's place in the beam, then by token id. An item is done
    when its beam holds no live hypothesis; the result is its beam, best first. With K = 1 this is
    greedy search exactly (the candidates of one parent share their length, so score order is
    log-probability order), whatever the length penalty; with K at least the number of possible
    sequences it is exhaustive; in between it is a heuristic, as every beam search.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError, OptionError

Step = Callable[[Any, npt.NDArray[np.int64]], tuple[Any, Any]]
"""``step(state, tokens) -> (logits [rows, vocab], new_state)``; see the module docstring."""
Reorder = Callable[[Any, npt.NDArray[np.int64]], Any]
"""``reorder(state, indices) -> state`` for the rows ``indices`` of the previous call."""
Reason = Literal["end", "length", "blocked"]
LENGTH_NORMS = ("gnmt", "power")


@dataclass(frozen=True)
class DecodeSettings:
    """How to decode; the same settings give the same tokens on every backend.

    Attributes:
        beam_width: Hypotheses kept per batch item; 1 is greedy search.
        max_length: Most tokens generated, the terminal token included.
        min_length: Fewest tokens generated before a terminal token may come.
        length_penalty: Exponent ``alpha`` of the length normalisation (0: none).
        length_norm: ``"gnmt"`` (``((5 + L) / 6) ** alpha``) or ``"power"`` (``L ** alpha``).
        no_repeat_ngram_size: Block repeated n-grams of this size among the generated tokens (0: off).
        end_token: The model's end-of-text token, or None.
        stop_tokens: Further tokens that end a hypothesis (an end-of-turn token, a newline).
    """

    beam_width: int = 1
    max_length: int = 32
    min_length: int = 0
    length_penalty: float = 0.0
    length_norm: str = "gnmt"
    no_repeat_ngram_size: int = 0
    end_token: int | None = None
    stop_tokens: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        """Reject settings no search can follow."""
        if self.beam_width < 1:
            raise OptionError("beam_width", f"must be at least 1, got {self.beam_width}")
        if self.max_length < 1:
            raise OptionError("max_length", f"must be at least 1, got {self.max_length}")
        if self.min_length < 0:
            raise OptionError("min_length", f"must be 0 or more, got {self.min_length}")
        if self.no_repeat_ngram_size < 0:
            raise OptionError(
                "no_repeat_ngram_size", f"must be 0 or more, got {self.no_repeat_ngram_size}"
            )
        if self.length_norm not in LENGTH_NORMS:
            raise OptionError(
                "length_norm", f"must be one of {', '.join(LENGTH_NORMS)}, got {self.length_norm!r}"
            )
        if not np.isfinite(self.length_penalty):
            raise OptionError("length_penalty", f"must be finite, got {self.length_penalty}")
        object.__setattr__(self, "stop_tokens", tuple(int(t) for t in self.stop_tokens))
        negative = [t for t in self.terminals if t < 0]
        if negative:
            raise OptionError("stop_tokens", f"token ids must be 0 or more, got {negative[0]}")

    @property
    def terminals(self) -> tuple[int, ...]:
        """Every token that ends a hypothesis (the end token first), without repeats."""
        first = () if self.end_token is None else (int(self.end_token),)
        return tuple(dict.fromkeys((*first, *self.stop_tokens)))

    def penalty(self, length: int) -> float:
        """The length normalisation ``lp(length)`` that divides a log-probability."""
        if self.length_penalty == 0.0:
            return 1.0
        if self.length_norm == "gnmt":
            return float(((5.0 + length) / 6.0) ** self.length_penalty)
        return float(max(length, 1) ** self.length_penalty)


@dataclass(frozen=True)
class Hypothesis:
    """One decoded sequence.

    Attributes:
        tokens: Generated tokens, the prompt and the terminal token left out.
        logprob: Sum of the log-probabilities of the generated tokens, the terminal token included.
        score: ``logprob`` divided by the length normalisation (what the search ranks by).
        reason: ``"end"`` (a terminal token), ``"length"`` (``max_length``) or ``"blocked"``.
        stopped_by: The terminal token that ended it, or None.
    """

    tokens: tuple[int, ...]
    logprob: float
    score: float
    reason: Reason
    stopped_by: int | None = None

    @property
    def length(self) -> int:
        """Tokens generated, the terminal token included (what the length penalty counts)."""
        return len(self.tokens) + (self.stopped_by is not None)


def take_rows(state: Any, indices: npt.NDArray[np.int64]) -> Any:
    """The default ``reorder``: rows ``indices`` of numpy arrays (first axis), recursively inside
    tuples, lists and dicts; None and other values are returned as they are (shared by every row)."""
    if isinstance(state, np.ndarray):
        return state[indices]
    if isinstance(state, tuple | list):
        return type(state)(take_rows(s, indices) for s in state)
    if isinstance(state, Mapping):
        return {k: take_rows(v, indices) for k, v in state.items()}
    return state


def _prompts(prompts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    array = np.asarray(prompts)
    if array.ndim != 2 or array.shape[0] == 0:
        raise InputError(
            f"prompts must be a [batch, length] array with batch >= 1, got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise InputError(f"prompts must hold integer token ids, got {array.dtype}")
    return array.astype(np.int64, copy=False)


def _log_probs(logits: Any, rows: int) -> npt.NDArray[np.float64]:
    """Float64 log-softmax of one step's logits, after checking their shape and values."""
    array = np.asarray(logits, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != rows or array.shape[1] == 0:
        raise InputError(
            f"the decoder step returned logits of shape {array.shape}, not [{rows}, vocab]"
        )
    if np.isnan(array).any() or np.isposinf(array).any():
        raise InputError("the decoder step returned NaN or +inf logits")
    top = array.max(axis=1, keepdims=True)
    usable = np.isfinite(top)  # a row the model scores -inf everywhere has no token to take
    top = np.where(usable, top, 0.0)
    with np.errstate(divide="ignore"):
        lse = np.log(np.exp(array - top).sum(axis=1, keepdims=True))
    return np.where(usable, array - top - np.where(usable, lse, 0.0), -np.inf)


def _ban(
    logp: npt.NDArray[np.float64], generated: npt.NDArray[np.int64], settings: DecodeSettings
) -> None:
    """Set the tokens the rules ban to -inf, in place (``generated``: [rows, n])."""
    n = generated.shape[1]
    terminals = settings.terminals
    if terminals:
        if max(terminals) >= logp.shape[1]:
            raise InputError(
                f"terminal token {max(terminals)} is outside the model's vocabulary of {logp.shape[1]}"
            )
        if n < settings.min_length:
            logp[:, list(terminals)] = -np.inf
    k = settings.no_repeat_ngram_size
    if k and n >= k:
        windows = np.lib.stride_tricks.sliding_window_view(generated, k, axis=1)  # [rows, n-k+1, k]
        tail = generated[:, n - k + 1 :]  # the k-1 tokens a new k-gram would start with
        match = (windows[:, :, : k - 1] == tail[:, None, :]).all(axis=2)
        rows, starts = np.nonzero(match)
        logp[rows, windows[rows, starts, k - 1]] = -np.inf


def _check_step(step: Step, reorder: Reorder | None) -> Reorder:
    if not callable(step):
        raise InputError("the decoder step must be callable")
    return take_rows if reorder is None else reorder


def greedy_search(
    step: Step,
    prompts: npt.ArrayLike,
    state: Any = None,
    settings: DecodeSettings | None = None,
    reorder: Reorder | None = None,
) -> list[Hypothesis]:
    """The greedy decoding of each prompt row (see the module docstring); ``beam_width`` is ignored.

    Returns:
        One hypothesis per row of ``prompts``, in order.
    """
    cfg = settings or DecodeSettings()
    reorder = _check_step(step, reorder)
    tokens = _prompts(prompts)
    prompt_len = tokens.shape[1]
    rows = np.arange(tokens.shape[0])  # batch item of each live row
    logprob = np.zeros(tokens.shape[0])
    terminals = np.array(cfg.terminals, dtype=np.int64)
    done: dict[int, Hypothesis] = {}

    def finish(item: int, gen: npt.NDArray[np.int64], lp: float, reason: Reason) -> None:
        stopped = int(gen[-1]) if reason == "end" else None
        kept = tuple(int(t) for t in (gen[:-1] if stopped is not None else gen))
        length = len(kept) + (stopped is not None)
        done[item] = Hypothesis(kept, lp, lp / cfg.penalty(length), reason, stopped)

    for n in range(cfg.max_length):
        logits, state = step(state, tokens)
        logp = _log_probs(logits, len(rows))
        _ban(logp, tokens[:, prompt_len:], cfg)
        choice = logp.argmax(axis=1)
        best = logp[np.arange(len(rows)), choice]
        blocked = np.isneginf(best)
        ended = np.isin(choice, terminals) & ~blocked
        logprob = logprob + np.where(blocked, 0.0, best)
        grown = np.concatenate([tokens, choice[:, None]], axis=1)
        for i in np.flatnonzero(blocked):
            finish(int(rows[i]), tokens[i, prompt_len:], float(logprob[i]), "blocked")
        for i in np.flatnonzero(ended):
            finish(int(rows[i]), grown[i, prompt_len:], float(logprob[i]), "end")
        live = ~(blocked | ended)
        if n + 1 == cfg.max_length:
            for i in np.flatnonzero(live):
                finish(int(rows[i]), grown[i, prompt_len:], float(logprob[i]), "length")
            break
        if not live.any():
            break
        if not live.all():
            keep = np.flatnonzero(live)
            state = reorder(state, keep)
            rows, grown, logprob = rows[keep], grown[keep], logprob[keep]
        tokens = grown
    return [done[i] for i in range(len(done))]


@dataclass
class _Entry:
    """A hypothesis in a beam: finished (``hyp``) or live (``row`` of the current step)."""

    score: float
    logprob: float
    hyp: Hypothesis | None = None
    row: int = -1
    token: int = -1


def _beam_candidates(
    item_rows: npt.NDArray[np.intp],
    logp: npt.NDArray[np.float64],
    cum: npt.NDArray[np.float64],
    gen: npt.NDArray[np.int64],
    n: int,
    cfg: DecodeSettings,
) -> list[tuple[tuple[float, int, int, int], _Entry]]:
    """Ranked candidates (sort key, entry) of one item's live rows: its K best extensions, and its
    rows that cannot be extended, finished as blocked."""
    k = cfg.beam_width
    vocab = logp.shape[1]
    scores = (cum[item_rows, None] + logp[item_rows]) / cfg.penalty(n + 1)
    flat = scores.ravel()
    if flat.size > k:  # the k best, ties to the lowest flat index (parent place, then token)
        kth = np.partition(flat, flat.size - k)[flat.size - k]
        above = np.flatnonzero(flat > kth)
        chosen = np.concatenate([above, np.flatnonzero(flat == kth)[: k - above.size]])
    else:
        chosen = np.arange(flat.size)
    chosen = chosen[np.isfinite(flat[chosen])]
    out: list[tuple[tuple[float, int, int, int], _Entry]] = []
    for idx in chosen.tolist():
        place, token = divmod(idx, vocab)
        row = int(item_rows[place])
        entry = _Entry(float(flat[idx]), float(cum[row] + logp[row, token]), row=row, token=token)
        out.append(((-entry.score, 1, place, token), entry))
    for place, row in enumerate(item_rows.tolist()):
        if not np.isfinite(logp[row]).any():
            kept = tuple(int(t) for t in gen[row])
            lp = float(cum[row])
            hyp = Hypothesis(kept, lp, lp / cfg.penalty(n), "blocked")
            out.append(((-hyp.score, 1, place, -1), _Entry(hyp.score, lp, hyp=hyp)))
    return out


def beam_search(
    step: Step,
    prompts: npt.ArrayLike,
    state: Any = None,
    settings: DecodeSettings | None = None,
    reorder: Reorder | None = None,
) -> list[list[Hypothesis]]:
    """Beam search over each prompt row (see the module docstring).

    Returns:
        Per row of ``prompts``, its final beam (at most ``beam_width`` hypotheses), best first.
    """
    cfg = settings or DecodeSettings()
    reorder = _check_step(step, reorder)
    tokens = _prompts(prompts)
    batch, prompt_len = tokens.shape
    items = np.arange(batch)  # batch item of each live row, rows of one item together in beam order
    cum = np.zeros(batch)
    finished: list[list[_Entry]] = [[] for _ in range(batch)]
    terminals = set(cfg.terminals)
    for n in range(cfg.max_length):
        logits, state = step(state, tokens)
        logp = _log_probs(logits, len(items))
        gen = tokens[:, prompt_len:]
        _ban(logp, gen, cfg)
        parents: list[int] = []
        chosen_tokens: list[int] = []
        new_cum: list[float] = []
        new_items: list[int] = []
        for item in np.unique(items).tolist():
            ranked = _beam_candidates(np.flatnonzero(items == item), logp, cum, gen, n, cfg)
            ranked += [((-e.score, 0, i, -1), e) for i, e in enumerate(finished[item])]
            ranked.sort(key=lambda pair: pair[0])
            beam: list[_Entry] = []
            for _, entry in ranked[: cfg.beam_width]:
                if entry.hyp is None:
                    seq = (*(int(t) for t in gen[entry.row]), entry.token)
                    if entry.token in terminals or n + 1 == cfg.max_length:
                        reason: Reason = "end" if entry.token in terminals else "length"
                        stopped = entry.token if reason == "end" else None
                        kept = seq[:-1] if stopped is not None else seq
                        entry.hyp = Hypothesis(kept, entry.logprob, entry.score, reason, stopped)
                    else:
                        parents.append(entry.row)
                        chosen_tokens.append(entry.token)
                        new_cum.append(entry.logprob)
                        new_items.append(item)
                        continue
                beam.append(entry)
            finished[item] = beam
        if not parents:
            break
        index = np.array(parents, dtype=np.int64)
        if not np.array_equal(index, np.arange(len(items))):
            state = reorder(state, index)
        tokens = np.concatenate(
            [tokens[index], np.array(chosen_tokens, dtype=np.int64)[:, None]], axis=1
        )
        cum, items = np.array(new_cum), np.array(new_items)
    return [_ranked(entries) for entries in finished]


def _ranked(entries: Sequence[_Entry]) -> list[Hypothesis]:
    """The finished hypotheses of a beam, best first (a stable sort keeps the beam's tie order)."""
    hyps = [e.hyp for e in entries if e.hyp is not None]
    return sorted(hyps, key=lambda h: -h.score)


def decode(
    step: Step,
    prompts: npt.ArrayLike,
    state: Any = None,
    settings: DecodeSettings | None = None,
    reorder: Reorder | None = None,
) -> list[Hypothesis]:
    """The best hypothesis per prompt row: greedy search for ``beam_width`` 1, else beam search."""
    cfg = settings or DecodeSettings()
    if cfg.beam_width == 1:
        return greedy_search(step, prompts, state, cfg, reorder)
    return [beam[0] for beam in beam_search(step, prompts, state, cfg, reorder)]


SETTING_KEYS = (
    "beam_width",
    "max_length",
    "min_length",
    "length_penalty",
    "length_norm",
    "no_repeat_ngram_size",
)
"""The `DecodeSettings` a model's defaults and a user's overrides may set (the end token is the model's)."""


def settings_for(
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    end_token: int,
    longest: int,
) -> DecodeSettings:
    """A model's default settings with ``overrides`` (None values ignored) and its end token.

    Args:
        defaults: The model's defaults (a config's or bundle's ``decode``); unknown keys ignored.
        overrides: The caller's choices; an unknown key is an `OptionError`.
        end_token: The model's end-of-text token.
        longest: The most tokens the model can generate (its context less the prompt).
    """
    values = {k: v for k, v in defaults.items() if k in SETTING_KEYS}
    chosen = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(chosen) - set(SETTING_KEYS))
    if unknown:
        raise OptionError(unknown[0], "is not a decoding setting")
    settings = DecodeSettings(**{**values, **chosen}, end_token=end_token)
    if settings.max_length > longest:
        raise OptionError("max_length", f"must be at most {longest}, got {settings.max_length}")
    return settings
