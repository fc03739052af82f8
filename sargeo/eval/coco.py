"""pycocoevalcap's scorers, run so that a missing piece says why instead of failing or scoring zero.

- Tokenisation: pycocoevalcap's PTBTokenizer (Stanford CoreNLP 3.4.1, the jar it ships) on Java, with
  its punctuation filter. It is run here through a pipe, not through its temporary file inside the
  installed package, so it works from a read-only install. Without Java, `simple_tokenize` stands in;
  it agrees with PTB on the narrator's wording (a test checks it), and the scores say which ran.
- BLEU-1..4, ROUGE-L and CIDEr-D are pure Python. (pycocoevalcap's ``Cider`` is CIDEr-D: clipped
  n-gram counts and a Gaussian length penalty, sigma 6; its document frequencies come from the
  references of the images scored, so CIDEr-D depends on the whole test set.)
- METEOR 1.5 runs on Java (the jar pycocoevalcap ships).
- SPICE 1.0 (the jar pycocoevalcap ships) needs Stanford CoreNLP 3.6.0 and its models, which
  pycocoevalcap downloads at first use; it runs only when both jars are found (`corenlp_jars`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import METEOR_JAR, Meteor
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer import ptbtokenizer
from pycocoevalcap.tokenizer.ptbtokenizer import PUNCTUATIONS, STANFORD_CORENLP_3_4_1_JAR

PACKAGE = Path(ptbtokenizer.__file__).resolve().parent.parent
"""pycocoevalcap's folder (a namespace package: no ``__init__``), where its jars lie."""
PTB_CLASS = "edu.stanford.nlp.process.PTBTokenizer"
SPICE_CLASS = "edu.anu.spice.SpiceScorer"
CORENLP_JARS = ("stanford-corenlp-3.6.0.jar", "stanford-corenlp-3.6.0-models.jar")
CORENLP_ENV = "SARGEO_CORENLP_DIR"
"""A folder holding `CORENLP_JARS`, for SPICE."""
JAVA_TIMEOUT = 60.0
_SENTINEL = "sargeoend"
Tokenized = dict[str, list[str]]


class Unavailable(Exception):
    """A scorer that cannot run here; the message says why (it becomes the metric's reason)."""


