"""The API contract (openapi.yaml) as something tests can check bodies against.

    validate("EventBatch", body)                              a named schema of components/schemas
    validate_request("POST", "/v1/lockers/LK-1/events", body)  the operation's path, query and body
    validate_response("GET", "/v1/lockers/LK-1/sync?cursor=c", 200, body, headers)

Bodies are parsed JSON (dicts, lists, ...); `None` stands for no body. Every failure raises ContractError
with one line naming where in the body and what is wrong. Formats (date-time, uuid) are checked.

For tests and the fake platform only: it needs `jsonschema`, a development dependency (it comes with
schemathesis), so the kiosk itself never imports this module.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
_SPEC_URI = "urn:locker-kiosk:openapi"
_JSON = "application/json"
_METHODS = ("get", "put", "post", "delete", "patch")


class ContractError(ValueError):
    """A body, parameter or header does not match the contract. `str()` is one line."""


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    template: str  # "/v1/lockers/{locker_id}/sync"
    operation_id: str
    pointer: str  # JSON pointer of the operation object within the spec


@functools.cache
def load_spec() -> dict[str, Any]:
    """The parsed openapi.yaml (cached: do not modify it)."""
    with SPEC_PATH.open(encoding="utf-8") as file:
        spec = yaml.safe_load(file)
    if not isinstance(spec, dict):
        raise ContractError(f"{SPEC_PATH}: not a YAML mapping")
    return spec


def schema_names() -> tuple[str, ...]:
    return tuple(load_spec()["components"]["schemas"])


def operations() -> tuple[Operation, ...]:
    found = []
    for template, item in load_spec()["paths"].items():
        for method in _METHODS:
            if method in item:
                pointer = f"/paths/{pointer_token(template)}/{method}"
                found.append(Operation(method.upper(), template, item[method]["operationId"], pointer))
    return tuple(found)


def operation_for(method: str, path: str) -> Operation:
    """The operation a concrete request targets (`path` may carry a query string)."""
    bare = urllib.parse.urlsplit(path).path
    for operation in operations():
        if operation.method == method.upper() and _template_regex(operation.template).fullmatch(bare):
            return operation
    raise ContractError(f"{method.upper()} {bare}: no such operation in the contract")


def validate(schema_name: str, instance: object) -> None:
    """Check `instance` against components/schemas/<schema_name>."""
    if schema_name not in load_spec()["components"]["schemas"]:
        raise ContractError(f"no schema named {schema_name!r} in the contract")
    validate_at(f"/components/schemas/{schema_name}", instance, label=schema_name)


def validate_at(pointer: str, instance: object, *, label: str | None = None) -> None:
    """Check `instance` against the schema found at a JSON pointer within the spec."""
    errors = sorted(_validator(pointer).iter_errors(instance), key=lambda error: list(error.absolute_path))
    if errors:
        first = errors[0]
        where = _json_path(first.absolute_path)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ContractError(f"{label or pointer}: {where}: {_one_line(first.message)}{more}")


def validate_request(method: str, path: str, body: object | None) -> None:
    """Check a request the locker sends: path parameters, query parameters and JSON body."""
    operation = operation_for(method, path)
    spec_operation = resolve_pointer(operation.pointer)
    split = urllib.parse.urlsplit(path)
    label = f"{operation.method} {operation.template}"
    parameters = _parameters(operation)
    path_values = _template_regex(operation.template).fullmatch(split.path)
    assert path_values is not None  # operation_for matched it
    for name, value in path_values.groupdict().items():
        _check_parameter(parameters[("path", name)], urllib.parse.unquote(value), label)
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    for name, values in query.items():
        if ("query", name) not in parameters:
            raise ContractError(f"{label}: unknown query parameter {name!r}")
        if len(values) != 1:
            raise ContractError(f"{label}: query parameter {name!r} given {len(values)} times")
        _check_parameter(parameters[("query", name)], values[0], label)
    for (place, name), (_pointer, parameter) in parameters.items():
        if place == "query" and parameter.get("required") and name not in query:
            raise ContractError(f"{label}: query parameter {name!r} is required")
    request_body = spec_operation.get("requestBody")
    if request_body is None:
        if body is not None:
            raise ContractError(f"{label}: takes no body")
        return
    request_body, body_pointer = follow_reference(request_body, f"{operation.pointer}/requestBody")
    if body is None:
        if request_body.get("required"):
            raise ContractError(f"{label}: a body is required")
        return
    validate_at(f"{body_pointer}/content/{pointer_token(_JSON)}/schema", body, label=f"{label} body")


def validate_response(
    method: str,
    path: str,
    status: int,
    body: object | None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Check a reply of the platform: its status is declared, its JSON body (None for none) matches, and,
    when `headers` are given, every required header is present and well formed."""
    operation = operation_for(method, path)
    responses = resolve_pointer(operation.pointer)["responses"]
    label = f"{operation.method} {operation.template} {status}"
    key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None)
    if key is None:
        raise ContractError(f"{label}: status not declared in the contract")
    response, response_pointer = follow_reference(responses[key], f"{operation.pointer}/responses/{key}")
    content = response.get("content", {})
    if _JSON not in content:
        if body is not None:
            raise ContractError(f"{label}: the contract declares no body")
    elif body is None:
        raise ContractError(f"{label}: a JSON body is required")
    else:
        validate_at(f"{response_pointer}/content/{pointer_token(_JSON)}/schema", body, label=f"{label} body")
    if headers is None:
        return
    lowered: dict[str, str] = {name.lower(): value for name, value in headers.items()}
    for name, declared in response.get("headers", {}).items():
        header_pointer = f"{response_pointer}/headers/{pointer_token(name)}"
        header, header_pointer = follow_reference(declared, header_pointer)
        value = lowered.get(name.lower())
        if value is None:
            if header.get("required"):
                raise ContractError(f"{label}: header {name} is required")
            continue
        _check_value(f"{header_pointer}/schema", header["schema"], value, f"{label} header {name}")


