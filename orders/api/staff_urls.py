from django.urls import path

from orders.api import staff_views as views

urlpatterns = [
    path("orders/", views.StaffOrderListView.as_view(), name="staff-api-orders"),
    path("orders/<str:number>/", views.StaffOrderDetailView.as_view(), name="staff-api-order"),
    path("orders/<str:number>/hold/", views.StaffOrderHoldView.as_view(), name="staff-api-order-hold"),
    path("orders/<str:number>/release/", views.StaffOrderReleaseView.as_view(), name="staff-api-order-release"),
    path("orders/<str:number>/cancel/", views.StaffOrderCancelView.as_view(), name="staff-api-order-cancel"),
    path(
        "orders/<str:number>/cancel-dispatched/",
        views.StaffOrderCancelDispatchedView.as_view(),
        name="staff-api-order-cancel-dispatched",
    ),
    path("orders/<str:number>/clear-flag/", views.StaffOrderFlagClearView.as_view(), name="staff-api-order-clear-flag"),
]
