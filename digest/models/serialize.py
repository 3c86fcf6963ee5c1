"""The JSON forms of posts and digests (``digest posts --format json``, ``digest.json``)."""

from __future__ import annotations

import json
from datetime import date, datetime, tzinfo
from typing import Any

from digest.models import AlsoIn, Digest, Excluded, Image, Post, Window


def post_to_json(post: Post) -> dict[str, Any]:
    return {
        "id": post.id,
        "title": post.title,
        "url": post.url,
        "published": post.published.isoformat(),
        "outlet": post.outlet,
        "author": post.author,
        "excerpt": post.excerpt_text,
        "excerpt_html": post.excerpt_html,
        "tags": list(post.tags),
        "theme": post.theme,
        "source": post.source,
        "original_date": post.original_date.isoformat() if post.original_date else None,
        "image": _image_json(post.image) if post.image else None,
        "also": [{"outlet": item.outlet, "url": item.url, "title": item.title} for item in post.also],
    }


def post_from_json(data: dict[str, Any], zone: tzinfo | None = None) -> Post:
    """The Post that :func:`post_to_json` wrote; ``published`` in ``zone`` when given (JSON keeps only the offset)."""
    published = datetime.fromisoformat(data["published"])
    return Post(
        id=data["id"],
        title=data["title"],
        url=data["url"],
        published=published.astimezone(zone) if zone is not None else published,
        outlet=data["outlet"],
        author=data["author"],
        excerpt_html=data["excerpt_html"],
        excerpt_text=data["excerpt"],
        tags=tuple(data["tags"]),
        theme=data["theme"],
        source=data["source"],
        original_date=date.fromisoformat(data["original_date"]) if data["original_date"] else None,
        image=Image(
            url=data["image"]["url"], alt=data["image"].get("alt"), width=data["image"].get("width"), height=data["image"].get("height")
        )
        if data.get("image")
        else None,
        also=tuple(AlsoIn(outlet=item["outlet"], url=item["url"], title=item["title"]) for item in data.get("also", ())),
    )


def window_to_json(window: Window) -> dict[str, str]:
    return {"start": window.start.isoformat(), "end": window.end.isoformat()}


def _excluded(item: Excluded) -> dict[str, Any]:
    return {"post": post_to_json(item.post), "kind": item.kind.value, "reason": item.reason}


def digest_to_json(digest: Digest) -> dict[str, Any]:
    return {
        "issue_id": digest.issue_id,
        "newsletter": digest.newsletter,
        "edition": digest.edition,
        "title": digest.title,
        "preheader": digest.preheader,
        "window": window_to_json(digest.window),
        "timezone": digest.timezone,
        "generated_at": digest.generated_at.isoformat(),
        "stats": {
            "gathered": digest.stats.gathered,
            "selected": digest.stats.selected,
            "excluded": digest.stats.excluded,
            "excluded_by_kind": {kind.value: count for kind, count in digest.excluded_by_kind().items()},
            "problems": digest.stats.problems,
            "distant": digest.stats.distant,
        },
        "sections": [
            {
                "theme": section.theme,
                "description": section.description,
                "outlets": [
                    {
                        "outlet": group.outlet,
                        "posts": [{**post_to_json(post), "theme_reason": section.reasons.get(post.id)} for post in group.posts],
                    }
                    for group in section.outlets
                ],
                # A round-up's theme cut at its cap: how many more, the month's archive page that lists them, and
                # those posts (not mailed: the archive's month page reads them here, digest.app.archive_month).
                **(
                    {"more": section.more, "more_url": section.more_url, "beyond": [post_to_json(post) for post in section.beyond]}
                    if section.more
                    else {}
                ),
            }
            for section in digest.sections
        ],
        "outlet_summary": [{"outlet": o.outlet, "count": o.count, "share": o.share} for o in digest.outlet_summary],
        "excluded": [_excluded(item) for item in digest.excluded],
        "problems": [{"where": p.where, "message": p.message, "source_failed": p.source_failed} for p in digest.problems],
        "editorial": _editorial(digest),
        "order": digest.order,
        "interest": _interest(digest),
    }


def _interest(digest: Digest) -> dict[str, Any] | None:
    """What readers clicked in recent issues, per theme (None: no counted clicks)."""
    if digest.interest is None:
        return None
    return {
        "issues": digest.interest.issues,
        "themes": [
            {"theme": t.theme, "clicks": t.clicks, "links": t.links, "share": round(t.share, 4), "per_post": round(t.per_post, 3)}
            for t in digest.interest.themes
        ],
    }


def _editorial(digest: Digest) -> dict[str, Any] | None:
    """What the editor's issue file changed, and the notes it added (None when there is no file)."""
    editorial = digest.editorial
    if editorial is None:
        return None
    return {
        "file": editorial.file,
        "subject": editorial.subject,
        "preheader": editorial.preheader,
        "intro_html": editorial.intro_html,
        "notes": dict(editorial.notes),
        "changes": list(editorial.changes),
    }


def dumps(value: object) -> str:
    """JSON as we write it everywhere: UTF-8 text, stable key order, two-space indent."""
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def _image_json(image: Image) -> dict[str, object]:
    """A post's picture in digest.json; its size only when the source gave it."""
    found: dict[str, object] = {"url": image.url, "alt": image.alt}
    if image.width and image.height:
        found |= {"width": image.width, "height": image.height}
    return found
