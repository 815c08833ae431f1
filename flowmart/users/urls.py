from django.urls import path

from flowmart.users import views

urlpatterns = [path("account/", views.account_home, name="account_home")]
