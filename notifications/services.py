"""Commands of the notifications app: everything that changes its state."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def welcome_email_send(*, email: str, full_name: str) -> None:
    context = {"full_name": full_name, "email": email, "site_url": settings.SITE_URL, "shop_name": settings.SHOP_NAME}
    message = EmailMultiAlternatives(
        subject=f"Welcome to {settings.SHOP_NAME}",
        body=render_to_string("notifications/welcome.txt", context),
        to=[email],
    )
    message.attach_alternative(render_to_string("notifications/welcome.html", context), "text/html")
    message.send()
