"""VQA metrics: accuracy per question type, mean absolute error of numeric answers, and beside every
figure the majority-answer baseline learnt from a training set.

References are the narrator's ``qa.jsonl`` records (image, question, answer, type, answer_kind; see
`sargeo.narrator.qa`); predictions are records with image, question and answer, matched to them by
image and question. Answers are compared after `normalise_answer` (case, punctuation, articles; number
words become digits, so 'three' and '3' agree):

- a yes/no reference is matched by the prediction's first word ('Yes, there is.' is right);
- a numeric reference (a count, a length, a share) by the prediction's first number ('3 ships',
  'about 190 m', '27%'); its absolute error goes into the type's mean absolute error (MAE);
- any other reference by the whole normalised answer (exact match).

Free-form types (``describe``: a caption) are not scored here; caption metrics are for them. The
baseline answers every question of a type with that type's most frequent (normalised) answer in the
training pairs, which must come from other images than the test pairs (the narrator's train split).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sargeo.errors import InputError
from sargeo.eval.claims import claim_words
from sargeo.eval.inputs import Records, example, qa_records
from sargeo.eval.report import figure, table
from sargeo.narrator.vocab import Vocab, load_vocab

TYPE_ORDER = (
    "presence",
    "count",
    "position",
    "size",
    "length",
    "heading",
    "type",
    "arrangement",
    "landcover",
    "compare",
)
"""Question types in the order tables show them (others follow, sorted)."""
UNSCORED = frozenset({"describe"})
"""Free-form types: no exact answer to match."""
ARTICLES = frozenset({"a", "an", "the"})
YES_NO = frozenset({"yes", "no"})
_NUMBER = re.compile(r"^\d+(?:\.\d+)?%?$")


class AnswerNormaliser:
    """`normalise_answer` with the number words of the narrator's vocabulary and the fact parser."""

    def __init__(self, vocab: Vocab | None = None) -> None:
        """Collect single-word numbers: 'one'..'ten' (the narrator's) and 'zero', 'eleven'..."""
        vocab = vocab or load_vocab()
        words = {w: n for n, w in enumerate(vocab.words["numbers"]) if n > 0}
        words.update((w, int(n)) for w, n in claim_words()["exact"].items() if " " not in w)
        self.numbers = {w.lower(): str(n) for w, n in words.items()}

    def __call__(self, answer: str) -> str:
        """Lower case, '%' for 'percent', no punctuation (but decimal points and '%'), no articles,
        digits for number words, single spaces."""
        text = answer.lower().replace("per cent", "%").replace("percent", "%")
        text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000
        text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # full stops, not decimal points
        text = re.sub(r"(\d)\s+%", r"\1%", re.sub(r"[^\w\s.%]|_", " ", text))
        words = [self.numbers.get(w, w) for w in text.split() if w not in ARTICLES]
        return " ".join(words)


def first_number(normalised: str) -> float | None:
    """The first number of a normalised answer ('about 190 m' -> 190, '27%' -> 27), or None."""
    for word in normalised.split():
        if _NUMBER.match(word):
            return float(word.rstrip("%"))
    return None


def is_numeric(reference: Mapping[str, Any], normalised: str) -> bool:
    """Whether a reference answer is a number to compare as one (its kind, or a count question)."""
    kind = reference.get("answer_kind")
    if kind is not None:
        return kind == "number" and first_number(normalised) is not None
    return reference["type"] == "count" and first_number(normalised) is not None


def correct(reference: str, prediction: str, numeric: bool) -> bool:
    """Whether a normalised prediction answers a normalised reference (rules in the module doc)."""
    if reference in YES_NO:
        return prediction.split()[:1] == [reference]
    if numeric:
        return first_number(prediction) == first_number(reference)
    return prediction == reference


@dataclass
class TypeScores:
    """The figures of one question type, each beside its majority-answer baseline.

    Attributes:
        questions: Test questions of this type.
        correct: Predictions judged right.
        accuracy: ``correct / questions``.
        majority: The most frequent training answer of this type (None: no training pair).
        baseline_accuracy: Accuracy of always answering ``majority``.
        numeric: Questions with a numeric reference answer.
        unparsed: Of those, predictions without a number (left out of the MAE).
        mae: Mean absolute error over the numeric questions whose prediction has a number.
        baseline_mae: MAE of always answering ``majority`` (when it is a number).
    """

    questions: int = 0
    correct: int = 0
    accuracy: float | None = None
    majority: str | None = None
    baseline_accuracy: float | None = None
    numeric: int = 0
    unparsed: int = 0
    mae: float | None = None
    baseline_mae: float | None = None


