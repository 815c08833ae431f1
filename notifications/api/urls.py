from django.urls import path

from notifications.api import views

urlpatterns = [
    path("notification-preferences/", views.PreferencesView.as_view(), name="notification-preferences"),
    path("devices/", views.DeviceListView.as_view(), name="notification-devices"),
    path("back-in-stock-requests/", views.BackInStockRequestListView.as_view(), name="back-in-stock-requests"),
    # path: push tokens may hold slashes (FCM's do); the token is the last path segments, not a body on DELETE.
    path("devices/<path:token>/", views.DeviceDetailView.as_view(), name="notification-device"),
    path("notifications/", views.NotificationListView.as_view(), name="notification-list"),
    path("notifications/<uuid:public_id>/", views.NotificationDetailView.as_view(), name="notification-detail"),
    path(
        "notifications/webhooks/twilio/",
        views.TwilioStatusCallbackView.as_view(),
        name="notifications-twilio-status",
    ),
]
