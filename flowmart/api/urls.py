"""``/api/v1/``: each domain app mounts its own ``api/urls.py`` here."""

from django.urls import include, path

urlpatterns = [
    path("staff/", include("flowmart.api.staff_urls")),
    path("", include("inventory.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("shipping.api.urls")),
    path("", include("subscriptions.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("flowmart.users.api.urls")),
    path("", include("reports.urls")),
]
