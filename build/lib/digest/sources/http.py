"""Fetching a feed over HTTP ourselves: a timeout, a size cap, and conditional GET.

feedparser would fetch a URL by itself, with none of these, so it is only
ever handed bytes. The validators (ETag, Last-Modified) and the last body are
kept in the cache folder between runs; a ``304 Not Modified`` reuses the body.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from digest.config import FeedFetch
from digest.errors import SourceUnavailableError

log = logging.getLogger(__name__)
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes
    status: int  # 200, or 304 when the cached body was reused
    content_type: str | None


FEED_TYPES = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
TEXT_TYPES = "text/plain, text/*;q=0.8, */*;q=0.1"


def fetch(url: str, options: FeedFetch, cache_dir: Path, accept: str = FEED_TYPES) -> Fetched:
    """GET ``url`` with the cached validators; raises SourceUnavailableError saying what went wrong."""
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]
    meta_path = cache_dir / "feeds" / f"{key}.json"
    body_path = meta_path.with_suffix(".body")
    cached = _load_meta(meta_path) if body_path.is_file() else {}

    if not url.startswith(("http://", "https://")):
        raise SourceUnavailableError(url, "only http:// and https:// feed URLs are fetched")
    request = urllib.request.Request(url, headers={"User-Agent": options.user_agent, "Accept": accept})  # noqa: S310 (scheme checked above)
    if etag := cached.get("etag"):
        request.add_header("If-None-Match", etag)
    if modified := cached.get("last_modified"):
        request.add_header("If-Modified-Since", modified)

    deadline = time.monotonic() + options.timeout
    try:
        with urllib.request.urlopen(request, timeout=options.timeout) as response:  # noqa: S310 (scheme checked above)
            body = _read_capped(response, url, options, deadline)
            headers = response.headers
            status = response.status
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and body_path.is_file():
            log.debug("%s: not modified, using the cached copy", url)
            return Fetched(body_path.read_bytes(), 304, cached.get("content_type"))
        raise SourceUnavailableError(url, f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise SourceUnavailableError(url, f"timed out after {options.timeout:g} s") from exc
        raise SourceUnavailableError(url, f"cannot fetch: {exc.reason}") from exc
    except TimeoutError as exc:
        raise SourceUnavailableError(url, f"timed out after {options.timeout:g} s") from exc
    except OSError as exc:
        raise SourceUnavailableError(url, f"cannot fetch: {exc}") from exc

    content_type = headers.get("Content-Type")
    validators = {"etag": headers.get("ETag"), "last_modified": headers.get("Last-Modified"), "content_type": content_type}
    if validators["etag"] or validators["last_modified"]:
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        body_path.write_bytes(body)
        meta_path.write_text(json.dumps({"url": url, **validators}), encoding="utf-8")
    return Fetched(body, status, content_type)


def _read_capped(response: http.client.HTTPResponse, url: str, options: FeedFetch, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(_CHUNK):
        size += len(chunk)
        if size > options.max_bytes:
            raise SourceUnavailableError(url, f"larger than the {options.max_bytes:,}-byte limit (feeds.max_bytes)")
        if time.monotonic() > deadline:
            raise SourceUnavailableError(url, f"timed out after {options.timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _load_meta(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
