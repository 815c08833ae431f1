"""Generated product pictures: an SVG illustration of the kind of product, in its colour.

Demo products (and any product staff have not photographed yet) show a drawing of what they
are (a tee, a hoodie, a mug, a bottle, a cap, a notebook, …) filled with the product's colour,
served by the shop itself so the demo needs no image host. The kind is read from the product's
name, the colour from its first variant's ``colour`` option (or ``?colour=`` for a variant).
Every picture is 480×360, the size the pages reserve for it, so nothing jumps while loading.
"""

from __future__ import annotations

import hashlib
import re
from html import escape

# Colour names the demo catalog's variants use → fill colours.
COLOUR_FILLS = {
    "black": "#2b2f36",
    "charcoal": "#4a4f57",
    "navy": "#23395d",
    "sky": "#7fa9d6",
    "forest": "#2f6140",
    "sage": "#8fa98a",
    "sand": "#d6c29c",
    "oat": "#e6dcc7",
    "rust": "#b4532a",
    "cherry": "#a3243b",
    "mustard": "#d4a72c",
    "white": "#f3f1ec",
    "steel": "#9aa3ab",
    "copper": "#b87333",
}
_FALLBACK_FILLS = ["#23395d", "#2f6140", "#b4532a", "#4a4f57", "#7fa9d6", "#d4a72c", "#a3243b", "#8fa98a"]

# (word in the product name, kind of drawing): the first match wins, so "Zip Hoodie" is a hoodie.
KIND_WORDS = [
    ("hoodie", "hoodie"),
    ("jacket", "jacket"),
    ("tee", "tee"),
    ("t-shirt", "tee"),
    ("cap", "cap"),
    ("beanie", "beanie"),
    ("mug", "mug"),
    ("cup", "mug"),
    ("bottle", "bottle"),
    ("flask", "bottle"),
    ("tumbler", "bottle"),
    ("skillet", "pan"),
    ("frying pan", "pan"),
    ("wok", "pan"),
    ("saucepan", "pot"),
    ("dutch oven", "pot"),
    ("stockpot", "pot"),
    ("backpack", "backpack"),
    ("daypack", "backpack"),
    ("rucksack", "backpack"),
    ("tote", "tote"),
    ("notebook", "notebook"),
    ("journal", "notebook"),
    ("sketchbook", "notebook"),
    ("headphones", "headphones"),
    ("speaker", "speaker"),
]

_OUTLINE = 'stroke="#1b1f24" stroke-opacity=".35" stroke-width="3" stroke-linejoin="round"'

