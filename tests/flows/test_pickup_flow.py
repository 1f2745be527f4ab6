"""The pickup flow end to end below the UI: real store, real simulated boards, manual flow clock."""

from __future__ import annotations

import logging

import pytest
from flow_rig import CODE_KEY, Rig

from kiosk.core.codes import hash_code
from kiosk.core.flows.views import (
    CodeError,
    DoorOpenView,
    ErrorReason,
    ErrorView,
    HomeView,
    Intent,
    LockedOutView,
    MoreTimeView,
    ParcelListView,
    PickupCodeView,
    ReportProblemView,
    Screen,
    ScreenId,
    ThankYouView,
)
from kiosk.core.model import CompartmentState, DoorState, JournalPhase, ParcelState, ProblemKind, Size, Timers

CODE = "123456"


async def open_by_code(rig: Rig, code: str = CODE) -> None:
    rig.intent(Intent.START_PICKUP)
    assert rig.screen.id is ScreenId.PICKUP_CODE
    rig.intent(Intent.SUBMIT_CODE, code=code)


# pickup by code ---------------------------------------------------------------------------------------------
def test_pickup_by_code_opens_the_door_and_completes_when_it_closes(rig: Rig) -> None:
    parcel = rig.place(CODE)
    compartment = parcel.compartment_id
    assert compartment == "A2"  # smallest that fits, lowest first

    async def scenario() -> None:
        await open_by_code(rig)
        screen = rig.screen
        assert screen.id is ScreenId.DOOR_OPEN
        assert isinstance(screen.view, DoorOpenView)
        assert screen.view.compartment_ids == ("A2",) and screen.view.waiting_for_unlock
        await rig.door_confirmed()
        assert rig.sim.door_open(*rig.address("A2"))
        view = rig.screen.view
        assert isinstance(view, DoorOpenView)
        cell = next(cell for cell in view.cells if cell.compartment_id == "A2")
        assert cell.highlighted and cell.door is DoorState.OPEN
        assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER  # not before the door closes

        rig.take_parcel_and_close("A2")
        thanks = await rig.screen_is(ScreenId.THANK_YOU)
        assert thanks.view == ThankYouView(parcels_picked_up=1)
        rig.intent(Intent.DONE)
        assert rig.screen.id is ScreenId.HOME

    rig.run(scenario)
    stored = rig.store.parcel(parcel.id)
    assert stored.state is ParcelState.PICKED_UP and stored.picked_up_at == rig.clock.now()
    assert rig.store.compartment("A2").state is CompartmentState.FREE
    assert rig.store.unfinished_journal() == []
    kinds = rig.audit_kinds()
    for kind in ("code_accepted", "door_intent", "door_unlock_sent", "door_opened", "parcel_picked_up",
                 "door_closed"):
        assert kind in kinds, kind
    assert rig.unlock_pulses("A2") == 1
    assert ("A2", DoorState.OPEN) in rig.recorder.doors and ("A2", DoorState.CLOSED) in rig.recorder.doors
    ids = [screen.id for screen in rig.recorder.screens]
    # the door screen is re-sent as its map changes; the order of screens is the flow's
    changes = [screen for index, screen in enumerate(ids) if index == 0 or ids[index - 1] is not screen]
    assert changes == [ScreenId.PICKUP_CODE, ScreenId.DOOR_OPEN, ScreenId.THANK_YOU, ScreenId.HOME]
    assert rig.store.parcels_for_code_hash(hash_code(CODE_KEY, CODE)) == []  # the code is spent


def test_a_spent_code_is_a_wrong_code(rig: Rig) -> None:
    rig.place(CODE)

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.door_confirmed()
        rig.take_parcel_and_close("A2")
        await rig.screen_is(ScreenId.THANK_YOU)
        rig.intent(Intent.DONE)
        await open_by_code(rig)
        assert rig.screen.view == PickupCodeView(error=CodeError.WRONG_CODE, failures_in_a_row=1)

    rig.run(scenario)


