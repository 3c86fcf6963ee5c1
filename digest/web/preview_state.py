"""What the preview holds for one newsletter while it runs: its workbench, the build version every watched change
bumps, the builds cached per version and query, and the watcher that bumps it (:func:`watch`).

:mod:`digest.web.preview` serves one such state per newsletter of the install.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from pathlib import Path

import watchfiles

from digest.app.issues import WindowRequest
from digest.app.preview import Failure, PreviewBuild, Workbench
from digest.models import OnStep

log = logging.getLogger("digest.web.preview")


class PreviewState:
    """A workbench, a version bumped on every watched change, and builds cached per version and query."""

    def __init__(
        self, config: Path | None, on_step: OnStep | None = None, newsletter: str | None = None, edition: str | None = None
    ) -> None:
        self.bench = Workbench(config, newsletter, edition)
        self.on_step = on_step
        self.version = 0
        self.lock = threading.Lock()
        self.cache: dict[tuple[int, str], PreviewBuild | Failure] = {}
        self.changed: asyncio.Event | None = None
        self.own_writes: dict[str, int] = {}  # files the desk wrote (path → mtime): the watcher need not rebuild for them

    def wrote(self, path: Path) -> None:
        """The desk wrote ``path``: rebuild now (the next page must show it), not again when the watcher sees it."""
        with self.lock:
            self.own_writes[str(path.resolve())] = path.stat().st_mtime_ns
        self.bump()

    def only_own_writes(self, paths: set[str]) -> bool:
        with self.lock:
            for path in paths:
                try:
                    if self.own_writes.get(str(Path(path).resolve())) != Path(path).stat().st_mtime_ns:
                        return False
                except OSError:
                    return False
        return True

    def bump(self) -> None:
        with self.lock:
            self.version += 1
            self.cache.clear()
        if self.changed is not None:
            self.changed.set()

    def build(self, query: dict[str, str]) -> PreviewBuild | Failure:
        key = (self.version, json.dumps(sorted(query.items())))
        with self.lock:
            result = self.cache.get(key)
        if result is None:
            result = self.bench.build(window_request(query), self.on_step)
            if isinstance(result, Failure) and result.query:
                asked = "&".join(f"{name}={value}" for name, value in query.items())
                result = dataclasses.replace(result, where=f"the query ?{asked}")
            with self.lock:
                self.cache[key] = result
        return self.bench.stored_state(result)


def window_request(query: dict[str, str]) -> WindowRequest:
    """``?since=&until=`` (until exclusive), or ``?as_of=``, else the coming slot's issue: the next one to go out."""
    return WindowRequest(since=query.get("since"), until=query.get("until"), as_of=query.get("as_of"), upcoming=not any(query.values()))


async def watch(state: PreviewState, stop: asyncio.Event) -> None:
    """Bump the state's version on every change under the watched paths (re-reading them after each)."""
    while not stop.is_set():
        paths = state.bench.watched()
        if not paths:
            await asyncio.sleep(1.0)
            continue
        try:
            async for changes in watchfiles.awatch(*paths, stop_event=stop, debounce=200, step=50):
                if state.only_own_writes({p for _, p in changes}):
                    continue  # the desk's own write: the page was rebuilt for it already
                log.info("changed: %s", ", ".join(sorted({Path(p).name for _, p in changes})))
                state.bump()
                break  # the set of watched paths may have changed (config edit): watch again
        except (FileNotFoundError, RuntimeError) as exc:
            log.warning("watching stopped: %s; retrying", exc)
            await asyncio.sleep(1.0)
