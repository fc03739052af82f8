"""int8 quantisation: static for convolutional graphs while it stays close to fp32, dynamic otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sargeo.exporting import quantize
from sargeo.exporting.quantize import quantise


@pytest.fixture(scope="module")
def conv_graph(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    layers: list[torch.nn.Module] = []
    for c_in, c_out in ((3, 8), (8, 8), (8, 16), (16, 16), (16, 16), (16, 16)):
        layers += [torch.nn.Conv2d(c_in, c_out, 3, padding=1), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()).eval()
    path = tmp_path_factory.mktemp("graph") / "convs.onnx"
    torch.onnx.export(
        net, (torch.randn(2, 3, 32, 32),), str(path), input_names=["pixels"],
        output_names=["embedding"], dynamic_axes={"pixels": {0: "batch"}}, dynamo=False,
    )  # fmt: skip
    return path


def _images(n: int = 24) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, 3, 32, 32)).astype(np.float32)


def test_static_int8_is_kept_when_it_stays_close(conv_graph: Path, tmp_path: Path) -> None:
    info = quantise(conv_graph, tmp_path / "int8.onnx", _images())
    assert info["method"] == "static" and info["convs"] == 6
    assert info["min_cosine"] >= quantize.MIN_COSINE


def test_static_int8_that_drifts_falls_back_to_dynamic(
    conv_graph: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(quantize, "MIN_COSINE", 1.01)  # no int8 graph is that close
    info = quantise(conv_graph, tmp_path / "int8.onnx", _images())
    assert info["method"] == "dynamic"
    assert "cosine of only" in info["note"] and "stay fp32" in info["note"]
    assert (tmp_path / "int8.onnx").exists()


def test_without_calibration_images_convolutions_stay_fp32(
    conv_graph: Path, tmp_path: Path
) -> None:
    info = quantise(conv_graph, tmp_path / "int8.onnx", None)
    assert info["method"] == "dynamic" and "no calibration images" in info["note"]