# several parcels on one code --------------------------------------------------------------------------------
def test_two_parcels_opened_one_after_the_other(rig: Rig) -> None:
    first = rig.place(CODE, Size.S, parcel_id="P-1")
    second = rig.place(CODE, Size.M, parcel_id="P-2")

    async def scenario() -> None:
        await open_by_code(rig)
        listing = rig.screen
        assert listing.id is ScreenId.PARCEL_LIST
        assert isinstance(listing.view, ParcelListView)
        opened = [(item.parcel_id, item.opened) for item in listing.view.parcels]
        assert opened == [("P-1", False), ("P-2", False)]

        rig.intent(Intent.OPEN_PARCEL, parcel_id="P-1")
        door = rig.screen
        assert door.id is ScreenId.DOOR_OPEN and isinstance(door.view, DoorOpenView)
        assert door.view.compartment_ids == (first.compartment_id,)
        await rig.door_seen(str(first.compartment_id), DoorState.OPEN)
        assert not rig.sim.door_open(*rig.address(str(second.compartment_id)))
        rig.take_parcel_and_close(str(first.compartment_id))

        back = await rig.screen_is(ScreenId.PARCEL_LIST)
        assert isinstance(back.view, ParcelListView)
        opened = [(item.parcel_id, item.opened) for item in back.view.parcels]
        assert opened == [("P-1", True), ("P-2", False)]
        rig.intent(Intent.OPEN_PARCEL, parcel_id="P-1")  # already taken: ignored
        assert rig.screen.id is ScreenId.PARCEL_LIST

        rig.intent(Intent.OPEN_PARCEL, parcel_id="P-2")
        await rig.door_seen(str(second.compartment_id), DoorState.OPEN)
        rig.take_parcel_and_close(str(second.compartment_id))
        thanks = await rig.screen_is(ScreenId.THANK_YOU)
        assert thanks.view == ThankYouView(parcels_picked_up=2)

    rig.run(scenario)
    assert rig.store.parcel("P-1").state is ParcelState.PICKED_UP
    assert rig.store.parcel("P-2").state is ParcelState.PICKED_UP


def test_two_parcels_opened_together(rig: Rig) -> None:
    first = rig.place(CODE, Size.S, parcel_id="P-1")
    second = rig.place(CODE, Size.L, parcel_id="P-2")
    doors = (str(first.compartment_id), str(second.compartment_id))

    async def scenario() -> None:
        await open_by_code(rig)
        rig.intent(Intent.OPEN_ALL)
        screen = rig.screen
        assert screen.id is ScreenId.DOOR_OPEN and isinstance(screen.view, DoorOpenView)
        assert screen.view.compartment_ids == doors
        for door in doors:
            await rig.door_seen(door, DoorState.OPEN)
        rig.take_parcel_and_close(doors[0])
        await rig.until(lambda: rig.store.parcel("P-1").state is ParcelState.PICKED_UP, "first pickup")
        assert rig.screen.id is ScreenId.DOOR_OPEN  # the second door is still open
        rig.take_parcel_and_close(doors[1])
        thanks = await rig.screen_is(ScreenId.THANK_YOU)
        assert thanks.view == ThankYouView(parcels_picked_up=2)

    rig.run(scenario)
    assert [rig.unlock_pulses(door) for door in doors] == [1, 1]


