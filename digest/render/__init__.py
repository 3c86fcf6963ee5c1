"""From a Digest to the email as sent: Jinja2 → MJML → premailer for HTML, Jinja2 for text."""

from __future__ import annotations

from typing import Any

from digest import placeholders
from digest.config import Settings
from digest.issue import last_day
from digest.models import Digest, RenderedIssue
from digest.render.checks import check_issue
from digest.render.inline import inline_css
from digest.render.mjml import compile_mjml, split_inline_css
from digest.render.templates import HTML_TEMPLATE, TEXT_TEMPLATE, LinkReferences, environment, render_template
from digest.render.text import tidy_text

__all__ = ["render_issue", "template_context"]


def template_context(digest: Digest, settings: Settings) -> dict[str, Any]:
    """What both templates see. Times are given in the newsletter's time zone."""
    zone = settings.timezone
    return {
        "digest": digest,
        "newsletter": settings.name,
        "language": settings.language,
        "window_start": digest.window.start.astimezone(zone),
        "window_last": last_day(digest.window, zone),
        "local": lambda moment: moment.astimezone(zone),
        "links": {
            "web": f"{settings.base_url}/archive/{digest.issue_id}/",
            "unsubscribe": placeholders.UNSUBSCRIBE_URL,
            "recipient": placeholders.RECIPIENT_EMAIL,
        },
        "sender": settings.sender,
    }


def render_issue(digest: Digest, settings: Settings) -> RenderedIssue:
    """Render, compile, inline and check the issue. Raises RenderError on a template or MJML error."""
    context = template_context(digest, settings)
    source = render_template(environment(settings, html=True), HTML_TEMPLATE, context)
    mjml_source, css = split_inline_css(source)
    html = inline_css(compile_mjml(mjml_source, HTML_TEMPLATE), css)
    text = tidy_text(render_template(environment(settings, html=False), TEXT_TEMPLATE, {**context, "ref": LinkReferences()}))
    subject = digest.title
    return RenderedIssue(
        issue_id=digest.issue_id,
        subject=subject,
        preheader=digest.preheader,
        html=html,
        text=text,
        checks=check_issue(digest, subject, html, text),
    )
