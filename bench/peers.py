"""Side by side with what people would use instead: the official MJML compiler, and rss2email's digest mode.

Both peers are installed by ``make bench`` outside the project's own
environment: ``mjml`` with npm into bench/.node, rss2email with pip into the
bench/.peers virtual environment. When one is missing, its rows say so and
the rest of the suite goes on.
"""

from __future__ import annotations

import dataclasses
import email
import functools
import http.server
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from digest.store import Store

from common import ROOT, WORDS, overridden, smtp_sink

NODE_MJML = ROOT / "bench" / ".node" / "node_modules" / "mjml"
R2E = ROOT / "bench" / ".peers" / "bin" / "r2e"
DIGEST = ROOT / ".venv" / "bin" / "digest"  # the start-up row


def official_mjml(source: str, runs: int) -> dict[str, object] | str:
    """The npm ``mjml`` package compiling ``source`` in-process: median ms, HTML size, version; or why not."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not NODE_MJML.is_dir():
        return "npm mjml is not installed (make bench installs it with npm when npm is present)"
    with tempfile.NamedTemporaryFile("w", suffix=".mjml", encoding="utf-8") as file:
        file.write(source)
        file.flush()
        done = subprocess.run(
            ["node", str(ROOT / "bench" / "mjml_node.js"), file.name, str(runs)], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        return f"node failed: {done.stderr.strip()[-300:]}"
    result: dict[str, object] = json.loads(done.stdout)
    return result


def write_feed(path: Path, items: int, week: int = 0) -> None:
    """An RSS 2.0 feed of ``items`` entries, all in November 2026, each with a paragraph of HTML; each ``week``
    has other words (a running scheduler meets new posts every week: none of them read before)."""
    entries = []
    for n in range(items):
        published = datetime(2026, 11, 2, 8, tzinfo=UTC) + timedelta(hours=n * 5)
        words = " ".join(WORDS[(n * 7 + k + week * 13) % len(WORDS)] for k in range(70))
        entries.append(
            f"<item><title>Item {n}, week {week}: the {WORDS[(n + week) % len(WORDS)]} question</title><link>https://example.org/items/{n}</link>"
            f"<guid>https://example.org/items/{n}</guid><pubDate>{format_datetime(published)}</pubDate>"
            f"<description>&lt;p&gt;{words.capitalize()}.&lt;/p&gt;</description></item>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench feed</title>'
        f"<link>https://example.org/</link><description>Generated</description>{''.join(entries)}</channel></rss>",
        encoding="utf-8",
    )


@contextmanager
def serve(folder: Path) -> Iterator[int]:
    """A static HTTP server for ``folder`` on 127.0.0.1 (both tools fetch the feed over HTTP); yields its port."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def run_rss2email(feed_url: str, sink_port: int, work: Path) -> float:
    """Seconds for ``r2e run`` to fetch the feed and send its one digest (a new feed: every item goes)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    config, data = work / "r2e.cfg", work / "r2e.json"
    config.write_text(
        "[DEFAULT]\nfrom = digest@example.org\nto = reader@example.org\ndigest = True\ndigest-type = multipart/digest\n"
        f"html-mail = True\nemail-protocol = smtp\nsmtp-server = 127.0.0.1:{sink_port}\nsmtp-ssl = False\nsmtp-auth = False\n",
        encoding="utf-8",
    )
    base = [str(R2E), "-c", str(config), "-d", str(data)]
    subprocess.run([*base, "add", "bench", feed_url, "reader@example.org"], check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run([*base, "run"], check=True, capture_output=True)
    return time.perf_counter() - start


def warm_digest(feed_url: str, work: Path, *, meaning: bool = True) -> tuple[float, float, bytes]:
    """What the scheduler pays per issue, its process already running (imports and the model loaded): gather the
    feed over HTTP, select, group, render and compile the issue, nothing cached (a fresh cache folder: every post
    new, as each week's are). Returns (seconds, seconds of it placing posts by meaning, one reader's copy)."""
    from digest.app.issues import Newsletter, WindowRequest
    from digest.config import SourceSpec, load_settings
    from digest.send.delivery import compile_issue

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    shipped = load_settings(ROOT / "config" / "digest.toml", environ={})
    settings = overridden(
        shipped,
        root=work,
        cache_dir=work / "cache",
        output_dir=work / "out",
        database_url=f"sqlite:///{work}/none.sqlite",  # never created: a build alone opens no database
        sources=(SourceSpec(location=feed_url, kind="feed"),),
        secret_key="bench",
        meaning=dataclasses.replace(shipped.newsletter.meaning, enabled=meaning and shipped.newsletter.meaning.enabled),
    )
    newsletter = Newsletter(settings, lambda: Store.open(settings.install.database_url))
    now = datetime(2026, 12, 1, tzinfo=UTC)
    window = newsletter.target(WindowRequest(since="2026-11-01", until="2026-12-01"), now).window
    placing: list[float] = []

    def on_step(what: str, done: int, total: int) -> None:
        placing.append(time.perf_counter())

    start = time.perf_counter()
    built = newsletter.build(window, now, on_step=on_step)
    message = compile_issue(built.issue, settings).render(1, "reader@example.org", "A Reader")
    elapsed = time.perf_counter() - start
    assert built.digest.stats.selected > 0, "the feed's items were not read"
    return elapsed, (placing[-1] - placing[0]) if placing else 0.0, message


def describe(data: bytes) -> str:
    """What a message is made of, in a few words: its size and MIME structure."""
    message = email.message_from_bytes(data)
    kinds: dict[str, int] = {}
    for part in message.walk():
        kinds[part.get_content_type()] = kinds.get(part.get_content_type(), 0) + 1
    structure = ", ".join(f"{count} {kind}" if count > 1 else kind for kind, count in kinds.items())
    return f"{len(data) / 1024:.0f} KB: {structure}"


def compare_rss2email(items: int, runs: int) -> list[str]:
    """Rows for the report: the warm per-issue work of digest (what the scheduler pays each week) beside
    rss2email's run on the same feed, and what each would send. (digest's cold one-shot CLI run is no longer
    compared: the libraries it is built on take longer to import than rss2email's whole run; the start-up row
    says so.)"""
    if not R2E.exists():
        return ["| peer: rss2email | skipped: not installed (make bench installs it into bench/.peers with pip) | | |"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "www").mkdir()
        write_feed(folder / "www" / "feed.xml", items)
        kept = folder / "kept"
        kept.mkdir()
        with serve(folder / "www") as http_port, smtp_sink(kept) as sink_port:
            feed_url = f"http://127.0.0.1:{http_port}/feed.xml"
            warm_digest(feed_url, folder / "warm-up")  # imports, the model, the templates: what a running scheduler has
            ours: list[float] = []
            placing: list[float] = []
            keywords: list[float] = []
            theirs: list[float] = []
            for week in range(1, runs + 1):  # alternated, so that drift on the machine touches both alike
                write_feed(folder / "www" / "feed.xml", items, week)
                theirs.append(run_rss2email(feed_url, sink_port, folder / "r2e"))
                seconds, meaning, digest_message = warm_digest(feed_url, folder / "digest")
                ours.append(seconds)
                placing.append(meaning)
                keywords.append(warm_digest(feed_url, folder / "keywords", meaning=False)[0])
            time.sleep(0.2)  # let the sink write the last message
        sent = sorted(kept.glob("*.eml"))
        assert len(sent) == runs, f"expected {runs} messages from rss2email, the sink got {len(sent)}"
        r2e_message = sent[0].read_bytes()
    mine, peer, meaning = statistics.median(ours), statistics.median(theirs), statistics.median(placing)
    plain = statistics.median(keywords)
    return [
        f"| peer: one issue of {items} feed items, the warm work the scheduler pays | digest {mine:.2f} s (median of {runs}: "
        f"gather over HTTP, build, render, compile; {meaning:.2f} s of it placing posts by meaning) | rss2email {version_of_r2e()} "
        f"`r2e run`, digest mode, its whole run: {peer:.2f} s | ratio {peer / mine:.2f} (>1: digest is faster); imports excluded on "
        "digest's side, start-up included on rss2email's (it runs from cron) |",
        f"| peer: the same, themes by keywords alone ([grouping] meaning off) | digest {plain:.2f} s | rss2email {peer:.2f} s | "
        f"ratio {peer / plain:.2f} (>1: digest is faster) |",
        f"| peer: what each sends | digest: {describe(digest_message)} | rss2email: {describe(r2e_message)} | see note |",
    ]


def startup(runs: int) -> list[str]:
    """How long each command takes to start and exit (``--version``): the floor under any one-digest run."""
    if not R2E.exists():
        return []
    ours = statistics.median(_timed_command([str(DIGEST), "--version"]) for _ in range(runs))
    theirs = statistics.median(_timed_command([str(R2E), "--version"]) for _ in range(runs))
    python = str(Path(sys.executable))
    bare = statistics.median(_timed_command([python, "-c", "pass"]) for _ in range(runs))
    send_imports = statistics.median(_timed_command([python, "-c", SEND_IMPORTS]) for _ in range(runs))
    return [
        f"| peer: start-up alone (`--version`) | digest {ours:.2f} s | rss2email {theirs:.2f} s | "
        f"ratio {theirs / ours:.2f} (>1: digest starts faster); the CLI imports click only |",
        f"| peer: the libraries a feed-to-SMTP send loads, imported alone | {send_imports - bare:.2f} s over a bare interpreter | | "
        "SQLAlchemy, Jinja2, premailer (with requests, cssutils, lxml), MJML, feedparser, nh3: why a cold one-shot run is not compared |",
    ]


# What `digest send --source feed:…` imports before it does any work (bench/peers: the floor under the peer row).
SEND_IMPORTS = "import digest.app.issues, digest.sources.feed, digest.mail.backends.smtp, digest.send.leases, digest.render.checks"


def _timed_command(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def version_of_r2e() -> str:
    done = subprocess.run([str(R2E), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().split()[-1] if done.returncode == 0 else "?"
