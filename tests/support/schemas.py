"""Values drawn from the JSON Schemas of the API's OpenAPI document, as hypothesis strategies: the handful of
keywords the document uses (type, enum, anyOf, items, properties, required, additionalProperties, minimum, maximum,
format, $ref into its components). hypothesis-jsonschema does this in general but no longer runs with the
hypothesis of this venv; the document's schemas are few and small, so a page of code draws them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

TEXT = st.text(max_size=24) | st.sampled_from(["", "harbour", "ada@example.org", "r00001@example.org", "2025-03-02-0e7ceb", "0", "-1"])
FORMATS = {
    "date": st.dates().map(str),
    "date-time": st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
}


def values(schema: dict[str, Any], components: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Values valid for ``schema`` (and, past a small depth, the simplest valid ones)."""
    if "$ref" in schema:
        return values(components["schemas"][schema["$ref"].rsplit("/", 1)[1]], components, depth)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([values(option, components, depth) for option in schema["anyOf"]])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum")) | st.sampled_from(
            [value for value in (schema.get("minimum", 0), 1, 2, 3) if schema.get("maximum") is None or value <= schema["maximum"]]
        )
    if kind == "string":
        return FORMATS.get(schema.get("format", ""), TEXT)
    if kind == "array":
        return st.lists(values(schema.get("items", {}), components, depth + 1), max_size=3 if depth < 3 else 0)
    if kind == "object":
        return _object(schema, components, depth)
    return st.none() | st.booleans() | st.integers() | TEXT


def _object(schema: dict[str, Any], components: dict[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    fixed = {name: values(properties[name], components, depth + 1) for name in required}
    optional = {name: values(sub, components, depth + 1) for name, sub in properties.items() if name not in required}
    extra = schema.get("additionalProperties", True)
    drawn = st.fixed_dictionaries(fixed, optional=optional)
    if isinstance(extra, dict) and not properties:
        return st.dictionaries(TEXT, values(extra, components, depth + 1), max_size=3)
    return drawn
