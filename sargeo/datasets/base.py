"""What every dataset adapter returns: the good `Sample` records plus what it had to skip, and why.

Real annotation files are never perfectly clean. Adapters report each faulty item (a box outside the
image, an unknown image id, a missing or truncated file, malformed XML) as a `Skipped` entry naming its
location, and each item they use although something about it is off (a reused annotation id) as a
warning, keep going, and end with a one-line summary, so that one bad annotation never sinks a whole run.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from sargeo.records import Sample

log = logging.getLogger("sargeo.datasets")
T = TypeVar("T")

IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
"""File suffixes that adapters treat as images (compared case-insensitively)."""

BOX_TOLERANCE_PX = 1.0
"""How far (pixels) a box may stick out of its image before it counts as outside; less is clipped."""

IMAGE_END_MARKERS: dict[str, bytes] = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82"}
"""What a whole JPEG (its end-of-image marker) and PNG (its IEND chunk) file ends with."""
END_WINDOW = 64
"""How many of a file's last bytes are searched for its end marker."""

_TRAILING_DETAIL = re.compile(r"\s+(?:-?\d[\w.+-]*|'[^']*'|\"[^\"]*\"|\S+\.\w{2,4})$")


@dataclass
class Skipped:
    """One item an adapter could not use.

    Attributes:
        location: File and, where it applies, the annotation id or line, e.g.
            ``instances.json: annotation 17``.
        reason: What is wrong, e.g. ``box outside the image``, ``unknown image id 99``.
        kind: The reason without its details, used to group the summary (``unknown image id``);
            derived from ``reason`` when left empty.
    """

    location: str
    reason: str
    kind: str = ""

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = reason_kind(self.reason)

    def __str__(self) -> str:
        return f"{self.location}: {self.reason}"


def reason_kind(reason: str) -> str:
    """The reason with a trailing detail (a number, a quoted name, a file name) removed.

    ``unknown image id 99`` -> ``unknown image id``; ``missing file x.jpg`` -> ``missing file``.
    """
    text = re.split(r"\s*[\[(:]", reason, maxsplit=1)[0].strip()
    while True:
        stripped = _TRAILING_DETAIL.sub("", text)
        if stripped == text or not stripped:
            return text
        text = stripped


def _kinds(items: list[Skipped]) -> str:
    """'1 box outside the image, 1 missing file': the items counted by kind, most common first."""
    return ", ".join(f"{n} {kind}" for kind, n in Counter(s.kind for s in items).most_common())


@dataclass
class AdapterResult:
    """Samples read from a dataset, the items skipped on the way and the warnings about items kept.

    Warnings use `Skipped`'s location and reason for an item that was kept: a second annotation
    under an id already used, on a different box, is a real object whose id is not to be trusted.
    """

    samples: list[Sample] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[Skipped] = field(default_factory=list)

    def summary(self) -> str:
        """One line: ``18 samples, 2 skipped (1 box outside the image, 1 missing file)``, then
        ``, 1 warning (1 duplicate annotation id)`` when there are warnings."""
        head = f"{len(self.samples)} samples, {len(self.skipped)} skipped"
        if self.skipped:
            head += f" ({_kinds(self.skipped)})"
        if self.warnings:
            n = len(self.warnings)
            head += f", {n} warning{'s' if n > 1 else ''} ({_kinds(self.warnings)})"
        return head

    def problems(self) -> list[str]:
        """One ``location: reason`` line per skipped item, then one ``warning: ...`` per warning."""
        return [str(s) for s in self.skipped] + [f"warning: {w}" for w in self.warnings]

    def report(self) -> str:
        """The summary, then one line per skipped item and per warning (`problems`)."""
        return "\n".join([self.summary(), *(f"  {line}" for line in self.problems())])

    def extend(self, other: AdapterResult) -> AdapterResult:
        """Append another result's samples, skipped items and warnings (in place); returns ``self``."""
        self.samples.extend(other.samples)
        self.skipped.extend(other.skipped)
        self.warnings.extend(other.warnings)
        return self

    def skip(self, location: str, reason: str, kind: str = "") -> None:
        """Record a skipped item and log it as a warning."""
        entry = Skipped(location, reason, kind)
        self.skipped.append(entry)
        log.warning("skipped %s", entry)

    def warn(self, location: str, reason: str, kind: str = "") -> None:
        """Record a warning about an item that is kept, and log it."""
        entry = Skipped(location, reason, kind)
        self.warnings.append(entry)
        log.warning("warning %s", entry)

    @property
    def boxes(self) -> int:
        """Total number of boxes over all samples."""
        return sum(len(s.boxes) for s in self.samples)


