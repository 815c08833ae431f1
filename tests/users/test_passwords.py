"""Password change and reset in the storefront (allauth, with FlowMart's templates)."""

from __future__ import annotations

import re

from django.core import mail
from django.urls import reverse


def test_password_reset_by_email_link(client, customer):
    response = client.post(reverse("account_reset_password"), {"email": customer.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[0].body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link,
        {"password1": "Brand-new-pass-42", "password2": "Brand-new-pass-42"},
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.check_password("Brand-new-pass-42")


def test_password_change_needs_the_old_password(client, customer, password):
    client.force_login(customer)
    wrong = client.post(
        reverse("account_change_password"),
        {"oldpassword": "not-it", "password1": "Brand-new-pass-42", "password2": "Brand-new-pass-42"},
    )
    assert wrong.status_code == 200
    assert "current password" in wrong.content.decode().lower()

    right = client.post(
        reverse("account_change_password"),
        {"oldpassword": password, "password1": "Brand-new-pass-42", "password2": "Brand-new-pass-42"},
    )
    assert right.status_code == 302
    customer.refresh_from_db()
    assert customer.check_password("Brand-new-pass-42")


def test_account_pages_use_the_storefront_layout(client, customer):
    client.force_login(customer)
    page = client.get(reverse("account_change_password")).content.decode()
    assert 'class="site-header"' in page
    assert "flowmart.css" in page


def test_account_home_links_to_everything_the_customer_owns(client, customer):
    assert client.get("/account/").status_code == 302  # login first
    client.force_login(customer)
    page = client.get("/account/").content.decode()
    for href in ("/orders/", "/returns/", "/membership/manage/", "/account/cards/", "/notifications/preferences/"):
        assert f'href="{href}"' in page