# wrong codes and the keypad lock ----------------------------------------------------------------------------
def test_five_wrong_codes_lock_the_keypad_then_it_works_again(make_rig) -> None:  # type: ignore[no-untyped-def]
    # inactivity longer than the lock, so the lock's own end is what moves the screen
    rig = make_rig(timers=Timers(unlock_confirm_s=0.02, door_poll_s=0.02, inactivity_s=300))
    rig.place(CODE)

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        for failures in range(1, 5):
            rig.intent(Intent.SUBMIT_CODE, code="999999")
            assert rig.screen.view == PickupCodeView(error=CodeError.WRONG_CODE, failures_in_a_row=failures)
        rig.intent(Intent.SUBMIT_CODE, code="999999")
        assert rig.screen.id is ScreenId.LOCKED_OUT and rig.screen.view == LockedOutView(seconds_left=60)
        rig.intent(Intent.SUBMIT_CODE, code=CODE)  # the keypad is locked: nothing happens
        assert rig.screen.id is ScreenId.LOCKED_OUT
        rig.clock.advance(1)
        assert rig.screen.view == LockedOutView(seconds_left=59)
        rig.clock.advance(58.5)
        assert rig.screen.view == LockedOutView(seconds_left=1)
        rig.clock.advance(0.5)
        assert rig.screen.view == PickupCodeView()
        countdown = [s.view.seconds_left for s in rig.recorder.screens if isinstance(s.view, LockedOutView)]
        assert countdown == list(range(60, 0, -1))

        # the next lockout lasts twice as long
        for _ in range(5):
            rig.intent(Intent.SUBMIT_CODE, code="999999")
        assert rig.screen.view == LockedOutView(seconds_left=120)
        rig.clock.advance(120)
        assert rig.screen.id is ScreenId.PICKUP_CODE

        rig.intent(Intent.SUBMIT_CODE, code=CODE)
        assert rig.screen.id is ScreenId.DOOR_OPEN
        await rig.door_seen("A2", DoorState.OPEN)
        # a right code resets the count: the next lockout is the first again
        assert rig.limiter().status(rig.clock.now()).lockouts == 0

    rig.run(scenario)
    kinds = rig.audit_kinds()
    assert kinds.count("code_rejected") == 10 and kinds.count("keypad_locked") == 2


