from django.urls import include, path

from tests.testapp.views import ChargeView

urlpatterns = [
    path("api/v1/_test/charges/", ChargeView.as_view()),
    path("", include("flowmart.urls")),
]
