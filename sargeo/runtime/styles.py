"""Default QGIS styles (QML) for the layers sargeo writes, stored in the GeoPackage's ``layer_styles``.

Search results: graduated colours on ``score`` (equal intervals between the layer's lowest and
highest score, the viridis ramp: yellow is the best match), half-transparent fills so the SAR image
shows through, and the rank as a label.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
"""Five colours of the viridis ramp, from low to high."""

QGIS_VERSION = "3.22.0"


def _symbol(name: str, rgb: tuple[int, int, int], opacity: float) -> str:
    colour = ",".join(str(c) for c in rgb)
    props = {
        "color": f"{colour},255",
        "outline_color": f"{colour},255",
        "outline_width": "0.4",
        "outline_width_unit": "MM",
        "outline_style": "solid",
        "style": "solid",
        "joinstyle": "miter",
    }
    lines = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return (
        f'<symbol type="fill" name={quoteattr(name)} alpha="{opacity:g}" clip_to_extent="1"'
        f' force_rhr="0"><layer class="SimpleFill" enabled="1" locked="0" pass="0">{lines}'
        "</layer></symbol>"
    )


def _labels(field: str) -> str:
    return (
        '<labeling type="simple"><settings calloutType="simple">'
        f'<text-style fieldName={quoteattr(field)} isExpression="0" fontSize="9"'
        ' textColor="255,255,255,255" fontWeight="75">'
        '<text-buffer bufferDraw="1" bufferSize="0.8" bufferColor="0,0,0,255"/></text-style>'
        '<placement placement="1" offsetType="0"/>'
        "</settings></labeling>"
    )


def graduated_qml(
    field: str,
    values: Sequence[float],
    *,
    label: str | None = None,
    colours: Sequence[tuple[int, int, int]] = VIRIDIS,
    opacity: float = 0.55,
) -> str:
    """A QML style: fills graduated on ``field`` in equal intervals over ``values``' range.

    Args:
        field: The numeric attribute the colours follow.
        values: The layer's values of ``field`` (their range sets the class breaks).
        label: An attribute shown as the label of each feature, if any.
        colours: One colour per class, low to high.
        opacity: Fill opacity (0-1).
    """
    low = min(values, default=0.0)
    high = max(values, default=1.0)
    if high <= low:
        high = low + 1e-6
    n = len(colours)
    edges = [low + (high - low) * i / n for i in range(n + 1)]
    ranges = "".join(
        f'<range lower="{edges[i]:.6f}" upper="{edges[i + 1]:.6f}" symbol="{i}"'
        f' label="{edges[i]:.3f} - {edges[i + 1]:.3f}" render="true"/>'
        for i in range(n)
    )
    symbols = "".join(_symbol(str(i), colours[i], opacity) for i in range(n))
    source = _symbol("0", colours[-1], opacity)
    labelled = label is not None
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Labeling"'
        f' labelsEnabled="{int(labelled)}">'
        f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(field)}'
        ' graduatedMethod="GraduatedColor" symbollevels="0" forceraster="0" enableorderby="0">'
        f"<ranges>{ranges}</ranges><symbols>{symbols}</symbols>"
        f"<source-symbol>{source}</source-symbol>"
        '<mode name="equal"/></renderer-v2>'
        f"{_labels(label) if label is not None else ''}"
        "<layerGeometryType>2</layerGeometryType></qgis>"
    )


def labelled_qml(label: str, rgb: tuple[int, int, int] = (253, 231, 37)) -> str:
    """A QML style: outlined, lightly filled polygons labelled with the ``label`` attribute."""
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
        f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Labeling" labelsEnabled="1">'
        '<renderer-v2 type="singleSymbol" symbollevels="0" forceraster="0" enableorderby="0">'
        f"<symbols>{_symbol('0', rgb, 0.25)}</symbols></renderer-v2>"
        f"{_labels(label)}<layerGeometryType>2</layerGeometryType></qgis>"
    )
