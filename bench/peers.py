"""Side by side with what people would use instead: the official MJML compiler, and rss2email's digest mode.

Both peers are installed by ``make bench`` outside the project's own
environment: ``mjml`` with npm into bench/.node, rss2email with pip into the
bench/.peers virtual environment. When one is missing, its rows say so and
the rest of the suite goes on.
"""

from __future__ import annotations

import email
import functools
import http.server
import json
import os
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

from common import ROOT, WORDS, smtp_sink

NODE_MJML = ROOT / "bench" / ".node" / "node_modules" / "mjml"
R2E = ROOT / "bench" / ".peers" / "bin" / "r2e"
DIGEST = ROOT / ".venv" / "bin" / "digest"


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


def write_feed(path: Path, items: int) -> None:
    """An RSS 2.0 feed of ``items`` entries, all in November 2026, each with a paragraph of HTML."""
    entries = []
    for n in range(items):
        published = datetime(2026, 11, 2, 8, tzinfo=UTC) + timedelta(hours=n * 5)
        words = " ".join(WORDS[(n * 7 + k) % len(WORDS)] for k in range(70))
        entries.append(
            f"<item><title>Item {n}: the {WORDS[n % len(WORDS)]} question</title><link>https://example.org/items/{n}</link>"
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


def run_digest(feed_url: str, sink_port: int, work: Path) -> float:
    """Seconds for ``digest send`` to fetch the feed, build, render, freeze and send the issue to one subscriber."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    url = f"sqlite:///{work}/bench.sqlite"
    store = Store.open(url)
    store.subscribers.add("reader@example.org", "A Reader")
    store.close()
    env = os.environ | {
        "DATABASE_URL": url,
        "DIGEST_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink_port),
        "SMTP_SECURITY": "none",
        "DIGEST_SECRET_KEY": "bench",
    }
    command = [str(DIGEST), "--config", str(ROOT / "config" / "digest.toml"), "send", "--source", f"feed:{feed_url}"]
    # --force: a large feed can pass Gmail's clipping size, an editorial check that would (rightly) stop a real send.
    command += ["--since", "2026-11-01", "--until", "2026-12-01", "--yes", "--force"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=work)
    return time.perf_counter() - start


def describe(data: bytes) -> str:
    """What a message is made of, in a few words: its size and MIME structure."""
    message = email.message_from_bytes(data)
    kinds: dict[str, int] = {}
    for part in message.walk():
        kinds[part.get_content_type()] = kinds.get(part.get_content_type(), 0) + 1
    structure = ", ".join(f"{count} {kind}" if count > 1 else kind for kind, count in kinds.items())
    return f"{len(data) / 1024:.0f} KB: {structure}"


def compare_rss2email(items: int, runs: int) -> list[str]:
    """Rows for the report: time per digest for both tools on the same feed and sink, and what each sent."""
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
            ours: list[float] = []
            theirs: list[float] = []
            for _ in range(runs):  # alternated, so that drift on the machine touches both alike
                theirs.append(run_rss2email(feed_url, sink_port, folder / "r2e"))
                ours.append(run_digest(feed_url, sink_port, folder / "digest"))
            time.sleep(0.2)  # let the sink write the last message
        sent = sorted(kept.glob("*.eml"))
        assert len(sent) == 2 * runs, f"expected {2 * runs} messages, the sink got {len(sent)}"
        r2e_message, digest_message = (_first(sent, "rss2email"), _first(sent, "digest"))
    mine, peer = statistics.median(ours), statistics.median(theirs)
    return [
        f"| peer: one digest of {items} feed items, digest send (CLI) | {mine:.2f} s (median of {runs}) | "
        f"rss2email {version_of_r2e()} `r2e run`, digest mode: {peer:.2f} s | ratio {peer / mine:.2f} (>1: digest is faster) |",
        f"| peer: what was sent | digest: {describe(digest_message)} | rss2email: {describe(r2e_message)} | see note |",
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
        "SQLAlchemy, Jinja2, premailer (with requests, cssutils, lxml), MJML, feedparser, nh3: the floor under the one-digest row |",
    ]


# What `digest send --source feed:…` imports before it does any work (bench/peers: the floor under the peer row).
SEND_IMPORTS = "import digest.app.issues, digest.sources.feed, digest.mail.backends.smtp, digest.send.leases, digest.render.checks"


def _timed_command(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def _first(paths: list[Path], who: str) -> bytes:
    for path in paths:
        data = path.read_bytes()
        is_digest = b"List-Unsubscribe:" in data
        if is_digest == (who == "digest"):
            return data
    raise AssertionError(f"no message from {who} reached the sink")


def version_of_r2e() -> str:
    done = subprocess.run([str(R2E), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().split()[-1] if done.returncode == 0 else "?"
