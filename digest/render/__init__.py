"""From a Digest to the email as sent: Jinja2 → MJML → premailer for HTML, Jinja2 for text.

::

    templates.py  the two Jinja environments (autoescaped HTML, plain text): the editor's folder, then the package's
    mjml.py       MJML to HTML with mjml-python (MRML), the CSS we inline taken out first
    fixups.py     what MRML writes differently from official MJML, put right
    inline.py     our own CSS inlined with premailer, safely for MJML's output
    plaintext.py  the text twin's lines: wrapped, tidied
    views.py      theme views: what a reader of some themes gets, cut from the one render
    i18n.py       the reader's language: dates and counts by Babel, fixed phrases by gettext
    checks.py     what would break, clip or annoy in a mail client: for the summary, the preview, the send's gate
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC
from typing import Any

from digest.config import Scope, leaves_machine
from digest.models import Digest, OutletGroup, Post, RenderedIssue, last_day, placeholders, routes
from digest.models.errors import MjmlError, RenderError
from digest.render.checks import check_issue
from digest.render.fixups import fix_mrml, mark_preheader
from digest.render.i18n import NOTHING_NEW, OUTLETS_IN, colon, counts_phrase, span_of
from digest.render.inline import inline_css
from digest.render.mjml import compile_mjml, split_inline_css
from digest.render.plaintext import tidy_text
from digest.render.templates import HTML_TEMPLATE, TEXT_TEMPLATE, LinkReferences, environment, render_template
from digest.render.views import Marks, layout_of, outlet_line, share_text, strip

__all__ = ["render_issue", "render_leaving_out", "template_context", "template_contexts"]


def template_context(digest: Digest, settings: Scope) -> dict[str, Any]:
    """What both templates see. Times are given in the newsletter's time zone."""
    zone = settings.newsletter.timezone
    return {
        "digest": digest,
        # Each post's number for its "p N" view mark: the sections' posts in order (Layout.post_published's order).
        "post_no": {post.id: n for n, post in enumerate((post for section in digest.sections for post in section.posts), 1)},
        "newsletter": settings.newsletter.name,
        "language": settings.newsletter.language,
        "window_start": digest.window.start.astimezone(zone),
        "window_last": last_day(digest.window, zone),
        # The phrases that name the window: a daily says "today", a monthly round-up "this month".
        "span_words": {
            "nothing_new": NOTHING_NEW[span_of(digest.window.start, digest.window.end)],
            "outlets": OUTLETS_IN[span_of(digest.window.start, digest.window.end)],
        },
        "local": lambda moment: moment.astimezone(zone),
        "links": {
            # The "view in browser" copy: the published archive when there is one, else the public app's.
            "web": f"{routes.archive_at(settings.newsletter.archive_url, settings.base_url)}/{digest.issue_id}/",
            "unsubscribe": placeholders.UNSUBSCRIBE_URL,
            "preferences": placeholders.PREFERENCES_URL,
            "recipient": placeholders.RECIPIENT_EMAIL,
        },
        "sender": settings.newsletter.sender,
        "postal_address": settings.newsletter.address,
        "images": settings.newsletter.images,
        "counts": lambda posts, outlets: counts_phrase(posts, outlets, settings.newsletter.language),
        "share": lambda share: share_text(share, settings.newsletter.language),
        "outlet_line": lambda outlet, count, share: outlet_line(outlet, count, share, settings.newsletter.language),
        "colon": lambda label: colon(label, settings.newsletter.language),
    }


Present = Callable[[Digest], Digest]  # the issue as the reader's copy shows it (digest.issue.links: counted links)


def render_issue(digest: Digest, settings: Scope, present: Present | None = None) -> RenderedIssue:
    """Render, compile, inline and check the issue (as ``present`` shows it, when given). Raises RenderError on a
    template or MJML error."""
    if present is not None:
        digest = present(digest)
    marked_html, marked_text = _render_parts(digest, settings)
    html, text = _stripped((marked_html, marked_text))
    # The leftover-markup check judges the templates, not the content: a post about Jinja may
    # well have "{{" in its title. When one does, the check looks at a render whose posts carry
    # no template syntax, so only what the templates themselves left behind can be found.
    markup = _stripped(_render_parts(defused(digest), settings)) if has_markup(digest) else (html, text)
    subject = digest.subject
    return RenderedIssue(
        issue_id=digest.issue_id,
        subject=subject,
        preheader=digest.preheader,
        html=html,
        text=text,
        checks=check_issue(digest, subject, html, text, markup=markup, public=leaves_machine(settings.install)),
        layout=layout_of(
            marked_html,
            marked_text,
            themes=[section.theme for section in digest.sections],
            keys=[settings.newsletter.key_of(section.theme) for section in digest.sections],
            post_outlets=[[post.outlet for post in section.posts] for section in digest.sections],
            outlets=[outlet.outlet for outlet in digest.outlet_summary],
            language=settings.newsletter.language,
            automatic_preheader=not _given_preheader(digest, settings),
            post_published=[post.published.astimezone(UTC).isoformat() for section in digest.sections for post in section.posts],
        ),
    )


