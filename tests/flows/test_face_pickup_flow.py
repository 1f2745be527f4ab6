"""Face pickup in the flows, below the UI: the pickup chart and the controller with a real store, real
simulated boards and a manual flow clock. The face engine itself is elsewhere (a child process in the kiosk);
here a small recording stand-in answers for it, reading readiness from the real store as the app's service
does."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from flow_rig import LOCKER_ID, Rig

from kiosk.core.flows.views import (
    CodeError,
    FaceConsentView,
    FaceEnrolView,
    FaceNotice,
    FaceTarget,
    HomeView,
    Intent,
    MoreTimeView,
    ParcelListView,
    PickupCodeView,
    PickupFaceView,
    PickupScanView,
    ScreenId,
    ThankYouView,
)
from kiosk.core.model import (
    EventKind,
    FaceEnrolFailure,
    FaceGuidance,
    FacePolicy,
    ParcelState,
    PickupMethod,
    Size,
    Timers,
)
from kiosk.core.payloads import pickup_payload
from kiosk.core.ports import Store

CODE = "246810"
OTHER_CODE = "135791"
ADA = "resident:7"
BOB = "platform:r-0042"
SEALED = b"gAAAAA-sealed-encodings-stand-in"  # the store keeps sealed bytes; it never opens them
POLICY = FacePolicy(attempt_s=15.0, enrol_frames=5, enrol_timeout_s=20.0, forget_after_days=180)
BACKSTOP_S = POLICY.enrol_timeout_s + 5.0


class RecordingFaces:
    """The face service as the pickup chart sees it (the PickupFaces port). Ready for pickup when its engine
    is usable and the real store's gallery is not empty; enrolments are recorded and finished by the test,
    saving to the store as the service does, then reported through the controller."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self.engine_usable = True
        self.requests: list[tuple[int, str]] = []
        self.cancelled = 0

    def face_pickup_ready(self) -> bool:
        assert self.store is not None
        return self.engine_usable and bool(self.store.face_gallery())

    def can_enrol_faces(self) -> bool:
        return self.engine_usable

    def request_enrolment(self, attempt: int, recipient_ref: str) -> None:
        self.requests.append((attempt, recipient_ref))

    def cancel_enrolment(self) -> None:
        self.cancelled += 1

    @property
    def attempt(self) -> int:
        return self.requests[-1][0]


@pytest.fixture
def faces() -> RecordingFaces:
    return RecordingFaces()


@pytest.fixture
def rig(make_rig: Callable[..., Rig], faces: RecordingFaces) -> Rig:
    made = make_rig(camera=True, faces=faces, face_policy=POLICY)
    faces.store = made.store
    return made


def enrol(rig: Rig, recipient_ref: str = ADA) -> None:
    rig.store.save_face(recipient_ref, SEALED, rig.clock.now())


def thank_you(rig: Rig) -> ThankYouView:
    assert rig.screen.id is ScreenId.THANK_YOU, rig.screen
    view = rig.screen.view
    assert isinstance(view, ThankYouView)
    return view


async def take_out(rig: Rig, *compartments: str) -> None:
    """The doors of the door screen confirmed open, the parcels taken and the doors closed."""
    await rig.door_confirmed()
    for compartment_id in compartments:
        rig.take_parcel_and_close(compartment_id)
    await rig.screen_is(ScreenId.THANK_YOU)


async def pick_up_by_code(rig: Rig, compartment_id: str, code: str = CODE) -> ThankYouView:
    rig.intent(Intent.START_PICKUP)
    rig.intent(Intent.SUBMIT_CODE, code=code)
    await take_out(rig, compartment_id)
    return thank_you(rig)


def picked_up_events(rig: Rig) -> list[tuple[str | None, object]]:
    return [(event.parcel_id, event.details.get("method")) for event in rig.store.outbox_batch(1000)
            if event.kind is EventKind.PICKED_UP]


