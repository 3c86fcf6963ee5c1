"""The HTTP API's answers: a handler's result (:class:`Answer`), the RFC 9457 problem details every error is, and
the response each becomes. Apart from :mod:`digest.web.api` so the handlers' module stays within the house's size."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from starlette.responses import Response

from digest.app.people import PersonProblem, Refused
from digest.models import Refusal
from digest.web.api_doc import JSON, PROBLEM_JSON
from digest.web.api_schema import as_json
from digest.web.api_shapes import Problem

PROBLEM = "urn:digest:problem:"
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any = None  # a shape, a JSON value, or text (``media``)
    media: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)


def problem(status: int, slug: str, title: str, detail: str, errors: list[str] | None = None, **headers: str) -> Answer:
    shape = Problem(type=PROBLEM + slug, title=title, status=status, detail=detail, errors=errors)
    return Answer(status, shape, PROBLEM_JSON, {name.replace("_", "-"): value for name, value in headers.items()})


def not_found(what: str) -> Answer:
    return problem(404, "not-found", "Not found", what)


# A person's request that names what cannot be (a theme no theme has, none at all) is unusable (422); one the list's
# rules refuse (only someone on the list chooses themes) is a conflict with its state (409), as every Refusal is.
_UNUSABLE = frozenset({PersonProblem.UNKNOWN_THEME, PersonProblem.NO_THEME, PersonProblem.UNKNOWN_EDITION})


def refused(refusal: Refused | Refusal | str) -> Answer:
    if isinstance(refusal, Refused) and refusal.problem in _UNUSABLE:
        return problem(422, "invalid", "Unusable request", refusal.detail, [refusal.detail])
    detail = refusal.detail if isinstance(refusal, Refused) else str(refusal)
    return problem(409, "refused", "Refused", detail)


# An absolute path of two parts or more, where a word starts (a URL's path follows its host: never taken for one).
_PATH = re.compile(r"(?<![\w.:/~-])/(?:[^\s/'\"(),;]+/)+([^\s/'\"(),;]*)")


def without_paths(answer: Answer, root: Path, config: Path | None) -> Answer:
    """``answer`` with the server's paths out of a problem's detail: a refusal worded for the operator at the console
    (``Set newsletter.address in /srv/…/digest.toml``, a source ``/srv/…/content/culture: no .md file``) would tell a
    token's holder where the server keeps its files. A path under the project folder is shown from there (its
    operator knows the folder), the config file (``config``) by its name, any other by its last part."""
    if not isinstance(answer.body, Problem):
        return answer
    detail = answer.body.detail
    if config is not None:
        for spelt in {str(config.resolve()), str(config)}:
            detail = detail.replace(spelt, config.name) if spelt.startswith("/") else detail
    detail = detail.replace(str(root.resolve()).rstrip("/") + "/", "")
    detail = _PATH.sub(lambda found: "…/" + found.group(1), detail)
    return replace(answer, body=replace(answer.body, detail=detail))


def respond(answer: Answer) -> Response:
    headers = {**_NO_STORE, **answer.headers}
    if answer.body is None:
        return Response(status_code=answer.status, headers=headers)
    if answer.media in (JSON, PROBLEM_JSON):
        text = json.dumps(as_json(answer.body), ensure_ascii=False)
        return Response(text, status_code=answer.status, media_type=answer.media, headers=headers)
    return Response(str(answer.body), status_code=answer.status, media_type=answer.media, headers=headers)


__all__ = ["PROBLEM", "Answer", "not_found", "problem", "refused", "respond", "without_paths"]
