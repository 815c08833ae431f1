from django.urls import path

from flowmart.staff.api import views

urlpatterns = [path("audit-log/", views.AuditLogView.as_view(), name="staff-api-audit-log")]
