"""Databases as earlier releases left them, made by the revision chain itself (never by hand-written DDL), with a
subscriber list, issues, links, deliveries, schedule runs and returns in them: what an upgrade must keep."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from digest.store import migrations
from digest.store.engine import create_engine

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
OLD_ISSUES = ("2026-11-07-aaaaaa", "2026-11-14-bbbbbb")  # ids as releases before several newsletters made them
READERS = ("ada@example.org", "Bo@Example.org", "cy@example.org")


@dataclass(frozen=True, slots=True)
class OldRows:
    """What was put in: subscriber ids by address, and each issue's window."""

    subscribers: dict[str, int]
    windows: dict[str, tuple[datetime, datetime]]


def old_database(url: str, revision: str) -> OldRows:
    """The database at ``url`` brought to ``revision`` (v16 or later: the columns used here exist from it) and filled:
    three subscribers (one unsubscribed), two issues a week apart with a counted link each, their deliveries, a
    schedule run per issue and a bounce."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            migrations.upgrade(conn, revision)
            return _fill(conn)
    finally:
        engine.dispose()


def _fill(conn: sa.Connection) -> OldRows:
    stamp = T0.isoformat(timespec="microseconds")
    ids: dict[str, int] = {}
    for number, address in enumerate(READERS):
        status = "unsubscribed" if number == 2 else "active"
        conn.execute(
            sa.text(
                "INSERT INTO subscribers (email, email_key, name, status, created_at, updated_at, themes, link_salt) "
                "VALUES (:email, :key, :name, :status, :at, :at, :themes, :salt)"
            ),
            {
                "email": address,
                "key": address.casefold(),
                "name": f"Reader {number}",
                "status": status,
                "at": stamp,
                "themes": '["harbour"]' if number == 0 else None,
                "salt": f"salt{number}",
            },
        )
        ids[address] = int(
            conn.execute(sa.text("SELECT id FROM subscribers WHERE email_key = :key"), {"key": address.casefold()}).scalar_one()
        )
    windows: dict[str, tuple[datetime, datetime]] = {}
    for week, issue in enumerate(OLD_ISSUES):
        start, end = T0 + timedelta(days=7 * week - 7), T0 + timedelta(days=7 * week)
        windows[issue] = (start, end)
        conn.execute(
            sa.text(
                "INSERT INTO issues (id, window_start, window_end, subject, preheader, html, text, post_ids, checks, created_at) "
                "VALUES (:id, :start, :end, :subject, '', '<p>hi</p>', 'hi', '[]', '[]', :at)"
            ),
            {"id": issue, "start": _iso(start), "end": _iso(end), "subject": f"Week {week}", "at": stamp},
        )
        conn.execute(
            sa.text(
                "INSERT INTO links (issue_id, number, post_id, url, theme, clicks) VALUES (:id, 1, 'p1', 'https://example.org/a', 'Harbour', 4)"
            ),
            {"id": issue},
        )
        conn.execute(
            sa.text("INSERT INTO schedule_runs (slot, issue_id, state, started_at, finished_at) VALUES (:slot, :id, 'sent', :at, :at)"),
            {"slot": _iso(end), "id": issue, "at": stamp},
        )
        for address in READERS[:2]:
            conn.execute(
                sa.text(
                    "INSERT INTO deliveries (issue_id, subscriber_id, state, attempts, created_at, updated_at, sent_at) "
                    "VALUES (:id, :sub, 'sent', 1, :at, :at, :at)"
                ),
                {"id": issue, "sub": ids[address], "at": stamp},
            )
    conn.execute(
        sa.text(
            "INSERT INTO mail_events (key, kind, subscriber_id, issue_id, status, diagnostic, received_at) "
            "VALUES ('m1', 'soft', :sub, :id, '4.2.2', 'mailbox full', :at)"
        ),
        {"sub": ids[READERS[1]], "id": OLD_ISSUES[0], "at": stamp},
    )
    return OldRows(subscribers=ids, windows=windows)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")
