"""The HTTP API under ``/api/v1/`` (issue 36), served by ``digest serve`` beside the public pages.

Every request, in order: the API is off (404) until a live token exists; a Bearer token is required (401) and must
hold the operation's scope (403); each token has its own rate (429 with Retry-After); a body is JSON of a bounded
size (the public app caps every body as it streams), read into the operation's typed request (422 naming each
field). Then the handler calls the app layer, the same use case the CLI calls, and every request is written to
the audit log (``digest audit``): the token's name, the operation, whom it was about, the answer's status. Errors
are RFC 9457 problem details, one shape. No CORS header is ever sent: a browser on another site cannot read an
answer, and its preflight for a Bearer request gets a 405.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.app.api import ApiAccess
from digest.models import ApiToken, AuditEntry, Refusal, RefusalKind, Subject, SubjectKind
from digest.models.errors import DigestError, RefusedError, ReviewError, WindowError
from digest.web.api_answers import Answer, not_found, problem, refused, respond, without_paths
from digest.web.api_doc import JSON, OPERATIONS, PATH_PARAMETERS, Operation, read_query, whole_number
from digest.web.api_people import Call, PeopleHandlers
from digest.web.api_schema import parse_json, read_body
from digest.web.api_shapes import (
    Approved,
    CheckOut,
    Decided,
    IssueBrief,
    IssueList,
    IssueOut,
    NamedAddress,
    ReviewDecision,
    SendOrder,
    SendPlanOut,
    SendProgressOut,
    WaitingList,
    WaitingReport,
)
from digest.web.guard import BodyTooLargeError, RateLimit, RateLimits

if TYPE_CHECKING:
    from digest.app.session import Scope, Store

log = logging.getLogger(__name__)

REQUESTS_PER_MINUTE = 300  # per token: a CRM's sync or a busy form, never a loop gone wrong for long
REFUSALS_PER_MINUTE = 30  # requests without a valid token, per client address: each is written to the audit log
# Of those, written at most, whoever sends them: the per-client allowances are forgotten past 10,000 clients (bounded
# memory), and a /48 holds 65,536 /64s; past this a 401 is answered all the same, but not written.
REFUSALS_LOGGED_PER_MINUTE = 60


class Handlers(PeopleHandlers):
    """Each operation's handler (named in :data:`digest.web.api_doc.OPERATIONS`): reads its call, asks the app layer
    (the desk of the newsletter it names), answers with a shape. Plain functions: they run in the thread pool, the
    database never stalling the event loop. The people's and the newsletters' are :class:`PeopleHandlers`'."""

    # -- issues, the report, the review --------------------------------------------------------------------------

    def list_issues(self, call: Call) -> Answer:
        catalogue = self.desk(call).catalogue
        items = [
            IssueBrief(
                id=s.issue_id,
                subject=s.subject,
                created_at=s.created_at,
                deliveries={k.value: v for k, v in s.counts.items()},
                edition=catalogue.edition_of(s.issue_id),
            )
            for s in catalogue.listed()
        ]
        return Answer(200, IssueList(items=items))

    def _issue_subject(self, call: Call) -> str:
        issue_id = str(call.params["issue_id"])
        call.subject = Subject(kind=SubjectKind.ISSUE, id=issue_id[:128])
        return issue_id

    def get_issue(self, call: Call) -> Answer:
        facts = self.desk(call).catalogue.facts(self._issue_subject(call))
        if facts is None:
            return not_found("no stored issue has this id")
        issue = facts.issue
        shape = IssueOut(
            id=issue.id,
            subject=issue.subject,
            preheader=issue.preheader,
            window_start=issue.window_start,
            window_end=issue.window_end,
            created_at=issue.created_at,
            posts=len(issue.post_ids),
            checks=[CheckOut(code=c.code, level=str(c.level), message=c.message) for c in issue.checks],
            deliveries={state.value: count for state, count in facts.counts.items()},
            approved=facts.approved,
            approval=facts.approval,
            edition=self.desk(call).catalogue.edition_of(issue.id),
        )
        return Answer(200, shape)

    def _frozen(self, call: Call, part: Callable[[Any], str], media: str) -> Answer:
        facts = self.desk(call).catalogue.facts(self._issue_subject(call))
        return not_found("no stored issue has this id") if facts is None else Answer(200, part(facts.issue), media)

    def issue_html(self, call: Call) -> Answer:
        return self._frozen(call, lambda issue: issue.html, "text/html; charset=utf-8")

    def issue_text(self, call: Call) -> Answer:
        return self._frozen(call, lambda issue: issue.text, "text/plain; charset=utf-8")

    def approve_issue(self, call: Call) -> Answer:
        by = f"API token {call.token.name}"
        try:
            done = self.desk(call).catalogue.approve(self._issue_subject(call), by, datetime.now(UTC))
        except RefusedError as exc:
            return refused(exc.refusal)
        if isinstance(done, Refusal):
            return not_found(done.why) if done.kind is RefusalKind.NO_SUCH_ISSUE else refused(done)
        return Answer(200, Approved(id=done.id, subject=done.subject, approved_by=by))

    def get_report(self, call: Call) -> Answer:
        issue = call.query["issue"]
        if issue is not None:
            call.subject = Subject(kind=SubjectKind.ISSUE, id=str(issue)[:128])
        seen = self.desk(call).catalogue.report(issue, call.query["last"])
        if seen is None:
            return not_found(f"issue {issue} has no deliveries" if issue else "no issue has been sent yet: nothing to report")
        return Answer(200, seen)

    # -- sends ---------------------------------------------------------------------------------------------------

    def start_send(self, call: Call) -> Answer:
        order: SendOrder = call.body
        now = datetime.now(UTC)
        if order.issue is not None:
            call.subject = Subject(kind=SubjectKind.ISSUE, id=order.issue[:128])
        try:
            plan = self.desk(call).dispatch.plan(order.issue, now, f"API token {call.token.name}")
            call.subject = Subject(kind=SubjectKind.ISSUE, id=plan.issue.id)
            if order.dry_run and plan.refusal is not None:  # a dry run says what the send would say, nothing more
                return refused(plan.refusal)
            started = self.desk(call).dispatch.start(plan, now) if not order.dry_run else None
        except RefusedError as exc:
            return not_found(str(exc.refusal)) if exc.refusal.kind is RefusalKind.NO_SUCH_ISSUE else refused(exc.refusal)
        except WindowError as exc:
            return refused(str(exc))
        if started is not None and started.busy:
            return refused(started.note)
        shape = SendPlanOut(
            issue_id=plan.issue.id,
            subject=plan.issue.subject,
            frozen=plan.frozen,
            to_send=plan.outstanding.to_send,
            done={state.value: count for state, count in plan.outstanding.done.items()},
            approval=plan.approval.reason if plan.approval is not None else None,
            dry_run=order.dry_run,
            started=started is not None and started.started,
            note=started.note if started is not None else "dry run: nothing sent, nothing stored",
        )
        return Answer(202 if shape.started else 200, shape)

    def send_progress(self, call: Call) -> Answer:
        state = self.desk(call).dispatch.state(self._issue_subject(call))
        if state is None:
            return not_found("no stored issue has this id")
        shape = SendProgressOut(
            issue_id=state.issue_id,
            running=state.running,
            complete=state.complete,
            deliveries={key.value: count for key, count in state.counts.items()},
            last_run=state.report.end.value if state.report is not None else None,
            problem=state.problem,
        )
        return Answer(200, shape)

    def list_bounces(self, call: Call) -> Answer:
        items = [
            WaitingReport(
                id=w.event.id or 0,
                kind=w.event.kind,
                received_at=w.event.received_at,
                issue_id=w.event.issue_id,
                status=w.event.status,
                diagnostic=w.event.diagnostic,
                named=[NamedAddress(address=address, status=status) for address, status in w.named],
            )
            for w in self.desk(call).catalogue.waiting()
        ]
        return Answer(200, WaitingList(items=items))

    def _decide(self, call: Call, apply_to: str | None, dismiss: bool) -> Answer:
        report_id = int(call.params["report_id"])
        call.subject = Subject(kind=SubjectKind.REPORT, id=str(report_id))
        try:
            result = self.desk(call).catalogue.decide(report_id, apply_to=apply_to, dismiss=dismiss)
        except ReviewError as exc:
            return refused(str(exc))
        return Answer(200, Decided(id=report_id, result=result))

    def apply_bounce(self, call: Call) -> Answer:
        decision: ReviewDecision = call.body
        return self._decide(call, decision.address, dismiss=False)

    def dismiss_bounce(self, call: Call) -> Answer:
        return self._decide(call, None, dismiss=True)


