"""The HTTP API's operations, each named once with its path, scope, request and answer; the OpenAPI 3.1 document is
made from this table and the shapes it names (:mod:`digest.web.api_shapes`), and the app mounts its handlers from it
(:mod:`digest.web.api`). The document is the same whatever the configuration: it needs no settings to be made."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from types import MappingProxyType
from typing import Any

from digest import __version__
from digest.models import API_SCOPE_WORDS, ApiScope, SubscriberStatus, routes
from digest.models.routes import ApiPath
from digest.web.api_schema import Schema, schema_of
from digest.web.api_shapes import (
    AddedSubscriber,
    Approved,
    Decided,
    Forgotten,
    IssueList,
    IssueOut,
    NewsletterList,
    NewSubscriber,
    Problem,
    ReviewDecision,
    SendOrder,
    SendPlanOut,
    SendProgressOut,
    SignUpTaken,
    SubscriberChange,
    SubscriberOut,
    SubscriberPage,
    WaitingList,
)

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
MOST_PER_PAGE = 200
MOST_REPORTED = 520


@dataclass(frozen=True, slots=True)
class Query:
    """A query parameter: its name, type, words, and bounds for a number."""

    name: str
    kind: Any
    about: str
    low: int | None = None
    high: int | None = None
    default: int | None = None


# The path parameters by name, wherever they appear: their type and words.
PATH_PARAMETERS: Mapping[str, tuple[type, str]] = MappingProxyType(
    {
        "subscriber_id": (int, "the subscriber's id"),
        "issue_id": (str, "the issue's id (digest status lists them)"),
        "report_id": (int, "the waiting report's id"),
    }
)


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the API: ``handler`` names the method of :class:`digest.web.api.Handlers` that answers it."""

    id: str
    method: str
    path: ApiPath
    scope: ApiScope | None  # None: any valid token
    summary: str
    handler: str
    request: type | None = None
    answer: Any = None  # a shape; None: no body (204)
    status: int = 200
    media: str = JSON
    query: tuple[Query, ...] = ()
    problems: tuple[int, ...] = ()  # beyond those every operation may answer (401, 403, 404 API off, 429)
    also: Mapping[int, str] = field(default_factory=dict)  # other successful answers: status → words
    also_shapes: Mapping[int, Any] = field(default_factory=dict)  # an other answer's own shape, when not ``answer``
    or_scope: ApiScope | None = None  # a narrower scope that also allows it (the handler answers that token its own way)
    # Whether it is about one newsletter: "one" (named by the query's or the body's newsletter, needed when the install
    # has several: a 400 listing them), "may" (a person's: it may name one), "" (the install's: it names none).
    newsletter: str = ""


_LIMIT = Query("limit", int, "how many per page", low=1, high=MOST_PER_PAGE, default=50)
NEWSLETTER = Query("newsletter", str, "the newsletter's slug (GET /newsletters lists them); needed when the install has several")
_PERSON = Query(
    "newsletter",
    str,
    "a newsletter's slug, never needed (a person is the install's): a read shows that subscription's status; a read or a "
    "forget is a 404 when they have none there",
)

