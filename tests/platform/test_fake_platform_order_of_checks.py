"""The contract's "Unsigned replies" and "Order of checks" on the fake platform: who is asking first (an
unsigned 401 when no reply could be signed, the only unsigned replies), then the body's size (413), the route
(404, 405 with Allow), the signature, the locker, the parameters and body (422). Every reply that is not one
of those unsigned 401s is signed for its request and matches what the contract declares for its operation,
the GET operations included."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator, Mapping

import pytest
from platform_client import BASE, LOCKER, SECRET, SignedClient

from kiosk.backend import contract, signing
from kiosk.backend.remote import PlatformClient, PlatformError, PlatformErrorKind
from kiosk.testing.fake_platform import FakePlatform

REPLY_HEADERS = (signing.HEADER_TIMESTAMP, signing.HEADER_CONTENT_SHA256, signing.HEADER_SIGNATURE)
OVER_ONE_MEBIBYTE = b" " * (1024 * 1024 + 1)
COMMAND_RESULT = f"{BASE}/commands/e0597e3e-bab2-4890-bb0b-3bdbdc2cd7c5/result"
# One concrete path per path of the contract, and the method it has.
PATHS = {
    f"{BASE}/registration": "PUT",
    f"{BASE}/config": "GET",
    f"{BASE}/sync": "GET",
    f"{BASE}/events": "POST",
    f"{BASE}/verify": "POST",
    f"{BASE}/heartbeat": "POST",
    f"{BASE}/commands": "GET",
    COMMAND_RESULT: "POST",
}
GET_PATHS = [path for path, method in PATHS.items() if method == "GET"]


def test_the_paths_here_are_every_path_of_the_contract() -> None:
    assert {contract.operations_at(path)[0].template for path in PATHS} == set(contract.load_spec()["paths"])
    assert all(contract.operations_at(path)[0].method == method for path, method in PATHS.items())


def _unsigned(headers: Mapping[str, str]) -> bool:
    return not any(name in headers for name in REPLY_HEADERS)


# unsigned replies ---------------------------------------------------------------------------------

def _drop(name: str) -> Callable[[dict[str, str]], None]:
    def tamper(headers: dict[str, str]) -> None:
        del headers[name]

    return tamper


def test_a_request_without_a_nonce_is_refused_unsigned_naming_what_is_missing(client: SignedClient) -> None:
    exchange = client.call("GET", f"{BASE}/config", tamper=_drop(signing.HEADER_NONCE), verify=False)
    assert exchange.status == 401 and exchange.json()["code"] == "missing_header"
    assert "X-Nonce" in exchange.json()["message"] and "cannot be signed" in exchange.json()["message"]
    assert _unsigned(exchange.response.headers)


def test_a_nonce_given_twice_differently_is_refused_unsigned(platform: FakePlatform) -> None:
    path = f"{BASE}/config"
    signed = signing.sign(SECRET, "GET", path, b"", locker_id=LOCKER)
    host, port = platform.url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        # A second X-Nonce line: requests cannot send one header twice, http.client can.
        connection.putrequest("GET", path)
        for name, value in [*signed.items(), (signing.HEADER_NONCE, "f" * 32)]:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        reply_headers = dict(response.getheaders())
    finally:
        connection.close()
    assert response.status == 401 and b'"code":"malformed"' in body and b"X-Nonce" in body
    assert _unsigned(reply_headers)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", f"{BASE}/config", OVER_ONE_MEBIBYTE),  # over 1 MiB: still 401 first, not 413
    ("DELETE", f"{BASE}/events", b""),  # a method the path does not have: still 401 first, not 405
    ("GET", f"{BASE}/no-such-thing", b""),  # not even a path of the contract: 401 first, not 404
])
def test_who_is_asking_is_checked_before_anything_else(
    client: SignedClient, method: str, path: str, body: bytes
) -> None:
    exchange = client.call(method, path, raw_body=body, tamper=_drop(signing.HEADER_NONCE), verify=False,
                           check_contract=False)
    assert exchange.status == 401 and exchange.json()["code"] == "missing_header"
    assert _unsigned(exchange.response.headers)
    stranger = SignedClient(client.platform, locker_id="LK-9999")
    try:
        unknown = stranger.call(method, path.replace(LOCKER, "LK-9999"), raw_body=body, verify=False,
                                check_contract=False)
    finally:
        stranger.close()
    assert unknown.status == 401 and unknown.json()["code"] == "unknown_locker"
    assert _unsigned(unknown.response.headers)


def test_the_connection_serves_on_after_an_unsigned_refusal_with_a_body(client: SignedClient) -> None:
    body = b'{"code_hash":"' + b"a" * 64 + b'","kind":"pickup"}'
    refused = client.call("POST", f"{BASE}/verify", raw_body=body, tamper=_drop(signing.HEADER_NONCE),
                          verify=False)
    assert refused.status == 401
    assert client.call("GET", f"{BASE}/config").status == 200


def test_the_kiosks_client_uses_nothing_of_an_unsigned_refusal(platform: FakePlatform) -> None:
    with PlatformClient(platform.url, "LK-9999", SECRET) as stranger, pytest.raises(PlatformError) as raised:
        stranger.config()
    error = raised.value
    assert error.kind is PlatformErrorKind.UNAUTHORIZED and error.retryable
    # Neither the status's Error code nor its message were taken from the unsigned body.
    assert error.code is None and "unsigned" in error.message
    assert str(error).count("\n") == 0


# signed refusals of every status the contract declares on every operation --------------------------

@pytest.mark.parametrize("path", list(PATHS))
def test_a_wrong_method_gets_a_signed_405_naming_the_method_of_the_path(
    client: SignedClient, path: str
) -> None:
    wrong = "DELETE" if PATHS[path] != "DELETE" else "PATCH"
    exchange = client.call(wrong, path)  # the reply is verified and checked against the contract
    assert exchange.status == 405 and exchange.json()["code"] == "invalid_request"
    assert exchange.response.headers["Allow"] == PATHS[path]
    other = "POST" if PATHS[path] == "GET" else "GET"
    assert client.call(other, path).status == 405


def test_head_gets_the_405_without_a_body(client: SignedClient) -> None:
    exchange = client.call("HEAD", f"{BASE}/config", verify=False, check_contract=False)
    assert exchange.status == 405 and exchange.response.content == b""
    assert exchange.response.headers["Allow"] == "GET"
    assert all(name in exchange.response.headers for name in REPLY_HEADERS)


@pytest.mark.parametrize("path", GET_PATHS)
def test_a_get_with_a_body_over_one_mebibyte_gets_a_signed_413(client: SignedClient, path: str) -> None:
    exchange = client.call("GET", path, raw_body=OVER_ONE_MEBIBYTE)
    assert exchange.status == 413 and exchange.json()["code"] == "payload_too_large"
    assert client.call("GET", f"{BASE}/config").status == 200  # a new connection serves on


@pytest.mark.parametrize("path", GET_PATHS)
def test_a_get_with_a_short_body_gets_a_signed_422(client: SignedClient, path: str) -> None:
    exchange = client.call("GET", path + ("?wait=0" if path.endswith("/commands") else ""), {"x": 1})
    assert exchange.status == 422 and "takes no body" in exchange.json()["message"]


def test_an_undeclared_query_parameter_on_the_configuration_gets_a_signed_422(client: SignedClient) -> None:
    exchange = client.call("GET", f"{BASE}/config?verbose=1")
    assert exchange.status == 422 and "unknown query parameter 'verbose'" in exchange.json()["message"]


def test_chunked_bodies_are_refused_signed_with_422(client: SignedClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"events": '
        yield b"[]}"

    headers = signing.sign(SECRET, "POST", f"{BASE}/events", b'{"events": []}', locker_id=LOCKER)
    response = client.session.post(client.platform.url + f"{BASE}/events", data=chunks(), headers=headers,
                                   timeout=10)
    assert response.status_code == 422 and "chunked" in response.json()["message"]
    signing.verify_reply(SECRET, "POST", f"{BASE}/events", headers[signing.HEADER_NONCE], 422,
                         response.content, response.headers)