def client_share(host: str) -> str:
    """Whose allowance of 401s a client uses: its address, an IPv6 one's /64 (else it moves on to its next address)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ip.ipv4_mapped or ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Api:
    """The API's requests, from the token to the audit log (module docstring)."""

    def __init__(
        self, settings: Scope, store: Store, *, rate: tuple[int, float] = (REQUESTS_PER_MINUTE, 60.0), newsletters: Sequence[Scope] = ()
    ) -> None:
        """The API of every newsletter of ``newsletters`` (empty: ``settings``'s alone), on ``store``'s database."""
        self.access = ApiAccess(store)
        self.install = settings.install
        self.handlers = Handlers(tuple(newsletters) or (settings,), store)
        self.per_token = RateLimits(*rate)
        self.per_client = RateLimits(REFUSALS_PER_MINUTE, 60.0)
        self.logged_refusals = RateLimit(REFUSALS_LOGGED_PER_MINUTE, 60.0)

    def app(self) -> Starlette:
        """The API as an app of its own, to mount at the API's root: its 404s and 405s are problem details too."""
        by_path: dict[str, dict[str, Operation]] = {}
        for op in OPERATIONS:
            by_path.setdefault(op.path.template, {})[op.method] = op
        routes = [Route(path, self.endpoint(ops), methods=list(ops)) for path, ops in by_path.items()]
        app = Starlette(routes=routes, exception_handlers={HTTPException: self.http_problem, BodyTooLargeError: self.http_problem})
        # No slash redirects: "/issues/" (an empty id) is no operation, never a 307 to the list (found by the fuzzer),
        # and a redirect would name a host and scheme taken from the request.
        app.router.redirect_slashes = False
        return app

    async def http_problem(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, BodyTooLargeError):  # a chunked body past the cap, found as it streamed (guard.BodyLimit)
            return respond(problem(413, "too-large", "Too large", "the request body is too large", connection="close"))
        if isinstance(exc, HTTPException) and exc.status_code == 405:
            return respond(problem(405, "method-not-allowed", "Method not allowed", f"{request.method} is not an operation of this path"))
        return respond(not_found("no operation of the API has this path"))

    def endpoint(self, ops: dict[str, Operation]) -> Callable[[Request], Any]:
        async def answer(request: Request) -> Response:
            return await self.run(ops["GET"] if request.method == "HEAD" else ops[request.method], request)

        return answer

    async def run(self, op: Operation, request: Request) -> Response:
        if not await run_in_threadpool(self.access.enabled):
            return respond(
                problem(404, "api-off", "The API is off", "no API token exists: make one with `digest api-tokens create NAME --scope …`")
            )
        given = request.headers.get("authorization", "")
        scheme, _, presented = given.partition(" ")
        token = await run_in_threadpool(self.access.authenticate, presented.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            return await self.unauthenticated(op, request)
        call = Call(token=token, params={}, query={})
        answer = await self.checked(op, request, call) or await self.handle(op, call)
        answer = without_paths(answer, self.install.root, self.install.config_path)
        await self.audit(op, request, answer, token, call.subject)
        return respond(answer)

    async def unauthenticated(self, op: Operation, request: Request) -> Response:
        """A 401, written to the audit log; past a client's allowance a 429, not written (the log cannot be flooded)."""
        client = client_share(request.client.host if request.client else "unknown")
        if wait := self.per_client.take(client):
            detail = "too many requests without a valid token"
            return respond(problem(429, "rate-limited", "Too many requests", detail, retry_after=str(max(1, round(wait)))))
        detail = "send a live API token as 'Authorization: Bearer <token>'"
        answer = problem(401, "unauthorized", "No valid token", detail, www_authenticate='Bearer realm="digest"')
        if not self.logged_refusals.take():
            await self.audit(op, request, answer, None, None)
        return respond(answer)

    async def handle(self, op: Operation, call: Call) -> Answer:
        try:
            answer: Answer = await run_in_threadpool(getattr(self.handlers, op.handler), call)
        except DigestError as exc:  # a refusal the handler did not word: the list's rules, never a server fault
            return problem(409, "refused", "Refused", str(exc))
        except Exception:
            log.exception("API %s %s failed", op.method, op.path.full)
            return problem(500, "server-error", "The server failed", "the server could not answer; its log says why")
        return answer

    async def checked(self, op: Operation, request: Request, call: Call) -> Answer | None:
        """The answer refusing the call before its handler (a scope, the rate, a path, query or body that will not do),
        or None with ``call`` filled in."""
        if op.scope is not None and not call.token.allows(op.scope) and not (op.or_scope and call.token.allows(op.or_scope)):
            also = f" (or {op.or_scope.value})" if op.or_scope else ""
            return problem(403, "forbidden", "Not allowed", f"this token lacks the scope {op.scope.value}{also}")
        if wait := self.per_token.take(str(call.token.id)):
            return problem(
                429, "rate-limited", "Too many requests", "this token's rate is spent for now", retry_after=str(max(1, round(wait)))
            )
        for name, text in request.path_params.items():
            kind = PATH_PARAMETERS[name][0]
            number = whole_number(str(text)) if kind is int else None
            if kind is int and number is None:
                return not_found(f"{name} must be a whole number")
            call.params[name] = number if kind is int else str(text)
        call.query, problems = read_query(op.query, request.query_params)
        if problems:
            return problem(422, "invalid", "Unusable request", "; ".join(problems), problems)
        if op.request is not None and (refusal := await self.read_body(op.request, request, call)) is not None:
            return refusal
        if op.request is None and (await request.body()).strip() not in (b"", b"{}"):
            # Read as nothing, a body naming a newsletter would leave the query's (or the only one's) to be acted on.
            return problem(400, "unexpected-body", "No body here", "this operation takes no body: name the newsletter in the query")
        return self.newsletter_of(op, call)

    async def read_body(self, shape: type, request: Request, call: Call) -> Answer | None:
        """``call.body`` read as ``shape``, or the answer refusing it."""
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != JSON:
            return problem(415, "unsupported-media-type", "Not JSON", "send the body as application/json")
        try:
            data, twice = parse_json(await request.body())
        except ValueError as exc:
            unreadable = str(exc) if str(exc).startswith("the body") else "the body is not JSON"  # json's own words name a position
            return problem(400, "not-json", "Not JSON", unreadable)
        call.body, problems = (None, twice) if twice else read_body(shape, data)
        return problem(422, "invalid", "Unusable request", "; ".join(problems), problems) if problems else None

    def newsletter_of(self, op: Operation, call: Call) -> Answer | None:
        """``call.newsletter`` set to the slug the request names (its query's newsletter, or its body's), or the answer
        refusing it: a slug the install has not (404), none while it has several and the operation is about one (400),
        two different ones (422). Both lists name the slugs there are."""
        if not op.newsletter:
            return None
        named = call.query.get("newsletter")
        in_body = getattr(call.body, "newsletter", None)
        slugs = list(self.handlers.desks)
        if named is not None and in_body is not None and named != in_body:
            detail = f"the query names the newsletter {named!r} and the body {in_body!r}: name one"
            return problem(422, "invalid", "Unusable request", detail, ["'newsletter' is given twice, differently"])
        named = named if named is not None else in_body
        if named is None:
            if op.newsletter == "one" and len(slugs) > 1:
                detail = f"this install has several newsletters: name one with newsletter=SLUG (the newsletters: {', '.join(slugs)})"
                return problem(
                    400, "newsletter-required", "Which newsletter?", detail, [f"'newsletter' is required: one of {', '.join(slugs)}"]
                )
            return None
        if named not in self.handlers.desks:
            return problem(
                404, "no-such-newsletter", "No such newsletter", f"no newsletter {named!r} here (the newsletters: {', '.join(slugs)})"
            )
        call.newsletter = str(named)
        return None

    async def audit(self, op: Operation, request: Request, answer: Answer, token: ApiToken | None, subject: Subject | None) -> None:
        entry = AuditEntry(
            at=datetime.now(UTC),
            token=token.name if token else None,
            method=request.method,
            operation=op.id,
            status=answer.status,
            subject=subject,
        )
        await run_in_threadpool(self.access.record, entry, token)


__all__ = ["REFUSALS_LOGGED_PER_MINUTE", "REFUSALS_PER_MINUTE", "REQUESTS_PER_MINUTE", "Api"]
