"""The sample stream of a stage, identical whatever the resume point, worker count or world size.

Position ``p`` of a stage's stream is image ``perm_e[p mod n]`` of epoch ``e = p div n`` (a seeded
permutation per epoch), with its caption and augmentations drawn from an RNG seeded by (seed, stage, p).
Nothing depends on worker processes or on what ran before, so a resumed run sees exactly the samples
the uninterrupted run would have seen. Global batch ``b`` is positions ``b*B .. b*B+B-1``; rank ``r`` of
``w`` takes every ``w``-th of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from sargeo.errors import InputError
from sargeo.runtime.preprocess import PreprocessSpec, prepare
from sargeo.train.augment import geometric, radiometric
from sargeo.train.data import CaptionTable, RawImage, read_image
from sargeo.train.recipe import AugmentConfig


class StreamSampler(Sampler[int]):
    """Stream positions of global batches ``start .. stop-1`` that fall to this rank."""

    def __init__(
        self, start: int, stop: int, batch_size: int, rank: int = 0, world: int = 1
    ) -> None:
        if batch_size % world:
            raise InputError(f"batch_size {batch_size} does not divide among {world} processes")
        self.start, self.stop, self.batch, self.rank, self.world = (
            start,
            stop,
            batch_size,
            rank,
            world,
        )

    def __iter__(self) -> Iterator[int]:
        for b in range(self.start, self.stop):
            yield from range(b * self.batch + self.rank, (b + 1) * self.batch, self.world)

    def __len__(self) -> int:
        return (self.stop - self.start) * (self.batch // self.world)


class StreamOrder:
    """Item index at a stream position: a seeded permutation per epoch (see the module docstring)."""

    def __init__(self, n: int, seed: int, stage: int) -> None:
        self.n, self.seed, self.stage = n, seed, stage
        self._perm: tuple[int, np.ndarray] = (-1, np.empty(0, dtype=np.int64))

    def __call__(self, position: int) -> int:
        epoch, offset = divmod(position, self.n)
        if self._perm[0] != epoch:
            rng = np.random.default_rng([self.seed, self.stage, epoch, 0x5EED])
            self._perm = (epoch, rng.permutation(self.n))
        return int(self._perm[1][offset])


def prepare_raw(raw: RawImage, spec: PreprocessSpec) -> torch.Tensor:
    return torch.from_numpy(
        prepare(raw.pixels, raw.units, raw.polarisations, spec, nodata=raw.nodata)
    )


class PairStream(Dataset[tuple[torch.Tensor, str]]):
    """Image-caption pairs at stream positions, augmented (see the module docstring)."""

    def __init__(
        self,
        table: CaptionTable,
        spec: PreprocessSpec,
        augment: AugmentConfig,
        seed: int,
        stage: int,
        source: str = "sar",
    ) -> None:
        self.table, self.spec, self.augment = table, spec, augment
        self.seed, self.stage, self.source = seed, stage, source
        self.order = StreamOrder(len(table), seed, stage)

    def __len__(self) -> int:
        return len(self.table)

    def image_at(self, position: int) -> int:
        """The image index at a stream position."""
        return self.order(position)

    def __getitem__(self, position: int) -> tuple[torch.Tensor, str]:
        i = self.image_at(position)
        rng = np.random.default_rng([self.seed, self.stage, position])
        captions = self.table.captions[i]
        caption = captions[int(rng.integers(len(captions)))]
        raw = read_image(self.table.images[i])
        if self.source == "sar":
            raw = radiometric(raw, self.augment, rng)
        raw, caption = geometric(raw, caption, self.augment, rng)
        return prepare_raw(raw, self.spec), caption


class ImageSet(Dataset[torch.Tensor]):
    """Images for evaluation and embedding: prepared, never augmented."""

    def __init__(
        self,
        images: list[str],
        spec: PreprocessSpec,
        polarisations: Sequence[tuple[str, ...] | None] | None = None,
    ) -> None:
        self.images, self.spec = images, spec
        self.polarisations = (
            list(polarisations) if polarisations is not None else [None] * len(images)
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return prepare_raw(read_image(self.images[index], self.polarisations[index]), self.spec)
