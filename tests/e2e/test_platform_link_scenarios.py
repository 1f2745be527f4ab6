"""The kiosk with its platform (the fake one: a real HTTP server on 127.0.0.1): sync, online verification,
heartbeat, remote commands, and a platform that misbehaves in every way the contract's fault injection can.

Each kiosk here is made by kiosk_factory(platform=True): `kiosk.platform` is its FakePlatform."""

from __future__ import annotations

import logging
import threading

import pytest

from kiosk.core.codes import hash_code
from kiosk.testing.plugin import PLATFORM_CODE_KEY, make_test_config, start_platform_for

TEN_MB = 10 * 1024 * 1024


def synced(kiosk, count: int = 1) -> None:
    """Until the kiosk has completed `count` syncs with its platform."""
    kiosk.wait_until(lambda: kiosk.app.link.syncs_completed >= count, timeout=10,
                     what=f"{count} completed sync(s)")


def pick_up_by_code(kiosk, parcel, code: str) -> None:
    kiosk.tap("pickup_button")
    kiosk.type_code(code)
    kiosk.wait_door_open(parcel.compartment, timeout=10)
    kiosk.sim.ir(parcel.compartment, False)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")


def test_a_code_the_platform_issued_opens_the_door_after_a_sync_even_offline(kiosk_factory):
    kiosk = kiosk_factory(platform=True, camera=False)
    shown_from: list[threading.Thread] = []  # the screens may only be touched from the GUI thread
    kiosk.app.link_status.add_listener(lambda _state: shown_from.append(threading.current_thread()))
    synced(kiosk)
    parcel = kiosk.seed_parcel(size="M", code="111222")
    kiosk.platform.add_pickup_credential(code="454545", parcel_ids=[parcel.id])  # re-issued by the operator
    done = kiosk.app.link.syncs_completed
    kiosk.app.link.sync_now()
    synced(kiosk, done + 1)
    assert kiosk.app.store.parcels_for_code_hash(hash_code(PLATFORM_CODE_KEY, "454545"))
    kiosk.platform.stop()  # from here on the locker works from what it synced
    pick_up_by_code(kiosk, parcel, "454545")
    assert kiosk.parcel(parcel.id).state == "picked_up"
    kiosk.wait_until(lambda: kiosk.app.link_status.online is False, timeout=10, what="it seen down")
    kiosk.tap("done_button")
    kiosk.wait_screen("home")
    assert kiosk.text("platform_label").startswith("○ Offline")
    assert shown_from and set(shown_from) == {threading.main_thread()}


def test_a_code_the_locker_does_not_know_yet_is_verified_online(kiosk_factory):
    kiosk = kiosk_factory(platform=True, camera=False)
    synced(kiosk)
    kiosk.wait_until(lambda: kiosk.app.link.online(), what="the platform online")
    kiosk.platform.add_expected_parcel(parcel_id="PX-77", size="S")  # announced, without a code yet
    parcel = kiosk.seed_parcel(size="S", code="101010", parcel_id="PX-77")
    kiosk.platform.add_pickup_credential(code="565656", parcel_ids=[parcel.id])  # not synced yet
    pick_up_by_code(kiosk, parcel, "565656")
    kinds = kiosk.audit_kinds()
    assert "code_checked_online" in kinds and "credential_verified_online" in kinds
    kiosk.wait_until(lambda: [e["kind"] for e in kiosk.platform.events()] == ["deposited", "picked_up"],
                     timeout=10, what="both events at the platform")
    picked = kiosk.platform.events()[1]
    assert picked["details"]["method"] == "code"


def test_a_wrong_code_is_checked_online_once_and_refused(kiosk_factory):
    kiosk = kiosk_factory(platform=True, camera=False)
    synced(kiosk)
    kiosk.wait_until(lambda: kiosk.app.link.online(), what="the platform online")
    kiosk.tap("pickup_button")
    kiosk.type_code("909090")
    kiosk.wait_until(lambda: kiosk.screen() == "pickup_code", timeout=10, what="the keypad again")
    assert "not recognised" in kiosk.text("error_label")
    assert kiosk.audit_kinds().count("code_checked_online") == 1


