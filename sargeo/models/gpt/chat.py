"""Dialogues -> token ids through the language model's chat template, with the image's slots.

A dialogue is LLaVA-style (``{"from": "human"|"gpt", "value": ...}``, the image token ``<image>`` in the
first question) or plain chat messages (``role``/``content``). It is rendered with the model's chat
template (SmolLM2's own Jinja template; the tiny model's ChatML written out here, the same layout),
after the config's system message. The image token becomes ``n`` image slots whose embeddings the
projector fills. Only the assistant's answers (and their end-of-turn token) are labelled for the loss.

The text is tokenized segment by segment (the prompt of each turn, then its answer), so a prompt at
inference gets exactly the tokens it had in training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sargeo.errors import InputError
from sargeo.runtime.gpt_text import (
    WORD,
    WORD_SPECIALS,
    decode_bytes,
    decode_words,
    encode_bytes,
    encode_words,
)

IGNORE = -100
"""Label of a token without loss (prompts, image slots, padding)."""
ROLES = {"human": "user", "gpt": "assistant", "user": "user", "assistant": "assistant"}


class TextCodec(Protocol):
    """What the chat layer needs of a tokenizer."""

    pad_id: int
    stop_ids: tuple[int, ...]
    vocab_size: int

    def render(self, messages: Sequence[Mapping[str, str]], generation_prompt: bool) -> str:
        """The chat template applied to ``messages``."""

    def encode(self, text: str) -> list[int]:
        """Text (special tokens written out) -> ids."""

    def decode(self, ids: Sequence[int]) -> str:
        """Ids -> text, special tokens dropped."""


class ByteCodec:
    """Bytes as tokens (0-255) plus ChatML's special tokens: no vocabulary file, for the tiny model."""

    SPECIALS: tuple[str, ...] = ("<|im_start|>", "<|im_end|>", "<|pad|>")

    def __init__(self) -> None:
        self.ids = {s: 256 + i for i, s in enumerate(self.SPECIALS)}
        self.pad_id = self.ids["<|pad|>"]
        self.stop_ids: tuple[int, ...] = (self.ids["<|im_end|>"],)
        self.vocab_size = 256 + len(self.SPECIALS)

    def render(self, messages: Sequence[Mapping[str, str]], generation_prompt: bool) -> str:
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if generation_prompt else "")

    def encode(self, text: str) -> list[int]:
        return encode_bytes(self.ids, text)

    def decode(self, ids: Sequence[int]) -> str:
        return decode_bytes(ids)


class WordCodec(ByteCodec):
    """Whole words as tokens (a vocabulary collected from the training dialogues, kept in the model
    config) plus ChatML's special tokens and ``<unk>``: short sequences, for the tiny model."""

    SPECIALS = WORD_SPECIALS
    WORD = WORD

    def __init__(self, words: Sequence[str]) -> None:
        self.vocab = [*self.SPECIALS, *dict.fromkeys(w for w in words if w not in self.SPECIALS)]
        self.ids = {w: i for i, w in enumerate(self.vocab)}
        self.pad_id = self.ids["<|pad|>"]
        self.stop_ids = (self.ids["<|im_end|>"],)
        self.vocab_size = len(self.vocab)

    @classmethod
    def words_of(cls, texts: Iterable[str]) -> list[str]:
        """The vocabulary of ``texts``, most frequent first (the chat template's words included)."""
        counts = Counter(w for text in texts for w in cls.WORD.findall(text))
        counts.update(["system", "user", "assistant"])
        return [w for w, _ in counts.most_common()]

    def encode(self, text: str) -> list[int]:
        return encode_words(self.ids, text)

    def decode(self, ids: Sequence[int]) -> str:
        return decode_words(self.vocab, ids)


