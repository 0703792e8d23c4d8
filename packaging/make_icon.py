"""Render resources/icons/composer.svg to the 256x256 PNG the desktop file, the app window and
the PyInstaller build use (PNG so no SVG plugin is needed at run time).

    QT_QPA_PLATFORM=offscreen python packaging/make_icon.py
"""

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZE = 256


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (fonts, image I/O)
    renderer = QSvgRenderer(str(ICONS / "composer.svg"))
    if not renderer.isValid():
        print("cannot read composer.svg", file=sys.stderr)
        return 1
    image = QImage(SIZE, SIZE, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    out = ICONS / "composer.png"
    image.save(str(out))
    print(f"wrote {out} ({SIZE}x{SIZE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