_OPERATIONS: tuple[Operation, ...] = (
    Operation("getOpenApi", "GET", routes.API_OPENAPI, None, "This document (any valid token)", "openapi", answer=dict[str, Any]),
    Operation(
        "listNewsletters",
        "GET",
        routes.API_NEWSLETTERS,
        None,
        "The install's newsletters: what a request's newsletter names (any valid token; counts with subscribers:read or reports:read)",
        "list_newsletters",
        answer=NewsletterList,
    ),
    Operation(
        "createSubscriber",
        "POST",
        routes.API_SUBSCRIBERS,
        ApiScope.SUBSCRIBERS_WRITE,
        "Add a subscriber, confirmed on your word or by double opt-in",
        "create_subscriber",
        request=NewSubscriber,
        answer=AddedSubscriber,
        status=201,
        problems=(409, 422),
        also={
            200: "on the list already, or a sign-up awaiting confirmation: nothing new made",
            202: "for a token with subscribers:create and not subscribers:write: the sign-up is taken, the same answer "
            "whether the address was on the list or not (a confirmation mail when it is new or unconfirmed); "
            '"confirmed": true is a 403 for such a token',
        },
        also_shapes={202: SignUpTaken},
        or_scope=ApiScope.SUBSCRIBERS_CREATE,
    ),
    Operation(
        "listSubscribers",
        "GET",
        routes.API_SUBSCRIBERS,
        ApiScope.SUBSCRIBERS_READ,
        "The list, a page at a time, in id order",
        "list_subscribers",
        answer=SubscriberPage,
        query=(
            Query("status", SubscriberStatus, "only subscribers with this status"),
            Query("theme", str, "only those whose own choice holds this theme key"),
            Query("changed_since", datetime, "only those whose status, name or choices changed at or after this moment"),
            Query("after", str, "the cursor: a page's next"),
            _LIMIT,
        ),
        problems=(422,),
    ),
    Operation(
        "getSubscriber", "GET", routes.API_SUBSCRIBER, ApiScope.SUBSCRIBERS_READ, "One subscriber", "get_subscriber", answer=SubscriberOut
    ),
    Operation(
        "updateSubscriber",
        "PATCH",
        routes.API_SUBSCRIBER,
        ApiScope.SUBSCRIBERS_WRITE,
        "Change a subscriber's name or themes",
        "update_subscriber",
        request=SubscriberChange,
        answer=SubscriberOut,
        problems=(409, 422),
    ),
    Operation(
        "forgetSubscriber",
        "DELETE",
        routes.API_SUBSCRIBER,
        ApiScope.SUBSCRIBERS_WRITE,
        "Forget a person: every subscription of theirs and its history erased, a keyed hash kept so no import adds them back",
        "forget_subscriber",
        answer=Forgotten,
    ),
    Operation(
        "unsubscribeSubscriber",
        "POST",
        routes.API_UNSUBSCRIBE,
        ApiScope.SUBSCRIBERS_WRITE,
        "Unsubscribe a subscriber (idempotent)",
        "unsubscribe_subscriber",
        answer=SubscriberOut,
    ),
    Operation(
        "listIssues", "GET", routes.API_ISSUES, ApiScope.ISSUES_READ, "The stored issues, newest first", "list_issues", answer=IssueList
    ),
    Operation("getIssue", "GET", routes.API_ISSUE, ApiScope.ISSUES_READ, "One issue, with its counts", "get_issue", answer=IssueOut),
    Operation(
        "getIssueHtml", "GET", routes.API_ISSUE_HTML, ApiScope.ISSUES_READ, "The frozen HTML", "issue_html", answer=str, media="text/html"
    ),
    Operation(
        "getIssueText", "GET", routes.API_ISSUE_TEXT, ApiScope.ISSUES_READ, "The frozen text", "issue_text", answer=str, media="text/plain"
    ),
    Operation(
        "approveIssue",
        "POST",
        routes.API_APPROVE,
        ApiScope.ISSUES_WRITE,
        'Approve an issue as it builds now (schedule.approval = "required")',
        "approve_issue",
        answer=Approved,
        problems=(409,),
    ),
    Operation(
        "getReport",
        "GET",
        routes.API_REPORT,
        ApiScope.REPORTS_READ,
        "The report: the same figures as `digest report --format json`",
        "get_report",
        answer=dict[str, Any],
        query=(
            Query("issue", str, "the issue reported on (default: the latest sent)"),
            Query("last", int, "how many issues the trends cover", low=1, high=MOST_REPORTED, default=12),
        ),
        problems=(422,),
    ),
    Operation(
        "startSend",
        "POST",
        routes.API_SENDS,
        ApiScope.SENDS_WRITE,
        "Start a send of the latest slot's issue (or a stored one, to resume it), or its dry run",
        "start_send",
        request=SendOrder,
        answer=SendPlanOut,
        status=202,
        problems=(409, 422),
        also={200: "a dry run, or nothing left to send: nothing started"},
    ),
    Operation(
        "getSendProgress",
        "GET",
        routes.API_SEND,
        ApiScope.SENDS_WRITE,
        "Where a send of an issue stands",
        "send_progress",
        answer=SendProgressOut,
    ),
    Operation(
        "listWaitingReports",
        "GET",
        routes.API_BOUNCES,
        ApiScope.BOUNCES_READ,
        "Bounces and complaints waiting for review",
        "list_bounces",
        answer=WaitingList,
    ),
    Operation(
        "applyWaitingReport",
        "POST",
        routes.API_BOUNCE_APPLY,
        ApiScope.BOUNCES_WRITE,
        "Apply a waiting report to the subscriber it names",
        "apply_bounce",
        request=ReviewDecision,
        answer=Decided,
        problems=(409, 422),
    ),
    Operation(
        "dismissWaitingReport",
        "POST",
        routes.API_BOUNCE_DISMISS,
        ApiScope.BOUNCES_WRITE,
        "Dismiss a waiting report: nothing changes",
        "dismiss_bounce",
        answer=Decided,
        problems=(409,),
    ),
)

