"""The API contract (openapi.yaml) as something tests can check bodies against.

    validate("EventBatch", body)                              a named schema of components/schemas
    validate_request("POST", "/v1/lockers/LK-1/events", body)  the operation's path, query and body
    validate_response("GET", "/v1/lockers/LK-1/sync?cursor=c", 200, body, headers)

Bodies are parsed JSON (dicts, lists, ...); `None` stands for no body. Every failure raises ContractError
with one line naming where in the body and what is wrong. Formats (date-time, uuid) are checked.

jsonschema alone takes about 40 ms for a batch of 200 events (it re-resolves every $ref and re-creates a
validator for every keyword of every event), long enough to stall the event loop of a test that runs the
fake platform in-process. So each schema is also compiled once into plain Python checks (`_Acceptor`) that
answer "surely valid" for nearly every real body in a few milliseconds; only when they cannot say so does
jsonschema run, and it alone decides what is refused and words the error.

For tests and the fake platform only: it needs `jsonschema`, a development dependency (it comes with
schemathesis), so the kiosk itself never imports this module.
"""

from __future__ import annotations

import functools
import numbers
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
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


def operations_at(path: str) -> tuple[Operation, ...]:
    """Every operation of the path a concrete request targets, whatever its method (`path` may carry a
    query string); empty when no path of the contract matches."""
    bare = urllib.parse.urlsplit(path).path
    return tuple(
        operation for operation in operations() if _template_regex(operation.template).fullmatch(bare)
    )


def validate(schema_name: str, instance: object) -> None:
    """Check `instance` against components/schemas/<schema_name>."""
    if schema_name not in load_spec()["components"]["schemas"]:
        raise ContractError(f"no schema named {schema_name!r} in the contract")
    validate_at(f"/components/schemas/{schema_name}", instance, label=schema_name)


def validate_at(pointer: str, instance: object, *, label: str | None = None) -> None:
    """Check `instance` against the schema found at a JSON pointer within the spec."""
    if _acceptor(pointer)(instance) is True:
        return
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
    when `headers` are given, every required header is present and well formed. A 405 to a method that the
    path does not have is checked against the 405 the path's operations declare."""
    operation = _operation_for_reply(method, path, status)
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
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
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

def _operation_for_reply(method: str, path: str, status: int) -> Operation:
    at_path = operations_at(path)
    if status == 405 and at_path and all(operation.method != method.upper() for operation in at_path):
        return at_path[0]
    return operation_for(method, path)


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


# the compiled acceptor ---------------------------------------------------------------------------

# Three answers: True (surely valid), False (surely not) or None (cannot tell). validate_at trusts only True;
# anything else goes to jsonschema. An answer must be exact, never a guess: `if`, `oneOf` and `not` act on
# what a subschema answers, so a wrong False there would turn into a wrong True above it.
_Acceptor = Callable[[object], "bool | None"]

# Keywords that never refuse anything (annotations, and OpenAPI's own discriminator, which jsonschema
# ignores). Any keyword not known here or below makes its schema answer None: jsonschema decides.
_ANNOTATIONS = frozenset({"description", "default", "examples", "example", "title", "discriminator",
                          "deprecated", "readOnly", "writeOnly", "$comment"})
_FORMAT_CHECKER = FormatChecker()


@functools.cache
def _acceptor(pointer: str) -> _Acceptor:
    return _AcceptorCompiler().reference("#" + pointer)


def _unknown(_instance: object) -> bool | None:
    return None


def _always(_instance: object) -> bool | None:
    return True


