from django import template

from orders.timeline_text import describe

register = template.Library()


@register.filter
def timeline_text(entry) -> str | None:
    """``{{ entry|timeline_text }}``: the customer's sentence for a timeline entry."""
    return describe(name=entry.name, payload=entry.payload)
