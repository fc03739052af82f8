"""int8 graphs: dynamic quantisation of matrix products, static quantisation of convolutional graphs.

Dynamic quantisation (weights int8 ahead of time, activations scaled per batch at run time) needs no
data and suits transformers, whose time goes into MatMul and Gemm. Measured on this project's
EfficientNet-Lite0 image encoder (2 cores, batch 32, 160 px): dynamic quantisation of its Conv nodes
turns them into ``ConvInteger``, which ONNX Runtime's CPU provider runs about 9x *slower* than fp32
(3.9 s against 0.43 s a batch), and quantising only its MatMul/Gemm changes nothing (0.43 s). Static
quantisation (``QLinearConv``, uint8 activations calibrated on real tiles, per-channel int8 weights)
runs the same batch in 0.20 s. So a graph with more than `CONV_GRAPH` Conv nodes is quantised
statically when calibration images are at hand, and every other graph dynamically.

Static int8 is kept only when the int8 embeddings of the calibration images stay within `MIN_COSINE`
of the fp32 graph's: a trained SAR-RS-CLIP lite quantised statically fell to a cosine of 0.81 (0.92 on
real tiles), with either quantisation format, and keeping its depthwise or first and last convolutions
in fp32 made it worse. Such a graph falls back to dynamic quantisation (its convolutions stay fp32, so
int8 then brings no speed to the image encoder), and the bundle's quantisation record says so.

Dynamic weights are quantised per output channel and only products with a constant weight are
(attention's activation-by-activation products stay fp32): on MiniLM, per-tensor weights gave a
cosine to torch of 0.95 on real captions (0.88 on random words), per-channel 0.993 (0.975).
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.exporting.graphs import count_ops
from sargeo.exporting.parity import compare

CONV_GRAPH = 4
"""More Conv nodes than this make a convolutional graph (a ViT's patch embedding is one Conv)."""

MIN_COSINE = 0.97
"""Least cosine between int8 and fp32 embeddings of a calibration image for static int8 to be kept."""


def _min_cosine(fp32: Path, int8: Path, input_name: str, images: npt.NDArray[np.float32]) -> float:
    """The least cosine between the two graphs' outputs over ``images``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    outputs = []
    for path in (fp32, int8):
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        runs = [
            session.run(None, {input_name: images[i : i + 16]})[0]
            for i in range(0, len(images), 16)
        ]
        outputs.append(np.concatenate(runs).reshape(len(images), -1))
    return compare(*outputs)["min_cosine"]


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def _preprocessed(source: Path, work: Path) -> Path:
    """ONNX Runtime's recommended step before quantising: shape inference and basic optimisation."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    target = work / f"{source.stem}.pre.onnx"
    with _quiet():
        quant_pre_process(str(source), str(target), skip_symbolic_shape=True)
    return target


class _Calibration:
    """Feeds calibration batches to ONNX Runtime's static quantiser."""

    def __init__(self, name: str, images: npt.NDArray[np.float32], batch: int = 8) -> None:
        self.batches = iter([{name: images[i : i + batch]} for i in range(0, len(images), batch)])

    def get_next(self) -> dict[str, Any] | None:
        return next(self.batches, None)


def quantise(
    source: Path,
    target: Path,
    calibration: npt.NDArray[np.float32] | None = None,
    input_name: str = "pixels",
) -> dict[str, Any]:
    """Write the int8 version of ``source`` to ``target``; returns how it was quantised.

    Args:
        source: The fp32 graph (before offline optimisation).
        target: Where the int8 graph goes.
        calibration: Prepared images (N, 3, S, S) for static quantisation of convolutional graphs.
        input_name: The graph input the calibration images feed.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    convs = count_ops(source, "Conv")
    with tempfile.TemporaryDirectory(prefix="sargeo-quant-") as tmp:
        pre = _preprocessed(source, Path(tmp))
        with _quiet():
            note = "" if convs <= CONV_GRAPH else "convolutions left in fp32: no calibration images"
            if convs > CONV_GRAPH and calibration is not None and len(calibration):
                CalibrationDataReader.register(_Calibration)
                quantize_static(
                    str(pre),
                    str(target),
                    _Calibration(input_name, calibration),
                    quant_format=QuantFormat.QOperator,
                    per_channel=True,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                )
                cosine = _min_cosine(pre, target, input_name, calibration)
                if cosine >= MIN_COSINE:
                    return {
                        "method": "static",
                        "calibration_images": len(calibration),
                        "convs": convs,
                        "min_cosine": round(cosine, 4),
                    }
                note = (
                    f"static int8 of the convolutions kept a cosine of only {cosine:.3f} to fp32 on the "
                    f"{len(calibration)} calibration images (< {MIN_COSINE}): they stay fp32"
                )
            quantize_dynamic(
                str(pre),
                str(target),
                op_types_to_quantize=["MatMul", "Gemm", "Attention"],
                per_channel=True,
                weight_type=QuantType.QInt8,
                extra_options={"MatMulConstBOnly": True},
            )
    return {
        "method": "dynamic",
        "ops": ["MatMul", "Gemm", "Attention"],
        "per_channel": True,
        "note": note,
    }


def quantise_graphs(
    raw: Mapping[str, Path],
    folder: Path,
    graphs: dict[str, dict[str, Any]],
    calibration: Mapping[str, tuple[str, npt.NDArray[np.float32] | None]] | None = None,
) -> None:
    """Replace a bundle's fp32 graphs with int8 versions of their raw graphs, and say so in their entries.

    Args:
        raw: Graph role -> its fp32 graph before offline optimisation.
        folder: The bundle folder; each role's file (``graphs[role]["file"]``) is overwritten.
        graphs: The bundle's ``graphs`` entries; ``precision`` and ``quantisation`` (with the size
            of the fp32 file it replaced, ``fp32_bytes``) are set here.
        calibration: Role -> (input name, prepared images or None) for a graph that may be convolutional.
    """
    for role, source in raw.items():
        entry = graphs[role]
        target = folder / entry["file"]
        fp32_bytes = target.stat().st_size if target.is_file() else None
        input_name, images = (calibration or {}).get(role, ("pixels", None))
        entry["quantisation"] = {
            **quantise(source, target, images, input_name),
            "fp32_bytes": fp32_bytes,
        }
        entry["precision"] = "int8"
