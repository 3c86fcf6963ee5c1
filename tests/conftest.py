"""Shared fixtures: settings rooted in a temporary project, a fixed clock, a real HTTP server."""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import http.server
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from digest.config import Scope, load_settings

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LONDON = ZoneInfo("Europe/London")

# The shared helpers (tests/support/) assert as the tests do: pytest rewrites their asserts too, so that a failing
# one says what it compared, as it did when they lived in the test files.
pytest.register_assert_rewrite("support")


def pytest_configure(config: pytest.Config) -> None:
    # A new store starts from a copy of what the revisions made, once per process (support/migrated.py).
    from support import migrated

    migrated.install()


# What the suite must never write into the repository (a test's outbox backend without its own folder did: the
# outbox's default is relative to where the command runs). Checked by the run that starts the workers.
WRITTEN_NOWHERE = ("outbox",)


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_BEFORE] = {name for name in WRITTEN_NOWHERE if (REPO / name).exists()}


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput") or _BEFORE not in session.config.stash:
        return
    written = [name for name in WRITTEN_NOWHERE if (REPO / name).exists() and name not in session.config.stash[_BEFORE]]
    if written:
        print(f"\nthe suite wrote {', '.join(written)}/ into the repository: a test must write under its tmp_path")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[set[str]]()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """How many workers ``-n auto`` (pyproject.toml) starts: two a core, at most eight (each holds a few PostgreSQL
    connections of the server's hundred). PYTEST_XDIST_AUTO_NUM_WORKERS names another number: xdist's own hook reads
    it (None: the next hook answers), warning of one that is not a number."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(8, 2 * cores)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marked slow, with their rough seconds) first, the longest first; the rest in their order.
    The workers take the next test as each becomes free (``--maxschedchunk 1``), so the long ones spread over them
    from the start instead of one of them ending the run alone (issue 33, item 9). The order is the same in every
    worker, as pytest-xdist requires."""

    def seconds(item: pytest.Item) -> float:
        marker = item.get_closest_marker("slow")
        return float(marker.args[0]) if marker is not None and marker.args else 0.0

    items.sort(key=seconds, reverse=True)  # stable: equal weights keep the collection's order


def pytest_collection_finish(session: pytest.Session) -> None:
    """The garbage collector's pace in a test process (issue 33, item 9). What collection imported (digest, SQLAlchemy,
    the tests: objects that live as long as the process) is frozen out of the collector's passes, and the youngest
    generation is collected every 20,000 new objects instead of Python's 700: the tests make objects by the million
    and keep few. Measured with -n 0 on two sets of files: the collector took 5.5 s of a run's 43.6 s of CPU and 3.1
    of 31.3 s; 2.7 s of 37.6 s and 0.9 s of 25.3 s with this. The digest processes the tests start keep Python's defaults."""
    gc.freeze()
    gc.set_threshold(20_000)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """The revisions' own tests (marked real_migrations) run them on every new store; the rest start from the copy.
    Set here, before the test's fixtures open any store."""
    from support import migrated

    migrated.enabled = item.get_closest_marker("real_migrations") is None


@pytest.fixture
def fixed_now() -> datetime:
    """Friday 20 November 2026, 09:00 in London: the sample issue's scheduled time."""
    return datetime(2026, 11, 20, 9, 0, tzinfo=LONDON)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Scope]:
    """The install and its newsletter from the shipped config, rooted in tmp_path, with fields overridden (each in
    its part: support.settings.overridden)."""

    from support.settings import overridden  # after register_assert_rewrite below has run

    def make(**overrides: Any) -> Scope:
        base = load_settings(REPO / "config" / "digest.toml", environ={})
        base = overridden(
            base,
            root=tmp_path,
            output_dir=tmp_path / "out",
            cache_dir=tmp_path / "cache",
            editorial_dir=tmp_path / "content" / "issues",
            # The shipped config's outbox is the project's own folder: a test's copies go under its tmp_path.
            delivery=dataclasses.replace(base.install.delivery, outbox_dir=tmp_path / "outbox"),
        )
        return overridden(base, **overrides)

    return make


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


class Served:
    """A real HTTP server on 127.0.0.1 whose routes a test sets, and which records requests."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.requests.append((self.path, dict(self.headers.items())))
                route = served.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                    return
                route(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"


def body_route(body: bytes, content_type: str) -> Callable[[http.server.BaseHTTPRequestHandler], None]:
    """A route of :class:`Served` that answers 200 with ``body``."""

    def route(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.end_headers()
        handler.wfile.write(body)

    return route


@pytest.fixture
def http_server() -> Iterator[Served]:
    from support.serving import serve_in_thread  # after register_assert_rewrite above has run

    served = Served()
    serve_in_thread(served.server)
    try:
        yield served
    finally:
        served.server.shutdown()
        served.server.server_close()


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A plain SMTP server on 127.0.0.1 (see tests/smtpd.py for telling it what to answer)."""
    from mailserver import SmtpServer

    server = SmtpServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=[True, False], ids=["pipelined", "one-by-one"])
