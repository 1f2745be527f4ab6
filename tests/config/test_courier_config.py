"""kiosk.config's [courier] table and the courier timer: defaults, every accepted value, every mistake."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from test_config import EXAMPLE, VALID, write

from kiosk.config import ConfigError, config_with_overrides, load_config
from kiosk.core.model import CourierPolicy, Timers


def with_courier(table: str) -> str:
    return VALID.replace("[timers]\n", f"[courier]\n{table}[timers]\n", 1)


def test_without_a_courier_table_the_locker_refuses_unannounced_parcels_and_waits_72_hours(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, VALID))
    assert config.courier == CourierPolicy(accept_unannounced=False, pickup_window_hours=72,
                                           max_login_failures=5)
    assert config.timers.courier_inactivity_s == Timers().courier_inactivity_s == 90.0


def test_an_empty_courier_table_keeps_the_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, with_courier(""))).courier == CourierPolicy()


def test_every_courier_key_is_read(tmp_path: Path) -> None:
    text = with_courier('unannounced = "accept"\npickup_window_hours = 24\nmax_login_failures = 3\n')
    text = text.replace("inactivity_s = 20\n", "inactivity_s = 20\ncourier_inactivity_s = 120\n")
    config = load_config(write(tmp_path, text))
    assert config.courier == CourierPolicy(accept_unannounced=True, pickup_window_hours=24,
                                           max_login_failures=3)
    assert config.timers.courier_inactivity_s == 120.0
    assert load_config(write(tmp_path, with_courier('unannounced = "refuse"\n'))).courier == CourierPolicy()


@pytest.mark.parametrize(("hours", "failures"), [(1, 3), (720, 20)])
def test_the_ranges_include_their_ends(tmp_path: Path, hours: int, failures: int) -> None:
    text = with_courier(f"pickup_window_hours = {hours}\nmax_login_failures = {failures}\n")
    policy = load_config(write(tmp_path, text)).courier
    assert (policy.pickup_window_hours, policy.max_login_failures) == (hours, failures)


def test_the_example_config_documents_the_courier_table() -> None:
    config = load_config(EXAMPLE)
    assert config.courier == CourierPolicy()
    assert config.timers.courier_inactivity_s == 90.0
    text = EXAMPLE.read_text(encoding="utf-8")
    for key in ("[courier]", "unannounced =", "pickup_window_hours =", "max_login_failures =",
                "courier_inactivity_s ="):
        assert key in text, key


MISTAKES = [
    ('unanounced = "accept"\n', "courier.unanounced: unknown key (did you mean unannounced?)"),
    ('accept_unannounced = true\n',
     "courier.accept_unannounced: unknown key (did you mean unannounced?)"),
    ('unannounced = "yes"\n',
     "courier.unannounced: unknown policy 'yes': \"refuse\" (a courier keeps a parcel the platform never "
     "announced) or \"accept\" (it is deposited, with a photo)"),
    ('unannounced = "Accept"\n',
     "courier.unannounced: unknown policy 'Accept': \"refuse\" (a courier keeps a parcel the platform "
     "never announced) or \"accept\" (it is deposited, with a photo)"),
    ("unannounced = true\n", "courier.unannounced: expected text in quotes, got true (a boolean)"),
    ("pickup_window_hours = 0\n", "courier.pickup_window_hours: 0 is out of range 1..720"),
    ("pickup_window_hours = 721\n", "courier.pickup_window_hours: 721 is out of range 1..720"),
    ("pickup_window_hours = 72.5\n",
     "courier.pickup_window_hours: expected a whole number, got 72.5 (a number)"),
    ('pickup_window_hours = "72"\n', 'courier.pickup_window_hours: expected a whole number, got "72" (text)'),
    ("max_login_failures = 2\n", "courier.max_login_failures: 2 is out of range 3..20"),
    ("max_login_failures = 21\n", "courier.max_login_failures: 21 is out of range 3..20"),
    ("max_login_failures = false\n",
     "courier.max_login_failures: expected a whole number, got false (a boolean)"),
]


@pytest.mark.parametrize(("table", "message"), MISTAKES, ids=[message.split(":")[0] + "-" + str(number)
                                                             for number, (_, message) in enumerate(MISTAKES)])
def test_each_courier_mistake_is_one_line_naming_file_key_and_reason(
    tmp_path: Path, table: str, message: str
) -> None:
    path = write(tmp_path, with_courier(table))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {message}"
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("text", "message"), [
    ("courier = 3\n" + VALID, "courier: expected a table, got 3 (a whole number)"),
    (VALID.replace("inactivity_s = 20\n", "inactivity_s = 20\ncourier_inactivity_s = 0\n"),
     "timers.courier_inactivity_s: 0 is out of range: must be greater than 0"),
    (VALID.replace("inactivity_s = 20\n", 'inactivity_s = 20\ncourier_inactivity_s = "90"\n'),
     'timers.courier_inactivity_s: expected a number, got "90" (text)'),
    (VALID.replace("inactivity_s = 20\n", "inactivity_s = 20\ncourier_inactivty_s = 90\n"),
     "timers.courier_inactivty_s: unknown key (did you mean courier_inactivity_s?)"),
])
def test_a_wrong_courier_table_or_timer_names_its_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value) == f"{path}: {message}"


def test_overrides_change_the_courier_policy_like_the_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, VALID))
    changed = config_with_overrides(config, courier_accept_unannounced=True, courier_pickup_window_hours=1,
                                    timers_courier_inactivity_s=5)
    assert changed.courier == CourierPolicy(accept_unannounced=True, pickup_window_hours=1)
    assert changed.timers == dataclasses.replace(config.timers, courier_inactivity_s=5.0)
    whole = config_with_overrides(config, courier=CourierPolicy(max_login_failures=10))
    assert whole.courier.max_login_failures == 10
    assert config.courier == CourierPolicy()  # the original is untouched


@pytest.mark.parametrize(("changes", "message"), [
    ({"courier_accept_unannounced": "yes"},
     r"courier.accept_unannounced: expected true or false, got \"yes\" \(text\)"),
    ({"courier_pickup_window_hours": 0}, r"courier.pickup_window_hours: 0 is out of range 1..720"),
    ({"courier_max_login_failures": 2.0},
     r"courier.max_login_failures: expected a whole number, got 2.0 \(a number\)"),
    ({"courier": {"accept_unannounced": True}}, "courier: expected a CourierPolicy, got a table"),
    ({"courier_unannounced": "accept"}, r"courier_unannounced: unknown override"),
])
def test_bad_courier_overrides_are_config_errors(tmp_path: Path, changes: dict[str, object],
                                                 message: str) -> None:
    config = load_config(write(tmp_path, VALID))
    with pytest.raises(ConfigError, match=rf"\(override\): {message}"):
        config_with_overrides(config, **changes)
