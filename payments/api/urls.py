from django.urls import path
from rest_framework.routers import SimpleRouter

from payments.api import views

router = SimpleRouter()
router.register("payments", views.PaymentViewSet, basename="payment")
router.register("payment-methods", views.PaymentMethodViewSet, basename="payment-method")

urlpatterns = [
    path("payments/webhooks/<str:gateway>/", views.WebhookView.as_view(), name="payments-webhook"),
    *router.urls,
]
