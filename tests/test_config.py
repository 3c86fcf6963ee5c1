from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import load_settings, parse_source_spec
from digest.models.errors import ConfigError

from conftest import REPO, write


def test_shipped_config_loads() -> None:
    settings = load_settings(REPO / "config" / "digest.toml", environ={})
    assert settings.newsletter.name == "Open Streets"
    assert str(settings.newsletter.timezone) == "Europe/London"
    assert settings.install.root == REPO
    assert [s.kind for s in settings.newsletter.sources] == ["markdown", "feed", "archive"]
    assert len(settings.newsletter.themes) >= 4
    assert settings.newsletter.sender.addr_spec == "digest@openstreets.example"


def test_the_config_is_an_installation_and_its_newsletters_each_field_in_one_part(tmp_path: Path) -> None:
    """The shipped file, unchanged, reads into the install (store, transport, server, secrets) and one newsletter
    (its own name, slug, themes, From, List-Id); a command works on the pair, each use case on the part it needs."""
    from digest.config import Installation, Publication, load_config
    from digest.config.schema import INSTALLATION_FIELDS, PUBLICATION_FIELDS

    loaded = load_config(
        REPO / "config" / "digest.toml",
        environ={"DIGEST_SECRET_KEY": "k" * 8 + "0123456789abcdefghijklmnopqrstuv", "DATABASE_URL": "sqlite:////x.db"},
    )
    assert isinstance(loaded.install, Installation) and [type(n) for n in loaded.newsletters] == [Publication]
    install, (newsletter,) = loaded.install, loaded.newsletters
    assert install.database_url == "sqlite:////x.db" and install.secret_key and install.delivery.backend == "outbox"
    assert (newsletter.name, newsletter.slug, newsletter.list_id) == ("Open Streets", "open-streets", "open-streets.openstreets.example")
    assert loaded.scope() == load_settings(
        REPO / "config" / "digest.toml",
        environ={"DIGEST_SECRET_KEY": "k" * 8 + "0123456789abcdefghijklmnopqrstuv", "DATABASE_URL": "sqlite:////x.db"},
    )
    assert loaded.scope("open-streets").newsletter is newsletter
    assert not INSTALLATION_FIELDS & PUBLICATION_FIELDS
    with pytest.raises(ConfigError, match=r'no newsletter "weekly" here \(the newsletters: open-streets\)'):
        loaded.scope("weekly")

    named = write(
        tmp_path / "named.toml", '[newsletter]\nname = "Open Streets"\nslug = "streets"\n[delivery]\nlist_id = "news.example.org"\n'
    )
    newsletter = load_settings(named, environ={}).newsletter
    assert (newsletter.slug, newsletter.list_id) == ("streets", "news.example.org")
    bad = write(tmp_path / "bad.toml", '[newsletter]\nslug = "Open Streets"\n')
    with pytest.raises(ConfigError, match=r"newsletter\.slug: must be lower-case letters and digits"):
        load_settings(bad, environ={})


