"""Atomic outputs: all or nothing, and with the usual permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sargeo.atomic import atomic_dir, atomic_file
from sargeo.errors import SargeoError


def test_atomic_dir_has_usual_mode(tmp_path: Path) -> None:
    with atomic_dir(tmp_path / "out", inputs=()) as tmp:
        (tmp / "a.txt").write_text("x")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~mask


def test_atomic_dir_failure_keeps_the_old_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_dir(out, inputs=(), overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "old.txt").read_text() == "old"


def test_atomic_dir_refuses_existing(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with (
        pytest.raises(SargeoError, match="already exists"),
        atomic_dir(tmp_path / "out", inputs=()),
    ):
        pass


def test_atomic_file_all_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    target.write_text("old")
    with pytest.raises(ValueError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise ValueError
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]
    with atomic_file(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
