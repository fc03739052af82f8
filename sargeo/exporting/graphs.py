"""torch modules -> ONNX graph files: export, offline optimisation, metadata, input/output description.

See the package docstring for why the dynamo exporter is the default and what both exporters need.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from sargeo.errors import InputError

OPSET = 18
"""ONNX opset of exported graphs (the dynamo exporter's own; the legacy one is given the same)."""

EXPORTERS = ("dynamo", "legacy")

_ELEMENT_TYPES = {1: "float32", 6: "int32", 7: "int64", 10: "float16", 11: "float64", 9: "bool"}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters' progress lines and deprecation warnings, kept off the user's terminal."""
    sink = io.StringIO()
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def export_graph(
    module: torch.nn.Module,
    example: Sequence[torch.Tensor],
    path: Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    exporter: str = "dynamo",
    lengths: Sequence[int] = (),
) -> Path:
    """Export ``module`` (put in eval mode here) with a dynamic first (batch) axis on every input,
    and a dynamic second (length) axis on the inputs numbered in ``lengths`` (a decoder's prefix).

    Output names must not equal a module or parameter name inside ``module``: the dynamo exporter then
    gives an internal value the same name and writes an invalid graph (see the package docstring).
    """
    if exporter not in EXPORTERS:
        raise InputError(f"unknown exporter {exporter!r}; choose from {', '.join(EXPORTERS)}")
    module.eval()
    args = tuple(example)
    try:
        # Not under torch.no_grad(): there, eval-mode nn.MultiheadAttention takes its fused fast
        # path (aten::_native_multi_head_attention), which the legacy exporter cannot translate.
        with _quiet():
            common: dict[str, Any] = {
                "input_names": list(input_names),
                "output_names": list(output_names),
                "opset_version": OPSET,
            }
            if exporter == "dynamo":
                batch = torch.export.Dim("batch", min=1, max=4096)
                length = torch.export.Dim("length", min=1, max=4096)
                shapes = tuple(
                    {0: batch, 1: length} if i in lengths else {0: batch} for i in range(len(args))
                )
                dynamic = {"dynamic_shapes": shapes}
                options: dict[str, Any] = {
                    "dynamo": True,
                    "external_data": False,
                    "optimize": True,
                    **dynamic,
                }
            else:
                axes: dict[str, dict[int, str]] = {
                    name: {0: "batch"} for name in [*input_names, *output_names]
                }
                for i in lengths:
                    axes[input_names[i]][1] = "length"
                options = {"dynamo": False, "dynamic_axes": axes, "do_constant_folding": True}
            torch.onnx.export(module, args, str(path), **common, **options)
    except Exception as exc:  # the exporters raise many types; name the failing graph
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"the {exporter} exporter failed on {path.name}: {first[:300]}") from exc
    finally:
        module.eval()  # the legacy exporter restores the mode it found; keep eval for the parity run
    return path


def optimise(source: Path, target: Path) -> Path:
    """Save ONNX Runtime's *extended* offline optimisation of ``source`` (portable across CPUs)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.log_severity_level = 3
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    return target


def describe(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Inputs and outputs of a graph: name, element type and shape (names for dynamic axes)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    initialisers = {i.name for i in graph.initializer}

    def info(value: Any) -> dict[str, Any]:
        tensor = value.type.tensor_type
        shape = [d.dim_param or d.dim_value for d in tensor.shape.dim]
        dtype = _ELEMENT_TYPES.get(tensor.elem_type, str(tensor.elem_type))
        return {"name": value.name, "dtype": dtype, "shape": ["batch", *shape[1:]]}

    inputs = [info(v) for v in graph.input if v.name not in initialisers]
    return inputs, [info(v) for v in graph.output]


def set_metadata(path: Path, props: Mapping[str, str]) -> None:
    """Replace a graph's ``metadata_props`` with ``props`` (every other byte stays)."""
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def count_ops(path: Path, op_type: str) -> int:
    """How many nodes of ``op_type`` a graph has (its subgraphs not counted)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return sum(node.op_type == op_type for node in graph.node)
