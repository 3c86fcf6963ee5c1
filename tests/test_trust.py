"""Issue 21: nobody outside can change a subscriber's status, erase an opt-out or act on someone else's links.

Each test reproduces an attack of the audit through public actions (the sign-up form, confirmation links,
expiry, an import), over real HTTP against a real database, and shows it now does nothing.
"""

from __future__ import annotations

import http.client
import re
import socket
import time
import urllib.parse
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest.config import Scope
from digest.models import SubscriberStatus
from digest.models.tokens import address_hash
from digest.store import Store
from digest.web.public import create_public_app

from conftest import LiveServer, http_request, link_token
from mailserver import SmtpServer
from support.settings import overridden
from support.signup import mails_to, sign_up
from support.web import FORM


def status_of(store: Store, address: str) -> SubscriberStatus | None:
    found = store.subscribers.get(address)
    return found.status if found else None


def confirm_link(smtp_server: SmtpServer, address: str) -> str:
    mails = [m for m in mails_to(smtp_server, address) if m["Subject"].startswith("Confirm")]
    assert mails, f"no confirmation mail to {address}"
    found = re.search(r"https://news\.example\.org(/confirm/\S+)", mails[-1].get_content())
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("left", ["unsubscribed", "complained", "bounced"])
def test_a_sign_up_never_erases_an_opt_out(site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer, left: str) -> None:
    """Reproduction: a sign-up for someone who had left turned them pending; expiry deleted the row; a plain
    import then added them back as active. Now they keep their status until they confirm themselves."""
    server, store, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    subscriber, _ = store.subscribers.add("gone@example.org")
    status = SubscriberStatus.BOUNCED if left == "bounced" else SubscriberStatus.UNSUBSCRIBED
    reason = "complained: feedback report" if left == "complained" else f"{left} by test"
    store.subscribers.set_status(subscriber.id, status, reason)
    code, _ = sign_up(server, "gone@example.org", themes)
    assert code == 200
    after = store.subscribers.get("gone@example.org")
    assert after is not None and after.status == status and after.status_reason == reason
    assert store.ledger.enqueue  # (a stranger's sign-up did not make them mailable)
    # The sign-up lapses: the opt-out and its reason stay, the row stays.
    assert store.subscribers.expire_pending(timedelta(seconds=-1)) == 1
    after = store.subscribers.get("gone@example.org")
    assert after is not None and (after.status, after.status_reason) == (status, reason)
    # A plain import never brings them back.
    subscriber_again, created = store.subscribers.add("gone@example.org")
    assert not created and subscriber_again.status == status


def test_the_person_who_left_can_come_back_by_confirming(site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer) -> None:
    server, store, settings = site
    themes = [theme.key for theme in settings.newsletter.themes]  # what the form posts
    subscriber, _ = store.subscribers.add("back@example.org")
    store.subscribers.set_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED, "one-click unsubscribe")
    sign_up(server, "back@example.org", themes[:1])
    assert status_of(store, "back@example.org") == SubscriberStatus.UNSUBSCRIBED
    link = confirm_link(smtp_server, "back@example.org")
    code, _, page = http_request("POST", f"{server.base}{link}", b"", FORM)
    assert code == 200 and "You are subscribed" in page
    assert status_of(store, "back@example.org") == SubscriberStatus.ACTIVE
    assert store.subscribers.themes_of(subscriber.id) == tuple(themes[:1])


def test_a_used_confirmation_link_stays_used(site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer) -> None:
    """Issue 22, item 14. Reproduction: confirm, unsubscribe, sign up again within ten minutes (no new mail):
    the old, used link answered 200 again and re-subscribed. Now it belongs to the sign-up it was mailed for."""
    server, store, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    sign_up(server, "flip@example.org", themes)
    link = confirm_link(smtp_server, "flip@example.org")
    assert http_request("POST", f"{server.base}{link}", b"", FORM)[0] == 200
    found = store.subscribers.get("flip@example.org")
    assert found is not None
    assert settings.install.secret_key is not None
    token = link_token(settings, store, found.id)
    time.sleep(1.1)  # the next sign-up is in a later second than the link was made
    assert http_request("POST", f"{server.base}/u/{token}", b"List-Unsubscribe=One-Click", FORM)[0] == 200
    code, page = sign_up(server, "flip@example.org", themes)
    assert code == 200 and "unless one went to it in the last ten minutes" in page  # what actually happened, for anyone
    assert len([m for m in mails_to(smtp_server, "flip@example.org") if m["Subject"].startswith("Confirm")]) == 1
    code, _, page = http_request("GET", f"{server.base}{link}")
    assert code == 410 and "expired" in page
    assert http_request("POST", f"{server.base}{link}", b"", FORM)[0] == 410
    assert status_of(store, "flip@example.org") == SubscriberStatus.UNSUBSCRIBED


