"""The HTTP API's shapes as JSON Schema, from the typed dataclasses the handlers read and answer with: one source
for the checks of a request body and for the OpenAPI document (:mod:`digest.web.api_doc`).

A small mapping of the types the API uses (str, int, bool, None, lists, string maps, enums, dates, nested
dataclasses), not a framework: pydantic would bring a second way of declaring values beside the frozen dataclasses
every layer shares, for a dozen shapes.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar, Union

from digest.models.errors import BodyError

T = TypeVar("T")
Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def schema_of(kind: Any, defs: dict[str, Schema]) -> Schema:
    """The JSON Schema (2020-12, as OpenAPI 3.1 has it) of a type; dataclasses go to ``defs`` by name and are referenced."""
    origin = typing.get_origin(kind)
    if kind is Any:
        return {}
    if kind is type(None):
        return {"type": "null"}
    if origin in (Union, types.UnionType):
        return {"anyOf": [schema_of(arg, defs) for arg in typing.get_args(kind)]}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(kind))}
    if origin in (list, tuple):
        return {"type": "array", "items": schema_of(typing.get_args(kind)[0], defs)}
    if origin in (dict, Mapping):
        return {"type": "object", "additionalProperties": schema_of(typing.get_args(kind)[1], defs)}
    if isinstance(kind, type) and issubclass(kind, Enum):
        return {"type": "string", "enum": [member.value for member in kind]}
    simple = {bool: {"type": "boolean"}, int: {"type": "integer"}, float: {"type": "number"}, str: {"type": "string"}}
    if kind in simple:
        return dict(simple[kind])
    if kind is datetime:
        return {"type": "string", "format": "date-time"}
    if kind is date:
        return {"type": "string", "format": "date"}
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        name = kind.__name__
        if name not in defs:
            defs[name] = {}  # a placeholder first: a shape that holds itself refers to its own name
            defs[name] = _object_schema(kind, defs)
        return ref(name)
    return {}  # pragma: no cover (a shape of a type this table does not know: the document test finds it)


def _object_schema(kind: type, defs: dict[str, Schema]) -> Schema:
    hints = typing.get_type_hints(kind)
    properties: dict[str, Schema] = {}
    required = []
    for field in dataclasses.fields(kind):
        described = schema_of(hints[field.name], defs)
        if about := field.metadata.get("about"):  # a field's words: field(metadata={"about": …})
            described = {**described, "description": about} if "$ref" not in described else {"allOf": [described], "description": about}
        properties[field.name] = described
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            required.append(field.name)
    schema: Schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if kind.__doc__ and not kind.__doc__.startswith(kind.__name__ + "("):
        schema["description"] = " ".join(kind.__doc__.split())
    if required:
        schema["required"] = required
    return schema


# -- reading a request body into its dataclass -------------------------------------------------------------------


def parse_json(raw: bytes) -> tuple[Any, list[str]]:
    """The JSON value of ``raw`` and a problem for each key an object gives twice (json keeps the last in silence, so a
    proxy or filter that reads the first would check another request than the one served). Raises ValueError when
    ``raw`` is not JSON, and BodyError (one) when it is JSON no request can be read from: nested deeper than the parser
    recurses, or holding a lone surrogate (``"\\ud800"``: JSON text, but no Unicode; it would fail wherever the text is encoded, a 500)."""
    twice: list[str] = []

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen = dict(pairs)
        if len(seen) < len(pairs):
            names = [name for name, _ in pairs]
            twice.extend(f"{name!r} is given more than once" for name in seen if names.count(name) > 1)
        return seen

    try:
        data = json.loads(raw, object_pairs_hook=unique)
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # 16 KB at most (the body's cap): cheap, and every string checked
    except RecursionError as exc:
        raise BodyError("the body is nested too deeply") from exc
    except UnicodeEncodeError as exc:
        raise BodyError("the body holds a lone surrogate (\\ud800-\\udfff alone is no character)") from exc
    return data, twice


def read_body(kind: type[T], data: object) -> tuple[T | None, list[str]]:
    """The body ``data`` (parsed JSON) as ``kind``, or None and every problem found (a field missing, unknown, or
    of the wrong type), each naming its field: the same rules the document states for it."""
    if not isinstance(data, dict):
        return None, ["the body must be a JSON object"]
    hints = typing.get_type_hints(kind)
    fields = {field.name: field for field in dataclasses.fields(kind)}  # type: ignore[arg-type]
    problems = [f"{name!r} is not a field of this request" for name in data if name not in fields]
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                problems.append(f"{name!r} is required")
            continue
        value, problem = _read(hints[name], data[name])
        if problem is not None:
            problems.append(f"{name!r} {problem}")
        else:
            values[name] = value
    if problems:
        return None, problems
    return kind(**values), []


def _read(kind: Any, value: object) -> tuple[Any, str | None]:
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        problems = []
        for arg in typing.get_args(kind):
            found, problem = _read(arg, value)
            if problem is None:
                return found, None
            problems.append(problem)
        return None, " or ".join(problems)
    if kind is type(None):
        return (None, None) if value is None else (None, "must be null")
    if origin in (list, tuple):
        if not isinstance(value, list):
            return None, "must be a list"
        items = [_read(typing.get_args(kind)[0], item) for item in value]
        wrong = next((problem for _, problem in items if problem is not None), None)
        return (None, f"has an item that {wrong}") if wrong else ([item for item, _ in items], None)
    if isinstance(kind, type) and issubclass(kind, Enum):
        allowed = [member.value for member in kind]
        return (kind(value), None) if value in allowed else (None, f"must be one of {', '.join(map(str, allowed))}")
    if kind is bool:
        return (value, None) if isinstance(value, bool) else (None, "must be true or false")
    if kind is int:
        return (value, None) if isinstance(value, int) and not isinstance(value, bool) else (None, "must be a whole number")
    if kind is str:
        return (value, None) if isinstance(value, str) else (None, "must be a string")
    return value, None  # pragma: no cover (Any)


def as_json(value: Any) -> Any:
    """A response dataclass (or list, enum, date) as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: as_json(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): as_json(item) for key, item in value.items()}
    return value
