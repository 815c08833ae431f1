"""Mounted under ``/api/v1/`` (``flowmart/api/urls.py``); the staff API's router may take it over."""

from django.urls import path

from reports.api import OwnerReportView

urlpatterns = [
    path("staff/reports/", OwnerReportView.as_view(), name="staff-reports"),
]
