"""One install with two newsletters (issue 34): the fixture project's Golden Gazette in config/digest.toml and a
Culture Monthly added by ``digest newsletters add`` beside it, both mailing a real SMTP server, on the store given;
and the plain helpers its tests read the mail with (each copy by its List-Id, a copy's links on a live server)."""

from __future__ import annotations

import re
import shutil
from email.message import EmailMessage
from pathlib import Path

from digest.config import Config, load_config

from conftest import FIXTURES
from mailserver import Received, SmtpServer
from support.cli import SECRET, cli

FIRST, ADDED = "golden-gazette", "culture"
WINDOW = ("--since", "2025-02-24", "--until", "2025-03-03")  # the fixture project's week: both newsletters have posts in it
NEXT_WINDOW = ("--since", "2025-03-03", "--until", "2025-03-10")  # a week only the added newsletter has a post in
BASE_URL = "https://golden.example"
NEXT_POST = """---
title: The harbour gallery reopens
date: 2025-03-05T10:00:00Z
---
The gallery on the harbour wall reopens with a show of boats and ferries painted by the town's children.
"""


def two_newsletter_install(tmp_path: Path, smtp_port: int, database: str) -> Path:
    """A copy of the fixture project on ``database``, with bounce addresses (VERP tokens in every copy) and a second
    newsletter, ``culture`` (its pages under /culture), whose folder holds the same week's posts and one of the next
    week. Returns config/digest.toml."""
    project = tmp_path / "project"
    shutil.copytree(FIXTURES / "project", project)
    shutil.copy(FIXTURES / "archives" / "harbour-watch.txt", project / "content" / "harbour-watch.txt")
    config = project / "config" / "digest.toml"
    text = config.read_text(encoding="utf-8").replace("../archives/harbour-watch.txt", "content/harbour-watch.txt")
    text += f'\n[store]\nurl = "{database}"\n'
    text += f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\ntimeout = 5\n'
    text += "\n[delivery]\nretry_base = 0.05\nmax_wait = 5\n"
    text += '\n[bounces]\naddress = "bounces@golden.example"\nunsubscribe_address = "unsubscribe@golden.example"\n'
    config.write_text(text, encoding="utf-8")
    added = cli(config, "newsletters", "add", ADDED, "--name", "Culture Monthly")
    assert added.returncode == 0, added.stderr
    folder = project / "content" / "culture"
    for post in (FIXTURES / "project" / "content" / "posts").iterdir():
        shutil.copy(post, folder / post.name)
    (folder / "gallery.md").write_text(NEXT_POST, encoding="utf-8")
    return config


def install_of(config: Path) -> Config:
    """The install as `digest serve` loads it, with the suite's signing key."""
    return load_config(config, environ={"DIGEST_SECRET_KEY": SECRET})


def copies_to(server: SmtpServer, address: str) -> list[tuple[Received, EmailMessage]]:
    """Every copy the server received for ``address``, parsed, in the order they came."""
    return [(copy, copy.parse()) for copy in server.handler.received if copy.recipient == address]


def list_id_of(message: EmailMessage) -> str:
    """The List-Id's identifier (``culture.golden.example``), without the list's name."""
    found = re.search(r"<([^>]+)>", str(message["List-Id"]))
    assert found is not None, message["List-Id"]
    return found.group(1)


def one_click_url(message: EmailMessage) -> str:
    """The https URI of a copy's List-Unsubscribe (RFC 8058: exactly one)."""
    [url] = [u for u in re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"])) if u.startswith("https://")]
    return url


def on_server(url: str, base: str) -> str:
    """A link of a copy (under the install's base_url) as the live server answers it."""
    assert url.startswith(BASE_URL), url
    return base + url.removeprefix(BASE_URL)


def hard_bounce(copy: Received, message: EmailMessage) -> bytes:
    """The Postfix DSN fixture filled in for one received copy: to its return path, naming its recipient."""
    text = (FIXTURES / "bounces" / "dsn-hard-postfix.eml").read_text(encoding="utf-8")
    mailto = re.search(r"mailto:([^?>]+)", str(message["List-Unsubscribe"]))
    for placeholder, value in {
        "%%TO%%": copy.sender,
        "%%RCPT%%": copy.recipient,
        "%%MSGID%%": str(message["Message-ID"]),
        "%%UNSUB%%": mailto.group(1) if mailto else "",
        "%%ID%%": f"hard-{copy.recipient}-{list_id_of(message)}",
    }.items():
        text = text.replace(placeholder, value)
    return text.replace("\n", "\r\n").encode()