def find_java(java: str | None = None) -> tuple[str | None, str]:
    """(the java command, '') when it runs, else (None, why not).

    ``java`` names the program; by default ``java`` on the PATH, then ``$JAVA_HOME/bin/java``.
    """
    home = os.environ.get("JAVA_HOME")
    candidate = java or shutil.which("java") or (str(Path(home) / "bin" / "java") if home else None)
    if candidate is None:
        return None, "Java not found (install a JRE, e.g. Debian's default-jre-headless)"
    try:
        done = subprocess.run(
            [candidate, "-version"], capture_output=True, timeout=JAVA_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"Java ({candidate}) does not run: {exc}"
    if done.returncode != 0:
        return None, f"Java ({candidate}) does not run: {_tail(done.stderr)}"
    return candidate, ""


def _tail(data: bytes | str, lines: int = 3) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return " ".join(" ".join(text.strip().splitlines()[-lines:]).split()) or "no message"


def _flatten(captions: Mapping[str, list[str]]) -> tuple[list[str], list[str]]:
    ids = [image for image, texts in captions.items() for _ in texts]
    texts = [" ".join(t.split()) for texts in captions.values() for t in texts]
    return ids, texts


def _regroup(ids: list[str], lines: list[str]) -> Tokenized:
    out: Tokenized = {}
    for image, line in zip(ids, lines, strict=True):
        out.setdefault(image, []).append(line)
    return out


def ptb_tokenize(captions: Mapping[str, list[str]], java: str) -> Tokenized:
    """pycocoevalcap's PTB tokenisation (lower case, punctuation removed) of every caption."""
    ids, texts = _flatten(captions)
    jar = PACKAGE / "tokenizer" / STANFORD_CORENLP_3_4_1_JAR
    command = [java, "-cp", str(jar), PTB_CLASS, "-preserveLines", "-lowerCase"]
    data = "\n".join([*texts, _SENTINEL]).encode("utf-8")
    try:
        done = subprocess.run(command, input=data, capture_output=True, check=False)
    except OSError as exc:
        raise Unavailable(f"the PTB tokenizer does not run: {exc}") from exc
    lines = done.stdout.decode("utf-8").split("\n")
    if done.returncode != 0 or len(lines) <= len(texts) or lines[len(texts)].strip() != _SENTINEL:
        raise Unavailable(f"the PTB tokenizer failed: {_tail(done.stderr)}")
    kept = [
        " ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS) for line in lines
    ]
    return _regroup(ids, kept[: len(texts)])


_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
_TOKEN = re.compile(
    r"""(?:[a-z]\.){2,}(?![a-z])          # abbreviations: u.s., e.g.
    | (?:mrs?|dr|st|co|inc|ltd|jr|vs|etc)\.(?![a-z])  # and a few common ones
    | \d+(?:[.,:/]\d+)*                   # numbers: 3.5, 1,000, 12:30
    | [a-z0-9]+(?:[-&/][a-z0-9]+)*(?=n't) # the word before n't
    | n't | '(?:s|re|ve|ll|m|d)\b         # clitics
    | [a-z0-9]+(?:[-&/.][a-z0-9]+)*       # words, with inner hyphens
    | -- | \.\.\. | ``|''                 # multi-character punctuation
    | \S                                  # any other character alone
    """,
    re.VERBOSE,
)


def simple_tokenize(text: str) -> str:
    """A PTB-like tokenisation in Python (lower case, pycocoevalcap's punctuation removed), for when
    Java is missing. It keeps PTB's bracket tokens ('-lrb-'), which pycocoevalcap's filter misses
    after lower-casing, so scores match those over PTB tokens."""
    words = []
    for token in _TOKEN.findall(" ".join(text.lower().split())):
        token = _BRACKETS.get(token, token)
        if token == '"':
            continue  # PTB turns quotes into `` and '', both removed
        if token not in PUNCTUATIONS:
            words.append(token)
    return " ".join(words)


def python_tokenize(captions: Mapping[str, list[str]]) -> Tokenized:
    """`simple_tokenize` over every caption."""
    ids, texts = _flatten(captions)
    return _regroup(ids, [simple_tokenize(t) for t in texts])


def bleu_rouge_cider(gts: Tokenized, res: Tokenized) -> dict[str, tuple[float, list[float]]]:
    """BLEU-1..4, ROUGE-L and CIDEr-D: metric -> (corpus score, per-image scores in ``gts`` order)."""
    out: dict[str, tuple[float, list[float]]] = {}
    with contextlib.redirect_stdout(io.StringIO()):  # BLEU prints its n-gram statistics
        bleu, per_image = Bleu(4).compute_score(gts, res, verbose=0)
        for n in range(4):
            out[f"BLEU-{n + 1}"] = (float(bleu[n]), [float(v) for v in per_image[n]])
        for name, scorer in (("ROUGE-L", Rouge()), ("CIDEr-D", Cider())):
            score, scores = scorer.compute_score(gts, res)
            out[name] = (float(score), [float(v) for v in scores])
    return out


class _Meteor(Meteor):
    """pycocoevalcap's METEOR client on a given Java, which always ends its process when closed
    (the original waits for a lock that an error inside ``compute_score`` leaves taken)."""

    def __init__(self, java: str) -> None:
        self.meteor_cmd = [
            java,
            "-jar",
            "-Xmx2G",
            METEOR_JAR,
            "-",
            "-",
            "-stdio",
            "-l",
            "en",
            "-norm",
        ]
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in `close`)
        self.meteor_p = subprocess.Popen(
            self.meteor_cmd,
            cwd=PACKAGE / "meteor",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.errors,
        )
        self.lock = threading.Lock()

    def stderr(self) -> str:
        self.errors.seek(0)
        return _tail(self.errors.read())

    def close(self) -> None:
        if self.meteor_p.poll() is None:
            self.meteor_p.kill()
        self.meteor_p.wait()
        for pipe in (self.meteor_p.stdin, self.meteor_p.stdout):
            if pipe is not None:
                pipe.close()
        self.errors.close()

    def __del__(self) -> None:
        """Nothing: `close` ends the process."""