class HFCodec:
    """A Hugging Face tokenizer with its chat template (SmolLM2: ChatML)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tok = tokenizer
        end = tokenizer.convert_tokens_to_ids("<|im_end|>")
        stops = [i for i in (end, tokenizer.eos_token_id) if isinstance(i, int) and i >= 0]
        self.stop_ids = tuple(dict.fromkeys(stops))
        pad = tokenizer.pad_token_id
        self.pad_id = int(pad if pad is not None else self.stop_ids[0])
        self.vocab_size = len(tokenizer)

    def render(self, messages: Sequence[Mapping[str, str]], generation_prompt: bool) -> str:
        text: str = self.tok.apply_chat_template(
            [dict(m) for m in messages], tokenize=False, add_generation_prompt=generation_prompt
        )
        return text

    def encode(self, text: str) -> list[int]:
        ids: list[int] = self.tok(text, add_special_tokens=False)["input_ids"]
        return ids

    def decode(self, ids: Sequence[int]) -> str:
        text: str = self.tok.decode(list(ids), skip_special_tokens=True)
        return text


@dataclass(frozen=True)
class Encoded:
    """One tokenized dialogue: ids, which positions are image slots, and the labels."""

    ids: list[int]
    image: list[bool]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.ids)


def messages_of(dialogue: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    """LLaVA turns (``from``/``value``) or chat messages (``role``/``content``) -> chat messages."""
    out = []
    for turn in dialogue:
        role = turn.get("role") or turn.get("from") or ""
        content = turn.get("content", turn.get("value"))
        if role not in ROLES or not isinstance(content, str):
            raise InputError(f"a dialogue turn needs from/value (human, gpt), got {dict(turn)}")
        out.append({"role": ROLES[role], "content": content})
    return out


class ChatFormat:
    """Dialogues -> `Encoded` for a model (see the module docstring)."""

    def __init__(
        self, codec: TextCodec, system: str, image_token: str, image_slots: int, context: int
    ) -> None:
        self.codec, self.system, self.image_token = codec, system, image_token
        self.image_slots, self.context = image_slots, context

    def _segment(self, text: str, out: Encoded, labelled: bool, image_left: list[bool]) -> None:
        parts = text.split(self.image_token)
        for i, part in enumerate(parts):
            if i:
                if not image_left[0]:
                    raise InputError(f"a dialogue may hold one image token {self.image_token!r}")
                image_left[0] = False
                out.ids.extend([self.codec.pad_id] * self.image_slots)
                out.image.extend([True] * self.image_slots)
                out.labels.extend([IGNORE] * self.image_slots)
            ids = self.codec.encode(part)
            out.ids.extend(ids)
            out.image.extend([False] * len(ids))
            out.labels.extend(ids if labelled else [IGNORE] * len(ids))

    def _with_system(self, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        if self.system and (not messages or messages[0]["role"] != "system"):
            return [{"role": "system", "content": self.system}, *messages]
        return messages

    def _turns(
        self, messages: list[dict[str, str]], labelled: bool
    ) -> tuple[Encoded, list[int], str]:
        """Every assistant turn's prompt and answer as segments; the length after each answer, and
        the text rendered so far."""
        out = Encoded([], [], [])
        ends: list[int] = []
        image_left = [True]
        done = ""
        for k, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            prompt = self.codec.render(messages[:k], generation_prompt=True)
            full = self.codec.render(messages[: k + 1], generation_prompt=False)
            if not (prompt.startswith(done) and full.startswith(prompt)):
                raise InputError("the chat template does not extend a dialogue turn by turn")
            self._segment(prompt[len(done) :], out, False, image_left)
            self._segment(full[len(prompt) :], out, labelled, image_left)
            ends.append(len(out))
            done = full
        if image_left[0] and messages:  # the image token not met yet: it is in the last question
            final = self.codec.render(messages, generation_prompt=True)
            if self.image_token not in final[len(done) :]:
                raise InputError(f"a dialogue needs the image token {self.image_token!r}")
        return out, ends, done

    def encode(self, dialogue: Sequence[Mapping[str, str]]) -> Encoded:
        """A whole dialogue for training; the turns past the context are dropped.

        Raises:
            InputError: no image token, no answer, or a first turn longer than the context.
        """
        out, ends, _ = self._turns(self._with_system(messages_of(dialogue)), True)
        fits = [n for n in ends if n <= self.context]
        if not ends:
            raise InputError("a dialogue needs at least one answer")
        if not fits:
            raise InputError(
                f"the first turn of a dialogue is longer than the context ({self.context})"
            )
        n = fits[-1]
        return Encoded(out.ids[:n], out.image[:n], out.labels[:n])

    def prompt(self, history: Sequence[Mapping[str, str]], question: str) -> Encoded:
        """The ids that ask ``question`` after ``history`` (earlier turns), ending with the
        assistant's generation prompt; the first question carries the image token.

        Raises:
            InputError: an empty question, or one that does not fit the context.
        """
        if not question.strip():
            raise InputError("the question is empty")
        text = question if history else f"{self.image_token}\n{question}"
        messages = self._with_system([*messages_of(history), {"role": "user", "content": text}])
        out, _, done = self._turns(messages, False)
        final = self.codec.render(messages, generation_prompt=True)
        self._segment(final[len(done) :], out, False, [not any(out.image)])
        if len(out) >= self.context:
            raise InputError(
                f"the question is too long: {len(out)} tokens with the image and the chat"
                f" template, the model's context is {self.context}"
            )
        return out