# Each drawing fills "{fill}" (the product colour) and uses "{shade}" for a darker detail.
DRAWINGS = {
    "tee": (
        '<path d="M178 78 L214 64 Q240 90 266 64 L302 78 L362 124 L334 164 L304 146 L304 296 L176 296 L176 146 '
        'L146 164 L118 124 Z" fill="{fill}" {outline}/>'
        '<path d="M214 64 Q240 98 266 64" fill="none" stroke="{shade}" stroke-width="6"/>'
    ),
    "hoodie": (
        '<path d="M170 92 L200 74 L280 74 L310 92 L356 128 L372 270 L340 276 L318 160 L314 300 L166 300 L162 160 '
        'L140 276 L108 270 L124 128 Z" fill="{fill}" {outline}/>'
        '<path d="M196 78 Q240 20 284 78 Q262 112 240 116 Q218 112 196 78 Z" fill="{shade}" {outline}/>'
        '<path d="M230 116 L228 170 M250 116 L252 170" stroke="#f3f1ec" stroke-width="4" stroke-linecap="round"/>'
        '<path d="M196 232 L284 232 L296 286 L184 286 Z" fill="{shade}" fill-opacity=".45"/>'
    ),
    "jacket": (
        '<path d="M172 84 L210 66 L270 66 L308 84 L354 126 L370 282 L338 288 L318 164 L316 304 L164 304 L162 164 '
        'L142 288 L110 282 L126 126 Z" fill="{fill}" {outline}/>'
        '<path d="M210 66 L240 110 L270 66" fill="{shade}" {outline}/>'
        '<path d="M240 110 L240 304" stroke="{shade}" stroke-width="5"/>'
        '<rect x="186" y="214" width="36" height="8" rx="3" fill="{shade}"/>'
        '<rect x="258" y="214" width="36" height="8" rx="3" fill="{shade}"/>'
    ),
    "cap": (
        '<path d="M132 226 Q132 110 240 106 Q348 110 348 226 Z" fill="{fill}" {outline}/>'
        '<path d="M240 106 L240 226 M186 118 Q200 170 194 226 M294 118 Q280 170 286 226" fill="none" '
        'stroke="{shade}" stroke-width="3"/>'
        '<path d="M120 226 Q240 210 372 226 Q410 236 398 254 Q300 268 240 250 Q170 262 120 248 Z" fill="{shade}" '
        "{outline}/>"
        '<circle cx="240" cy="104" r="9" fill="{shade}"/>'
    ),
    "beanie": (
        '<path d="M146 236 Q146 96 240 92 Q334 96 334 236 Z" fill="{fill}" {outline}/>'
        '<rect x="136" y="214" width="208" height="58" rx="14" fill="{shade}" {outline}/>'
        '<circle cx="240" cy="80" r="22" fill="{shade}"/>'
    ),
    "mug": (
        '<path d="M300 140 Q362 140 360 196 Q358 250 298 250" fill="none" stroke="{shade}" stroke-width="20"/>'
        '<path d="M150 110 L310 110 L304 274 Q302 292 284 292 L176 292 Q158 292 156 274 Z" fill="{fill}" '
        "{outline}/>"
        '<ellipse cx="230" cy="110" rx="80" ry="14" fill="{shade}"/>'
    ),
    "bottle": (
        '<rect x="206" y="44" width="68" height="34" rx="8" fill="{shade}" {outline}/>'
        '<path d="M212 78 L268 78 L268 100 Q306 116 306 152 L306 300 Q306 318 288 318 L192 318 Q174 318 174 300 '
        'L174 152 Q174 116 212 100 Z" fill="{fill}" {outline}/>'
        '<rect x="174" y="190" width="132" height="56" fill="{shade}" fill-opacity=".35"/>'
    ),
    "pan": (
        '<rect x="300" y="170" width="150" height="26" rx="13" fill="{shade}" {outline}/>'
        '<circle cx="200" cy="183" r="118" fill="{fill}" {outline}/>'
        '<circle cx="200" cy="183" r="94" fill="{shade}" fill-opacity=".55"/>'
    ),
    "pot": (
        '<rect x="92" y="168" width="56" height="22" rx="11" fill="{shade}"/>'
        '<rect x="332" y="168" width="56" height="22" rx="11" fill="{shade}"/>'
        '<path d="M130 140 L350 140 L342 286 Q340 304 320 304 L160 304 Q140 304 138 286 Z" fill="{fill}" {outline}/>'
        '<path d="M122 140 Q240 82 358 140 Z" fill="{shade}" {outline}/>'
        '<rect x="222" y="86" width="36" height="16" rx="8" fill="{shade}" {outline}/>'
    ),
    "backpack": (
        '<path d="M200 74 Q240 40 280 74" fill="none" stroke="{shade}" stroke-width="12"/>'
        '<rect x="150" y="72" width="180" height="238" rx="40" fill="{fill}" {outline}/>'
        '<path d="M150 150 Q240 196 330 150 L330 120 Q330 72 290 72 L190 72 Q150 72 150 120 Z" fill="{shade}" '
        "{outline}/>"
        '<rect x="182" y="216" width="116" height="72" rx="16" fill="{shade}" fill-opacity=".55"/>'
    ),
    "tote": (
        '<path d="M196 128 Q196 60 240 60 Q284 60 284 128" fill="none" stroke="{shade}" stroke-width="12"/>'
        '<path d="M146 124 L334 124 L350 306 L130 306 Z" fill="{fill}" {outline}/>'
    ),
    "notebook": (
        '<rect x="148" y="52" width="188" height="262" rx="12" fill="{fill}" {outline}/>'
        '<rect x="148" y="52" width="26" height="262" rx="10" fill="{shade}"/>'
        '<rect x="302" y="52" width="12" height="262" fill="{shade}" fill-opacity=".7"/>'
        '<path d="M266 314 L266 346 L278 334 L290 346 L290 314 Z" fill="#a3243b"/>'
        '<rect x="200" y="104" width="90" height="36" rx="4" fill="#f3f1ec" fill-opacity=".85"/>'
    ),
    "headphones": (
        '<path d="M138 212 Q138 76 240 76 Q342 76 342 212" fill="none" stroke="{shade}" stroke-width="18"/>'
        '<rect x="112" y="190" width="64" height="104" rx="28" fill="{fill}" {outline}/>'
        '<rect x="304" y="190" width="64" height="104" rx="28" fill="{fill}" {outline}/>'
    ),
    "speaker": (
        '<rect x="160" y="60" width="160" height="250" rx="28" fill="{fill}" {outline}/>'
        '<circle cx="240" cy="222" r="52" fill="{shade}"/><circle cx="240" cy="122" r="26" fill="{shade}"/>'
    ),
    "parcel": (
        '<path d="M240 70 L360 120 L360 260 L240 310 L120 260 L120 120 Z" fill="{fill}" {outline}/>'
        '<path d="M120 120 L240 170 L360 120 M240 170 L240 310" fill="none" stroke="{shade}" stroke-width="4"/>'
    ),
}


def kind_for(name: str) -> str:
    lowered = name.lower()
    for word, kind in KIND_WORDS:
        if re.search(rf"\b{re.escape(word)}s?\b", lowered):  # whole words: "steel" is not a tee
            return kind
    return "parcel"


def fill_for(colour: str, *, slug: str) -> str:
    fill = COLOUR_FILLS.get(colour.strip().lower())
    if fill:
        return fill
    return _FALLBACK_FILLS[hashlib.sha256(slug.encode()).digest()[0] % len(_FALLBACK_FILLS)]


def _darker(hex_colour: str, factor: float = 0.72) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#{:02x}{:02x}{:02x}".format(*(int(c * factor) for c in (red, green, blue)))


def placeholder_svg(*, slug: str, title: str, colour: str = "") -> str:
    fill = fill_for(colour, slug=slug)
    drawing = DRAWINGS[kind_for(title)].format(fill=fill, shade=_darker(fill), outline=_OUTLINE)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360" viewBox="0 0 480 360" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
        '<rect width="480" height="360" fill="#f4f1ea"/>'
        '<ellipse cx="240" cy="332" rx="150" ry="12" fill="#1b1f24" fill-opacity=".08"/>'
        f"{drawing}</svg>"
    )


def placeholder_path(slug: str) -> str:
    return f"/products/{slug}/picture.svg"