def meteor(gts: Tokenized, res: Tokenized, java: str) -> tuple[float, list[float]]:
    """METEOR 1.5: (corpus score, per-image scores in ``gts`` order)."""
    try:
        scorer = _Meteor(java)
    except OSError as exc:
        raise Unavailable(f"METEOR does not start: {exc}") from exc
    try:
        score, scores = scorer.compute_score(gts, res)
    except (OSError, ValueError) as exc:  # a dead process: broken pipe, or no number to read
        raise Unavailable(f"METEOR failed: {scorer.stderr()}") from exc
    finally:
        scorer.close()
    return float(score), [float(v) for v in scores]


def corenlp_jars(folder: str | Path | None = None) -> tuple[list[Path] | None, str]:
    """(the two CoreNLP 3.6.0 jars SPICE needs, '') or (None, why SPICE cannot run).

    Looked for in ``folder``, then in ``$SARGEO_CORENLP_DIR``, then in pycocoevalcap's
    ``spice/lib`` (where its downloader puts them).
    """
    env = os.environ.get(CORENLP_ENV)
    places = [Path(p) for p in (folder, env) if p] + [PACKAGE / "spice" / "lib"]
    for place in places:
        jars = [place / name for name in CORENLP_JARS]
        if all(j.is_file() for j in jars):
            return jars, ""
    where = ", ".join(str(p) for p in places)
    return None, (
        f"SPICE needs Stanford CoreNLP 3.6.0 ({' and '.join(CORENLP_JARS)}), which pycocoevalcap "
        f"downloads from the internet at first use; not found in {where} "
        f"(put them in a folder and pass it as `corenlp_dir` or in ${CORENLP_ENV})"
    )


def spice(gts: Tokenized, res: Tokenized, java: str, jars: list[Path]) -> tuple[float, list[float]]:
    """SPICE 1.0 F-score: (mean over images, per-image scores in ``gts`` order; NaN where SPICE
    gives none)."""
    spice_dir = PACKAGE / "spice"
    classpath = os.pathsep.join(
        [str(spice_dir / "spice-1.0.jar"), str(spice_dir / "lib" / "*"), *(str(j) for j in jars)]
    )
    items = [{"image_id": i, "test": res[i][0], "refs": gts[i]} for i in gts]
    with tempfile.TemporaryDirectory(prefix="sargeo-spice-") as tmp:
        source, target = Path(tmp) / "in.json", Path(tmp) / "out.json"
        source.write_text(json.dumps(items), encoding="utf-8")
        command = [java, "-Xmx8G", "-cp", classpath, SPICE_CLASS, str(source)]
        command += ["-out", str(target), "-subset", "-silent"]
        try:
            done = subprocess.run(command, capture_output=True, check=False, cwd=tmp)
        except OSError as exc:
            raise Unavailable(f"SPICE does not run: {exc}") from exc
        if done.returncode != 0 or not target.is_file():
            raise Unavailable(f"SPICE failed: {_tail(done.stderr or done.stdout)}")
        results: list[dict[str, Any]] = json.loads(target.read_text(encoding="utf-8"))
    by_image = {str(r["image_id"]): _float(r["scores"]["All"]["f"]) for r in results}
    scores = [by_image.get(i, float("nan")) for i in gts]
    finite = [s for s in scores if s == s]
    if not finite:
        raise Unavailable("SPICE gave no score for any image")
    return sum(finite) / len(finite), scores


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
