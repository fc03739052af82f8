"""Shared fixtures: where the real SAR samples and the registry-shipped test data live."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TESTDATA_CACHE = REPO / ".cache" / "testdata"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real SAR samples in ``../shared/data``; skips where the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real SAR samples not found at {SHARED_DATA} (../shared/data is absent)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def safe_testdata() -> Path:
    """xarray-sentinel's real SAFE annotation files, fetched by ``make setup``."""
    path = TESTDATA_CACHE / "xarray-sentinel"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: run 'make setup' to fetch xarray-sentinel's test data")
    return path


@pytest.fixture(scope="session")
def test_rasters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny generated rasters of ``tests/data/make_rasters.py``."""
    from tests.data.make_rasters import make_all

    return make_all(tmp_path_factory.mktemp("rasters"))
