"""The learned speckle filters: the SAR2SAR and MERLIN U-Nets of ``deepdespeckling`` with their shipped
weights (torch). Outside the torch-free `sargeo.geo`; `sargeo.geo.speckle` reaches them by name, lazily.

Like the classical filters, `learned` takes 2-D linear power with NaN marking invalid pixels and
returns float32 of the same shape, invalid pixels NaN.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import SargeoError
from sargeo.geo.masked_stats import FloatArray, finish, prepare, ratio, window_count, window_sum
from sargeo.runtime.grid import grid_offsets

_F64 = npt.NDArray[np.float64]

LEARNED_MODELS: tuple[str, ...] = ("sar2sar", "merlin")
"""The U-Nets `learned` can run."""

SAR2SAR_AMPLITUDE_GAIN = 600.0
"""Fixed gain from sigma0 amplitude to the digital numbers SAR2SAR was trained on.

SAR2SAR's weights were trained on Sentinel-1 GRD amplitude in digital numbers (DN); calibrated sigma0 is
DN^2 / A^2 with a sigmaNought look-up value A of a few hundred for IW GRD products. Multiplying the
amplitude by a fixed A puts calibrated data back into the value range the network expects (its input is
a log-amplitude normalised by fixed constants). A fixed number, never a per-tile statistic.
"""

MERLIN_AMPLITUDE_GAIN = 316.0
"""Fixed gain from sigma0 amplitude to TerraSAR-X single-look complex digital numbers (calFactor ~1e-5)."""

LEARNED_PATCH = 512
"""Largest patch (pixels) the U-Net sees at once; larger images are cut into overlapping patches."""

LEARNED_OVERLAP = 64
"""Overlap between patches of a large image; overlapping predictions are averaged."""

_UNET_MULTIPLE = 32
"""The U-Net pools five times, so its input sides must be multiples of 32."""


@functools.lru_cache(maxsize=4)
def _learned_weights(model: str) -> dict[str, Any]:
    """Load the state dict shipped with deepdespeckling for ``model`` (cached per process)."""
    try:
        import torch
        from deepdespeckling.model import Model  # noqa: F401
    except ImportError as exc:
        raise SargeoError(
            f"the learned speckle filter needs torch and deepdespeckling ({exc.name} is missing): "
            "pip install 'sargeo[despeckle,train]'"
        ) from exc
    from importlib import resources

    root = resources.files("deepdespeckling")
    if model == "sar2sar":
        path = root / "sar2sar" / "saved_model" / "sar2sar.pth"
    else:
        path = root / "merlin" / "saved_models" / "stripmap.pth"
    # SAR2SAR's checkpoint also pickles optimiser state holding numpy scalars: allow exactly those.
    core = getattr(np, "_core", None) or np.core  # numpy 2 renamed numpy.core
    scalar = core.multiarray.scalar
    allowed: list[Any] = [(scalar, "numpy.core.multiarray.scalar"), np.dtype]
    allowed.append(type(np.dtype(np.float64)))
    with torch.serialization.safe_globals(allowed):
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    return dict(state.get("model_state_dict", state))


def _pad_to_multiple(x: _F64, multiple: int) -> tuple[_F64, int, int]:
    h, w = x.shape
    ph, pw = -h % multiple, -w % multiple
    if min(h, w) > 1:
        return np.pad(x, ((0, ph), (0, pw)), mode="reflect"), h, w
    return np.pad(x, ((0, ph), (0, pw)), mode="edge"), h, w


def _run_unet(normalised: _F64, model: str, device: str) -> _F64:
    """Run the deepdespeckling U-Net over a normalised log image, patch by patch; same shape out."""
    import torch
    from deepdespeckling.model import Model

    state = _learned_weights(model)
    padded, h, w = _pad_to_multiple(normalised, _UNET_MULTIPLE)
    ph, pw = padded.shape
    patch_h, patch_w = min(ph, LEARNED_PATCH), min(pw, LEARNED_PATCH)
    total = np.zeros_like(padded)
    count = np.zeros_like(padded)
    net = Model(torch.device(device), height=patch_h, width=patch_w)
    net.load_state_dict(state)
    net.eval()
    with torch.inference_mode():
        for r0 in grid_offsets(ph, patch_h, LEARNED_OVERLAP):
            for c0 in grid_offsets(pw, patch_w, LEARNED_OVERLAP):
                tile = padded[r0 : r0 + patch_h, c0 : c0 + patch_w]
                inp = torch.from_numpy(np.ascontiguousarray(tile, dtype=np.float32)).to(device)
                out = net(inp[None, None]).cpu().numpy()[0, 0]
                total[r0 : r0 + patch_h, c0 : c0 + patch_w] += out
                count[r0 : r0 + patch_h, c0 : c0 + patch_w] += 1.0
    return (total / count)[:h, :w]


def _fill_invalid(x: _F64, valid: npt.NDArray[np.bool_]) -> _F64:
    """Replace invalid pixels by a local mean of valid ones (global median where none is near)."""
    if valid.all():
        return x
    w = valid.astype(np.float64)
    local = ratio(window_sum(np.where(valid, x, 0.0), 31), window_count(w, 31))
    fallback = float(np.median(x[valid]))
    return np.where(valid, x, np.where(np.isfinite(local), local, fallback))


def _sar2sar(power: _F64, device: str) -> _F64:
    from deepdespeckling.utils.constants import M, m

    gain = SAR2SAR_AMPLITUDE_GAIN
    amplitude = np.sqrt(np.maximum(power, 0.0)) * gain
    normalised = (np.log(amplitude + 1e-6) - m) / (M - m)
    out = np.clip(_run_unet(normalised, "sar2sar", device), 0.0, None)
    return np.square(np.exp(out * (M - m) + m)) / gain**2


def _merlin(power: _F64, device: str, seed: int) -> _F64:
    from deepdespeckling.utils.constants import M, m

    gain = MERLIN_AMPLITUDE_GAIN
    amplitude = np.sqrt(np.maximum(power, 0.0)) * gain
    # A detected pixel carries no phase: draw a uniform one. For fully developed single-look speckle,
    # amplitude and phase are independent and the phase uniform, so this is an exact SLC-like pair.
    phase = np.random.default_rng(seed).uniform(0.0, 2.0 * np.pi, size=power.shape)
    estimates = []
    for part in (amplitude * np.cos(phase), amplitude * np.sin(phase)):
        normalised = (np.log(np.square(part) + 1e-3) - 2 * m) / (2 * (M - m))
        estimates.append(np.exp(_run_unet(normalised, "merlin", device) * (M - m) + m))
    # Each estimate squared is an estimate of the reflectivity (MERLIN's loss); average the two.
    return 0.5 * (np.square(estimates[0]) + np.square(estimates[1])) / gain**2


def learned(
    img: npt.ArrayLike,
    model: str = "sar2sar",
    *,
    device: str = "cpu",
    seed: int = 0,
) -> FloatArray:
    """Despeckle with a U-Net from ``deepdespeckling`` and its shipped weights.

    Args:
        img: Linear power, 2-D; NaN marks invalid pixels (filled from neighbours for the network and
            set back to NaN afterwards).
        model: ``"sar2sar"`` (trained on Sentinel-1 GRD amplitude, suited to multilook detected data)
            or ``"merlin"`` (MERLIN, TerraSAR-X stripmap weights, trained on single-look complex data;
            detected input gets a random phase, see ``seed``).
        device: Torch device to run on.
        seed: Seed of the random phase drawn for ``"merlin"``, so that results are reproducible.

    Returns:
        Despeckled linear power, float32.

    Raises:
        SargeoError: torch or deepdespeckling is not installed, or the model name is unknown.
    """
    if model not in LEARNED_MODELS:
        known = ", ".join(sorted(LEARNED_MODELS))
        raise SargeoError(f"unknown learned speckle model {model!r}; known: {known}")
    x, _, valid = prepare(img)
    _learned_weights(model)  # fail early and clearly when torch/deepdespeckling is missing
    if not valid.any():
        return finish(x, valid)
    filled = _fill_invalid(x, valid)
    out = _sar2sar(filled, device) if model == "sar2sar" else _merlin(filled, device, seed)
    return finish(out, valid)