def test_ids_are_never_reused_so_old_links_act_on_nobody(site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer) -> None:
    """Reproduction (SQLite, public actions alone): a sign-up that expired freed the highest id, the next
    sign-up got it, and the first person's links acted on the newcomer. Ids now only grow, on every store."""
    server, store, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    store.subscribers.add("first@example.org")
    sign_up(server, "ghost@example.org", themes)
    ghost = store.subscribers.get("ghost@example.org")
    assert ghost is not None
    assert settings.install.secret_key is not None
    old_link = link_token(settings, store, ghost.id)
    assert store.subscribers.expire_pending(timedelta(seconds=-1)) == 1
    assert store.subscribers.get("ghost@example.org") is None
    sign_up(server, "newcomer@example.org", themes)
    newcomer = store.subscribers.get("newcomer@example.org")
    assert newcomer is not None and newcomer.id > ghost.id
    # The same after `subscribers forget`.
    store.subscribers.forget(newcomer.id, address_hash(settings.install.secret_key, newcomer.email))
    later, _ = store.subscribers.add("later@example.org")
    assert later.id > newcomer.id
    for path in (f"/u/{old_link}", f"/preferences/{old_link}"):
        assert http_request("GET", f"{server.base}{path}")[0] == 404, path
    assert http_request("POST", f"{server.base}/u/{old_link}", b"List-Unsubscribe=One-Click", FORM)[0] == 404
    if store.is_sqlite:
        with store.engine.connect() as conn:
            created = conn.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'subscribers'")).scalar_one()
        assert "AUTOINCREMENT" in created


def test_rate_limits_spend_nothing_on_bad_forms_and_believe_no_forwarded_header(
    site: tuple[LiveServer, Store, Scope], smtp_server: SmtpServer
) -> None:
    """Reproductions: 30 empty POSTs spent the site-wide allowance so the next real person got 429; spoofed
    X-Forwarded-For values sent 26 confirmation mails to one mailbox in a second."""
    server, store, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    for _ in range(40):
        assert http_request("POST", f"{server.base}/subscribe", b"", FORM)[0] == 400
    code, _ = sign_up(server, "real@example.org", themes)
    assert code == 200 and status_of(store, "real@example.org") == SubscriberStatus.PENDING
    # Spoofed client addresses: without serve.trusted_proxies the header is ignored, so one client is one client.
    codes = []
    for n in range(12):
        fields = urllib.parse.urlencode([("email", f"victim+{n}@example.org"), ("theme", themes[0])]).encode()
        codes.append(http_request("POST", f"{server.base}/subscribe", fields, FORM | {"X-Forwarded-For": f"203.0.113.{n}"})[0])
    assert codes.count(429) >= 3, codes
    # One mailbox (its +tags folded) gets at most three sign-ups an hour, from anywhere.
    assert len({m.recipient for m in smtp_server.handler.received if m.recipient.startswith("victim")}) <= 3


def test_a_trusted_proxy_is_believed_and_only_it(delivery_settings: object, smtp_server: SmtpServer) -> None:
    settings: Scope = delivery_settings(smtp_server.port)  # type: ignore[operator]
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    server = LiveServer(create_public_app(overridden(settings, trusted_proxies=("127.0.0.0/8",)), store))
    themes = [theme.name for theme in settings.newsletter.themes]
    try:
        codes = []
        for n in range(14):
            fields = urllib.parse.urlencode([("email", f"p{n}@example.org"), ("theme", themes[0])]).encode()
            # The proxy appends the real client; what the client wrote itself is to the left and ignored.
            forwarded = f"198.51.100.7, 203.0.113.{n}"
            codes.append(http_request("POST", f"{server.base}/subscribe", fields, FORM | {"X-Forwarded-For": forwarded})[0])
        assert codes == [200] * 14  # each a different client behind the proxy: no one shares an allowance
    finally:
        server.stop()


def test_a_chunked_body_is_cut_off_at_the_cap(site: tuple[LiveServer, Store, Scope]) -> None:
    """Reproduction: a chunked body bypassed the form cap (200 MB streamed for 107 s before a 400)."""
    server, _, _ = site
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("POST", "/subscribe")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    chunk = b"note=" + b"a" * 3000 + b"&"  # fields the form parser takes (under its part and field limits)
    sent = 0
    try:
        for _ in range(8000):  # up to 24 MB; the server answers at 16 KB and closes
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
    except OSError:
        pass  # the server answered and closed: what we wanted
    response = connection.getresponse()
    # Cut off: the connection was closed, so the send failed long before 24 MB (the kernel's buffers on loopback
    # take a few MB before the reset reaches us). Before, the server read and discarded all of it.
    assert response.status == 413 and sent < 12_000_000, (response.status, sent)
    connection.close()


def test_names_are_cleaned_of_invisible_and_control_characters(site: tuple[LiveServer, Store, Scope]) -> None:
    server, store, settings = site
    themes = [theme.name for theme in settings.newsletter.themes]
    fields = urllib.parse.urlencode([("email", "bidi@example.org"), ("name", "Ada\u202e\u200bLove\x85lace\u0007"), ("theme", themes[0])])
    assert http_request("POST", f"{server.base}/subscribe", fields.encode(), FORM)[0] == 200
    found = store.subscribers.get("bidi@example.org")
    assert found is not None and found.name == "AdaLovelace", found.name
    from digest.models.csv_formats import read_csv

    [row] = list(read_csv("email,name\nbidi2@example.org,Bo\u2066b\u00ad\x9b\n"))
    assert row.name == "Bob"  # an import cleans the same way


