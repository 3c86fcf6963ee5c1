"""Two newsletters in one install, end to end (issue 34): real sends through a real SMTP server, the mail read back
(List-Id, issue ids, links under each newsletter's path), RFC 8058 one-click POSTs and the preferences page over real
HTTP to `digest serve`'s app, a hard bounce fed to `digest bounces process`, and two PostgreSQL workers sending the
two newsletters' issues at once. On SQLite and on PostgreSQL (skipped where no server answers)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from digest.models import SubscriberStatus
from digest.store import Store
from digest.web.public import create_public_app

from conftest import LiveServer, http_request
from mailserver import SmtpServer
from support.cli import cli, popen
from support.two_newsletters import (
    ADDED,
    FIRST,
    NEXT_WINDOW,
    WINDOW,
    copies_to,
    hard_bounce,
    install_of,
    list_id_of,
    on_server,
    one_click_url,
    two_newsletter_install,
)

ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ADA, BO, CY = "ada@example.org", "bo@example.org", "cy@example.org"  # each on both newsletters


class Boxes(HTMLParser):
    """The newsletter boxes of a preferences page: value → ticked."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, bool] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name") == "newsletter" and values.get("value"):
            self.found[str(values["value"])] = "checked" in values


def boxes_of(page: str) -> dict[str, bool]:
    parser = Boxes()
    parser.feed(page)
    return parser.found


def status(config: Path, slug: str, address: str) -> SubscriberStatus:
    url = install_of(config).install.database_url
    store = Store.open(url, newsletter=slug)
    try:
        found = store.subscribers.get(address)
        assert found is not None, (slug, address)
        return SubscriberStatus(found.status)
    finally:
        store.close()


def send(config: Path, slug: str, *window: str) -> None:
    sent = cli(config, "--newsletter", slug, "send", *window, "--yes")
    assert sent.returncode == 0, sent.stdout + sent.stderr


@pytest.fixture
def install(tmp_path: Path, smtp_server: SmtpServer, database_url: str) -> Path:
    config = two_newsletter_install(tmp_path, smtp_server.port, database_url)
    for slug in (FIRST, ADDED):
        for address in (ADA, BO, CY):
            added = cli(config, "--newsletter", slug, "subscribers", "add", address)
            assert added.returncode == 0, added.stderr
    return config


@pytest.fixture
def served(install: Path) -> Iterator[LiveServer]:
    """`digest serve`'s app over every newsletter of the install, on a real server."""
    whole = install_of(install)
    scopes = whole.scopes()
    store = Store.open(whole.install.database_url, newsletter=scopes[0].newsletter.slug)
    server = LiveServer(create_public_app(scopes[0], store, newsletters=scopes), proxy_headers=False)
    yield server
    server.stop()
    store.close()