# The operations about one newsletter (its subscriptions, issues, report, sends), and those about a person, who may
# be on several: each takes the newsletter's slug as a query parameter (and, with a body, as its field too).
_ABOUT_ONE = frozenset(
    {
        "createSubscriber",
        "listSubscribers",
        "updateSubscriber",
        "unsubscribeSubscriber",
        "listIssues",
        "getIssue",
        "getIssueHtml",
        "getIssueText",
        "approveIssue",
        "getReport",
        "startSend",
        "getSendProgress",
    }
)
_ABOUT_A_PERSON = frozenset({"getSubscriber", "forgetSubscriber"})


def _naming_newsletters(op: Operation) -> Operation:
    if op.id in _ABOUT_ONE:
        return replace(op, newsletter="one", query=(*op.query, NEWSLETTER), problems=tuple(sorted({*op.problems, 400})))
    if op.id in _ABOUT_A_PERSON:
        return replace(op, newsletter="may", query=(*op.query, _PERSON))
    return op


OPERATIONS: tuple[Operation, ...] = tuple(_naming_newsletters(op) for op in _OPERATIONS)

_WORDS = {
    200: "done",
    201: "made",
    202: "started: follow it at its progress",
    204: "done; no body",
    400: "the body is not JSON, or the install has several newsletters and the request names none (the problem lists them)",
    401: "no valid token (Authorization: Bearer …)",
    403: "the token lacks the scope this operation needs",
    404: "nothing there (an unknown newsletter too), or the API is off (no token exists)",
    409: "refused: the list's rules (someone who left, a forgotten address, an issue sent already)",
    413: "the body is too large",
    415: "the body must be application/json",
    422: "the request's fields are not usable",
    429: "too many requests for this token: wait Retry-After seconds",
}
_EVERY = (401, 403, 404, 429)


