"""QSS themes from resources/themes: the everyday light look and a high-contrast, large-text one."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

THEMES_DIR = Path(__file__).resolve().parents[2] / "resources" / "themes"
LIGHT = "light"
HIGH_CONTRAST = "high_contrast"
THEMES = (LIGHT, HIGH_CONTRAST)
# Debian ships DejaVu by default; naming it keeps glyph widths (and so layouts) the same everywhere.
FONT_FAMILY = "DejaVu Sans"


def theme_path(name: str, themes_dir: Path = THEMES_DIR) -> Path:
    return themes_dir / f"{name}.qss"


def apply_theme(app: QApplication, name: str, *, themes_dir: Path = THEMES_DIR) -> bool:
    """Style the whole application with theme `name`; on any problem keep the current look and say why."""
    if name not in THEMES:
        log.warning("Unknown theme %r (known: %s); keeping the current theme", name, ", ".join(THEMES))
        return False
    path = theme_path(name, themes_dir)
    try:
        stylesheet = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        log.warning("Cannot read theme file %s (%s); keeping the current theme", path, error)
        return False
    if current_theme(app) == name and app.styleSheet() == stylesheet:
        return True  # restyling every widget again would only cost time
    font = QFont(FONT_FAMILY)
    font.setPixelSize(24)
    app.setFont(font)
    app.setStyleSheet(stylesheet)
    app.setProperty("kiosk_theme", name)
    return True


def current_theme(app: QApplication) -> str | None:
    value = app.property("kiosk_theme")
    return value if isinstance(value, str) else None
