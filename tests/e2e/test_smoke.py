"""A new customer's first minutes in the storefront, in a real browser."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_home_page_renders_with_the_shop_header(page):
    page.goto("/")
    expect(page).to_have_title(re.compile("FlowMart"))
    header = page.get_by_role("banner")
    expect(header.get_by_role("link", name="FlowMart")).to_be_visible()
    expect(header.get_by_role("link", name="Log in")).to_be_visible()
    expect(header.get_by_role("link", name="Sign up")).to_be_visible()


def test_sign_up_verify_log_out_and_log_in_again(page):
    page.goto("/")
    page.get_by_role("banner").get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label(re.compile(r"^Password:?$")).fill("Tr1cky-pass-99")
    page.get_by_label("Password (again)").fill("Tr1cky-pass-99")
    page.get_by_role("button", name="Sign Up").click()

    # The emailed code confirms the address and signs the customer in.
    expect(page.get_by_label("Code")).to_be_visible()
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.MULTILINE).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("banner").get_by_role("link", name="Log in")).to_be_visible()

    page.get_by_role("banner").get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("browser@example.com")
    page.get_by_label("Password").fill("Tr1cky-pass-99")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