class _AcceptorCompiler:
    def __init__(self) -> None:
        self._compiled: dict[str, _Acceptor] = {}

    def reference(self, reference: str) -> _Acceptor:
        if not reference.startswith("#/") and reference != "#":
            return _unknown
        pointer = reference[1:]
        found = self._compiled.get(pointer)
        if found is None:
            # A schema that refers to itself reaches this cell while it is being compiled.
            cell: list[_Acceptor] = []
            self._compiled[pointer] = lambda instance: cell[0](instance)
            compiled = self.compile(resolve_pointer(pointer))
            cell.append(compiled)
            self._compiled[pointer] = found = compiled
        return found

    def compile(self, schema: object) -> _Acceptor:
        if schema is True:
            return _always
        if schema is False:
            return lambda _instance: False
        if not isinstance(schema, dict):
            return _unknown
        checks: list[_Acceptor] = []
        handled = set(_ANNOTATIONS)
        for group in (self._reference, self._type, self._choices, self._string, self._number, self._array,
                      self._object, self._combinators):
            check, keywords = group(schema)
            handled |= keywords
            if check is not None:
                checks.append(check)
        if set(schema) - handled:
            return _unknown
        return _all_of(checks)

    def _reference(self, schema: dict[str, Any]) -> tuple[_Acceptor | None, set[str]]:
        if "$ref" not in schema:
            return None, set()
        return self.reference(schema["$ref"]), {"$ref"}

    @staticmethod
    def _type(schema: dict[str, Any]) -> tuple[_Acceptor | None, set[str]]:
        if "type" not in schema:
            return None, set()
        declared = schema["type"]
        names = declared if isinstance(declared, list) else [declared]
        tests = [_TYPE_TESTS.get(name) for name in names]
        if any(test is None for test in tests):
            return _unknown, {"type"}
        known = [test for test in tests if test is not None]

        def check(instance: object) -> bool | None:
            return any(test(instance) for test in known)

        return check, {"type"}

    @staticmethod
    def _choices(schema: dict[str, Any]) -> tuple[_Acceptor | None, set[str]]:
        keywords = {"enum", "const"} & set(schema)
        if not keywords:
            return None, set()
        checks: list[_Acceptor] = []
        for keyword in keywords:
            values = schema[keyword] if keyword == "enum" else [schema[keyword]]
            if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
                # Only text is compared here: 1, 1.0 and True are jsonschema's to tell apart.
                return _unknown, keywords
            checks.append(_one_of_texts(frozenset(values)))
        return _all_of(checks), keywords

    @staticmethod
    def _string(schema: dict[str, Any]) -> tuple[_Acceptor | None, set[str]]:
        keywords = {"pattern", "minLength", "maxLength", "format"} & set(schema)
        if not keywords:
            return None, set()
        search = re.compile(schema["pattern"]).search if "pattern" in schema else None
        shortest = schema.get("minLength", 0)
        longest = schema.get("maxLength")
        form = schema.get("format")

        def check(instance: object) -> bool | None:
            if form is not None and not _FORMAT_CHECKER.conforms(instance, form):
                return False
            if not isinstance(instance, str):
                return True
            if len(instance) < shortest or (longest is not None and len(instance) > longest):
                return False
            return search is None or search(instance) is not None

        return check, keywords

    @staticmethod
    def _number(schema: dict[str, Any]) -> tuple[_Acceptor | None, set[str]]:
        keywords = {"minimum", "maximum"} & set(schema)
        if not keywords:
            return None, set()
        lowest, highest = schema.get("minimum"), schema.get("maximum")

        def check(instance: object) -> bool | None:
            if not _is_number(instance):
                return True
            assert isinstance(instance, int | float)
            too_low = lowest is not None and instance < lowest
            return not (too_low or (highest is not None and instance > highest))

        return check, keywords

    def _array(self, schema: dict[str, Any]) -> tuple[_Acceptor | None, set[str]]:
        keywords = {"items", "minItems", "maxItems", "uniqueItems"} & set(schema)
        if not keywords:
            return None, set()
        item = self.compile(schema["items"]) if "items" in schema else None
        fewest = schema.get("minItems", 0)
        most = schema.get("maxItems")
        unique = schema.get("uniqueItems") is True

        def check(instance: object) -> bool | None:
            if not isinstance(instance, list):
                return True
            if len(instance) < fewest or (most is not None and len(instance) > most):
                return False
            answer: bool | None = True
            if unique and len(instance) > 1:
                if all(isinstance(value, str) for value in instance):
                    if len(set(instance)) != len(instance):
                        return False
                else:
                    answer = None  # equality of numbers, booleans and containers: jsonschema's rules
            if item is not None:
                for value in instance:
                    verdict = item(value)
                    if verdict is False:
                        return False
                    if verdict is None:
                        answer = None
            return answer

        return check, keywords

    def _object(self, schema: dict[str, Any]) -> tuple[_Acceptor | None, set[str]]:
        keywords = {"properties", "required", "additionalProperties", "propertyNames", "maxProperties",
                    "minProperties"} & set(schema)
        if not keywords:
            return None, set()
        properties = {name: self.compile(sub) for name, sub in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        additional = (self.compile(schema["additionalProperties"]) if "additionalProperties" in schema
                      else None)
        names = self.compile(schema["propertyNames"]) if "propertyNames" in schema else None
        fewest = schema.get("minProperties", 0)
        most = schema.get("maxProperties")

        def check(instance: object) -> bool | None:
            if not isinstance(instance, dict):
                return True
            if len(instance) < fewest or (most is not None and len(instance) > most):
                return False
            for name in required:
                if name not in instance:
                    return False
            answer: bool | None = True
            for name, value in instance.items():
                if names is not None:
                    verdict = names(name)
                    if verdict is not True:
                        if verdict is False:
                            return False
                        answer = None
                sub = properties.get(name, additional)
                if sub is None:
                    continue
                verdict = sub(value)
                if verdict is not True:
                    if verdict is False:
                        return False
                    answer = None
            return answer

        return check, keywords

    def _combinators(self, schema: dict[str, Any]) -> tuple[_Acceptor | None, set[str]]:
        keywords = {"allOf", "anyOf", "oneOf", "if", "then", "else", "not"} & set(schema)
        if not keywords:
            return None, set()
        checks: list[_Acceptor] = []
        if "allOf" in schema:
            checks.append(_all_of([self.compile(sub) for sub in schema["allOf"]]))
        if "anyOf" in schema:
            checks.append(_any_of([self.compile(sub) for sub in schema["anyOf"]]))
        if "oneOf" in schema:
            checks.append(_one_of([self.compile(sub) for sub in schema["oneOf"]]))
        if "not" in schema:
            checks.append(_negation(self.compile(schema["not"])))
        if "if" in schema:
            then = self.compile(schema["then"]) if "then" in schema else _always
            otherwise = self.compile(schema["else"]) if "else" in schema else _always
            checks.append(_conditional(self.compile(schema["if"]), then, otherwise))
        return _all_of(checks), keywords


def _all_of(checks: list[_Acceptor]) -> _Acceptor:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def check(instance: object) -> bool | None:
        answer: bool | None = True
        for one in checks:
            verdict = one(instance)
            if verdict is not True:
                if verdict is False:
                    return False
                answer = None
        return answer

    return check


def _any_of(checks: list[_Acceptor]) -> _Acceptor:
    def check(instance: object) -> bool | None:
        answer: bool | None = False
        for one in checks:
            verdict = one(instance)
            if verdict is True:
                return True
            if verdict is None:
                answer = None
        return answer

    return check


def _one_of(checks: list[_Acceptor]) -> _Acceptor:
    def check(instance: object) -> bool | None:
        verdicts = [one(instance) for one in checks]
        valid = verdicts.count(True)
        if valid > 1:
            return False
        if None in verdicts:
            return None
        return valid == 1

    return check


def _negation(inner: _Acceptor) -> _Acceptor:
    def check(instance: object) -> bool | None:
        verdict = inner(instance)
        return None if verdict is None else not verdict

    return check


def _conditional(condition: _Acceptor, then: _Acceptor, otherwise: _Acceptor) -> _Acceptor:
    def check(instance: object) -> bool | None:
        verdict = condition(instance)
        if verdict is None:
            return None
        return then(instance) if verdict else otherwise(instance)

    return check


def _one_of_texts(allowed: frozenset[str]) -> _Acceptor:
    def check(instance: object) -> bool | None:
        return isinstance(instance, str) and instance in allowed

    return check


def _is_number(instance: object) -> bool:
    return isinstance(instance, numbers.Number) and not isinstance(instance, bool)


# As jsonschema's Draft 2020-12 type checker has them.
_TYPE_TESTS: dict[str, Callable[[object], bool]] = {
    "string": lambda instance: isinstance(instance, str),
    "object": lambda instance: isinstance(instance, dict),
    "array": lambda instance: isinstance(instance, list),
    "boolean": lambda instance: isinstance(instance, bool),
    "null": lambda instance: instance is None,
    "number": _is_number,
    "integer": lambda instance: (isinstance(instance, int) and not isinstance(instance, bool))
    or (isinstance(instance, float) and instance.is_integer()),
}