def test_two_newsletters_one_person_two_issues_one_click_on_one_a_bounce_on_both(
    install: Path, served: LiveServer, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    config = install
    send(config, FIRST, *WINDOW)
    send(config, ADDED, *WINDOW)

    # Two messages to one person, from two newsletters with the same window: two issue ids, two List-Ids.
    copies = {list_id_of(message): (copy, message) for copy, message in copies_to(smtp_server, ADA)}
    assert set(copies) == {"golden-gazette.golden.example", "culture.golden.example"}
    gazette, culture = copies["golden-gazette.golden.example"][1], copies["culture.golden.example"][1]
    issue_of = {name: str(message["Feedback-ID"]).split(":")[0] for name, (_, message) in copies.items()}
    assert len(set(issue_of.values())) == 2 and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}-[0-9a-f]{6}", i) for i in issue_of.values())
    assert str(gazette["Feedback-ID"]).split(":")[1] == "golden-gazette" and str(culture["Feedback-ID"]).split(":")[1] == "culture"
    # The first newsletter's links are where they always were; the added one's under its path.
    assert one_click_url(gazette).startswith("https://golden.example/u/")
    assert one_click_url(culture).startswith("https://golden.example/culture/u/")

    # Each archive (and its Atom feed) is its own newsletter's, under its path; "/culture" leads to it.
    for prefix, name in (("", "golden-gazette.golden.example"), ("/culture", "culture.golden.example")):
        other = next(issue for key, issue in issue_of.items() if key != name)
        for path in ("/archive/", "/archive/feed.atom"):
            code, _, body = http_request("GET", f"{served.base}{prefix}{path}")
            assert code == 200 and issue_of[name] in body and other not in body, (prefix, path)
        code, _, body = http_request("GET", f"{served.base}{prefix}/archive/{issue_of[name]}/")
        assert code == 200 and http_request("GET", f"{served.base}{prefix}/archive/{other}/")[0] == 404
    code, _, body = http_request("GET", f"{served.base}/culture")  # redirected (by path) to its archive
    assert code == 200 and issue_of["culture.golden.example"] in body

    # Ada's preferences page (reached by either newsletter's link) lists both newsletters, both ticked.
    page = on_server(one_click_url(culture).replace("/culture/u/", "/culture/preferences/"), served.base)
    code, _, body = http_request("GET", page)
    assert code == 200 and boxes_of(body) == {FIRST: True, ADDED: True}

    # A token of one newsletter never acts under another's path.
    wrong = on_server(one_click_url(culture).replace("/culture/u/", "/u/"), served.base)
    assert http_request("POST", wrong, ONE_CLICK, FORM)[0] == 404
    assert status(config, ADDED, ADA) == SubscriberStatus.ACTIVE

    # RFC 8058 one-click on Ada's Gazette copy ends that subscription alone; Cy leaves Culture by its copy.
    assert http_request("POST", on_server(one_click_url(gazette), served.base), ONE_CLICK, FORM)[0] == 200
    cy_culture = next(m for _, m in copies_to(smtp_server, CY) if list_id_of(m).startswith("culture"))
    assert http_request("POST", on_server(one_click_url(cy_culture), served.base), ONE_CLICK, FORM)[0] == 200
    assert status(config, FIRST, ADA) == SubscriberStatus.UNSUBSCRIBED and status(config, ADDED, ADA) == SubscriberStatus.ACTIVE
    assert status(config, FIRST, CY) == SubscriberStatus.ACTIVE and status(config, ADDED, CY) == SubscriberStatus.UNSUBSCRIBED
    code, _, body = http_request("GET", page)
    assert code == 200 and boxes_of(body) == {FIRST: False, ADDED: True}

    # Culture's next issue reaches Ada (still on it), not Cy (who left it).
    before = len(smtp_server.handler.received)
    send(config, ADDED, *NEXT_WINDOW)
    later = [copy.recipient for copy in smtp_server.handler.received[before:]]
    assert sorted(later) == [ADA, BO]

    # A hard bounce of Bo's Culture copy, processed without --newsletter (the install's command, whose first scope is
    # the Gazette), stops Bo on both newsletters and is counted against Culture's issue.
    bo_copy, bo_message = next((c, m) for c, m in copies_to(smtp_server, BO) if list_id_of(m).startswith("culture"))
    dsn = tmp_path / "bounce.eml"
    dsn.write_bytes(hard_bounce(bo_copy, bo_message))
    processed = cli(config, "bounces", "process", str(dsn))
    assert processed.returncode == 0, processed.stderr
    culture_issue = str(bo_message["Feedback-ID"]).split(":")[0]
    assert f"for {BO}, issue {culture_issue}" in processed.stdout, processed.stdout
    assert "also stopped on golden-gazette" in processed.stdout, processed.stdout
    assert status(config, FIRST, BO) == SubscriberStatus.BOUNCED and status(config, ADDED, BO) == SubscriberStatus.BOUNCED


