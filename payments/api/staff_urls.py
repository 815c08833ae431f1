from django.urls import path

from payments.api import staff_views as views

urlpatterns = [
    path("refunds/", views.StaffRefundListView.as_view(), name="staff-api-refunds"),
    path("refunds/<uuid:refund_id>/approve/", views.StaffRefundApproveView.as_view(), name="staff-api-refund-approve"),
    path("refunds/<uuid:refund_id>/reject/", views.StaffRefundRejectView.as_view(), name="staff-api-refund-reject"),
    path("orders/<str:number>/refund/", views.StaffOrderRefundView.as_view(), name="staff-api-order-refund"),
]