# face pickup ------------------------------------------------------------------------------------------------
def test_an_enrolled_recipient_walks_up_and_picks_up_with_no_tap(rig: Rig) -> None:
    parcel = rig.place(CODE, recipient_ref=ADA)
    enrol(rig)
    enrolled_at = rig.clock.now()
    rig.clock.advance(3600)

    async def scenario() -> None:
        assert rig.controller.face_target() is FaceTarget.WATCH
        rig.controller.face_seen()
        assert rig.screen.id is ScreenId.PICKUP_FACE
        assert rig.screen.view == PickupFaceView(guidance=FaceGuidance.NO_FACE, can_scan=True)
        assert rig.controller.face_target() is FaceTarget.MATCH
        for guidance in (FaceGuidance.COME_CLOSER, FaceGuidance.BLINK, FaceGuidance.TURN_HEAD,
                         FaceGuidance.CHECKING):
            rig.controller.face_guidance(guidance)
            assert rig.screen.view == PickupFaceView(guidance=guidance, can_scan=True)
        rig.controller.face_matched(ADA)
        assert rig.screen.id is ScreenId.DOOR_OPEN
        assert rig.controller.face_target() is FaceTarget.NONE
        await take_out(rig, "A2")
        # A face pickup offers no enrolment (done already) but always the way out of it.
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, can_forget_face=True)

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP
    assert picked_up_events(rig) == [(parcel.id, PickupMethod.FACE.value)]
    [accepted] = [entry for entry in rig.store.audit_log() if entry.kind == "face_accepted"]
    assert accepted.details == {"parcel_ids": [parcel.id]}  # which parcels; nothing of the face
    assert "code_accepted" not in rig.audit_kinds()
    # face_used restarted the unused-days clock: an enrolment not used since an hour ago survives
    assert rig.store.forget_unused_faces(enrolled_at + 1, rig.clock.now()) == 0
    assert rig.store.has_face(ADA)


