"""Issue 31: the secret key that signs every link is refused when short, warned about when weak, and a missing or
refused one is a configuration error (exit 2, as the README's table says) whose message says how to make one."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support.cli import in_process

RECIPE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def _digest(folder: Path, *args: str, key: str | None) -> subprocess.CompletedProcess[str]:
    return in_process(args, cwd=folder, env={} if key is None else {"DIGEST_SECRET_KEY": key})


def test_a_missing_or_short_key_is_a_configuration_error_that_says_how_to_make_one(tmp_path: Path) -> None:
    made = _digest(
        tmp_path, "init", "n", "--name", "N", "--timezone", "UTC", "--base-url", "https://n.example.org", "--clicks", "aggregate", key=None
    )
    assert made.returncode == 0, made.stderr
    folder = tmp_path / "n"
    (folder / ".env").unlink()  # the fresh key digest init wrote
    missing = _digest(folder, "build", key=None)
    assert missing.returncode == 2 and "DIGEST_SECRET_KEY is not set" in missing.stderr and RECIPE in missing.stderr
    short = _digest(folder, "build", key="Xq7zz9")
    assert short.returncode == 2 and "too short (6 characters" in short.stderr and RECIPE in short.stderr
    assert "Xq7zz9" not in short.stderr  # the value itself is never shown
    weak = _digest(folder, "build", key="sixteen-chars-ok")
    assert weak.returncode == 0, weak.stderr
    assert "DIGEST_SECRET_KEY is weak (16 characters)" in weak.stderr and "sixteen-chars-ok" not in weak.stderr


def test_init_writes_no_second_key_when_one_is_exported(tmp_path: Path) -> None:
    """A journey: with DIGEST_SECRET_KEY exported, `init` wrote another, fresh one to .env, which lost to the
    environment's there and won wherever the variable was not set: the links of one looked forged to the other."""
    exported = "Zm9yIHRoZSByZWFkZXJzLCBub3QgdGhlIHJlbGF5-exported"
    made = _digest(tmp_path, "init", "n", "--name", "N", "--timezone", "UTC", "--base-url", "https://n.example.org", key=exported)
    assert made.returncode == 0, made.stderr
    assert "DIGEST_SECRET_KEY is set in your environment; set it wherever digest runs" in made.stdout
    env = tmp_path / "n" / ".env"
    assert not env.exists() or "DIGEST_SECRET_KEY" not in env.read_text(encoding="utf-8")
    assert exported not in made.stdout + made.stderr
