"""``/favicon.ico`` for both web apps (the public one and the preview): a small icon, cached for a week.

Every browser asks for it on its first visit to a site, and a 404 there is a failure in every access log and
every scanner's report. A 204 would answer it too, but it is no icon: browsers take it as a failed favicon,
show a blank tab and some ask again on the next page, while an icon is fetched once a week and marks the tab.
It is 32 × 32 pixels, drawn here (the accent of the email's header bar, three lines of a digest in white) and
encoded as a PNG inside an ICO container, which every browser reads; a few hundred bytes, made once per process.
"""

from __future__ import annotations

import struct
import zlib

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from digest.models.routes import FAVICON

SIZE = 32
ACCENT = (0x9A, 0x34, 0x12)  # the email's header bar and section names
CACHE = "public, max-age=604800"  # a week: it never changes within a release


def _pixel(x: int, y: int) -> bytes:
    """RGBA of one pixel: a rounded square in the accent, three white lines across it (the last one shorter)."""
    corner = 5
    dx, dy = max(corner - x, x - (SIZE - 1 - corner), 0), max(corner - y, y - (SIZE - 1 - corner), 0)
    if dx * dx + dy * dy > corner * corner:
        return b"\x00\x00\x00\x00"
    for top, right in ((8, 24), (14, 24), (20, 18)):
        if top <= y < top + 3 and 8 <= x < right:
            return b"\xff\xff\xff\xff"
    return bytes((*ACCENT, 0xFF))


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"".join(_pixel(x, y) for x in range(SIZE)) for y in range(SIZE))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _ico(png: bytes) -> bytes:
    """One image in an ICO container: the directory (reserved, type 1 = icon, one entry), then the entry
    (width, height, no palette, reserved, 1 plane, 32 bits, the image's size and offset), then the PNG."""
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(png), 6 + 16) + png


ICON = _ico(_png())


async def favicon(request: Request) -> Response:
    return Response(ICON, media_type="image/x-icon", headers={"Cache-Control": CACHE})


ROUTE = Route(FAVICON.template, favicon, methods=["GET"])
