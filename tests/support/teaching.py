"""A newsletter the desk teaches (issue 24, item 3). Home-energy stories: the model puts them in Homes & Neighbourhoods
(they are about flats and houses); this newsletter's editor files them under Energy & Climate. Four weeks of them, an
issue each: three for the editor to move, through the issue file as the desk writes it, then a fourth of new ones."""

from __future__ import annotations

import importlib.util
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.config import load_settings
from digest.config.schema import PACKAGED_MODEL
from digest.issue.meaning import available

from conftest import REPO, write

TAUGHT = "Energy & Climate"
WEEKS = [
    [
        ("Draughty council houses to get new doors and windows", "Tenants say the flats lose heat as fast as the radiators make it."),
        ("Cavity wall grants for homeowners on low incomes", "Filling the walls can cut a heating bill by a fifth."),
        ("Landlords told to bring rented homes up to energy rating C", "Cold, leaky flats will have to be improved by 2030."),
    ],
    [
        ("Estate's old storage heaters to be replaced", "Residents of Brook House have paid some of the highest bills in the city."),
        ("Terraced streets to be insulated one row at a time", "Contractors will work street by street to keep costs down."),
        ("Housing association fits smart meters in 900 flats", "Tenants will see what each room costs to heat."),
    ],
    [
        ("Damp and cold homes make winter worse for children", "Doctors link poorly heated bedrooms to asthma."),
        ("New homes on the riverside to have no gas connection", "Each house will be warmed by a heat pump and rooftop panels."),
        ("Pensioners in bungalows offered free loft insulation", "The scheme is paid for by the energy companies."),
    ],
    [
        (
            "Tenants in tower blocks face the coldest flats in the city",
            "Single glazing and old heaters leave the blocks costly to keep warm.",
        ),
        ("Grants to draught-proof older terraced houses", "Owners can claim up to 2,000 pounds for doors, windows and lofts."),
        ("Council homes to switch from gas boilers", "Two thousand flats will move to heat pumps over five years."),
        ("Rented flats with the worst energy ratings named", "Landlords will be told to improve them or face fines."),
    ],
]


def shipped_starting_set(folder: Path) -> None:
    """The shipped starting set into ``folder`` as it is shipped: the labelled posts and, beside them, their vectors
    (``make starting-vectors``; held to be the model's own by test_learning). Without the vectors, the first build of
    each test process embeds the 300 posts again: 6 to 9 s of CPU, for nothing any of these tests looks at."""
    from digest.config.labelled import SEED_SUFFIX

    shutil.copy(REPO / "config" / "labelled-posts.txt", folder)
    shutil.copy(REPO / "config" / f"labelled-posts{SEED_SUFFIX}", folder)


def teaching_project(tmp_path: Path) -> Path:
    """The sample config on a content folder of its own (one Markdown source); its store and cache land in tmp_path
    (the config's paths are relative to its root, the folder above it)."""
    import re

    text = (REPO / "config" / "digest.toml").read_text(encoding="utf-8")
    text = re.sub(r"\[\[sources\]\]\n(?:.*\n)*?kind = \"archive\"\n", '[[sources]]\nlocation = "content/posts"\n', text)
    config = tmp_path / "config" / "digest.toml"
    config.parent.mkdir(parents=True)
    config.write_text(text, encoding="utf-8")
    shipped_starting_set(config.parent)
    for week, posts in enumerate(WEEKS):
        for number, (title, excerpt) in enumerate(posts):
            day = 2 + 7 * week + number
            (tmp_path / "content" / "posts").mkdir(parents=True, exist_ok=True)
            (tmp_path / "content" / "posts" / f"w{week}-{number}.md").write_text(
                f'---\ntitle: "{title}"\ndate: 2026-11-{day:02d}T09:00:00+00:00\nurl: https://example.org/w{week}-{number}\n'
                f"outlet: Civic Ledger\n---\n\n{excerpt}\n",
                encoding="utf-8",
            )
    return config


def week_window(week: int) -> tuple[str, str]:
    return f"2026-11-{1 + 7 * week:02d}", f"2026-11-{8 + 7 * week:02d}"


needs_model = pytest.mark.skipif(
    available() is not None or any(importlib.util.find_spec(name) is None for name in PACKAGED_MODEL),
    reason=f"the meaning model is not installed ({available() or ' / '.join(PACKAGED_MODEL) + ' missing'}): make setup installs it",
)


NOW = datetime(2026, 12, 1, tzinfo=UTC)


def first_week(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The teaching project (test_meaning.py), its newsletter on its own store, and the target of its first week."""
    from digest.app.issues import Newsletter, WindowRequest
    from digest.store import Store

    config = teaching_project(tmp_path)
    settings = load_settings(config, environ={"DIGEST_SECRET_KEY": "k" * 32})
    newsletter = Newsletter(settings, Store.open(settings.install.database_url, newsletter=settings.newsletter.slug))
    since, until = week_window(0)
    return config, settings, newsletter, newsletter.target(WindowRequest(since=since, until=until), NOW)


def move(settings, target, url: str | None, theme: str) -> None:  # type: ignore[no-untyped-def]
    """What the desk's theme button writes: the issue file puts the post of ``url`` in ``theme``."""
    from digest.issue.editorial import issue_file_path

    write(issue_file_path(settings.newsletter, target.window), f'---\ntheme: {{{url}: "{theme}"}}\n---\n')
