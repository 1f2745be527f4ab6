"""Switch the UI language at run time by installing the compiled Qt translation (.qm) files.

The .qm files are built from translations/*.ts and never committed:
    uv run pyside6-lupdate -extensions py kiosk/ui -ts translations/kiosk_de.ts
    uv run pyside6-lupdate -extensions py kiosk/ui -pluralonly -ts translations/kiosk_en.ts
    uv run pyside6-lrelease translations/kiosk_de.ts translations/kiosk_en.ts
English is the source language; kiosk_en only carries the English plural forms ("1 parcel", "2 parcels").
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTranslator

log = logging.getLogger(__name__)

TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "translations"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "de")
# Each language named in itself: a visitor looks for their own language, not its English name.
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}


class Translator:
    """Owns the one application translator; installing it makes Qt send LanguageChange to every widget."""

    def __init__(self, app: QCoreApplication, directory: Path = TRANSLATIONS_DIR) -> None:
        self._app = app
        self._directory = directory
        self._installed: QTranslator | None = None
        self._language = SOURCE_LANGUAGE

    @property
    def language(self) -> str:
        return self._language

    @property
    def directory(self) -> Path:
        return self._directory

    def qm_path(self, language: str) -> Path:
        return self._directory / f"kiosk_{language}.qm"

    def can_show(self, language: str) -> bool:
        """True if `language` is known and its texts are there (English always is)."""
        return language == SOURCE_LANGUAGE or (language in LANGUAGES and self.qm_path(language).is_file())

    def set_language(self, language: str) -> bool:
        """Show the UI in `language`; False (and a logged warning) if it cannot, leaving the UI as it was."""
        if language not in LANGUAGES:
            log.warning("Unknown language %r (known: %s); keeping %s", language, ", ".join(LANGUAGES),
                        self._language)
            return False
        translator = self._load(language)
        if translator is None and language != SOURCE_LANGUAGE:
            return False
        # Both removing and installing a translator make Qt send LanguageChange to every widget.
        self._remove_installed()
        if translator is not None:
            self._app.installTranslator(translator)
            self._installed = translator
        self._language = language
        return True

    def uninstall(self) -> None:
        """Take this translator off the application (back to the source texts), e.g. when its window goes."""
        self._remove_installed()
        self._language = SOURCE_LANGUAGE

    def _load(self, language: str) -> QTranslator | None:
        path = self.qm_path(language)
        translator = QTranslator(self._app)
        if path.is_file() and translator.load(str(path)):
            return translator
        translator.deleteLater()
        if language == SOURCE_LANGUAGE:
            log.warning("No English plural forms at %s (build it with pyside6-lrelease); "
                        "counts may read '1 parcels'", path)
        else:
            log.warning("No translation file %s (build it with pyside6-lrelease); keeping %s",
                        path, LANGUAGE_NAMES.get(self._language, self._language))
        return None

    def _remove_installed(self) -> None:
        if self._installed is not None:
            self._app.removeTranslator(self._installed)
            self._installed.deleteLater()
            self._installed = None

