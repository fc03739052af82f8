"""The class and backscatter tables load, agree with each other and reject bad files clearly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sargeo.errors import SargeoError
from sargeo.synth.tables import BACKSCATTER_PATH, load_backscatter, load_classes


def test_every_class_has_backscatter_and_objects_have_categories() -> None:
    classes = load_classes()
    model = load_backscatter(table=classes)
    assert set(model.classes) == {c.name for c in classes.classes}
    ids = [c["id"] for c in classes.coco_categories()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {
        "ship",
        "aircraft",
        "storage_tank",
        "offshore_platform",
        "wind_turbine",
        "oil_slick",
    } <= {c["name"] for c in classes.coco_categories()}
    assert all(c.kind == "object" for c in classes.objects)


def test_table_follows_literature_ranges() -> None:
    model = load_backscatter()
    sea_vv, sea_vh = model.classes["sea"].mean_db
    assert -25 <= sea_vv <= -12 and -32 <= sea_vh <= -24
    forest_vv, forest_vh = model.classes["forest"].mean_db
    assert -9 <= forest_vv <= -5 and -15 <= forest_vh <= -11
    assert model.classes["urban"].mean_db[0] > model.classes["farmland"].mean_db[0]
    assert model.classes["ship"].mean_db[0] > sea_vv + 10  # the hull, before its scatterers
    # a 100 m ship's superstructure (RCS over the 20 m cell) stands 15 dB or more over the sea
    assert model.ship.rcs_dbsm[0] - 20 * np.log10(model.resolution_m) > sea_vv + 15
    assert model.classes["oil_slick"].mean_db[0] < sea_vv
    assert model.classes["sea"].slope_db_per_deg[0] < model.classes["forest"].slope_db_per_deg[0]
    assert model.references and all(v for v in model.references.values())


def test_luts_index_by_mask_value() -> None:
    classes = load_classes()
    model = load_backscatter(table=classes)
    luts = model.luts(classes)
    sea = classes.value("sea")
    assert luts["mean_VV"][sea] == pytest.approx(model.classes["sea"].mean_db[0])
    assert luts["k_texture"][sea] == 1.0
    assert luts["k_texture"][classes.value("forest")] == 0.0


def test_missing_class_entry_names_file_and_class(tmp_path: Path) -> None:
    data = json.loads(BACKSCATTER_PATH.read_text())
    del data["classes"]["forest"]
    path = tmp_path / "bs.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SargeoError, match=r"bs\.json.*'forest'"):
        load_backscatter(path)


def test_bad_json_and_bad_numbers(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(SargeoError, match=r"broken\.json: not valid JSON"):
        load_backscatter(path)
    data = json.loads(BACKSCATTER_PATH.read_text())
    data["classes"]["sea"]["vv_db"] = "loud"
    path.write_text(json.dumps(data))
    with pytest.raises(SargeoError, match=r"classes\.sea: 'vv_db' must be a number"):
        load_backscatter(path)
    data = json.loads(BACKSCATTER_PATH.read_text())
    data["looks"] = 0
    path.write_text(json.dumps(data))
    with pytest.raises(SargeoError, match="must be positive"):
        load_backscatter(path)
    data = json.loads(BACKSCATTER_PATH.read_text())
    data["max_looks"] = 1e9
    path.write_text(json.dumps(data))
    with pytest.raises(SargeoError, match="'max_looks' must lie between"):
        load_backscatter(path)
