"""The plugin object QGIS loads: the Processing provider, the dock, diagnostics and the installer."""

from __future__ import annotations

from typing import Any

from qgis.core import Qgis, QgsApplication, QgsTask
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QPushButton

try:  # Qt6 moved QAction to QtGui
    from qgis.PyQt.QtGui import QAction
except ImportError:  # Qt5
    from qgis.PyQt.QtWidgets import QAction

from . import deps
from .paths import PLUGIN_DIR
from .provider import SargeoProvider

MENU = "SAR Narrator"


class InstallTask(QgsTask):
    """Installs the missing packages with pip in the background (`deps.install`)."""

    def __init__(self, modules: list[str], done: Any) -> None:
        super().__init__("SAR Narrator: installing " + ", ".join(modules), QgsTask.Flag.CanCancel)
        self.modules = modules
        self.done = done
        self.log: list[str] = []
        self.ok = False

    def run(self) -> bool:
        """Worker thread: pip only, no UI."""
        self.ok = deps.install(self.modules, log=self.log.append)
        return self.ok

    def finished(self, result: bool) -> None:
        """Main thread: report."""
        self.done(result, self.log)


class SarNarratorPlugin:
    """Registers the provider ``sargeo``, a menu, a toolbar button for the dock and diagnostics."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.provider: SargeoProvider | None = None
        self.dock: Any = None
        self.actions: list[QAction] = []
        self.task: InstallTask | None = None

    def initProcessing(self) -> None:
        """Register the Processing provider (also called by qgis_process)."""
        self.provider = SargeoProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        """Menu entries, the toolbar button, and a message when packages are missing."""
        self.initProcessing()
        window = self.iface.mainWindow()
        panel = QAction(QIcon(str(PLUGIN_DIR / "icon.svg")), "SAR Narrator panel", window)
        panel.setCheckable(True)
        panel.toggled.connect(self.show_dock)
        diagnostics = QAction("Diagnostics...", window)
        diagnostics.triggered.connect(self.show_diagnostics)
        install = QAction("Install dependencies", window)
        install.triggered.connect(self.install)
        for action in (panel, diagnostics, install):
            self.iface.addPluginToRasterMenu(MENU, action)
            self.actions.append(action)
        self.iface.addToolBarIcon(panel)
        missing = deps.missing()
        if missing:
            self.warn_missing(missing)

    def warn_missing(self, missing: list[str]) -> None:
        """A message bar entry naming what is missing, with an Install button."""
        bar = self.iface.messageBar()
        widget = bar.createMessage(MENU, deps.missing_message(missing))
        button = QPushButton("Install")
        button.clicked.connect(self.install)
        widget.layout().addWidget(button)
        bar.pushWidget(widget, Qgis.MessageLevel.Warning)

    def install(self) -> None:
        """Install what is missing in a background task."""
        missing = deps.missing()
        bar = self.iface.messageBar()
        if not missing:
            bar.pushMessage(
                MENU, "onnxruntime and tokenizers already import.", Qgis.MessageLevel.Info
            )
            return
        if self.task is not None:
            bar.pushMessage(MENU, "The installer is already running.", Qgis.MessageLevel.Info)
            return

        def done(ok: bool, log: list[str]) -> None:
            self.task = None
            if ok:
                bar.pushMessage(MENU, f"Installed {', '.join(missing)}.", Qgis.MessageLevel.Success)
            else:
                tail = log[-1] if log else "no output"
                bar.pushMessage(
                    MENU, f"Installing failed: {tail} (see Diagnostics)", Qgis.MessageLevel.Critical
                )

        self.task = InstallTask(missing, done)
        QgsApplication.taskManager().addTask(self.task)

    def show_dock(self, visible: bool) -> None:
        """Show or hide the dock (created on first use)."""
        if self.dock is None:
            from qgis.PyQt.QtCore import Qt

            from .dock import SarNarratorDock

            self.dock = SarNarratorDock(self.iface.mapCanvas(), parent=self.iface.mainWindow())
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.setVisible(visible)

    def show_diagnostics(self) -> None:
        """Open the diagnostics dialog."""
        from .diagnostics import show_dialog

        self._dialog = show_dialog(self.iface.mainWindow())

    def unload(self) -> None:
        """Remove everything the plugin added."""
        for action in self.actions:
            self.iface.removePluginRasterMenu(MENU, action)
            self.iface.removeToolBarIcon(action)
        self.actions = []
        if self.dock is not None:
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