def test_the_unsubscribe_page_offers_every_newsletter_and_the_boxes_bring_one_back(
    install: Path, served: LiveServer, smtp_server: SmtpServer
) -> None:
    config = install
    send(config, ADDED, *WINDOW)
    [(_, culture)] = copies_to(smtp_server, ADA)
    url = on_server(one_click_url(culture), served.base)
    code, _, body = http_request("GET", url)
    assert code == 200 and 'name="scope" value="all"' in body and "from this newsletter" in body
    assert http_request("POST", url, b"scope=all", FORM)[0] == 200
    assert status(config, FIRST, ADA) == SubscriberStatus.UNSUBSCRIBED and status(config, ADDED, ADA) == SubscriberStatus.UNSUBSCRIBED

    # Ticking the Gazette again on the page (its double-submit token) makes Ada a reader of it again: she had joined it.
    page = url.replace("/culture/u/", "/culture/preferences/")
    code, headers, body = http_request("GET", page)
    assert code == 200 and boxes_of(body) == {FIRST: False, ADDED: False}
    csrf = re.search(r'name="csrf" value="([^"]+)"', body)
    cookie = headers.get("set-cookie") or headers.get("Set-Cookie") or ""
    assert csrf is not None and cookie
    form = f"csrf={csrf.group(1)}&form=newsletters&newsletter={FIRST}".encode()
    code, _, body = http_request("POST", page, form, {**FORM, "Cookie": cookie.split(";")[0]})
    assert code == 200 and boxes_of(body) == {FIRST: True, ADDED: False}
    assert status(config, FIRST, ADA) == SubscriberStatus.ACTIVE and status(config, ADDED, ADA) == SubscriberStatus.UNSUBSCRIBED
    # Without the page's token nothing changes.
    forged = http_request("POST", page, f"form=newsletters&newsletter={ADDED}".encode(), FORM)
    assert forged[0] == 403 and status(config, ADDED, ADA) == SubscriberStatus.UNSUBSCRIBED


def test_two_workers_send_the_two_newsletters_at_once_losing_and_doubling_nothing(
    tmp_path: Path, smtp_server: SmtpServer, postgres_url: str
) -> None:
    config = two_newsletter_install(tmp_path, smtp_server.port, postgres_url)
    readers = [f"r{n:03d}@example.org" for n in range(150)]
    url = install_of(config).install.database_url
    for slug in (FIRST, ADDED):
        store = Store.open(url, newsletter=slug)
        for address in readers:
            store.subscribers.add(address)
        store.close()
    workers = [popen(config, "--newsletter", slug, "send", "--worker", *WINDOW, "--yes") for slug in (FIRST, ADDED)]
    for process in workers:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
    per_list: Counter[tuple[str, str]] = Counter()
    for copy in smtp_server.handler.received:
        per_list[(copy.recipient, list_id_of(copy.parse()))] += 1
    assert len(per_list) == 2 * len(readers)  # nobody lost, on either newsletter
    assert set(per_list.values()) == {1}  # nobody sent twice


def test_a_sign_up_on_the_added_newsletters_page_joins_that_newsletter_alone(
    install: Path, served: LiveServer, smtp_server: SmtpServer
) -> None:
    config = install
    code, headers, page = http_request("GET", f"{served.base}/culture/subscribe")
    assert code == 200 and 'action="/culture/subscribe"' in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    cookie = {k.lower(): v for k, v in headers.items()}["set-cookie"]
    assert csrf is not None and "Path=/culture/subscribe" in cookie
    form = f"email=dee%40example.org&name=Dee&theme=news&csrf={csrf.group(1)}".encode()
    assert http_request("POST", f"{served.base}/culture/subscribe", form, {**FORM, "Cookie": cookie.split(";")[0]})[0] == 200
    [(_, mail)] = copies_to(smtp_server, "dee@example.org")
    text = mail.get_body(("plain",))
    assert text is not None
    link = re.search(r"https://golden\.example/culture/confirm/\S+", text.get_content())
    assert link is not None  # the confirmation link is under the newsletter's path
    # Under the other newsletter's path it is not recognised; under its own it confirms.
    assert http_request("POST", on_server(link.group(0).replace("/culture/confirm/", "/confirm/"), served.base))[0] == 404
    assert http_request("POST", on_server(link.group(0), served.base))[0] == 200
    assert status(config, ADDED, "dee@example.org") == SubscriberStatus.ACTIVE
    gazette = Store.open(install_of(config).install.database_url, newsletter=FIRST)
    try:
        assert gazette.subscribers.get("dee@example.org") is None  # never joined: not the Gazette's
    finally:
        gazette.close()