def test_a_locked_keypad_survives_a_restart(make_rig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = make_rig()

    async def lock_it() -> None:
        first.intent(Intent.START_PICKUP)
        for _ in range(5):
            first.intent(Intent.SUBMIT_CODE, code="000000")
        assert first.screen.id is ScreenId.LOCKED_OUT

    first.run(lock_it)
    first.close()
    again = make_rig(simulator=first.sim, database=first.database)
    again.clock.advance(first.clock.now() - again.clock.now() + 10)

    async def after_restart() -> None:
        again.intent(Intent.START_PICKUP)
        assert again.screen.id is ScreenId.LOCKED_OUT
        assert again.screen.view == LockedOutView(seconds_left=50)

    again.run(after_restart)


def test_inactivity_on_the_lock_screen_asks_for_more_time(rig: Rig) -> None:
    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        for _ in range(5):
            rig.intent(Intent.SUBMIT_CODE, code="111111")
        assert rig.screen.id is ScreenId.LOCKED_OUT
        rig.clock.advance(30)
        assert rig.screen.view == MoreTimeView(seconds_left=15, returns_to=ScreenId.LOCKED_OUT)
        rig.clock.advance(10)
        rig.intent(Intent.MORE_TIME)
        assert rig.screen.view == LockedOutView(seconds_left=20)
        rig.clock.advance(20)  # the lock ends before the screen asks again
        assert rig.screen.view == PickupCodeView()
        rig.intent(Intent.START_PICKUP)  # not offered here: ignored
        assert rig.screen.id is ScreenId.PICKUP_CODE

    rig.run(scenario)


def test_a_malformed_code_is_not_a_wrong_code(rig: Rig) -> None:
    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        for text in ("12345", "123456789", "12a456", "", "١٢٣٤٥٦"):
            rig.intent(Intent.SUBMIT_CODE, code=text)
            assert rig.screen.view == PickupCodeView(error=CodeError.MALFORMED, failures_in_a_row=0), text
        assert len([s for s in rig.recorder.screens if s.id is ScreenId.PICKUP_CODE]) == 6  # shown each time

    rig.run(scenario)
    assert "code_rejected" not in rig.audit_kinds()


# doors that fail --------------------------------------------------------------------------------------------
def test_a_jammed_latch_is_retried_once_then_the_compartment_is_out_of_order(rig: Rig) -> None:
    parcel = rig.place(CODE)
    rig.sim.jam(*rig.address("A2"))

    async def scenario() -> None:
        await open_by_code(rig)
        error = await rig.screen_is(ScreenId.ERROR)
        assert error.view == ErrorView(ErrorReason.DOOR_FAULT, "A2", code_still_valid=True)

    rig.run(scenario)
    assert rig.unlock_pulses("A2") == 2
    assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER
    status = rig.store.compartment("A2")
    assert status.state is CompartmentState.OUT_OF_ORDER and status.out_of_order_reason == "door_did_not_open"
    assert rig.store.unfinished_journal() == []
    kinds = rig.audit_kinds()
    assert kinds.count("door_unlock_sent") == 2 and "door_fault" in kinds


def test_an_out_of_order_compartment_is_not_unlocked_again(rig: Rig) -> None:
    parcel = rig.place(CODE)
    rig.store.mark_out_of_order("A2", "broken hinge", rig.clock.now())

    async def scenario() -> None:
        await open_by_code(rig)
        error = await rig.screen_is(ScreenId.ERROR)
        assert error.view == ErrorView(ErrorReason.DOOR_FAULT, "A2", code_still_valid=True)

    rig.run(scenario)
    assert rig.unlock_pulses("A2") == 0
    assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER
    assert "door_refused_out_of_order" in rig.audit_kinds()


def test_a_silent_board_is_bus_down_and_marks_nothing(rig: Rig) -> None:
    parcel = rig.place(CODE)
    rig.sim.set_connected(False)

    async def scenario() -> None:
        await open_by_code(rig)
        error = await rig.screen_is(ScreenId.ERROR)
        assert error.view == ErrorView(ErrorReason.BUS_DOWN, "A2", code_still_valid=True)
        assert rig.store.compartment("A2").state is CompartmentState.OCCUPIED
        assert [(e.compartment_id, e.phase) for e in rig.store.unfinished_journal()] == [
            ("A2", JournalPhase.UNLOCK_SENT)]
        assert rig.controller.door_states()["A2"] is DoorState.UNKNOWN

        # the board comes back: the monitor settles the entry (closed, parcel still seen) and the code works
        rig.sim.set_connected(True)
        await rig.until(lambda: rig.store.unfinished_journal() == [], "entry reconciled")
        assert rig.store.parcel(parcel.id).state is ParcelState.IN_LOCKER
        rig.intent(Intent.DONE)
        await open_by_code(rig)
        await rig.door_seen("A2", DoorState.OPEN)
        rig.take_parcel_and_close("A2")
        await rig.screen_is(ScreenId.THANK_YOU)

    rig.run(scenario)
    assert rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP
    assert "door_bus_down" in rig.audit_kinds()


def test_retrying_while_the_board_is_still_silent_writes_no_second_transaction(rig: Rig) -> None:
    rig.place(CODE)
    rig.sim.set_connected(False)

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.screen_is(ScreenId.ERROR)
        rig.intent(Intent.DONE)
        await open_by_code(rig)
        error = await rig.screen_is(ScreenId.ERROR)
        assert isinstance(error.view, ErrorView) and error.view.reason is ErrorReason.BUS_DOWN

    rig.run(scenario)
    assert len(rig.store.unfinished_journal()) == 1
    assert rig.audit_kinds().count("door_intent") == 1


# timers -----------------------------------------------------------------------------------------------------
def test_inactivity_asks_for_more_time_then_goes_home(rig: Rig) -> None:
    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.clock.advance(29.9)
        assert rig.screen.id is ScreenId.PICKUP_CODE
        rig.clock.advance(0.1)
        assert rig.screen.view == MoreTimeView(seconds_left=15, returns_to=ScreenId.PICKUP_CODE)
        rig.clock.advance(1)
        assert rig.screen.view == MoreTimeView(seconds_left=14, returns_to=ScreenId.PICKUP_CODE)
        rig.clock.advance(14)
        assert rig.screen.view == HomeView(idle_return=True)
        seconds = [s.view.seconds_left for s in rig.recorder.screens if isinstance(s.view, MoreTimeView)]
        assert seconds == list(range(15, 0, -1))
        assert rig.clock.pending() == 0  # home waits for nobody
        rig.intent(Intent.START_PICKUP)
        assert rig.screen.view == PickupCodeView()

    rig.run(scenario)


def test_more_time_returns_to_the_same_screen_with_a_fresh_timer(rig: Rig) -> None:
    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.SUBMIT_CODE, code="999999")
        rig.clock.advance(30)
        assert rig.screen.id is ScreenId.MORE_TIME
        rig.clock.advance(10)
        rig.intent(Intent.MORE_TIME)
        assert rig.screen.view == PickupCodeView(error=CodeError.WRONG_CODE, failures_in_a_row=1)
        rig.clock.advance(29)
        assert rig.screen.id is ScreenId.PICKUP_CODE
        rig.clock.advance(1)
        assert rig.screen.id is ScreenId.MORE_TIME

    rig.run(scenario)