def smtp_either_way(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A plain SMTP server that offers PIPELINING (as Postfix does) or not: the rules of sending hold either way."""
    from mailserver import Handler, SmtpServer

    server = SmtpServer(Handler(pipelining=request.param))
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL of a schema of its own on the PostgreSQL server (DIGEST_TEST_POSTGRES_URL), dropped after;
    the test skips, saying why, where no server answers."""
    from support import postgres

    try:
        schema = postgres.make_schema()
    except Exception as exc:  # no server, no driver, no rights: the reason is the skip's message
        pytest.skip(f"PostgreSQL is not reachable at {postgres.URL} ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})")
    try:
        # Commits not waiting for the disk (synchronous_commit off, this connection's setting): a killed sender loses
        # nothing by it (the server has the commit), only the server's own crash would, and test_pg_crash runs a
        # server of its own. A send's ledger commits each row: the flush was most of a PostgreSQL test's wait.
        yield f"{postgres.URL}?options=-csynchronous_commit%3Doff%20-csearch_path%3D{schema}"
    finally:
        postgres.drop_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store of a test: a real SQLite file, and a schema of its own on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'digest.sqlite'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A schema of its own on the PostgreSQL server, for what only PostgreSQL does (send workers)."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def delivery_settings(make_settings: Callable[..., Scope], database_url: str, tmp_path: Path) -> Callable[..., Scope]:
    """The install and newsletter for a send: a real database (SQLite, and PostgreSQL where it answers), a secret key, fast retries."""
    from digest.config import DeliveryOptions, SmtpOptions

    def make(port: int | None = None, *, smtp: dict[str, Any] | None = None, **delivery: Any) -> Scope:
        options = {
            "backend": "smtp" if port else "outbox",
            "outbox_dir": tmp_path / "outbox",
            "connections": 2,
            "retry_base": 0.05,
            "max_wait": 10.0,
        } | delivery
        smtp_options = {"host": "127.0.0.1", "port": port or 25, "security": "none", "timeout": 2.0} | (smtp or {})
        return make_settings(
            database_url=database_url,
            secret_key="test-secret-key-for-the-suite-0123456789",
            base_url="https://news.example.org",
            delivery=DeliveryOptions(**options),
            smtp=SmtpOptions(**smtp_options),
        )

    return make


class LiveServer:
    """An ASGI app served by uvicorn on a free 127.0.0.1 port, in a thread."""

    def __init__(self, app: Any, *, proxy_headers: bool = True) -> None:
        """``proxy_headers`` False: as ``digest serve`` runs uvicorn (only the app's own rule, for
        serve.trusted_proxies, believes an X-Forwarded-For; uvicorn's default believes 127.0.0.1's)."""
        import socket as _socket

        import uvicorn

        with _socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="auto",
                timeout_graceful_shutdown=1,
                proxy_headers=proxy_headers,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time as _time

        deadline = _time.monotonic() + 10
        while not self.server.started and _time.monotonic() < deadline:
            _time.sleep(0.02)
        assert self.server.started, "uvicorn did not start"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def http_request(
    method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """A real HTTP request; returns (status, headers, body) without raising on 4xx/5xx."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8")


@pytest.fixture
def site(delivery_settings: Callable[..., Scope], smtp_server: Any) -> Iterator[tuple[LiveServer, Any, Scope]]:
    """The public app (sign-up, confirmation, preferences) over real HTTP, on a real database, mailing a real
    SMTP server: (server, store, settings)."""
    from digest.store import Store
    from digest.web.public import create_public_app

    settings = delivery_settings(smtp_server.port)
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    server = LiveServer(create_public_app(settings, store))
    yield server, store, settings
    server.stop()


def link_token(settings: Scope, store: Any, subscriber_id: int) -> str:
    """The token of a subscriber's unsubscribe and preferences links, as their mail carries it (with their salt)."""
    from digest.models.tokens import Signer

    found = store.subscribers.get(subscriber_id=subscriber_id)
    assert settings.install.secret_key is not None and found is not None
    return Signer(settings.install.secret_key, settings.newsletter.list_id).token(subscriber_id, found.link_salt)


# -- the doctor's DNS (tests/test_doctor*.py) -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A DKIM key pair (RSA and Ed25519) for the doctor's zones, made once per test module."""
    from support.doctor import keys

    return keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def zone(signer: Any) -> Iterator[Any]:
    """A real authoritative DNS server on 127.0.0.1 serving example.org as it should be (SPF, DKIM, DMARC right)."""
    from support.dnsserver import DnsServer
    from support.doctor import good_zone

    server = DnsServer(["example.org"], good_zone(signer))
    yield server
    server.stop()
