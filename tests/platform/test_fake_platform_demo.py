"""The fake platform's demo mode: the network state `make demo-online` shows, as a locker syncs it (a
re-issued code for the kiosk's own DEMO-1, announced parcels, couriers, returns), seeded idempotently, and
`python -m kiosk.testing.fake_platform --demo` printing what it seeded."""

from __future__ import annotations

import base64
import hashlib
import hmac
import selectors
import subprocess
import sys
from pathlib import Path
from typing import Any

import requests
from platform_client import BASE, CODE_KEY, LOCKER, SECRET, SignedClient

from kiosk.app import DEMO_PARCELS
from kiosk.backend import signing
from kiosk.testing.fake_platform import FakePlatform
from kiosk.testing.fake_platform.demo import ANNOUNCED_PARCELS, REISSUED_PARCEL_SIZE, seed_demo

COMMAND = [sys.executable, "-m", "kiosk.testing.fake_platform"]


def _first_line(process: subprocess.Popen[bytes], timeout: float = 20.0) -> str:
    """The first line the process prints, waited for with a deadline (its stdout unbuffered)."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=timeout):
            raise AssertionError("the fake platform printed nothing in time")
    return process.stdout.readline().decode().strip()


def _hash(code: str) -> str:
    return hmac.new(CODE_KEY, code.encode("ascii"), hashlib.sha256).hexdigest()


def _full_sync(client: SignedClient) -> dict[str, list[dict[str, Any]]]:
    """Every record of a full sync, by page array."""
    records: dict[str, list[dict[str, Any]]] = {}
    cursor: str | None = None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.call("GET", f"{BASE}/sync{query}").json()
        for name in ("parcels", "pickup_credentials", "couriers", "return_authorisations"):
            records.setdefault(name, []).extend(page[name])
        if not page["has_more"]:
            return records
        cursor = page["next_cursor"]


def _scrypt_matches(phc: str, pin: str) -> bool:
    _empty, _name, parameters, salt, digest = phc.split("$")
    settings = dict(item.split("=") for item in parameters.split(","))

    def unpadded(text: str) -> bytes:
        return base64.b64decode(text + "=" * (-len(text) % 4))

    derived = hashlib.scrypt(pin.encode(), salt=unpadded(salt), n=2 ** int(settings["ln"]),
                             r=int(settings["r"]), p=int(settings["p"]), maxmem=256 * 1024 * 1024, dklen=32)
    return hmac.compare_digest(derived, unpadded(digest))


def test_a_locker_syncs_the_demo_network_state(platform: FakePlatform, client: SignedClient) -> None:
    lines = seed_demo(platform)
    records = _full_sync(client)

    reissued = [credential for credential in records["pickup_credentials"]
                if credential["code_hash"] == _hash("444444")]
    assert [credential["parcel_ids"] for credential in reissued] == [["DEMO-1"]]
    parcels = {parcel["parcel_id"]: parcel for parcel in records["parcels"]}
    assert parcels["DEMO-1"]["size"] == REISSUED_PARCEL_SIZE
    announced = [parcel for parcel_id, parcel in parcels.items() if parcel_id != "DEMO-1"]
    assert len(announced) == len(ANNOUNCED_PARCELS) >= 3
    assert len({parcel["barcode"] for parcel in announced}) == len(announced)
    assert {parcel["size"] for parcel in announced} == {"S", "M", "L", "XL"}
    assert [parcel["parcel_id"] for parcel in announced if parcel["accessible"]] == ["PX-DEMO-102"]
    # Announced parcels get their code when deposited: the only credential is the re-issued one.
    assert len(records["pickup_credentials"]) == 1

    couriers = {courier["courier_id"]: courier for courier in records["couriers"]}
    assert set(couriers) == {"C-100", "C-200"}
    assert _scrypt_matches(couriers["C-100"]["password_hash"], "1234")
    assert _scrypt_matches(couriers["C-200"]["password_hash"], "5678")
    assert not _scrypt_matches(couriers["C-200"]["password_hash"], "1234")
    assert couriers["C-100"]["badge_secret_hash"] == _hash("DEMOBADGE00000001")
    assert couriers["C-200"]["badge_secret_hash"] is None

    returns = {item["code_hash"]: item for item in records["return_authorisations"]}
    assert returns[_hash("RETURN0001")]["size"] == "S" and returns[_hash("RETURN0002")]["size"] == "M"

    config = client.call("GET", f"{BASE}/config").json()
    assert (config["heartbeat_interval_s"], config["sync_interval_s"]) == (15, 10)
    printed = "\n".join(lines)
    for words in ("444444", "DEMO-1", "PX-DEMO-102", "wheelchair", "C-100: PIN 1234", "C-200: PIN 5678",
                  "LK1:C:C-100:DEMOBADGE00000001", "RETURN0001: size S", "RETURN0002: size M"):
        assert words in printed, words


def test_the_reissued_code_is_also_verified_online(platform: FakePlatform, client: SignedClient) -> None:
    seed_demo(platform)
    found = client.call("POST", f"{BASE}/verify", {"code_hash": _hash("444444"), "kind": "pickup"}).json()
    assert [parcel["parcel_id"] for parcel in found["parcels"]] == ["DEMO-1"]
    returned = client.call("POST", f"{BASE}/verify", {"code_hash": _hash("RETURN0002"), "kind": "return"})
    assert returned.json()["return_authorisation"]["parcel_id"] == "RX-DEMO-2"


def test_the_platforms_demo_1_is_the_kiosks_demo_1() -> None:
    first = next(parcel for parcel in DEMO_PARCELS if parcel.code == "111111")
    assert first.size.value == REISSUED_PARCEL_SIZE


def test_seeding_again_replaces_instead_of_adding(platform: FakePlatform, client: SignedClient) -> None:
    seed_demo(platform)
    first = _full_sync(client)
    seed_demo(platform)
    second = _full_sync(client)
    assert {name: len(items) for name, items in second.items()} == {
        name: len(items) for name, items in first.items()}
    assert second["return_authorisations"] == first["return_authorisations"]


def test_the_command_line_seeds_and_prints_the_demo(tmp_path: Path) -> None:
    secret_file = tmp_path / "platform-secrets.toml"
    secret_file.write_text(f'platform_secret = "{SECRET.hex()}"\ncode_key = "{CODE_KEY.hex()}"\n')
    secret_file.chmod(0o600)
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as error_file:
        process = subprocess.Popen(
            [*COMMAND, "--port", "0", "--secret-file", str(secret_file), "--locker-id", LOCKER, "--demo"],
            stdout=subprocess.PIPE, stderr=error_file, bufsize=0,  # unbuffered: readline reads no further
        )
    try:
        first = _first_line(process)
        assert first.startswith("serving on http://127.0.0.1:"), first
        url = first.removeprefix("serving on ")
        path = f"{BASE}/verify"
        body = f'{{"code_hash":"{_hash("444444")}","kind":"pickup"}}'.encode()
        headers = signing.sign(SECRET, "POST", path, body, locker_id=LOCKER)
        headers["Content-Type"] = "application/json"
        response = requests.post(url + path, data=body, headers=headers, timeout=10)
        assert response.status_code == 200 and response.json()["parcels"][0]["parcel_id"] == "DEMO-1"
        process.terminate()
        printed = process.communicate(timeout=20)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, errors.read_text()
    assert "pickup code 444444" in printed and "courier C-100: PIN 1234" in printed


def test_demo_mode_needs_the_code_key(tmp_path: Path) -> None:
    secret_file = tmp_path / "platform-secrets.toml"
    secret_file.write_text(f'platform_secret = "{SECRET.hex()}"\n')
    secret_file.chmod(0o600)
    finished = subprocess.run(
        [*COMMAND, "--port", "0", "--secret-file", str(secret_file), "--demo"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert finished.returncode == 2 and finished.stdout == ""
    assert finished.stderr.count("\n") == 1 and "--demo needs code_key" in finished.stderr
