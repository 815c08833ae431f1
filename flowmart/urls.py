from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from flowmart import health, metrics
from flowmart.users import headless

admin.site.site_header = "FlowMart staff"
admin.site.site_title = "FlowMart staff"
admin.site.index_title = "Shop administration"

urlpatterns = [
    path("", include("inventory.home_urls")),  # the storefront home is the catalog's front page
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("flowmart.users.urls")),
    # Before allauth's own: the refresh that says why it refused a token (flowmart/users/headless.py).
    path("_allauth/app/v1/tokens/refresh", headless.refresh_token_view, name="app-token-refresh"),
    path("_allauth/", include("allauth.headless.urls")),
    path("api/v1/", include("flowmart.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Storefront pages of the domain apps.
    path("", include("inventory.urls")),
    path("", include("payments.urls")),
    path("", include("shipping.urls")),
    path("", include("subscriptions.urls")),
    path("", include("orders.urls")),
    path("", include("notifications.urls")),
]

handler400 = "flowmart.api.problems.bad_request"
handler403 = "flowmart.api.problems.permission_denied"
handler404 = "flowmart.api.problems.page_not_found"
handler500 = "flowmart.api.problems.server_error"
