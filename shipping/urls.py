from django.urls import path

from shipping import views

app_name = "shipping"

urlpatterns = [
    path("tracking/", views.tracking_lookup, name="tracking-lookup"),
    path("tracking/<str:number>/", views.tracking, name="tracking"),
    path("returns/", views.return_list, name="return-list"),
    path("returns/new/<str:order_number>/", views.return_new, name="return-new"),
    path("returns/<str:rma_number>/", views.return_detail, name="return-detail"),
]
