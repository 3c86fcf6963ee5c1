"""Readers' theme choices stored by each theme's key instead of its name, so renaming a theme keeps its readers.

``subscribers.themes`` keeps its shape (a JSON list; NULL: every theme); each name in it becomes a key. The app opens
the store with its settings, so a name is looked up in the config first (the key written there, or the one the config
derives from the name: digest.config.theme_key). A name the config does not have (the theme was renamed or removed
before this upgrade) becomes its own slug, derived the same way: never a guess at which theme it became. The
operator is told which keys were derived, and where to write them, so that a later rename does not change them.

Revision ID: v17
Revises: v16
"""

import json
import logging

import sqlalchemy as sa
from alembic import op

from digest.config.schema import theme_key
from digest.store.migrations import ThemeNames

revision = "v17"
down_revision = "v16"

log = logging.getLogger("digest.store.migrations")
subscribers = sa.table("subscribers", sa.column("themes", sa.Text))


def upgrade() -> None:
    config = op.get_context().config
    themes: ThemeNames = (config.attributes.get("themes") if config is not None else None) or ThemeNames()
    conn = op.get_bind()
    stored = [row[0] for row in conn.execute(sa.select(subscribers.c.themes).where(subscribers.c.themes.is_not(None)).distinct())]
    used: dict[str, str] = {}  # key → a name it was made from
    for value in stored:
        names = _names(value)
        if names is None:
            continue  # not a list of names: read as "every theme" before and after
        keys = [themes.keys.get(name.casefold()) or theme_key(name) for name in names]
        used.update({key: name for key, name in zip(keys, names, strict=True)})
        new = json.dumps(list(dict.fromkeys(keys)), ensure_ascii=False)
        conn.execute(sa.update(subscribers).where(subscribers.c.themes == value).values(themes=new))
    _advise(themes, used)


def _names(value: str) -> list[str] | None:
    try:
        found = json.loads(value)
    except ValueError:
        return None
    return [name for name in found if isinstance(name, str)] if isinstance(found, list) else None


def _advise(themes: ThemeNames, used: dict[str, str]) -> None:
    """Tell the operator the keys readers' choices now hold that the config does not write down."""
    known = set(themes.keys.values())
    unknown = {key: name for key, name in used.items() if key not in known}
    derived = [themes.advice[key] for key in used if key in themes.advice]
    derived += [f'key = "{key}" for the theme that was called "{name}" (no theme has that name now)' for key, name in unknown.items()]
    if derived:
        log.warning(
            "readers' theme choices are now stored by theme key; so that renaming a theme keeps its readers, "
            "write these keys in the config: %s",
            "; ".join(derived),
        )
