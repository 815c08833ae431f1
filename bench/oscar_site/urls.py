"""The sandbox's URLs (sandbox/urls.py of django-oscar 4.2) without its sitemaps: admin, i18n, and Oscar's
shop under a language prefix (``/en-gb/…``)."""

import django
from django.apps import apps
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include(django.conf.urls.i18n)),
]
urlpatterns += i18n_patterns(path("", include(apps.get_app_config("oscar").urls[0])))
