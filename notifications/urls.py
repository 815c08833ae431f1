from django.urls import include, path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.history, name="history"),
    path("notifications/preferences/", views.preferences_page, name="preferences"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("notifications/outbox/", views.outbox, name="outbox"),
    path("feedback/<str:token>/", views.feedback, name="feedback"),
    path("notifications/back-in-stock/", views.back_in_stock_request, name="back_in_stock_request"),
    path("notifications/back-in-stock/confirm/<str:token>/", views.back_in_stock_confirm, name="back_in_stock_confirm"),
    # Email providers' delivery-status webhooks (django-anymail): /anymail/<esp>/tracking/
    path("anymail/", include("anymail.urls")),
]
