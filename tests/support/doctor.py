"""What ``digest doctor``'s tests share: a domain's zone as it should be (SPF naming the relay, the DKIM keys,
DMARC), the settings that send from it, and a small HTTPS server standing for the public app behind its proxy."""

from __future__ import annotations

import http.server
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from digest.config.keys import DkimKey, DkimSigner, load_key
from digest.mail.dkim import new_key

from support.dnsserver import Records, txt
from support.serving import serve_in_thread

DOMAIN = "example.org"
RELAY, RELAY_IP = "relay.example.org", "192.0.2.25"  # TEST-NET-1: an address nothing is sent to
WEB = "www.example.org"  # the base URL's host: 127.0.0.1 in the zone, where the HTTPS server listens


def keys(folder: Path, domain: str = DOMAIN) -> DkimSigner:
    """An RSA key (selector "news") and an Ed25519 one ("ed"), written in ``folder`` and loaded as the config would."""
    loaded = []
    for selector, kind in (("news", "rsa"), ("ed", "ed25519")):
        path = folder / f"{selector}.pem"
        if not path.exists():
            path.write_bytes(new_key(kind))
        loaded.append(load_key(path, domain=domain, selector=selector))
    return DkimSigner(tuple(loaded))


def good_zone(signer: DkimSigner) -> Records:
    """SPF naming the relay, each key published, DMARC p=reject, MX, and the records that only inform."""
    records: Records = {
        (DOMAIN, "TXT"): [txt(f"v=spf1 mx ip4:{RELAY_IP} -all")],
        (DOMAIN, "MX"): [f"10 mail.{DOMAIN}."],
        (f"mail.{DOMAIN}", "A"): ["192.0.2.26"],
        (RELAY, "A"): [RELAY_IP],
        (WEB, "A"): ["127.0.0.1"],
        (f"_dmarc.{DOMAIN}", "TXT"): [txt("v=DMARC1; p=reject; rua=mailto:dmarc@example.org")],
        (f"_mta-sts.{DOMAIN}", "TXT"): [txt("v=STSv1; id=20261206")],
        (f"_smtp._tls.{DOMAIN}", "TXT"): [txt("v=TLSRPTv1; rua=mailto:tls@example.org")],
    }
    for key in signer.keys:
        records[(f"{key.selector}._domainkey.{key.domain}", "TXT")] = [txt(key.public_record())]
    return records


def dkim_name(key: DkimKey) -> str:
    return f"{key.selector}._domainkey.{key.domain}"


@dataclass
class PublicApp:
    """An HTTPS server answering /healthz and the one-click POST to /u/test; what it was asked, recorded."""

    port: int
    requests: list[tuple[str, str, bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"https://{WEB}:{self.port}"


@contextmanager
def https_app(ca: Any, *, catch_all: bool = False) -> Iterator[PublicApp]:
    """``ca``: a trustme CA; the server's certificate is for WEB. ``catch_all``: another site there, answering
    every path with 200 and its page (a single-page app's rewrite), as digest's app never does."""
    app = PublicApp(0)

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, method: str) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            app.requests.append((method, self.path, self.rfile.read(size) if size else b""))
            known = catch_all or (method, self.path) in (("GET", "/healthz"), ("POST", "/u/test"))
            body = b"<!doctype html><title>Our site</title>" if catch_all else b'{"status": "ok"}' if self.path == "/healthz" else b""
            self.send_response(200 if known else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self.answer("GET")

        def do_POST(self) -> None:
            self.answer("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(WEB).configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    app.port = int(server.server_address[1])
    serve_in_thread(server)
    try:
        yield app
    finally:
        server.shutdown()
        server.server_close()
