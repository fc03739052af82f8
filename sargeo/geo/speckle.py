"""Speckle filters for SAR images in linear power: boxcar, Lee, refined Lee, Frost and learned U-Nets.

Every filter takes a 2-D float array of linear power (sigma0-like) where NaN marks invalid pixels, and
returns a float32 array of the same shape. Invalid pixels stay NaN and never leak into their neighbours:
local statistics are computed by normalised convolution (sums over valid pixels divided by the number of
valid pixels), so a pixel beside a nodata hole or the image edge is estimated from its valid neighbours
only. The classical filters are pure numpy/scipy and vectorised; only `learned` imports torch, lazily.

`apply_speckle_filter` is the entry point for tiling: it accepts a (bands, h, w) array in any SAR units,
filters each band in linear power and converts the result back to the input units.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sargeo.errors import SargeoError
from sargeo.runtime.preprocess import to_db, to_linear_power

FloatArray = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]

SpeckleFilter = Callable[..., FloatArray]

LearnedModel = Literal["sar2sar", "merlin"]

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


# --- masked local statistics -------------------------------------------------------------------


def _prepare(img: npt.ArrayLike) -> tuple[_F64, _F64, npt.NDArray[np.bool_]]:
    """Return (values with invalid set to 0, validity weights, validity mask) in float64."""
    x = np.asarray(img, dtype=np.float64)
    if x.ndim != 2:
        raise SargeoError(f"speckle filters take a 2-D image, got an array of shape {x.shape}")
    valid = np.isfinite(x)
    return np.where(valid, x, 0.0), valid.astype(np.float64), valid


def _check_size(size: int, name: str = "size") -> None:
    if size < 1 or size % 2 == 0:
        raise SargeoError(f"speckle filter window {name} must be an odd number >= 1, got {size}")


def _window_sum(x: _F64, size: int) -> _F64:
    """Sum over a size x size window; pixels outside the image count as zero."""
    return ndimage.uniform_filter(x, size=size, mode="constant", cval=0.0) * float(size * size)


def _window_count(w: _F64, size: int) -> _F64:
    """Number of valid pixels in each size x size window (rounded: running sums leave residues)."""
    return np.rint(_window_sum(w, size))


def _ratio(num: _F64, den: _F64) -> _F64:
    """num / den, NaN where den is 0 (no valid pixel)."""
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def _kernel_sum(x: _F64, kernel: _F64) -> _F64:
    """Weighted sum over a centred kernel (correlation, so kernel[r, c] weighs offset (r-k, c-k))."""
    return ndimage.correlate(x, kernel, mode="constant", cval=0.0)


def _mean_var(s: _F64, s2: _F64, n: _F64) -> tuple[_F64, _F64]:
    """Mean and (population) variance from sums of values, squares and counts; NaN where n == 0."""
    mean = _ratio(s, n)
    var = np.maximum(_ratio(s2, n) - mean * mean, 0.0)
    return mean, var


def _local_stats(x: _F64, w: _F64, size: int) -> tuple[_F64, _F64, _F64]:
    """Masked local mean, variance and count of valid pixels over a square window."""
    n = _window_count(w, size)
    mean, var = _mean_var(_window_sum(x, size), _window_sum(x * x, size), n)
    return mean, var, n


def _lee_weighting(z: _F64, mean: _F64, var: _F64, looks: float) -> _F64:
    """Lee's MMSE estimate mean + b (z - mean) for multiplicative speckle with ``looks`` looks."""
    if looks <= 0:
        raise SargeoError(f"number of looks must be positive, got {looks}")
    cu2 = 1.0 / looks
    var_x = (var - mean * mean * cu2) / (1.0 + cu2)
    b = np.clip(np.nan_to_num(_ratio(var_x, np.where(var > 0, var, 0.0)), nan=0.0), 0.0, 1.0)
    return mean + b * (z - mean)


def _finish(out: _F64, valid: npt.NDArray[np.bool_]) -> FloatArray:
    return np.where(valid, out, np.nan).astype(np.float32)


# --- classical filters -------------------------------------------------------------------------


def boxcar(img: npt.ArrayLike, size: int = 5) -> FloatArray:
    """Mean over a size x size window of valid pixels (the multilook-like reference filter)."""
    _check_size(size)
    x, w, valid = _prepare(img)
    return _finish(_ratio(_window_sum(x, size), _window_count(w, size)), valid)


def lee(img: npt.ArrayLike, size: int = 7, looks: float = 1.0) -> FloatArray:
    """Lee (1980) filter: local MMSE between the window mean and the pixel, for ``looks``-look data."""
    _check_size(size)
    x, w, valid = _prepare(img)
    mean, var, _ = _local_stats(x, w, size)
    return _finish(_lee_weighting(x, mean, var, looks), valid)


