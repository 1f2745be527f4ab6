"""The kiosk and the operator's platform (the fake one, a real HTTP server): events reach it exactly once."""

from __future__ import annotations

import dataclasses

import pytest

from kiosk.config import PlatformConfig
from kiosk.testing.fake_platform import FakePlatform
from kiosk.testing.plugin import make_test_config

SECRET = bytes(range(32, 80))


@pytest.fixture
def platform(tmp_path):
    fake = FakePlatform(SECRET, database=tmp_path / "platform.sqlite", locker_id="demo-locker")
    fake.start()
    yield fake
    fake.stop()


def online_kiosk(kiosk_factory, tmp_path, platform):
    config = make_test_config(tmp_path, camera=False)
    config = dataclasses.replace(config, platform=PlatformConfig(platform.url))
    secrets = config.locker.secrets_file
    secrets.write_text(f'code_key = "{"11" * 32}"\nplatform_secret = "{SECRET.hex()}"\n', encoding="ascii")
    secrets.chmod(0o600)
    return kiosk_factory(config=config)


def test_a_pickup_reaches_the_platform_exactly_once(kiosk_factory, tmp_path, platform):
    kiosk = online_kiosk(kiosk_factory, tmp_path, platform)
    parcel = kiosk.seed_parcel(size="M", code="424242")
    kiosk.tap("pickup_button")
    kiosk.type_code("424242")
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.ir(parcel.compartment, False)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")
    kiosk.wait_until(lambda: [event["kind"] for event in platform.events()] == ["deposited", "picked_up"],
                     what="the deposit and the pickup at the platform")
    kiosk.wait_until(lambda: kiosk.app.store.outbox_depth() == 0, what="the outbox acknowledged")
    assert all(event["parcel_id"] == parcel.id for event in platform.events())
    assert kiosk.app.delivery.online is True


def test_a_pickup_while_the_platform_is_down_arrives_once_when_it_is_back(kiosk_factory, tmp_path, platform):
    kiosk = online_kiosk(kiosk_factory, tmp_path, platform)
    kiosk.wait_until(lambda: kiosk.app.delivery.online is not None or kiosk.app.store.outbox_depth() == 0,
                     what="the first delivery round")
    platform.stop()
    parcel = kiosk.seed_parcel(size="S", code="515151")
    kiosk.tap("pickup_button")
    kiosk.type_code("515151")  # the locker works from what it holds: no platform needed to open
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.ir(parcel.compartment, False)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")
    kiosk.wait_until(lambda: kiosk.app.delivery.online is False, what="the kiosk seeing the platform down")
    assert kiosk.app.store.outbox_depth() == 2
    assert kiosk.parcel(parcel.id).state == "picked_up"
    platform.start()
    kiosk.app.delivery.nudge()  # what the platform's return triggers (a heartbeat; here: at once)
    kiosk.wait_until(lambda: kiosk.app.store.outbox_depth() == 0, timeout=10, what="the backlog delivered")
    kinds = [event["kind"] for event in platform.events()]
    assert kinds == ["deposited", "picked_up"]


def test_standalone_keeps_the_outbox_empty(kiosk):
    parcel = kiosk.seed_parcel(size="S", code="626262")
    kiosk.tap("pickup_button")
    kiosk.type_code("626262")
    kiosk.wait_door_open(parcel.compartment)
    kiosk.sim.close_door(parcel.compartment)
    kiosk.wait_screen("thank_you")
    kiosk.wait_until(lambda: kiosk.app.store.outbox_depth() == 0, what="the events in the local record")
    assert "parcel_picked_up" in kiosk.audit_kinds()


def test_platform_without_a_secret_refuses_to_start(kiosk_factory, tmp_path, platform):
    from kiosk.config import ConfigError

    config = make_test_config(tmp_path, camera=False)
    config = dataclasses.replace(config, platform=PlatformConfig(platform.url))
    with pytest.raises(ConfigError, match="platform_secret: missing"):
        kiosk_factory(config=config)
