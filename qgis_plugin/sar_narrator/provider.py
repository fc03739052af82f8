"""The Processing provider ``sargeo``: text search, indexing, captioning and question answering."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .algorithms.describe import CaptionAlgorithm, VqaAlgorithm
from .algorithms.search import BuildIndexAlgorithm, TextSearchAlgorithm
from .paths import PLUGIN_DIR

ALGORITHMS = (BuildIndexAlgorithm, TextSearchAlgorithm, CaptionAlgorithm, VqaAlgorithm)


class SargeoProvider(QgsProcessingProvider):
    """Provider id ``sargeo``; algorithms ``sargeo:buildindex``, ``textsearch``, ``caption``, ``vqa``."""

    def id(self) -> str:
        """Provider id (the prefix of its algorithm ids)."""
        return "sargeo"

    def name(self) -> str:
        """Name in the Toolbox."""
        return "SAR Narrator"

    def longName(self) -> str:
        """Long name."""
        return "SAR Narrator (sargeo SAR vision-language models)"

    def icon(self) -> QIcon:
        """The plugin's icon."""
        return QIcon(str(PLUGIN_DIR / "icon.svg"))

    def loadAlgorithms(self) -> None:
        """Register the algorithms."""
        for algorithm in ALGORITHMS:
            self.addAlgorithm(algorithm())
