"""The reader of one TOML table: typed values out, every problem recorded with the file and the key instead of
stopping, every key asked for remembered (what the loader accepts, and what "did you mean" suggests)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping

from digest.config.schema import (
    T,
)
from digest.config.validators import (
    kind_name,
    show,
)


class TableReader:
    """Reads typed values out of one TOML table, collecting problems instead of stopping."""

    def __init__(
        self, file: str, problems: list[str], table: Mapping[str, object], prefix: str = "", known: set[str] | None = None
    ) -> None:
        self.file = file
        self.problems = problems
        self.table = table
        self.prefix = prefix
        self.seen: set[str] = set()
        self.known = known if known is not None else set()  # every key any reader was asked for: what the loader accepts

    def entry(self, table: Mapping[str, object], prefix: str) -> TableReader:
        """A reader for one table of an array (``[[sources]]``), sharing this one's problems and known keys."""
        return TableReader(self.file, self.problems, table, prefix, self.known)

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"{self.file}: {self.key(name)}: {message}")

    def get(self, name: str, kind: type[T], default: T, check: Callable[[T], str | None] | None = None) -> T:
        self.seen.add(name)
        self.known.add(re.sub(r"\[\d+\]", "", self.key(name)))
        if name not in self.table:
            return default
        value = self.table[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.fail(name, f"must be {kind_name(kind)}, got {show(value)}")
            return default
        if check is not None and (message := check(value)) is not None:
            self.fail(name, message)
            return default
        return value

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.get(name, list, [])
        if not all(isinstance(item, str) for item in value):
            self.fail(name, f"must be a list of strings, got {show(value)}")
            return ()
        return tuple(value)

    def sub(self, name: str) -> TableReader:
        table = self.get(name, dict, {})
        return TableReader(self.file, self.problems, table, f"{self.key(name)}.", self.known)

    def finish(self) -> None:
        for name in sorted(set(self.table) - self.seen):
            near = difflib.get_close_matches(name, sorted(self.seen), n=1, cutoff=0.6)
            self.fail(name, f'unknown key (did you mean "{near[0]}"?)' if near else "unknown key")


def env_override(reader: TableReader, env: Mapping[str, str], variable: str, check: Callable[[str], str | None]) -> str | None:
    value = env.get(variable)
    if value is None or value == "":
        return None
    if (message := check(value)) is not None:
        reader.problems.append(f"environment: {variable}: {message}")
        return None
    return value