def test_a_face_pickup_neither_counts_as_nor_clears_the_keypads_wrong_codes(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        view = rig.screen.view
        assert isinstance(view, PickupCodeView) and view.can_use_face
        for _ in range(2):
            rig.intent(Intent.SUBMIT_CODE, code="99999999")
        rig.intent(Intent.FACE_INSTEAD)
        assert rig.screen.id is ScreenId.PICKUP_FACE
        rig.controller.face_matched(ADA)
        await take_out(rig, "A2")

    rig.run(scenario)
    assert rig.limiter().status(rig.clock.now()).failures_in_a_row == 2


def test_several_parcels_of_the_recipient_are_listed(rig: Rig) -> None:
    first = rig.place(CODE, Size.S, parcel_id="P-1", recipient_ref=ADA)
    second = rig.place(OTHER_CODE, Size.M, parcel_id="P-2", recipient_ref=ADA)
    rig.place("97531111", Size.S, parcel_id="P-3", recipient_ref=BOB)  # somebody else's stays shut
    enrol(rig)

    async def scenario() -> None:
        rig.controller.face_seen()
        rig.controller.face_matched(ADA)
        listing = rig.screen
        assert listing.id is ScreenId.PARCEL_LIST and isinstance(listing.view, ParcelListView)
        assert [item.parcel_id for item in listing.view.parcels] == ["P-1", "P-2"]
        rig.intent(Intent.OPEN_ALL)
        await take_out(rig, str(first.compartment_id), str(second.compartment_id))
        assert thank_you(rig).parcels_picked_up == 2

    rig.run(scenario)
    assert sorted(picked_up_events(rig)) == [("P-1", "face"), ("P-2", "face")]
    assert rig.store.parcel("P-3").state is ParcelState.IN_LOCKER


def test_a_match_for_a_recipient_whose_parcels_are_gone_is_not_recognised(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)
    enrol(rig, BOB)  # enrolled, but nothing of Bob's is here (picked up since the gallery was made)

    async def scenario() -> None:
        rig.controller.face_seen()
        rig.clock.advance(10)
        rig.controller.face_guidance(FaceGuidance.CHECKING)
        rig.controller.face_matched(BOB)
        assert rig.screen.id is ScreenId.PICKUP_FACE
        assert rig.screen.view == PickupFaceView(guidance=FaceGuidance.NOT_RECOGNISED, can_scan=True)
        # neither the guidance nor the match restarted the attempt
        rig.clock.advance(POLICY.attempt_s - 10)
        assert rig.screen.view == PickupCodeView(error=CodeError.FACE_NOT_RECOGNISED, can_scan=True,
                                                 can_use_face=True)

    rig.run(scenario)
    assert "face_accepted" not in rig.audit_kinds()
    assert [parcel.recipient_ref for parcel in rig.store.parcels_for_recipient(ADA)] == [ADA]  # still in


def test_face_news_on_screens_where_it_does_not_apply_is_ignored(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    parcel = rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.controller.face_matched(ADA)  # on home: nobody asked for a match
        rig.controller.face_guidance(FaceGuidance.BLINK)
        rig.controller.face_enrolled(1)
        assert rig.screen.view == HomeView(can_scan=True)
        rig.intent(Intent.START_PICKUP)
        rig.controller.face_seen()  # already in a session: no jump to the face screen
        assert rig.screen.id is ScreenId.PICKUP_CODE
        with caplog.at_level(logging.WARNING):
            rig.controller.face_guidance("blink")  # type: ignore[arg-type]
            rig.controller.face_matched(None)  # type: ignore[arg-type]
            rig.controller.face_enrol_progress(True, FaceGuidance.BLINK)
            rig.controller.face_enrol_failed(1, "timed_out")  # type: ignore[arg-type]
        assert rig.screen.id is ScreenId.PICKUP_CODE
        assert "FaceGuidance" in caplog.text and "recipient ref" in caplog.text

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER


def test_face_news_is_ignored_while_courier_mode_has_the_screen(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.intent(Intent.START_COURIER)
        assert rig.screen.id is ScreenId.COURIER_LOGIN
        assert rig.controller.face_target() is FaceTarget.NONE
        rig.controller.face_seen()
        rig.controller.face_matched(ADA)
        assert rig.screen.id is ScreenId.COURIER_LOGIN
        rig.intent(Intent.CANCEL)
        assert rig.screen.id is ScreenId.HOME

    rig.run(scenario)
    assert "face_accepted" not in rig.audit_kinds()


# not ready: nothing face-related is offered -----------------------------------------------------------------
def test_with_nobody_enrolled_having_a_parcel_here_faces_are_not_offered(rig: Rig,
                                                                         faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig, BOB)  # enrolled, but no parcel of Bob's is here

    async def scenario() -> None:
        assert rig.controller.face_target() is FaceTarget.NONE
        rig.controller.face_seen()
        assert rig.screen.id is ScreenId.HOME
        rig.intent(Intent.START_PICKUP)
        assert rig.screen.view == PickupCodeView(can_scan=True, can_use_face=False)
        rig.intent(Intent.FACE_INSTEAD)
        assert rig.screen.id is ScreenId.PICKUP_CODE
        enrol(rig)  # now Ada is enrolled: the keypad offers the face at its next rendering
        rig.intent(Intent.SUBMIT_CODE, code="99999999")
        assert rig.screen.view == PickupCodeView(error=CodeError.WRONG_CODE, failures_in_a_row=1,
                                                 can_scan=True, can_use_face=True)
        faces.engine_usable = False  # the engine went away
        rig.intent(Intent.FACE_INSTEAD)
        assert rig.screen.id is ScreenId.PICKUP_CODE

    rig.run(scenario)


def test_without_a_face_service_the_kiosk_is_as_before(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(camera=True)
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        assert rig.controller.face_target() is FaceTarget.NONE
        rig.controller.face_seen()
        assert rig.screen.id is ScreenId.HOME
        rig.intent(Intent.START_PICKUP)
        assert rig.screen.view == PickupCodeView(can_scan=True)
        rig.intent(Intent.FACE_INSTEAD)
        assert rig.screen.id is ScreenId.PICKUP_CODE
        rig.intent(Intent.SUBMIT_CODE, code=CODE)
        await take_out(rig, "A2")
        # no enrolment can be offered, but the enrolled recipient can still withdraw
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, can_forget_face=True)
        rig.intent(Intent.OFFER_FACE)
        assert rig.screen.id is ScreenId.THANK_YOU
        rig.intent(Intent.FORGET_FACE)
        assert thank_you(rig).face_notice is FaceNotice.FORGOTTEN

    rig.run(scenario)
    assert not rig.store.has_face(ADA)


def test_a_disabled_policy_offers_nothing(make_rig: Callable[..., Rig], faces: RecordingFaces) -> None:
    rig = make_rig(camera=True, faces=faces, face_policy=FacePolicy(enabled=False))
    faces.store = rig.store
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        assert rig.controller.face_target() is FaceTarget.NONE
        rig.controller.face_seen()
        assert rig.screen.id is ScreenId.HOME

    rig.run(scenario)


# the attempt timer ------------------------------------------------------------------------------------------
def test_a_passer_by_who_looked_and_left_goes_home_unasked(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.controller.face_seen()
        rig.controller.face_guidance(FaceGuidance.COME_CLOSER)
        rig.controller.face_guidance(FaceGuidance.NO_FACE)
        rig.clock.advance(POLICY.attempt_s - 0.1)
        assert rig.screen.id is ScreenId.PICKUP_FACE
        rig.clock.advance(0.1)
        assert rig.screen.view == HomeView(idle_return=True, can_scan=True)

    rig.run(scenario)
    assert "face_not_recognised" not in rig.audit_kinds()


def test_someone_still_in_view_when_time_is_up_gets_the_keypad(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.controller.face_seen()
        for _ in range(3):  # a still photo never blinks: the guidance says so again and again
            rig.clock.advance(POLICY.attempt_s / 3 - 0.5)
            rig.controller.face_guidance(FaceGuidance.BLINK)
        rig.clock.advance(1.5)
        assert rig.screen.id is ScreenId.PICKUP_CODE
        assert rig.screen.view == PickupCodeView(error=CodeError.FACE_NOT_RECOGNISED, can_scan=True,
                                                 can_use_face=True)
        # pickup_code's own inactivity timer runs from here
        rig.clock.advance(rig.timers.inactivity_s)
        assert rig.screen.view == MoreTimeView(seconds_left=15, returns_to=ScreenId.PICKUP_CODE)

    rig.run(scenario)
    assert "face_not_recognised" in rig.audit_kinds()
    assert rig.limiter().status(rig.clock.now()).failures_in_a_row == 0  # a face is no wrong code


def test_a_chosen_face_attempt_ends_on_the_keypad_even_with_nobody_in_view(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.FACE_INSTEAD)
        assert rig.screen.view == PickupFaceView(can_scan=True)
        rig.clock.advance(POLICY.attempt_s)
        assert rig.screen.view == PickupCodeView(error=CodeError.FACE_NOT_RECOGNISED, can_scan=True,
                                                 can_use_face=True)
        rig.intent(Intent.FACE_INSTEAD)  # try again: a fresh attempt, with the error gone
        assert rig.screen.view == PickupFaceView(can_scan=True)
        rig.clock.advance(POLICY.attempt_s - 1)
        rig.controller.face_matched(ADA)
        await take_out(rig, "A2")

    rig.run(scenario)


def test_the_face_screen_never_asks_for_more_time(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)
    timers = rig.timers
    assert POLICY.attempt_s < timers.inactivity_s

    async def scenario() -> None:
        rig.controller.face_seen()
        rig.controller.face_guidance(FaceGuidance.BLINK)
        rig.intent(Intent.ACTIVITY)  # a tap does not stretch the attempt
        rig.clock.advance(POLICY.attempt_s)
        assert rig.screen.id is ScreenId.PICKUP_CODE
        assert not any(screen.id is ScreenId.MORE_TIME for screen in rig.recorder.screens)

    rig.run(scenario)


# the ways out of the face screen ----------------------------------------------------------------------------
def test_keypad_and_cancel_are_one_tap_away(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.controller.face_seen()
        rig.intent(Intent.KEYPAD_INSTEAD)
        assert rig.screen.view == PickupCodeView(can_scan=True, can_use_face=True)
        rig.intent(Intent.FACE_INSTEAD)
        assert rig.screen.id is ScreenId.PICKUP_FACE
        rig.intent(Intent.CANCEL)
        assert rig.screen.view == HomeView(can_scan=True)
        assert rig.controller.face_target() is FaceTarget.WATCH

    rig.run(scenario)


def test_a_qr_code_shown_on_the_face_screen_opens_as_on_the_scan_screen(rig: Rig) -> None:
    parcel = rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.controller.face_seen()
        rig.intent(Intent.SCAN, payload=pickup_payload(LOCKER_ID, "99999999"), source="camera")
        assert rig.screen.view == PickupScanView(error=CodeError.WRONG_CODE, failures_in_a_row=1)
        rig.intent(Intent.KEYPAD_INSTEAD)
        rig.intent(Intent.FACE_INSTEAD)
        rig.intent(Intent.SCAN, payload="not a code of ours", source="camera")
        assert rig.screen.view == PickupScanView(error=CodeError.FOREIGN, failures_in_a_row=1)
        rig.intent(Intent.KEYPAD_INSTEAD)
        rig.intent(Intent.FACE_INSTEAD)
        rig.intent(Intent.SCAN, payload=pickup_payload(LOCKER_ID, CODE), source="camera")
        await take_out(rig, "A2")
        # a QR pickup of an enrolled recipient: nothing to offer, forgetting possible
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, can_forget_face=True)

    rig.run(scenario)
    assert picked_up_events(rig) == [(parcel.id, PickupMethod.QR.value)]


def test_a_return_code_shown_on_the_face_screen_hands_over_to_returns(rig: Rig) -> None:
    from kiosk.core.payloads import return_payload

    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)
    rig.seed_return("RT7Q2M9X")

    async def scenario() -> None:
        rig.controller.face_seen()
        rig.intent(Intent.SCAN, payload=return_payload("RT7Q2M9X"), source="camera")
        assert rig.screen.id is ScreenId.RETURN_SIZE
        assert rig.controller.face_target() is FaceTarget.NONE

    rig.run(scenario)


# the offer after a code or QR pickup ------------------------------------------------------------------------
def test_a_code_pickup_offers_face_pickup_and_a_consented_enrolment_is_saved(rig: Rig,
                                                                             faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)

    async def scenario() -> None:
        view = await pick_up_by_code(rig, "A2")
        assert view == ThankYouView(parcels_picked_up=1, can_offer_face=True)
        rig.intent(Intent.OFFER_FACE)
        assert rig.screen.view == FaceConsentView(forget_after_days=180)
        assert rig.controller.face_target() is FaceTarget.NONE  # nothing is captured before consent
        assert faces.requests == []
        rig.intent(Intent.CONSENT_FACE)
        assert rig.screen.view == FaceEnrolView(frames_taken=0, frames_needed=5)
        assert rig.controller.face_target() is FaceTarget.ENROL
        assert faces.requests == [(faces.attempt, ADA)]
        rig.controller.face_enrol_progress(2, FaceGuidance.HOLD_STILL)
        assert rig.screen.view == FaceEnrolView(frames_taken=2, frames_needed=5,
                                                guidance=FaceGuidance.HOLD_STILL)
        rig.controller.face_enrol_progress(99, FaceGuidance.CHECKING)  # never more than needed
        assert rig.screen.view == FaceEnrolView(frames_taken=5, frames_needed=5,
                                                guidance=FaceGuidance.CHECKING)
        # the service saves the sealed encodings, then reports; a stale attempt's word changes nothing
        enrol(rig)
        rig.controller.face_enrolled(faces.attempt - 1)
        rig.controller.face_enrol_failed(faces.attempt + 1, FaceEnrolFailure.INCONSISTENT)
        assert rig.screen.id is ScreenId.FACE_ENROL
        rig.controller.face_enrolled(faces.attempt)
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, can_forget_face=True,
                                              face_notice=FaceNotice.SAVED)
        rig.intent(Intent.OFFER_FACE)  # offered no more
        assert rig.screen.id is ScreenId.THANK_YOU
        assert rig.controller.face_target() is FaceTarget.NONE

    rig.run(scenario)
    assert faces.cancelled == 0
    assert "face_consent_given" in rig.audit_kinds()
    assert rig.store.has_face(ADA)


def test_a_failed_enrolment_says_why_and_can_be_tried_again(rig: Rig, faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)

    async def scenario() -> None:
        await pick_up_by_code(rig, "A2")
        rig.intent(Intent.OFFER_FACE)
        rig.intent(Intent.CONSENT_FACE)
        first = faces.attempt
        rig.controller.face_enrol_failed(first, FaceEnrolFailure.INCONSISTENT)
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, can_offer_face=True,
                                              face_notice=FaceNotice.NOT_SAVED,
                                              enrol_failure=FaceEnrolFailure.INCONSISTENT)
        rig.intent(Intent.OFFER_FACE)
        rig.intent(Intent.CONSENT_FACE)
        assert faces.attempt != first
        assert rig.screen.view == FaceEnrolView(frames_taken=0, frames_needed=5)
        rig.controller.face_enrolled(first)  # the earlier attempt, late: ignored
        assert rig.screen.id is ScreenId.FACE_ENROL
        rig.controller.face_enrol_failed(faces.attempt, FaceEnrolFailure.UNAVAILABLE)
        assert thank_you(rig).enrol_failure is FaceEnrolFailure.UNAVAILABLE

    rig.run(scenario)
    assert faces.cancelled == 0
    assert not rig.store.has_face(ADA)


def test_cancelling_an_enrolment_stops_the_capture(rig: Rig, faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)

    async def scenario() -> None:
        await pick_up_by_code(rig, "A2")
        rig.intent(Intent.OFFER_FACE)
        rig.intent(Intent.CONSENT_FACE)
        rig.intent(Intent.CANCEL)
        assert faces.cancelled == 1
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, can_offer_face=True)
        rig.controller.face_enrolled(faces.attempt)  # the cancelled one answering late: ignored
        assert thank_you(rig).face_notice is None

    rig.run(scenario)
    assert faces.cancelled == 1


def test_an_enrolment_that_never_answers_times_out(rig: Rig, faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)

    async def scenario() -> None:
        await pick_up_by_code(rig, "A2")
        rig.intent(Intent.OFFER_FACE)
        rig.intent(Intent.CONSENT_FACE)
        rig.clock.advance(BACKSTOP_S - 1)
        rig.controller.face_enrol_progress(4, FaceGuidance.HOLD_STILL)  # progress does not stretch it
        rig.clock.advance(0.9)
        assert rig.screen.id is ScreenId.FACE_ENROL
        rig.clock.advance(0.1)
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, can_offer_face=True,
                                              face_notice=FaceNotice.NOT_SAVED,
                                              enrol_failure=FaceEnrolFailure.TIMED_OUT)
        assert faces.cancelled == 1
        rig.controller.face_enrolled(faces.attempt)
        assert thank_you(rig).face_notice is FaceNotice.NOT_SAVED

    rig.run(scenario)


