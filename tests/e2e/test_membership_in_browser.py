"""A customer joins FlowMart Plus, pauses and resumes it, and reads the invoice, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from flowmart.users.demo import DEMO_PASSWORD
from tests.subscriptions.factories import PlanFactory, TierFactory
from tests.users.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_join_pause_resume_and_open_the_invoice(page):
    UserFactory(email="member@example.com")
    tier = TierFactory(name="Plus", free_shipping=True, percent_off=10, early_access=True)
    PlanFactory(code="plus-monthly", name="FlowMart Plus", tier=tier, price_minor=999)

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("member@example.com")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.goto("/membership/")
    expect(page.get_by_text("10% off member prices")).to_be_visible()
    page.get_by_role("link", name="Join FlowMart Plus").click()
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry date").fill("12 / 34")
    page.get_by_label("Security code").fill("123")
    page.get_by_role("button", name="Pay $9.99 and join").click()

    expect(page.get_by_text("Welcome to FlowMart Plus!")).to_be_visible()
    expect(page.get_by_text("Your perks: free shipping · 10% off · early access")).to_be_visible()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Membership paused.")).to_be_visible()
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_text("Welcome back!")).to_be_visible()

    page.get_by_role("link", name="INV-").first.click()
    expect(page.get_by_role("heading", name="Invoice INV-")).to_be_visible()
    expect(page.get_by_text("Total due")).to_be_visible()