def test_activity_restarts_the_inactivity_timer(rig: Rig) -> None:
    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.clock.advance(20)
        rig.intent(Intent.ACTIVITY)
        rig.clock.advance(20)
        assert rig.screen.id is ScreenId.PICKUP_CODE
        rig.clock.advance(10)
        assert rig.screen.id is ScreenId.MORE_TIME
        rig.intent(Intent.ACTIVITY)  # a touch is not an answer: the countdown goes on
        rig.clock.advance(15)
        assert rig.screen.view == HomeView(idle_return=True)

    rig.run(scenario)


def test_cancel_goes_home_from_the_code_screen_and_from_more_time(rig: Rig) -> None:
    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        rig.intent(Intent.CANCEL)
        assert rig.screen.view == HomeView()
        rig.intent(Intent.START_PICKUP)
        rig.clock.advance(30)
        rig.intent(Intent.CANCEL)
        assert rig.screen.view == HomeView()
        assert rig.clock.pending() == 0

    rig.run(scenario)


def test_thank_you_and_error_ask_before_going_home(rig: Rig) -> None:
    rig.place(CODE)
    rig.place("654321", Size.M)
    rig.sim.jam(*rig.address("A3"))

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.door_seen("A2", DoorState.OPEN)
        rig.take_parcel_and_close("A2")
        await rig.screen_is(ScreenId.THANK_YOU)
        rig.clock.advance(8)
        assert rig.screen.view == MoreTimeView(seconds_left=15, returns_to=ScreenId.THANK_YOU)
        rig.intent(Intent.MORE_TIME)
        assert rig.screen.view == ThankYouView(parcels_picked_up=1)
        rig.clock.advance(8 + 15)
        assert rig.screen.view == HomeView(idle_return=True)

        await open_by_code(rig, "654321")
        await rig.screen_is(ScreenId.ERROR)
        rig.clock.advance(30)
        assert rig.screen.view == MoreTimeView(seconds_left=15, returns_to=ScreenId.ERROR)
        rig.clock.advance(15)
        assert rig.screen.view == HomeView(idle_return=True)

    rig.run(scenario)


def test_the_door_closing_during_more_time_ends_the_pickup(rig: Rig) -> None:
    rig.place(CODE)

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.door_seen("A2", DoorState.OPEN)
        await rig.door_confirmed()
        rig.clock.advance(30)
        assert rig.screen.view == MoreTimeView(seconds_left=15, returns_to=ScreenId.DOOR_OPEN)
        rig.take_parcel_and_close("A2")
        thanks = await rig.screen_is(ScreenId.THANK_YOU)
        assert thanks.view == ThankYouView(parcels_picked_up=1)

    rig.run(scenario)


def test_a_door_left_open_after_going_home_still_completes(rig: Rig) -> None:
    parcel = rig.place(CODE)

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.door_seen("A2", DoorState.OPEN)
        rig.intent(Intent.CANCEL)
        assert rig.screen.id is ScreenId.HOME
        rig.take_parcel_and_close("A2")
        await rig.until(lambda: rig.store.parcel(parcel.id).state is ParcelState.PICKED_UP, "the pickup")
        assert rig.screen.id is ScreenId.HOME

    rig.run(scenario)


# thank you, problems, returns -------------------------------------------------------------------------------
def test_report_a_problem_is_audited_with_the_parcels(rig: Rig) -> None:
    parcel = rig.place(CODE)

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.door_seen("A2", DoorState.OPEN)
        rig.take_parcel_and_close("A2")
        await rig.screen_is(ScreenId.THANK_YOU)
        rig.intent(Intent.REPORT_PROBLEM)
        assert rig.screen.view == ReportProblemView(parcel_ids=(parcel.id,))
        rig.intent(Intent.CANCEL)
        assert rig.screen.view == ThankYouView(parcels_picked_up=1)
        rig.intent(Intent.REPORT_PROBLEM)
        rig.intent(Intent.CHOOSE_PROBLEM, kind=ProblemKind.DAMAGED)
        assert rig.screen.view == ThankYouView(parcels_picked_up=1, problem_reported=ProblemKind.DAMAGED)
        rig.intent(Intent.DONE)
        assert rig.screen.view == HomeView()

    rig.run(scenario)
    reports = [entry for entry in rig.store.audit_log() if entry.kind == "problem_reported"]
    assert len(reports) == 1
    assert reports[0].parcel_id == parcel.id and reports[0].compartment_id == "A2"
    assert reports[0].details["problem"] == "damaged" and reports[0].details["parcel_ids"] == [parcel.id]


