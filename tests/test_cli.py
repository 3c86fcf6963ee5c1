"""The digest command, run as a real subprocess: output, files written and exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, REPO, write
from support.cli import PROJECT_CONFIG, digest, digest_process
from support.teaching import shipped_starting_set


def test_build_writes_three_files_and_a_summary(tmp_path: Path) -> None:
    result = digest("--config", str(PROJECT_CONFIG), "build", "--since", "2025-02-24", "--until", "2025-03-03", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "2025-03-02-b21c5b"
    assert result.stdout.splitlines()[0] == f"{folder}/"
    assert sorted(p.name for p in folder.iterdir()) == ["digest.html", "digest.json", "digest.txt"]
    for expected in (
        "Window     Mon 24 Feb 2025 00:00 – Mon 03 Mar 2025 00:00 (Europe/London)",
        "9 gathered = 6 selected + 3 excluded + 0 distant",
        "Section    Harbour (4)",
        "Checks     all passed",
    ):
        assert expected in result.stdout
    assert "Excluded   2 before the window, 1 after the window" in result.stdout
    # The one bad archive entry is reported on stderr with file and line, and the run still succeeds.
    assert re.search(r"warning: \.\./archives/harbour-watch\.txt:46: .*no date", result.stderr)


def test_strict_turns_bad_input_into_exit_1_and_writes_nothing(tmp_path: Path) -> None:
    result = digest(
        "--config", str(PROJECT_CONFIG), "build", "--since", "2025-02-24", "--until", "2025-03-03", "--out", str(tmp_path), "--strict"
    )
    assert result.returncode == 1
    assert "(--strict): nothing written" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_config_errors_exit_2_with_file_and_key(tmp_path: Path) -> None:
    config = write(tmp_path / "bad.toml", '[window]\ndays = "seven"\n[newsletter]\ntimezone = "Nowhere/Land"\n')
    result = digest("--config", str(config), "build")
    assert result.returncode == 2
    assert f'error: {config}: window.days: must be an integer, got "seven"' in result.stderr
    assert f"error: {config}: newsletter.timezone: " in result.stderr
    env_result = digest("build", env={"DIGEST_CONFIG": str(config)})
    assert env_result.returncode == 2 and "window.days" in env_result.stderr


def test_usage_errors_exit_2() -> None:
    assert digest("build", "--since", "2025-01-01").returncode == 2
    bad_date = digest("build", "--as-of", "next friday")
    assert bad_date.returncode == 2 and "not an ISO 8601" in bad_date.stderr
    assert digest("build", "--source", "feed:").returncode == 2


def test_posts_json_from_an_archive() -> None:
    archive = FIXTURES / "archives" / "harbour-watch.txt"
    result = digest("posts", "--source", str(archive), "--all", "--format", "json")
    assert result.returncode == 0, result.stderr
    posts = json.loads(result.stdout)
    assert len(posts) == 6
    keys = {"id", "title", "url", "published", "outlet", "author", "excerpt", "tags", "theme", "source", "original_date"}
    assert all(keys <= set(post) for post in posts)
    dredging = next(p for p in posts if p["title"] == "Dredging Plan Delayed Again")
    assert dredging["published"] == "2025-03-02T00:00:00+00:00"
    assert (dredging["outlet"], dredging["author"], dredging["original_date"]) == ("The Quay Herald", "Jo Marsh", "2025-03-01")
    assert [p["published"] for p in posts] == sorted(p["published"] for p in posts)


def test_source_override_with_forced_kind_and_window(tmp_path: Path) -> None:
    feed = write(tmp_path / "news.data", (FIXTURES / "feeds" / "atom.xml").read_bytes())
    result = digest("build", "--source", f"feed:{feed}", "--since", "2026-11-18", "--until", "2026-11-20", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    model = json.loads(next((tmp_path / "out").glob("*/digest.json")).read_text())
    titles = [p["title"] for s in model["sections"] for g in s["outlets"] for p in g["posts"]]
    assert sorted(titles) == ["Only updated, never published", "Snow forecast for the ridge"]


def test_as_of_without_offset_is_newsletter_local_time(tmp_path: Path) -> None:
    result = digest("build", "--as-of", "2026-11-20T09:00", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    model = json.loads(next(tmp_path.glob("*/digest.json")).read_text())
    assert model["window"] == {"start": "2026-11-13T09:00:00+00:00", "end": "2026-11-20T09:00:00+00:00"}
    assert model["stats"]["selected"] >= 10


def test_an_empty_window_is_reported_as_a_problem(tmp_path: Path) -> None:
    result = digest("build", "--since", "2001-01-01", "--until", "2001-01-08", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "empty-issue: the issue has no posts" in result.stdout


def test_paths_typed_on_the_command_line_are_from_the_current_folder(tmp_path: Path) -> None:
    """Issue 22, item 10. Reproduction: run from another folder with --config, ``--source ./interlink.txt``
    was looked for under the config's root ("no such file or folder" for a file right there), and the empty
    build then said "an earlier build in out/… is kept" when there was none."""
    here = tmp_path / "elsewhere"
    write(here / "interlink.txt", (FIXTURES / "archives" / "harbour-watch.txt").read_bytes())
    window = ["--since", "2025-02-24", "--until", "2025-03-03"]
    found = digest("--config", str(PROJECT_CONFIG), "build", "--source", "./interlink.txt", *window, "--out", "./out", cwd=here)
    assert found.returncode == 0, found.stderr
    assert "no such file" not in found.stderr and list((here / "out").glob("*/digest.json"))
    empty = digest(
        "--config",
        str(PROJECT_CONFIG),
        "build",
        "--source",
        "./interlink.txt",
        "--since",
        "2001-01-01",
        "--until",
        "2001-01-08",
        "--out",
        "./fresh",
        cwd=here,
    )
    assert empty.returncode == 1 and "nothing written: the issue has no posts" in empty.stdout
    assert "earlier build" not in empty.stdout  # none exists: a message names only what exists


def test_help_describes_every_option_and_exit_codes() -> None:
    top = digest_process("--help").stdout  # the program as it starts: cheap, it imports no command
    assert "Exit codes" in top and "usage or configuration error" in top
    build_help = digest("build", "--help").stdout
    for option in ("--as-of", "--since", "--until", "--source", "--strict", "--out"):
        assert option in build_help
    posts_help = digest("posts", "--help").stdout
    for option in ("--all", "--format", "--source"):
        assert option in posts_help


def test_since_last_window_starts_where_the_last_issue_that_went_out_ended(tmp_path: Path) -> None:
    shipped = (REPO / "config" / "digest.toml").read_text(encoding="utf-8")
    text = (
        shipped.replace('root = ".."', f'root = "{REPO}"')
        .replace('mode = "days"', 'mode = "since-last"')
        .replace('dir = "out"', f'dir = "{tmp_path / "out"}"')
        .replace("[delivery]\n", f'[delivery]\nbackend = "outbox"\noutbox_dir = "{tmp_path / "outbox"}"\n')
    )
    text = text.replace('url = "sqlite:///digest.sqlite"', f'url = "sqlite:///{tmp_path / "digest.sqlite"}"')
    config = write(tmp_path / "config" / "digest.toml", text)
    shipped_starting_set(config.parent)
    env = {"DIGEST_SECRET_KEY": "test-secret-key-for-the-suite-0123456789"}
    assert digest("--config", str(config), "subscribers", "add", "reader@example.org", env=env).returncode == 0
    # Built, even frozen, is not "went out": the window of the next issue does not start there.
    built = digest("--config", str(config), "build", "--as-of", "2026-11-13T09:00", env=env)
    assert built.returncode == 0, built.stderr
    sent = digest("--config", str(config), "send", "--as-of", "2026-11-13T09:00", "--yes", env=env)
    assert sent.returncode == 0, sent.stderr
    second = digest("--config", str(config), "build", "--as-of", "2026-11-20T09:00", env=env)
    assert second.returncode == 0, second.stderr
    windows = sorted(json.loads(p.read_text())["window"]["start"] for p in (tmp_path / "out").glob("*/digest.json"))
    assert windows == ["2026-11-06T09:00:00+00:00", "2026-11-13T09:00:00+00:00"]  # 7 days, then since the first's end


def test_the_cli_imports_no_heavy_library_until_a_command_needs_it() -> None:
    """`digest --help` and `--version` start at once: importing the CLI loads none of the pipeline's libraries."""
    heavy = ("sqlalchemy", "premailer", "mjml", "jinja2", "lxml", "apscheduler", "starlette", "uvicorn", "feedparser", "nh3")
    probe = "import sys, digest.cli; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert not set(heavy) & set(loaded), sorted(set(heavy) & set(loaded))
    # The public app (unsubscribe, archive) needs the store and the web stack, never the renderer.
    probe = probe.replace("digest.cli", "digest.web.public")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert not {"premailer", "mjml", "cssutils", "feedparser"} & set(loaded)
    version = digest_process("--version")
    assert version.returncode == 0 and version.stdout.startswith("digest, version ")


