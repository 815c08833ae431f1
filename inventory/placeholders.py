"""Placeholder product pictures: a small SVG per product, so the demo catalog needs no image host."""

from __future__ import annotations

import hashlib
from html import escape

_PALETTE = ["#0b5cab", "#1d6b35", "#8a5a00", "#6b2fa3", "#a61b1b", "#005f73", "#7a4419", "#3d405b"]


def placeholder_svg(*, slug: str, title: str) -> str:
    digest = hashlib.sha256(slug.encode()).digest()
    colour = _PALETTE[digest[0] % len(_PALETTE)]
    initials = "".join(word[0] for word in title.split()[:2]).upper() or "?"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360" viewBox="0 0 480 360" role="img" '
        f'aria-label="{escape(title)}">'
        f'<rect width="480" height="360" fill="{colour}"/>'
        '<circle cx="240" cy="150" r="70" fill="#ffffff" fill-opacity="0.18"/>'
        '<text x="240" y="175" font-family="system-ui,sans-serif" font-size="72" font-weight="700" '
        f'fill="#ffffff" text-anchor="middle">{escape(initials)}</text>'
        '<text x="240" y="290" font-family="system-ui,sans-serif" font-size="24" fill="#ffffff" '
        f'text-anchor="middle">{escape(title[:34])}</text></svg>'
    )


def placeholder_path(slug: str) -> str:
    return f"/products/{slug}/picture.svg"