def iter_examples() -> Iterator[tuple[str, str, object]]:
    """Every example written in the spec: (where, schema pointer, value). Media-type `examples` (following
    $ref into components/examples), parameter `example`s and schema `examples`."""
    spec = load_spec()
    for operation in operations():
        spec_operation = resolve_pointer(operation.pointer)
        media: list[tuple[dict[str, Any], str]] = []
        if "requestBody" in spec_operation:
            media.append(follow_reference(spec_operation["requestBody"], f"{operation.pointer}/requestBody"))
        for status, declared in spec_operation["responses"].items():
            media.append(follow_reference(declared, f"{operation.pointer}/responses/{status}"))
        for holder, holder_pointer in media:
            media_type = holder.get("content", {}).get(_JSON)
            if media_type is None:
                continue
            schema_pointer = f"{holder_pointer}/content/{pointer_token(_JSON)}/schema"
            for name, example in media_type.get("examples", {}).items():
                resolved, _ = follow_reference(example, "")
                where = f"{operation.operation_id} {holder_pointer} example {name}"
                yield where, schema_pointer, resolved["value"]
        for (_place, name), (pointer, parameter) in _parameters(operation).items():
            if "example" in parameter:
                yield f"{operation.operation_id} parameter {name}", f"{pointer}/schema", parameter["example"]
    for name, schema in spec["components"]["schemas"].items():
        for index, example in enumerate(schema.get("examples", [])):
            yield f"schema {name} examples[{index}]", f"/components/schemas/{name}", example


def pointer_token(token: str) -> str:
    """One JSON-pointer token: "~" and "/" escaped."""
    return token.replace("~", "~0").replace("/", "~1")


def resolve_pointer(pointer: str) -> Any:
    """The node of the spec at a JSON pointer ("/components/schemas/Event")."""
    node: Any = load_spec()
    for token in pointer.split("/")[1:]:
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def follow_reference(node: Any, pointer: str) -> tuple[Any, str]:
    """An OpenAPI object and its pointer, following a local `$ref` (responses, examples, parameters)."""
    while isinstance(node, dict) and "$ref" in node:
        reference = node["$ref"]
        if not reference.startswith("#/"):
            raise ContractError(f"{pointer}: only local references are supported, not {reference!r}")
        pointer = reference[1:]
        node = resolve_pointer(pointer)
    return node, pointer


# internals ---------------------------------------------------------------------------------------

@functools.cache
def _registry() -> Registry[Any]:
    resource = Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    return Registry().with_resource(_SPEC_URI, resource)


@functools.cache
def _validator(pointer: str) -> Any:
    fragment = urllib.parse.quote(pointer, safe="/~")
    return Draft202012Validator(
        {"$ref": f"{_SPEC_URI}#{fragment}"}, registry=_registry(), format_checker=FormatChecker()
    )


@functools.cache
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{([a-z_]+)\}", template)
    pattern = "".join(
        re.escape(part) if index % 2 == 0 else f"(?P<{part}>[^/]+)" for index, part in enumerate(parts)
    )
    return re.compile(pattern)


def _parameters(operation: Operation) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(in, name) -> (pointer, parameter object), path-item parameters overridden by the operation's."""
    found: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    path_item_pointer = f"/paths/{pointer_token(operation.template)}"
    for owner_pointer in (path_item_pointer, operation.pointer):
        for index, declared in enumerate(resolve_pointer(owner_pointer).get("parameters", [])):
            parameter, pointer = follow_reference(declared, f"{owner_pointer}/parameters/{index}")
            found[(parameter["in"], parameter["name"])] = (pointer, parameter)
    return found


def _check_parameter(entry: tuple[str, dict[str, Any]], raw: str, label: str) -> None:
    pointer, parameter = entry
    where = f"{label} {parameter['in']} {parameter['name']}"
    _check_value(f"{pointer}/schema", parameter["schema"], raw, where)


def _check_value(schema_pointer: str, schema: Mapping[str, Any], raw: str, label: str) -> None:
    """A header or parameter arrives as text; integers are parsed before the schema is applied."""
    resolved, _ = follow_reference(schema, schema_pointer)
    value: object = raw
    if resolved.get("type") == "integer":
        if not re.fullmatch(r"-?[0-9]{1,18}", raw):
            raise ContractError(f"{label}: {raw[:40]!r} is not an integer")
        value = int(raw)
    validate_at(schema_pointer, value, label=label)


def _json_path(path: Any) -> str:
    text = "$"
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _one_line(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= 300 else line[:297] + "..."
