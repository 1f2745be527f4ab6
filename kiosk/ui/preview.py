"""Render every screen with sample view models to PNG files, for looking at the layout by eye.

    QT_QPA_PLATFORM=offscreen uv run python -m kiosk.ui.preview /tmp/kiosk-preview

Sizes: 1280x800 landscape and 1080x1920 portrait; every language and theme unless narrowed down with
--languages / --themes. The .qm files must be built first (see kiosk/ui/i18n.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

from kiosk.core.flows.api import FlowListener
from kiosk.core.flows.views import (
    CodeError,
    CollectItem,
    CollectReason,
    CourierCollectView,
    CourierLoginError,
    CourierLoginView,
    CourierMenuView,
    CourierNotice,
    CourierScanView,
    CourierSizeView,
    CourierSummaryView,
    DepositCheckView,
    DoorAudience,
    DoorOpenView,
    ErrorReason,
    ErrorView,
    FaceConsentView,
    FaceEnrolView,
    FaceNotice,
    HomeNotice,
    HomeView,
    Intent,
    LockedOutView,
    MapCell,
    MoreTimeView,
    ParcelItem,
    ParcelListView,
    PickupCodeView,
    PickupFaceView,
    PickupScanView,
    ReceiptView,
    ReportProblemView,
    ReturnCodeError,
    ReturnCodeView,
    ReturnSizeView,
    Screen,
    ScreenId,
    ThankYouView,
)
from kiosk.core.model import DoorState, FaceEnrolFailure, FaceGuidance, ProblemKind, Size
from kiosk.ui.bridge import CoreBridge
from kiosk.ui.i18n import LANGUAGES, TRANSLATIONS_DIR, Translator
from kiosk.ui.main_window import MainWindow
from kiosk.ui.theme import HIGH_CONTRAST, THEMES

SIZES = ((1280, 800), (1080, 1920))

# (column letter, [(size, top edge cm), ...] from the top down); column B holds the screen, hence its gap.
_BANK = (
    ("A", [(Size.L, 200), (Size.M, 160), (Size.M, 140), (Size.S, 120), (Size.S, 110), (Size.L, 100),
           (Size.L, 60)]),
    ("B", [(Size.M, 200), (Size.M, 180), (Size.L, 80), (Size.S, 40), (Size.S, 30)]),
    ("C", [(Size.S, 200), (Size.S, 190), (Size.M, 180), (Size.M, 160), (Size.L, 140), (Size.XL, 100),
           (Size.S, 40), (Size.S, 30)]),
    ("D", [(Size.XL, 200), (Size.L, 140), (Size.M, 100), (Size.M, 80), (Size.L, 60)]),
)


def sample_cells(open_doors: Sequence[str], waiting: bool = False) -> tuple[MapCell, ...]:
    cells = []
    for column, (letter, stack) in enumerate(_BANK):
        for index, (size, top) in enumerate(stack, start=1):
            compartment_id = f"{letter}{index:02d}"
            mine = compartment_id in open_doors
            door = DoorState.OPEN if mine and not waiting else DoorState.CLOSED
            cells.append(MapCell(compartment_id, column, top, size, door, highlighted=mine))
    return tuple(cells)


def sample_frame(width: int = 640, height: int = 480) -> np.ndarray:
    """A camera picture to preview the scan screen with: a grey room, a visitor's head and shoulders, and a
    phone-sized card with a QR-like pattern (seeded random modules, three finder squares) held up.

    The card is held left of centre in the camera's picture, so the mirrored preview shows it right of
    centre: one look tells whether the mirroring works.
    """
    rng = np.random.default_rng(4)
    y, x = np.mgrid[0:height, 0:width]
    room = 168 + 30 * (y / height) + rng.normal(0, 3, (height, width))
    head = ((x - width * 0.62) / (width * 0.11)) ** 2 + ((y - height * 0.42) / (height * 0.19)) ** 2 < 1
    shoulders = ((x - width * 0.62) / (width * 0.30)) ** 2 + ((y - height * 1.05) / (height * 0.38)) ** 2 < 1
    room[head] = 118 + 6 * (y[head] / height)
    room[shoulders] = 72
    frame = np.repeat(np.clip(room, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    frame[:, :, 0] = np.clip(frame[:, :, 0].astype(int) + 10, 0, 255)  # the slight blue cast of cameras
    modules, module_px = 21, 6
    code = rng.random((modules, modules)) < 0.5
    for row, column in ((0, 0), (0, modules - 7), (modules - 7, 0)):
        finder = np.zeros((7, 7), dtype=bool)
        finder[[0, 6], :] = True
        finder[:, [0, 6]] = True
        finder[2:5, 2:5] = True
        code[row:row + 7, column:column + 7] = finder
    quiet = 3 * module_px
    card = np.full((modules * module_px + 2 * quiet,) * 2, 245, dtype=np.uint8)
    card[quiet:-quiet, quiet:-quiet] = np.where(np.kron(code, np.ones((module_px, module_px))), 25, 245)
    top, left = int(height * 0.45) - card.shape[0] // 2, int(width * 0.44) - card.shape[1] // 2
    frame[top:top + card.shape[0], left:left + card.shape[1]] = card[:, :, None]
    return frame


LABEL = "JJD000390007123456789012"  # a long tracking number, still shown whole
COLLECT_ITEMS = tuple(
    CollectItem(f"P-{n:012X}", f"C{n:02d}", Size.L, CollectReason(("expired", "returned")[n % 2]),
                collected=n == 1, failed=n == 2)
    for n in range(1, 8)
)


def courier_and_return_screens() -> list[tuple[str, Screen]]:
    """The longest texts each courier and return screen can show."""
    return [
        *[(f"courier_login_{error.value}", Screen(ScreenId.COURIER_LOGIN, CourierLoginView(
            error, failures_in_a_row=1, can_scan=True))) for error in CourierLoginError],
        ("courier_login_checking", Screen(ScreenId.COURIER_LOGIN, CourierLoginView(
            checking=True, can_scan=True))),
        ("courier_login_locked", Screen(ScreenId.COURIER_LOGIN, CourierLoginView(
            CourierLoginError.WRONG_CREDENTIALS, failures_in_a_row=5, locked_seconds=600, can_scan=True))),
        ("courier_menu", Screen(ScreenId.COURIER_MENU, CourierMenuView(
            "Maximilian Alexander Müller-Lüdenscheidt", True, 12, 123, 45))),
        ("courier_menu_no_collect", Screen(ScreenId.COURIER_MENU, CourierMenuView("Anna", False, 0, 0, 0))),
        *[(f"courier_scan_{notice.value}", Screen(ScreenId.COURIER_SCAN, CourierScanView(
            120, 14, notice, LABEL, "D05", Size.XL, can_scan=True))) for notice in CourierNotice],
        ("courier_size", Screen(ScreenId.COURIER_SIZE, CourierSizeView(
            LABEL, (Size.L, Size.XL), photo_taken=True))),
        ("courier_collect", Screen(ScreenId.COURIER_COLLECT, CourierCollectView(COLLECT_ITEMS))),
        ("courier_collect_empty", Screen(ScreenId.COURIER_COLLECT, CourierCollectView(()))),
        ("courier_summary", Screen(ScreenId.COURIER_SUMMARY, CourierSummaryView(
            "Maximilian Alexander Müller-Lüdenscheidt", 123, 14, 45, 3))),
        *[(f"deposit_check_{inside}_{courier}", Screen(ScreenId.DEPOSIT_CHECK, DepositCheckView(
            "D05", LABEL, still_inside=inside, courier=courier)))
          for inside in (False, True) for courier in (True, False)],
        ("door_open_courier_deposit", Screen(ScreenId.DOOR_OPEN, DoorOpenView(
            ("C03",), sample_cells(["C03"]), False, DoorAudience.COURIER_DEPOSIT, LABEL, "A03"))),
        ("door_open_courier_collect", Screen(ScreenId.DOOR_OPEN, DoorOpenView(
            ("A07", "B02", "C03"), sample_cells(["A07", "B02", "C03"]), False,
            DoorAudience.COURIER_COLLECT))),
        ("door_open_return", Screen(ScreenId.DOOR_OPEN, DoorOpenView(
            ("C03",), sample_cells(["C03"], waiting=True), True, DoorAudience.RETURN))),
        *[(f"return_code_{error.value}", Screen(ScreenId.RETURN_CODE, ReturnCodeView(
            error, failures_in_a_row=1, can_scan=True))) for error in ReturnCodeError],
        ("return_code_checking", Screen(ScreenId.RETURN_CODE, ReturnCodeView(checking=True, can_scan=True))),
        ("return_code_locked", Screen(ScreenId.RETURN_CODE, ReturnCodeView(
            locked_seconds=90, can_scan=True))),
        ("return_size", Screen(ScreenId.RETURN_SIZE, ReturnSizeView(Size.M, (Size.L,)))),
        ("return_size_full", Screen(ScreenId.RETURN_SIZE, ReturnSizeView(Size.S, ()))),
        ("receipt", Screen(ScreenId.RECEIPT, ReceiptView("K7Q2M9XD4FPA", "C03", "P-3F2A9C0B1D4E"))),
    ]


def face_screens() -> list[tuple[str, Screen]]:
    """Face pickup: every guidance on pickup_face and face_enrol, the consent, and every thank-you variant."""
    return [
        *[(f"pickup_face_{guidance.value}", Screen(ScreenId.PICKUP_FACE, PickupFaceView(
            guidance, can_scan=True))) for guidance in FaceGuidance],
        ("pickup_face_no_camera", Screen(ScreenId.PICKUP_FACE, PickupFaceView(camera_connected=False))),
        ("pickup_code_face", Screen(ScreenId.PICKUP_CODE, PickupCodeView(
            CodeError.FACE_NOT_RECOGNISED, can_scan=True, can_use_face=True))),
        ("face_consent", Screen(ScreenId.FACE_CONSENT, FaceConsentView(forget_after_days=180))),
        *[(f"face_enrol_{guidance.value}", Screen(ScreenId.FACE_ENROL, FaceEnrolView(3, 5, guidance)))
          for guidance in (FaceGuidance.NO_FACE, FaceGuidance.COME_CLOSER, FaceGuidance.ONE_FACE,
                           FaceGuidance.HOLD_STILL, FaceGuidance.CHECKING)],
        ("face_enrol_no_camera", Screen(ScreenId.FACE_ENROL, FaceEnrolView(0, 5, camera_connected=False))),
        ("thank_you_offer_face", Screen(ScreenId.THANK_YOU, ThankYouView(2, can_offer_face=True))),
        ("thank_you_face_pickup", Screen(ScreenId.THANK_YOU, ThankYouView(1, can_forget_face=True))),
        ("thank_you_face_saved", Screen(ScreenId.THANK_YOU, ThankYouView(
            1, can_forget_face=True, face_notice=FaceNotice.SAVED))),
        *[(f"thank_you_face_not_saved_{failure.value}", Screen(ScreenId.THANK_YOU, ThankYouView(
            2, can_offer_face=True, face_notice=FaceNotice.NOT_SAVED, enrol_failure=failure)))
          for failure in FaceEnrolFailure],
        ("thank_you_face_forgotten", Screen(ScreenId.THANK_YOU, ThankYouView(
            1, can_offer_face=True, face_notice=FaceNotice.FORGOTTEN))),
        ("thank_you_face_report", Screen(ScreenId.THANK_YOU, ThankYouView(
            1, ProblemKind.DOOR_DID_NOT_OPEN, can_forget_face=True, face_notice=FaceNotice.SAVED))),
    ]


def sample_screens() -> list[tuple[str, Screen]]:
    """One or more sample view models per screen; the name becomes part of the file name."""
    parcels = (
        ParcelItem("p-1001", "A07", Size.L, opened=True),
        ParcelItem("p-1002", "C03", Size.M, opened=False),
        ParcelItem("p-1003", "D01", Size.XL, opened=False),
    )
    return [
        ("home", Screen(ScreenId.HOME, HomeView())),
        ("home_foreign_code", Screen(ScreenId.HOME, HomeView(notice=HomeNotice.FOREIGN_CODE))),
        ("pickup_code", Screen(ScreenId.PICKUP_CODE, PickupCodeView())),
        ("pickup_code_wrong", Screen(ScreenId.PICKUP_CODE, PickupCodeView(CodeError.WRONG_CODE, 3, 5))),
        ("pickup_code_scan", Screen(ScreenId.PICKUP_CODE, PickupCodeView(can_scan=True))),
        ("pickup_scan", Screen(ScreenId.PICKUP_SCAN, PickupScanView())),
        ("pickup_scan_foreign", Screen(ScreenId.PICKUP_SCAN, PickupScanView(CodeError.FOREIGN))),
        ("pickup_scan_wrong", Screen(ScreenId.PICKUP_SCAN, PickupScanView(CodeError.WRONG_CODE, 4, 5))),
        ("pickup_scan_no_camera", Screen(ScreenId.PICKUP_SCAN, PickupScanView(camera_connected=False))),
        ("parcel_list", Screen(ScreenId.PARCEL_LIST, ParcelListView(parcels))),
        ("door_open", Screen(ScreenId.DOOR_OPEN, DoorOpenView(("C03",), sample_cells(["C03"]), False))),
        ("door_open_two", Screen(ScreenId.DOOR_OPEN,
                                 DoorOpenView(("A07", "B02"), sample_cells(["A07", "B02"]), False))),
        ("door_opening", Screen(ScreenId.DOOR_OPEN,
                                DoorOpenView(("C03",), sample_cells(["C03"], waiting=True), True))),
        ("report_problem", Screen(ScreenId.REPORT_PROBLEM, ReportProblemView(("p-1002",)))),
        ("thank_you", Screen(ScreenId.THANK_YOU, ThankYouView(2))),
        ("thank_you_report", Screen(ScreenId.THANK_YOU, ThankYouView(1, ProblemKind.DAMAGED))),
        ("locked_out", Screen(ScreenId.LOCKED_OUT, LockedOutView(272))),
        ("more_time", Screen(ScreenId.MORE_TIME, MoreTimeView(12, ScreenId.PICKUP_CODE))),
        ("error_door", Screen(ScreenId.ERROR, ErrorView(ErrorReason.DOOR_FAULT, "A07"))),
        ("error_bus", Screen(ScreenId.ERROR, ErrorView(ErrorReason.BUS_DOWN))),
        *courier_and_return_screens(),
        *face_screens(),
    ]


class StaticFlows:
    """Flows that only show what they are told; intents are ignored (nothing to drive in a preview)."""

    def __init__(self) -> None:
        self._screen = Screen(ScreenId.HOME, HomeView())
        self._listeners: list[FlowListener] = []

    @property
    def screen(self) -> Screen:
        return self._screen

    def add_listener(self, listener: FlowListener) -> None:
        self._listeners.append(listener)

    def intent(self, intent: Intent, **arguments: object) -> None:
        del intent, arguments

    def show(self, screen: Screen) -> None:
        self._screen = screen
        for listener in self._listeners:
            listener.on_screen(screen)


def render(outdir: Path, languages: Sequence[str], themes: Sequence[str], translations: Path) -> list[Path]:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    outdir.mkdir(parents=True, exist_ok=True)
    flows = StaticFlows()
    bridge = CoreBridge(flows)
    window = MainWindow(bridge, windowed=True, translator=Translator(app, translations),
                        layout_info="Locker 0421 · Central Station, main hall")
    window.show()
    frame = sample_frame()
    written = []
    for theme in themes:
        window.set_accessible_mode(theme == HIGH_CONTRAST)
        for language in languages:
            window.set_language(language)
            app.processEvents()
            for width, height in SIZES:
                window.resize(width, height)
                for name, screen in sample_screens():
                    flows.show(screen)
                    if name == "pickup_code_wrong":
                        for digit in "47110815":
                            window.screen_widget(ScreenId.PICKUP_CODE).keypad.press_digit(digit)  # type: ignore[attr-defined]
                    app.processEvents()
                    # The picture takes the camera's road: the bridge hands it to the preview, if one is up.
                    bridge.offer_frame(frame)
                    app.processEvents()
                    path = outdir / f"{theme}_{language}_{width}x{height}_{name}.png"
                    window.grab().save(str(path))
                    written.append(path)
                    if name == "pickup_code_wrong":
                        window.screen_widget(ScreenId.PICKUP_CODE).keypad.clear()  # type: ignore[attr-defined]
    # The application may outlive this preview (tests): leave it as it was found.
    window.set_accessible_mode(False)
    window.translator.uninstall()
    window.close()
    window.deleteLater()
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.ui.preview", description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--themes", default=",".join(THEMES))
    parser.add_argument("--translations", type=Path, default=TRANSLATIONS_DIR)
    args = parser.parse_args(argv)
    languages = [lang for lang in args.languages.split(",") if lang]
    themes = [theme for theme in args.themes.split(",") if theme]
    unknown = [x for x in languages if x not in LANGUAGES] + [x for x in themes if x not in THEMES]
    if unknown:
        parser.error(f"unknown language or theme: {', '.join(unknown)}")
    written = render(args.outdir, languages, themes, args.translations)
    print(f"wrote {len(written)} screenshots to {args.outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
