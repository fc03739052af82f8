"""Model bundles: a folder with ``bundle.json``, ONNX graphs and tokenizer files, checked on loading.

``bundle.json`` (format version `FORMAT_VERSION`) names the task, each graph file with its sha256,
inputs and outputs, the preprocessing (`sargeo.runtime.preprocess.PreprocessSpec`), the tokenizer (kind,
files with their sha256, context length, special tokens), prompt templates, the embedding size, and the
training recipe, data card, metrics and parity figures the model was exported with. The same keys are
stored in every graph's ONNX ``metadata_props`` (prefixed ``sargeo.``; see `graph_metadata`), so one
graph file stays self-describing.

Loading refuses a bundle whose format or version this code does not read, whose task lacks a graph
the task needs, or whose graph or tokenizer files are missing or differ from their recorded sha256,
each with a one-line `BundleError` that says why. The bundle's own hash (`Bundle.sha256`) is the sha256
of ``bundle.json``, which holds every file's hash: it names the exact model in provenance records.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sargeo.errors import InputError
from sargeo.runtime.preprocess import PreprocessSpec

FORMAT = "sargeo-bundle"
FORMAT_VERSION = 1
BUNDLE_FILE = "bundle.json"
METADATA_PREFIX = "sargeo."

TASK_GRAPHS: dict[str, tuple[str, ...]] = {
    "clip": ("image_encoder", "text_encoder"),
    "coca": ("image_encoder", "decoder_step"),
    "gpt": ("vision_encoder", "lm_step"),
}
"""Graph roles each task needs: CLIP's two encoders; CoCa's image encoder and one decoder step; SAR-GPT's
vision encoder (with projector) and one language-model step with a key-value cache."""

HASHED_KEYS = ("sha256", "bytes")
"""Per-graph keys that ``metadata_props`` leave out: a graph cannot hold its own hash."""


class BundleError(InputError):
    """A bundle that cannot be used: not a bundle, another format version, missing or changed files."""


@dataclass(frozen=True)
class TensorInfo:
    """One graph input or output: name, element type and shape (str for dynamic axes)."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorInfo:
        """From ``{"name", "dtype", "shape"}``."""
        return cls(str(data["name"]), str(data["dtype"]), tuple(data["shape"]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}


@dataclass(frozen=True)
class GraphInfo:
    """One ONNX graph of a bundle."""

    role: str
    file: str
    sha256: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    precision: str = "fp32"


@dataclass(frozen=True)
class TokenizerInfo:
    """How text becomes ids: ``kind`` (``hash-words`` or ``hf-json``), files with sha256, context."""

    kind: str
    context_length: int
    files: dict[str, str] = field(default_factory=dict)
    special_tokens: dict[str, int] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bundle:
    """A loaded, checked bundle.

    Attributes:
        root: The bundle folder.
        meta: The whole ``bundle.json``.
        sha256: sha256 of ``bundle.json`` (names this exact model and its files).
        task: ``clip``, ``coca`` or ``gpt``.
        name: The bundle's model name.
        graphs: Graphs by role.
        preprocess: The image input description.
        tokenizer: The text input description.
    """

    root: Path
    meta: dict[str, Any]
    sha256: str
    task: str
    name: str
    graphs: dict[str, GraphInfo]
    preprocess: PreprocessSpec
    tokenizer: TokenizerInfo

    @property
    def embedding_size(self) -> int:
        """Length of the embeddings the encoders output (0 where the task has none)."""
        return int(self.meta.get("embedding_size", 0))

    @property
    def embedding_space(self) -> str:
        """Id of the weights the embeddings come from: fp32 and int8 bundles of one model share it."""
        return str(self.meta.get("embedding", {}).get("space", self.sha256))

    @property
    def prompts(self) -> dict[str, Any]:
        """Prompt templates by purpose (``search``: a list of templates, ``{}`` is the query)."""
        return dict(self.meta.get("prompts", {}))

    @property
    def short_sha(self) -> str:
        """The first 12 hex digits of `sha256`, for messages."""
        return self.sha256[:12]

    def path(self, role: str) -> Path:
        """The file of a graph role."""
        if role not in self.graphs:
            raise BundleError(
                f"bundle {self.root} has no {role} graph (it is a {self.task} bundle)"
            )
        return self.root / self.graphs[role].file

    def require_task(self, task: str) -> None:
        """Refuse a bundle of another task (a CoCa bundle given to search, say)."""
        if self.task != task:
            raise BundleError(
                f"bundle {self.root} is a {self.task} bundle; this needs a {task} bundle"
            )


# --- hashing ---------------------------------------------------------------------------------

_HASHES: dict[tuple[str, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file, remembered per (path, size, mtime) for the life of the process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _HASHES_LOCK:
        if key in _HASHES:
            return _HASHES[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    value = digest.hexdigest()
    with _HASHES_LOCK:
        _HASHES[key] = value
    return value


# --- loading ---------------------------------------------------------------------------------


def _read_meta(root: Path) -> tuple[dict[str, Any], str]:
    path = root / BUNDLE_FILE
    if not root.is_dir():
        raise BundleError(f"bundle {root} is not a folder")
    if not path.is_file():
        raise BundleError(f"{root} is not a sargeo bundle: it has no {BUNDLE_FILE}")
    raw = path.read_bytes()
    try:
        meta = json.loads(raw)
    except ValueError as exc:
        raise BundleError(f"{path} is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise BundleError(f"{path} is not a sargeo bundle description (format {FORMAT!r})")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise BundleError(
            f"bundle {root} has format version {version!r}; this sargeo reads version"
            f" {FORMAT_VERSION} only: export the model again with this sargeo, or use the sargeo"
            " that wrote it"
        )
    return meta, hashlib.sha256(raw).hexdigest()


def _check_file(root: Path, name: str, expected: str, what: str, verify: bool) -> None:
    path = root / name
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise BundleError(f"bundle {root}: {what} {name!r} must be a file inside the bundle")
    if not path.is_file():
        raise BundleError(f"bundle {root}: the {what} file {name} is missing")
    if verify and sha256_file(path) != expected:
        raise BundleError(
            f"bundle {root}: {name} does not match its sha256 in {BUNDLE_FILE} (the file was"
            " changed or damaged); export the bundle again"
        )


def _graph(role: str, data: Any, root: Path) -> GraphInfo:
    try:
        return GraphInfo(
            role=role,
            file=str(data["file"]),
            sha256=str(data["sha256"]),
            inputs=tuple(TensorInfo.from_dict(t) for t in data["inputs"]),
            outputs=tuple(TensorInfo.from_dict(t) for t in data["outputs"]),
            precision=str(data.get("precision", "fp32")),
        )
    except (KeyError, TypeError) as exc:
        raise BundleError(f"bundle {root}: graph {role} is incompletely described ({exc})") from exc


def _tokenizer(data: Any, root: Path) -> TokenizerInfo:
    try:
        return TokenizerInfo(
            kind=str(data["kind"]),
            context_length=int(data["context_length"]),
            files={str(k): str(v) for k, v in data.get("files", {}).items()},
            special_tokens={str(k): int(v) for k, v in data.get("special_tokens", {}).items()},
            options=dict(data.get("options", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(
            f"bundle {root}: the tokenizer is incompletely described ({exc})"
        ) from exc


def load_bundle(path: str | os.PathLike[str], *, verify: bool = True) -> Bundle:
    """Read and check a bundle folder.

    Args:
        path: The bundle folder (``export/NAME``).
        verify: Check every file's sha256 (hashes are remembered per file size and time).

    Raises:
        BundleError: for anything that makes the bundle unusable, with the reason.
    """
    root = Path(path)
    meta, digest = _read_meta(root)
    task = meta.get("task")
    if task not in TASK_GRAPHS:
        raise BundleError(
            f"bundle {root} has unknown task {task!r}; known: {', '.join(TASK_GRAPHS)}"
        )
    described = meta.get("graphs")
    if not isinstance(described, dict):
        raise BundleError(f"bundle {root}: {BUNDLE_FILE} lists no graphs")
    missing = [role for role in TASK_GRAPHS[task] if role not in described]
    if missing:
        raise BundleError(f"bundle {root}: a {task} bundle needs the graph(s) {', '.join(missing)}")
    graphs = {role: _graph(role, data, root) for role, data in described.items()}
    for graph in graphs.values():
        _check_file(root, graph.file, graph.sha256, f"{graph.role} graph", verify)
    tokenizer = _tokenizer(meta.get("tokenizer"), root)
    for name, expected in tokenizer.files.items():
        _check_file(root, name, expected, "tokenizer", verify)
    try:
        spec = PreprocessSpec.from_dict(meta.get("preprocess", {}))
    except (InputError, TypeError) as exc:
        raise BundleError(f"bundle {root}: bad preprocessing description ({exc})") from exc
    return Bundle(
        root=root,
        meta=meta,
        sha256=digest,
        task=str(task),
        name=str(meta.get("name", root.name)),
        graphs=graphs,
        preprocess=spec,
        tokenizer=tokenizer,
    )


def graph_metadata(meta: Mapping[str, Any], role: str) -> dict[str, str]:
    """The ``metadata_props`` of one graph: every bundle key as JSON, prefixed ``sargeo.``.

    Per-graph hashes and sizes are left out (a file cannot hold its own hash); ``sargeo.graph`` names
    the graph's role.
    """
    props = {}
    for key, value in meta.items():
        if key == "graphs":
            value = {
                r: {k: v for k, v in g.items() if k not in HASHED_KEYS} for r, g in value.items()
            }
        props[f"{METADATA_PREFIX}{key}"] = json.dumps(value, sort_keys=True)
    props[f"{METADATA_PREFIX}graph"] = json.dumps(role)
    return props


def read_graph_metadata(props: Mapping[str, str]) -> dict[str, Any]:
    """Inverse of `graph_metadata`: the bundle keys of a graph's ``metadata_props``."""
    return {
        key[len(METADATA_PREFIX) :]: json.loads(value)
        for key, value in props.items()
        if key.startswith(METADATA_PREFIX)
    }
