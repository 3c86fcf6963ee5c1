"""A webhook receiver on 127.0.0.1 that checks each delivery as the Standard Webhooks specification says, written
from the specification (standardwebhooks.com), not from digest's own signing code, so the two check each other."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from support.serving import serve_in_thread

TOLERANCE = 5 * 60  # seconds: the specification's advice for how old a timestamp may be


def verify(shown_secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """Whether ``body`` with ``headers`` is signed with the secret shown as ``whsec_…``: some ``v1,`` signature in
    webhook-signature (space-separated) is base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), and the timestamp is
    within five minutes of ``now``."""
    assert shown_secret.startswith("whsec_")
    key = base64.b64decode(shown_secret.removeprefix("whsec_"))
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id, stamp, given = lowered.get("webhook-id"), lowered.get("webhook-timestamp"), lowered.get("webhook-signature")
    if not (message_id and stamp and given) or not stamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE:
        return False
    content = message_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for signature in given.split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


@dataclass
class Received:
    message_id: str
    event: dict[str, Any]
    verified: bool
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Receiver:
    """Answers 2xx to each POST (``failing``: that many 503s first), recording each delivery and whether its
    signature verifies with ``secret`` (set once the endpoint is added)."""

    port: int = 0
    secret: str = ""
    failing: int = 0
    manner: str = "prompt"  # "hangs": answers after 3 s; "at length": a 500 with 2 MB of body
    received: list[Received] = field(default_factory=list)
    hits: int = 0

    def __post_init__(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.hits += 1
                if receiver.manner == "hangs":
                    time.sleep(3)
                if receiver.manner == "at length":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"x" * 2_000_000)
                    return
                if receiver.failing > 0:
                    receiver.failing -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                headers = dict(self.headers.items())
                receiver.received.append(
                    Received(
                        headers.get("webhook-id", ""),
                        json.loads(body),
                        verify(receiver.secret, headers, body) if receiver.secret else False,
                        body,
                        headers,
                    )
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.thread = serve_in_thread(self.server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def types(self) -> list[str]:
        return [item.event["type"] for item in self.received]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A port nothing listens on (yet): a receiver that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
