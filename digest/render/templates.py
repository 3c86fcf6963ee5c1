"""The two Jinja environments: autoescaped for the MJML/HTML template, plain for the text twin.

Templates are looked up first in the editor's folder (``output.templates``
in the config; a project's own ``templates/email/`` too, if it has one), then
in the package (``digest/templates/email/``, loaded with Jinja's
PackageLoader), so an installed digest renders in any folder and an editor
overrides only the files they copied.
"""

from __future__ import annotations

import functools
import threading
from datetime import date
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
from jinja2.bccache import Bucket

from digest.config import Scope
from digest.models.errors import RenderError
from digest.render.i18n import format_day, translations
from digest.render.plaintext import labelled, wrap
from digest.render.views import REF

HTML_TEMPLATE = "digest.mjml.j2"
TEXT_TEMPLATE = "digest.txt.j2"
BUNDLED = Path(__file__).resolve().parents[1] / "templates" / "email"  # where the PackageLoader finds them, for messages


def override_dirs(settings: Scope) -> list[Path]:
    """The editor's template folders, tried before the bundled templates."""
    dirs = [settings.newsletter.templates_dir] if settings.newsletter.templates_dir else []
    own = settings.install.root / "templates" / "email"
    if own.is_dir() and own not in dirs:
        dirs.append(own)
    return dirs


def template_dirs(settings: Scope) -> list[Path]:
    """Every folder a template may come from, in lookup order (what the preview watches)."""
    return [*override_dirs(settings), BUNDLED]


class CompiledTemplates(jinja2.BytecodeCache):
    """Each template compiled once per process, not once per render: a render makes its environments afresh (the
    editor's folders and language are the config's of the moment), and compiling the two templates was 50 ms of the
    CPU of each render, which a build's fitting, the leave-one-out check and the preview repeat.

    Jinja asks this cache before it compiles, with the template's name, file and a checksum of its source: a file
    edited since, or a file of the editor's that now shadows the package's (another file, another key), compiles
    afresh. Compiled code depends on the environment's settings (autoescape above all): one cache per kind of
    environment (:func:`compiled_templates`). It also holds what Jinja could work out while compiling (a filter of
    constants, folded): none of our filters depends on the moment or the reader (``day`` is never folded)."""

    LIMIT = 256  # files kept (a file's newest source only); the one used least recently goes first

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[str, CodeType]] = {}
        self._lock = threading.Lock()  # the preview and the desk render in several threads

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            checksum, code = self._compiled.pop(bucket.key, ("", None))
            if code is not None:
                self._compiled[bucket.key] = (checksum, code)  # now the most recently used
        if code is not None and checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is None:
            return
        with self._lock:
            if bucket.key not in self._compiled and len(self._compiled) >= self.LIMIT:
                del self._compiled[next(iter(self._compiled))]
            self._compiled[bucket.key] = (bucket.checksum, bucket.code)


@functools.cache
def compiled_templates(html: bool, language: str) -> CompiledTemplates:
    """The cache of one kind of environment: HTML or text (escaping compiled in or not), in one language (nothing of
    the language is compiled in today; a cache of its own costs a compile per language and keeps it so)."""
    return CompiledTemplates()


def environment(settings: Scope, *, html: bool) -> jinja2.Environment:
    language = settings.newsletter.language
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader([str(d) for d in override_dirs(settings)]), jinja2.PackageLoader("digest", "templates/email")]
        ),
        # The text twin is not HTML: escaping it would put "&amp;" in front of readers.
        autoescape=html,  # noqa: S701
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
        bytecode_cache=compiled_templates(html, language),
    )
    # newstyle: _("… %(name)s", name=value) formats for itself, escaping the values in the HTML template.
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]

    # pass_context: Jinja never works this filter out while compiling. Babel reads ``None|day`` as today, which a
    # template compiled once and kept (CompiledTemplates) would show as the day it was compiled, days later.
    @jinja2.pass_context
    def day(_context: Any, moment: date, with_year: bool = True) -> str:
        """A day in the reader's language, in whatever zone it carries: ``20 novembre 2026``."""
        return format_day(moment, language, with_year)

    env.filters["day"] = day
    env.filters["wrap"] = wrap
    env.filters["labelled"] = labelled
    return env


class LinkReferences:
    """Numbers links for the plain text: ``[1]`` in the body, the URLs listed at the end.

    It also notes where each link is met (``owner``, set by the text's marks: a section's number, or ``2p7`` for
    post 7 of section 2), so a reader's view lists only the links it shows: none of a section they did not choose,
    none only a post cut from their copy held.
    """

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.owner: str | None = None
        self.owners: dict[int, set[str]] = {}

    def __call__(self, url: str | None) -> str:
        if not url:
            return ""
        if url not in self.urls:
            self.urls.append(url)
        number = self.urls.index(url) + 1
        self.owners.setdefault(number, set()).add(self.owner or "all")
        return self.label(number)

    @staticmethod
    def label(number: int) -> str:
        """``[N]`` as the marked text writes it (see :mod:`digest.render.views`: a view numbers its links again)."""
        return f"{REF}{number}]"

    def region(self, number: int) -> str:
        """The view mark of link ``number``: kept with any section it is met in (``all``: met outside them); a link met
        in a post is kept with that post (``any s2p7``: a view may cut the post and keep its section)."""
        owners = self.owners.get(number, {"all"})
        if "all" in owners:
            return "all"
        if not any("p" in owner for owner in owners):
            return "s " + " ".join(sorted(owners, key=int))  # as layouts frozen before posts were cut have it
        return "any " + " ".join(f"s{owner}" for owner in sorted(owners, key=lambda owner: [int(n) for n in owner.split("p")]))

    def set_owner(self, section: str | None) -> None:
        self.owner = section


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render one template; template errors become RenderError with file and line."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{exc.filename or name}:{exc.lineno}", exc.message or str(exc)) from exc
    except jinja2.TemplateNotFound as exc:
        raise RenderError(name, f"template not found in {', '.join(template_dirs_of(env))}") from exc
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{name}:{_template_line(exc, name)}", exc.message or str(exc)) from exc


def template_dirs_of(env: jinja2.Environment) -> list[str]:
    """The folders an environment's loaders search, for a "not found" message."""
    loaders = env.loader.loaders if isinstance(env.loader, jinja2.ChoiceLoader) else [env.loader]
    found: list[str] = []
    for loader in loaders:
        if isinstance(loader, jinja2.FileSystemLoader):
            found += [str(p) for p in loader.searchpath]
        elif isinstance(loader, jinja2.PackageLoader):
            found.append(f"the package's {loader.package_path}/")
    return found


def _template_line(exc: BaseException, name: str) -> str:
    tb = exc.__traceback__
    line = "?"
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(name):
            line = str(tb.tb_lineno)
        tb = tb.tb_next
    return line
