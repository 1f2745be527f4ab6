"""Themes: both load, an unknown or broken one keeps the current look, and the preview renders."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from kiosk.ui.preview import main as preview_main
from kiosk.ui.preview import sample_screens
from kiosk.ui.theme import HIGH_CONTRAST, LIGHT, THEMES, apply_theme, current_theme, theme_path


@pytest.mark.parametrize("name", THEMES)
def test_each_theme_loads_and_names_the_default_debian_font(qapp: QApplication, name: str) -> None:
    try:
        assert apply_theme(qapp, name)
        assert current_theme(qapp) == name
        assert "DejaVu Sans" in qapp.styleSheet()
        assert qapp.font().family() == "DejaVu Sans"
    finally:
        apply_theme(qapp, LIGHT)


def test_an_unknown_theme_keeps_the_current_one(qapp: QApplication, caplog: pytest.LogCaptureFixture) -> None:
    apply_theme(qapp, LIGHT)
    with caplog.at_level(logging.WARNING, logger="kiosk.ui.theme"):
        assert not apply_theme(qapp, "neon")
    assert current_theme(qapp) == LIGHT
    assert "Unknown theme 'neon'" in caplog.text


def test_a_missing_theme_file_keeps_the_current_one(
    qapp: QApplication, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    apply_theme(qapp, LIGHT)
    with caplog.at_level(logging.WARNING, logger="kiosk.ui.theme"):
        assert not apply_theme(qapp, HIGH_CONTRAST, themes_dir=tmp_path)
    assert current_theme(qapp) == LIGHT
    assert str(theme_path(HIGH_CONTRAST, tmp_path)) in caplog.text


def test_the_preview_writes_a_png_per_screen_and_size(
    qapp: QApplication, tmp_path: Path, translations_dir: Path
) -> None:
    assert preview_main([str(tmp_path), "--languages", "de", "--themes", "light",
                         "--translations", str(translations_dir)]) == 0
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) == 2 * len(sample_screens())  # both sizes
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert (tmp_path / "light_de_1080x1920_door_open.png").exists()
