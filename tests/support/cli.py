"""The digest command run as a real subprocess, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, REPO

PROJECT_CONFIG = FIXTURES / "project" / "config" / "digest.toml"


def cli(config: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SMTP_", "DATABASE_URL"))}
    env["DIGEST_SECRET_KEY"] = "test-secret-key-for-the-suite-0123456789"
    return subprocess.run(
        [sys.executable, "-m", "digest", "--config", str(config), *args], env=env, capture_output=True, text=True, input=input, timeout=300
    )


def popen(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SMTP_", "DATABASE_URL"))}
    env["DIGEST_SECRET_KEY"] = "test-secret-key-for-the-suite-0123456789"
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "--config", str(config), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def digest(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "digest", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)
