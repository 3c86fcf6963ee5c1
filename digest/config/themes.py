"""[[themes]] and [grouping]: the themes with their keys, the fallback, placement by meaning and the starting set
of labelled posts."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

from digest.config.extras import install_command
from digest.config.labelled import SEED_SUFFIX, read_labelled
from digest.config.schema import (
    MEANING_RUNTIME,
    PACKAGED,
    PACKAGED_MODEL,
    MeaningOptions,
    Theme,
    theme_key,
    theme_key_problem,
)
from digest.config.table import TableReader
from digest.config.validators import (
    choice,
    nonempty,
    unit_interval,
)
from digest.models import SectionOrder
from digest.models.text import missing_said


def read_themes(top: TableReader) -> tuple[Theme, ...]:
    top.seen.add("themes")
    raw = top.table.get("themes", [])
    if not isinstance(raw, list):
        top.fail("themes", "must be an array of tables ([[themes]])")
        return ()
    themes: list[Theme] = []
    names: set[str] = set()
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            top.fail(f"themes[{index}]", "must be a table with a name")
            continue
        reader = top.entry(entry, f"themes[{index}].")
        name = reader.get("name", str, "", nonempty)
        if "name" not in entry:
            reader.fail("name", "missing")
        elif name.casefold() in names:
            reader.fail("name", f'"{name}" is defined twice')
        names.add(name.casefold())
        theme = Theme(
            name=name,
            key=reader.get("key", str, "", theme_key_problem),
            description=reader.get("description", str, ""),
            keywords=tuple(k for k in reader.strings("keywords") if k.strip()),
            tags=tuple(t.casefold() for t in reader.strings("tags")),
            examples=tuple(e.strip() for e in reader.strings("examples") if e.strip()),
        )
        reader.finish()
        if name:
            themes.append(theme)
    return tuple(themes)


def unique_theme_keys(top: TableReader, themes: tuple[Theme, ...], fallback: str, fallback_key: str) -> None:
    """Two themes with one key would share their readers: refused, naming both and how to part them."""
    owners: dict[str, str] = {}  # key → the name of the first theme with it
    for where, name, key, derived in (
        *((f"themes[{index}].key", theme.name, theme.key, theme.derived_key) for index, theme in enumerate(themes)),
        ("grouping.fallback_key", fallback, fallback_key or theme_key(fallback), not fallback_key),
    ):
        owner = owners.get(key)
        if owner is None:
            owners[key] = name
            continue
        if derived and owner.casefold() == name.casefold() and where.startswith("themes["):
            continue  # a theme's name defined twice: reported as such
        how = f' (derived from the name "{name}")' if derived else ""
        top.fail(where, f'"{key}"{how} is already the key of "{owner}": give one of them a key of its own')


def read_grouping(top: TableReader, root: Path, base: Path, language: str) -> dict[str, Any]:
    """[grouping]; the model's folder is relative to ``root``, the examples file to the config file's folder ``base``."""
    grouping = top.sub("grouping")
    found = {
        "fallback_theme": grouping.get("fallback", str, "More this week", nonempty),
        "fallback_key": grouping.get("fallback_key", str, "", theme_key_problem),
        "fallback_description": grouping.get("fallback_description", str, ""),
        "meaning": _meaning(grouping, root, language),
        "examples_file": _examples_file(grouping, base),
        "section_order": SectionOrder(grouping.get("order", str, SectionOrder.CONFIG.value, choice(tuple(o.value for o in SectionOrder)))),
    }
    grouping.finish()
    return found


def _examples_file(grouping: TableReader, base: Path) -> Path | None:
    """[grouping] examples_file: the starting set's file, relative to the config file (read once the themes are known)."""
    name = grouping.get("examples_file", str, "")
    if not name:
        return None
    path = (base / Path(name).expanduser()).resolve()
    if not path.is_file():
        grouping.fail("examples_file", f'{path} is not a file (a path relative to the config file, e.g. "labelled-posts.txt")')
        return None
    return path


def starting_set(fields: dict[str, Any], problems: list[str]) -> MeaningOptions:
    """The meaning options with the starting set read from [grouping] examples_file, each bad line a problem."""
    meaning: MeaningOptions = fields["meaning"]
    path: Path | None = fields.pop("examples_file")
    if path is None:
        return meaning
    starting, bad = read_labelled(
        path, fields["themes"], fields["fallback_theme"], fields["fallback_key"] or theme_key(fields["fallback_theme"])
    )
    problems.extend(f"grouping.examples_file: {problem}" for problem in bad)
    seed = path.with_name(f"{path.stem}{SEED_SUFFIX}")
    return dataclasses.replace(meaning, starting=starting, examples_file=path, seed=seed if seed.is_file() else None)


def _meaning(grouping: TableReader, root: Path, language: str) -> MeaningOptions:
    enabled = grouping.get("meaning", str, "off", choice(("on", "off"))) == "on"
    model = grouping.get("model", str, PACKAGED, nonempty)
    threshold = grouping.get("threshold", float, 0.15, unit_interval)
    fallback_examples = tuple(e.strip() for e in grouping.strings("fallback_examples") if e.strip())
    if model != PACKAGED:
        model = _model_folder(grouping, "model", model, root, enabled)
    multilingual = grouping.get("multilingual_model", str, "")
    if multilingual:
        multilingual = _model_folder(grouping, "multilingual_model", multilingual, root, enabled)
    options = MeaningOptions(
        enabled=enabled, model=model, threshold=threshold, fallback_examples=fallback_examples, multilingual=multilingual
    )
    if not enabled:
        return options
    # The language first: a model that reads English places no French newsletter, whatever is installed.
    if not options.reads(language):
        unavailable = (
            f'grouping.meaning is on, but the packaged model reads English and newsletter.language is "{language}": posts '
            "are placed by keywords; set grouping.model to a folder with a multilingual ONNX export (model.onnx and "
            "tokenizer.json of paraphrase-multilingual-MiniLM-L12-v2, say) to place them by meaning"
        )
        return dataclasses.replace(options, enabled=False, unavailable=unavailable)
    needed = MEANING_RUNTIME + (PACKAGED_MODEL if model == PACKAGED else ())
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        unavailable = (
            f"grouping.meaning is on, but {missing_said(missing)}: posts are placed by keywords; "
            f"to place them by meaning, install digest's meaning extra: {install_command('meaning')}"
        )
        return dataclasses.replace(options, enabled=False, unavailable=unavailable)
    return options


def _model_folder(grouping: TableReader, key: str, setting: str, root: Path, enabled: bool) -> str:
    """A model's folder (relative to the root), which must hold an ONNX export when meaning is on."""
    folder = root / Path(setting).expanduser()
    onnx = (folder / "model.onnx").is_file() or (folder / "onnx" / "model.onnx").is_file()
    if enabled and not (onnx and (folder / "tokenizer.json").is_file()):
        grouping.fail(key, f"{folder} needs model.onnx (or onnx/model.onnx) and tokenizer.json")
    return str(folder)
