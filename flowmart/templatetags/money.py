from django import template

from flowmart.money import Money

register = template.Library()


@register.filter
def money(amount_minor, currency="USD"):
    """``{{ line.price_minor|money:line.currency }}`` → ``$129.99``."""
    if amount_minor is None or amount_minor == "":
        return ""
    return str(Money(int(amount_minor), currency or "USD"))
