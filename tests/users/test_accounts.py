"""Accounts: storefront sign-up with email verification, login/logout, and the app's JWT tokens."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from flowmart.events.models import OutboxEvent
from flowmart.users.models import User


def verification_code(message) -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", message.body, re.MULTILINE)
    assert match, message.body
    return match.group(1)


def test_email_is_the_login_and_is_normalised(db):
    user = User.objects.create_user("Someone@Example.COM", "s3cret-pass")
    assert user.email == "someone@example.com"
    assert user.check_password("s3cret-pass")
    assert user.get_short_name() == "someone"


def test_storefront_sign_up_verifies_the_email_and_announces_the_new_customer(client, db):
    response = client.post(
        reverse("account_signup"),
        {"email": "new@example.com", "password1": "Tr1cky-pass-99", "password2": "Tr1cky-pass-99"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    # Not logged in until the emailed code is entered.
    assert client.get("/api/v1/me/").status_code in (401, 403)
    assert len(mail.outbox) == 1
    assert "FlowMart" in mail.outbox[0].subject
    code = verification_code(mail.outbox[0])

    response = client.post(reverse("account_email_verification_sent"), {"code": code}, follow=True)
    assert response.status_code == 200
    assert client.get("/api/v1/me/").json()["email"] == "new@example.com"
    assert user.emailaddress_set.get().verified

    event = OutboxEvent.objects.get(name="UserSignedUp")
    assert event.payload == {"user_id": str(user.public_id), "email": "new@example.com", "full_name": ""}
    assert event.correlation_id == f"user:{user.public_id}"


def test_sign_up_with_a_taken_email_creates_nothing_and_tells_the_owner(client, customer):
    # Account enumeration protection: the page looks the same, the real owner gets an email.
    response = client.post(
        reverse("account_signup"),
        {"email": customer.email, "password1": "Tr1cky-pass-99", "password2": "Tr1cky-pass-99"},
    )
    assert response.status_code == 302
    assert User.objects.filter(email=customer.email).count() == 1
    assert not customer.__class__.objects.get(pk=customer.pk).check_password("Tr1cky-pass-99")
    assert [m.to for m in mail.outbox] == [[customer.email]]
    assert "already" in mail.outbox[0].body


def test_login_and_logout_in_the_storefront(client, customer, password):
    response = client.post(reverse("account_login"), {"login": customer.email, "password": password})
    assert response.status_code == 302
    assert client.get("/api/v1/me/").status_code == 200

    client.post(reverse("account_logout"))
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_wrong_password_is_a_form_error(client, customer):
    response = client.post(reverse("account_login"), {"login": customer.email, "password": "nope-nope"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()


@pytest.mark.worker
def test_welcome_email_is_sent_through_the_event_spine(client, celery_worker, wait_until):
    client.post(
        reverse("account_signup"),
        {"email": "welcome@example.com", "password1": "Tr1cky-pass-99", "password2": "Tr1cky-pass-99"},
    )
    welcome = wait_until(
        lambda: [m for m in mail.outbox if "Welcome to FlowMart" in m.subject],
        message="the welcome email",
    )
    assert welcome[0].to == ["welcome@example.com"]


class TestMobileTokens:
    """allauth headless, app client, JWT strategy: access + refresh tokens."""

    def login(self, api_client, email, password):
        return api_client.post("/_allauth/app/v1/auth/login", {"email": email, "password": password}, format="json")

    def test_login_returns_access_and_refresh_tokens_that_authenticate_the_api(self, api_client, customer, password):
        response = self.login(api_client, customer.email, password)
        assert response.status_code == 200
        meta = response.json()["meta"]
        assert meta["is_authenticated"] is True

        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {meta['access_token']}")
        me = api_client.get("/api/v1/me/")
        assert me.status_code == 200
        assert me.json()["email"] == customer.email

    def test_refresh_token_renews_access_without_logging_in_again(self, api_client, customer, password):
        meta = self.login(api_client, customer.email, password).json()["meta"]
        refreshed = api_client.post(
            "/_allauth/app/v1/tokens/refresh", {"refresh_token": meta["refresh_token"]}, format="json"
        )
        assert refreshed.status_code == 200
        new_access = refreshed.json()["data"]["access_token"]
        assert new_access

        fresh = type(api_client)()
        fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {new_access}")
        assert fresh.get("/api/v1/me/").json()["email"] == customer.email

    def test_a_rotated_refresh_token_reused_says_why_it_is_refused(self, api_client, customer, password):
        meta = self.login(api_client, customer.email, password).json()["meta"]
        first = api_client.post("/_allauth/app/v1/tokens/refresh", {"refresh_token": meta["refresh_token"]})
        assert first.status_code == 200

        reused = api_client.post("/_allauth/app/v1/tokens/refresh", {"refresh_token": meta["refresh_token"]})

        assert reused.status_code == 400
        [error] = reused.json()["errors"]
        assert error["code"] == "invalid_refresh_token"
        assert "already used" in error["message"]

    def test_a_forged_token_is_refused(self, api_client, db):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
        response = api_client.get("/api/v1/me/")
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"

    def test_wrong_password_gets_no_token(self, api_client, customer):
        response = self.login(api_client, customer.email, "wrong-password")
        assert response.status_code == 400
        assert "access_token" not in response.content.decode()

    def test_profile_update_through_the_api(self, api_client, customer, password):
        meta = self.login(api_client, customer.email, password).json()["meta"]
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {meta['access_token']}")
        response = api_client.patch("/api/v1/me/", {"full_name": "Casey Q. Customer"}, format="json")
        assert response.status_code == 200
        customer.refresh_from_db()
        assert customer.full_name == "Casey Q. Customer"


def test_repeated_failed_logins_are_rate_limited(api_client, customer, password, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,3/5m/key"}
    for _ in range(3):
        response = api_client.post(
            "/_allauth/app/v1/auth/login", {"email": customer.email, "password": "wrong"}, format="json"
        )
        assert response.status_code == 400
    # Even the right password is refused while the key is locked out.
    locked = api_client.post(
        "/_allauth/app/v1/auth/login", {"email": customer.email, "password": password}, format="json"
    )
    assert locked.status_code == 400
    assert locked.json()["errors"][0]["code"] == "too_many_login_attempts"
    assert "access_token" not in locked.content.decode()