def test_serve_and_preview_refuse_a_taken_port_in_one_line(tmp_path: Path) -> None:
    """Issue 22, item 11: a taken port printed a banner, then uvicorn's traceback, exit 3."""
    import os
    import subprocess
    import sys

    from support.cli import INHERITED, in_process

    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED)} | {"DIGEST_SECRET_KEY": "k" * 32}
    made = in_process(["init", str(tmp_path / "n"), "--name", "N"], env={"DIGEST_SECRET_KEY": "k" * 32}, drop=INHERITED)
    assert made.returncode == 0, made.stderr
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        for command in ("serve", "preview"):
            done = subprocess.run(
                [sys.executable, "-m", "digest", command, "--port", str(port)],
                cwd=tmp_path / "n",
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 2, (command, done.stderr)
            assert f"--host 127.0.0.1 --port {port}: cannot listen there" in done.stderr and "Traceback" not in done.stderr
            assert "Serving" not in done.stderr and "Preview on" not in done.stderr


def test_make_audit_fails_when_it_audited_nothing(tmp_path: Path) -> None:
    """Issue 21 (low). Reproduction: pip-audit printed "No known vulnerabilities found" and exited 0 when every
    pin was "not found … could not be audited". ``make audit`` reads its JSON report with .ci/audit_summary.py."""
    import json
    import subprocess
    import sys

    from conftest import REPO

    def summary(dependencies: list[dict[str, object]], code: str = "0") -> subprocess.CompletedProcess[str]:
        report = tmp_path / "report.json"
        report.write_text(json.dumps({"dependencies": dependencies, "fixes": []}), encoding="utf-8")
        return subprocess.run(
            [sys.executable, str(REPO / ".ci" / "audit_summary.py"), str(report), code], capture_output=True, text=True, check=False
        )

    skipped = [
        {"name": n, "version": "1.0", "skip_reason": f"Dependency not found on PyPI and could not be audited: {n} (1.0)"} for n in "ab"
    ]
    nothing = summary(skipped)
    assert nothing.returncode == 1 and "audited nothing" in nothing.stdout and "0 of 2" in nothing.stdout
    clean = summary([{"name": "a", "version": "1.0", "vulns": []}, *skipped[1:]])
    assert clean.returncode == 0 and "1 of 2 pinned package(s) audited" in clean.stdout and "not audited: b" in clean.stdout
    vulnerable = summary([{"name": "a", "version": "1.0", "vulns": [{"id": "PYSEC-1", "fix_versions": ["1.1"]}]}], "1")
    assert vulnerable.returncode == 1 and "VULNERABLE a 1.0: PYSEC-1 (fixed in 1.1)" in vulnerable.stdout
    assert summary([], "0").returncode == 1  # an empty report audited nothing either
    missing = subprocess.run(
        [sys.executable, str(REPO / ".ci" / "audit_summary.py"), str(tmp_path / "none.json"), "1"], capture_output=True, text=True
    )
    assert missing.returncode == 1 and "nothing was audited" in missing.stdout


def test_a_link_acts_only_on_the_row_it_was_made_for(site: tuple[LiveServer, Store, Scope]) -> None:
    """Issue 21, finding 3, second half: a token is bound to something that changes when the row changes hands, a
    per-subscriber salt in the MAC (v13). A token of the same id without that salt, or with another, names nobody;
    a row from before salts keeps the links already in its mail."""
    from digest.models.tokens import Signer
    from digest.store.schema import subscribers

    server, store, settings = site
    assert settings.install.secret_key is not None
    signer = Signer(settings.install.secret_key, settings.newsletter.list_id)
    reader, _ = store.subscribers.add("row@example.org")
    assert reader.link_salt
    for stale in (signer.token(reader.id), signer.token(reader.id, "another-row")):  # the same id, another row's MAC
        for path in (f"/u/{stale}", f"/preferences/{stale}"):
            assert http_request("GET", f"{server.base}{path}")[0] == 404, path
        assert http_request("POST", f"{server.base}/u/{stale}", b"List-Unsubscribe=One-Click", FORM)[0] == 404
    assert status_of(store, "row@example.org") == SubscriberStatus.ACTIVE
    good = link_token(settings, store, reader.id)
    assert http_request("GET", f"{server.base}/preferences/{good}")[0] == 200
    # A row from before v13 has no salt: the links already delivered to it still work.
    with store.engine.begin() as conn:
        conn.execute(sa.update(subscribers).where(subscribers.c.id == reader.id).values(link_salt=None))
    legacy = signer.token(reader.id)
    assert http_request("POST", f"{server.base}/u/{legacy}", b"List-Unsubscribe=One-Click", FORM)[0] == 200
    assert status_of(store, "row@example.org") == SubscriberStatus.UNSUBSCRIBED
