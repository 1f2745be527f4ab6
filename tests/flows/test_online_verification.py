"""Codes the locker does not know, checked with the platform (a code re-issued after the last sync).

The platform here is `PlatformDesk`: it answers from the credentials it was given, can be slow (a gate the
test opens), or unreachable. The HTTP way to the platform is covered in tests/backend and tests/e2e.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from flow_rig import CODE_KEY, LOCKER_ID, Rig

from kiosk.core.codes import hash_code
from kiosk.core.flows.views import (
    CodeError,
    Intent,
    PickupCheckingView,
    PickupCodeView,
    PickupScanView,
    PlatformConnection,
    ScreenId,
)
from kiosk.core.model import ParcelState, PickupCredential
from kiosk.core.payloads import pickup_payload
from kiosk.core.ports import VerificationUnavailable

LOCAL_CODE = "111111"
REISSUED_CODE = "777777"


class PlatformDesk:
    """The platform's answers to verify_pickup, as the OnlineVerifier port gives them."""

    def __init__(self) -> None:
        self.credentials: dict[bytes, PickupCredential] = {}
        self.reachable = True
        self.online_now = True
        self.asked: list[bytes] = []
        self.gate: asyncio.Event | None = None  # set: answer only once the test opens it

    def issue(self, code: str, *parcel_ids: str) -> None:
        code_hash = hash_code(CODE_KEY, code)
        self.credentials[code_hash] = PickupCredential(f"cred-{code}", code_hash, parcel_ids, None)

    def online(self) -> bool:
        return self.online_now

    async def verify_pickup(self, code_hash: bytes) -> PickupCredential | None:
        self.asked.append(code_hash)
        if self.gate is not None:
            await self.gate.wait()
        if not self.reachable:
            raise VerificationUnavailable("connection refused")
        return self.credentials.get(code_hash)


@pytest.fixture
def desk() -> PlatformDesk:
    return PlatformDesk()


@pytest.fixture
def online_rig(make_rig: Callable[..., Rig], desk: PlatformDesk) -> Rig:
    return make_rig(verifier=desk, camera=True)


def test_a_reissued_code_is_checked_online_and_opens_the_door(online_rig: Rig, desk: PlatformDesk) -> None:
    rig = online_rig
    parcel = rig.place(LOCAL_CODE)
    desk.issue(REISSUED_CODE, parcel.id)
    desk.gate = asyncio.Event()

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code=REISSUED_CODE)
        screen = await rig.screen_is(ScreenId.PICKUP_CHECKING)
        assert screen.view == PickupCheckingView(scanned=False)
        assert desk.gate is not None
        desk.gate.set()
        await rig.screen_is(ScreenId.DOOR_OPEN)
        await rig.door_confirmed()
        rig.take_parcel_and_close(parcel.compartment_id or "")
        await rig.screen_is(ScreenId.THANK_YOU)

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP
    kinds = rig.audit_kinds()
    assert kinds.index("code_checked_online") < kinds.index("code_accepted")
    assert rig.limiter().status(rig.clock.now()).failures_in_a_row == 0


def test_the_credential_learned_online_works_offline_next_time(online_rig: Rig, desk: PlatformDesk) -> None:
    rig = online_rig
    first = rig.place(LOCAL_CODE)
    second = rig.place("222222")
    desk.issue(REISSUED_CODE, first.id, second.id)

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code=REISSUED_CODE)
        await rig.screen_is(ScreenId.PARCEL_LIST)  # one credential, two parcels
        rig.intent(Intent.CANCEL)
        desk.online_now = False
        desk.reachable = False
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code=REISSUED_CODE)
        await rig.screen_is(ScreenId.PARCEL_LIST)

    rig.run(scenario)
    assert len(desk.asked) == 1


def test_a_code_the_platform_does_not_know_counts_as_wrong(online_rig: Rig, desk: PlatformDesk) -> None:
    rig = online_rig
    rig.place(LOCAL_CODE)

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code="999999")
        screen = await rig.screen_is(ScreenId.PICKUP_CODE)
        assert isinstance(screen.view, PickupCodeView)
        assert screen.view.error is CodeError.WRONG_CODE
        assert screen.view.failures_in_a_row == 1

    rig.run(scenario)
    assert desk.asked == [hash_code(CODE_KEY, "999999")]


def test_a_platform_that_cannot_answer_says_so_and_still_counts(online_rig: Rig, desk: PlatformDesk) -> None:
    rig = online_rig
    desk.reachable = False

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SCAN, payload=pickup_payload(LOCKER_ID, "565656"), source="camera")
        screen = await rig.screen_is(ScreenId.PICKUP_SCAN)
        assert isinstance(screen.view, PickupScanView)
        assert screen.view.error is CodeError.NOT_VERIFIED
        assert screen.view.failures_in_a_row == 1

    rig.run(scenario)


def test_offline_the_platform_is_not_asked(online_rig: Rig, desk: PlatformDesk) -> None:
    rig = online_rig
    desk.online_now = False

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code="565656")
        assert rig.screen.id is ScreenId.PICKUP_CODE
        view = rig.screen.view
        assert isinstance(view, PickupCodeView) and view.error is CodeError.NOT_VERIFIED
        assert view.failures_in_a_row == 1

    rig.run(scenario)
    assert desk.asked == []


def test_standalone_an_unknown_code_is_simply_wrong(rig: Rig) -> None:
    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code="565656")
        view = rig.screen.view
        assert isinstance(view, PickupCodeView) and view.error is CodeError.WRONG_CODE

    rig.run(scenario)


def test_cancel_while_checking_and_a_late_answer_is_ignored(online_rig: Rig, desk: PlatformDesk) -> None:
    rig = online_rig
    parcel = rig.place(LOCAL_CODE)
    desk.issue(REISSUED_CODE, parcel.id)
    desk.gate = asyncio.Event()

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code=REISSUED_CODE)
        await rig.screen_is(ScreenId.PICKUP_CHECKING)
        rig.intent(Intent.CANCEL)
        await rig.screen_is(ScreenId.HOME)
        rig.intent(Intent.START_PICKUP)
        assert desk.gate is not None
        desk.gate.set()
        await rig.until(lambda: not any(task.get_name() == "verify-code" for task in asyncio.all_tasks()),
                        "the late answer to be handled")
        assert rig.screen.id is ScreenId.PICKUP_CODE  # the answer belonged to a session that was cancelled
        assert rig.unlock_pulses(parcel.compartment_id or "") == 0

    rig.run(scenario)


def test_home_shows_the_platform_connection(online_rig: Rig) -> None:
    rig = online_rig

    async def scenario() -> None:
        for link in (PlatformConnection.CONNECTING, PlatformConnection.ONLINE, PlatformConnection.OFFLINE):
            rig.controller.platform_changed(link)
            assert getattr(rig.screen.view, "platform", None) is link

    rig.run(scenario)