@dataclass
class VQAScores:
    """VQA metrics of one set of predicted answers.

    Attributes:
        types: Question type -> its figures (in table order).
        overall: The same figures over every scored question.
        unscored: Free-form types left out -> number of questions.
        train_pairs: Training pairs the baselines were learnt from (0: no baselines).
        per_question: One row per scored question (image, question, type, reference, prediction,
            correct).
    """

    types: dict[str, TypeScores]
    overall: TypeScores
    unscored: dict[str, int] = field(default_factory=dict)
    train_pairs: int = 0
    per_question: list[dict[str, Any]] = field(default_factory=list)

    def table(self) -> str:
        """Accuracy and MAE per type, each beside the majority baseline, as a printable table."""
        header = (
            "type",
            "questions",
            "accuracy",
            "baseline",
            "majority answer",
            "MAE",
            "baseline MAE",
        )
        rows = []
        for name, s in [*self.types.items(), ("all", self.overall)]:
            rows.append(
                (
                    name,
                    str(s.questions),
                    figure(s.accuracy, 3),
                    figure(s.baseline_accuracy, 3),
                    "" if name == "all" else "n/a" if s.majority is None else repr(s.majority),
                    figure(s.mae, 2) if s.numeric else "",
                    figure(s.baseline_mae, 2) if s.numeric else "",
                )
            )
        lines = [f"VQA: {self.overall.questions} questions scored", table(header, rows)]
        if not self.train_pairs:
            lines.append("baselines: n/a (no training pairs given)")
        else:
            lines.append(
                f"baselines: the majority answer per type over {self.train_pairs} training pairs"
            )
        lines += [f"not scored: {n} {t} questions (free-form)" for t, n in self.unscored.items()]
        return "\n".join(lines)

    def to_dict(self, per_question: bool = True) -> dict[str, Any]:
        """JSON-ready form; ``per_question`` adds every judged answer."""
        out: dict[str, Any] = {
            "types": {name: asdict(s) for name, s in self.types.items()},
            "overall": asdict(self.overall),
            "unscored": self.unscored,
            "train_pairs": self.train_pairs,
        }
        if per_question:
            out["questions"] = self.per_question
        return out

    def to_json(self, per_question: bool = True) -> str:
        """`to_dict` as JSON text."""
        return json.dumps(self.to_dict(per_question), indent=2, ensure_ascii=False) + "\n"


def majority_answers(
    train: Iterable[Mapping[str, Any]], normalise: AnswerNormaliser
) -> dict[str, str]:
    """Question type -> its most frequent normalised answer (ties: the first seen)."""
    counts: dict[str, Counter[str]] = {}
    for record in train:
        counts.setdefault(str(record["type"]), Counter())[normalise(str(record["answer"]))] += 1
    return {t: c.most_common(1)[0][0] for t, c in counts.items()}


def _score(rows: list[dict[str, Any]], majority: str | None) -> TypeScores:
    """The figures of a group of judged rows."""
    s = TypeScores(questions=len(rows), majority=majority)
    s.correct = sum(r["correct"] for r in rows)
    s.accuracy = s.correct / len(rows) if rows else None
    numeric = [r for r in rows if r["numeric"]]
    s.numeric = len(numeric)
    errors = [r["error"] for r in numeric if r["error"] is not None]
    s.unparsed = len(numeric) - len(errors)
    s.mae = sum(errors) / len(errors) if errors else None
    hits = [r["baseline"] for r in rows if "baseline" in r]
    if rows and len(hits) == len(rows):  # a baseline only where every question has one
        s.baseline_accuracy = sum(hits) / len(rows)
        base = [float(r["baseline_error"]) for r in numeric if r.get("baseline_error") is not None]
        if base and len(base) == len(numeric):
            s.baseline_mae = sum(base) / len(base)
    return s


