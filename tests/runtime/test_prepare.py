"""`PreprocessSpec` and `prepare`: every kind of SAR source becomes the same kind of model input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sargeo.errors import InputError
from sargeo.runtime.preprocess import PreprocessSpec, prepare, to_db

SPEC = PreprocessSpec(size=32, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), resize="nearest")
RNG = np.random.default_rng(1)


def _dual_db(h: int = 32, w: int = 32) -> np.ndarray:
    vv = RNG.uniform(-20, 0, (h, w)).astype(np.float32)
    vh = vv - RNG.uniform(3, 10, (h, w)).astype(np.float32)
    return np.stack([vv, vh])


def test_spec_round_trips_json_and_refuses_unknown_keys() -> None:
    spec = PreprocessSpec(
        channels=("VV", "VH", "(VV+VH)/2"), clip_db=((-25, 5), (-32, -5), (-28, 0))
    )
    again = PreprocessSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    with pytest.raises(InputError, match="clip_range"):
        PreprocessSpec.from_dict({**spec.to_dict(), "clip_range": [0, 1]})
    with pytest.raises(InputError, match="channel expression"):
        PreprocessSpec(channels=("VV", "VH", "VV*VH"))
    with pytest.raises(InputError, match="version"):
        spec.replace(version=99)


def test_channels_follow_fixed_db_ranges() -> None:
    db = _dual_db()
    out = prepare(db, "dB", ("VV", "VH"), SPEC)
    assert out.shape == (3, 32, 32) and out.dtype == np.float32
    np.testing.assert_allclose(out[0], (db[0] + 25) / 30, atol=1e-6)
    np.testing.assert_allclose(out[1], np.clip((db[1] + 32) / 27, 0, 1), atol=1e-6)
    np.testing.assert_allclose(out[2], np.clip((db[0] - db[1]) / 15, 0, 1), atol=1e-6)
    # band order does not matter: names decide
    np.testing.assert_array_equal(prepare(db[::-1], "dB", ("VH", "VV"), SPEC), out)
    mean = PreprocessSpec(
        channels=("VV", "VH", "(VV+VH)/2"), clip_db=((-25, 5), (-32, -5), (-30, 0))
    )
    m = prepare(
        db,
        "dB",
        ("VV", "VH"),
        mean.replace(size=32, resize="nearest", mean=[0, 0, 0], std=[1, 1, 1]),
    )
    np.testing.assert_allclose(m[2], np.clip(((db[0] + db[1]) / 2 + 30) / 30, 0, 1), atol=1e-6)


def test_units_agree_linear_amplitude_db() -> None:
    power = RNG.uniform(1e-3, 1.0, (2, 32, 32)).astype(np.float32)
    a = prepare(power, "linear", ("VV", "VH"), SPEC)
    b = prepare(np.sqrt(power), "amplitude", ("VV", "VH"), SPEC)
    c = prepare(to_db(power, "linear"), "dB", ("VV", "VH"), SPEC)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(a, c, atol=1e-6)


def test_single_pol_and_8bit_give_three_identical_channels() -> None:
    db = _dual_db()
    vv_only = prepare(db[:1], "dB", ("VV",), SPEC)
    np.testing.assert_array_equal(vv_only[0], vv_only[1])
    np.testing.assert_array_equal(vv_only[0], prepare(db, "dB", ("VV", "VH"), SPEC)[0])
    hh = prepare(db[:1], "dB", ("HH",), SPEC)  # HH stands in for VV
    np.testing.assert_array_equal(hh, vv_only)
    jpeg = np.repeat(RNG.integers(0, 256, (1, 32, 32), dtype=np.uint8), 3, axis=0)
    out = prepare(jpeg, "uint8", ("B1", "B2", "B3"), SPEC)
    np.testing.assert_allclose(out, np.repeat(jpeg[:1] / 255.0, 3, axis=0), atol=1e-6)
    rgb = RNG.integers(0, 256, (3, 32, 32), dtype=np.uint8)
    np.testing.assert_allclose(
        prepare(rgb, "uint8", ("red", "green", "blue"), SPEC), rgb / 255.0, atol=1e-6
    )
    with pytest.raises(InputError, match="needs polarisation"):
        prepare(db[:1], "dB", ("VV",), SPEC.replace(single_pol="error"))
    with pytest.raises(InputError, match="input has HV"):
        prepare(db[:1], "dB", ("HV",), SPEC.replace(channels=["VV", "VV", "VV"]))


def test_nodata_and_nan_are_filled_before_resizing() -> None:
    db = _dual_db(64, 64)
    db[:, :32] = np.nan
    db[:, 32:, :8] = -9999.0
    spec = SPEC.replace(resize="area", nodata_fill=0.25)
    out = prepare(db, "dB", ("VV", "VH"), spec, nodata=-9999.0)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:, :16], 0.25)
    np.testing.assert_allclose(out[:, 16:, :4], 0.25)
    assert np.all(out[:, 16:, 5:] != 0.25)


def test_mean_std_and_resize_size() -> None:
    spec = PreprocessSpec(size=20)
    out = prepare(_dual_db(100, 60), "dB", ("VV", "VH"), spec)
    assert out.shape == (3, 20, 20)
    flat = prepare(np.full((2, 8, 8), -10.0, np.float32), "dB", ("VV", "VH"), spec)
    np.testing.assert_allclose(flat[0], ((15 / 30) - 0.5) / 0.25, atol=1e-5)


def test_bad_shapes_and_units() -> None:
    with pytest.raises(InputError, match="bands, height, width"):
        prepare(np.zeros((1, 1, 2, 2)), "dB", ("VV",), SPEC)
    with pytest.raises(InputError, match="2 band"):
        prepare(np.zeros((2, 4, 4)), "dB", ("VV",), SPEC)
    with pytest.raises(InputError, match="units"):
        prepare(np.zeros((1, 4, 4)), "counts", ("VV",), SPEC)
