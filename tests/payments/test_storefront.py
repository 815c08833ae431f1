"""The storefront's saved-cards page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from payments import selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(customer) -> Client:
    client = Client()
    client.force_login(customer)
    return client


def test_a_customer_saves_and_removes_a_card(browser, customer):
    url = reverse("payments:saved_cards")
    page = browser.get(url).content.decode()
    assert "You have no saved cards yet." in page
    assert "4242 4242 4242 4242" in page  # the sandbox's test cards are listed by number

    response = browser.post(url, {"token": "pm_card_mastercard"}, follow=True)
    page = response.content.decode()
    assert "Mastercard ending in 4444 saved." in page
    assert "expires 12/2034" in page

    [method] = selectors.payment_methods_for_user(user_id=customer.public_id)
    browser.post(reverse("payments:saved_card_remove", args=[method.id]))
    assert selectors.payment_methods_for_user(user_id=customer.public_id) == []


def test_a_card_number_is_refused_with_a_message(browser, customer):
    response = browser.post(reverse("payments:saved_cards"), {"token": "4111111111111111"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Card numbers are never accepted" in page
    assert "4111111111111111" not in page  # what was posted is never echoed
    assert selectors.payment_methods_for_user(user_id=customer.public_id) == []


def test_nobody_removes_someone_elses_card(browser, other_customer):
    theirs = services.payment_method_attach(user_id=str(other_customer.public_id), token="pm_card_visa")
    response = browser.post(reverse("payments:saved_card_remove", args=[theirs.id]), follow=True)

    assert response.status_code == 404
    assert "Card removed" not in response.content.decode()
    assert len(selectors.payment_methods_for_user(user_id=other_customer.public_id)) == 1


def test_signed_out_visitors_are_sent_to_log_in():
    response = Client().get(reverse("payments:saved_cards"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
