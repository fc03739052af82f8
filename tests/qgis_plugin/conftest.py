"""Fixtures for tests that run inside QGIS's own Python (see `qgis_harness`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.qgis_plugin.qgis_harness import qgis_unavailable_reason, run_in_qgis

RunInQgis = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def qgis() -> RunInQgis:
    """`run_in_qgis`, or a skip with the reason when QGIS's Python cannot ``import qgis.core``."""
    reason = qgis_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return run_in_qgis