def test_send_or_return_hands_the_screen_to_the_returns_flow_and_back(rig: Rig) -> None:
    async def scenario() -> None:
        rig.intent(Intent.START_RETURN)
        assert rig.screen.id is ScreenId.RETURN_CODE
        assert rig.controller.chart.state_id == "elsewhere"
        rig.clock.advance(rig.timers.inactivity_s + rig.timers.more_time_s)  # pickup's own timers are off
        assert rig.screen.id is ScreenId.HOME and rig.screen.view == HomeView(idle_return=True)
        rig.intent(Intent.START_RETURN)
        rig.intent(Intent.CANCEL)  # the customer is still here: the language stays theirs
        assert rig.screen == Screen(ScreenId.HOME, HomeView())
        rig.intent(Intent.START_PICKUP)  # home works as ever afterwards
        assert rig.screen.id is ScreenId.PICKUP_CODE

    rig.run(scenario)
    assert "return_not_available" not in rig.audit_kinds()


@pytest.mark.parametrize(
    ("intent", "arguments"),
    [
        (Intent.SUBMIT_CODE, {}),
        (Intent.SUBMIT_CODE, {"code": 123456}),
        (Intent.OPEN_PARCEL, {}),
        (Intent.OPEN_PARCEL, {"parcel_id": "no-such-parcel"}),
        (Intent.CHOOSE_PROBLEM, {"kind": "on fire"}),
        ("start_pickup", {}),
    ],
)
def test_malformed_intents_are_ignored_with_a_warning(
    rig: Rig, caplog: pytest.LogCaptureFixture, intent: object, arguments: dict[str, object]
) -> None:
    rig.place(CODE, parcel_id="P-1")
    rig.place(CODE, parcel_id="P-2")

    async def scenario() -> None:
        await open_by_code(rig)
        assert rig.screen.id is ScreenId.PARCEL_LIST
        before = rig.screen
        with caplog.at_level(logging.WARNING, logger="kiosk.core.flows.controller"):
            rig.controller.intent(intent, **arguments)  # type: ignore[arg-type]
        assert rig.screen == before
        assert any(record.levelno == logging.WARNING for record in caplog.records)

    rig.run(scenario)


def test_a_problem_kind_may_come_as_its_value(rig: Rig) -> None:
    rig.place(CODE)

    async def scenario() -> None:
        await open_by_code(rig)
        await rig.door_seen("A2", DoorState.OPEN)
        rig.take_parcel_and_close("A2")
        await rig.screen_is(ScreenId.THANK_YOU)
        rig.intent(Intent.REPORT_PROBLEM)
        rig.intent(Intent.CHOOSE_PROBLEM, kind="not_mine")
        assert rig.screen.view == ThankYouView(parcels_picked_up=1, problem_reported=ProblemKind.NOT_MINE)

    rig.run(scenario)


def test_a_listener_that_sends_intents_sees_every_screen_in_order(rig: Rig) -> None:
    seen: list[ScreenId] = []

    class Impatient:
        def on_screen(self, screen) -> None:  # type: ignore[no-untyped-def]
            seen.append(screen.id)
            if screen.id is ScreenId.PICKUP_CODE:
                rig.intent(Intent.CANCEL)

        def on_door(self, compartment_id: str, state: DoorState) -> None:
            pass

    rig.controller.add_listener(Impatient())

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        assert rig.screen.id is ScreenId.HOME

    rig.run(scenario)
    assert seen == [ScreenId.PICKUP_CODE, ScreenId.HOME]
    assert [s.id for s in rig.recorder.screens] == [ScreenId.PICKUP_CODE, ScreenId.HOME]


