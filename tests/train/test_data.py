"""Caption CSVs, image reading and the SAR augmentations, on small files made here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from sargeo.errors import InputError
from sargeo.models.clip import load_config
from sargeo.runtime.preprocess import PreprocessSpec, prepare
from sargeo.train.augment import radiometric, to_display
from sargeo.train.data import RawImage, read_caption_csv, read_image
from sargeo.train.dataset import PairStream, StreamSampler
from sargeo.train.recipe import AugmentConfig

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


def _tif(path: Path, data: np.ndarray, descriptions: tuple[str, ...] = (), **tags: str) -> Path:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype,
    ) as ds:
        ds.write(data)
        for i, d in enumerate(descriptions):
            ds.set_band_description(i + 1, d)
        ds.update_tags(**tags)
    return path


def test_caption_csv_groups_rows_and_resolves_paths(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(
        'filepath,title\nimg/1.tif,"one, two"\nimg/1.tif,three\n/abs/2.tif,four\n'
    )
    (tmp_path / "b.tsv").write_text("filepath\ttitle\nimg/3.tif\tfive\n")
    table = read_caption_csv([tmp_path / "a.csv", tmp_path / "b.tsv"])
    assert table.images == (str(tmp_path / "img/1.tif"), "/abs/2.tif", str(tmp_path / "img/3.tif"))
    assert table.captions[0] == ("one, two", "three")
    assert table.pairs() == (["one, two", "three", "four", "five"], [0, 0, 1, 2])
    assert len(table.head(2)) == 2
    (tmp_path / "bad.csv").write_text("path,caption\nx,y\n")
    with pytest.raises(InputError, match="not an open_clip caption CSV"):
        read_caption_csv([tmp_path / "bad.csv"])


def test_read_image_units_and_polarisations(tmp_path: Path) -> None:
    db = _tif(tmp_path / "s.tif", np.full((2, 8, 8), -12.0, np.float32), ("VV", "VH"), units="dB")
    raw = read_image(db)
    assert raw.units == "dB" and raw.polarisations == ("VV", "VH")
    lin = _tif(tmp_path / "l.tif", np.full((2, 8, 8), 0.1, np.float32), POLARISATIONS="VH,VV")
    assert read_image(lin).polarisations == ("VH", "VV") and read_image(lin).units == "linear"
    jpeg_like = _tif(tmp_path / "j.tif", np.full((3, 8, 8), 40, np.uint8))
    assert read_image(jpeg_like).units == "uint8"
    two = _tif(tmp_path / "two.tif", np.full((2, 8, 8), 0.1, np.float32))
    with pytest.raises(InputError, match="without polarisation names"):
        read_image(two)
    assert read_image(two, ("VH", "VV")).polarisations == ("VH", "VV")


def test_radiometric_augmentations() -> None:
    rng = np.random.default_rng(0)
    power = np.full((2, 64, 64), 0.05, np.float32)
    raw = RawImage(power, "linear", ("VV", "VH"), None)
    single = radiometric(raw, AugmentConfig(single_pol_p=1.0), rng)
    assert single.polarisations == ("VV",) and single.pixels.shape == (1, 64, 64)
    display = radiometric(raw, AugmentConfig(quantise_p=1.0), rng)
    assert display.units == "uint8" and np.all(display.pixels[0] == display.pixels[2])
    assert display.pixels[0, 0, 0] == to_display(np.float32(0.05))
    # speckle of L looks: unit-mean gamma with variance 1/L
    speckled = radiometric(raw, AugmentConfig(speckle_p=1.0, looks=(4.0, 4.0)), rng).pixels / 0.05
    assert speckled.mean() == pytest.approx(1.0, abs=0.03) and speckled.var() == pytest.approx(
        0.25, abs=0.03
    )
    gained = radiometric(raw, AugmentConfig(gain_p=1.0, gain_db=2.0), rng).pixels
    ratio_db = 10 * np.log10(gained / 0.05)
    assert np.abs(ratio_db).max() <= 3.0 + 1e-4 and np.ptp(ratio_db[0, 0]) > 0  # offset + ramp
    jpeg = RawImage(np.full((3, 4, 4), 9.0, np.float32), "uint8", ("B1", "B2", "B3"), None)
    assert radiometric(jpeg, AugmentConfig(speckle_p=1.0), rng) is jpeg


def test_stream_is_a_function_of_position(tmp_path: Path) -> None:
    images = [
        _tif(
            tmp_path / f"{i}.tif",
            np.full((2, 16, 16), -10.0 - i, np.float32),
            ("VV", "VH"),
            units="dB",
        )
        for i in range(5)
    ]
    (tmp_path / "c.csv").write_text(
        "filepath,title\n"
        + "".join(f"{p},caption {i} in the north\n" for i, p in enumerate(images))
    )
    table = read_caption_csv([tmp_path / "c.csv"])
    spec = PreprocessSpec.from_dict(load_config("sar-rs-clip-tiny")["preprocess"])
    stream = PairStream(table, spec, AugmentConfig(speckle_p=0.5), seed=1, stage=0)
    again = PairStream(table, spec, AugmentConfig(speckle_p=0.5), seed=1, stage=0)
    for pos in (7, 0, 3, 12):  # any order, any instance: the same sample
        a, b = stream[pos], again[pos]
        assert a[1] == b[1] and np.array_equal(a[0].numpy(), b[0].numpy())
    assert sorted(stream.image_at(p) for p in range(5)) == list(
        range(5)
    )  # each epoch a permutation
    assert list(StreamSampler(1, 3, 4, rank=1, world=2)) == [5, 7, 9, 11]
    # without augmentation the sample is exactly the runtime's preprocessing of the file
    plain = PairStream(table, spec, AugmentConfig(dihedral=False), seed=1, stage=0)
    image, _ = plain[0]
    raw = read_image(table.images[plain.image_at(0)])
    assert np.array_equal(image.numpy(), prepare(raw.pixels, raw.units, raw.polarisations, spec))


def test_frozen_batch_norm_stays_frozen_through_the_text_cache(corpus: Path) -> None:
    import torch

    from sargeo.train.clip_task import ClipTask
    from sargeo.train.freezing import freeze, train_mode
    from sargeo.train.recipe import load_recipe

    recipe = load_recipe("clip-lite-single", corpus=str(corpus))
    task = ClipTask()
    model = task.build_model(recipe)
    prefixes = task.frozen_prefixes(model, ("text", "image.early"))
    freeze(model, prefixes)
    task.begin_stage(model, recipe.stages[0])
    assert task.cached
    stem_bn = model.net.visual.trunk.bn1
    before = stem_bn.running_mean.clone()
    train_mode(model, prefixes)
    images = torch.randn(4, 3, 160, 160)
    loss, _ = task.loss(
        task.wrap(model), model, (images, ["a", "b", "c", "d"]), torch.device("cpu")
    )
    loss.backward()
    assert not stem_bn.training and torch.equal(stem_bn.running_mean, before)
    assert model.net.visual.trunk.bn2.training  # the trained part still trains
    assert len(task.cache) == 4 and stem_bn.weight.grad is None
