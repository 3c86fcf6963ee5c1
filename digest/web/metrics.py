"""``GET /metrics`` (Prometheus text format) and ``GET /healthz`` for ``digest serve``: read from the store at scrape time.

The figures are the database's, not this process's, so every replica of the
web app reports the same numbers and a restart loses nothing:

- ``digest_deliveries{state}``: deliveries of every issue by ledger state;
- ``digest_subscribers{status}``;
- ``digest_returned{kind}``: bounces, complaints and mailed unsubscribes read;
- ``digest_last_scheduled_run_timestamp_seconds``, ``…_duration_seconds`` and
  ``digest_last_scheduled_run{outcome}`` (1 for the outcome of the latest slot);
- ``digest_send_workers{state}``: send workers not signed off, alive or silent
  past ``delivery.claim_timeout`` while their issue has deliveries left (their
  rows go to the others);
- ``digest_scheduler_lease_seconds_left``: how long the running scheduler's
  lease still holds (its heartbeat); absent when no scheduler runs;
- ``digest_issue_clicks{issue,kind}``: what the redirect counted on the links
  of the latest tracked issues (``[tracking] clicks``): ``click`` (people),
  ``scanned`` and ``repeated`` (fetched, not counted as clicks). Totals only;
- ``digest_clicks{issue,theme,kind}``: the same by theme, leaving out a
  theme whose figures are small (fewer than 5 clicks or readers, or one
  that would tell such a figure: :mod:`digest.readers.disclosure`), since a
  small count can name the reader who clicked.

The counts tell who is on the list (read before and after a sign-up, they
say whether an address was new, active or unsubscribed), so the public app
serves ``/metrics`` only with ``DIGEST_METRICS_TOKEN`` set, to requests that
carry it (``Authorization: Bearer <token>``, compared in constant time);
without one it answers 404. ``digest serve --metrics-address HOST:PORT``
serves it on an address of its own instead (:func:`create_metrics_app`; an
internal network, say). The public ``/healthz`` says only whether the
database answers; the one on the metrics address adds the schema and the
scheduler's lease (its owner names a host and a pid).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from digest.app.clicks import CLICK_FLOOR, Fetch, clicks_by_theme
from digest.app.status import METRIC_ISSUES, overview
from digest.app.status import health as health_of
from digest.models.errors import StoreError
from digest.models.routes import HEALTH, METRICS

if TYPE_CHECKING:
    from digest.app.session import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class StoreCollector(Collector):
    def __init__(self, store: Store, claim_timeout: float, key_of: Callable[[str], str]) -> None:
        self.store = store
        self.claim_timeout = claim_timeout
        self.key_of = key_of  # a theme name's key (Publication.key_of): readers chose keys, the counted links name themes

    def collect(self) -> Iterator[GaugeMetricFamily]:
        seen = overview(self.store, self.claim_timeout)
        deliveries = GaugeMetricFamily("digest_deliveries", "Deliveries of every issue, by ledger state", labels=["state"])
        for delivery_state, count in sorted(seen.deliveries.items()):
            deliveries.add_metric([delivery_state.value], count)
        yield deliveries
        subscribers = GaugeMetricFamily("digest_subscribers", "Subscribers by status", labels=["status"])
        for status, count in seen.subscribers.items():
            subscribers.add_metric([status.value], count)
        yield subscribers
        returned = GaugeMetricFamily("digest_returned", "Bounces, complaints and mailed unsubscribes read, by kind", labels=["kind"])
        for kind, count in seen.returned.items():
            returned.add_metric([kind], count)
        yield returned
        run = seen.last_run
        if run is not None:
            yield GaugeMetricFamily(
                "digest_last_scheduled_run_timestamp_seconds", "When the latest scheduled slot started", value=run.started_at.timestamp()
            )
            if run.finished_at is not None:
                yield GaugeMetricFamily(
                    "digest_last_scheduled_run_duration_seconds",
                    "How long the latest scheduled slot took",
                    value=(run.finished_at - run.started_at).total_seconds(),
                )
            outcome = GaugeMetricFamily("digest_last_scheduled_run", "The latest scheduled slot's outcome (1)", labels=["outcome"])
            outcome.add_metric([run.state.value], 1)
            yield outcome
        workers = GaugeMetricFamily(
            "digest_send_workers",
            "Send workers not signed off: alive, or silent past delivery.claim_timeout with deliveries left",
            labels=["state"],
        )
        workers.add_metric(["alive"], seen.workers_alive)
        workers.add_metric(["silent"], seen.workers_silent)
        yield workers
        yield from self.clicks()
        if seen.scheduler is not None:
            yield GaugeMetricFamily(
                "digest_scheduler_lease_seconds_left",
                "Seconds the running scheduler's lease still holds (renewed as it runs)",
                value=(seen.scheduler[1] - datetime.now(UTC)).total_seconds(),
            )

    def clicks(self) -> Iterator[GaugeMetricFamily]:
        by_issue = GaugeMetricFamily(
            "digest_issue_clicks", "Fetches of the counted links of the latest tracked issues, by issue and kind", labels=["issue", "kind"]
        )
        by_theme = GaugeMetricFamily(
            "digest_clicks",
            f"The same by theme, a theme left out where its figures are small (under {CLICK_FLOOR} clicks or readers)",
            labels=["issue", "theme", "kind"],
        )
        for issue in clicks_by_theme(self.store, METRIC_ISSUES, self.key_of):
            for kind, count in zip(KINDS, issue.total, strict=True):
                by_issue.add_metric([issue.issue_id, kind.value], count)
            for theme, counted in issue.themes.items():
                for kind, count in zip(KINDS, counted, strict=True):
                    by_theme.add_metric([issue.issue_id, theme, kind.value], count)
        yield by_issue
        yield by_theme


KINDS = (Fetch.CLICK, Fetch.SCANNED, Fetch.REPEATED)  # the order of a link's totals


def metric_routes(
    store: Store,
    token: str | None,
    *,
    claim_timeout: float = 30.0,
    with_metrics: bool = True,
    detailed: bool = True,
    key_of: Callable[[str], str],
) -> list[Route]:
    """``/healthz``, and ``/metrics`` when ``with_metrics``. ``detailed`` False (the public app): the health
    answer is the status alone, with no host, pid, schema or lease owner in it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, claim_timeout, key_of))

    def metrics(request: Request) -> Response:
        if token:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return PlainTextResponse("a metrics token is needed (Authorization: Bearer …)\n", status_code=401)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE)

    def health(request: Request) -> Response:
        body: dict[str, Any] = {"status": "ok"}
        try:
            seen = health_of(store)
        except StoreError as exc:
            return JSONResponse({"status": "unavailable"} | ({"database": f"unreachable: {exc}"} if detailed else {}), status_code=503)
        except Exception as exc:  # the driver's own error: the database is not answering
            return JSONResponse(
                {"status": "unavailable"} | ({"database": f"unreachable: {type(exc).__name__}"} if detailed else {}), status_code=503
            )
        if not detailed:
            return JSONResponse(body)
        body["database"] = f"ok (schema {seen.schema})"
        holder = seen.scheduler
        body["scheduler"] = (
            {"running": True, "owner": holder[0], "lease_seconds_left": round((holder[1] - datetime.now(UTC)).total_seconds(), 1)}
            if holder is not None
            else {"running": False}
        )
        return JSONResponse(body)

    health_route = Route(HEALTH.template, health, methods=["GET"])
    return [Route(METRICS.template, metrics, methods=["GET"]), health_route] if with_metrics else [health_route]


def create_metrics_app(
    store: Store,
    token: str | None,
    *,
    host: str,
    allow_hosts: tuple[str, ...] = (),
    claim_timeout: float = 30.0,
    key_of: Callable[[str], str],
) -> Starlette:
    """``/metrics`` and ``/healthz`` alone, for an address of their own; the same host rule as every digest server."""
    from digest.web import guard

    routes = metric_routes(store, token, claim_timeout=claim_timeout, key_of=key_of)
    return Starlette(routes=routes, middleware=[guard.host_only(guard.trusted_hosts(host, *allow_hosts))])