def test_stopping_the_kiosk_during_an_enrolment_cancels_it(rig: Rig, faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)

    async def scenario() -> None:
        await pick_up_by_code(rig, "A2")
        rig.intent(Intent.OFFER_FACE)
        rig.intent(Intent.CONSENT_FACE)
        assert faces.cancelled == 0

    rig.run(scenario)
    assert faces.cancelled == 1


def test_a_consent_given_after_the_engine_went_away_says_so(rig: Rig, faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)

    async def scenario() -> None:
        await pick_up_by_code(rig, "A2")
        rig.intent(Intent.OFFER_FACE)
        faces.engine_usable = False
        rig.intent(Intent.CONSENT_FACE)
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, face_notice=FaceNotice.NOT_SAVED,
                                              enrol_failure=FaceEnrolFailure.UNAVAILABLE)

    rig.run(scenario)
    assert faces.requests == [] and faces.cancelled == 0


def test_declining_removes_the_offer_for_the_session(rig: Rig, faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)

    async def scenario() -> None:
        await pick_up_by_code(rig, "A2")
        rig.intent(Intent.OFFER_FACE)
        rig.intent(Intent.DECLINE_FACE)
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1)
        rig.intent(Intent.OFFER_FACE)
        assert rig.screen.id is ScreenId.THANK_YOU

    rig.run(scenario)
    assert faces.requests == [] and not rig.store.has_face(ADA)