def _given_preheader(digest: Digest, settings: Scope) -> bool:
    """A person wrote the preheader (the newsletter's, the edition's or the issue file's): each view keeps it."""
    editions = {edition.name: edition for edition in settings.newsletter.editions}
    edition = editions.get(digest.edition)
    return bool(settings.newsletter.preheader or (edition and edition.preheader) or (digest.editorial and digest.editorial.preheader))


def _stripped(parts: tuple[str, str]) -> tuple[str, str]:
    return strip(parts[0], html=True), tidy_text(strip(parts[1], html=False))


def render_leaving_out(
    digest: Digest, settings: Scope, reassemble: Callable[[Mapping[str, str]], Digest], present: Present | None = None
) -> tuple[Digest, RenderedIssue]:
    """Render the issue; if one post's content breaks the MJML compiler, leave that post out, never the issue.

    On an MJML error each post is compiled alone; those that fail on their
    own are handed to ``reassemble`` (post id → why), which returns the
    digest without them (excluded, and reported as problems). A failure that
    no single post explains (a broken template) is raised as it is.
    """
    try:
        return digest, render_issue(digest, settings, present)
    except MjmlError:
        if not digest.posts:
            raise
        failing = {post.id: f"could not be put in the email ({message}); left out" for post, message in _failing_alone(digest, settings)}
        if not failing:
            raise
    fixed = reassemble(failing)
    return fixed, render_issue(fixed, settings, present)


def _failing_alone(digest: Digest, settings: Scope) -> list[tuple[Post, str]]:
    failing = []
    for section in digest.sections:
        for post in section.posts:
            alone = replace(section, outlets=(OutletGroup(outlet=post.outlet, posts=(post,)),))
            try:
                _render_parts(replace(digest, sections=(alone,)), settings)
            except RenderError as exc:
                failing.append((post, exc.message))
    return failing


def template_contexts(digest: Digest, settings: Scope) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the HTML and the text template see: each its own theme marks (``v``), the text its link numbering (``ref``)."""
    context = template_context(digest, settings)
    refs = LinkReferences()
    return {**context, "v": Marks(html=True)}, {**context, "ref": refs, "v": Marks(html=False, on_section=refs.set_owner)}


def _render_parts(digest: Digest, settings: Scope) -> tuple[str, str]:
    """(HTML, text) with the theme marks still in (see :mod:`digest.render.views`); the text not yet tidied."""
    html_context, text_context = template_contexts(digest, settings)
    source = render_template(environment(settings, html=True), HTML_TEMPLATE, html_context)
    mjml_source, css = split_inline_css(source)
    html = mark_preheader(inline_css(fix_mrml(compile_mjml(mjml_source, HTML_TEMPLATE), digest.preheader), css), digest.preheader)
    return html, render_template(environment(settings, html=False), TEXT_TEMPLATE, text_context)


_MARKUP = re.compile(r"\{\{|\{%|<mj-|&lt;mj-", re.IGNORECASE)


def _defuse(text: str) -> str:
    return _MARKUP.sub(lambda m: m.group(0).replace("{", "(").replace("mj-", "mj_").replace("MJ-", "MJ_"), text)


def _post_texts(post: Post) -> tuple[str, ...]:
    return (post.title, post.outlet or "", post.author or "", post.excerpt_html, post.excerpt_text, *post.tags)


def has_markup(digest: Digest) -> bool:
    """Whether any post's text carries something the leftover-markup check looks for."""
    return any(_MARKUP.search(text) for post in digest.posts for text in _post_texts(post))


def defused(digest: Digest) -> Digest:
    """The digest with template syntax in post text made harmless (``{{`` → ``({``), for judging the templates alone."""

    def clean(post: Post) -> Post:
        return replace(
            post,
            title=_defuse(post.title),
            outlet=_defuse(post.outlet) if post.outlet else post.outlet,
            author=_defuse(post.author) if post.author else post.author,
            excerpt_html=_defuse(post.excerpt_html),
            excerpt_text=_defuse(post.excerpt_text),
            tags=tuple(_defuse(tag) for tag in post.tags),
        )

    sections = tuple(
        replace(section, outlets=tuple(replace(group, posts=tuple(clean(p) for p in group.posts)) for group in section.outlets))
        for section in digest.sections
    )
    return replace(digest, sections=sections)
