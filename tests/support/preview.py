"""The editor preview's page: its week, as the page's query, and the token of its forms; an install of two
newsletters for the preview's switcher."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import LiveServer, http_request

WINDOW = "since=2025-02-24&until=2025-03-03"


def page_token(server: LiveServer) -> str:
    """The token the preview page puts in its forms, read off the page as a browser would."""
    code, _, page = http_request("GET", f"{server.base}/?{WINDOW}")
    assert code == 200
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None, "the page has no token in its form"
    return match.group(1)


CULTURE = "culture"
FIRST = "golden-gazette"
# The fixture week's one post of the added newsletter, and one of its coming issue (dated when the test runs).
CULTURE_POST = """---
title: The harbour choir sings Bach
date: 2025-02-26T18:00:00Z
url: https://golden.example/culture/choir
---
The harbour choir gives its winter concert in the old fish market: Bach's motets, free, with soup after.
"""
COMING_POST = """---
title: {title}
date: {date}
url: https://golden.example/culture/gallery
---
The gallery on the harbour wall reopens with a show of boats and ferries painted by the town's children.
"""


def two_newsletter_project(tmp_path: Path, *, approval: bool = False) -> Path:
    """The editable fixture project (the Golden Gazette) and a Culture Monthly added beside it as ``newsletters add``
    adds one, whose folder holds one post of the fixture week and one of its coming issue. ``approval``: both require
    an editor's approval. Returns config/digest.toml."""
    from datetime import UTC, datetime, timedelta

    from digest.app.newsletters import add_newsletter
    from digest.config import load_config

    from support.project import make_project

    config = make_project(tmp_path)
    if approval:
        config.write_text(
            config.read_text(encoding="utf-8") + '\n[schedule]\ncron = "0 9 * * mon"\napproval = "required"\n', encoding="utf-8"
        )
    added = add_newsletter(load_config(config), CULTURE, "Culture Monthly")
    text = added.config_file.read_text(encoding="utf-8")
    if approval:
        assert 'approval = "none"' in text
        added.config_file.write_text(text.replace('approval = "none"', 'approval = "required"'), encoding="utf-8")
    folder = config.parent.parent / "content" / CULTURE
    (folder / "choir.md").write_text(CULTURE_POST, encoding="utf-8")
    coming = (datetime.now(UTC) - timedelta(minutes=2)).isoformat(timespec="seconds")
    (folder / "gallery.md").write_text(COMING_POST.format(title="The harbour gallery reopens", date=coming), encoding="utf-8")
    return config


def token_of(page: str) -> str:
    """The token a page's forms carry."""
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None, "the page has no token in its form"
    return match.group(1)