def _order(types: Iterable[str]) -> list[str]:
    present = set(types)
    return [t for t in TYPE_ORDER if t in present] + sorted(present - set(TYPE_ORDER))


def evaluate_vqa(
    predictions: Records,
    references: Records,
    train: Records | None = None,
    *,
    key: str = "image",
    split: str | None = None,
    train_split: str | None = None,
    vocab: Vocab | None = None,
    types: Iterable[str] | None = None,
) -> VQAScores:
    """Score predicted answers against the narrator's reference answers.

    Args:
        predictions: Records (or a JSONL file) with ``key``, ``question`` and ``answer``; one per
            scored reference question, none for a question without reference.
        references: The narrator's ``qa.jsonl`` (records with ``key``, ``question``, ``answer``,
            ``type`` and optionally ``answer_kind``).
        train: Training question-answer pairs (the same record form) for the majority baselines;
            None: no baselines.
        key: The field that names an image: ``image`` or ``sample_id``.
        split: Keep only the references of this split; ``train_split``: likewise for ``train``.
        vocab: The narrator vocabulary (number words).
        types: Score only these question types (e.g. count and presence); None: all.

    Raises:
        InputError: unreadable files, missing fields, duplicate or unmatched predictions.
    """
    normalise = AnswerNormaliser(vocab)
    refs = qa_records(references, "reference", ("answer", "type"), key, split)
    if types is not None:
        wanted = set(types)
        refs = [r for r in refs if r["type"] in wanted]
        if not refs:
            raise InputError(f"no reference question of type {', '.join(sorted(wanted))}")
    preds = qa_records(predictions, "prediction", ("answer",), key)
    train_rows = (
        qa_records(train, "training pair", ("answer", "type"), key, train_split) if train else []
    )
    majority = majority_answers(train_rows, normalise)
    answers: dict[tuple[str, str], str] = {}
    for row in preds:
        ask = (row[key], " ".join(row["question"].split()))
        if ask in answers:
            raise InputError(f"a second answer to {ask[1]!r} about {ask[0]!r}")
        answers[ask] = row["answer"]
    asked = {(r[key], " ".join(r["question"].split())) for r in refs}
    extra = answers.keys() - asked
    if extra:
        raise InputError(
            f"{len(extra)} predicted answers have no reference question: "
            f"{example(f'{q} ({i})' for i, q in extra)}"
        )
    unscored: Counter[str] = Counter()
    judged: dict[str, list[dict[str, Any]]] = {}
    missing = []
    for ref in refs:
        kind = ref["type"]
        if kind in UNSCORED:
            unscored[kind] += 1
            continue
        ask = (ref[key], " ".join(ref["question"].split()))
        if ask not in answers:
            missing.append(f"{ask[1]} ({ask[0]})")
            continue
        judged.setdefault(kind, []).append(
            _judge(ref, answers[ask], majority.get(kind), normalise, key)
        )
    if missing:
        raise InputError(
            f"{len(missing)} reference questions have no predicted answer: {example(missing)}"
        )
    if not judged:
        raise InputError("no reference question can be scored (only free-form types)")
    types = {t: _score(judged[t], majority.get(t)) for t in _order(judged)}
    every = [r for t in types for r in judged[t]]
    overall = _score(every, None)
    return VQAScores(types, overall, dict(unscored), len(train_rows), every)


def _judge(
    ref: Mapping[str, Any],
    prediction: str,
    majority: str | None,
    normalise: AnswerNormaliser,
    key: str,
) -> dict[str, Any]:
    """One reference question with its prediction, judged (and the baseline's answer judged)."""
    truth, said = normalise(ref["answer"]), normalise(prediction)
    numeric = is_numeric(ref, truth)
    row: dict[str, Any] = {
        "image": ref[key],
        "question": ref["question"],
        "type": ref["type"],
        "reference": ref["answer"],
        "prediction": prediction,
        "correct": correct(truth, said, numeric),
        "numeric": numeric,
        "error": None,
    }
    if numeric:
        value, target = first_number(said), first_number(truth)
        row["error"] = abs(value - target) if value is not None and target is not None else None
    if majority is not None:
        row["baseline"] = correct(truth, majority, numeric)
        guess = first_number(majority)
        if numeric and guess is not None:
            row["baseline_error"] = abs(guess - (first_number(truth) or 0.0))
    return row
