"""Issue 31, item 4: readers' theme choices are stored by a stable theme key, so renaming a theme keeps its readers.

Through the real parts: the fixture project's config on disk, a real SQLite file (and PostgreSQL for the upgrade),
the public app over real HTTP for the reader's choice, ``python -m digest`` as a subprocess, a real SMTP server.
"""

from __future__ import annotations

import json
import logging
import re
import tomllib
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from digest.config import ConfigError, Scope, load_settings, theme_key
from digest.store import Store, ThemeNames
from digest.store.migrations import HEAD

from conftest import LiveServer, http_request, link_token, write
from mailserver import SmtpServer
from support.cli import cli
from support.project import ISSUE, WINDOW, fill, make_config
from support.signup import open_preferences, save_preferences
from support.web import FORM

REPO = Path(__file__).resolve().parent.parent
KEYED = 'key = "waterfront"\nname = "Harbour"'
PAGE_KEY = "theme-keys-page-secret-0123456789-abcdefXYZ"  # signs the preferences links of this file's own app


def keyed_config(tmp_path: Path, port: int | None, database: str | None = None) -> Path:
    """The fixture project's config with the Harbour theme keyed "waterfront" (Homes and the fallback keep no key)."""
    config = make_config(tmp_path, port, database=database)
    text = config.read_text(encoding="utf-8")
    assert 'name = "Harbour"' in text
    return write(config, text.replace('name = "Harbour"', KEYED, 1))


