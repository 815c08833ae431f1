from django.urls import path

from orders.api import views

urlpatterns = [
    path("basket/", views.BasketView.as_view(), name="orders-api-basket"),
    path("basket/lines/", views.BasketLinesView.as_view(), name="orders-api-basket-lines"),
    path("basket/lines/<int:line_id>/", views.BasketLineView.as_view(), name="orders-api-basket-line"),
    path("checkout/", views.CheckoutView.as_view(), name="orders-api-checkout"),
    path("orders/", views.OrderListView.as_view(), name="orders-api-list"),
    path("orders/<str:number>/", views.OrderDetailView.as_view(), name="orders-api-detail"),
    path("orders/<str:number>/cancel/", views.OrderCancelView.as_view(), name="orders-api-cancel"),
    path("orders/<str:number>/exchanges/", views.OrderExchangeView.as_view(), name="orders-api-exchange"),
    path("orders/<str:number>/amend/", views.OrderAmendView.as_view(), name="orders-api-amend"),
    path("orders/<str:number>/payment/", views.OrderPaymentRetryView.as_view(), name="orders-api-payment-retry"),
]
