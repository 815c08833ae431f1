from django.urls import path

from shipping.api import staff_views as views

urlpatterns = [
    path("shipments/", views.StaffShipmentListView.as_view(), name="staff-api-shipments"),
    path("shipments/<str:number>/", views.StaffShipmentDetailView.as_view(), name="staff-api-shipment"),
    path("returns/", views.StaffReturnListView.as_view(), name="staff-api-returns"),
    path("returns/<str:rma_number>/", views.StaffReturnDetailView.as_view(), name="staff-api-return"),
    path("returns/<str:rma_number>/approve/", views.StaffReturnApproveView.as_view(), name="staff-api-return-approve"),
    path("returns/<str:rma_number>/reject/", views.StaffReturnRejectView.as_view(), name="staff-api-return-reject"),
    path("returns/<str:rma_number>/receive/", views.StaffReturnReceiveView.as_view(), name="staff-api-return-receive"),
]