def test_the_readme_examples_run() -> None:
    """The commands the README shows under "Using it" work on the shipped project as they are written."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    examples = [line.split("#")[0].split() for line in readme.splitlines() if line.startswith("    digest posts ")]
    assert examples, "the README shows no digest posts example"
    for words in examples:
        result = digest(*words[1:])
        assert result.returncode == 0, f"{' '.join(words)}: {result.stderr}"
        assert json.loads(result.stdout) if "json" in words else result.stdout


def test_init_takes_the_public_address(tmp_path: Path) -> None:
    """Issue 13: `digest init` asks for the public URL (on a terminal) or takes --base-url; without one the
    local address stays, and a send over SMTP to another host will say what to set."""
    from digest.config import load_settings

    result = digest("init", str(tmp_path / "a"), "--name", "Harbour Notes", "--base-url", "https://news.example.org/")
    assert result.returncode == 0, result.stderr
    assert load_settings(tmp_path / "a" / "config" / "digest.toml", environ={}).install.base_url == "https://news.example.org"
    assert digest("init", str(tmp_path / "b")).returncode == 0  # no terminal: no question, the local default
    assert load_settings(tmp_path / "b" / "config" / "digest.toml", environ={}).install.base_url == "http://127.0.0.1:8080"
    bad = digest("init", str(tmp_path / "c"), "--base-url", "news.example.org")
    assert bad.returncode == 2 and "--base-url" in bad.stderr


def test_init_writes_the_slug_so_renaming_the_newsletter_keeps_its_readers(tmp_path: Path) -> None:
    """Issue 34: the database keys readers and issues by the newsletter's slug; one derived from the name would change
    with it and leave them behind. `digest init` writes it out; renaming then keeps it."""
    from digest.config import load_config, load_settings

    assert digest("init", str(tmp_path), "--name", "Harbour Notes").returncode == 0
    config = tmp_path / "config" / "digest.toml"
    assert re.search(r'^slug = "harbour-notes"', config.read_text(encoding="utf-8"), re.M)
    before = load_settings(config, environ={}).newsletter
    config.write_text(config.read_text(encoding="utf-8").replace('name = "Harbour Notes"', 'name = "Harbour Weekly"'), encoding="utf-8")
    renamed = load_settings(config, environ={}).newsletter
    assert (renamed.name, renamed.slug) == ("Harbour Weekly", "harbour-notes")
    # The List-Id keys every signed link (unsubscribe, preferences): made from the slug, a rename leaves the links of
    # the mails already sent working (a journey found them all "not recognised" when it was made from the name).
    assert renamed.list_id == before.list_id == "harbour-notes.example.org"
    # Two newsletters of one name are two lists all the same.
    assert digest("--config", str(config), "newsletters", "add", "twin", "--name", "Harbour Weekly").returncode == 0
    lists = {n.slug: n.list_id for n in load_config(config, environ={}).newsletters}
    assert lists == {"harbour-notes": "harbour-notes.example.org", "twin": "twin.example.org"}


def test_init_asks_whether_to_count_clicks_and_says_what_it_keeps(tmp_path: Path) -> None:
    """Issue 25: `digest init` asks on a terminal (off without one); --clicks answers for scripts. Issue 37: and whether
    the sending domain is new (the warm-up's daily caps: off without a terminal, --warmup for scripts)."""
    import pty
    import subprocess
    import sys

    from digest.config import load_settings
    from digest.models import ClickTracking

    assert digest("init", str(tmp_path / "quiet")).returncode == 0
    quiet = load_settings(tmp_path / "quiet" / "config" / "digest.toml", environ={})
    assert quiet.newsletter.clicks is ClickTracking.OFF and not quiet.install.delivery.warmup.enabled
    assert digest("init", str(tmp_path / "given"), "--clicks", "aggregate").returncode == 0
    config = tmp_path / "given" / "config" / "digest.toml"
    assert load_settings(config, environ={}).newsletter.clicks is ClickTracking.AGGREGATE
    assert "nothing" in config.read_text(encoding="utf-8").split("[tracking]", 1)[1].split("clicks =", 1)[0]  # what it keeps, said
    # On a terminal: asked, with the base URL first (Enter: decide later), then the clicks.
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "digest", "init", str(tmp_path / "asked")], stdin=follower, stdout=follower, stderr=follower
    ) as process:
        os.close(follower)
        os.write(leader, b"\naggregate\ny\n")
        process.wait(timeout=60)
    shown = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(leader, 4096):
            shown += chunk
    os.close(leader)
    assert process.returncode == 0 and b"Count clicks on post links?" in shown and b"Is the sending domain new" in shown
    asked = load_settings(tmp_path / "asked" / "config" / "digest.toml", environ={})
    assert asked.newsletter.clicks is ClickTracking.AGGREGATE and asked.install.delivery.warmup.enabled
