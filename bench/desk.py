"""The editor's desk: one action (click → issue file written → email frame updated) beside a plain rebuild.

The preview runs for real (uvicorn on 127.0.0.1) on a copy of the sample
project; each action is the POST the page's Exclude/Include button makes,
then the two GETs the browser makes after the redirect: the page (which
rebuilds the issue) and the email frame.
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import uvicorn

from digest.web.preview import create_preview_app

from common import ROOT

TARGET_MS = 300
QUERY = "as_of=2026-11-20T09%3A00"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _serve(config: Path) -> tuple[uvicorn.Server, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_preview_app(config, watch=False), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode("utf-8"))


def bench_desk(rows: list[str], runs: int = 9) -> None:
    project = Path(tempfile.mkdtemp()) / "sample"
    for name in ("config", "content"):
        shutil.copytree(ROOT / name, project / name)
    config = project / "config" / "digest.toml"
    text = config.read_text(encoding="utf-8")
    assert 'url = "sqlite:///digest.sqlite"' in text
    config.write_text(text.replace('url = "sqlite:///digest.sqlite"', f'url = "sqlite:///{project / "db.sqlite"}"'), encoding="utf-8")
    server, base = _serve(config)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        page = _get(f"{base}/?{QUERY}")
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        ref = re.search(r'<tr id="post-[0-9a-f]+" data-ref="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        rebuilds, actions = [], []
        for n in range(runs):
            # A plain rebuild: the same slot asked for at a moment not seen before, so nothing comes from the cache.
            fresh = f"as_of=2026-11-20T09%3A00%3A{n + 1:02d}"
            started = time.perf_counter()
            _get(f"{base}/?{fresh}")
            _get(f"{base}/email.html?{fresh}")
            rebuilds.append(time.perf_counter() - started)
            # An editor's action: the button's POST, then what the browser loads after the redirect.
            fields = {"csrf": token, "post": ref, "action": "exclude" if n % 2 == 0 else "include", "as_of": "2026-11-20T09:00"}
            started = time.perf_counter()
            request = urllib.request.Request(f"{base}/desk/post", data=urllib.parse.urlencode(fields).encode(), method="POST")
            try:
                opener.open(request, timeout=30)
            except urllib.error.HTTPError as exc:
                assert exc.code == 303, exc.code
            _get(f"{base}/?{QUERY}")
            _get(f"{base}/email.html?{QUERY}")
            actions.append(time.perf_counter() - started)
    finally:
        server.should_exit = True
    action, rebuild = statistics.median(actions) * 1000, statistics.median(rebuilds) * 1000
    verdict = "met" if action <= TARGET_MS else "MISSED"
    rows.append(
        f"| desk: editor action to updated preview (sample issue) | {action:.0f} ms (median of {runs}; target ≤ {TARGET_MS}: {verdict}) "
        f"| plain rebuild {rebuild:.0f} ms | POST → issue file written → page rebuilt → email frame loaded, over real HTTP |"
    )
