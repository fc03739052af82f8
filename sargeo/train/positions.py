"""Position words of a caption rewritten for a flipped or rotated image, so text and pixels agree.

The image transforms are the eight of the square: an optional left-right flip, then ``k`` quarter turns
counter-clockwise (``numpy.rot90`` on (rows, cols)). Each direction word becomes a vector (x right, y up),
is transformed like the pixels, and is written back in its own family: compass words (north, south-east),
image words (top, lower left, right-hand side), and vertical/horizontal. Hemispheres ("northern") and
coordinates ("36.2°N") are not positions in the image and stay.
"""

from __future__ import annotations

import re

_AXIS = {
    "north": (0, 1), "south": (0, -1), "east": (1, 0), "west": (-1, 0),
    "top": (0, 1), "bottom": (0, -1), "upper": (0, 1), "lower": (0, -1),
    "left": (-1, 0), "right": (1, 0),
}  # fmt: skip

_PATTERN = re.compile(
    r"\b(?:"
    r"(?P<corner>(?P<cv>upper|lower|top|bottom)(?P<cs>[ -])(?P<ch>left|right))"
    r"|(?P<compass>(?P<pv>north|south)(?P<ps>[- ]?)(?P<ph>east|west))"
    r"|(?P<hand>(?:left|right)-hand side)"
    r"|(?P<orient>vertical|horizontal)(?P<ly>ly)?"
    r"|(?P<word>north|south|east|west|top|bottom|upper|lower|left|right)"
    r")\b",
    re.IGNORECASE,
)


def transform_vector(v: tuple[int, int], flip: bool, k: int) -> tuple[int, int]:
    """A direction (x right, y up) after a left-right flip (first) and ``k`` counter-clockwise turns."""
    x, y = v
    if flip:
        x = -x
    for _ in range(k % 4):
        x, y = -y, x
    return x, y


def _case(template: str, word: str) -> str:
    return word[:1].upper() + word[1:] if template[:1].isupper() else word


def _single(word: str, flip: bool, k: int) -> str:
    low = word.lower()
    x, y = transform_vector(_AXIS[low], flip, k)
    if low in ("north", "south", "east", "west"):
        out = {(0, 1): "north", (0, -1): "south", (1, 0): "east", (-1, 0): "west"}[(x, y)]
    elif low in ("upper", "lower"):
        out = {(0, 1): "upper", (0, -1): "lower", (1, 0): "right", (-1, 0): "left"}[(x, y)]
    else:
        out = {(0, 1): "top", (0, -1): "bottom", (1, 0): "right", (-1, 0): "left"}[(x, y)]
    return _case(word, out)


def _replace(m: re.Match[str], flip: bool, k: int) -> str:
    text = m.group(0)
    if m["corner"]:
        x, y = transform_vector((_AXIS[m["ch"].lower()][0], _AXIS[m["cv"].lower()][1]), flip, k)
        upper_lower = m["cv"].lower() in ("upper", "lower")
        vertical = (
            ("upper" if y > 0 else "lower") if upper_lower else ("top" if y > 0 else "bottom")
        )
        return _case(text, f"{vertical}{m['cs']}{'right' if x > 0 else 'left'}")
    if m["compass"]:
        x, y = transform_vector((_AXIS[m["ph"].lower()][0], _AXIS[m["pv"].lower()][1]), flip, k)
        return _case(text, f"{'north' if y > 0 else 'south'}{m['ps']}{'east' if x > 0 else 'west'}")
    if m["hand"]:
        x, y = transform_vector(_AXIS[text.split("-")[0].lower()], flip, k)
        side = {
            (1, 0): "right-hand side",
            (-1, 0): "left-hand side",
            (0, 1): "top side",
            (0, -1): "bottom side",
        }
        return _case(text, side[(x, y)])
    if m["orient"]:
        if k % 2 == 0:
            return text
        swapped = "horizontal" if m["orient"].lower() == "vertical" else "vertical"
        return _case(text, swapped + (m["ly"] or ""))
    return _single(text, flip, k)


def rewrite_positions(caption: str, flip: bool, k: int) -> str:
    """The caption of the image flipped left-right (if ``flip``) then turned ``k`` times counter-clockwise."""
    if not flip and k % 4 == 0:
        return caption
    return _PATTERN.sub(lambda m: _replace(m, flip, k), caption)