def test_the_consent_screen_asks_for_more_time_and_goes_back_to_itself(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)

    async def scenario() -> None:
        await pick_up_by_code(rig, "A2")
        rig.intent(Intent.OFFER_FACE)
        rig.clock.advance(rig.timers.inactivity_s)
        assert rig.screen.view == MoreTimeView(seconds_left=15, returns_to=ScreenId.FACE_CONSENT)
        rig.intent(Intent.MORE_TIME)
        assert rig.screen.view == FaceConsentView(forget_after_days=180)
        rig.intent(Intent.CANCEL)  # back, as "no thanks"
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1)

    rig.run(scenario)


def test_the_thank_you_timer_starts_again_when_the_screen_comes_back(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    wait = rig.timers.thank_you_s

    async def scenario() -> None:
        await pick_up_by_code(rig, "A2")
        rig.clock.advance(wait - 1)
        rig.intent(Intent.OFFER_FACE)
        rig.intent(Intent.DECLINE_FACE)
        rig.clock.advance(wait - 1)
        assert rig.screen.id is ScreenId.THANK_YOU
        rig.clock.advance(1)
        assert rig.screen.view == MoreTimeView(seconds_left=15, returns_to=ScreenId.THANK_YOU)

    rig.run(scenario)


@pytest.mark.parametrize(
    ("refs", "reason"),
    [
        ((ADA, BOB), "parcels of two recipients on one code"),
        ((ADA, None), "one parcel of an unknown recipient"),
        ((None,), "an unknown recipient"),
    ],
)
def test_no_offer_unless_every_parcel_is_one_known_recipients(rig: Rig, refs: tuple[str | None, ...],
                                                              reason: str) -> None:
    placed = [rig.place(CODE, Size.S if index == 0 else Size.M, parcel_id=f"P-{index}", recipient_ref=ref)
              for index, ref in enumerate(refs)]

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code=CODE)
        if len(placed) > 1:
            rig.intent(Intent.OPEN_ALL)
        await take_out(rig, *(str(parcel.compartment_id) for parcel in placed))
        assert thank_you(rig) == ThankYouView(parcels_picked_up=len(placed)), reason
        rig.intent(Intent.OFFER_FACE)
        assert rig.screen.id is ScreenId.THANK_YOU

    rig.run(scenario)


