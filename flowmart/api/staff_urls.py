"""``/api/v1/staff/``: the staff desk's API (docs/staff.md §Staff API). Each app mounts its staff endpoints
here; a new area is one more ``include`` line (e.g. ``path("reports/", include("…"))``)."""

from django.urls import include, path

urlpatterns = [
    path("", include("orders.api.staff_urls")),
    path("", include("shipping.api.staff_urls")),
    path("", include("payments.api.staff_urls")),
    path("", include("flowmart.staff.api.urls")),
]
