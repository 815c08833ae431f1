"""Times are stored in UTC and shown in the customer's own time zone."""

from django.test import RequestFactory
from django.utils import timezone

from flowmart.users.middleware import UserTimezoneMiddleware


def active_zone_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return UserTimezoneMiddleware(lambda r: timezone.get_current_timezone_name())(request)


def test_pages_render_in_the_customers_time_zone(customer):
    customer.time_zone = "America/New_York"
    customer.save()
    assert active_zone_for(customer) == "America/New_York"
    assert timezone.get_current_timezone_name() == "UTC"  # reset after the request


def test_anonymous_and_unknown_zones_fall_back_to_the_shop_default(customer):
    from django.contrib.auth.models import AnonymousUser

    assert active_zone_for(AnonymousUser()) == "UTC"
    customer.time_zone = "Mars/Olympus_Mons"
    assert active_zone_for(customer) == "UTC"


def test_profile_api_refuses_an_unknown_time_zone(customer_client):
    bad = customer_client.patch("/api/v1/me/", {"time_zone": "Mars/Olympus_Mons"}, format="json")
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["time_zone"]
    good = customer_client.patch("/api/v1/me/", {"time_zone": "Europe/Paris"}, format="json")
    assert good.json()["time_zone"] == "Europe/Paris"
