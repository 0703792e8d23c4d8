"""The app's dark Fusion palette, matching the piano-roll editor's colours."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from composer.gui.pianoroll import theme


def apply_dark_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, theme.PANEL), (roles.Base, theme.BACKGROUND), (roles.AlternateBase, theme.ROW_WHITE),
        (roles.Button, QColor("#2a2d34")), (roles.Text, theme.TEXT), (roles.WindowText, theme.TEXT),
        (roles.ButtonText, theme.TEXT), (roles.ToolTipBase, theme.PANEL), (roles.ToolTipText, theme.TEXT),
        (roles.Highlight, QColor(theme.TRACK_PALETTE[0])), (roles.HighlightedText, QColor("#0b0c0f")),
        (roles.PlaceholderText, theme.TEXT_DIM), (roles.Mid, theme.PANEL_BORDER),
    ):
        palette.setColor(role, color)
    palette.setColor(QPalette.ColorGroup.Disabled, roles.Text, theme.TEXT_DIM)
    palette.setColor(QPalette.ColorGroup.Disabled, roles.ButtonText, theme.TEXT_DIM)
    app.setPalette(palette)
