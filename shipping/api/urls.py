from django.urls import path

from shipping.api import views

urlpatterns = [
    path("shipping-methods/", views.ShippingMethodsView.as_view(), name="shipping-methods"),
    path("tracking/<str:number>/", views.TrackingView.as_view(), name="shipping-tracking"),
    path("orders/<str:number>/shipments/", views.OrderShipmentsView.as_view(), name="shipping-order-shipments"),
    path(
        "orders/<str:number>/shipments/<str:shipment_number>/delivery-choice/",
        views.DeliveryChoiceView.as_view(),
        name="shipping-delivery-choice",
    ),
    path("orders/<str:number>/returns/", views.OrderReturnsView.as_view(), name="shipping-order-returns"),
    path("returns/", views.ReturnListView.as_view(), name="shipping-return-list"),
    path("returns/<str:rma_number>/", views.ReturnDetailView.as_view(), name="shipping-return-detail"),
    path("shipping/webhooks/<slug:carrier>/", views.CarrierWebhookView.as_view(), name="shipping-carrier-webhook"),
]