def test_the_heartbeat_tells_the_platform_how_the_locker_is(kiosk_factory):
    kiosk = kiosk_factory(platform=True, camera=False)
    kiosk.wait_until(lambda: kiosk.platform.heartbeats() != [], timeout=10, what="a heartbeat")
    beat = kiosk.platform.heartbeats()[0]
    health = beat.get("health", beat)
    text = repr(health)
    assert "boards" in text and "outbox" in text


def test_a_remote_open_door_opens_it_and_reports_done(kiosk_factory):
    kiosk = kiosk_factory(platform=True, camera=False)
    parcel = kiosk.seed_parcel(size="M", code="333444")
    command_id = kiosk.platform.add_command("open_door", compartment_id=parcel.compartment)
    kiosk.wait_door_open(parcel.compartment, timeout=10)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_until(lambda: any(r["command_id"] == command_id for r in kiosk.platform.command_results()),
                     timeout=10, what="the command's result at the platform")
    [result] = [r for r in kiosk.platform.command_results() if r["command_id"] == command_id]
    assert result["status"] == "done"
    assert kiosk.parcel(parcel.id).state == "in_locker"  # support opened it; nobody picked it up
    assert "support_open" in kiosk.audit_kinds()


def test_a_remote_open_door_with_a_bad_signature_is_refused_and_audited(kiosk_factory, tmp_path, caplog):
    config = make_test_config(tmp_path, camera=False)
    platform = start_platform_for(config, tmp_path / "platform.sqlite")
    try:
        # Every command list the kiosk is sent comes with a wrong signature, from its very first poll.
        platform.set_faults(bad_signature=1000, operations={"pollCommands"})
        platform.add_command("open_door", compartment_id="D05")
        with caplog.at_level(logging.WARNING):
            kiosk = kiosk_factory(config=config, platform=platform)
            kiosk.wait_until(lambda: "remote_commands_refused" in kiosk.audit_kinds(), timeout=10,
                             what="the refusal in the audit log")
        assert not kiosk.sim.door_open("D05")
        assert "support_open" not in kiosk.audit_kinds()
        assert "signature" in caplog.text
        assert platform.command_results() == []
        assert kiosk.audit_kinds().count("remote_commands_refused") == 1  # once per outage, not per poll
        kiosk_factory.stop(kiosk)
    finally:
        platform.stop()


@pytest.mark.parametrize("fault", [
    {"status_500": 1000},
    {"malformed_json": 1000},
    {"bad_signature": 1000},
    {"huge_body_bytes": TEN_MB},
    {"drop_connections": 1000},
])
def test_a_misbehaving_platform_never_stops_a_pickup_and_loses_nothing(kiosk_factory, caplog, fault):
    kiosk = kiosk_factory(platform=True, camera=False)
    synced(kiosk)
    kiosk.platform.set_faults(**fault)
    parcel = kiosk.seed_parcel(size="S", code="777888")
    with caplog.at_level(logging.WARNING):
        pick_up_by_code(kiosk, parcel, "777888")
        kiosk.wait_until(lambda: kiosk.app.link_status.online is False, timeout=15,
                         what="the kiosk seeing the platform fail")
    assert kiosk.app.store.outbox_depth() == 2  # kept, not dropped
    assert caplog.text  # a reason was logged
    kiosk.platform.set_faults()
    kiosk.app.delivery.nudge()
    kiosk.wait_until(lambda: kiosk.app.store.outbox_depth() == 0, timeout=15, what="the backlog delivered")
    kinds = [event["kind"] for event in kiosk.platform.events()]
    assert kinds == ["deposited", "picked_up"]
    keys = [event["idempotency_key"] for event in kiosk.platform.events()]
    assert len(set(keys)) == len(keys)
