"""Filters for message templates: payload timestamps arrive as ISO 8601 strings."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import dateformat, timezone

register = template.Library()


@register.filter
def iso_datetime(value, fmt: str = "N j, Y, H:i T"):
    """``{{ retry_until|iso_datetime }}`` → ``Nov. 22, 2026, 12:00 UTC`` (unparseable values pass through)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return value
    if timezone.is_naive(moment):
        return dateformat.format(moment, fmt.replace(" T", ""))
    return dateformat.format(timezone.localtime(moment), fmt)
