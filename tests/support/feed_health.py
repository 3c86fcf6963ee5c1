"""A newsletter reading one feed from the test's own HTTP server, and the RSS documents that server serves: as the
feed first was, failing, gone quiet, or reissuing its posts under new GUIDs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from conftest import write


@dataclass(frozen=True)
class Item:
    title: str
    url: str
    guid: str
    published: datetime


def rss(*items: Item) -> bytes:
    """An RSS 2.0 document of ``items``, each with its own GUID (not a permalink: the address is the link)."""
    entries = "".join(
        f"<item><title>{escape(item.title)}</title><link>{escape(item.url)}</link>"
        f'<guid isPermaLink="false">{escape(item.guid)}</guid><pubDate>{format_datetime(item.published)}</pubDate>'
        f"<description>{escape(item.title)}: the story.</description></item>"
        for item in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour News</title>{entries}</channel></rss>'.encode()


def feed_config(root: Path, feed_url: str) -> Path:
    """A newsletter folder whose one source is ``feed_url``, with its own SQLite store (meaning off: keywords)."""
    return write(
        root / "config" / "digest.toml",
        f'root = ".."\n\n[newsletter]\nname = "Harbour Notes"\ntimezone = "UTC"\nlanguage = "en-GB"\n'
        'sender = "Harbour Notes <news@harbour.example>"\nbase_url = "https://harbour.example"\n\n'
        f'[[sources]]\nlocation = "{feed_url}"\nkind = "feed"\n\n'
        f'[store]\nurl = "sqlite:///{root / "digest.sqlite"}"\n\n'
        '[grouping]\nmeaning = "off"\n\n[[themes]]\nname = "Harbour"\nkey = "harbour"\nkeywords = ["harbour", "ferry"]\n',
    )
