"""Log lines for people (the default) or one JSON object per line (``--log-format json``) for a log pipeline.

A JSON line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``event``
(the message), and whatever fields the call passed as ``extra={"fields":
{…}}``: the scheduler's slot, state and issue; a send's issue and counts.
Secrets never reach a log line in either format.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

from digest.cli.common import terminal_json
from digest.models.text import for_terminal

FORMATS = ("human", "json")
HUMAN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class HumanFormatter(logging.Formatter):
    """A log line for people: what it quotes from outside (the addresses a bounce names, a server's answer) is
    shown, never obeyed by the terminal it is read on (newlines stay: a traceback has them)."""

    def format(self, record: logging.LogRecord) -> str:
        return for_terminal(super().format(record), keep="\n")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({key: value for key, value in fields.items() if key not in line})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return terminal_json(line)


def configure(level: int, log_format: str) -> None:
    """Logging to standard error in ``log_format``: "human" or "json"."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else HumanFormatter(HUMAN))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # A log pipeline wants the events (a slot's outcome, a send's counts): JSON logs from INFO up.
    root.setLevel(min(level, logging.INFO) if log_format == "json" else level)
