"""The API's OpenAPI document: it validates (openapi-spec-validator), it is what the server serves, and every
operation in it answers a schema-driven fuzzer (hypothesis, drawing from the document's own schemas:
tests/support/schemas.py) without a 500, each answer in the shape the document gives it, as JSON Schema validates it.
A handful of examples per operation, derandomised: the same few seconds every run."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from digest.models import ApiScope
from digest.web.api_doc import OPERATIONS, openapi_document

from support.api import Served, call
from support.project import fill, make_config
from support.schemas import values

EXAMPLES = 6  # per operation: enough to reach each refusal and a success or two, few enough for a fast suite
DOCUMENT = openapi_document()
ROUTES = [(path, method) for path, methods in DOCUMENT["paths"].items() for method in methods]
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    where = tmp_path_factory.mktemp("fuzz")
    config = make_config(where, None)
    fill(config, 3).close()
    running = Served(config, api_rate=(100_000, 60.0))
    yield running, running.token("everything", *(scope.value for scope in ApiScope))
    running.stop()
    shutil.rmtree(where, ignore_errors=True)


def with_components(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema of the document with its components beside it, so its ``#/components/…`` references resolve."""
    return {**schema, "components": DOCUMENT["components"]}


def test_the_document_validates_and_is_what_the_server_serves(fuzzed: tuple[Served, str]) -> None:
    served, token = fuzzed
    validate(DOCUMENT)  # raises, saying where, for a document that is not OpenAPI 3.1
    status, headers, served_document = call(served.base, "GET", "/api/v1/openapi.json", token)
    assert status == 200 and headers["content-type"] == "application/json" and served_document == json.loads(json.dumps(DOCUMENT))
    assert len(ROUTES) == len(OPERATIONS) and {op.id for op in OPERATIONS} == {
        DOCUMENT["paths"][path][method]["operationId"] for path, method in ROUTES
    }
    assert call(served.base, "GET", "/api/v1/openapi.json")[0] == 401  # any valid token: but a token


@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{method.upper()} {path}" for path, method in ROUTES])
def test_every_operation_answers_the_fuzzer_without_a_500_in_its_documented_shape(
    fuzzed: tuple[Served, str], path: str, method: str
) -> None:
    served, token = fuzzed
    operation = DOCUMENT["paths"][path][method]
    parameters = operation.get("parameters", [])
    body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def exercise(data: st.DataObject) -> None:
        url = path
        query = {}
        for parameter in parameters:
            value = data.draw(values(parameter["schema"], DOCUMENT["components"]), label=parameter["name"])
            if parameter["in"] == "path":
                url = url.replace("{" + parameter["name"] + "}", urllib.parse.quote(str(value), safe=""))
            elif data.draw(st.booleans(), label=f"send {parameter['name']}"):
                query[parameter["name"]] = str(value).lower() if isinstance(value, bool) else str(value)
        if query:
            url += "?" + urllib.parse.urlencode(query)
        body = None
        if body_schema is not None:
            body = data.draw(values(body_schema, DOCUMENT["components"]) | ANY_JSON, label="body")
        status, headers, answer = call(served.base, method.upper(), url, token, body if body_schema is not None else None)
        assert status < 500, (method, url, body, answer)
        documented = operation["responses"].get(str(status))
        assert documented is not None, (method, url, status, answer)
        media = headers.get("content-type", "").split(";")[0]
        if "content" in documented:
            assert media in documented["content"], (method, url, status, media)
            if media.endswith("json"):
                jsonschema.validate(answer, with_components(documented["content"][media]["schema"]), cls=jsonschema.Draft202012Validator)

    exercise()
