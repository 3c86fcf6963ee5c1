"""The install's further newsletters: one file each, ``config/newsletters/SLUG.toml`` beside config/digest.toml.

config/digest.toml keeps its shape: the install and the first newsletter. A newsletter file holds only the sections
about a newsletter ([newsletter], [window], [selection], [[sources]], [[themes]], [grouping], [output], [editorial],
[tracking], [schedule], [editions.NAME], [dkim]), read by the same readers as the first one's, so a key means the same in both; its
slug is the file's name. What is the install's ([store], [smtp], [delivery], [serve]…) is refused there, naming the
file, the key and where it belongs; a newsletter names one of the install's relays (``[newsletter] relay``) and its
own rate instead. Paths in it are relative to the install's root, as in config/digest.toml; its output and
editorial folders default to ``out/SLUG`` and ``content/issues/SLUG``, its public pages to ``/SLUG``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from digest.config.dkim import read_dkim
from digest.config.editions import read_editions, with_default_edition
from digest.config.newsletter import read_editorial, read_newsletter, read_output, read_schedule, read_selection, read_tracking, read_window
from digest.config.schema import Relay, theme_key_problem
from digest.config.sourcing import read_sources
from digest.config.table import TableReader
from digest.config.themes import read_grouping, read_themes, starting_set, unique_theme_keys
from digest.models.routes import taken_segments

NEWSLETTERS_FOLDER = "newsletters"  # beside config/digest.toml
# The install's sections, and what a newsletter file says instead (where there is something to say).
INSTALL_ONLY = {
    "root": "",
    "store": "",
    "subscribe": "",
    "serve": "",
    "doctor": "",
    "bounces": "",
    "feeds": "",
    "delivery": "; a newsletter's own rate is [newsletter] rate",
    "smtp": "; a newsletter sends through one of its relays with [newsletter] relay",
}


def newsletter_folder(config_path: Path) -> Path:
    """Where an install's further newsletters are: ``newsletters/`` beside its config file."""
    return config_path.parent / NEWSLETTERS_FOLDER


def newsletter_files(config_path: Path | None) -> list[Path]:
    """The files of the further newsletters, by name (so by slug); none without a config file."""
    if config_path is None or not (folder := newsletter_folder(config_path)).is_dir():
        return []
    return sorted(path for path in folder.glob("*.toml") if path.is_file())


def read_newsletter_file(
    path: Path, install_file: str, root: Path, shared: Mapping[str, Any], env: Mapping[str, str], problems: list[str], warnings: list[str]
) -> dict[str, Any] | None:
    """One newsletter file's fields (a Publication's), every problem recorded with the file and key; None when the
    file cannot be read as TOML. ``shared``: what the install's file sets for every newsletter (confirm_hours)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read: {exc}")
        return None
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML: {exc}")
        return None
    file = str(path)
    if (problem := theme_key_problem(path.stem)) is not None:
        problems.append(f"{file}: the file's name is the newsletter's slug, which {problem}")
    top = TableReader(file, problems, data)
    for section, instead in INSTALL_ONLY.items():
        if section in data:
            top.seen.add(section)
            shown = section if section == "root" else f"[{section}]"
            top.fail(section, f"{shown} belongs in {install_file}: it is the install's, shared by its newsletters{instead}")
    if _given(data, "newsletter", "base_url"):
        problems.append(
            f"{file}: newsletter.base_url: belongs in {install_file} (the install's address); "
            f'this newsletter\'s pages are under it at [newsletter] path (default "/{path.stem}")'
        )
    news = read_newsletter(top, env, warnings)
    news.pop("base_url")
    if news["slug"] and news["slug"] != path.stem:
        top.fail("newsletter.slug", f'is the file\'s name, "{path.stem}": leave it out, or rename the file to {news["slug"]}.toml')
    news["slug"] = path.stem
    news["slug_given"] = True
    if not _given(data, "newsletter", "path"):
        news["path"] = f"/{path.stem}"
    fields = {**news, **_sections(top, root, path.parent, news["language"])}
    # Files of their own unless set: two newsletters writing one out/ or reading one issues folder would mix.
    if not _given(data, "output", "dir"):
        fields["output_dir"] = root / "out" / path.stem
    if not _given(data, "editorial", "dir"):
        fields["editorial_dir"] = root / "content" / "issues" / path.stem
    fields |= {"confirm_hours": shared["confirm_hours"], "source": path}
    fields["dkim"] = read_dkim(top, root, news["sender"], warnings)
    top.finish()
    return fields


def _given(data: Mapping[str, object], section: str, key: str) -> bool:
    table = data.get(section)
    return isinstance(table, dict) and key in table


def _sections(top: TableReader, root: Path, base: Path, language: str) -> dict[str, Any]:
    """The sections about a newsletter but [newsletter] and [dkim], in the order config/digest.toml reads them."""
    fields: dict[str, Any] = {
        "window": read_window(top),
        "selection": read_selection(top),
        "sources": read_sources(top),
        "themes": read_themes(top),
        **read_grouping(top, root, base, language),
        **read_output(top, root),
        "clicks": read_tracking(top),
        **read_editorial(top, root),
        "schedule": read_schedule(top),
    }
    fields["editions"] = read_editions(top, fields["schedule"], fields["window"])
    fields["schedule"], fields["window"] = with_default_edition(fields["schedule"], fields["window"], fields["editions"])
    unique_theme_keys(top, fields["themes"], fields["fallback_theme"], fields["fallback_key"])
    fields["meaning"] = starting_set(fields, top.problems)
    return fields


def check_newsletters(newsletters: list[dict[str, Any]], install_file: str, relays: tuple[Relay, ...], problems: list[str]) -> None:
    """What holds across the newsletters: a slug and a base path each of their own, a relay the install has."""
    slugs: dict[str, str] = {}
    paths: dict[str, str] = {}
    names = ", ".join(relay.name for relay in relays)
    for fields in newsletters:
        file = str(fields["source"] or install_file)
        if (owner := slugs.setdefault(fields["slug"], file)) != file:
            problems.append(
                f'{file}: newsletter.slug: "{fields["slug"]}" is already the slug of the newsletter of {owner}: give one another'
            )
        if (segment := fields["path"].strip("/").partition("/")[0]) in taken_segments():
            problems.append(
                f'{file}: newsletter.path: "{fields["path"]}" starts with /{segment}, one of the first newsletter\'s own '
                f'pages ({", ".join(f"/{taken}" for taken in sorted(taken_segments()))}): give it another (path = "/...")'
            )
        if (owner := paths.setdefault(fields["path"], file)) != file:
            problems.append(
                f'{file}: newsletter.path: "{fields["path"]}" is already the base path of {owner}\'s newsletter: give one another'
            )
        relay = fields["relay"]
        if relay and relay not in {known.name for known in relays}:
            offered = f"the relays: {names}" if names else "it has none: [smtp] host is its one relay, used by every newsletter"
            problems.append(f'{file}: newsletter.relay: no relay named "{relay}" in [[smtp.relays]] of {install_file} ({offered})')