def test_one_recipients_two_parcels_are_offered_once_both_are_out(rig: Rig) -> None:
    rig.place(CODE, Size.S, parcel_id="P-1", recipient_ref=BOB)
    rig.place(CODE, Size.M, parcel_id="P-2", recipient_ref=BOB)

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code=CODE)
        rig.intent(Intent.OPEN_ALL)
        await take_out(rig, "A2", "A3")
        assert thank_you(rig) == ThankYouView(parcels_picked_up=2, can_offer_face=True)

    rig.run(scenario)


def test_no_offer_when_the_engine_cannot_enrol(rig: Rig, faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)
    faces.engine_usable = False

    async def scenario() -> None:
        assert await pick_up_by_code(rig, "A2") == ThankYouView(parcels_picked_up=1)
        rig.intent(Intent.OFFER_FACE)
        assert rig.screen.id is ScreenId.THANK_YOU

    rig.run(scenario)


def test_an_enrolled_recipient_picking_up_by_code_can_forget_their_face(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)
    enrol(rig, BOB)

    async def scenario() -> None:
        assert await pick_up_by_code(rig, "A2") == ThankYouView(parcels_picked_up=1, can_forget_face=True)
        rig.clock.advance(rig.timers.thank_you_s - 1)
        rig.intent(Intent.FORGET_FACE)
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, face_notice=FaceNotice.FORGOTTEN)
        rig.clock.advance(rig.timers.thank_you_s - 1)  # time to read it: the timer started again
        assert rig.screen.id is ScreenId.THANK_YOU
        rig.intent(Intent.OFFER_FACE)  # withdrawn just now: not offered again in this session
        rig.intent(Intent.FORGET_FACE)
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, face_notice=FaceNotice.FORGOTTEN)

    rig.run(scenario)
    assert not rig.store.has_face(ADA)
    assert rig.store.has_face(BOB)  # nobody else's
    assert rig.audit_kinds().count("face_forgotten") == 1