def _refined_lee_kernels() -> _F64:
    """The eight 7x7 edge-aligned half windows of Lee (1981), each including the centre line."""
    r, c = np.mgrid[0:7, 0:7]
    masks = [
        c <= 3,  # 0: left of a vertical edge
        c >= 3,  # 1: right of a vertical edge
        r <= 3,  # 2: above a horizontal edge
        r >= 3,  # 3: below a horizontal edge
        c >= r,  # 4: upper-right of a "\" edge
        c <= r,  # 5: lower-left of a "\" edge
        r + c <= 6,  # 6: upper-left of a "/" edge
        r + c >= 6,  # 7: lower-right of a "/" edge
    ]
    return np.stack(masks).astype(np.float64)


_REFINED_LEE_KERNELS = _refined_lee_kernels()


def _submeans(mean3: _F64) -> _F64:
    """The 3x3 grid of 3x3 sub-window means centred at offsets -2, 0, +2 in a 7x7 window.

    Returns an array of shape (3, 3, h, w): ``s[i, j]`` is the mean of the 3x3 window centred at
    (row + 2 (i - 1), col + 2 (j - 1)).
    """
    h, w = mean3.shape
    padded = np.pad(mean3, 2, mode="edge")
    return np.stack(
        [
            np.stack([padded[2 * i : 2 * i + h, 2 * j : 2 * j + w] for j in range(3)])
            for i in range(3)
        ]
    )


def _refined_lee_direction(s: _F64) -> npt.NDArray[np.intp]:
    """Index (0-7) of the edge-aligned window for each pixel, from the 3x3 sub-window means."""
    s = np.nan_to_num(s, nan=0.0)
    grad = np.stack(
        [
            np.abs(s[:, 2].sum(axis=0) - s[:, 0].sum(axis=0)),  # across a vertical edge
            np.abs(s[2].sum(axis=0) - s[0].sum(axis=0)),  # across a horizontal edge
            np.abs(s[0, 1] + s[0, 2] + s[1, 2] - s[1, 0] - s[2, 0] - s[2, 1]),  # across "\"
            np.abs(s[0, 0] + s[0, 1] + s[1, 0] - s[1, 2] - s[2, 1] - s[2, 2]),  # across "/"
        ]
    )
    edge = np.argmax(grad, axis=0)
    centre = s[1, 1]
    # For each edge direction, the two opposite sub-windows; keep the side closer to the centre.
    side_a = np.stack([s[1, 0], s[0, 1], s[0, 2], s[0, 0]])
    side_b = np.stack([s[1, 2], s[2, 1], s[2, 0], s[2, 2]])
    a = np.take_along_axis(side_a, edge[None], axis=0)[0]
    b = np.take_along_axis(side_b, edge[None], axis=0)[0]
    use_b = np.abs(centre - b) < np.abs(centre - a)
    return (2 * edge + use_b).astype(np.intp)


def refined_lee(img: npt.ArrayLike, looks: float = 1.0) -> FloatArray:
    """Refined Lee (Lee 1981): Lee weighting over one of eight edge-aligned 7x7 half windows.

    The 7x7 window is divided into nine overlapping 3x3 sub-windows; the largest of four directional
    gradients of their means gives the edge direction, and the side whose sub-window mean is closer to
    the centre's picks one of eight half windows. The local mean and variance over that half window
    feed Lee's MMSE weighting, so edges are smoothed along, not across. Fully vectorised; it matches
    a window-by-window port of the algorithm as ESA SNAP's RefinedLee picks the side.

    Not mean-preserving on heterogeneous scenes, by design: the chosen half window is the one that
    resembles the centre, so a bright scatterer drops out of its neighbours' windows (they pick the
    other side) and only part of its power reaches the output. Flat speckle keeps its mean to ~1.5 %
    (one look), but on the real Sen1Floods11 chip Spain_7370579 the scene mean of linear power drops
    by 21 % in VV and 10 % in VH (looks=1); SNAP's variant gives -17 % / -7 % and PolSARpro's
    lee_refined_filter.c, which always takes the darker side, -38 % / -28 %. Use `boxcar` or `lee`
    where radiometry must be kept.
    """
    x, w, valid = _prepare(img)
    mean3 = _ratio(_window_sum(x, 3), _window_count(w, 3))
    index = _refined_lee_direction(_submeans(mean3))[None]
    x2 = x * x
    stats = [np.stack([_kernel_sum(arr, k) for k in _REFINED_LEE_KERNELS]) for arr in (x, x2, w)]
    s, s2, n = (np.take_along_axis(st, index, axis=0)[0] for st in stats)
    mean, var = _mean_var(s, s2, n)
    return _finish(_lee_weighting(x, mean, var, looks), valid)


