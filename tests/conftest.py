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


@pytest.fixture(scope="session")
def bundle_root(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A folder every xdist worker of this session shares (its own under plain pytest)."""
    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "bundles"
    root.mkdir(exist_ok=True)
    return root


@pytest.fixture(scope="session")
def tiny_run(bundle_root: Path) -> Path:
    """A tiny CLIP trained for a few steps on narrated synthetic scenes (see `tests.bundles`)."""
    from tests.bundles import build_tiny_run, shared

    return shared(bundle_root, "tiny-run", build_tiny_run)


@pytest.fixture(scope="session")
def tiny_bundle(bundle_root: Path, tiny_run: Path) -> Path:
    """``sargeo export clip`` of the tiny run: fp32, the default (dynamo) exporter."""
    from tests.bundles import export, shared

    return shared(bundle_root, "tiny-fp32", lambda out: export(tiny_run / "run", out))


@pytest.fixture(scope="session")
def tiny_bundle_int8(bundle_root: Path, tiny_run: Path) -> Path:
    """``sargeo export clip --int8`` of the tiny run, through the legacy exporter."""
    from tests.bundles import export, shared

    return shared(
        bundle_root,
        "tiny-int8",
        lambda out: export(tiny_run / "run", out, "--int8", "--exporter", "legacy"),
    )


@pytest.fixture(scope="session")
def tiny_coca_run(bundle_root: Path) -> Path:
    """A tiny CoCa trained for a few steps on narrated synthetic scenes (see `tests.coca_runs`):
    ``run/`` (the run folder) and ``narrated/`` (its corpus) inside."""
    from tests.bundles import shared
    from tests.coca_runs import build_tiny_coca_run

    return shared(bundle_root, "tiny-coca-run", build_tiny_coca_run)


@pytest.fixture(scope="session")
def tiny_gpt(bundle_root: Path) -> Path:
    """A tiny SAR-GPT trained for a few steps (see `tests.gpt_runs`): ``ck/`` (its checkpoint) and
    ``bundle/`` (``sargeo export gpt`` of it) inside."""
    from tests.bundles import shared
    from tests.gpt_runs import build_tiny_gpt

    return shared(bundle_root, "tiny-gpt", build_tiny_gpt)