def test_a_face_pickup_can_forget_the_face_that_opened_it(rig: Rig) -> None:
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.controller.face_seen()
        rig.controller.face_matched(ADA)
        await take_out(rig, "A2")
        rig.intent(Intent.FORGET_FACE)
        assert thank_you(rig) == ThankYouView(parcels_picked_up=1, face_notice=FaceNotice.FORGOTTEN)
        rig.intent(Intent.DONE)
        assert rig.controller.face_target() is FaceTarget.NONE  # nobody enrolled with a parcel here now

    rig.run(scenario)
    assert not rig.store.has_face(ADA)


def test_face_target_on_every_face_screen(rig: Rig, faces: RecordingFaces) -> None:
    rig.place(CODE, recipient_ref=ADA)
    rig.place(OTHER_CODE, Size.M, recipient_ref=BOB)
    enrol(rig, BOB)

    async def scenario() -> None:
        target = rig.controller.face_target
        assert rig.screen.id is ScreenId.HOME and target() is FaceTarget.WATCH
        rig.intent(Intent.START_PICKUP)
        assert target() is FaceTarget.NONE
        rig.intent(Intent.FACE_INSTEAD)
        assert target() is FaceTarget.MATCH
        rig.intent(Intent.KEYPAD_INSTEAD)
        rig.intent(Intent.SUBMIT_CODE, code=CODE)
        assert rig.screen.id is ScreenId.DOOR_OPEN and target() is FaceTarget.NONE
        await take_out(rig, "A2")
        assert target() is FaceTarget.NONE
        rig.intent(Intent.OFFER_FACE)
        assert rig.screen.id is ScreenId.FACE_CONSENT and target() is FaceTarget.NONE
        rig.intent(Intent.CONSENT_FACE)
        assert target() is FaceTarget.ENROL
        rig.controller.face_enrol_failed(faces.attempt, FaceEnrolFailure.TIMED_OUT)
        assert target() is FaceTarget.NONE
        rig.intent(Intent.DONE)
        assert target() is FaceTarget.WATCH
        faces.engine_usable = False
        assert target() is FaceTarget.NONE

    rig.run(scenario)


def test_a_face_pickup_with_a_long_attempt_and_slow_timers_stays_put(make_rig: Callable[..., Rig],
                                                                      faces: RecordingFaces) -> None:
    """The attempt time comes from the policy, not the screen timers."""
    rig = make_rig(camera=True, faces=faces, face_policy=FacePolicy(attempt_s=40.0),
                   timers=Timers(unlock_confirm_s=0.02, door_poll_s=0.02, inactivity_s=30.0))
    faces.store = rig.store
    rig.place(CODE, recipient_ref=ADA)
    enrol(rig)

    async def scenario() -> None:
        rig.controller.face_seen()
        rig.controller.face_guidance(FaceGuidance.BLINK)
        rig.clock.advance(39.9)
        assert rig.screen.id is ScreenId.PICKUP_FACE
        rig.clock.advance(0.1)
        assert rig.screen.id is ScreenId.PICKUP_CODE

    rig.run(scenario)
