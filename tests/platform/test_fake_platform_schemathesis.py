"""The fake platform against its contract, by schemathesis: requests generated from openapi.yaml for every
operation, valid ones (positive) and invalid ones (negative), signed as the locker signs, sent to the running
server; schemathesis's checks then hold every reply to the contract: no server error, a declared status, the
declared content type, the required reply headers (the signing ones included) well formed, the body matching
its schema, invalid requests refused (4xx), valid ones not refused for their data, and the signature enforced
(the same request without or with wrong signing headers is refused)."""

from __future__ import annotations

import collections
import hashlib
import hmac
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from platform_client import CODE_KEY, GOLDEN_CODE_HASH, LOCKER, SECRET
from schemathesis.core.parameters import ParameterLocation

from kiosk.backend import contract, signing
from kiosk.testing.fake_platform import FakePlatform

SCHEMA = schemathesis.openapi.from_path(str(contract.SPEC_PATH))
EXAMPLES_PER_OPERATION = 20
RETURN_CODE = "RET12345"
RETURN_CODE_HASH = hmac.new(CODE_KEY, RETURN_CODE.encode("ascii"), hashlib.sha256).hexdigest()
SIGNING_HEADERS = {name.lower() for name in (signing.HEADER_LOCKER_ID, *signing.REQUEST_HEADERS)}


class SigningAuth(requests.auth.AuthBase):
    """Signs a prepared request as the locker does (the path and body exactly as they go on the wire).

    Schemathesis fills the five signing headers (apiKey schemes in the contract) with generated text; they
    are replaced by a real signature. A negative case that leaves one out keeps its gap and goes unsigned,
    so the platform has to refuse it."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not {name.lower() for name in request.headers} >= SIGNING_HEADERS:
            return request
        for name in [name for name in request.headers if name.lower() in SIGNING_HEADERS]:
            del request.headers[name]
        body = request.body or b""
        body_bytes = body.encode("utf-8") if isinstance(body, str) else bytes(body)
        assert request.method is not None
        request.headers.update(signing.sign(SECRET, request.method, request.path_url, body_bytes,
                                            locker_id=LOCKER))
        return request


def _aim_at_known_records(case: Any, operation_id: str, known: bool, command_id: str) -> None:
    """Valid requests are pointed at this locker (and, half the time, at records the platform has), so they
    reach the operation instead of stopping at 403 or 404. Only parts generated valid are changed, to
    values the schema allows: a valid case stays valid."""
    if case.meta.is_negative_at(ParameterLocation.PATH):
        return
    case.path_parameters["locker_id"] = LOCKER
    if not known:
        return
    if operation_id == "postCommandResult":
        case.path_parameters["command_id"] = command_id
    body = case.body
    positive_body = not case.meta.is_negative_at(ParameterLocation.BODY)
    if operation_id == "verifyCode" and positive_body and isinstance(body, dict):
        body["code_hash"] = GOLDEN_CODE_HASH if body.get("kind") == "pickup" else RETURN_CODE_HASH


def _hold_no_long_poll(case: Any) -> None:
    """Any valid `wait` is 0-60 s; 0 keeps it valid and the run short. A wait left out would mean 30 s."""
    if case.meta.is_negative_at(ParameterLocation.QUERY):
        return
    query = case.query if isinstance(case.query, dict) else {}
    case.query = {**query, "wait": 0}


@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE],
                         ids=lambda mode: mode.value)
@pytest.mark.parametrize("operation", contract.operations(), ids=lambda operation: operation.operation_id)
def test_every_reply_keeps_the_contract(
    platform: FakePlatform, operation: contract.Operation, mode: schemathesis.GenerationMode
) -> None:
    platform.add_expected_parcel(parcel_id="PX-2026-000184", code="123456")
    platform.add_return(code=RETURN_CODE)
    platform.add_courier(courier_id="DHL-0042", pin="4711", badge_secret="ABCDEFGHIJKLMNOP")
    command_id = platform.add_command("sync_now")
    api_operation = SCHEMA[operation.template][operation.method]
    statuses: collections.Counter[int] = collections.Counter()
    session = requests.Session()

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=api_operation.as_strategy(generation_mode=mode), known=st.booleans())
    def check(case: Any, known: bool) -> None:
        _aim_at_known_records(case, operation.operation_id, known, command_id)
        if operation.operation_id == "pollCommands":
            _hold_no_long_poll(case)
        response = case.call_and_validate(base_url=platform.url, session=session, auth=SigningAuth(),
                                          timeout=15)
        statuses[response.status_code] += 1

    try:
        check()
    finally:
        session.close()
    assert statuses, "schemathesis sent nothing"
    assert not [refusal for refusal in platform.refusals() if refusal["status"] >= 500]
    if mode is schemathesis.GenerationMode.POSITIVE:
        # Valid, signed requests reach the operation and succeed, at least some of the time.
        assert any(200 <= status < 300 for status in statuses), statuses
    else:
        assert all(400 <= status < 500 for status in statuses), statuses