def test_every_problem_is_reported_at_once_with_file_and_key(tmp_path: Path) -> None:
    config = write(
        tmp_path / "digest.toml",
        """
[newsletter]
timezone = "Mars/Olympus"
sender = "not an address"
[window]
days = "seven"
mode = "fortnight"
[selection]
exclude_titles = ["(unclosed"]
[[themes]]
name = "A"
[[themes]]
name = "a"
colour = "red"
[output]
excerpt_words = -3
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    problems = caught.value.problems
    assert f'{config}: window.days: must be an integer, got "seven"' in problems
    assert any(p.startswith(f"{config}: window.mode: ") and "fortnight" in p for p in problems)
    assert any(p.startswith(f"{config}: newsletter.timezone: ") and "Mars/Olympus" in p for p in problems)
    assert any(p.startswith(f"{config}: newsletter.sender: ") for p in problems)
    assert any(p.startswith(f"{config}: selection.exclude_titles[0]: ") for p in problems)
    assert f'{config}: themes[1].name: "a" is defined twice' in problems
    assert f"{config}: themes[1].colour: unknown key" in problems
    assert f"{config}: output.excerpt_words: must be positive, got -3" in problems
    assert len(problems) == 8


def test_positive_integer_message_matches_the_documented_form(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", "[window]\ndays = 0\n")
    with pytest.raises(ConfigError, match=r"window\.days: must be positive, got 0"):
        load_settings(config, environ={})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", "[window\n")
    with pytest.raises(ConfigError, match=r"digest\.toml: not valid TOML"):
        load_settings(config, environ={})


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_digest_config_env_picks_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "other.toml", '[newsletter]\nname = "Elsewhere"\n')
    assert load_settings(environ={"DIGEST_CONFIG": str(config)}).newsletter.name == "Elsewhere"


def test_secret_comes_from_dotenv_and_environment_wins(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", "")
    write(tmp_path / ".env", "DIGEST_SECRET_KEY=from-dotenv-Q2xvc2VkIHBvcnQgbmV2ZXIgYSByZWFkZXI\n")
    assert load_settings(config, environ={}).install.secret_key == "from-dotenv-Q2xvc2VkIHBvcnQgbmV2ZXIgYSByZWFkZXI"
    from_env = "from-env-T3VyIG93biBmYWlsdXJlcyBhcmUgb3Vycw"
    assert load_settings(config, environ={"DIGEST_SECRET_KEY": from_env}).install.secret_key == from_env
    assert from_env not in repr(load_settings(config, environ={"DIGEST_SECRET_KEY": from_env}))
    # Said, never silent (a journey: an exported key beat the one `digest init` wrote, and every link looked forged);
    # neither value is in the words.
    warned = load_settings(config, environ={"DIGEST_SECRET_KEY": from_env}).install.warnings
    assert warned == (f"DIGEST_SECRET_KEY is set in the environment and, differently, in {tmp_path / '.env'}: the environment's is used",)
    same = load_settings(config, environ={"DIGEST_SECRET_KEY": "from-dotenv-Q2xvc2VkIHBvcnQgbmV2ZXIgYSByZWFkZXI"})
    assert same.install.warnings == ()


@pytest.mark.parametrize(
    ("key", "refused", "warned"),
    [
        ("abc", "too short (3 characters; at least 16", None),
        ("fifteen-chars-k", "too short (15 characters", None),
        ("sixteen-chars-ok", None, "weak (16 characters)"),
        ("a" * 40, None, "weak (only 1 different characters)"),
        ("ab" * 20, None, "weak (only 2 different characters)"),
        ("Zm9yIHRoZSByZWFkZXJzLCBub3QgdGhlIHJlbGF5", None, None),
    ],
)
def test_the_secret_key_is_refused_when_short_and_warned_when_weak(
    tmp_path: Path, key: str, refused: str | None, warned: str | None
) -> None:
    """Issue 31: DIGEST_SECRET_KEY=abc was accepted. Each message says how to make a good one."""
    config = write(tmp_path / "digest.toml", "")
    recipe = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if refused is not None:
        with pytest.raises(ConfigError) as raised:
            load_settings(config, environ={"DIGEST_SECRET_KEY": key})
        [problem] = raised.value.problems
        assert refused in problem and recipe in problem and key not in problem
        return
    settings = load_settings(config, environ={"DIGEST_SECRET_KEY": key})
    weak = [w for w in settings.install.warnings if "DIGEST_SECRET_KEY" in w]
    if warned is None:
        assert weak == []
    else:
        assert len(weak) == 1 and warned in weak[0] and recipe in weak[0] and key not in weak[0]


def test_relative_paths_resolve_against_root(tmp_path: Path) -> None:
    config = write(tmp_path / "config" / "digest.toml", 'root = ".."\n[output]\ndir = "build"\n')
    settings = load_settings(config, environ={})
    assert settings.install.root == tmp_path.resolve()
    assert settings.newsletter.output_dir == tmp_path.resolve() / "build"


@pytest.mark.parametrize(
    ("spec", "kind", "location"),
    [
        ("content/posts", "markdown", "content/posts"),
        ("feeds/news.xml", "feed", "feeds/news.xml"),
        ("https://example.org/rss", "feed", "https://example.org/rss"),
        ("pages/author.txt", "archive", "pages/author.txt"),
        ("archive:pages/*.html", "archive", "pages/*.html"),
        ("feed:https://example.org/x", "feed", "https://example.org/x"),
        ("markdown:notes.txt", "markdown", "notes.txt"),
    ],
)
def test_source_specs(spec: str, kind: str, location: str) -> None:
    parsed = parse_source_spec(spec)
    assert (parsed.kind, parsed.location) == (kind, location)


def test_environment_overrides_point_a_run_anywhere(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", '[delivery]\nbackend = "outbox"\n[smtp]\nhost = "mail.example.org"\nport = 587\n')
    settings = load_settings(
        config,
        environ={
            "DIGEST_BACKEND": "smtp",
            "SMTP_HOST": "mailpit",
            "SMTP_PORT": "1025",
            "SMTP_SECURITY": "none",
            "DATABASE_URL": "postgresql://digest@db/digest",
            "SMTP_USERNAME": "user",
            "SMTP_PASSWORD": "hunter2",
        },
    )
    assert settings.install.delivery.backend == "smtp"
    assert (settings.install.smtp.host, settings.install.smtp.port, settings.install.smtp.security) == ("mailpit", 1025, "none")
    assert settings.install.database_url == "postgresql://digest@db/digest"
    assert (settings.install.smtp.username, settings.install.smtp.password) == ("user", "hunter2")
    assert "hunter2" not in repr(settings) and "user" not in repr(settings.install.smtp)


def test_backend_defaults_to_outbox_without_an_smtp_host(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", "")
    assert load_settings(config, environ={}).install.delivery.backend == "outbox"
    assert load_settings(config, environ={"SMTP_HOST": "mail.example.org"}).install.delivery.backend == "smtp"
    assert load_settings(config, environ={}).install.database_url == f"sqlite:///{tmp_path.resolve() / 'digest.sqlite'}"


def test_bad_environment_values_and_secrets_in_the_file_are_reported(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", '[smtp]\nhost = "h"\npassword = "oops"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={"SMTP_PORT": "seventy", "SMTP_SECURITY": "tls", "DIGEST_BACKEND": "pigeon"})
    problems = caught.value.problems
    assert 'environment: SMTP_PORT: must be a port number, got "seventy"' in problems
    assert any(p.startswith("environment: SMTP_SECURITY:") for p in problems)
    assert any(p.startswith("environment: DIGEST_BACKEND:") for p in problems)
    assert any("smtp.password: secrets are read only from the environment" in p for p in problems)
    assert all("oops" not in p for p in problems)


def test_schedule_from_fields_or_cron_and_its_errors(tmp_path: Path) -> None:
    fields = write(tmp_path / "a.toml", '[schedule]\nday_of_week = "mon"\nhour = "7"\nminute = "30"\ntimezone = "America/New_York"\n')
    settings = load_settings(fields, environ={})
    assert settings.newsletter.schedule.cron == "30 7 * * mon" and str(settings.newsletter.schedule_zone) == "America/New_York"
    assert load_settings(write(tmp_path / "b.toml", ""), environ={}).newsletter.schedule.misfire_grace == 6 * 3600
    bad = write(tmp_path / "c.toml", '[schedule]\ncron = "every friday"\nmisfire_grace_hours = -1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(bad, environ={})
    assert any("schedule.cron: not a valid crontab expression" in p for p in caught.value.problems)
    assert any("schedule.misfire_grace_hours: must be 0 or more" in p for p in caught.value.problems)
    both = write(tmp_path / "d.toml", '[schedule]\ncron = "0 9 * * fri"\nhour = "8"\n')
    with pytest.raises(ConfigError, match="either cron or day_of_week/hour/minute"):
        load_settings(both, environ={})


def test_an_unknown_key_suggests_the_nearest_known_one(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", '[newsletter]\ntimezon = "Europe/London"\n[window]\ndayz = 7\nbanana = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={})
    problems = caught.value.problems
    assert f'{config}: newsletter.timezon: unknown key (did you mean "timezone"?)' in problems
    assert f'{config}: window.dayz: unknown key (did you mean "days"?)' in problems
    assert f"{config}: window.banana: unknown key" in problems  # nothing near: no guess


def test_a_bad_environment_value_names_the_variable(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", '[newsletter]\ntimezone = "Europe/London"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ={"DIGEST_TIMEZONE": "Mars/Olympus", "SMTP_PORT": "seventy"})
    assert 'environment: DIGEST_TIMEZONE: unknown time zone "Mars/Olympus" (use an IANA name like "Europe/London")' in caught.value.problems
    assert 'environment: SMTP_PORT: must be a port number, got "seventy"' in caught.value.problems
    assert not any("newsletter.timezone" in problem for problem in caught.value.problems)


@pytest.mark.parametrize(
    ("zone", "warned"), [("EST", True), ("Etc/GMT+5", True), ("UTC", False), ("Asia/Tokyo", False), ("America/New_York", False)]
)
def test_a_fixed_offset_zone_is_a_warning(tmp_path: Path, zone: str, warned: bool) -> None:
    config = write(tmp_path / "digest.toml", f'[newsletter]\ntimezone = "{zone}"\n')
    settings = load_settings(config, environ={})
    assert bool(settings.install.warnings) == warned
    if warned:
        assert f'{config}: newsletter.timezone: "{zone}" is a fixed offset' in settings.install.warnings[0]
        assert "no daylight saving" in settings.install.warnings[0]


def documented_keys(text: str) -> set[str]:
    """``table.key`` for every key a config file sets or shows commented out, and each table's name."""
    import re

    section, found = "", set()
    for line in text.splitlines():
        if header := re.match(r"^\s*\[\[?([a-z_.]+)\]\]?\s*(#.*)?$", line):
            section = header.group(1)
            found.add(section)
        elif key := re.match(r"^\s*#?\s*([a-z0-9_]+)\s*=", line):
            found.add(f"{section}.{key.group(1)}" if section else key.group(1))
    return found


@pytest.mark.parametrize("shipped", ["config/digest.toml", "digest/scaffold/digest.toml"])
def test_the_shipped_configs_document_every_key_the_loader_accepts(shipped: str) -> None:
    from digest.config import accepted_keys

    keys = accepted_keys()
    assert {"newsletter.timezone", "sources.location", "themes.keywords", "smtp.local_hostname", "store.url"} <= keys
    missing = keys - documented_keys((REPO / shipped).read_text(encoding="utf-8"))
    assert not missing, f"{shipped} does not document: {sorted(missing)}"


def test_an_environment_override_does_not_make_the_file_key_unknown(tmp_path: Path) -> None:
    config = write(tmp_path / "digest.toml", '[store]\nurl = "sqlite:///a.sqlite"\n')
    settings = load_settings(config, environ={"DATABASE_URL": "sqlite:////tmp/elsewhere.sqlite"})
    assert settings.install.database_url == "sqlite:////tmp/elsewhere.sqlite"


def test_a_store_digest_cannot_run_on_is_a_config_error_naming_file_or_variable(tmp_path: Path) -> None:
    """Found walking issue 15: `DATABASE_URL=mysql://…` ended in a traceback (No module named 'MySQLdb'). digest keeps
    its ledger in SQLite or PostgreSQL (any driver): anything else is refused at load, without echoing a password."""
    from digest.models.errors import ConfigError

    config = write(tmp_path / "digest.toml", '[store]\nurl = "mysql://u:hunter2@db/x"\n')
    with pytest.raises(ConfigError) as refused:
        load_settings(config, environ={})
    assert "store.url: must be sqlite:///path or postgresql://user@host/db" in str(refused.value) and "hunter2" not in str(refused.value)
    good = write(tmp_path / "good.toml", '[store]\nurl = "sqlite:///a.sqlite"\n')
    with pytest.raises(ConfigError, match=r'environment: DATABASE_URL: .*got a "oracle" URL'):
        load_settings(good, environ={"DATABASE_URL": "oracle://u:hunter2@db"})
    for fine in ("postgresql://u@db/x", "postgres://u@db/x", "postgresql+psycopg2://u@db/x", "sqlite:///x.sqlite"):
        assert load_settings(good, environ={"DATABASE_URL": fine}).install.database_url.endswith(fine.rpartition("/")[2])


def test_a_database_driver_that_is_not_installed_is_one_line(tmp_path: Path) -> None:
    import importlib.util

    from digest.models.errors import StoreError
    from digest.store import Store

    if importlib.util.find_spec("psycopg2") is not None:
        pytest.skip("psycopg2 is installed here: no driver is missing")
    with pytest.raises(StoreError, match=r"its driver \(psycopg2\) is not installed; for PostgreSQL: \S+ -m pip install ") as raised:
        Store.open("postgresql+psycopg2://u:hunter2@127.0.0.1/x")
    assert "pip install 'digest[postgres]'" not in str(raised.value)  # digest on PyPI is another project (issue 31)
