"""The API contract (kiosk/backend/openapi.yaml) is a valid OpenAPI 3.1 document, signed on every path,
strict in its schemas, true to its own examples and golden vectors, and identical to signing.py in its rules.
Also the checks of kiosk.backend.contract that the client and fake-platform tests will use."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import OpenAPIV31SpecValidator

from kiosk.backend import contract, signing
from kiosk.backend.contract import ContractError
from kiosk.core.codes import hash_code
from kiosk.core.model import ProblemKind, Size, Timers

SPEC = contract.load_spec()
SIGNING_HEADERS = {
    "LockerId": "X-Locker-Id",
    "Timestamp": "X-Timestamp",
    "Nonce": "X-Nonce",
    "ContentSha256": "X-Content-SHA256",
    "Signature": "X-Signature",
}
REPLY_HEADERS = ("X-Timestamp", "X-Content-SHA256", "X-Signature")
# Free-form on purpose: event details carry kind-specific scalars, checked by the Event's if/then rules.
OPEN_OBJECTS = {"/components/schemas/Event/properties/details"}


def test_the_spec_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    errors = [f"{list(error.path)}: {error.message}" for error in OpenAPIV31SpecValidator(SPEC).iter_errors()]
    assert errors == []


def test_every_operation_requires_all_five_signing_headers() -> None:
    schemes = SPEC["components"]["securitySchemes"]
    assert {name: (scheme["type"], scheme["in"], scheme["name"]) for name, scheme in schemes.items()} == {
        name: ("apiKey", "header", header) for name, header in SIGNING_HEADERS.items()
    }
    assert len(contract.operations()) == 8
    for operation in contract.operations():
        spec_operation = _operation(operation)
        requirements = spec_operation.get("security", SPEC.get("security"))
        assert requirements, f"{operation.operation_id} has no security requirement"
        # One requirement object naming every scheme: all five headers together, no alternative without them.
        for requirement in requirements:
            assert set(requirement) == set(SIGNING_HEADERS), f"{operation.operation_id}: {requirement}"


def test_every_path_is_under_one_locker_and_operation_ids_are_unique() -> None:
    ids = [operation.operation_id for operation in contract.operations()]
    assert len(ids) == len(set(ids))
    for template in SPEC["paths"]:
        assert template.startswith("/v1/lockers/{locker_id}/"), template


# What any request may earn whatever its operation (see "Order of checks" in the spec's description): a
# GET too gets 405 for another method on its path, 413 for a body over 1 MiB and 422 for any body at all.
STATUSES_OF_EVERY_OPERATION = ("401", "403", "405", "413", "422", "429", "500", "503")


def test_every_reply_is_signed_and_errors_share_one_schema() -> None:
    for operation in contract.operations():
        responses = _operation(operation)["responses"]
        for status in STATUSES_OF_EVERY_OPERATION:
            assert status in responses, f"{operation.operation_id} does not declare {status}"
        for status, declared in responses.items():
            response, _ = contract.follow_reference(declared, "")
            where = f"{operation.operation_id} {status}"
            headers = {name: contract.follow_reference(header, "")[0]
                       for name, header in response["headers"].items()}
            assert set(REPLY_HEADERS) <= set(headers), where
            for name in REPLY_HEADERS:
                # Only a 401 may come unsigned: the platform may not know which secret to use.
                assert headers[name]["required"] is (status != "401"), f"{where} {name}"
            if status == "429":
                assert headers["Retry-After"]["required"] is True
            if status == "405":
                assert headers["Allow"]["required"] is True
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, f"{operation.operation_id} {status}"


def test_the_error_codes_include_every_signature_refusal() -> None:
    codes = set(SPEC["components"]["schemas"]["Error"]["properties"]["code"]["enum"])
    assert {reason.value for reason in signing.SignatureReason} <= codes


def test_the_unsigned_replies_are_named_where_a_locker_reads_about_401() -> None:
    """A missing or unreadable X-Nonce leaves nothing to sign a reply for (the canonical reply includes it):
    the spec says so in its description and in the 401 response, the only one whose signing headers are
    optional."""
    description = _normalised(SPEC["info"]["description"])
    unsigned = description[description.index("### Unsigned replies"):description.index("### Order of checks")]
    for words in ("`missing_header`: `X-Locker-Id` or `X-Nonce` is absent", "`unknown_locker`",
                  "`malformed`: `X-Locker-Id` or `X-Nonce` is not well formed",
                  "Every other reply, whatever its status (404, 405 and 413 included), is signed",
                  "applies nothing from it"):
        assert words in unsigned, words
    unauthorized = _normalised(SPEC["components"]["responses"]["Unauthorized"]["description"])
    assert "`missing_header` or `malformed` on `X-Locker-Id` or `X-Nonce`" in unauthorized
    order = description[description.index("### Order of checks"):]
    assert "Every operation therefore declares 401, 405, 413, 422, 429, 500 and 503" in order


def _walk_schemas(node: Any, pointer: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "type" in node or "properties" in node:
            yield pointer, node
        for key, value in node.items():
            if key in ("examples", "example", "enum", "const", "required", "discriminator"):
                continue
            yield from _walk_schemas(value, f"{pointer}/{contract.pointer_token(str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk_schemas(value, f"{pointer}/{index}")


def _all_schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    yield from _walk_schemas(SPEC["components"]["schemas"], "/components/schemas")
    yield from _walk_schemas(SPEC["paths"], "/paths")


def test_every_object_schema_is_closed() -> None:
    open_ones = []
    for pointer, schema in _all_schemas():
        closable = schema.get("type") == "object" and "properties" in schema and pointer not in OPEN_OBJECTS
        if closable and schema.get("additionalProperties") is not False:
            open_ones.append(pointer)
    assert open_ones == []
    for pointer in OPEN_OBJECTS:
        details = contract.resolve_pointer(pointer)
        assert details["maxProperties"] <= 20 and "propertyNames" in details


def test_every_string_and_array_is_bounded() -> None:
    unbounded = []
    for pointer, schema in _all_schemas():
        types = schema.get("type")
        types = types if isinstance(types, list) else [types]
        if "string" in types and not (
            {"maxLength", "enum", "const"} & set(schema)
            or re.search(r"\{\d+(,\d+)?\}\$$", schema.get("pattern", ""))
            or schema.get("format") == "uuid"
        ):
            unbounded.append(pointer)
        if "array" in types and "maxItems" not in schema:
            unbounded.append(pointer)
    assert unbounded == []


EXAMPLES = list(contract.iter_examples())


@pytest.mark.parametrize(("where", "schema_pointer", "value"), EXAMPLES, ids=[case[0] for case in EXAMPLES])
def test_every_example_matches_its_schema(where: str, schema_pointer: str, value: object) -> None:
    contract.validate_at(schema_pointer, value, label=where)


def test_every_body_has_examples() -> None:
    described = {" ".join(where.split(" ")[:2]) for where, *_ in EXAMPLES if " example " in where}
    for operation in contract.operations():
        spec_operation = _operation(operation)
        if "requestBody" in spec_operation:
            assert f"{operation.operation_id} {operation.pointer}/requestBody" in described
        ok = next(status for status in spec_operation["responses"] if status.startswith("2"))
        if "content" in spec_operation["responses"][ok]:
            assert f"{operation.operation_id} {operation.pointer}/responses/{ok}" in described
    assert len(EXAMPLES) >= 60


def test_every_command_and_event_kind_has_an_example() -> None:
    commands = [command["kind"] for where, _, value in EXAMPLES if where.startswith("pollCommands ")
                and "/responses/200 " in where for command in value["commands"]]  # type: ignore[index]
    assert set(commands) == {"open_door", "sync_now", "compartment_out_of_service", "forget_face"}
    events = [event["kind"] for where, _, value in EXAMPLES if where.startswith("postEvents ")
              and "requestBody" in where for event in value["events"]]  # type: ignore[index]
    assert set(events) >= {"deposited", "picked_up", "door_fault", "problem_report", "alarm"}


GOOD_EVENT = {
    "idempotency_key": "46551468-5433-4418-ad72-18629d447b33",
    "kind": "deposited",
    "occurred_at": "2026-03-11T08:14:03Z",
    "compartment_id": "02",
    "parcel_id": "PX-2026-000184",
    "details": {"courier_id": "DHL-0042"},
}


def _event(**changes: object) -> dict[str, object]:
    event = copy.deepcopy(GOOD_EVENT)
    event.update(changes)
    return event


def _parcel(**changes: object) -> dict[str, object]:
    parcel: dict[str, object] = {
        "parcel_id": "P1", "barcode": "B1", "size": "S", "accessible": False,
        "recipient_display_name": "A. B", "pickup_window": {"hours": 1, "not_after": None},
    }
    return {**parcel, **changes}


def _command(**changes: object) -> dict[str, object]:
    command: dict[str, object] = {
        "command_id": "46551468-5433-4418-ad72-18629d447b33", "kind": "sync_now",
        "issued_at": "2026-03-11T09:20:00Z", "expires_at": "2026-03-11T09:25:00Z",
    }
    return {**command, **changes}


def _batch(**changes: object) -> dict[str, object]:
    return {"events": [_event(**changes)]}


COURIER = {"courier_id": "DHL-1", "display_name": "A", "badge_secret_hash": None, "can_collect": False,
           "valid_until": None}
BAD_BODIES = {
    "event key not a uuid": ("EventBatch", _batch(idempotency_key="42")),
    "event time without a zone": ("EventBatch", _batch(occurred_at="2026-03-11T08:14:03")),
    "event time not a date": ("EventBatch", _batch(occurred_at="yesterday")),
    "deposit without a compartment": ("EventBatch", _batch(compartment_id=None)),
    "deposit by a malformed courier id": ("EventBatch", _batch(details={"courier_id": "dhl 42"})),
    "unknown event kind": ("EventBatch", _batch(kind="exploded")),
    "pickup by an unknown method": ("EventBatch", _batch(kind="picked_up", details={"method": "telepathy"})),
    "door fault without a reason": ("EventBatch", _batch(kind="door_fault", parcel_id=None, details={})),
    "alarm without its name": ("EventBatch", _batch(kind="alarm", compartment_id=None, parcel_id=None,
                                                    details={"state": "raised"})),
    "problem of an unknown kind": ("EventBatch", _batch(kind="problem_report", details={"problem": "x"})),
    "nested details": ("EventBatch", _batch(details={"courier_id": "D", "more": {"a": 1}})),
    "empty batch": ("EventBatch", {"events": []}),
    "batch of 201": ("EventBatch", {"events": [_event()] * 201}),
    "a code in clear": ("VerifyRequest", {"code_hash": "123456", "kind": "pickup"}),
    "upper-case hash": ("VerifyRequest", {"code_hash": "E0" * 32, "kind": "pickup"}),
    "extra property": ("VerifyRequest", {"code_hash": "e0" * 32, "kind": "pickup", "code": "123456"}),
    "unknown size": ("ExpectedParcel", _parcel(size="XXL")),
    "control character in a name": ("ExpectedParcel", _parcel(recipient_display_name="A\nB")),
    "password in clear": ("CourierCredential", {**COURIER, "password_hash": "hunter2"}),
    "unknown command": ("Command", _command(kind="self_destruct")),
    "open door without a compartment": ("Command", _command(kind="open_door", support_ticket="SUP-1")),
    "command with a field of another kind": ("Command", _command(compartment_id="02")),
}


def test_the_bodies_the_bad_ones_are_made_from_are_good() -> None:
    contract.validate("EventBatch", _batch())
    contract.validate("ExpectedParcel", _parcel())
    contract.validate("Command", _command())
    contract.validate("Command", _command(kind="open_door", support_ticket="SUP-1", compartment_id="02"))
    password_hash = "$scrypt$ln=15,r=8,p=1$bG9ja2VyLWtpb3NrLTAwMQ$IIY6W8lCJW8OAuX9MJi00/QjEHtN93mjh3pTZYODsx0"
    contract.validate("CourierCredential", {**COURIER, "password_hash": password_hash})
    argon2 = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
    contract.validate("CourierCredential", {**COURIER, "password_hash": argon2})


def test_the_contract_speaks_the_same_words_as_the_core_model() -> None:
    schemas = SPEC["components"]["schemas"]
    assert schemas["Size"]["enum"] == [size.value for size in Size]
    problems = schemas["Event"]["properties"]["details"]["properties"]["problem"]["enum"]
    assert problems == [problem.value for problem in ProblemKind]
    settable = set(schemas["LockerConfig"]["properties"]["timers"]["properties"])
    assert settable <= {timer.name for timer in dataclasses.fields(Timers)}


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_bodies_that_break_the_contract_are_refused(case: str) -> None:
    schema_name, body = BAD_BODIES[case]
    with pytest.raises(ContractError) as caught:
        contract.validate(schema_name, body)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(schema_name)


def test_a_timer_the_platform_may_not_set_is_refused() -> None:
    config = copy.deepcopy(SPEC["components"]["examples"]["LockerConfig"]["value"])
    contract.validate("LockerConfig", config)
    config["timers"]["inactivity_s"] = 5
    with pytest.raises(ContractError, match="inactivity_s"):
        contract.validate("LockerConfig", config)
    config["timers"] = {"unlock_confirm_s": 1}  # a hardware timer stays the locker's own
    with pytest.raises(ContractError):
        contract.validate("LockerConfig", config)


# the rules and the golden vectors, as published ------------------------------------------------

def _normalised(text: str) -> str:
    return " ".join(text.split())


def _rules_block(text: str) -> str:
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip().startswith("canonical request ="))
    end = next(index for index, line in enumerate(lines) if line.strip().startswith("X-Signature  "))
    return _normalised("\n".join(lines[start:end + 1]))


def test_the_signing_rules_are_word_for_word_the_same_in_the_module_and_the_spec() -> None:
    assert signing.__doc__ is not None
    rules = _rules_block(signing.__doc__)
    assert rules.startswith("canonical request = METHOD LF PATH LF BODY-SHA256 LF TIMESTAMP LF NONCE")
    assert _rules_block(SPEC["info"]["description"]) == rules


def test_the_golden_vectors_in_the_spec_are_what_signing_computes() -> None:
    description = SPEC["info"]["description"]
    secret = bytes(range(32))
    assert secret.hex() in description
    code_hash = "e0274d210ae0c2d1d93c6d9861991885fc9ba88c551e972ad5df7a706492d896"
    body = b'{"code_hash":"' + code_hash.encode() + b'","kind":"pickup"}'
    assert f"`{body.decode()}`" in description
    post = signing.sign(secret, "POST", "/v1/lockers/LK-0001/verify", body, timestamp=1700000000,
                        nonce="00112233445566778899aabbccddeeff")
    get = signing.sign(secret, "GET", "/v1/lockers/LK-0001/sync?cursor=c-42&limit=500", b"",
                       timestamp=1700000001, nonce="AAECAwQFBgcICQoLDA0ODw")
    reply_body = b'{"code":"not_found","message":"No parcel matches this code."}'
    assert f"`{reply_body.decode()}`" in description
    contract.validate("Error", json.loads(reply_body))
    reply = signing.sign_reply(secret, "POST", "/v1/lockers/LK-0001/verify",
                               "00112233445566778899aabbccddeeff", 404, reply_body, timestamp=1700000002)
    for value in (post["X-Content-SHA256"], post["X-Signature"], get["X-Signature"],
                  reply["X-Content-SHA256"], reply["X-Signature"], code_hash, signing.EMPTY_BODY_SHA256):
        assert f"`{value}`" in description or value in description.replace("\n", ""), value
    assert hash_code(bytes(range(32, 64)), "123456").hex() == code_hash


def test_the_openssl_recipe_in_the_spec_names_the_golden_signature_inputs() -> None:
    description = SPEC["info"]["description"]
    recipe = description[description.index("```sh"):]
    assert "7290af15f21e0ca402ff886795c75f456e6f32bf9c3b14aaef3890b6597f3f91" in recipe
    assert f"hexkey:{bytes(range(32)).hex()}" in recipe


# kiosk.backend.contract ------------------------------------------------------------------------

def test_validate_request_checks_path_query_and_body() -> None:
    contract.validate_request("GET", "/v1/lockers/LK-0001/sync?cursor=c-42&limit=500", None)
    contract.validate_request("GET", "/v1/lockers/LK-0001/commands?wait=0", None)
    contract.validate_request("POST", "/v1/lockers/LK-0001/events", {"events": [GOOD_EVENT]})
    refused: list[tuple[str, str, object, str]] = [
        ("GET", "/v1/lockers/LK-0001/sync?limit=1001", None, "limit"),
        ("GET", "/v1/lockers/LK-0001/sync?limit=ten", None, "not an integer"),
        ("GET", "/v1/lockers/LK-0001/sync?cursor=a&cursor=b", None, "2 times"),
        ("GET", "/v1/lockers/LK-0001/sync?since=1", None, "unknown query parameter"),
        ("GET", "/v1/lockers/LK-0001/commands?wait=61", None, "wait"),
        ("GET", "/v1/lockers/LK_0001/config", None, "locker_id"),
        ("GET", "/v1/lockers/LK-0001/config", {"x": 1}, "takes no body"),
        ("POST", "/v1/lockers/LK-0001/events", None, "body is required"),
        ("POST", "/v1/lockers/LK-0001/events", {"events": [_event(kind="x")]}, "events[0].kind"),
        ("POST", "/v1/lockers/LK-0001/commands/not-a-uuid/result", {}, "command_id"),
        ("DELETE", "/v1/lockers/LK-0001/config", None, "no such operation"),
        ("GET", "/v2/lockers/LK-0001/config", None, "no such operation"),
    ]
    for method, path, body, fragment in refused:
        with pytest.raises(ContractError, match=re.escape(fragment)):
            contract.validate_request(method, path, body)


RESULT_PATH = "/v1/lockers/LK-0001/commands/e0597e3e-bab2-4890-bb0b-3bdbdc2cd7c5/result"


def test_validate_response_checks_status_body_and_headers() -> None:
    signed = signing.sign_reply(bytes(16), "POST", "/v1/lockers/LK-0001/verify", "n" * 22, 404, b"x")
    error = {"code": "not_found", "message": "No parcel matches this code."}
    contract.validate_response("POST", "/v1/lockers/LK-0001/verify", 404, error, signed)
    contract.validate_response("POST", RESULT_PATH, 204, None, signed)
    unknown = {"code": "unknown_locker", "message": "Unknown locker."}
    contract.validate_response("GET", "/v1/lockers/LK-0001/config", 401, unknown, {})
    limited = {"code": "rate_limited", "message": "m"}
    sync = "/v1/lockers/LK-0001/sync"
    contract.validate_response("GET", sync, 429, limited, {**signed, "Retry-After": "30"})
    refused: list[tuple[str, str, int, object, dict[str, str] | None, str]] = [
        ("GET", "/v1/lockers/LK-0001/config", 418, error, None, "status not declared"),
        ("GET", "/v1/lockers/LK-0001/config", 200, None, None, "JSON body is required"),
        ("GET", "/v1/lockers/LK-0001/config", 200, {"locker_id": "LK-0001"}, None, "required property"),
        ("POST", RESULT_PATH, 204, {}, None, "declares no body"),
        ("POST", "/v1/lockers/LK-0001/verify", 404, error, {}, "X-Timestamp is required"),
        ("GET", sync, 429, limited, signed, "Retry-After is required"),
        ("GET", sync, 429, limited, {**signed, "retry-after": "soon"}, "not an integer"),
        ("POST", "/v1/lockers/LK-0001/verify", 404, error, {**signed, "X-Signature": "XYZ"}, "X-Signature"),
        ("POST", "/v1/lockers/LK-0001/verify", 404, {"code": "teapot", "message": "m"}, None, "code"),
    ]
    for method, path, status, body, headers, fragment in refused:
        with pytest.raises(ContractError, match=re.escape(fragment)):
            contract.validate_response(method, path, status, body, headers)


def test_a_405_to_a_method_the_path_lacks_is_checked_against_the_paths_405() -> None:
    config = "/v1/lockers/LK-0001/config"
    at_config = contract.operations_at(config + "?x=1")
    assert [operation.operation_id for operation in at_config] == ["getLockerConfig"]
    assert contract.operations_at("/v1/lockers/LK-0001/parcels") == ()
    signed = signing.sign_reply(bytes(16), "DELETE", config, "n" * 22, 405, b"x")
    refusal = {"code": "invalid_request", "message": "DELETE is not allowed here; use GET"}
    contract.validate_response("DELETE", config, 405, refusal, {**signed, "Allow": "GET"})
    contract.validate_response("POST", config, 405, refusal, {**signed, "Allow": "GET"})
    with pytest.raises(ContractError, match="header Allow is required"):
        contract.validate_response("DELETE", config, 405, refusal, signed)
    with pytest.raises(ContractError, match="header Allow"):
        contract.validate_response("DELETE", config, 405, refusal, {**signed, "Allow": "get it"})
    with pytest.raises(ContractError, match="no such operation"):
        contract.validate_response("DELETE", config, 200, refusal, signed)
    with pytest.raises(ContractError, match="no such operation"):
        contract.validate_response("DELETE", "/v1/lockers/LK-0001/parcels", 405, refusal, signed)


def test_an_unknown_schema_name_is_a_clear_error() -> None:
    with pytest.raises(ContractError, match="no schema named 'Parcel'"):
        contract.validate("Parcel", {})
    assert "EventBatch" in contract.schema_names()


# the compiled acceptor: the quick "surely valid" before jsonschema -------------------------------

def _jsonschema_says_valid(pointer: str, instance: object) -> bool:
    return not any(True for _ in contract._validator(pointer).iter_errors(instance))


REPLACEMENTS: tuple[object, ...] = (
    None, True, False, 0, -1, 1.5, 2.0, 10**12, "", "x", "X" * 600, "2026-03-11T08:14:03Z",
    "2026-13-11T08:14:03Z", "46551468-5433-4418-ad72-18629d447b33", "e0" * 32, "A\nB", "S", "pickup",
    "deposited", "open_door", [], ["PX-1", "PX-1"], [1, 1.0], {}, {"a": 1},
)


def _paths(node: object, path: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            yield from _paths(value, (*path, index))


def _mutants(value: object) -> Iterator[object]:
    """The value with one node replaced, removed, doubled or given an extra property."""
    for path in _paths(value):
        for replacement in (*REPLACEMENTS, "remove", "double", "extra"):
            mutant = copy.deepcopy(value)
            if not path:
                if isinstance(replacement, str) and replacement in ("remove", "double", "extra"):
                    continue
                yield replacement
                continue
            parent: Any = mutant
            for step in path[:-1]:
                parent = parent[step]
            last: Any = path[-1]
            if replacement == "remove":
                del parent[last]
            elif replacement == "double":
                if not isinstance(parent, list):
                    continue
                parent.insert(last, copy.deepcopy(parent[last]))
            elif replacement == "extra":
                if not isinstance(parent[last], dict):
                    continue
                parent[last]["zz_extra"] = 1
            else:
                parent[last] = replacement
            yield mutant


def test_every_example_is_accepted_by_the_compiled_checks_alone() -> None:
    for where, pointer, value in EXAMPLES:
        assert contract._acceptor(pointer)(value) is True, where


def test_the_compiled_checks_never_contradict_jsonschema() -> None:
    """Thousands of near-misses of every example: where the compiled checks answer, jsonschema agrees (it
    is the judge), and they do answer for most of them."""
    chooser = random.Random(20261128)
    answered = compared = 0
    for where, pointer, value in EXAMPLES:
        mutants = list(_mutants(value))
        for mutant in chooser.sample(mutants, min(len(mutants), 80)):
            verdict = contract._acceptor(pointer)(mutant)
            compared += 1
            if verdict is None:
                continue
            answered += 1
            assert verdict is _jsonschema_says_valid(pointer, mutant), f"{where}: {mutant!r}"
    assert compared > 3000 and answered > 0.9 * compared, (answered, compared)


def test_the_compiled_checks_know_jsonschemas_finer_points() -> None:
    integer = "/components/schemas/LockerConfig/properties/config_version"
    number_or_text = "/components/schemas/Event/properties/details/additionalProperties"
    cases: list[tuple[str, object]] = [
        (integer, 3.0), (integer, True), (integer, 3.5), (integer, -1),
        (number_or_text, 1.5), (number_or_text, "x" * 501), (number_or_text, [1]),
        ("/components/schemas/Size", "XL"), ("/components/schemas/Size", "xl"),
        ("/components/schemas/DateTime", "2026-03-11T08:14:03+01:00"),
        ("/components/schemas/DateTime", "2026"),
        ("/components/schemas/DisplayText", "A\tB"), ("/components/schemas/DisplayText", "ok\n"),
    ]
    for pointer, instance in cases:
        verdict = contract._acceptor(pointer)(instance)
        assert verdict is None or verdict is _jsonschema_says_valid(pointer, instance), (pointer, instance)


def _busy_batch() -> dict[str, object]:
    details: dict[str, dict[str, object]] = {
        "deposited": {"courier_id": "DHL-0042", "size": "M", "announced": True},
        "picked_up": {"method": "qr", "credential_id": "cred-1", "journal_id": 812},
        "door_fault": {"reason": "door_did_not_open", "unlock_attempts": 2},
        "problem_report": {"problem": "damaged"},
        "alarm": {"alarm": "outbox_over_threshold", "state": "raised", "depth": 1200},
    }
    kinds = list(details)
    events = []
    for index in range(200):
        kind = kinds[index % 5]
        about_a_door = kind != "alarm"
        events.append(_event(idempotency_key=f"46551468-5433-4418-ad72-{index:012d}", kind=kind,
                             parcel_id=f"PX-{index}" if about_a_door else None,
                             compartment_id="02" if about_a_door else None, details=details[kind]))
    return {"events": events}


def test_a_full_batch_of_every_kind_of_event_is_accepted_without_jsonschema() -> None:
    """The fake platform checks every batch it receives: jsonschema alone took about 40 ms for this one, the
    compiled checks about 3 ms (measured, not asserted: a timing would fail on a busy machine)."""
    body = _busy_batch()
    pointer = "/paths/~1v1~1lockers~1{locker_id}~1events/post/requestBody/content/application~1json/schema"
    assert contract._acceptor(pointer)(body) is True
    contract.validate_request("POST", "/v1/lockers/LK-0001/events", body)
    heartbeat_pointer = "/components/schemas/Heartbeat"
    for _where, pointer_of_example, value in EXAMPLES:
        if pointer_of_example.endswith("/heartbeat/post/requestBody/content/application~1json/schema"):
            assert contract._acceptor(heartbeat_pointer)(value) is True


# the spec drives schemathesis (the fake platform's contract tests depend on it) -----------------

SCHEMATHESIS_SCHEMA = schemathesis.openapi.from_path(str(contract.SPEC_PATH))


@pytest.mark.parametrize("operation", contract.operations(), ids=lambda operation: operation.operation_id)
def test_requests_schemathesis_generates_pass_our_own_request_checks(operation: contract.Operation) -> None:
    api_operation = SCHEMATHESIS_SCHEMA[operation.template][operation.method]
    seen = []

    @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=api_operation.as_strategy())
    def check(case: Any) -> None:
        path = case.formatted_path
        if case.query:
            path += "?" + "&".join(f"{name}={value}" for name, value in case.query.items())
        body = None if case.body is schemathesis.core.NOT_SET else case.body  # type: ignore[attr-defined]
        contract.validate_request(operation.method, path, body)
        seen.append(path)

    check()
    assert seen


def _operation(operation: contract.Operation) -> dict[str, Any]:
    result: dict[str, Any] = contract.resolve_pointer(operation.pointer)
    return result
