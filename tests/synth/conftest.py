"""A small generated run shared by the synth tests (written once per session under pytest's tmp)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sargeo.synth.scene import SynthOptions, generate

SEED = 2
SIZE = 512


@pytest.fixture(scope="session")
def synth_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 512 px scenes of seed 2 (scene 0 has sea, a harbour, ships and storage tanks)."""
    out = tmp_path_factory.mktemp("synth") / "run"
    generate(out, 2, SynthOptions(size=SIZE, seed=SEED, block=256), progress=False)
    return out
