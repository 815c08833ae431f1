from django.urls import path
from django.views.generic import RedirectView

from orders import views

app_name = "orders"

urlpatterns = [
    path("basket/", views.basket_detail, name="basket"),
    path("basket/add/", views.basket_add, name="basket_add"),
    path("basket/lines/<int:line_id>/", views.basket_line_update, name="basket_line_update"),
    path("basket/lines/<int:line_id>/remove/", views.basket_line_remove, name="basket_line_remove"),
    path("checkout/", views.checkout, name="checkout"),
    # The four-step checkout's pages, in bookmarks and open tabs (a POST from one arrives as a GET: nothing placed).
    *[
        path(f"checkout/{step}/", RedirectView.as_view(pattern_name="orders:checkout", permanent=True))
        for step in ("shipping", "payment", "review")
    ],
    path("orders/", views.order_list, name="order_list"),
    path("orders/find/", views.order_lookup, name="order_lookup"),
    path("orders/link/<str:token>/", views.order_link, name="order_link"),
    path("orders/<str:number>/", views.order_detail, name="order_detail"),
    path("orders/<str:number>/confirmation/", views.order_confirmation, name="order_confirmation"),
    path("orders/<str:number>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<str:number>/pay/", views.order_payment_retry, name="order_payment_retry"),
    path("orders/<str:number>/amend/", views.order_amend, name="order_amend"),
    path("orders/<str:number>/exchange/", views.order_exchange, name="order_exchange"),
    path(
        "orders/<str:number>/shipments/<str:shipment_number>/delivery-choice/",
        views.order_delivery_choice,
        name="order_delivery_choice",
    ),
]
