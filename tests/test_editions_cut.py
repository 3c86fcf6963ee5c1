"""The reader's cut (issue 35) as a send and its dry run see it, through the real SMTP test server: a reader who switched
edition gets the posts their weekly issues did not carry, their plain text lists no link of a post left out, and a
reader the cut leaves nothing is skipped; ``send --dry-run`` says so before the send, in the send's own words."""

from __future__ import annotations

import re
from pathlib import Path

from mailserver import SmtpServer
from support.cli import cli
from support.editions import FRIDAYS, MONTHLY, mails_of, project

_LINK = re.compile(r"^\[(\d+)\] (\S+)$", re.MULTILINE)


def links_of(text: str) -> list[str]:
    """The URLs of the plain text's list of links, checked numbered 1, 2, … in order."""
    found = _LINK.findall(text.replace("\r\n", "\n"))
    assert [int(number) for number, _url in found] == list(range(1, len(found) + 1))
    return [url for _number, url in found]


def test_a_switched_readers_copy_lists_no_link_of_a_post_cut_and_the_dry_run_counts_the_cut(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    config = project(tmp_path, smtp_server.port)
    # The month's twelve buses all fit: the round-up holds the posts the switchers' weekly issues carried.
    config.write_text(config.read_text(encoding="utf-8").replace("cap_per_theme = 4", "cap_per_theme = 12"), encoding="utf-8")
    for address in ("monthly@example.org", "early@example.org", "late@example.org"):
        assert cli(config, "subscribers", "add", address).returncode == 0
    assert cli(config, "subscribers", "set-edition", "monthly@example.org", "monthly").returncode == 0
    for number, friday in enumerate(FRIDAYS):
        if number == 1:  # one weekly issue (buses 00 and 01), then the monthly
            assert cli(config, "subscribers", "set-edition", "early@example.org", "monthly").returncode == 0
        sent = cli(config, "send", "--as-of", friday, "--yes")
        assert sent.returncode == 0, sent.stdout + sent.stderr
    # Four weekly issues carried every post of November: the monthly has nothing left for this reader.
    assert cli(config, "subscribers", "set-edition", "late@example.org", "monthly").returncode == 0
    (early_weekly,) = mails_of(smtp_server, "early@example.org")
    carried = set(links_of(early_weekly[1]))
    assert {"https://harbour.example/transport/0", "https://harbour.example/transport/1"} <= carried

    dry = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--dry-run", "--recipients")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "Recipients 3 to send of 3 active subscriber(s)" in dry.stdout
    assert "of which 1 get their copy less the posts their last issue (of another edition) carried" in dry.stdout
    assert "of which 1 will be skipped: no posts in the themes they chose" in dry.stdout
    assert "early@example.org: gets every theme, less 2 post(s) an earlier issue of theirs carried" in dry.stdout
    assert "late@example.org: skipped: no posts in the themes they chose" in dry.stdout
    assert "monthly@example.org: gets every theme" in dry.stdout
    assert "get only the themes they chose" not in dry.stdout  # the early switcher chose every theme: only the cut differs

    before = len(smtp_server.handler.received)
    sent = cli(config, "send", "--edition", "monthly", "--as-of", MONTHLY, "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert len(smtp_server.handler.received) == before + 2  # as the dry run said: the late switcher is skipped
    assert len(mails_of(smtp_server, "late@example.org")) == 4
    ((_subject, whole),) = mails_of(smtp_server, "monthly@example.org")
    early = mails_of(smtp_server, "early@example.org")[1][1]
    every = links_of(whole)
    assert {"https://harbour.example/transport/0", "https://harbour.example/transport/1"} <= set(every)
    # The early switcher's list: the whole issue's less exactly the two posts cut, numbered again from 1.
    cut_posts = {"https://harbour.example/transport/0", "https://harbour.example/transport/1"}
    assert links_of(early) == [url for url in every if url not in cut_posts]
    for number in range(1, len(links_of(early)) + 1):
        assert f"[{number}]" in early.replace("\r\n", "\n").split("\nLINKS\n")[0]  # each listed link is one the copy shows
