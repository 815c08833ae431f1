"""``country_name``: an address's country code as its English name (shipping's table)."""

from __future__ import annotations

from django import template

from shipping.countries import country_name as _country_name

register = template.Library()


@register.filter
def country_name(code: str) -> str:
    return _country_name(code or "")