def rename(config: Path, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8")
    assert f'name = "{old}"' in text
    write(config, text.replace(f'name = "{old}"', f'name = "{new}"', 1))


def choose_on_the_preferences_page(config: Path, address: str, keys: list[str]) -> None:
    """``address`` subscribes and ticks ``keys`` on their own preferences page, served over real HTTP."""
    from digest.web.public import create_public_app

    settings = load_settings(config, environ={"DIGEST_SECRET_KEY": PAGE_KEY})
    store = Store.open(settings.install.database_url, newsletter=settings.newsletter.slug)
    server = LiveServer(create_public_app(settings, store))
    try:
        reader, _ = store.subscribers.add(address)
        path = f"/preferences/{link_token(settings, store, reader.id)}"
        page, csrf, cookie = open_preferences(server, path)
        assert all(f'value="{key}"' in page for key in settings.newsletter.theme_keys)  # the boxes post keys …
        assert all(
            f"> {name.replace('&', '&amp;')}</label>" in page for name in settings.newsletter.theme_keys.values()
        )  # … and show names
        code, page = save_preferences(server, path, keys, csrf=csrf, cookie=cookie)
        assert code == 200 and "Saved" in page, page
        assert store.subscribers.themes_of(reader.id) == tuple(keys)
    finally:
        server.stop()
        store.close()


# -- the config ------------------------------------------------------------------------------------------------------


def test_a_theme_has_the_key_the_config_gives_or_one_derived_from_its_name(tmp_path: Path) -> None:
    config = write(
        tmp_path / "digest.toml",
        '[grouping]\nfallback = "Also worth reading"\n'
        '[[themes]]\nkey = "energy"\nname = "Energy & Climate"\n'
        '[[themes]]\nname = "Économie locale"\n'
        '[[themes]]\nname = "Food & Growing"\n',
    )
    settings = load_settings(config, environ={})
    assert settings.newsletter.theme_keys == {
        "energy": "Energy & Climate",
        "economie-locale": "Économie locale",
        "food-growing": "Food & Growing",
        "also-worth-reading": "Also worth reading",
    }
    assert [theme.derived_key for theme in settings.newsletter.themes] == [False, True, True]
    assert (
        settings.newsletter.key_of("energy & climate") == "energy"
        and settings.newsletter.key_of("Gone Theme") == theme_key("Gone Theme") == "gone-theme"
    )
    assert theme_key("東京").startswith("theme-") and theme_key("東京") == theme_key("東京")


def test_a_bad_or_shared_key_is_refused_naming_the_themes(tmp_path: Path) -> None:
    config = write(
        tmp_path / "digest.toml",
        '[grouping]\nfallback = "More"\nfallback_key = "energy"\n'
        '[[themes]]\nkey = "energy"\nname = "Energy"\n'
        '[[themes]]\nkey = "Not A Slug"\nname = "Homes"\n'
        '[[themes]]\nname = "Food & Growing"\n'
        '[[themes]]\nname = "Food – Growing"\n',
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    problems = caught.value.problems
    assert any(p.startswith(f"{config}: themes[1].key: must be lower-case letters") and '"Not A Slug"' in p for p in problems)
    assert (
        f'{config}: themes[3].key: "food-growing" (derived from the name "Food – Growing") is already the key of "Food & Growing": '
        "give one of them a key of its own"
    ) in problems
    assert f'{config}: grouping.fallback_key: "energy" is already the key of "Energy": give one of them a key of its own' in problems


def test_a_fallback_named_as_a_theme_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", '[grouping]\nfallback = "News"\n[[themes]]\nname = "News"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    assert caught.value.problems == (
        f'{config}: grouping.fallback_key: "news" (derived from the name "News") is already the key of "News": '
        "give one of them a key of its own",
    )


def test_the_shipped_config_gives_every_theme_a_key() -> None:
    data = tomllib.loads((REPO / "config" / "digest.toml").read_text(encoding="utf-8"))
    assert data["themes"] and all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", theme.get("key", "")) for theme in data["themes"])
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", data["grouping"]["fallback_key"])


def test_digest_init_writes_a_key_for_every_theme(tmp_path: Path) -> None:
    """The scaffold (digest/scaffold/digest.toml) as `digest init` fills it in."""
    from digest.config import load_settings as load

    result = cli(tmp_path / "unused.toml", "init", str(tmp_path / "letter"), "--name", "Parish News")
    assert result.returncode == 0, result.stderr
    written = tmp_path / "letter" / "config" / "digest.toml"
    settings = load(written, environ={})
    assert (
        settings.newsletter.themes
        and not any(theme.derived_key for theme in settings.newsletter.themes)
        and settings.newsletter.fallback_key
    )


# -- the journey: a reader's choice survives a rename ----------------------------------------------------------------


def test_renaming_a_theme_keeps_every_reader_who_chose_it(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """The issue's finding: a reader chose Harbour on their preferences page; the config renamed it; every send then
    skipped them with "no posts in your themes". Now the choice is the key, and a new name changes nothing."""
    config = keyed_config(tmp_path, smtp_server.port)
    choose_on_the_preferences_page(config, "sea@example.org", ["waterfront"])
    rename(config, "Harbour", "Harbour & Coast")

    planned = cli(config, "send", *WINDOW, "--dry-run", "--recipients")
    assert planned.returncode == 0, planned.stderr
    assert "  sea@example.org: gets Harbour & Coast" in planned.stdout
    assert "belongs to no theme now" not in planned.stderr + planned.stdout

    sent = cli(config, "send", *WINDOW, "--yes")
    assert sent.returncode == 0, sent.stderr
    [mail] = [m.parse() for m in smtp_server.handler.received if m.recipient == "sea@example.org"]
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    assert "\nHARBOUR & COAST\n" in text and "\nHOMES\n" not in text


def test_a_key_no_theme_has_is_reported_at_load_and_in_status_naming_its_readers(tmp_path: Path) -> None:
    """A theme renamed without a key of its own gets a new derived key: its readers' stored key belongs to no theme now.
    Nothing may hide that: any command that opens the store warns, and `digest status` names who is affected."""
    config = make_config(tmp_path, None)  # no keys: Harbour's is derived, "harbour"
    choose_on_the_preferences_page(config, "only@example.org", ["harbour"])
    choose_on_the_preferences_page(config, "both@example.org", ["harbour", "homes"])
    rename(config, "Harbour", "Waterfront")

    listed = cli(config, "subscribers", "list")
    assert listed.returncode == 0, listed.stderr
    listing = f"digest --config {config} subscribers list --theme harbour"
    warning = (
        'theme key "harbour" belongs to no theme now: 2 reader(s) chose it (only@example.org, both@example.org), '
        '1 of them with no other theme left (they get no issue); give the theme it became key = "harbour" in the config '
        f"(all of them: {listing})"
    )
    assert warning in listed.stderr
    named = cli(config, *listing.split()[3:])
    assert named.returncode == 0, named.stderr
    assert [line.split()[-1] for line in named.stdout.splitlines()] == ["only@example.org", "both@example.org"]
    bad = cli(config, "subscribers", "list", "--theme", "Harbour")
    assert bad.returncode == 2 and "--theme" in bad.stderr and "lower-case letters" in bad.stderr
    status = cli(config, "status")
    assert status.returncode == 0, status.stderr
    assert f"warning: {warning}" in status.stdout
    # Said once: status's own line, not the store's load warning as well (it was printed twice).
    assert (status.stdout + status.stderr).count(warning) == 1, status.stderr
    as_json = json.loads(cli(config, "status", "--json").stdout)
    assert as_json["lost_theme_keys"] == [{"key": "harbour", "readers": 2, "stranded": 1, "some": ["only@example.org", "both@example.org"]}]
    # The fix the warning names works: the key back on the renamed theme, and nothing is lost any more.
    text = config.read_text(encoding="utf-8").replace('name = "Waterfront"', 'key = "harbour"\nname = "Waterfront"', 1)
    write(config, text)
    again = cli(config, "status")
    assert "belongs to no theme now" not in again.stdout + again.stderr


def test_an_issue_frozen_before_keys_goes_to_each_reader_by_their_keys(tmp_path: Path, smtp_server: SmtpServer) -> None:
    """A layout frozen by the release before keys names its sections only: their keys are looked up in the config."""
    config = keyed_config(tmp_path, smtp_server.port)
    store = fill(config, 1)
    try:
        issue = store.issues.load(ISSUE)
        assert issue is not None and issue.layout is not None
        layout = json.loads(issue.layout)
        assert layout["keys"] == ["waterfront", "homes", "odds-ends"]
        del layout["keys"]
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE issues SET layout = :layout"), {"layout": json.dumps(layout)})
        reader, _ = store.subscribers.add("sea@example.org")
        store.subscribers.set_preferences(reader.id, ["waterfront"], None)
    finally:
        store.close()
    planned = cli(config, "send", *WINDOW, "--dry-run", "--recipients")
    assert planned.returncode == 0, planned.stderr
    assert "  sea@example.org: gets Harbour\n" in planned.stdout


# -- sign-up: names shown, keys posted, names from old embedded forms still understood --------------------------------


def test_the_sign_up_form_posts_keys_and_an_embedded_form_may_still_post_a_name(site: tuple[LiveServer, Store, Scope]) -> None:
    """Our form's boxes carry keys; a form embedded on another site before keys posts a theme's name, and is understood."""
    server, store, settings = site
    _, _, page = http_request("GET", f"{server.base}/subscribe")
    keys = list(settings.newsletter.theme_keys)
    assert all(f'value="{key}"' in page for key in keys)
    fields = [("email", "old-form@example.org"), ("theme", "Not a theme"), ("theme", settings.newsletter.themes[0].name.upper())]
    code, _, _ = http_request("POST", f"{server.base}/subscribe", urllib.parse.urlencode(fields).encode(), FORM)
    assert code == 200
    found = store.subscribers.get("old-form@example.org")
    assert found is not None and store.subscribers.themes_of(found.id) == (keys[0],)


# -- the upgrade that turned stored names into keys ------------------------------------------------------------------


def store_at_v16_with_names(url: str, choices: dict[str, list[str] | None]) -> None:
    """A database as the release before keys left it: at v16, readers' choices stored as theme names."""
    store = Store.open(url, upgrade=False)
    try:
        store.migrate("v16")
        # Rows written as that release wrote them, in its columns: today's store code writes what later revisions
        # added (the webhooks' outbox, say), which a v16 database has no table for.
        now = datetime.now(UTC).isoformat()
        v16_subscribers = sa.table(
            "subscribers", *(sa.column(name) for name in ("email", "email_key", "status", "created_at", "updated_at", "themes"))
        )  # its columns then (today's are a subscription's; the address is a person's)
        with store.engine.begin() as conn:
            for address, names in choices.items():
                conn.execute(
                    sa.insert(v16_subscribers).values(
                        email=address,
                        email_key=address.lower(),
                        status="active",
                        created_at=now,
                        updated_at=now,
                        themes=json.dumps(names) if names is not None else None,
                    )
                )
    finally:
        store.close()


def stored_choices(url: str) -> dict[str, list[str] | None]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT p.email, s.themes FROM subscribers s JOIN people p ON p.id = s.person_id")).all()
    finally:
        engine.dispose()
    return {row[0]: json.loads(row[1]) if row[1] else None for row in rows}


def test_the_upgrade_turns_stored_names_into_the_configs_keys_and_says_which_to_write(
    database_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    store_at_v16_with_names(
        database_url,
        {
            "a@example.org": ["Harbour"],
            "b@example.org": ["homes", "Odds & ends"],  # the case a form once posted
            "c@example.org": ["Old Theme", "Harbour"],  # a theme renamed before the upgrade: its own slug
            "d@example.org": None,  # every theme
        },
    )
    config = keyed_config(tmp_path, smtp_server.port, database_url)
    upgraded = cli(config, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"to revision {HEAD}" in upgraded.stdout
    assert stored_choices(database_url) == {
        "a@example.org": ["waterfront"],  # the key the config gives
        "b@example.org": ["homes", "odds-ends"],  # the keys the config derives
        "c@example.org": ["old-theme", "waterfront"],
        "d@example.org": None,
    }
    said = upgraded.stderr
    assert "readers' theme choices are now stored by theme key" in said
    assert 'key = "homes" in the [[themes]] named "Homes"' in said
    assert 'fallback_key = "odds-ends" in [grouping]' in said
    assert 'key = "old-theme" for the theme that was called "Old Theme"' in said
    assert "waterfront" not in said  # written in the config already
    # Harbour's reader gets Harbour after a rename (the key holds); the reader of the renamed-away theme is reported.
    rename(config, "Harbour", "Harbour & Coast")
    planned = cli(config, "send", *WINDOW, "--dry-run", "--recipients")
    assert planned.returncode == 0, planned.stderr
    assert "  a@example.org: gets Harbour & Coast" in planned.stdout
    assert 'theme key "old-theme" belongs to no theme now: 1 reader(s) chose it (c@example.org)' in planned.stderr


def test_without_the_config_the_upgrade_derives_each_key_from_the_stored_name(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    store_at_v16_with_names(database_url, {"a@example.org": ["Energy & Climate"], "b@example.org": ["Économie"]})
    with caplog.at_level(logging.WARNING, logger="digest.store.migrations"):
        Store.open(database_url, themes=ThemeNames()).close()
    assert stored_choices(database_url) == {"a@example.org": ["energy-climate"], "b@example.org": ["economie"]}
    assert 'key = "energy-climate" for the theme that was called "Energy & Climate"' in caplog.text


# -- a post naming a theme the config does not have -------------------------------------------------------------------


def test_a_post_naming_an_unknown_theme_is_a_warning_counted_in_the_run(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    posts = tmp_path / "posts"
    posts.mkdir()
    write(posts / "typo.md", "---\ntitle: Gulls return to the old pier\ndate: 2025-02-27\ntheme: Harbor\n---\nSeen on Thursday.\n")
    write(posts / "keyed.md", "---\ntitle: Ferry timetable changes\ndate: 2025-02-27\ntheme: homes\n---\nFrom Monday.\n")
    out = tmp_path / "out"
    result = cli(config, "build", *WINDOW, "--source", str(posts), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (
        f'warning: markdown:{posts / "typo.md"}: "Gulls return to the old pier": theme "Harbor" is not a configured theme '
        '("Harbour", "Homes", "Odds & ends"); placed as a post without one'
    ) in result.stderr
    assert "keyed.md" not in result.stderr  # a theme's key names it as well as its name
    [built] = out.glob("*/digest.json")
    model = json.loads(built.read_text(encoding="utf-8"))
    assert model["stats"]["problems"] == 1
    placed = {post["title"]: section["theme"] for section in model["sections"] for group in section["outlets"] for post in group["posts"]}
    assert placed["Ferry timetable changes"] == "Homes"
    assert placed["Gulls return to the old pier"] == "Odds & ends"
