from django.urls import include, path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.history, name="history"),
    path("notifications/preferences/", views.preferences_page, name="preferences"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("notifications/outbox/", views.outbox, name="outbox"),
    path("feedback/<str:token>/", views.feedback, name="feedback"),
    # Email providers' delivery-status webhooks (django-anymail): /anymail/<esp>/tracking/
    path("anymail/", include("anymail.urls")),
]