def test_a_broken_store_keeps_the_keypad_locked_and_cancel_still_goes_home(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        for _ in range(5):
            rig.intent(Intent.SUBMIT_CODE, code="999999")
        assert rig.screen.id is ScreenId.LOCKED_OUT
        rig.store.close()  # the database is gone: the lock can no longer be read
        with caplog.at_level(logging.ERROR):
            rig.clock.advance(10)
        assert rig.screen.id is ScreenId.LOCKED_OUT
        assert "treating the keypad as locked" in caplog.text
        rig.intent(Intent.CANCEL)
        assert rig.screen.view == HomeView()
        rig.intent(Intent.START_PICKUP)
        assert rig.screen.id is ScreenId.LOCKED_OUT  # fail closed: no guessing while the lock is unknown
        rig.clock.advance(45)  # and it still asks, then goes home by itself
        assert rig.screen.view == HomeView(idle_return=True)

    rig.run(scenario)


def test_a_failure_under_a_timer_goes_home_instead_of_reaching_the_clock(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    chart = rig.controller.chart
    shown: list[ScreenId] = []

    def show(screen: Screen) -> None:
        shown.append(screen.id)
        if screen.id is ScreenId.MORE_TIME:
            raise RuntimeError("a bug while showing the screen")

    chart.set_screen_callback(show)

    async def scenario() -> None:
        rig.intent(Intent.START_PICKUP)
        with caplog.at_level(logging.ERROR):
            rig.clock.advance(30)  # must not raise out of the clock
        assert chart.state_id == "home"
        assert "failed on timer event 'inactivity'; going home" in caplog.text

    rig.run(scenario)
    assert shown == [ScreenId.PICKUP_CODE, ScreenId.MORE_TIME, ScreenId.HOME]


def test_open_all_with_one_jammed_door_shows_the_fault_and_the_other_still_completes(rig: Rig) -> None:
    good = rig.place(CODE, Size.S, parcel_id="P-good")
    stuck = rig.place(CODE, Size.M, parcel_id="P-stuck")
    rig.sim.jam(*rig.address(str(stuck.compartment_id)))

    async def scenario() -> None:
        await open_by_code(rig)
        rig.intent(Intent.OPEN_ALL)
        error = await rig.screen_is(ScreenId.ERROR)
        assert error.view == ErrorView(ErrorReason.DOOR_FAULT, stuck.compartment_id, code_still_valid=True)
        await rig.door_seen(str(good.compartment_id), DoorState.OPEN)
        rig.take_parcel_and_close(str(good.compartment_id))
        await rig.until(lambda: rig.store.parcel("P-good").state is ParcelState.PICKED_UP, "the good door")
        assert rig.screen.id is ScreenId.ERROR

    rig.run(scenario)
    assert rig.store.parcel("P-stuck").state is ParcelState.IN_LOCKER
    assert rig.store.compartment(str(stuck.compartment_id)).state is CompartmentState.OUT_OF_ORDER


def test_stopping_mid_unlock_leaves_a_journal_entry_the_next_start_settles(make_rig) -> None:  # type: ignore[no-untyped-def]
    first = make_rig()
    parcel = first.place(CODE)
    first.sim.set_reply_delay(0.04)  # the acknowledgement is slow: stop() lands while the unlock is in flight

    async def stop_mid_unlock() -> None:
        await open_by_code(first)
        await first.until(lambda: first.unlock_pulses("A2") == 1, "the pulse to reach the board")

    first.run(stop_mid_unlock)
    first.close()
    first.sim.set_reply_delay(0.0)
    again = make_rig(simulator=first.sim, database=first.database)
    assert [e.phase for e in again.store.unfinished_journal()] == [JournalPhase.UNLOCK_SENT]

    async def after_restart() -> None:
        # the pulse did reach the board: the door is open, so the entry is OPENED and watched
        assert [e.phase for e in again.store.unfinished_journal()] == [JournalPhase.OPENED]
        again.take_parcel_and_close("A2")
        await again.until(lambda: again.store.unfinished_journal() == [], "the pickup")

    again.run(after_restart)
    assert again.store.parcel(parcel.id).state is ParcelState.PICKED_UP