def frost(img: npt.ArrayLike, size: int = 5, damping: float = 2.0) -> FloatArray:
    """Frost (1982) filter: weights exp(-damping * Cv^2 * distance), Cv from the local window.

    Homogeneous areas (low coefficient of variation Cv) are averaged widely; heterogeneous ones keep
    the weight on the centre. Vectorised by grouping window offsets into rings of equal distance.
    """
    _check_size(size)
    if damping < 0:
        raise SargeoError(f"Frost damping must be >= 0, got {damping}")
    x, w, valid = _prepare(img)
    mean, var, _ = _local_stats(x, w, size)
    cv2 = _ratio(var, np.where(mean > 0, mean * mean, 0.0))
    alpha = damping * np.nan_to_num(cv2, nan=0.0)
    half = size // 2
    r, c = np.mgrid[-half : half + 1, -half : half + 1]
    dist = np.sqrt(r * r + c * c)
    num = np.zeros_like(x)
    den = np.zeros_like(x)
    for d in np.unique(dist):
        ring = (dist == d).astype(np.float64)
        weight = np.exp(-alpha * d)
        num += weight * _kernel_sum(x, ring)
        den += weight * _kernel_sum(w, ring)
    return _finish(_ratio(num, den), valid)


# --- learned filters (torch, lazily) -----------------------------------------------------------


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


def _starts(length: int, patch: int, step: int) -> list[int]:
    if length <= patch:
        return [0]
    starts = list(range(0, length - patch, step))
    return [*starts, length - patch]


def _run_unet(normalised: _F64, model: str, device: str) -> _F64:
    """Run the deepdespeckling U-Net over a normalised log image, patch by patch; same shape out."""
    import torch
    from deepdespeckling.model import Model

    state = _learned_weights(model)
    padded, h, w = _pad_to_multiple(normalised, _UNET_MULTIPLE)
    ph, pw = padded.shape
    patch_h, patch_w = min(ph, LEARNED_PATCH), min(pw, LEARNED_PATCH)
    step = LEARNED_PATCH - LEARNED_OVERLAP
    total = np.zeros_like(padded)
    count = np.zeros_like(padded)
    net = Model(torch.device(device), height=patch_h, width=patch_w)
    net.load_state_dict(state)
    net.eval()
    with torch.inference_mode():
        for r0 in _starts(ph, patch_h, step):
            for c0 in _starts(pw, patch_w, step):
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
    local = _ratio(_window_sum(np.where(valid, x, 0.0), 31), _window_count(w, 31))
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
    model: LearnedModel = "sar2sar",
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
    if model not in ("sar2sar", "merlin"):
        raise SargeoError(f"unknown learned speckle model {model!r}; known: merlin, sar2sar")
    x, _, valid = _prepare(img)
    _learned_weights(model)  # fail early and clearly when torch/deepdespeckling is missing
    if not valid.any():
        return _finish(x, valid)
    filled = _fill_invalid(x, valid)
    out = _sar2sar(filled, device) if model == "sar2sar" else _merlin(filled, device, seed)
    return _finish(out, valid)


# --- registry ----------------------------------------------------------------------------------


SPECKLE_FILTERS: dict[str, SpeckleFilter] = {
    "boxcar": boxcar,
    "lee": lee,
    "refined_lee": refined_lee,
    "frost": frost,
    "sar2sar": functools.partial(learned, model="sar2sar"),
    "merlin": functools.partial(learned, model="merlin"),
    "learned": functools.partial(learned, model="sar2sar"),
}
"""Speckle filters by name, as ``sargeo tile --speckle NAME`` accepts them (``learned`` = SAR2SAR)."""

_FILTER_UNITS = ("linear", "amplitude", "dB")


def _from_linear_power(power: FloatArray, units: str) -> FloatArray:
    """Inverse of `to_linear_power` for the units a filter can return to."""
    if units == "linear":
        return power.astype(np.float32)
    if units == "amplitude":
        return np.sqrt(np.maximum(power, 0.0)).astype(np.float32)
    return to_db(power, "linear")


def apply_speckle_filter(name: str, bands: npt.ArrayLike, units: str, **options: Any) -> FloatArray:
    """Filter each band of a (bands, h, w) (or 2-D) array given in ``units``; same units out.

    Bands are converted to linear power, filtered by ``SPECKLE_FILTERS[name]`` with ``options`` and
    converted back (dB goes through `sargeo.runtime.preprocess.to_db`, with its fixed floor).

    Raises:
        SargeoError: Unknown filter name, units that are not SAR radiometry, or a bad array shape.
    """
    try:
        fn = SPECKLE_FILTERS[name]
    except KeyError:
        known = ", ".join(sorted(SPECKLE_FILTERS))
        raise SargeoError(f"unknown speckle filter {name!r}; known filters: {known}") from None
    if units not in _FILTER_UNITS:
        raise SargeoError(
            f"speckle filter {name!r} needs pixels in {', '.join(_FILTER_UNITS)}, got units {units!r}"
        )
    arr = np.asarray(bands, dtype=np.float32)
    if arr.ndim not in (2, 3):
        raise SargeoError(f"speckle filter expects (bands, h, w) or (h, w), got shape {arr.shape}")
    stack = arr[None] if arr.ndim == 2 else arr
    power = to_linear_power(stack, units)
    filtered = np.stack([fn(band, **options) for band in power]) if len(stack) else power
    out = _from_linear_power(filtered, units)
    return out[0] if arr.ndim == 2 else out
