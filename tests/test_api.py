"""The HTTP API (issue 36): its tokens and audit log, then its operations over real HTTP against a real server on
127.0.0.1 with a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from digest.app.api import ApiAccess
from digest.config import load_settings
from digest.store import Store
from digest.store.schema import api_tokens

from support.api import digest_in_process, new_token
from support.cli import cli
from support.project import make_config


def store_of(config: Path) -> Store:
    return Store.open(load_settings(config, environ={}).database_url)


def test_a_token_is_printed_once_alone_on_the_last_line_and_only_its_hash_is_kept(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    done = cli(config, "api-tokens", "create", "website", "--scope", "subscribers:write", "--scope", "reports:read")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert token.startswith("dgt_") and len(token) > 50 and " " not in token
    store = store_of(config)
    with store.engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(sa.select(api_tokens)).mappings()]
    assert len(rows) == 1 and token not in json.dumps(rows, default=str) and token.split("_")[-1] not in json.dumps(rows, default=str)
    access = ApiAccess(store)
    found = access.authenticate(token)
    assert found is not None and found.name == "website"
    assert {scope.value for scope in found.scopes} == {"subscribers:write", "reports:read"}
    assert access.authenticate(token[:-1] + ("A" if token[-1] != "A" else "B")) is None  # the secret part is checked
    assert access.authenticate("dgt_000000000000_" + token.split("_", 2)[2]) is None  # and the public part finds the row
    assert access.authenticate("Bearer " + token) is None


def test_tokens_are_listed_without_their_secret_and_a_revoked_one_stops_working(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    listed = digest_in_process(config, "api-tokens", "list")
    assert "the API is off" in listed.output
    token = new_token(config, "crm", "subscribers:read")
    taken = digest_in_process(config, "api-tokens", "create", "crm", "--scope", "reports:read")
    assert taken.exit_code == 1 and "named 'crm' already" in taken.output
    listed = digest_in_process(config, "api-tokens", "list")
    assert "crm" in listed.output and "subscribers:read" in listed.output and "live" in listed.output
    assert token not in listed.output
    access = ApiAccess(store_of(config))
    assert access.enabled() and access.authenticate(token) is not None
    assert digest_in_process(config, "api-tokens", "revoke", "crm").exit_code == 0
    assert access.authenticate(token) is None and not access.enabled()
    assert "revoked" in digest_in_process(config, "api-tokens", "list").output
    assert digest_in_process(config, "api-tokens", "revoke", "crm").exit_code == 1
    again = new_token(config, "crm", "reports:read")  # a name is free again once its token is revoked
    assert access.authenticate(again) is not None


def test_a_bad_name_or_scope_is_refused(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    assert digest_in_process(config, "api-tokens", "create", "a b", "--scope", "reports:read").exit_code == 2
    assert digest_in_process(config, "api-tokens", "create", "web", "--scope", "everything").exit_code == 2
    assert digest_in_process(config, "api-tokens", "create", "web").exit_code == 2  # a token with no scope does nothing
