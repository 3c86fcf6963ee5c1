"""The editions' end-to-end project (issue 35): one newsletter of a weekly, a monthly and a daily edition, a month
of posts in two themes, and the mails a reader got read back from the real SMTP test server."""

from __future__ import annotations

from pathlib import Path

from conftest import write
from mailserver import SmtpServer

CONFIG = """root = "{root}"
[newsletter]
name = "Harbour Notes"
timezone = "Europe/London"
sender = "Harbour Notes <news@harbour.example>"
base_url = "https://harbour.example"
[store]
url = "sqlite:///{root}/digest.sqlite"
[delivery]
backend = "smtp"
retry_base = 0.05
max_wait = 5
[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
timeout = 5
[[sources]]
location = "posts"
[[themes]]
name = "Transport"
tags = ["transport"]
[[themes]]
name = "Housing"
tags = ["housing"]
[editions.weekly]
cron = "0 9 * * fri"
window = "7d"
[editions.monthly]
day = "first friday"
time = "09:00"
window = "previous month"
cap_per_theme = 4
subject = "{{name}}: the month of {{month}}"
[editions.daily]
cron = "0 7 * * *"
window = "24h"
min_posts = 1
"""

# November 2026: the weekly's four Fridays, then the monthly's first Friday of December (covering November).
FRIDAYS = ("2026-11-06T10:00", "2026-11-13T10:00", "2026-11-20T10:00", "2026-11-27T10:00")
MONTHLY = "2026-12-04T10:00"
TRANSPORT = {f"Bus route {n:02d}": f"2026-11-{2 + 2 * n:02d}T10:00:00Z" for n in range(12)}  # the 2nd to the 24th
HOUSING = {f"Flats {n}": f"2026-11-{10 + n:02d}T10:00:00Z" for n in range(3)}


def project(root: Path, port: int) -> Path:
    for theme, posts in (("transport", TRANSPORT), ("housing", HOUSING)):
        for n, (title, when) in enumerate(posts.items()):
            write(
                root / "posts" / f"{theme}{n}.md",
                f'---\ntitle: "{title}"\ndate: {when}\nurl: https://harbour.example/{theme}/{n}\noutlet: "Gazette"\n'
                f"tags: [{theme}]\n---\n\n{title} text.\n",
            )
    return write(root / "config" / "digest.toml", CONFIG.format(root=root, port=port))


def titles_in(text: str) -> set[str]:
    return {title for title in (*TRANSPORT, *HOUSING) if title in text}


def mails_of(server: SmtpServer, address: str, part: str = "plain") -> list[tuple[str, str]]:
    """(subject, the ``part`` text: plain or html) of each mail ``address`` got, in the order received."""
    found = []
    for item in server.handler.received:
        if item.recipient == address:
            message = item.parse()
            body = message.get_body(preferencelist=(part,))
            assert body is not None
            found.append((str(message["Subject"]), body.get_content()))
    return found
