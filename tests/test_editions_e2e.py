"""Editions end to end (issue 35, "Done when"): one weekly and one monthly reader of one newsletter, four weekly slots
and the monthly slot of the same month sent with ``--as-of`` through the real SMTP test server and read back from the
mails; each edition's own issues, runs and readers in the store; an empty daily slot sends nothing and is recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from digest.config import load_settings
from digest.store import Store

from conftest import write
from mailserver import SmtpServer
from support.cli import cli
from support.editions import FRIDAYS, HOUSING, MONTHLY, TRANSPORT, mails_of, project, titles_in


def test_a_weekly_and_a_monthly_reader_of_one_month(tmp_path: Path, smtp_server: SmtpServer) -> None:
    config = project(tmp_path, smtp_server.port)
    for address in ("weekly@example.org", "monthly@example.org", "switcher@example.org"):
        added = cli(config, "subscribers", "add", address)
        assert added.returncode == 0, added.stderr
    unknown = cli(config, "subscribers", "set-edition", "monthly@example.org", "fortnightly")
    assert unknown.returncode == 2 and "weekly, monthly, daily" in unknown.stderr
    chose = cli(config, "subscribers", "set-edition", "monthly@example.org", "monthly")
    assert chose.returncode == 0 and "monthly" in chose.stdout, chose.stderr
    shown = cli(config, "subscribers", "show", "monthly@example.org")
    assert "edition          monthly" in shown.stdout

    for number, friday in enumerate(FRIDAYS):
        if number == 2:  # after two weekly issues, the switcher takes the monthly
            assert cli(config, "subscribers", "set-edition", "switcher@example.org", "monthly").returncode == 0
        sent = cli(config, "send", "--as-of", friday, "--yes")
        assert sent.returncode == 0, sent.stdout + sent.stderr
    weekly = mails_of(smtp_server, "weekly@example.org")
    assert len(weekly) == 4 and mails_of(smtp_server, "monthly@example.org") == []
    carried = [titles_in(text) for _subject, text in weekly]
    # Every post of the month's first four weeks reached the weekly reader, each once (the 24th's bus is the last).
    assert sum(len(titles) for titles in carried) == len(set().union(*carried)) == 15

    # The monthly is not refused for the weekly issues of its days: the overlap rule is the edition's own.
    sent = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    ((subject, text),) = mails_of(smtp_server, "monthly@example.org")
    assert subject == "Harbour Notes: the month of November 2026"
    # A round-up: per theme the strongest up to the cap (4 of 12 buses, the newest first), the rest in the archive.
    assert titles_in(text) == {f"Bus route {n:02d}" for n in (11, 10, 9, 8)} | set(HOUSING)
    assert "and 8 more in the archive" in text and "https://harbour.example/archive/2026-11/" in text
    assert len(mails_of(smtp_server, "weekly@example.org")) == 4  # the monthly went to its own readers only

    # The switcher: two weekly issues, then the monthly less every post those two carried, and every later one of it.
    switched = mails_of(smtp_server, "switcher@example.org")
    assert len(switched) == 3 and switched[2][0] == subject
    had = titles_in(switched[0][1]) | titles_in(switched[1][1])
    assert had == set(carried[0]) | set(carried[1]) and set(HOUSING) <= had
    later = {title for title in titles_in(text) if (TRANSPORT | HOUSING)[title] > "2026-11-13T09:00:00Z"}
    assert titles_in(switched[2][1]) == later == {f"Bus route {n:02d}" for n in (11, 10, 9, 8)}
    assert not titles_in(switched[2][1]) & had and "Housing" not in switched[2][1]  # the theme left with no post goes
    html = mails_of(smtp_server, "switcher@example.org", "html")[2][1]
    assert (
        titles_in(html) == later and ">Housing<" not in html and ">Housing<" in mails_of(smtp_server, "monthly@example.org", "html")[0][1]
    )

    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    try:
        weekly_ids = [summary.id for summary in store.issues.summaries()]
        (monthly_id,) = [summary.id for summary in store.of_edition("monthly").issues.summaries()]
        assert len(weekly_ids) == 4 and monthly_id not in weekly_ids
        # What each reader's last delivered issue covered, recorded with its "sent".
        record = store.subscribers.record_of(store.subscribers.get("monthly@example.org").id)["subscriber"]  # type: ignore[union-attr]
        assert record["edition"] == "monthly" and record["covered_until"].startswith("2026-12-01T00:00")
        record = store.subscribers.record_of(store.subscribers.get("weekly@example.org").id)["subscriber"]  # type: ignore[union-attr]
        assert record["edition"] is None and record["covered_until"].startswith("2026-11-27T09:00")
        record = store.subscribers.record_of(store.subscribers.get("switcher@example.org").id)["subscriber"]  # type: ignore[union-attr]
        assert record["edition"] == "monthly" and record["covered_until"].startswith("2026-12-01T00:00")
    finally:
        store.close()

    status = cli(config, "status", "--edition", "monthly", "--json")
    assert status.returncode == 0, status.stderr
    seen = json.loads(status.stdout)
    assert [issue["issue_id"] for issue in seen["issues"]] == [monthly_id] and seen["issues"][0]["sent"] == 2
    assert seen["scheduler"]["cron"] == "first friday 09:00"  # the edition's rule, not [schedule]'s cron
    assert cli(config, "status", "--edition", "yearly").returncode == 2

    # A daily slot with no post in its last 24 hours (the 30th): nothing sent, the slot recorded as skipped.
    before = len(smtp_server.handler.received)
    once = cli(config, "schedule", "--once", "--as-of", "2026-12-01T07:30")
    assert "harbour-notes:daily: 2026-12-01T07:00:00+00:00: skipped" in once.stdout, once.stdout + once.stderr
    assert len(smtp_server.handler.received) == before
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    try:
        run = store.of_edition("daily").runs.get(datetime(2026, 12, 1, 7, tzinfo=UTC))
        assert run is not None and run.state == "skipped" and run.issue_id is not None
    finally:
        store.close()


def test_an_issue_id_names_its_edition_so_every_issue_hint_works_pasted(tmp_path: Path) -> None:
    """A journey (issue 35): a monthly's paused send said `Resume digest send --issue ID`, which, pasted, was "no stored
    issue" (the look-up searched the first edition only); status and report --issue the same. An id names its edition."""
    import re
    import shlex

    config = project(tmp_path, 1)  # a relay that refuses: the send pauses, as ours, with its resume hint
    assert cli(config, "subscribers", "add", "monthly@example.org").returncode == 0
    assert cli(config, "subscribers", "set-edition", "monthly@example.org", "monthly").returncode == 0
    paused = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--yes")
    resume = re.search(r"`(digest [^`]*send --issue (\S+))`", paused.stdout + paused.stderr)
    assert paused.returncode == 75 and resume is not None, paused.stdout + paused.stderr
    issue = resume.group(2)
    assert "--edition" not in resume.group(1)
    pasted = cli(config, *shlex.split(resume.group(1))[3:], "--dry-run")  # pasted, after "digest --config PATH"
    assert pasted.returncode == 0 and "1 to send" in pasted.stdout, pasted.stdout + pasted.stderr
    for command in (("status", "--issue", issue), ("report", "--issue", issue)):
        shown = cli(config, *command)
        assert shown.returncode == 0 and issue in shown.stdout, shown.stdout + shown.stderr
    # Plain status shows the first edition's issues, and says the others are there and how to see them.
    plain = cli(config, "status")
    assert "Edition     weekly's issues below; also monthly (1 issue(s)), daily (0 issue(s)): `digest" in plain.stdout, plain.stdout
    assert "status --edition monthly`" in plain.stdout
    assert json.loads(cli(config, "status", "--format", "json").stdout)["other_editions"] == [
        {"edition": "monthly", "issues": 1},
        {"edition": "daily", "issues": 0},
    ]
    # A mistyped id lists the most recent of every edition (it said "no issue is stored yet": the weekly has none).
    typo = cli(config, "status", "--issue", "2020-01-01-000000")
    assert typo.returncode == 2 and f"(the most recent: {issue})" in typo.stderr, typo.stderr
    wrong = cli(config, "status", "--edition", "weekly", "--issue", issue)
    assert wrong.returncode == 2 and f"issue {issue} is of the monthly edition: drop --edition" in wrong.stderr