def query_schema(query: Query, defs: dict[str, Schema]) -> Schema:
    schema = schema_of(query.kind, defs)
    bounds = {"minimum": query.low, "maximum": query.high, "default": query.default}
    return schema | {key: value for key, value in bounds.items() if value is not None}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of :data:`OPERATIONS`."""
    defs: dict[str, Schema] = {}
    problem = schema_of(Problem, defs)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        parameters = [
            {"name": name, "in": "path", "required": True, "description": words, "schema": schema_of(kind, defs)}
            for name, (kind, words) in PATH_PARAMETERS.items()
            if "{" + name + "}" in op.path.template
        ]
        parameters += [
            {"name": q.name, "in": "query", "required": False, "description": q.about, "schema": query_schema(q, defs)} for q in op.query
        ]
        answers: dict[str, Any] = {}
        for status, words in {op.status: _WORDS[op.status], **op.also}.items():
            answers[str(status)] = {"description": words}
            shape = op.also_shapes.get(status, op.answer)
            if shape is not None:
                answers[str(status)]["content"] = {op.media: {"schema": schema_of(shape, defs)}}
        errors = sorted({*_EVERY, *op.problems, *((400, 413, 415, 422) if op.request else ())})
        for status in errors:
            answers[str(status)] = {"description": _WORDS[status], "content": {PROBLEM_JSON: {"schema": problem}}}
        scope = f" Scope: `{op.scope.value}` ({API_SCOPE_WORDS[op.scope]})." if op.scope else ""
        if op.or_scope is not None:
            scope += f" Or `{op.or_scope.value}` ({API_SCOPE_WORDS[op.or_scope]})."
        entry: dict[str, Any] = {"operationId": op.id, "summary": op.summary, "description": op.summary + "." + scope, "responses": answers}
        if parameters:
            entry["parameters"] = parameters
        if op.request is not None:
            entry["requestBody"] = {"required": True, "content": {JSON: {"schema": schema_of(op.request, defs)}}}
        paths.setdefault(op.path.full, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "digest API",
            "version": __version__,
            "description": "The install's newsletters: each one's list, issues, report and sends (an operation about one names it "
            "by its slug, newsletter=SLUG, needed when there are several: GET /newsletters lists them), and the review of "
            "bounces. A subscriber is a person with a subscription per newsletter. Errors are RFC 9457 problem details. "
            "Scopes: " + "; ".join(f"{scope.value}: {words}" for scope, words in API_SCOPE_WORDS.items()),
        },
        "paths": paths,
        "components": {"schemas": defs, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }


def whole_number(text: str, most_digits: int = 9) -> int | None:
    """``text`` as a whole number when it is 1 to ``most_digits`` ASCII digits, else None. Not ``str.isdigit()``
    alone: it holds for "²" (which ``int`` refuses: a 500) and for "٢" or "２" (which ``int`` reads: another
    spelling of an id, an alias the audit log and a cache would not see as one)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= most_digits else None


def read_query(queries: tuple[Query, ...], given: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The query parameters an operation takes, each as its type, or every problem (an unknown one is ignored)."""
    values: dict[str, Any] = {}
    problems = []
    every = getattr(given, "getlist", None)  # a request's query (a multi-mapping): a name may come more than once
    for query in queries:
        # Given twice (``?newsletter=a&newsletter=b``), which one was meant is not ours to guess (a framework would
        # take the last): refused, as a body's key given twice is.
        if every is not None and len(every(query.name)) > 1:
            problems.append(f"{query.name!r} is given more than once")
            continue
        text = given.get(query.name)
        if text is None:
            values[query.name] = query.default
            continue
        if query.kind is int:
            number = whole_number(text)
            if number is None or (query.low is not None and number < query.low) or (query.high is not None and number > query.high):
                problems.append(f"{query.name!r} must be a whole number from {query.low} to {query.high}")
            values[query.name] = number
        elif query.kind is datetime:
            moment = _moment(text)
            if moment is None:
                problems.append(f"{query.name!r} must be a moment in ISO 8601 with its offset (2026-12-01T09:00:00Z)")
            values[query.name] = moment
        elif isinstance(query.kind, type) and issubclass(query.kind, Enum):
            allowed = [member.value for member in query.kind]
            if text not in allowed:
                problems.append(f"{query.name!r} must be one of {', '.join(allowed)}")
            values[query.name] = query.kind(text) if text in allowed else None
        else:
            values[query.name] = text
    return values, problems


def _moment(text: str) -> datetime | None:
    """An aware moment in UTC from ISO 8601 text; None for anything else (no offset, no such day, out of range)."""
    try:
        moment = datetime.fromisoformat(text)
        return moment.astimezone(UTC) if moment.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


__all__ = ["JSON", "OPERATIONS", "PROBLEM_JSON", "Operation", "Query", "openapi_document", "read_query", "whole_number"]
