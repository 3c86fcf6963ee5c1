"""docker-compose.yml, Dockerfile and .env.example, checked without Docker (it cannot run here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from digest.cli import main

from conftest import REPO

COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]


def _variables_the_code_reads() -> set[str]:
    names: set[str] = set()
    for path in (REPO / "digest").rglob("*.py"):
        names |= set(re.findall(r'env(?:\.get)?\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
        names |= set(re.findall(r'envvar="([A-Z][A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
        names |= set(re.findall(r'_?env_override\(\s*reader,\s*env,\s*"([A-Z][A-Z0-9_]+)"', path.read_text(encoding="utf-8")))
    return names


def test_services_and_their_commands_are_real_digest_subcommands() -> None:
    assert set(SERVICES) == {"scheduler", "web", "postgres", "mailpit"}
    for name in ("scheduler", "web"):
        command = SERVICES[name]["command"]
        assert command[0] in main.commands, f"{name}: {command[0]} is not a digest subcommand"
        # Every option given is one the subcommand really has.
        params = {opt for param in main.commands[command[0]].params for opt in param.opts}
        assert all(arg in params for arg in command[1:] if arg.startswith("--"))
    assert SERVICES["scheduler"]["command"] == ["schedule"]
    assert SERVICES["web"]["command"][0] == "serve"
    assert "mailpit" in SERVICES["mailpit"]["image"]


def test_smtp_points_at_mailpit_and_ports_line_up() -> None:
    env = SERVICES["scheduler"]["environment"]
    assert env["SMTP_HOST"] == "mailpit" and env["DIGEST_BACKEND"] == "smtp" and env["SMTP_SECURITY"] == "none"
    mailpit_ports = {p.split(":")[-1] for p in SERVICES["mailpit"]["ports"]}
    assert env["SMTP_PORT"] in mailpit_ports and "8025" in mailpit_ports
    web = SERVICES["web"]
    port = web["command"][web["command"].index("--port") + 1]
    assert any(p.endswith(f":{port}") for p in web["ports"])
    assert all(p.startswith("127.0.0.1:") for s in SERVICES.values() for p in s.get("ports", []))  # nothing exposed beyond the host


def test_the_apps_use_postgres_once_it_is_healthy_and_keep_their_files_on_the_named_volume() -> None:
    postgres = SERVICES["postgres"]
    assert postgres["image"].startswith("postgres:") and "ports" not in postgres  # never published beyond the compose network
    assert postgres["healthcheck"]["test"][-1].startswith("pg_isready")
    data = dict(v.split(":", 1) for v in postgres["volumes"])
    assert data["postgres-data"] == "/var/lib/postgresql/data" and {"digest-data", "postgres-data"} <= set(COMPOSE["volumes"])
    env = postgres["environment"]
    for name in ("scheduler", "web"):
        service = SERVICES[name]
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        url = service["environment"]["DATABASE_URL"]
        assert url == f"postgresql://{env['POSTGRES_USER']}:{env['POSTGRES_PASSWORD']}@postgres:5432/{env['POSTGRES_DB']}"
        assert dict(v.split(":", 1) for v in service["volumes"])["digest-data"] == "/data"
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert (
        'VOLUME ["/data"]' in dockerfile and 'ENTRYPOINT ["digest"]' in dockerfile and "'.[postgres,meaning]'" in dockerfile
    )  # the shipped config places posts by meaning


def test_env_example_names_real_variables_and_every_one_the_compose_file_uses() -> None:
    example = (REPO / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    real = _variables_the_code_reads()
    assert {"DIGEST_SECRET_KEY", "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_HOST", "DATABASE_URL"} <= real
    assert named <= real, f"unknown variables in .env.example: {named - real}"
    used = {key for n, s in SERVICES.items() if n != "postgres" for key in s.get("environment", {})}
    assert used <= named and used <= real
    assert real <= named, f"variables the code reads but .env.example does not list: {real - named}"
    assert all(s.get("env_file") == ".env" for n, s in SERVICES.items() if n not in ("mailpit", "postgres"))
    assert Path(REPO / ".gitignore").read_text().count(".env\n") == 1