def test_a_send_of_an_empty_day_by_hand_says_there_is_nothing_to_send(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A journey: `send --edition daily` of a day with no post said "Error empty-issue" and "add --force to send anyway",
    as if an empty email were a fault to push through; it says there is nothing to send, and what the scheduler does."""
    config = project(tmp_path, smtp_server.port)
    assert cli(config, "subscribers", "add", "daily@example.org").returncode == 0
    assert cli(config, "subscribers", "set-edition", "daily@example.org", "daily").returncode == 0
    quiet = cli(config, "send", "--edition", "daily", "--as-of", "2026-11-01T07:00", "--yes")
    assert quiet.returncode == 1 and smtp_server.handler.received == []
    said = quiet.stdout + quiet.stderr
    assert "the issue has no posts: there is nothing to send (`digest schedule` skips such a slot and records it" in said, said
    assert "add --force to send anyway" not in said


def test_a_round_up_gmail_would_clip_is_fitted_with_fewer_posts_a_theme(tmp_path: Path) -> None:
    """The round-up bench (issue 35, item 6): 9 sections at the default 8 posts made 169 KB of HTML, which Gmail clips
    at 102 KB: the html-size error refused the send. A round-up is made again with fewer posts a theme until it fits,
    the rest on the month's archive page ("and N more"), and the build says so."""
    import re

    themes = [f"Theme {letter}" for letter in "ABCDEFGHI"]
    text = CONFIG_FOR_FIT.format(root=tmp_path) + "".join(f'[[themes]]\nname = "{t}"\ntags = ["{t[-1].lower()}"]\n' for t in themes)
    config = write(tmp_path / "config" / "digest.toml", text)
    places = ["Harbour", "Library", "Bridge", "Market", "School", "Park", "Station", "Pier", "Mill"]
    deeds = ["opens a wing", "closes early", "wins an award", "loses its roof", "plans a fair", "votes on fees", "is repaired"]
    deeds += ["hosts a choir", "marks a century", "names a mayor"]
    for i, theme in enumerate(themes):
        for n in range(10):
            tag, title = theme[-1].lower(), f"{places[i]} of {theme[-1]}-town {deeds[n]}"
            body = " ".join([f"What the {places[i].lower()} of {theme[-1]}-town did, told at length ({n})."] * 4)
            write(
                tmp_path / "posts" / f"{tag}{n}.md",
                f'---\ntitle: "{title}"\ndate: 2026-11-{1 + (i * 10 + n) % 29:02d}T{8 + n:02d}:00:00Z\n'
                f"url: https://harbour.example/{tag}/{n}\noutlet: Gazette {n % 3}\ntags: [{tag}]\n---\n\n{body}\n",
            )
    built = cli(config, "build", "--edition", "monthly", "--as-of", MONTHLY)
    said = built.stdout + built.stderr
    fitted = re.search(r"the round-up shows (\d) post\(s\) a theme, not cap_per_theme's 8: with 8 its HTML was (\d+) KB", said)
    assert fitted is not None, said
    cap, before = int(fitted.group(1)), int(fitted.group(2))
    assert before > 102 and 1 <= cap < 8
    (html,) = (tmp_path / "out").glob("*/digest.html")
    assert len(html.read_bytes()) <= 102 * 1024 and "html-size" not in said
    assert html.read_text(encoding="utf-8").count(f"and {10 - cap} more in the archive") == len(themes)


def test_a_busy_weeks_issue_gmail_would_clip_goes_out_fitted_and_the_rest_are_in_the_archive(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    """A plain weekly (one edition, no round-up) of a busy week: 4 themes of 25 long posts made an issue over Gmail's
    102 KB, and the html-size error refused its send, so its readers got nothing that week. It is now made with fewer
    posts a theme until it fits, sent, each theme saying "and N more in the archive", and the month's archive page
    lists every post of the week, those left out of the mail included."""
    import re

    themes = ["Harbour", "Schools", "Roads", "Parks"]
    text = CONFIG_FOR_FIT.split("[editions.weekly]")[0].format(root=tmp_path) + (
        f'[delivery]\nbackend = "smtp"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nsecurity = "none"\n'
    )
    text += "".join(f'[[themes]]\nname = "{t}"\ntags = ["{t.lower()}"]\n' for t in themes)
    config = write(tmp_path / "config" / "digest.toml", text)
    for theme in themes:
        for n in range(25):
            body = " ".join([f"The {theme.lower()} committee met again on item {n} and said a great deal about it."] * 5)
            write(
                tmp_path / "posts" / f"{theme.lower()}{n}.md",
                f'---\ntitle: "{theme} item {n} is debated at length"\ndate: 2026-11-{14 + n % 6:02d}T{8 + n % 10:02d}:{n:02d}:00Z\n'
                f"url: https://harbour.example/{theme.lower()}/{n}\noutlet: Gazette {n % 4}\ntags: [{theme.lower()}]\n---\n\n{body}\n",
            )
    assert cli(config, "subscribers", "add", "reader@example.org").returncode == 0
    sent = cli(config, "send", "--as-of", FRIDAYS[2], "--yes")
    said = sent.stdout + sent.stderr
    assert sent.returncode == 0, said
    fitted = re.search(
        r"the issue shows at most (\d+) post\(s\) a theme \(its largest theme has 25\): with them all its HTML was (\d+) KB", said
    )
    assert fitted is not None, said
    cap, before = int(fitted.group(1)), int(fitted.group(2))
    assert before > 102 and 1 <= cap < 25 and "html-size" not in said
    assert f"Posts      {4 * cap}, {4 * (25 - cap)} more in the archive (" in said, said
    built = cli(config, "build", "--as-of", FRIDAYS[2])
    assert f"Section    Harbour ({cap} of 25, {25 - cap} in the archive): " in built.stdout, built.stdout
    ((_, html),) = mails_of(smtp_server, "reader@example.org", "html")
    assert len(html.encode("utf-8")) <= 102 * 1024
    assert html.count(f"and {25 - cap} more in the archive") == len(themes)
    assert "https://harbour.example/archive/2026-11/" in html
    published = cli(config, "publish", str(tmp_path / "site"))
    assert published.returncode == 0, published.stderr
    month = (tmp_path / "site" / "2026-11" / "index.html").read_text(encoding="utf-8")
    for theme in themes:
        assert all(f"https://harbour.example/{theme.lower()}/{n}" in month for n in range(25)), theme


CONFIG_FOR_FIT = """root = "{root}"
[newsletter]
name = "Harbour Notes"
timezone = "Europe/London"
sender = "Harbour Notes <news@harbour.example>"
base_url = "https://harbour.example"
[store]
url = "sqlite:///{root}/digest.sqlite"
[[sources]]
location = "posts"
[output]
dir = "out"
[editions.weekly]
cron = "0 9 * * fri"
window = "7d"
[editions.monthly]
day = "first friday"
window = "previous month"
"""


def test_the_api_lists_shows_and_sends_an_issue_of_any_edition(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """The API (issue 36) with editions (issue 35): an id names its edition, so a monthly's issue is listed (with its
    edition), shown, reported and sent as the weekly's are; its send mails the monthly's readers only."""
    import time

    from support.api import Served, call

    config = project(tmp_path, smtp_server.port)
    for address, edition in (("weekly@example.org", "weekly"), ("monthly@example.org", "monthly")):
        assert cli(config, "subscribers", "add", address).returncode == 0
        assert cli(config, "subscribers", "set-edition", address, edition).returncode == 0
    frozen = cli(config, "build", "--edition", "monthly", "--as-of", MONTHLY, "--freeze")
    assert frozen.returncode == 0, frozen.stdout + frozen.stderr
    # The dry run says why the weekly reader is not counted (a journey: "1 to send of 2 active" said nothing more).
    dry = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--dry-run")
    assert "Recipients 1 to send of 2 active subscriber(s)\n  skipped  1 who get another edition of the newsletter" in dry.stdout
    served = Served(config)
    try:
        token = served.token("crm", "issues:read", "sends:write", "reports:read")
        status, _, listed = call(served.base, "GET", "/api/v1/issues", token)
        (monthly,) = [item for item in listed["items"] if item["edition"] == "monthly"]
        issue = monthly["id"]
        status, _, shown = call(served.base, "GET", f"/api/v1/issues/{issue}", token)
        assert status == 200 and shown["edition"] == "monthly", shown
        status, _, plan = call(served.base, "POST", "/api/v1/sends", token, {"issue": issue, "dry_run": True})
        assert status == 200 and plan["to_send"] == 1, plan
        status, _, plan = call(served.base, "POST", "/api/v1/sends", token, {"issue": issue, "dry_run": False})
        assert status == 202 and plan["started"], plan
        for _ in range(200):
            status, _, progress = call(served.base, "GET", f"/api/v1/sends/{issue}", token)
            if progress["complete"] and not progress["running"]:
                break
            time.sleep(0.05)
        assert progress["deliveries"]["sent"] == 1, progress
        assert [item.recipient for item in smtp_server.handler.received] == ["monthly@example.org"]
        assert call(served.base, "GET", f"/api/v1/reports?issue={issue}", token)[0] == 200
    finally:
        served.stop()


def test_approving_a_monthly_by_its_id_approves_it_as_frozen(tmp_path: Path) -> None:
    """`approve --issue ID` of another edition's issue: the use cases were made of the first edition before the id
    named its edition, so the approval compared (and could rebuild) the monthly as a weekly of the same window."""
    config = project(tmp_path, 1)
    config.write_text(config.read_text(encoding="utf-8") + '[schedule]\napproval = "required"\n', encoding="utf-8")
    frozen = cli(config, "build", "--edition", "monthly", "--as-of", MONTHLY, "--freeze")
    assert frozen.returncode == 0, frozen.stdout + frozen.stderr
    settings = load_settings(config, environ={})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    try:
        (issue,) = store.of_edition("monthly").issues.summaries()
        approved = cli(config, "approve", "--issue", issue.id, "--by", "Ed")
        assert approved.returncode == 0, approved.stdout + approved.stderr
        assert f"Approved   {issue.id} {issue.subject!r} by Ed" in approved.stdout
        after = store.of_edition("monthly").issues.load(issue.id)
        assert after is not None and after.subject == issue.subject == "Harbour Notes: the month of November 2026"
        assert store.issues.summaries() == []  # nothing made of the weekly edition
    finally:
        store.close()
