"""One widget per ScreenId; each renders the view model the flows hand it."""

from __future__ import annotations

from typing import Any, Protocol

from kiosk.core.flows.views import ScreenId
from kiosk.ui.screens.base import ScreenWidget
from kiosk.ui.screens.courier_collect import CourierCollectScreen
from kiosk.ui.screens.courier_login import CourierLoginScreen
from kiosk.ui.screens.courier_menu import CourierMenuScreen
from kiosk.ui.screens.courier_scan import CourierScanScreen
from kiosk.ui.screens.courier_size import CourierSizeScreen
from kiosk.ui.screens.courier_summary import CourierSummaryScreen
from kiosk.ui.screens.deposit_check import DepositCheckScreen
from kiosk.ui.screens.door_open import DoorOpenScreen
from kiosk.ui.screens.error import ErrorScreen
from kiosk.ui.screens.face_consent import FaceConsentScreen
from kiosk.ui.screens.face_enrol import FaceEnrolScreen
from kiosk.ui.screens.home import HomeScreen
from kiosk.ui.screens.locked_out import LockedOutScreen
from kiosk.ui.screens.more_time import MoreTimeScreen
from kiosk.ui.screens.parcel_list import ParcelListScreen
from kiosk.ui.screens.pickup_checking import PickupCheckingScreen
from kiosk.ui.screens.pickup_code import PickupCodeScreen
from kiosk.ui.screens.pickup_face import PickupFaceScreen
from kiosk.ui.screens.pickup_scan import PickupScanScreen
from kiosk.ui.screens.receipt import ReceiptScreen
from kiosk.ui.screens.report_problem import ReportProblemScreen
from kiosk.ui.screens.return_code import ReturnCodeScreen
from kiosk.ui.screens.return_size import ReturnSizeScreen
from kiosk.ui.screens.thank_you import ThankYouScreen
from kiosk.ui.widgets import IntentSink


class ScreenClass(Protocol):
    """A screen widget class: built with the intent sink (CoreBridge.send), shows the screen `screen_id`."""

    screen_id: ScreenId

    def __call__(self, send: IntentSink, /) -> ScreenWidget[Any]: ...


# Each builds its widgets once, the first time the main window needs it.
SCREEN_CLASSES: tuple[ScreenClass, ...] = (
    HomeScreen,
    PickupCodeScreen,
    PickupScanScreen,
    PickupCheckingScreen,
    ParcelListScreen,
    DoorOpenScreen,
    ReportProblemScreen,
    ThankYouScreen,
    LockedOutScreen,
    MoreTimeScreen,
    ErrorScreen,
    CourierLoginScreen,
    CourierMenuScreen,
    CourierScanScreen,
    CourierSizeScreen,
    CourierCollectScreen,
    CourierSummaryScreen,
    DepositCheckScreen,
    ReturnCodeScreen,
    ReturnSizeScreen,
    ReceiptScreen,
    PickupFaceScreen,
    FaceConsentScreen,
    FaceEnrolScreen,
)

__all__ = [
    "SCREEN_CLASSES",
    "CourierCollectScreen",
    "CourierLoginScreen",
    "CourierMenuScreen",
    "CourierScanScreen",
    "CourierSizeScreen",
    "CourierSummaryScreen",
    "DepositCheckScreen",
    "DoorOpenScreen",
    "ErrorScreen",
    "FaceConsentScreen",
    "FaceEnrolScreen",
    "HomeScreen",
    "LockedOutScreen",
    "MoreTimeScreen",
    "ParcelListScreen",
    "PickupCheckingScreen",
    "PickupCodeScreen",
    "PickupFaceScreen",
    "PickupScanScreen",
    "ReceiptScreen",
    "ReportProblemScreen",
    "ReturnCodeScreen",
    "ReturnSizeScreen",
    "ScreenWidget",
    "ThankYouScreen",
]