def checked_image_size(
    result: AdapterResult,
    where: str,
    path: Path,
    declared: tuple[int | None, int | None] | None,
    declared_in: str,
    name: str = "",
) -> tuple[int, int] | None:
    """The image's (width, height), or None after recording why it is skipped: the file cannot be
    read, it is truncated (`image_truncation`), or its size disagrees with the size its annotation
    ``declared`` (None: not recorded). ``name`` is how the annotation names the file (default: its
    file name)."""
    try:
        width, height = image_size(path)
    except OSError as exc:
        result.skip(where, f"unreadable image {name or path.name} ({exc})", "unreadable image")
        return None
    cut = image_truncation(path)
    if cut:
        result.skip(where, f"truncated image {name or path.name} ({cut})", "truncated image")
        return None
    if declared is not None and declared != (width, height):
        result.skip(
            where,
            f"image size mismatch: {declared_in} {declared[0]}x{declared[1]}, "
            f"file {width}x{height}",
            "image size mismatch",
        )
        return None
    return width, height


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file from its header only (Pillow, then rasterio).

    Raises:
        OSError: when neither library can read the file.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return int(im.width), int(im.height)
    except (UnidentifiedImageError, OSError, ValueError):
        pass
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                return int(ds.width), int(ds.height)
    except RasterioIOError as exc:
        raise OSError(f"not an image Pillow or GDAL can read: {path}") from exc


def image_truncation(path: Path) -> str:
    """Why an image file ends before its data does, or '' when it looks whole.

    A look at the end of the file, not a decode (decoding every image would cost more than narrating
    the dataset): JPEG and PNG files end with their end marker (one that does not is decoded to be
    sure, since some carry trailing bytes), and a TIFF's strips or tiles lie inside the file. Files
    Pillow cannot open, and other formats, are not checked.
    """
    from PIL import Image, TiffImagePlugin, UnidentifiedImageError

    size = path.stat().st_size
    try:
        im = Image.open(path)
    except (UnidentifiedImageError, OSError, ValueError):
        return ""
    with im:
        if isinstance(im, TiffImagePlugin.TiffImageFile):
            tags = im.tag_v2
            offsets, counts = tags.get(273) or tags.get(324), tags.get(279) or tags.get(325)
            ends = [o + c for o, c in zip(offsets or (), counts or (), strict=False)]
            end = max(ends, default=0)
            return f"its pixel data runs to byte {end}, the file has {size}" if end > size else ""
        marker = IMAGE_END_MARKERS.get(im.format or "")
        if marker is None:
            return ""
        with path.open("rb") as fh:
            fh.seek(max(0, size - END_WINDOW))
            if marker in fh.read():
                return ""
        try:
            im.load()
        except OSError as exc:
            return str(exc)
    return ""


def check_box(
    box: tuple[float, float, float, float], width: int, height: int
) -> tuple[tuple[float, float, float, float] | None, str]:
    """Validate a (xmin, ymin, xmax, ymax) pixel box against its image.

    Returns:
        The box (clipped when it sticks out by at most `BOX_TOLERANCE_PX`) and an empty string, or
        ``None`` and the reason it is unusable: ``malformed box``, ``empty box`` or
        ``box outside the image``.
    """
    if len(box) != 4 or not all(isinstance(v, int | float) and math.isfinite(v) for v in box):
        return None, f"malformed box {list(box)}"
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        return None, f"empty box {[x0, y0, x1, y1]}"
    tol = BOX_TOLERANCE_PX
    if x0 < -tol or y0 < -tol or x1 > width + tol or y1 > height + tol:
        return None, f"box outside the image {[x0, y0, x1, y1]} (image {width}x{height})"
    clipped = (max(x0, 0.0), max(y0, 0.0), min(x1, float(width)), min(y1, float(height)))
    if clipped[2] <= clipped[0] or clipped[3] <= clipped[1]:
        return None, f"box outside the image {[x0, y0, x1, y1]} (image {width}x{height})"
    return clipped, ""


def find_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (recursive), sorted, hidden files excluded."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def progress_bar(items: Iterable[T], enabled: bool, desc: str) -> Iterable[T]:
    """Wrap ``items`` in a tqdm bar on stderr when ``enabled``."""
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="item", leave=False)
