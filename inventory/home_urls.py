"""The storefront home page (URL name ``home``, no namespace), mounted at "/" by flowmart/urls.py."""

from django.urls import path

from inventory import views

urlpatterns = [path("", views.home, name="home")]
